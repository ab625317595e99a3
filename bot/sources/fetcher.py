"""The polite HTTP fetcher: conditional GETs, size and time caps, connection caps.

One ``httpx.AsyncClient`` is shared by the whole process (``Fetcher.make_client``).
Its connections are spread over a few small httpcore pools (:class:`ShardedTransport`):
httpcore looks at every waiting request and every connection of its pool each
time a request starts or ends, so one pool of 20 busy connections cost twice
the CPU per request of pools of 4 (docs/performance.md, "Ingestion").
Every httpx error is wrapped once here into ``bot.errors.FetchError`` subclasses,
so the poller never sees httpx types.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import pairwise
from typing import Literal

import httpx

from bot.errors import (
    BodyTooLarge,
    FetchConnectionError,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
)

_PERMANENT_REDIRECTS = frozenset({301, 308})
_MAX_REDIRECTS = 5
CONNECTIONS_PER_POOL = 1  # httpcore's per-request cost grows with its pool's size squared
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

    def __init__(self, client: httpx.AsyncClient, limits: FetchLimits) -> None:
        self._client = client
        self._limits = limits
        self._all_hosts = asyncio.Semaphore(limits.max_connections)
        self._per_host: dict[str, asyncio.Semaphore] = {}

    @staticmethod
    def make_client(
        limits: FetchLimits, transport: httpx.AsyncBaseTransport | None = None
    ) -> httpx.AsyncClient:
        """The one shared client: timeouts, User-Agent, gzip/deflate, redirects, pool size.

        Without a ``transport``, connections live in a :class:`ShardedTransport`.
        """
        if transport is None:
            transport = ShardedTransport(limits.max_connections, CONNECTIONS_PER_POOL)
        return httpx.AsyncClient(
            timeout=httpx.Timeout(limits.timeout_seconds),
            headers={
                "User-Agent": limits.user_agent,
                "Accept": _ACCEPT,
                "Accept-Encoding": "gzip, deflate",
            },
            follow_redirects=True,
            max_redirects=_MAX_REDIRECTS,
            limits=httpx.Limits(
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_connections,
            ),
            transport=transport,
        )

    @property
    def max_bytes(self) -> int:
        """The body size cap (for :func:`decoded_body` of ``decode=False`` fetches)."""
        return self._limits.max_bytes

    async def aclose(self) -> None:
        """Close the shared HTTP client."""
        await self._client.aclose()

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
            except (httpx.HTTPError, httpx.InvalidURL) as err:
                raise _wrap_httpx_error(url, err) from err

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
        async with self._client.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                # A 304 may omit validators; the ones we sent are still current then.
                result = _result(url, response, b"", started)
                return replace(
                    result,
                    etag=result.etag or etag,
                    last_modified=result.last_modified or last_modified,
                )
            if not response.is_success:
                raise HTTPStatusError(response.status_code, url)
            if not decode and _is_gzip_only(response):
                body = await _read_capped(response, self._limits.max_bytes, raw=True)
                return replace(_result(url, response, body, started), content_encoding="gzip")
            body = await _read_capped(response, self._limits.max_bytes)
            return _result(url, response, body, started)


class ShardedTransport(httpx.AsyncBaseTransport):
    """httpx's own transport, split into pools of at most ``per_pool`` connections.

    A request goes to the pool its host last used while that pool has a free
    connection (so kept-alive connections are reused), else to the pool with
    the fewest open responses, then the fewest hosts; a response counts until
    its body is closed.
    The Fetcher's semaphores cap connections overall and per host, so the
    pools together never need more than ``max_connections``.
    """

    def __init__(self, max_connections: int, per_pool: int) -> None:
        count = max(1, -(-max_connections // per_pool))  # ceiling division
        self._size = -(-max_connections // count)
        limits = httpx.Limits(max_connections=self._size, max_keepalive_connections=self._size)
        self._pools = [httpx.AsyncHTTPTransport(limits=limits) for _ in range(count)]
        self._open = [0] * count
        self._hosts = [0] * count  # origins whose last pool this is
        self._pool_of: dict[tuple[bytes, bytes, int | None], int] = {}

    def _pick(self, request: httpx.Request) -> int:
        origin = (request.url.raw_scheme, request.url.raw_host, request.url.port)
        index = self._pool_of.get(origin)
        if index is not None and self._open[index] < self._size:
            return index
        if index is not None:
            self._hosts[index] -= 1
        index = min(range(len(self._open)), key=lambda i: (self._open[i], self._hosts[i]))
        self._hosts[index] += 1
        self._pool_of[origin] = index
        return index

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` through its host's pool, or the least busy one."""
        index = self._pick(request)
        self._open[index] += 1
        try:
            response = await self._pools[index].handle_async_request(request)
        except BaseException:
            self._open[index] -= 1
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_CountedStream(response.stream, self._open, index),
            extensions=response.extensions,
        )

    @property
    def open_responses(self) -> tuple[int, ...]:
        """Responses sent and not yet closed, per pool."""
        return tuple(self._open)

    async def aclose(self) -> None:
        """Close every pool's connections."""
        for pool in self._pools:
            await pool.aclose()


