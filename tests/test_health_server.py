"""The small HTTP server of /healthz and /metrics: what it answers, and what it refuses."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import ValidationError

from bot.errors import ConfigError
from bot.health_server import Health, HealthServer, parse_listen_address
from bot.settings import Settings


class Checks:
    """Stand-ins for the bot's checks: the health is whatever the test sets."""

    def __init__(self) -> None:
        self.health = Health(True, {"status": "ok"})
        self.scrapes = 0

    async def check(self) -> Health:
        return self.health

    async def page(self) -> tuple[bytes, str]:
        self.scrapes += 1
        return b"# a page\n", "text/plain; version=0.0.4; charset=utf-8"


@pytest.fixture
def checks() -> Checks:
    return Checks()


@pytest.fixture
async def server(checks: Checks) -> AsyncIterator[HealthServer]:
    running = HealthServer("127.0.0.1:0", checks.check, checks.page)
    await running.start()
    yield running
    await running.close()


def url(server: HealthServer, path: str) -> str:
    host, port = server.address
    return f"http://{host}:{port}{path}"


async def raw_request(server: HealthServer, data: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(*server.address)
    writer.write(data)
    await writer.drain()
    answer = await reader.read()
    writer.close()
    await writer.wait_closed()
    return answer


async def test_healthz_answers_200_or_503_with_the_json_facts(
    server: HealthServer, checks: Checks
) -> None:
    async with httpx.AsyncClient() as client:
        healthy = await client.get(url(server, "/healthz"))
        checks.health = Health(False, {"status": "unhealthy", "database": "unreachable (X)"})
        sick = await client.get(url(server, "/healthz?verbose=1"))

    assert (healthy.status_code, healthy.json()) == (200, {"status": "ok"})
    assert sick.status_code == 503
    assert sick.json() == {"database": "unreachable (X)", "status": "unhealthy"}
    assert sick.headers["content-type"] == "application/json"


async def test_metrics_page_and_head(server: HealthServer, checks: Checks) -> None:
    async with httpx.AsyncClient() as client:
        page = await client.get(url(server, "/metrics"))
        head = await client.head(url(server, "/metrics"))

    assert page.text == "# a page\n"
    assert page.headers["content-type"].startswith("text/plain; version=0.0.4")
    assert (head.status_code, head.content) == (200, b"")
    assert head.headers["content-length"] == str(len(b"# a page\n"))


async def test_other_paths_methods_and_garbage_are_refused(server: HealthServer) -> None:
    async with httpx.AsyncClient() as client:
        missing = await client.get(url(server, "/"))
        posted = await client.post(url(server, "/healthz"), content=b"x")

    assert missing.status_code == 404
    assert posted.status_code == 405
    garbage = await raw_request(server, b"\x16\x03\x01 not http\r\n\r\n")
    assert garbage.startswith(b"HTTP/1.1 400 Bad Request\r\n")
    too_long = await raw_request(server, b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\n\r\n")
    assert too_long.startswith(b"HTTP/1.1 400 Bad Request\r\n")


async def test_a_failing_check_is_a_500_and_the_server_goes_on(
    server: HealthServer, checks: Checks
) -> None:
    async def broken() -> Health:
        raise RuntimeError("boom")

    server._health = broken  # the check, not the server, is what breaks here
    async with httpx.AsyncClient() as client:
        failed = await client.get(url(server, "/healthz"))
        page = await client.get(url(server, "/metrics"))

    assert failed.status_code == 500
    assert page.status_code == 200


async def test_an_address_in_use_is_a_config_error(server: HealthServer, checks: Checks) -> None:
    host, port = server.address
    second = HealthServer(f"{host}:{port}", checks.check, checks.page)

    with pytest.raises(ConfigError, match=re.escape("metrics_listen: cannot listen on 127.0.0.1:")):
        await second.start()


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        ("0.0.0.0:0", ("0.0.0.0", 0)),
        ("[::1]:9464", ("::1", 9464)),
        ("localhost:80", ("localhost", 80)),
    ],
)
def test_listen_addresses(text: str, address: tuple[str, int]) -> None:
    assert parse_listen_address(text) == address


@pytest.mark.parametrize("text", ["9464", ":9464", "host:", "host:http", "host:70000"])
def test_bad_listen_addresses_name_the_fix(text: str) -> None:
    with pytest.raises(ValueError, match=re.escape("write host:port, e.g. '127.0.0.1:9464'")):
        parse_listen_address(text)
    with pytest.raises(ValidationError, match="write host:port"):
        Settings(metrics_listen=text)


def test_metrics_are_off_unless_asked_for() -> None:
    assert Settings().metrics_listen is None
    assert Settings(metrics_listen="").metrics_listen is None
