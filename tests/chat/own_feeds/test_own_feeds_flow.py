"""Own feeds: /add (with discovery and the fetch guard), /feeds, /remove, and their digests.

The bot runs as in production against the fake Telegram; feeds come from the
fake news site over real HTTP, opted in through ``fetch.allowed_hosts`` (it
listens on 127.0.0.1, which the guard refuses otherwise). Names resolve through
a test resolver: ``intranet.example`` resolves to 127.0.0.1.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.app import NewsBot, running_bot
from bot.chat import own_feed_texts
from bot.settings import SourceConfig
from bot.store.records import own_feed_topic
from tests.chat.conftest import (
    ADMIN,
    ALICE,
    MEMBER,
    Person,
    button_labels,
    eventually,
    fixed_clock,
    stored_chat,
)
from tests.chat.own_feeds.conftest import BLOG_ITEMS, GROUP, own_feed_settings, resolve
from tests.fakes.news_site import FakeNewsSite, InternalService
from tests.fakes.telegram import FakeTelegram


async def test_add_a_feed_url_then_its_stories_come_under_my_feeds(
    bot: NewsBot, alice: Person, site: FakeNewsSite
) -> None:
    reply = await alice.ask(f"/add {site.url('/blog.xml')}")

    assert reply.plain_text.startswith("✅ Added Valley Garden Blog")
    assert "Latest: Gardeners report record tomato harvest" in reply.plain_text
    chat = await stored_chat(bot, alice.key)
    [source_id] = chat.own_feeds
    found = await bot.store.articles.recent(
        [own_feed_topic(source_id)], since=datetime(2024, 5, 1, tzinfo=UTC)
    )
    assert {a.headline for a in found} == {item.title for item in BLOG_ITEMS}
    assert site.hits("/blog.xml") == 1  # fetched once: the check is the first poll

    summary = await alice.ask("/mytopics")
    assert summary.plain_text.endswith("My feeds: 1 (/feeds lists them)")

    digest = await alice.ask("/digest")
    assert "My feeds" in digest.plain_text
    assert "Gardeners report record tomato harvest" in digest.plain_text
    assert "Beekeepers count hives" in digest.plain_text


async def test_add_a_site_url_finds_its_feed(
    bot: NewsBot, alice: Person, site: FakeNewsSite
) -> None:
    reply = await alice.ask(f"/add {site.url('/')}")

    assert reply.plain_text.startswith("✅ Added Valley Garden Blog")
    [feed] = await bot.store.chat_sources.feeds_of((await stored_chat(bot, alice.key)).id)
    assert feed.url == site.url("/blog.xml")


async def test_add_a_site_finds_a_feed_at_a_usual_path(
    bot: NewsBot, alice: Person, site: FakeNewsSite
) -> None:
    site.add_feed("/shop/feed.xml", title="Shop news", items=BLOG_ITEMS[:1])
    site.serve_page("/shop/", title="Shop")  # no <link rel="alternate">

    reply = await alice.ask(f"/add {site.url('/shop/')}")

    assert reply.plain_text.startswith("✅ Added Shop news")


async def test_a_page_without_a_feed_and_a_404_are_explained(
    bot: NewsBot, alice: Person, site: FakeNewsSite
) -> None:
    no_feed = await alice.ask(f"/add {site.url('/about')}")
    missing = await alice.ask(f"/add {site.url('/nothing-here.xml')}")
    garbage = site.serve_file("/notes.txt", b"just some notes\n", content_type="text/plain")
    not_a_feed = await alice.ask(f"/add {garbage}")

    assert "I found no RSS, Atom or JSON feed on that page" in no_feed.plain_text
    assert missing.plain_text.endswith("the site answered with HTTP 404.")
    assert not_a_feed.plain_text.endswith("that is not an RSS, Atom or JSON feed.")
    assert (await stored_chat(bot, alice.key)).own_feeds == ()


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://127.0.0.1:{port}/", "127.0.0.1 is a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://intranet.example:{port}/", "127.0.0.1 is a loopback address (intranet.example)"),
        ("http://[::ffff:127.0.0.1]:{port}/", "is a loopback address"),
        ("file:///etc/passwd", "only http:// and https:// links can be added"),
        ("ftp://ftp.example.org/feed.xml", "only http:// and https:// links can be added"),
        ("http://user:secret@blog.example/feed", "links with a user name or password"),
    ],
)
async def test_internal_and_non_web_addresses_are_refused_without_connecting(
    bot: NewsBot, alice: Person, internal: InternalService, target: str, reason: str
) -> None:
    reply = await alice.ask(f"/add {target.format(port=internal.port)}")

    assert reply.plain_text.startswith("⛔ I won't fetch")
    assert reason in reply.plain_text
    assert "secret" not in reply.plain_text
    assert internal.connections == 0


async def test_a_redirect_to_an_internal_address_is_refused(
    bot: NewsBot, alice: Person, site: FakeNewsSite, internal: InternalService
) -> None:
    site.redirect("/moved.xml", internal.url("/admin"), permanent=False)

    reply = await alice.ask(f"/add {site.url('/moved.xml')}")

    assert reply.plain_text.startswith("⛔ I won't fetch")
    assert "it redirects to an address I may not fetch (127.0.0.1 is a loopback address)" in (
        reply.plain_text
    )
    assert internal.connections == 0
    assert InternalService.SECRET not in reply.plain_text


async def test_two_chats_adding_one_url_share_one_source_polled_once(
    bot: NewsBot, alice: Person, bob: Person, site: FakeNewsSite
) -> None:
    url = site.url("/blog.xml")
    await alice.ask(f"/add {url}")
    second = await bob.ask(f"/add {url}")

    assert second.plain_text.startswith("✅ Added Valley Garden Blog")
    alice_chat, bob_chat = await stored_chat(bot, alice.key), await stored_chat(bot, bob.key)
    assert alice_chat.own_feeds == bob_chat.own_feeds
    assert site.hits("/blog.xml") == 1  # the second chat got the stored source, no fetch

    await bot.poller.tick()  # not due yet: its first poll was the /add
    assert site.hits("/blog.xml") == 1
    await bot.store.sources.make_due()
    await bot.poller.tick()
    assert site.hits("/blog.xml") == 2  # one fetch for both chats


async def test_feeds_lists_and_remove_by_number_and_button(
    bot: NewsBot, alice: Person, site: FakeNewsSite
) -> None:
    site.add_feed("/other.xml", title="Other Blog", items=BLOG_ITEMS[1:])
    await alice.ask(f"/add {site.url('/blog.xml')}")
    await alice.ask(f"/add {site.url('/other.xml')}")

    listing = await alice.ask("/feeds")
    assert "1. Valley Garden Blog — 127.0.0.1" in listing.plain_text
    assert "2. Other Blog" in listing.plain_text
    assert button_labels(listing) == ["✖ 1", "✖ 2"]

    chat = await stored_chat(bot, alice.key)
    toast = await alice.press(listing, f"myfeed:rm:{chat.own_feeds[0]}")
    assert toast.text == "Removed Valley Garden Blog"
    assert (await stored_chat(bot, alice.key)).own_feeds == chat.own_feeds[1:]

    removed = await alice.ask("/remove 1")
    assert removed.plain_text == "Removed Other Blog."
    assert (await alice.ask("/remove 1")).plain_text.startswith("'1' is none of your feeds")
    assert (await alice.ask("/feeds")).plain_text == own_feed_texts.NO_OWN_FEEDS


async def test_a_feed_nobody_follows_is_no_longer_polled(
    bot: NewsBot, alice: Person, site: FakeNewsSite
) -> None:
    url = site.url("/blog.xml")
    await alice.ask(f"/add {url}")
    assert (await alice.ask(f"/remove {url}")).plain_text == "Removed Valley Garden Blog."

    await bot.store.sources.make_due()
    await bot.poller.tick()

    assert site.hits("/blog.xml") == 1  # only the /add


async def test_adding_the_same_feed_twice_fetches_nothing_again(
    bot: NewsBot, alice: Person, site: FakeNewsSite
) -> None:
    url = site.url("/blog.xml")
    await alice.ask(f"/add {url}")

    again = await alice.ask(f"/add {url}")

    assert again.plain_text.startswith("You already follow Valley Garden Blog.")
    assert site.hits("/blog.xml") == 1


async def test_usage_limits_and_the_operator_switch(
    tg: FakeTelegram, sqlite_url: str, site: FakeNewsSite, alice: Person
) -> None:
    site.add_feed("/other.xml", title="Other Blog", items=BLOG_ITEMS[1:])
    settings = own_feed_settings(tg, sqlite_url, site, max_per_chat=1, adds_per_hour=2)
    async with running_bot(settings, clock=fixed_clock, resolve=resolve):
        assert (await alice.ask("/add")).plain_text == own_feed_texts.ADD_USAGE
        await alice.ask(f"/add {site.url('/blog.xml')}")
        full = await alice.ask(f"/add {site.url('/other.xml')}")
        assert full.plain_text.startswith("You have reached the limit of 1 feed.")
        assert site.hits("/other.xml") == 0
        limited = await alice.ask(f"/add {site.url('/other.xml')}")
        assert limited.plain_text.startswith("That is a lot of new feeds at once")

    off = own_feed_settings(tg, sqlite_url, site, enabled=False)
    async with running_bot(off, clock=fixed_clock, resolve=resolve):
        refused = await alice.ask(f"/add {site.url('/other.xml')}")
        assert refused.plain_text == own_feed_texts.OWN_FEEDS_OFF


async def test_the_operators_host_lists(
    tg: FakeTelegram, sqlite_url: str, site: FakeNewsSite, alice: Person
) -> None:
    blocked = own_feed_settings(tg, sqlite_url, site, blocked_hosts=["127.0.0.1"])
    async with running_bot(blocked, clock=fixed_clock, resolve=resolve):
        reply = await alice.ask(f"/add {site.url('/blog.xml')}")
        assert reply.plain_text.endswith("feeds from 127.0.0.1 are not allowed on this bot.")
    only = own_feed_settings(tg, sqlite_url, site, only_hosts=["example.org"])
    async with running_bot(only, clock=fixed_clock, resolve=resolve):
        reply = await alice.ask(f"/add {site.url('/blog.xml')}")
        assert reply.plain_text.endswith("this bot only adds feeds from example.org.")
    assert site.hits("/blog.xml") == 0


async def test_only_group_admins_add_feeds(
    bot: NewsBot, tg: FakeTelegram, site: FakeNewsSite
) -> None:
    tg.group(GROUP, "Gardeners", admins={ADMIN}, members={MEMBER})
    member, admin = Person(tg, GROUP, MEMBER), Person(tg, GROUP, ADMIN)

    refused = await member.ask(f"/add {site.url('/blog.xml')}")
    added = await admin.ask(f"/add {site.url('/blog.xml')}")

    assert refused.plain_text.startswith("Sorry, only group admins")
    assert added.plain_text.startswith("✅ Added Valley Garden Blog")
    assert ALICE not in {m.chat_id for m in tg.sent if "Added" in m.plain_text}


async def test_more_than_five_redirects_are_refused(
    bot: NewsBot, alice: Person, site: FakeNewsSite
) -> None:
    for hop in range(6):
        site.redirect(f"/hop{hop}.xml", f"/hop{hop + 1}.xml", permanent=False)
    site.redirect("/hop6.xml", "/blog.xml", permanent=False)

    reply = await alice.ask(f"/add {site.url('/hop0.xml')}")

    assert reply.plain_text.endswith("it redirects too many times (at most 5).")
    assert site.hits("/blog.xml") == 0


async def test_later_polls_of_an_own_feed_are_guarded_too(
    bot: NewsBot, alice: Person, site: FakeNewsSite, internal: InternalService
) -> None:
    await alice.ask(f"/add {site.url('/blog.xml')}")
    site.redirect("/blog.xml", internal.url("/admin"), permanent=False)  # the site turns

    await bot.store.sources.make_due()
    report = await bot.poller.tick()

    [result] = report.results
    assert result.status == "failed"
    assert "127.0.0.1 is a loopback address" in (result.error or "")
    assert internal.connections == 0


async def test_a_catalogue_feed_points_to_its_topic(
    tg: FakeTelegram, sqlite_url: str, site: FakeNewsSite, alice: Person
) -> None:
    settings = own_feed_settings(tg, sqlite_url, site)
    catalogue = SourceConfig(name="Garden Wire", url=site.url("/blog.xml"), topics=["science-tech"])
    settings = settings.model_copy(update={"sources": [catalogue]})
    async with running_bot(settings, clock=fixed_clock, resolve=resolve) as newsbot:
        await eventually(lambda: _polled(newsbot))
        hits = site.hits("/blog.xml")

        reply = await alice.ask(f"/add {site.url('/')}")  # found through the home page

        assert (
            reply.plain_text
            == "Garden Wire is already in my topics (Science & Tech): /topics to follow it."
        )
        assert (await stored_chat(newsbot, alice.key)).own_feeds == ()
        assert site.hits("/blog.xml") == hits + 1  # the discovery's fetch only


async def _polled(newsbot: NewsBot) -> bool:
    return await newsbot.store.articles.count() > 0
