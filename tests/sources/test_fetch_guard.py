"""The fetch guard: what an item link or a redirect may reach.

Its address rules over a table of addresses (pure), then the fetcher and the
poller against hostile servers on 127.0.0.1: an internal service on another
port that counts every connection it accepts, and a redirector. The fake news
site is exempt by host:port, as a local deployment would list it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from bot.errors import FetchConnectionError, FetchError, FetchRefused
from bot.settings import FetchSettings
from bot.sources.fetch_guard import (
    AllowedHosts,
    address_refusal,
    parse_allowed_host,
    url_refusal,
)
from bot.sources.fetcher import MAX_REDIRECTS, Fetcher, FetchLimits
from bot.store import Store
from tests.fakes.clock import FakeClock
from tests.fakes.news_site import FakeNewsSite, FeedItem, InternalService
from tests.sources.test_poller import (
    articles,
    feed,
    make_settings,
    running_poller,
    source_named,
    the,
)

LIMITS = FetchLimits(timeout_seconds=5.0)
HINT = "list the host in fetch.allowed_hosts to allow it"

# --- the address rule (pure) --------------------------------------------------------------

REFUSED = {
    "127.0.0.1": "loopback",
    "127.8.9.10": "loopback",
    "::1": "loopback",
    "10.1.2.3": "private",
    "172.16.0.1": "private",
    "172.31.255.255": "private",
    "192.168.1.1": "private",
    "fc00::1": "private",
    "fd12:3456::1": "private",
    "169.254.169.254": "link-local",  # cloud metadata
    "fe80::1": "link-local",
    "fe80::1%1": "link-local",
    "100.64.0.1": "shared (CGNAT)",
    "100.127.255.254": "shared (CGNAT)",
    "224.0.0.1": "multicast",
    "239.255.255.250": "multicast",
    "ff02::1": "multicast",
    "0.0.0.0": "unspecified",
    "::": "unspecified",
    "::127.0.0.1": "reserved",  # IPv4-compatible (deprecated)
    "::ffff:127.0.0.1": "loopback",  # IPv4-mapped
    "::ffff:10.0.0.1": "private",
    "::ffff:169.254.169.254": "link-local",
    "::ffff:100.64.0.1": "shared (CGNAT)",
    "2002:7f00:1::": "loopback",  # 6to4 of 127.0.0.1
    "2002:a9fe:a9fe::": "link-local",  # 6to4 of 169.254.169.254
    "64:ff9b::a00:1": "private",  # NAT64 of 10.0.0.1
    "192.0.2.7": "private",  # documentation
    "2001:db8::1": "private",  # documentation
}
PUBLIC = [
    "8.8.8.8",
    "93.184.216.34",
    "172.32.0.1",  # just past 172.16/12
    "100.128.0.1",  # just past 100.64/10
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "2002:808:808::",
    "64:ff9b::808:808",
]


@pytest.mark.parametrize("address", REFUSED)
def test_internal_addresses_are_refused_by_kind(address: str):
    reason = address_refusal(address)

    assert reason is not None
    assert reason.startswith(f"{address} is ")
    assert REFUSED[address] in reason


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str):
    assert address_refusal(address) is None


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.com/feed.xml", "only http and https"),
        ("file:///etc/passwd", "only http and https"),
        ("javascript:alert(1)", "only http and https"),
        ("example.com/feed.xml", "only http and https"),
        ("http://user:secret@example.com/", "user name or password"),
        ("http://user@example.com/", "user name or password"),
    ],
)
def test_urls_refused_whatever_their_address(url: str, reason: str):
    refusal = url_refusal(httpx.URL(url))

    assert refusal is not None and reason in refusal


def test_http_and_https_urls_pass_the_url_rule():
    assert url_refusal(httpx.URL("https://Example.com:8443/a?b=c")) is None
    assert url_refusal(httpx.URL("http://[::1]/")) is None  # the address rule refuses it


def test_an_allowed_host_port_exempts_that_port_only_and_a_bare_host_every_port():
    allowed = AllowedHosts.parse(["127.0.0.1:8080", "Intranet.Example", "[::1]:81"])

    assert allowed.allows("127.0.0.1", 8080)
    assert not allowed.allows("127.0.0.1", 8081)
    assert allowed.allows("intranet.example", 80)
    assert allowed.allows("INTRANET.example", 9999)
    assert allowed.allows("::1", 81)
    assert not allowed.allows("::1", 80)
    assert not allowed.allows("localhost", 8080)  # names are not resolved to match


@pytest.mark.parametrize("entry", ["", "a:b", "host:0", "host:70000", "user@host", "a/b", "[::1"])
def test_bad_allowed_host_entries_are_config_errors(entry: str):
    with pytest.raises(ValueError, match="bad allowed host"):
        parse_allowed_host(entry)
    with pytest.raises(ValueError, match="bad allowed host"):
        FetchSettings(allowed_hosts=[entry])


def test_allowed_hosts_come_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    from bot.settings import Settings

    monkeypatch.setenv("NEWSBOT_FETCH__ALLOWED_HOSTS", '["127.0.0.1:8080", "feeds.lan"]')

    settings = Settings(_env_file=None)  # type: ignore[call-arg]

    assert settings.fetch.allowed_hosts == ["127.0.0.1:8080", "feeds.lan"]


# --- the fetcher against hostile servers --------------------------------------------------


class Redirector:
    """Answers every request with a redirect to ``target``; counts connections."""

    def __init__(self) -> None:
        self.target = ""
        self.status = 302
        self.port = 0
        self.connections = 0

    @property
    def host_port(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str = "/feed.xml") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        await reader.readuntil(b"\r\n\r\n")
        writer.write(
            f"HTTP/1.1 {self.status} Moved\r\nLocation: {self.target}\r\n"
            "Content-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()


@pytest.fixture
async def internal() -> AsyncIterator[InternalService]:
    async with InternalService() as service:
        yield service


@pytest.fixture
async def redirector() -> AsyncIterator[Redirector]:
    running = Redirector()
    server = await asyncio.start_server(running.answer, "127.0.0.1", 0)
    running.port = server.sockets[0].getsockname()[1]
    async with server:
        yield running


@pytest.fixture
async def guarded() -> AsyncIterator[Fetcher]:
    """A fetcher that exempts nothing."""
    fetcher = Fetcher.create(LIMITS)
    yield fetcher
    await fetcher.aclose()


async def test_an_item_link_to_an_internal_port_is_refused_unconnected(
    guarded: Fetcher, internal: InternalService
):
    with pytest.raises(FetchRefused) as caught:
        await guarded.fetch(internal.url("/admin"))

    assert str(caught.value) == (
        f"{internal.url('/admin')}: refused: 127.0.0.1 is a loopback address; {HINT}"
    )
    assert internal.connections == 0


async def test_localhost_is_refused_unconnected(guarded: Fetcher, internal: InternalService):
    with pytest.raises(FetchRefused, match=r"is a loopback address \(localhost\)"):
        await guarded.fetch(internal.url("/admin", host="localhost"))

    assert internal.connections == 0


async def test_an_ipv4_mapped_literal_is_refused_unconnected(
    guarded: Fetcher, internal: InternalService
):
    with pytest.raises(FetchRefused, match="loopback"):
        await guarded.fetch(internal.url("/admin", host="[::ffff:127.0.0.1]"))

    assert internal.connections == 0


async def test_user_info_is_refused_and_not_repeated(guarded: Fetcher, internal: InternalService):
    url = internal.url("/admin").replace("http://", "http://admin:s3cret@")

    with pytest.raises(FetchRefused, match="user name or password") as caught:
        await guarded.fetch(url)

    assert "s3cret" not in str(caught.value)
    assert internal.connections == 0


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://127.0.0.1:70/"])
async def test_a_non_http_scheme_is_refused(guarded: Fetcher, url: str):
    with pytest.raises(FetchRefused, match="only http and https"):
        await guarded.fetch(url)


async def test_a_trusted_url_redirecting_to_an_internal_port_is_refused_unconnected(
    redirector: Redirector, internal: InternalService
):
    """A catalogue URL is trusted itself (even listed), its redirects are not."""
    redirector.target = internal.url("/admin")
    fetcher = Fetcher.create(FetchLimits(allowed_hosts=(redirector.host_port,)))
    try:
        with pytest.raises(FetchRefused) as caught:
            await fetcher.fetch(redirector.url(), trusted=True)
    finally:
        await fetcher.aclose()

    assert str(caught.value) == (
        f"{redirector.url()}: redirect to {internal.url('/admin')}: "
        f"refused: 127.0.0.1 is a loopback address; {HINT}"
    )
    assert redirector.connections == 1
    assert internal.connections == 0


async def test_a_trusted_url_is_fetched_though_internal(internal: InternalService):
    fetcher = Fetcher.create(LIMITS)
    try:
        result = await fetcher.fetch(internal.url("/admin"), trusted=True)
    finally:
        await fetcher.aclose()

    assert InternalService.SECRET.encode() in result.body
    assert internal.connections == 1


async def test_allowed_host_port_exempts_exactly_that_port(internal: InternalService):
    async with FakeNewsSite() as site:
        page = site.serve_file("/story.html", b"<html>story</html>", content_type="text/html")
        fetcher = Fetcher.create(FetchLimits(allowed_hosts=(site.host_port,)))
        try:
            fetched = await fetcher.fetch(page)
            with pytest.raises(FetchRefused, match="loopback"):
                await fetcher.fetch(internal.url("/admin"))  # same address, another port
        finally:
            await fetcher.aclose()

    assert fetched.body == b"<html>story</html>"
    assert internal.connections == 0


async def test_six_redirects_are_refused_even_between_allowed_hosts(redirector: Redirector):
    redirector.target = redirector.url("/again")  # a loop, each hop allowed
    fetcher = Fetcher.create(FetchLimits(allowed_hosts=(redirector.host_port,)))
    try:
        with pytest.raises(FetchError, match="TooManyRedirects"):
            await fetcher.fetch(redirector.url())
    finally:
        await fetcher.aclose()

    assert redirector.connections == MAX_REDIRECTS + 1


async def test_a_name_rebound_to_an_internal_address_is_refused_at_connect(
    internal: InternalService,
):
    """DNS rebinding: public when checked before sending, loopback when connecting."""
    answers = iter([["93.184.216.34"], ["127.0.0.1"]])
    asked: list[tuple[str, int]] = []

    async def rebinding(host: str, port: int) -> list[str]:
        asked.append((host, port))
        return next(answers)

    fetcher = Fetcher.create(LIMITS, resolve=rebinding)
    try:
        with pytest.raises(
            FetchRefused, match=r"127\.0\.0\.1 is a loopback address \(news\.test\)"
        ):
            await fetcher.fetch(f"http://news.test:{internal.port}/admin")
    finally:
        await fetcher.aclose()

    assert asked == [("news.test", internal.port)] * 2  # checked, then checked as it connects
    assert internal.connections == 0


async def test_a_name_with_one_internal_address_among_public_ones_is_refused(
    internal: InternalService,
):
    async def mixed(host: str, port: int) -> list[str]:
        return ["93.184.216.34", "127.0.0.1"]

    fetcher = Fetcher.create(LIMITS, resolve=mixed)
    try:
        with pytest.raises(FetchRefused, match="loopback"):
            await fetcher.fetch(f"http://news.test:{internal.port}/admin")
    finally:
        await fetcher.aclose()

    assert internal.connections == 0


async def test_a_name_that_does_not_resolve_is_a_connection_error(guarded: Fetcher):
    with pytest.raises(FetchConnectionError, match="name not resolved"):
        await guarded.fetch("http://no-such-host.invalid/feed.xml")


async def test_with_a_proxy_the_target_is_checked_before_the_proxy_is_asked(
    internal: InternalService, redirector: Redirector, monkeypatch: pytest.MonkeyPatch
):
    """The proxy (here the redirector, counting connections) never sees a refused URL."""
    monkeypatch.setenv("HTTP_PROXY", redirector.url(""))
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    fetcher = Fetcher.create(LIMITS)
    try:
        with pytest.raises(FetchRefused, match="loopback"):
            await fetcher.fetch(internal.url("/admin"))
    finally:
        await fetcher.aclose()

    assert redirector.connections == 0
    assert internal.connections == 0


# --- the poller: item pages and catalogue redirects ---------------------------------------


async def test_item_links_to_internal_pages_keep_the_feed_summary_and_leak_nothing(
    store: Store,
    site: FakeNewsSite,
    clock: FakeClock,
    internal: InternalService,
    redirector: Redirector,
):
    """fetch_pages: links to 127.0.0.1:<port>, localhost:<port>, and an allowed host
    redirecting inside are all refused; the items keep their feed text."""
    redirector.target = internal.url("/admin")
    links = {
        "direct": internal.url("/admin"),
        "localhost": internal.url("/admin", host="localhost"),
        "redirected": redirector.url("/story"),
    }
    items = [
        FeedItem(f"Story {name}", link, f"<p>Story {name}</p>", name, clock.now)
        for name, link in links.items()  # a summary that is the headline: the page is wanted
    ]
    url = site.add_feed("/hostile.xml", items=items)
    settings = make_settings(
        [feed("Hostile", url, fetch_pages=True)],
        fetch={"allowed_hosts": [site.host_port, redirector.host_port]},
    )

    async with running_poller(store, settings, clock) as poller:
        report = await poller.run_cycle()

    stored = {a.guid: a for a in await articles(store)}
    assert (the(report, "Hostile").status, the(report, "Hostile").new) == ("new", 3)
    for name in links:
        # The feed's text only repeats the headline, so there is no summary (never the
        # headline twice), and nothing came from the refused page.
        assert stored[name].summary == ""
    everything = " ".join(f"{a.headline} {a.summary}" for a in stored.values())
    assert InternalService.SECRET not in everything
    assert redirector.connections == 1
    assert internal.connections == 0


async def test_a_catalogue_feed_redirecting_inside_fails_with_the_reason(
    store: Store, clock: FakeClock, internal: InternalService, redirector: Redirector
):
    redirector.target = internal.url("/admin")
    settings = make_settings([feed("Moved inside", redirector.url())])

    async with running_poller(store, settings, clock) as poller:
        report = await poller.run_cycle()

    source = await source_named(store, "Moved inside")
    assert the(report, "Moved inside").status == "failed"
    assert source.last_error is not None
    assert "refused: 127.0.0.1 is a loopback address" in source.last_error
    assert internal.connections == 0