class _CountedStream(httpx.AsyncByteStream):
    """A response body that tells its pool's counter when it is closed (once)."""

    def __init__(self, stream: httpx.AsyncByteStream, counts: list[int], index: int) -> None:
        self._stream = stream
        self._counts = counts
        self._index: int | None = index

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        if self._index is not None:
            self._counts[self._index] -= 1
            self._index = None
        await self._stream.aclose()


def _conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


@lru_cache(maxsize=4096)
def _host_of(url: str) -> str:
    """The URL's host, lower-cased (cached: a source's URL is the same every cycle, and
    httpx.URL parses it in Python, ~20 us a call here).
    """
    try:
        return httpx.URL(url).host.lower()
    except httpx.InvalidURL:
        return ""  # the request itself will fail and report the bad URL


async def _read_capped(response: httpx.Response, max_bytes: int, *, raw: bool = False) -> bytes:
    """The decoded body (or with ``raw``, the body as received), refusing more than
    ``max_bytes`` before and while reading.
    """
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(f"{response.request.url}: Content-Length {declared} > {max_bytes}")
    chunks: list[bytes] = []
    received = 0
    async for chunk in response.aiter_raw() if raw else response.aiter_bytes():
        received += len(chunk)
        if received > max_bytes:
            raise BodyTooLarge(f"{response.request.url}: body over {max_bytes} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _is_gzip_only(response: httpx.Response) -> bool:
    """True when httpx would decode the body with its gzip decoder alone."""
    values = response.headers.get_list("content-encoding", split_commas=True)
    return [value.strip().lower() for value in values] == ["gzip"]


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
    # httpx's GZipDecoder: one decompressobj, data after the gzip member ignored,
    # a truncated stream gives what it holds.
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16)
    try:
        decoded = inflater.decompress(body, max_bytes + 1)
        if len(decoded) <= max_bytes and not inflater.unconsumed_tail:
            decoded += inflater.flush()
    except zlib.error as err:
        raise FetchError(f"{url}: DecodingError: {err}") from None
    if len(decoded) > max_bytes or inflater.unconsumed_tail:
        raise BodyTooLarge(f"{url}: body over {max_bytes} bytes")
    return decoded


def _permanent_redirect(response: httpx.Response) -> str | None:
    """Where the leading run of 301/308 hops ends; None when the first hop is temporary.

    After 301 A->B then 302 B->C, only B is the source's new permanent address.
    """
    hops = [*response.history, response]
    moved_to: str | None = None
    for hop, next_hop in pairwise(hops):
        if hop.status_code not in _PERMANENT_REDIRECTS:
            break
        moved_to = str(next_hop.request.url)
    return moved_to


def _result(url: str, response: httpx.Response, body: bytes, started: float) -> FetchResult:
    return FetchResult(
        status="not_modified" if response.status_code == 304 else "ok",
        url=url,
        body=body,
        content_type=response.headers.get("Content-Type"),
        etag=response.headers.get("ETag"),
        last_modified=response.headers.get("Last-Modified"),
        permanent_redirect=_permanent_redirect(response),
        elapsed_seconds=time.monotonic() - started,
    )


def _wrap_httpx_error(url: str, err: httpx.HTTPError | httpx.InvalidURL) -> FetchError:
    """Our error for an httpx error; the caller raises it ``from err``."""
    detail = f"{url}: {type(err).__name__}: {err}"
    if isinstance(err, httpx.TimeoutException):
        return FetchTimeout(detail)
    if isinstance(err, httpx.UnsupportedProtocol):
        return FetchError(detail)
    if isinstance(err, httpx.TransportError):
        return FetchConnectionError(detail)
    return FetchError(detail)  # TooManyRedirects, DecodingError, InvalidURL...
