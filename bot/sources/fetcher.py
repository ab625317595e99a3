"""The polite HTTP fetcher: conditional GETs, size and time caps, connection caps.

The HTTP library sits behind :class:`~bot.sources.http_backend.HttpBackend`:
aiohttp by default (:mod:`bot.sources.http_aiohttp`, a fraction of httpx's
CPU per fetch: docs/performance.md), httpx as the fallback
(:mod:`bot.sources.http_httpx`), chosen by ``fetch.http_client``. The
Fetcher is written once above it: slots, the whole-fetch timeout, conditional
headers and the result. Every library error is wrapped once in its backend
into ``bot.errors.FetchError`` subclasses, so the poller never sees its types.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Literal
from urllib.parse import urlsplit

from bot.errors import FetchTimeout, HTTPStatusError
from bot.settings import HttpClient
from bot.sources.http_aiohttp import AiohttpBackend
from bot.sources.http_backend import ContentDecoder, FetchLimits, HttpBackend, HttpResponse
from bot.sources.http_httpx import HttpxBackend

__all__ = ["FetchLimits", "FetchResult", "Fetcher", "decoded_body"]

_PERMANENT_REDIRECTS = frozenset({301, 308})


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one fetch gave.

    ``permanent_redirect`` is the URL the source moved to when the redirect
    chain started with 301/308 hops; the caller decides whether to switch.
    ``body`` is decoded (gzip/deflate undone) and empty on ``not_modified``,
    unless ``content_encoding`` is set (``fetch(..., decode=False)``): then it
    is the body as received, for :func:`decoded_body` to decode elsewhere.
    """

    status: Literal["ok", "not_modified"]
    url: str
    body: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    permanent_redirect: str | None
    elapsed_seconds: float
    content_encoding: str | None = None


class Fetcher:
    """Fetches URLs politely: at most ``max_connections`` at once, ``max_per_host`` per host."""

    def __init__(self, backend: HttpBackend, limits: FetchLimits) -> None:
        self._backend = backend
        self._limits = limits
        self._all_hosts = asyncio.Semaphore(limits.max_connections)
        self._per_host: dict[str, asyncio.Semaphore] = {}

    @classmethod
    def create(cls, limits: FetchLimits, http_client: HttpClient = "aiohttp") -> Fetcher:
        """A Fetcher over one shared client of the ``http_client`` library."""
        backend = AiohttpBackend(limits) if http_client == "aiohttp" else HttpxBackend(limits)
        return cls(backend, limits)

    @property
    def max_bytes(self) -> int:
        """The body size cap (for :func:`decoded_body` of ``decode=False`` fetches)."""
        return self._limits.max_bytes

    async def aclose(self) -> None:
        """Close the shared HTTP client."""
        await self._backend.aclose()

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        decode: bool = True,
    ) -> FetchResult:
        """GET ``url`` conditionally; returns ok or not_modified, else raises FetchError.

        Raises FetchTimeout (whole fetch over ``timeout_seconds``), HTTPStatusError
        (any non-2xx final status other than 304), BodyTooLarge (over ``max_bytes``,
        declared or counted while streaming), FetchConnectionError, or FetchError.

        ``decode=False`` leaves a gzip body as received (``content_encoding`` "gzip",
        its received size capped at ``max_bytes``): :func:`decoded_body` undoes it
        later, e.g. in a parse process, so the event loop neither inflates it nor
        hands that process ~7x the bytes (benchmark feeds). Other encodings are
        decoded here, as is everything with the default ``decode=True``.
        """
        async with self._slot(url):
            try:
                async with asyncio.timeout(self._limits.timeout_seconds):
                    return await self._get(url, etag, last_modified, decode)
            except TimeoutError as err:
                cap = self._limits.timeout_seconds
                raise FetchTimeout(f"{url}: no complete answer within {cap} s") from err

    @asynccontextmanager
    async def _slot(self, url: str) -> AsyncIterator[None]:
        # The host slot is taken first, so a task waiting for a busy host
        # does not hold one of the global slots other hosts could use.
        async with self._host_semaphore(url), self._all_hosts:
            yield

    def _host_semaphore(self, url: str) -> asyncio.Semaphore:
        host = _host_of(url)
        semaphore = self._per_host.get(host)
        if semaphore is None:
            semaphore = self._per_host[host] = asyncio.Semaphore(self._limits.max_per_host)
        return semaphore

    async def _get(
        self, url: str, etag: str | None, last_modified: str | None, decode: bool
    ) -> FetchResult:
        started = time.monotonic()
        headers = _conditional_headers(etag, last_modified)
        response = await self._backend.get(url, headers, decode=decode)
        if response.status == 304:
            # A 304 may omit validators; the ones we sent are still current then.
            return _result(url, response, started, etag, last_modified)
        if not 200 <= response.status < 300:
            raise HTTPStatusError(response.status, url)
        return _result(url, response, started)


def _conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


@lru_cache(maxsize=4096)
def _host_of(url: str) -> str:
    """The URL's host, lower-cased (cached: a source's URL is the same every cycle)."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""  # the request itself will fail and report the bad URL


def decoded_body(body: bytes, content_encoding: str | None, *, url: str, max_bytes: int) -> bytes:
    """A body fetched with ``decode=False``, decoded as httpx would have decoded it.

    Raises BodyTooLarge when the decoded body is over ``max_bytes`` (inflating
    stops there, so a gzip bomb never fills the memory) and FetchError for a
    corrupt gzip stream, with the message the fetcher gives httpx's DecodingError.
    Picklable errors only: this runs in parse processes.
    """
    if content_encoding is None:
        return body
    if content_encoding != "gzip":
        raise ValueError(f"cannot decode {content_encoding!r} here")
    decoder = ContentDecoder(["gzip"], url=url, max_bytes=max_bytes)
    return decoder.decode(body) + decoder.flush()


def _permanent_redirect(hops: tuple[tuple[int, str], ...]) -> str | None:
    """Where the leading run of 301/308 hops ends; None when the first hop is temporary.

    After 301 A->B then 302 B->C, only B is the source's new permanent address.
    """
    moved_to: str | None = None
    for (status, _), (_, next_url) in pairwise(hops):
        if status not in _PERMANENT_REDIRECTS:
            break
        moved_to = next_url
    return moved_to


def _result(
    url: str,
    response: HttpResponse,
    started: float,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchResult:
    """The FetchResult of ``response``; ``etag``/``last_modified`` fill validators it lacks."""
    headers = response.headers
    return FetchResult(
        status="not_modified" if response.status == 304 else "ok",
        url=url,
        body=response.body,
        content_type=headers.get("Content-Type"),
        etag=headers.get("ETag") or etag,
        last_modified=headers.get("Last-Modified") or last_modified,
        permanent_redirect=_permanent_redirect(response.hops),
        elapsed_seconds=time.monotonic() - started,
        content_encoding=response.content_encoding,
    )
