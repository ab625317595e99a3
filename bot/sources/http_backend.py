"""The seam between the Fetcher and an HTTP library, and what both backends share.

A backend (:mod:`bot.sources.http_aiohttp`, :mod:`bot.sources.http_httpx`) does
one thing: GET a URL with the Fetcher's headers, follow at most
:data:`MAX_REDIRECTS` redirects, and give the final status, headers, the hops
and, for a 2xx answer only, the body, refusing more than ``max_bytes``. It
raises ``bot.errors`` only, each ``from`` its library's error:

    no complete answer in time                -> FetchTimeout
    connect failed, connection broke, bad HTTP -> FetchConnectionError
    body over max_bytes (declared or counted) -> BodyTooLarge
    too many redirects, bad URL or scheme,
    undecodable body                          -> FetchError

The Fetcher keeps everything above that: slots, the whole-fetch timeout,
conditional headers, status handling and the FetchResult.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.errors import BodyTooLarge, FetchError

MAX_REDIRECTS = 5
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Caps for one process; ``timeout_seconds`` bounds a whole fetch, not one read."""

    timeout_seconds: float = 20.0
    max_bytes: int = 10_000_000
    max_connections: int = 20
    max_per_host: int = 4
    user_agent: str = "newsbot/0.1 (+https://github.com/newsbot/newsbot)"


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """The final answer of one GET.

    ``hops``: (status, URL) of every response, the redirects first and this one
    last. ``body`` is empty unless the status is 2xx; it is decoded unless
    ``content_encoding`` is set ("gzip": the body as received).
    """

    status: int
    headers: Mapping[str, str]  # case-insensitive
    hops: tuple[tuple[int, str], ...]
    body: bytes
    content_encoding: str | None = None


class HttpBackend(Protocol):
    """One HTTP library behind the Fetcher; see the module docstring for the contract."""

    async def get(self, url: str, headers: Mapping[str, str], *, decode: bool) -> HttpResponse:
        """GET ``url`` with ``headers`` added to the shared ones, following redirects.

        ``decode=False`` keeps a gzip-only body as received (its received size
        capped), so that ``content_encoding`` is "gzip".
        """
        ...

    async def aclose(self) -> None:
        """Close every connection."""
        ...


def request_headers(limits: FetchLimits) -> dict[str, str]:
    """The headers of every request, whichever the backend."""
    return {
        "User-Agent": limits.user_agent,
        "Accept": _ACCEPT,
        "Accept-Encoding": "gzip, deflate",
    }


def content_codings(values: Iterable[str]) -> list[str]:
    """The codings named by Content-Encoding header values, in the order applied."""
    return [coding.strip().lower() for value in values for coding in value.split(",")]


class ContentDecoder:
    """Undoes gzip and deflate codings chunk by chunk, as httpx's decoders do.

    Codings other than these two are left as they are (httpx skips them too).
    Inflating stops once a stage's output passes ``max_bytes`` (BodyTooLarge),
    so a gzip bomb never fills the memory; an inner stage's output is the
    compressed form of the next, no larger than the body it inflates to.
    A corrupt stream raises FetchError with httpx's "DecodingError" message.
    """

    def __init__(self, codings: Sequence[str], *, url: str, max_bytes: int) -> None:
        self._stages = [_Inflater(c, max_bytes) for c in reversed(codings) if c in _WBITS]
        self._url = url
        self._max_bytes = max_bytes

    def decode(self, data: bytes) -> bytes:
        """The decoded bytes of the next chunk ``data``."""
        try:
            for stage in self._stages:
                data = stage.decode(data)
        except zlib.error as err:
            raise FetchError(f"{self._url}: DecodingError: {err}") from err
        except _Overflow:
            raise BodyTooLarge(f"{self._url}: body over {self._max_bytes} bytes") from None
        return data

    def flush(self) -> bytes:
        """The decoded bytes left once the last chunk is in."""
        data = b""
        try:
            for stage in self._stages:
                data = stage.decode(data) + stage.flush()
        except zlib.error as err:
            raise FetchError(f"{self._url}: DecodingError: {err}") from err
        except _Overflow:
            raise BodyTooLarge(f"{self._url}: body over {self._max_bytes} bytes") from None
        return data


# gzip: one member, data after it ignored (httpx's GZipDecoder); deflate: a zlib stream.
_WBITS = {"gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


class _Overflow(Exception):
    """A stage's output passed the cap."""


class _Inflater:
    """One coding undone, never more than ``max_bytes`` of output in all."""

    def __init__(self, coding: str, max_bytes: int) -> None:
        self._inflater = zlib.decompressobj(_WBITS[coding])
        # httpx's DeflateDecoder: when the first chunk is no zlib stream, it is raw deflate.
        self._may_be_raw = coding == "deflate"
        self._room = max_bytes

    def decode(self, data: bytes) -> bytes:
        may_be_raw, self._may_be_raw = self._may_be_raw, False
        try:
            # One byte over the room is enough to know the cap is passed.
            return self._counted(self._inflater.decompress(data, self._room + 1))
        except zlib.error:
            if not may_be_raw:
                raise
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            return self.decode(data)

    def flush(self) -> bytes:
        return self._counted(self._inflater.flush())

    def _counted(self, output: bytes) -> bytes:
        self._room -= len(output)
        if self._room < 0:
            raise _Overflow
        return output
