"""A round-robin TCP load balancer on 127.0.0.1, for several webhook receivers behind one URL.

Each new connection goes to the next upstream that accepts it (a refused one,
e.g. a killed receiver, is skipped), and bytes are copied both ways until
either side closes. ``connections[port]`` counts what each upstream got.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from itertools import cycle
from types import TracebackType
from typing import Self


class RoundRobinBalancer:
    """``async with RoundRobinBalancer([port1, port2]) as lb: lb.port``."""

    def __init__(self, upstream_ports: list[int]) -> None:
        self._upstreams = upstream_ports
        self._next = cycle(upstream_ports)
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task[None]] = set()
        self.connections: Counter[int] = Counter()
        self.port = 0

    async def __aenter__(self) -> Self:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._server is not None
        self._server.close()
        for pipe in list(self._pipes):
            pipe.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await self._connect()
        if upstream is None:
            writer.close()
            return
        up_reader, up_writer = upstream
        pipes = [
            asyncio.create_task(_copy(reader, up_writer)),
            asyncio.create_task(_copy(up_reader, writer)),
        ]
        self._pipes.update(pipes)
        try:
            await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pipe in pipes:
                pipe.cancel()
                self._pipes.discard(pipe)
            for closing in (writer, up_writer):
                closing.close()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        for _ in self._upstreams:
            port = next(self._next)
            with contextlib.suppress(OSError):
                connection = await asyncio.open_connection("127.0.0.1", port)
                self.connections[port] += 1
                return connection
        return None


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
