"""The fetcher against the fake news site over real HTTP on 127.0.0.1.

Cases that need exact bytes on the wire (other content codings, broken
answers) use a bare asyncio server instead (:class:`RawServer`).
"""

from __future__ import annotations

import asyncio
import gzip
import socket
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import UTC, datetime

import httpx
import pytest
from aiohttp import web

from bot.errors import (
    BodyTooLarge,
    FetchConnectionError,
    FetchError,
    FetchRefused,
    FetchTimeout,
    HTTPStatusError,
)
from bot.sources.fetcher import Fetcher, FetchLimits
from tests.fakes.news_site import FakeNewsSite, FeedItem, make_items

FEED = "/world/rss.xml"
# The generic cases exempt the loopback names (any port) from the fetch guard's address
# check; the guard's own cases (tests/sources/test_fetch_guard.py) do not.
LOCAL = ("127.0.0.1", "localhost")
FAST_LIMITS = FetchLimits(timeout_seconds=2.0, max_bytes=200_000, allowed_hosts=LOCAL)

MakeFetcher = Callable[[FetchLimits], Fetcher]


@pytest.fixture
async def site() -> AsyncIterator[FakeNewsSite]:
    async with FakeNewsSite() as running:
        running.add_feed(FEED, title="World", items=make_items(10, seed=7, base_url="http://x"))
        yield running


@pytest.fixture
async def make_fetcher() -> AsyncIterator[MakeFetcher]:
    fetchers: list[Fetcher] = []

    def build(limits: FetchLimits) -> Fetcher:
        fetchers.append(Fetcher.create(limits))
        return fetchers[-1]

    yield build
    for fetcher in fetchers:
        await fetcher.aclose()


@pytest.fixture
def fetcher(make_fetcher: MakeFetcher) -> Fetcher:
    return make_fetcher(FAST_LIMITS)


async def test_first_fetch_returns_body_and_validators(site: FakeNewsSite, fetcher: Fetcher):
    result = await fetcher.fetch(site.url(FEED))

    assert result.status == "ok"
    assert result.url == site.url(FEED)
    assert result.body == site.body(FEED)
    assert result.content_type == "application/rss+xml; charset=utf-8"
    assert result.etag is not None and result.etag.startswith('"')
    assert result.last_modified is not None and result.last_modified.endswith("GMT")
    assert result.permanent_redirect is None


async def test_stored_etag_gives_not_modified_without_body(site: FakeNewsSite, fetcher: Fetcher):
    first = await fetcher.fetch(site.url(FEED))

    second = await fetcher.fetch(site.url(FEED), etag=first.etag)

    assert second.status == "not_modified"
    assert second.body == b""
    assert second.etag == first.etag
    assert site.not_modified[FEED] == 1
    assert site.hits(FEED) == 2
    assert site.last_request_headers(FEED)["If-None-Match"] == first.etag


async def test_stored_last_modified_alone_gives_not_modified(site: FakeNewsSite, fetcher: Fetcher):
    first = await fetcher.fetch(site.url(FEED))

    second = await fetcher.fetch(site.url(FEED), last_modified=first.last_modified)

    assert second.status == "not_modified"
    assert second.last_modified == first.last_modified
    assert site.last_request_headers(FEED)["If-Modified-Since"] == first.last_modified
    assert site.not_modified[FEED] == 1


async def test_published_item_makes_stored_validators_stale(site: FakeNewsSite, fetcher: Fetcher):
    first = await fetcher.fetch(site.url(FEED))
    scoop = FeedItem("Scoop", "http://x/scoop", "<p>News.</p>", "scoop-1", datetime.now(UTC))
    site.publish(FEED, scoop)

    second = await fetcher.fetch(site.url(FEED), etag=first.etag, last_modified=first.last_modified)

    assert second.status == "ok"
    assert second.etag != first.etag
    assert b"<title>Scoop</title>" in second.body
    assert site.not_modified[FEED] == 0


async def test_server_error_raises_http_status_error(site: FakeNewsSite, fetcher: Fetcher):
    site.fail(FEED, status=500)

    with pytest.raises(HTTPStatusError) as caught:
        await fetcher.fetch(site.url(FEED))

    assert caught.value.status_code == 500


