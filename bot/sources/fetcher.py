"""The polite HTTP fetcher: conditional GETs, size and time caps, connection caps.

Two ``httpx.AsyncClient`` do every fetch (feeds and article pages): a plain one
for the first request of a ``trusted`` fetch (a URL from the operator's config),
and a guarded one for everything else: untrusted URLs (item links) and every
redirect hop of any fetch. Redirects are followed here, hop by hop, at most
MAX_REDIRECTS. The fetch guard (rules in :mod:`bot.sources.fetch_guard`) checks
each guarded hop twice:

- before it is sent: scheme, user info, and every address its host resolves
  to; this is the only check when a proxy from the environment carries it;
- when the guarded client connects (direct connections): the host is resolved
  again, every address checked, and the socket connects to a checked address,
  so a name that re-resolves between the two (DNS rebinding) cannot slip
  through. Connections in the guarded pool were all made that way.

Hosts in ``FetchLimits.allowed_hosts`` skip the address checks.
Both clients read HTTP(S)_PROXY / NO_PROXY from the environment (``trust_env``).
Every httpx error is wrapped here, once, into ``bot.errors``:

    no complete answer within timeout_seconds  -> FetchTimeout
    connect failed, connection broke, bad HTTP -> FetchConnectionError
    final status not 2xx and not 304           -> HTTPStatusError
    body over max_bytes (declared or decoded)  -> BodyTooLarge
    refused by the fetch guard                 -> FetchRefused
    too many redirects, bad URL or scheme,
    undecodable body                           -> FetchError
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.cookiejar import CookieJar
from itertools import pairwise
from typing import Any, Literal
from urllib.parse import urlsplit

import httpcore
import httpx

from bot.errors import (
    BodyTooLarge,
    FetchConnectionError,
    FetchError,
    FetchRefused,
    FetchTimeout,
    HTTPStatusError,
)
from bot.sources.fetch_guard import (
    ALLOW_HINT,
    AllowedHosts,
    address_refusal,
    host_and_port,
    url_refusal,
)

__all__ = ["MAX_REDIRECTS", "FetchLimits", "FetchResult", "Fetcher", "Resolver"]

MAX_REDIRECTS = 5
_PERMANENT_REDIRECTS = frozenset({301, 308})
_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, application/json;q=0.8, */*;q=0.5"
)


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Caps for one process; ``timeout_seconds`` bounds a whole fetch, not one read.

    ``allowed_hosts``: ``host`` or ``host:port`` entries exempt from the address check.
    """

    timeout_seconds: float = 20.0
    max_bytes: int = 10_000_000
    max_connections: int = 20
    max_per_host: int = 4
    user_agent: str = "newsbot/0.1 (+https://github.com/newsbot/newsbot)"
    allowed_hosts: tuple[str, ...] = ()


# (host, port) -> every address the host resolves to, as IP literals.
Resolver = Callable[[str, int], Awaitable[list[str]]]


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

    def __init__(self, limits: FetchLimits, resolve: Resolver | None = None) -> None:
        self._limits = limits
        self._guard = _Guard(AllowedHosts.parse(limits.allowed_hosts), resolve or _resolve)
        self._trusted = _client(limits)
        self._guarded = _client(limits)
        _connect_through(self._guarded, _GuardedBackend(self._guard), limits)
        # Slots are taken before the time cap starts, so a fetch queued behind busy
        # connections is not timed out for waiting.
        self._all_hosts = asyncio.Semaphore(limits.max_connections)
        self._per_host: dict[str, asyncio.Semaphore] = {}

    @classmethod
    def create(cls, limits: FetchLimits, resolve: Resolver | None = None) -> Fetcher:
        """A Fetcher over its own clients; ``resolve`` replaces DNS (tests)."""
        return cls(limits, resolve)

    async def aclose(self) -> None:
        """Close the HTTP clients and their connections."""
        await self._trusted.aclose()
        await self._guarded.aclose()

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        trusted: bool = False,
    ) -> FetchResult:
        """GET ``url`` conditionally; returns ok or not_modified, else raises FetchError.

        ``trusted``: ``url`` comes from the operator's config, so its own first
        request is not guarded (its redirects are). Anything else is guarded.
        """
        async with self._slot(url):
            try:
                async with asyncio.timeout(self._limits.timeout_seconds):
                    return await self._get(url, etag, last_modified, trusted)
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

    async def _get(
        self, url: str, etag: str | None, last_modified: str | None, trusted: bool
    ) -> FetchResult:
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        request = self._guarded.build_request("GET", url, headers=headers)
        response = await self._send(url, request, guarded=not trusted, redirect=False)
        chain = [(response.status_code, str(request.url))]  # (status, URL) of every hop
        try:
            while response.next_request is not None:
                request = response.next_request
                await response.aclose()  # a redirect's body is never read
                if len(chain) > MAX_REDIRECTS:
                    raise httpx.TooManyRedirects("Exceeded maximum allowed redirects.")
                response = await self._send(url, request, guarded=True, redirect=True)
                chain.append((response.status_code, str(request.url)))
            return await self._answer(url, response, chain, etag, last_modified)
        finally:
            await response.aclose()

    async def _send(
        self, url: str, request: httpx.Request, *, guarded: bool, redirect: bool
    ) -> httpx.Response:
        """One hop, unfollowed; a guarded hop is checked before it is sent and as it connects."""
        if not guarded:
            return await self._trusted.send(request, stream=True)
        try:
            await self._guard.check_url(request.url)
            return await self._guarded.send(request, stream=True)
        except FetchRefused as err:
            # The URL named without its user info: a refused password is not repeated.
            shown = request.url.copy_with(username=None, password=None)
            hop = f"redirect to {shown}: " if redirect else ""
            raise FetchRefused(f"{_without_userinfo(url)}: {hop}{err}") from None

    async def _answer(
        self,
        url: str,
        response: httpx.Response,
        chain: list[tuple[int, str]],
        etag: str | None,
        last_modified: str | None,
    ) -> FetchResult:
        """The result of the final hop's ``response``."""
        moved_to = _permanent_redirect(chain)
        if response.status_code == 304:
            # Reading the (empty) body lets httpcore keep the connection alive.
            await response.aread()
            # A 304 may omit validators; the ones we sent are still current then.
            return _result(url, response, b"", moved_to, etag, last_modified)
        if not response.is_success:
            raise HTTPStatusError(response.status_code, url)
        body = await _read_capped(response, url, self._limits.max_bytes)
        return _result(url, response, body, moved_to)


