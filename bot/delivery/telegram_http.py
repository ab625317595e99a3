"""python-telegram-bot's HTTP layer on aiohttp: the same Bot API calls for a third of the CPU.

PTB talks HTTP through a :class:`~telegram.request.BaseRequest`; its default,
``HTTPXRequest``, costs ~1.5 ms CPU per ``sendMessage`` on the 2-core test
machine (httpx + httpcore's pool bookkeeping), against ~0.4 ms for this class
(docs/performance.md, "Delivery"). At the paid-broadcast ceiling of 1,000
messages a second that difference is the whole budget, so the bot sends
through aiohttp, PTB's documented seam for another HTTP library. PTB keeps
doing everything above the socket: building parameters, reading the answer,
raising one exception per Telegram error.

Errors are raised as PTB raises them for httpx, with the aiohttp error as the
cause, so :func:`bot.delivery.failures.classify_send_error` can tell "never left
this process" (pool wait or connect failed) from "may have arrived":

    no free connection in time       -> TimedOut  <- PoolTimeout (a ConnectionTimeoutError)
    connecting timed out             -> TimedOut  <- aiohttp.ConnectionTimeoutError
    connecting failed (refused, DNS) -> NetworkError <- aiohttp.ClientConnectorError
    no answer in time                -> TimedOut  <- aiohttp.SocketTimeoutError / TimeoutError
    connection dropped, bad answer   -> NetworkError <- aiohttp.ServerDisconnectedError, ...

Timeouts: ``pool_timeout`` bounds the wait for one of the pool's connections
(a semaphore of the pool's size, because aiohttp counts that wait in its
connect timeout), ``connect_timeout`` opening one, ``read_timeout`` each read
of the answer; aiohttp has no write timeout, so the sum of write, connect and
read bounds the whole call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData


class PoolTimeout(aiohttp.ConnectionTimeoutError):
    """No connection of the pool came free in time: the request never left this process."""


class AiohttpRequest(BaseRequest):
    """A :class:`~telegram.request.BaseRequest` over one ``aiohttp.ClientSession``.

    ``connection_pool_size`` caps the connections (set it to the number of
    concurrent callers: the Sender's workers plus room for replies); the
    timeouts are the defaults for calls that do not pass their own, as in
    PTB's ``HTTPXRequest``.
    """

    def __init__(
        self,
        connection_pool_size: int = 16,
        *,
        read_timeout: float | None = 5.0,
        write_timeout: float | None = 5.0,
        connect_timeout: float | None = 5.0,
        pool_timeout: float | None = 1.0,
    ) -> None:
        self._pool_size = connection_pool_size
        self._defaults = {
            "read": read_timeout,
            "write": write_timeout,
            "connect": connect_timeout,
            "pool": pool_timeout,
        }
        self._session: aiohttp.ClientSession | None = None
        self._free_connections = asyncio.Semaphore(connection_pool_size)

    @property
    def read_timeout(self) -> float | None:
        """The default read timeout (PTB adds it to getUpdates' long-polling timeout)."""
        return self._defaults["read"]

    async def initialize(self) -> None:
        """Open the session (PTB calls this from ``Bot.initialize``; idempotent)."""
        if self._session is None or self._session.closed:
            # Made here, not in __init__: asyncio primitives belong to the running loop.
            self._free_connections = asyncio.Semaphore(self._pool_size)
            connector = aiohttp.TCPConnector(limit=self._pool_size, limit_per_host=0)
            self._session = aiohttp.ClientSession(
                connector=connector, headers={"User-Agent": self.USER_AGENT}
            )

    async def shutdown(self) -> None:
        """Close the session and its connections (idempotent)."""
        if self._session is not None and not self._session.closed:
            await self._session.close()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        """Send one request; returns (HTTP status, body). See :meth:`BaseRequest.do_request`."""
        if self._session is None or self._session.closed:
            await self.initialize()  # like HTTPXRequest, usable before Bot.initialize
        timeout = self._timeout(read_timeout, write_timeout, connect_timeout)
        await self._take_connection(self._default("pool", pool_timeout))
        try:
            body, headers = _body(request_data)
            async with self._session.request(
                method, url, data=body, headers=headers, timeout=timeout
            ) as response:
                return response.status, await response.read()
        except aiohttp.ConnectionTimeoutError as err:
            raise TimedOut("Connect timeout: the request was *not* sent to Telegram.") from err
        except TimeoutError as err:  # aiohttp's read and total timeouts subclass it
            raise TimedOut from err
        except aiohttp.ClientError as err:
            raise NetworkError(f"aiohttp.{type(err).__name__}: {err}") from err
        finally:
            self._free_connections.release()

    async def _take_connection(self, pool_timeout: float | None) -> None:
        """Wait for a free connection slot, at most ``pool_timeout`` seconds."""
        if not self._free_connections.locked():  # the usual case: no timer needed
            await self._free_connections.acquire()
            return
        try:
            async with asyncio.timeout(pool_timeout):
                await self._free_connections.acquire()
        except TimeoutError:
            message = "Pool timeout: all connections are busy; the request was *not* sent."
            raise TimedOut(message) from PoolTimeout(message)

    def _default(self, name: str, value: ODVInput[float]) -> float | None:
        return self._defaults[name] if isinstance(value, DefaultValue) else value

    def _timeout(
        self,
        read: ODVInput[float],
        write: ODVInput[float],
        connect: ODVInput[float],
    ) -> aiohttp.ClientTimeout:
        read_s, connect_s = self._default("read", read), self._default("connect", connect)
        return aiohttp.ClientTimeout(
            total=_sum_or_none((self._default("write", write), connect_s, read_s)),
            connect=connect_s,
            sock_connect=connect_s,
            sock_read=read_s,
        )


def _sum_or_none(values: Iterable[float | None]) -> float | None:
    """The sum of the timeouts, or None (no limit) when any of them is unlimited."""
    total = 0.0
    for value in values:
        if value is None:
            return None
        total += value
    return total


_JSON_HEADERS = {"Content-Type": "application/json"}


def _body(request_data: RequestData | None) -> tuple[bytes | aiohttp.FormData | None, Any]:
    """The request body and its headers: JSON, or multipart when there are files to upload.

    JSON rather than the urlencoded form PTB sends with httpx: the Bot API takes
    both, and percent-encoding a digest's text in Python was ~7 % of the
    Sender's CPU, where ``json.dumps`` is C.
    """
    if request_data is None:
        return None, None
    files = request_data.multipart_data
    if not files:
        return request_data.json_payload, _JSON_HEADERS
    form = aiohttp.FormData(request_data.json_parameters)
    for name, upload in files.items():
        filename, content, *mimetype = upload
        content_type = mimetype[0] if mimetype else None
        form.add_field(name, content, filename=filename, content_type=content_type)
    return form, None