async def test_missing_page_raises_http_status_error(site: FakeNewsSite, fetcher: Fetcher):
    with pytest.raises(HTTPStatusError) as caught:
        await fetcher.fetch(site.url("/no/such/feed.xml"))

    assert caught.value.status_code == 404


async def test_failure_budget_then_recovery(site: FakeNewsSite, fetcher: Fetcher):
    site.fail(FEED, status=503, times=1)

    with pytest.raises(HTTPStatusError):
        await fetcher.fetch(site.url(FEED))
    result = await fetcher.fetch(site.url(FEED))

    assert result.status == "ok"


async def test_slow_server_raises_fetch_timeout(site: FakeNewsSite, make_fetcher: MakeFetcher):
    fetcher = make_fetcher(FetchLimits(timeout_seconds=0.5, allowed_hosts=LOCAL))
    site.delay(FEED, 3.0)
    started = time.monotonic()

    with pytest.raises(FetchTimeout):
        await fetcher.fetch(site.url(FEED))

    assert time.monotonic() - started < 1.5


async def test_a_body_sent_slower_than_the_cap_raises_fetch_timeout(
    site: FakeNewsSite, make_fetcher: MakeFetcher
):
    fetcher = make_fetcher(FetchLimits(timeout_seconds=0.5, allowed_hosts=LOCAL))
    site.trickle(FEED, 3.0)  # every read is quick; the whole body is not
    started = time.monotonic()

    with pytest.raises(FetchTimeout, match=r"within 0\.5 s"):
        await fetcher.fetch(site.url(FEED))

    assert time.monotonic() - started < 1.5


async def test_a_slow_body_within_the_cap_is_read_whole(site: FakeNewsSite, fetcher: Fetcher):
    site.trickle(FEED, 0.2)

    result = await fetcher.fetch(site.url(FEED))

    assert result.body == site.body(FEED)


async def test_declared_huge_body_raises_body_too_large(site: FakeNewsSite, fetcher: Fetcher):
    site.huge(FEED, 5_000_000, with_content_length=True)

    with pytest.raises(BodyTooLarge, match="Content-Length"):
        await fetcher.fetch(site.url(FEED))


async def test_undeclared_huge_body_is_cut_while_streaming(site: FakeNewsSite, fetcher: Fetcher):
    site.huge(FEED, 5_000_000, with_content_length=False)

    with pytest.raises(BodyTooLarge, match="body over"):
        await fetcher.fetch(site.url(FEED))


async def test_body_of_exactly_max_bytes_is_accepted(site: FakeNewsSite, fetcher: Fetcher):
    site.huge(FEED, FAST_LIMITS.max_bytes, with_content_length=False)

    result = await fetcher.fetch(site.url(FEED))

    assert len(result.body) == FAST_LIMITS.max_bytes


async def test_permanent_redirect_is_recorded(site: FakeNewsSite, fetcher: Fetcher):
    site.redirect("/old.xml", FEED, permanent=True)

    result = await fetcher.fetch(site.url("/old.xml"))

    assert result.status == "ok"
    assert result.url == site.url("/old.xml")
    assert result.permanent_redirect == site.url(FEED)
    assert result.body == site.body(FEED)


async def test_308_counts_as_permanent(site: FakeNewsSite, fetcher: Fetcher):
    site.redirect("/old.xml", FEED, status=308)

    result = await fetcher.fetch(site.url("/old.xml"))

    assert result.permanent_redirect == site.url(FEED)


async def test_temporary_redirect_is_not_recorded(site: FakeNewsSite, fetcher: Fetcher):
    site.redirect("/today.xml", FEED, permanent=False)

    result = await fetcher.fetch(site.url("/today.xml"))

    assert result.status == "ok"
    assert result.permanent_redirect is None


async def test_permanent_then_temporary_records_only_the_permanent_hop(
    site: FakeNewsSite, fetcher: Fetcher
):
    site.redirect("/old.xml", "/moved.xml", permanent=True)
    site.redirect("/moved.xml", FEED, permanent=False)

    result = await fetcher.fetch(site.url("/old.xml"))

    assert result.permanent_redirect == site.url("/moved.xml")