def _client(limits: FetchLimits) -> httpx.AsyncClient:
    """An httpx client with our headers, no cookies, no redirects followed, env proxies."""
    # The time cap is ours (one asyncio.timeout over the whole fetch), not httpx's per read.
    return httpx.AsyncClient(
        timeout=None,
        headers={
            "User-Agent": limits.user_agent,
            "Accept": _ACCEPT,
            "Accept-Encoding": "gzip, deflate",
        },
        follow_redirects=False,
        cookies=_NoCookies(),
        limits=_pool_limits(limits),
    )


def _pool_limits(limits: FetchLimits) -> httpx.Limits:
    return httpx.Limits(
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_connections,
    )


def _connect_through(
    client: httpx.AsyncClient, backend: httpcore.AsyncNetworkBackend, limits: FetchLimits
) -> None:
    """Make ``client``'s direct connections through ``backend``.

    httpx has no public way to give its transport a network backend (httpcore
    has), so the default transport's connection pool is replaced by one built
    with it. Passing ``transport=`` instead would turn off the proxies httpx
    reads from the environment; those proxy transports stay httpx's own.
    """
    pool_limits = _pool_limits(limits)
    transport = client._transport
    assert isinstance(transport, httpx.AsyncHTTPTransport)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=httpx.create_ssl_context(),
        max_connections=pool_limits.max_connections,
        max_keepalive_connections=pool_limits.max_keepalive_connections,
        keepalive_expiry=pool_limits.keepalive_expiry,
        network_backend=backend,
    )


async def _resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, in the resolver's order, without repeats."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class _Guard:
    """The fetch guard's I/O: resolves hosts and applies :mod:`bot.sources.fetch_guard`."""

    def __init__(self, allowed: AllowedHosts, resolve: Resolver) -> None:
        self._allowed = allowed
        self._resolve = resolve

    def allows(self, host: str, port: int) -> bool:
        """Whether ``host:port`` is exempt from the address check."""
        return self._allowed.allows(host, port)

    async def check_url(self, url: httpx.URL) -> None:
        """Raise FetchRefused unless ``url`` may be fetched (resolving its host)."""
        reason = url_refusal(url)
        if reason is not None:
            raise FetchRefused(f"refused: {reason}")
        host, port = host_and_port(url)
        if not self.allows(host, port):
            try:
                await self.public_addresses(host, port)
            except OSError as err:  # wrapped with the URL like any connect failure
                raise httpx.ConnectError(f"{host}: name not resolved: {err}") from err

    async def public_addresses(self, host: str, port: int) -> list[str]:
        """Every address ``host`` resolves to; FetchRefused when any is not public.

        All are checked, not only the first: a name may mix public and internal ones.
        Raises OSError when the name does not resolve.
        """
        addresses = await self._resolve(host, port)
        for address in addresses:
            reason = address_refusal(address)
            if reason is not None:
                named = "" if address == host else f" ({host})"
                raise FetchRefused(f"refused: {reason}{named}; {ALLOW_HINT}")
        if not addresses:
            raise OSError(f"{host} resolved to no address")
        return addresses


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's network I/O, connecting only to addresses the guard has just checked."""

    def __init__(self, guard: _Guard) -> None:
        self._guard = guard
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self._guard.allows(host, port):
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        try:
            addresses = await self._guard.public_addresses(host, port)
        except OSError as err:
            raise httpcore.ConnectError(f"{host}: name not resolved: {err}") from err
        failure: httpcore.ConnectError | None = None
        for address in addresses:  # the checked literals: nothing is resolved again
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as err:
                failure = err
        assert failure is not None  # public_addresses never returns an empty list
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("the fetcher never connects to a unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


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


def _permanent_redirect(chain: list[tuple[int, str]]) -> str | None:
    """Where the leading run of 301/308 hops ends; None when the first hop is temporary.

    ``chain`` is (status, URL) of every hop. After 301 A->B then 302 B->C,
    only B is the source's new permanent address.
    """
    moved_to: str | None = None
    for (status, _), (_, next_url) in pairwise(chain):
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


def _without_userinfo(url: str) -> str:
    """``url`` without a user name or password; unchanged when it does not parse."""
    try:
        return str(httpx.URL(url).copy_with(username=None, password=None))
    except httpx.InvalidURL:
        return url


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
