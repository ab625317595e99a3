"""The operator's HTTP endpoint: ``/healthz`` and ``/metrics`` (setting ``metrics_listen``).

Why a small asyncio server and not prometheus_client's ``start_http_server``:
that one serves from a WSGI server in a thread of its own, while both answers
here are coroutines on the bot's event loop (the database ping and the outbox
depth go through the bot's async engine). A thread would have to hop back into
the loop on every request; ``asyncio.start_server`` serves on the loop itself
and needs nothing installed (aiohttp is a test-only dependency). The page
itself is prometheus_client's own text format (``generate_latest``).

It speaks just enough HTTP/1.1 for Prometheus, Docker's HEALTHCHECK and curl:
GET or HEAD, one request per connection (``Connection: close``), a request
head of at most 8 KiB read within 5 seconds, anything else refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus

from bot.errors import ConfigError

log = logging.getLogger(__name__)

READ_TIMEOUT_SECONDS = 5.0
MAX_HEAD_BYTES = 8192
MAX_HEADER_LINES = 100


@dataclass(frozen=True, slots=True)
class Health:
    """The answer of /healthz: healthy or not, and the facts behind it (a JSON object)."""

    is_healthy: bool
    facts: dict[str, object]


HealthCheck = Callable[[], Awaitable[Health]]
MetricsPage = Callable[[], Awaitable[tuple[bytes, str]]]  # (body, content type)


@dataclass(frozen=True, slots=True)
class _Response:
    status: HTTPStatus
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


def parse_listen_address(value: str) -> tuple[str, int]:
    """ "127.0.0.1:9464", "[::1]:9464" or "0.0.0.0:0" as (host, port); ValueError otherwise."""
    host, sep, port = value.strip().rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"bad address {value!r}; write host:port, e.g. '127.0.0.1:9464'")
    return host, int(port)


class HealthServer:
    """Serves /healthz and /metrics on ``host:port`` until :meth:`close`."""

    def __init__(self, listen: str, health: HealthCheck, metrics: MetricsPage) -> None:
        self._host, self._port = parse_listen_address(listen)
        self._health = health
        self._metrics = metrics
        self._server: asyncio.Server | None = None

    @property
    def address(self) -> tuple[str, int]:
        """Where it listens (the real port when 0 was asked for)."""
        if self._server is None or not self._server.sockets:
            return self._host, self._port
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def start(self) -> None:
        """Listen; an address that cannot be used stops start-up with a ConfigError."""
        try:
            self._server = await asyncio.start_server(
                self._serve, self._host, self._port, limit=MAX_HEAD_BYTES
            )
        except OSError as err:
            raise ConfigError(
                "metrics_listen",
                f"cannot listen on {self._host}:{self._port}: {err.strerror or err}",
                "pick a free port, or unset it",
            ) from err
        host, port = self.address
        log.info("health and metrics on http://%s:%d/healthz and /metrics", host, port)

    async def close(self) -> None:
        """Stop listening (requests in progress finish on their own)."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            writer.write(await self._respond(reader))
            await writer.drain()
        except ConnectionError:
            log.debug("health endpoint: the client went away")
        finally:
            with contextlib.suppress(ConnectionError):
                writer.close()
                await writer.wait_closed()

    async def _respond(self, reader: asyncio.StreamReader) -> bytes:
        """The whole answer to one request, as bytes."""
        try:
            method, path = await _read_head(reader)
        except (TimeoutError, ValueError, ConnectionError, asyncio.IncompleteReadError):
            return _encode(_Response(HTTPStatus.BAD_REQUEST, b"bad request\n"))
        try:
            response = await self._answer(method, path)
        except Exception:  # a broken check must not kill the server: say so, keep serving
            log.exception("health endpoint failed")
            response = _Response(HTTPStatus.INTERNAL_SERVER_ERROR, b"error\n")
        return _encode(response, include_body=method != "HEAD")

    async def _answer(self, method: str, path: str) -> _Response:
        if method not in ("GET", "HEAD"):
            return _Response(HTTPStatus.METHOD_NOT_ALLOWED, b"GET only\n")
        route = path.split("?", 1)[0]
        if route == "/healthz":
            health = await self._health()
            status = HTTPStatus.OK if health.is_healthy else HTTPStatus.SERVICE_UNAVAILABLE
            body = json.dumps(health.facts, sort_keys=True).encode() + b"\n"
            return _Response(status, body, "application/json")
        if route == "/metrics":
            body, content_type = await self._metrics()
            return _Response(HTTPStatus.OK, body, content_type)
        return _Response(HTTPStatus.NOT_FOUND, b"try /healthz or /metrics\n")


async def _read_head(reader: asyncio.StreamReader) -> tuple[str, str]:
    """The method and path of a request; the headers are read and ignored."""
    async with asyncio.timeout(READ_TIMEOUT_SECONDS):
        request_line = (await reader.readline()).decode("latin-1").split()
        for _ in range(MAX_HEADER_LINES):
            if (await reader.readline()) in (b"\r\n", b"\n", b""):
                break
        else:
            raise ValueError("too many header lines")
    if len(request_line) != 3 or not request_line[2].startswith("HTTP/"):
        raise ValueError("not an HTTP request line")
    return request_line[0], request_line[1]


def _encode(response: _Response, *, include_body: bool = True) -> bytes:
    head = (
        f"HTTP/1.1 {response.status.value} {response.status.phrase}\r\n"
        f"Content-Type: {response.content_type}\r\n"
        f"Content-Length: {len(response.body)}\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n\r\n"
    )
    return head.encode("latin-1") + (response.body if include_body else b"")