async def test_redirect_loop_raises_fetch_error(site: FakeNewsSite, fetcher: Fetcher):
    site.redirect("/a.xml", "/b.xml")
    site.redirect("/b.xml", "/a.xml")

    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(site.url("/a.xml"))

    assert type(caught.value) is FetchError
    assert isinstance(caught.value.__cause__, httpx.TooManyRedirects)


async def test_five_redirects_are_followed_and_a_sixth_is_not(site: FakeNewsSite, fetcher: Fetcher):
    for hop in range(6):
        site.redirect(f"/hop{hop}.xml", f"/hop{hop + 1}.xml" if hop < 5 else FEED)

    result = await fetcher.fetch(site.url("/hop1.xml"))  # hop1 -> ... -> hop5 -> the feed

    assert result.body == site.body(FEED)
    assert result.permanent_redirect == site.url(FEED)
    with pytest.raises(FetchError, match="TooManyRedirects"):
        await fetcher.fetch(site.url("/hop0.xml"))


async def test_garbage_body_is_returned_for_the_parser_to_judge(
    site: FakeNewsSite, fetcher: Fetcher
):
    site.garbage(FEED)

    result = await fetcher.fetch(site.url(FEED))

    assert result.status == "ok"
    assert result.body.startswith(b"\x89GARBAGE")


async def test_gzip_is_requested_and_decoded(site: FakeNewsSite, fetcher: Fetcher):
    result = await fetcher.fetch(site.url(FEED))

    assert "gzip" in site.last_request_headers(FEED)["Accept-Encoding"]
    assert site.gzipped[FEED] == 1
    assert result.body == site.body(FEED)


async def test_user_agent_is_sent(site: FakeNewsSite, fetcher: Fetcher):
    await fetcher.fetch(site.url(FEED))

    assert site.last_request_headers(FEED)["User-Agent"] == FAST_LIMITS.user_agent


async def test_feed_types_and_only_gzip_and_deflate_are_accepted(
    site: FakeNewsSite, fetcher: Fetcher
):
    await fetcher.fetch(site.url(FEED))

    headers = site.last_request_headers(FEED)
    assert headers["Accept-Encoding"] == "gzip, deflate"
    assert headers["Accept"].startswith("application/rss+xml, application/atom+xml, ")
    assert "Cookie" not in headers


async def test_closed_port_raises_fetch_connection_error(fetcher: Fetcher):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        free_port = probe.getsockname()[1]

    with pytest.raises(FetchConnectionError) as caught:
        await fetcher.fetch(f"http://127.0.0.1:{free_port}/feed.xml")

    assert isinstance(caught.value.__cause__, httpx.ConnectError)


@pytest.mark.parametrize(
    ("url", "untrusted_error"),
    [
        ("example.invalid/feed.xml", FetchRefused),
        ("ftp://example.invalid/feed.xml", FetchRefused),
        ("http://[::1/feed.xml", FetchError),
    ],
)
async def test_url_without_http_scheme_or_host_raises_fetch_error(
    fetcher: Fetcher, url: str, untrusted_error: type[FetchError]
):
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(url)
    with pytest.raises(FetchError) as caught_trusted:
        await fetcher.fetch(url, trusted=True)

    assert type(caught.value) is untrusted_error  # the guard's, or httpx's for a bad URL
    assert type(caught_trusted.value) is FetchError  # httpx's: a config URL is not guarded


async def test_requests_to_one_host_are_capped(site: FakeNewsSite, make_fetcher: MakeFetcher):
    fetcher = make_fetcher(
        FetchLimits(timeout_seconds=5.0, max_connections=10, max_per_host=2, allowed_hosts=LOCAL)
    )
    site.delay(FEED, 0.1)

    results = await asyncio.gather(*(fetcher.fetch(site.url(FEED)) for _ in range(8)))

    assert all(result.status == "ok" for result in results)
    assert site.peak_in_flight == 2


