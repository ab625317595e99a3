"""The polite HTTP fetcher: conditional GETs, size and time caps, connection caps.

One shared ``httpx.AsyncClient`` does every fetch (feeds and article pages).
httpx reads HTTP(S)_PROXY / NO_PROXY from the environment (``trust_env``).
Every httpx error is wrapped here, once, into ``bot.errors``:

    no complete answer within timeout_seconds  -> FetchTimeout
    connect failed, connection broke, bad HTTP -> FetchConnectionError
    final status not 2xx and not 304           -> HTTPStatusError
    body over max_bytes (declared or decoded)  -> BodyTooLarge
    too many redirects, bad URL or scheme,
    undecodable body                           -> FetchError
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar
from itertools import pairwise
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx

from bot.errors import BodyTooLarge, FetchConnectionError, FetchError, FetchTimeout, HTTPStatusError

__all__ = ["MAX_REDIRECTS", "FetchLimits", "FetchResult", "Fetcher"]

MAX_REDIRECTS = 5
_PERMANENT_REDIRECTS = frozenset({301, 308})
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
class FetchResult:
    """What one fetch gave.

    ``body`` is decoded (gzip/deflate undone) and empty on ``not_modified``.
    ``permanent_redirect`` is the URL the source moved to when the redirect
    chain started with 301/308 hops; the caller decides whether to switch.
    """

    status: Literal["ok", "not_modified"]
    url: str
    body: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    permanent_redirect: str | None


class _NoCookies(CookieJar):
    """A cookie jar that keeps nothing: no feed needs cookies, and a server must not be
    able to set state that the shared client would send to every later fetch.
    (It also saves ~0.1 ms of cookie parsing a fetch.)"""

    def extract_cookies(self, response: Any, request: Any) -> None:
        return None

    def set_cookie(self, cookie: Any) -> None:
        return None


class Fetcher:
    """Fetches URLs politely: at most ``max_connections`` at once, ``max_per_host`` per host."""

    def __init__(self, limits: FetchLimits) -> None:
        self._limits = limits
        # The time cap is ours (one asyncio.timeout over the whole fetch), not httpx's per read.
        self._client = httpx.AsyncClient(
            timeout=None,
            headers={
                "User-Agent": limits.user_agent,
                "Accept": _ACCEPT,
                "Accept-Encoding": "gzip, deflate",
            },
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            cookies=_NoCookies(),
            limits=httpx.Limits(
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_connections,
            ),
        )
        # Slots are taken before the time cap starts, so a fetch queued behind busy
        # connections is not timed out for waiting.
        self._all_hosts = asyncio.Semaphore(limits.max_connections)
        self._per_host: dict[str, asyncio.Semaphore] = {}

    @classmethod
    def create(cls, limits: FetchLimits) -> Fetcher:
        """A Fetcher over its own shared client."""
        return cls(limits)

    async def aclose(self) -> None:
        """Close the shared HTTP client and its connections."""
        await self._client.aclose()

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET ``url`` conditionally; returns ok or not_modified, else raises FetchError."""
        async with self._slot(url):
            try:
                async with asyncio.timeout(self._limits.timeout_seconds):
                    return await self._get(url, etag, last_modified)
            except TimeoutError as err:
                cap = self._limits.timeout_seconds
                raise FetchTimeout(f"{url}: no complete answer within {cap} s") from err
            except (httpx.HTTPError, httpx.InvalidURL) as err:
                raise _wrapped(url, err) from err

    @asynccontextmanager
    async def _slot(self, url: str) -> AsyncIterator[None]:
        # The host slot is taken first, so a task waiting for a busy host
        # does not hold one of the global slots other hosts could use.
        host = _host_of(url)
        per_host = self._per_host.get(host)
        if per_host is None:
            per_host = self._per_host[host] = asyncio.Semaphore(self._limits.max_per_host)
        async with per_host, self._all_hosts:
            yield

    async def _get(self, url: str, etag: str | None, last_modified: str | None) -> FetchResult:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        async with self._client.stream("GET", url, headers=headers) as response:
            moved_to = _permanent_redirect(response)
            if response.status_code == 304:
                # Reading the (empty) body lets httpcore keep the connection alive.
                await response.aread()
                # A 304 may omit validators; the ones we sent are still current then.
                return _result(url, response, b"", moved_to, etag, last_modified)
            if not response.is_success:
                raise HTTPStatusError(response.status_code, url)
            body = await _read_capped(response, url, self._limits.max_bytes)
            return _result(url, response, body, moved_to)


async def _read_capped(response: httpx.Response, url: str, max_bytes: int) -> bytes:
    """The decoded body, refused when declared or counted over ``max_bytes``.

    ``aiter_bytes`` yields decoded chunks, so a gzip bomb is cut at the cap
    rather than inflated whole.
    """
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(f"{url}: Content-Length {declared} > {max_bytes}")
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.aiter_bytes():
        received += len(chunk)
        if received > max_bytes:
            raise BodyTooLarge(f"{url}: body over {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _permanent_redirect(response: httpx.Response) -> str | None:
    """Where the leading run of 301/308 hops ends; None when the first hop is temporary.

    After 301 A->B then 302 B->C, only B is the source's new permanent address.
    """
    hops = [(hop.status_code, str(hop.request.url)) for hop in response.history]
    hops.append((response.status_code, str(response.request.url)))
    moved_to: str | None = None
    for (status, _), (_, next_url) in pairwise(hops):
        if status not in _PERMANENT_REDIRECTS:
            break
        moved_to = next_url
    return moved_to


def _result(
    url: str,
    response: httpx.Response,
    body: bytes,
    moved_to: str | None,
    etag: str | None = None,
    last_modified: str | None = None,
) -> FetchResult:
    """The FetchResult of ``response``; ``etag``/``last_modified`` fill validators it lacks."""
    headers = response.headers
    return FetchResult(
        status="not_modified" if response.status_code == 304 else "ok",
        url=url,
        body=body,
        content_type=headers.get("Content-Type"),
        etag=headers.get("ETag") or etag,
        last_modified=headers.get("Last-Modified") or last_modified,
        permanent_redirect=moved_to,
    )


def _host_of(url: str) -> str:
    """The URL's host, lower-cased; "" for a URL the request itself will reject."""
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def _wrapped(url: str, err: httpx.HTTPError | httpx.InvalidURL) -> FetchError:
    """Our error for an httpx error; the caller raises it ``from err``."""
    detail = f"{url}: {type(err).__name__}: {err}"
    if isinstance(err, httpx.TimeoutException):
        return FetchTimeout(detail)
    if isinstance(err, httpx.UnsupportedProtocol):
        return FetchError(detail)
    if isinstance(err, httpx.TransportError):
        return FetchConnectionError(detail)
    return FetchError(detail)  # TooManyRedirects, DecodingError, InvalidURL...
