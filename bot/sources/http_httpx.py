"""The Fetcher's httpx backend (``fetch.http_client = "httpx"``), kept as a fallback.

Connections live in a few small httpcore pools (:class:`ShardedTransport`):
httpcore looks at every waiting request and every connection of its pool each
time a request starts or ends, so one pool of 20 busy connections cost twice
the CPU per request of pools of 4 (docs/performance.md, "Ingestion").
Even so httpx costs several times aiohttp's CPU per fetch, hence the default.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import httpx

from bot.errors import BodyTooLarge, FetchConnectionError, FetchError, FetchTimeout
from bot.sources.http_backend import MAX_REDIRECTS, FetchLimits, HttpResponse, request_headers

CONNECTIONS_PER_POOL = 1  # httpcore's per-request cost grows with its pool's size squared


class HttpxBackend:
    """GETs through one shared ``httpx.AsyncClient`` (see :class:`HttpBackend`).

    Without a ``transport``, connections live in a :class:`ShardedTransport`.
    """

    def __init__(
        self, limits: FetchLimits, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        if transport is None:
            transport = ShardedTransport(limits.max_connections, CONNECTIONS_PER_POOL)
        self._max_bytes = limits.max_bytes
        self._client = httpx.AsyncClient(
            timeout=httpx.Timeout(limits.timeout_seconds),
            headers=request_headers(limits),
            follow_redirects=True,
            max_redirects=MAX_REDIRECTS,
            limits=httpx.Limits(
                max_connections=limits.max_connections,
                max_keepalive_connections=limits.max_connections,
            ),
            transport=transport,
        )

    async def get(self, url: str, headers: Mapping[str, str], *, decode: bool) -> HttpResponse:
        """GET ``url`` (see :meth:`HttpBackend.get`)."""
        try:
            async with self._client.stream("GET", url, headers=headers) as response:
                return await self._answer(response, decode)
        except (httpx.HTTPError, httpx.InvalidURL) as err:
            raise _wrapped(url, err) from err

    async def aclose(self) -> None:
        """Close the client and its connections."""
        await self._client.aclose()

    async def _answer(self, response: httpx.Response, decode: bool) -> HttpResponse:
        hops = tuple((hop.status_code, str(hop.request.url)) for hop in response.history)
        hops += ((response.status_code, str(response.request.url)),)
        if not response.is_success:
            return HttpResponse(response.status_code, response.headers, hops, b"")
        if not decode and _is_gzip_only(response):
            body = await _read_capped(response, self._max_bytes, raw=True)
            return HttpResponse(response.status_code, response.headers, hops, body, "gzip")
        body = await _read_capped(response, self._max_bytes)
        return HttpResponse(response.status_code, response.headers, hops, body)


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