async def test_requests_overall_are_capped_across_hosts(
    site: FakeNewsSite, make_fetcher: MakeFetcher
):
    fetcher = make_fetcher(
        FetchLimits(timeout_seconds=5.0, max_connections=3, max_per_host=2, allowed_hosts=LOCAL)
    )
    site.delay(FEED, 0.1)
    # "localhost" and "127.0.0.1" are two hosts to the fetcher but one server here.
    other_host_url = site.url(FEED).replace("127.0.0.1", "localhost")
    urls = [site.url(FEED), other_host_url] * 5

    results = await asyncio.gather(*(fetcher.fetch(url) for url in urls))

    assert all(result.status == "ok" for result in results)
    assert site.peak_in_flight == 3


async def test_one_host_may_use_every_connection_when_allowed(
    site: FakeNewsSite, make_fetcher: MakeFetcher
) -> None:
    fetcher = make_fetcher(
        FetchLimits(timeout_seconds=5.0, max_connections=10, max_per_host=10, allowed_hosts=LOCAL)
    )
    site.delay(FEED, 0.1)

    results = await asyncio.gather(*(fetcher.fetch(site.url(FEED)) for _ in range(20)))

    assert all(result.status == "ok" for result in results)
    assert site.peak_in_flight == 10


@pytest.fixture
async def port_counting_server() -> AsyncIterator[tuple[str, set[tuple[str, int]]]]:
    """A bare server that records each client (address, port): one per TCP connection."""
    clients: set[tuple[str, int]] = set()

    async def handler(request: web.Request) -> web.Response:
        clients.add(request.transport.get_extra_info("peername")[:2])  # type: ignore[union-attr]
        return web.Response(body=b"<rss/>", content_type="application/rss+xml")

    app = web.Application()
    app.router.add_get("/feed.xml", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/feed.xml", clients
    finally:
        await runner.cleanup()


async def test_one_host_fetched_in_turn_keeps_one_connection(
    port_counting_server: tuple[str, set[tuple[str, int]]], make_fetcher: MakeFetcher
) -> None:
    url, clients = port_counting_server
    fetcher = make_fetcher(
        FetchLimits(timeout_seconds=5.0, max_connections=4, max_per_host=4, allowed_hosts=LOCAL)
    )

    for _ in range(5):
        assert (await fetcher.fetch(url)).body == b"<rss/>"

    assert len(clients) == 1


async def test_a_gzip_bomb_stops_at_the_cap(site: FakeNewsSite, fetcher: Fetcher):
    site.serve_file("/bomb.xml", b"\0" * 20_000_000)  # sent gzipped: ~20 KB on the wire

    with pytest.raises(BodyTooLarge, match="body over 200000 bytes"):
        await fetcher.fetch(site.url("/bomb.xml"))

    assert site.gzipped["/bomb.xml"] == 1


# --- exact bytes on the wire ---------------------------------------------------------------

BODY = b"<rss><channel><title>World</title>" + b"<item>news</item>" * 500 + b"</channel></rss>"


class RawServer:
    """Answers each request with the bytes set for its path, then closes the connection."""

    def __init__(self) -> None:
        self.answers: dict[str, bytes] = {}
        self.request_heads: list[bytes] = []  # every request's line and headers, in order
        self.port = 0

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def answer(
        self,
        path: str,
        body: bytes = b"",
        *,
        status: int = 200,
        headers: Iterable[tuple[str, str]] = (),
    ) -> str:
        """Serve ``body`` at ``path`` with these headers; returns its URL."""
        head = [
            f"HTTP/1.1 {status} Whatever",
            f"Content-Length: {len(body)}",
            "Connection: close",
            *(f"{name}: {value}" for name, value in headers),
        ]
        self.answers[path] = ("\r\n".join(head) + "\r\n\r\n").encode() + body
        return self.url(path)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request_line = await reader.readline()
        self.request_heads.append(request_line + await reader.readuntil(b"\r\n\r\n"))
        writer.write(self.answers[request_line.split()[1].decode()])
        await writer.drain()
        writer.close()
        await writer.wait_closed()


@pytest.fixture
async def server() -> AsyncIterator[RawServer]:
    raw = RawServer()
    listening = await asyncio.start_server(raw.serve, "127.0.0.1", 0)
    raw.port = listening.sockets[0].getsockname()[1]
    async with listening:
        yield raw


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


ENCODED: dict[str, tuple[str, bytes]] = {
    "deflate-zlib": ("deflate", zlib.compress(BODY)),
    "deflate-raw": ("deflate", raw_deflate(BODY)),
    "gzip-then-deflate": ("gzip, deflate", zlib.compress(gzip.compress(BODY))),
    "gzip-twice": ("gzip,GZIP", gzip.compress(gzip.compress(BODY))),
    "gzip-with-trailing-bytes": ("gzip", gzip.compress(BODY) + b"trailing bytes"),
    "identity": ("identity", BODY),
    "unknown-coding-kept": ("br", BODY),
}


@pytest.mark.parametrize("case", ENCODED)
async def test_bodies_are_decoded(server: RawServer, fetcher: Fetcher, case: str):
    coding, body = ENCODED[case]
    url = server.answer("/feed.xml", body, headers=[("Content-Encoding", coding)])

    result = await fetcher.fetch(url)

    assert result.body == BODY


async def test_a_corrupt_gzip_body_raises_a_decoding_fetch_error(
    server: RawServer, fetcher: Fetcher
):
    corrupt = gzip.compress(BODY)[:10] + b"\x07\x00\x00"  # a reserved block type
    url = server.answer("/feed.xml", corrupt, headers=[("Content-Encoding", "gzip")])

    with pytest.raises(FetchError, match="DecodingError") as caught:
        await fetcher.fetch(url)

    assert type(caught.value) is FetchError


async def test_a_redirect_to_another_scheme_raises_fetch_error(server: RawServer, fetcher: Fetcher):
    url = server.answer("/feed.xml", status=301, headers=[("Location", "ftp://127.0.0.1/f.xml")])

    with pytest.raises(FetchRefused, match=r"to ftp://127\.0\.0\.1/f\.xml: refused: only http"):
        await fetcher.fetch(url, trusted=True)


async def test_a_304_without_validators_keeps_the_ones_sent(server: RawServer, fetcher: Fetcher):
    url = server.answer("/feed.xml", status=304)

    result = await fetcher.fetch(url, etag='"v1"', last_modified="Tue, 14 May 2024 18:00:00 GMT")

    assert (result.status, result.body) == ("not_modified", b"")
    assert (result.etag, result.last_modified) == ('"v1"', "Tue, 14 May 2024 18:00:00 GMT")


async def test_a_cookie_one_server_sets_is_never_sent(server: RawServer, fetcher: Fetcher):
    """No feed needs cookies; a server must not plant state the shared client sends on."""
    first = server.answer("/a.xml", b"<rss/>", headers=[("Set-Cookie", "tracker=1; Path=/")])
    second = server.answer("/b.xml", b"<rss/>")

    await fetcher.fetch(first)
    await fetcher.fetch(second)

    assert len(server.request_heads) == 2
    assert b"cookie" not in server.request_heads[1].lower()


BROKEN_ANSWERS = {
    "body-cut-short": b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n<rss>",
    "no-http-answer": b"this is not HTTP\r\n\r\n",
}


@pytest.mark.parametrize("case", BROKEN_ANSWERS)
async def test_a_broken_answer_raises_fetch_connection_error(
    server: RawServer, fetcher: Fetcher, case: str
):
    server.answers["/feed.xml"] = BROKEN_ANSWERS[case]

    with pytest.raises(FetchConnectionError):
        await fetcher.fetch(server.url("/feed.xml"))


async def test_proxy_settings_come_from_the_environment(
    site: FakeNewsSite, monkeypatch: pytest.MonkeyPatch
):
    """HTTP_PROXY is honoured (the README promises it): here a proxy that refuses all."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port}")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    fetcher = Fetcher.create(FAST_LIMITS)
    try:
        with pytest.raises(FetchConnectionError):
            await fetcher.fetch(site.url(FEED))
    finally:
        await fetcher.aclose()

    assert site.hits(FEED) == 0
