"""The Fetcher's aiohttp backend, the default (``fetch.http_client = "aiohttp"``).

1,000 gzip feed fetches through the Fetcher cost ~0.2 CPU s on aiohttp
against ~0.65 s on httpx + httpcore + anyio, on the event loop the ingest
benchmark is bound by (docs/performance.md). aiohttp's own decompression is off: gzip and deflate
are undone by :class:`~bot.sources.http_backend.ContentDecoder`, as httpx
does it, so ``decode=False`` can keep a gzip body as received and a gzip bomb
is stopped at the cap while inflating.

aiohttp errors become ours (the aiohttp error as the cause):

    connect failed, connection dropped, bad HTTP  -> FetchConnectionError
        (ClientConnectorError, ServerDisconnectedError, ClientOSError,
         ClientPayloadError, ClientResponseError)
    too many redirects, bad URL, non-HTTP URL     -> FetchError
    aiohttp's timeouts (none are set)              -> FetchTimeout
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping

import aiohttp
import certifi

from bot.errors import BodyTooLarge, FetchConnectionError, FetchError, FetchTimeout
from bot.sources.http_backend import (
    MAX_REDIRECTS,
    ContentDecoder,
    FetchLimits,
    HttpResponse,
    content_codings,
    request_headers,
)


class AiohttpBackend:
    """GETs through one shared ``aiohttp.ClientSession`` (see :class:`HttpBackend`).

    The session is opened on the first GET, inside the running loop. Its
    connector caps connections overall; the Fetcher's semaphores do the rest.
    """

    def __init__(self, limits: FetchLimits) -> None:
        self._limits = limits
        self._session: aiohttp.ClientSession | None = None

    async def get(self, url: str, headers: Mapping[str, str], *, decode: bool) -> HttpResponse:
        """GET ``url`` (see :meth:`HttpBackend.get`)."""
        session = self._session or self._open()
        try:
            # aiohttp counts the request that would follow the last redirect allowed.
            async with session.get(
                url, headers=headers, max_redirects=MAX_REDIRECTS + 1
            ) as response:
                return await self._answer(response, decode)
        except aiohttp.ClientError as err:
            raise _wrapped(url, err) from err

    async def aclose(self) -> None:
        """Close the session and its connections (if one was opened)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _open(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(
            limit=self._limits.max_connections,
            limit_per_host=0,
            # httpx's CA bundle, so both backends trust the same servers.
            ssl=ssl.create_default_context(cafile=certifi.where()),
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers=request_headers(self._limits),
            cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False,
            # No trust_env: it reads .netrc and the proxy variables in a worker thread on
            # every request (two thread hops a fetch, measured); behind a proxy, use
            # fetch.http_client = "httpx", which honours HTTP(S)_PROXY and NO_PROXY.
            # No timeout of aiohttp's own: the Fetcher's bounds the whole fetch.
            timeout=aiohttp.ClientTimeout(),
        )
        return self._session

    async def _answer(self, response: aiohttp.ClientResponse, decode: bool) -> HttpResponse:
        hops = tuple((hop.status, str(hop.url)) for hop in response.history)
        hops += ((response.status, str(response.url)),)
        if not 200 <= response.status < 300:
            return HttpResponse(response.status, response.headers, hops, b"")
        _check_declared_size(response, self._limits.max_bytes)
        codings = content_codings(response.headers.getall("Content-Encoding", ()))
        if not decode and codings == ["gzip"]:
            body = await _read_capped(response, self._limits.max_bytes, None)
            return HttpResponse(response.status, response.headers, hops, body, "gzip")
        decoder = ContentDecoder(codings, url=str(response.url), max_bytes=self._limits.max_bytes)
        body = await _read_capped(response, self._limits.max_bytes, decoder)
        return HttpResponse(response.status, response.headers, hops, body)


def _check_declared_size(response: aiohttp.ClientResponse, max_bytes: int) -> None:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise BodyTooLarge(f"{response.url}: Content-Length {declared} > {max_bytes}")


async def _read_capped(
    response: aiohttp.ClientResponse, max_bytes: int, decoder: ContentDecoder | None
) -> bytes:
    """The body, decoded by ``decoder`` if given, refusing more than ``max_bytes`` of it."""
    chunks: list[bytes] = []
    size = 0
    async for received in response.content.iter_any():
        chunk = received if decoder is None else decoder.decode(received)
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLarge(f"{response.url}: body over {max_bytes} bytes")
        chunks.append(chunk)
    if decoder is not None:
        chunks.append(decoder.flush())
    body = b"".join(chunks)
    if len(body) > max_bytes:
        raise BodyTooLarge(f"{response.url}: body over {max_bytes} bytes")
    return body


# Checked in this order: TooManyRedirects is a ClientResponseError.
_NOT_FETCHABLE = (aiohttp.TooManyRedirects, aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError)
_CONNECTION_TROUBLE = (
    aiohttp.ClientConnectionError,  # ClientConnectorError, ServerDisconnectedError, ClientOSError
    aiohttp.ClientPayloadError,  # the body broke off
    aiohttp.ClientResponseError,  # an answer that is not HTTP, as httpx's RemoteProtocolError
)


def _wrapped(url: str, err: aiohttp.ClientError) -> FetchError:
    """Our error for an aiohttp error; the caller raises it ``from err``."""
    detail = f"{url}: {type(err).__name__}: {err}"
    if isinstance(err, aiohttp.ServerTimeoutError):
        return FetchTimeout(detail)
    if isinstance(err, _NOT_FETCHABLE):
        return FetchError(detail)
    if isinstance(err, _CONNECTION_TROUBLE):
        return FetchConnectionError(detail)
    return FetchError(detail)
