"""/export and /import: OPML files through the fake Telegram's documents, both ways."""

from __future__ import annotations

import pytest

from bot.app import NewsBot, running_bot
from bot.chat import own_feed_texts
from bot.sources.opml import OpmlFeed, parse_opml, render_opml
from tests.chat.conftest import Person, fixed_clock, stored_chat
from tests.chat.own_feeds.conftest import BLOG_ITEMS, own_feed_settings, reply_to, resolve
from tests.fakes.news_site import FakeNewsSite, InternalService
from tests.fakes.telegram import FakeTelegram, SentMessage

CREATED = fixed_clock()


async def upload(person: Person, name: str, data: bytes, caption: str | None) -> SentMessage:
    """``person`` sends a file; returns the bot's one reply."""
    before = len(person.inbox())
    await person.tg.send_document(person.chat_id, person.user_id, name, data, caption=caption)
    got = await person.tg.wait_for_messages(person.chat_id, before + 1)
    return got[before]


async def test_export_then_import_into_another_chat_gives_the_same_feeds(
    bot: NewsBot, tg: FakeTelegram, alice: Person, bob: Person, site: FakeNewsSite
) -> None:
    site.add_feed("/other.xml", title="Other Blog", items=BLOG_ITEMS[1:])
    await alice.ask(f"/add {site.url('/blog.xml')}")
    await alice.ask(f"/add {site.url('/other.xml')}")

    await tg.send_text(alice.chat_id, alice.user_id, "/export")
    await tg.wait_until(lambda: len(tg.documents) == 1)
    [exported] = tg.documents
    assert exported.chat_id == alice.chat_id
    assert exported.file_name == "newsbot-feeds.opml"
    assert exported.caption == own_feed_texts.EXPORT_CAPTION
    assert [f.url for f in parse_opml(exported.data)] == [
        site.url("/blog.xml"),
        site.url("/other.xml"),
    ]

    report = await upload(bob, "feeds.opml", exported.data, caption="/import")

    assert report.plain_text.startswith("Import: 2 added, 0 already there, 0 not added.")
    assert "Valley Garden Blog" in report.plain_text
    alice_chat, bob_chat = await stored_chat(bot, alice.key), await stored_chat(bot, bob.key)
    assert bob_chat.own_feeds == alice_chat.own_feeds
    assert site.hits("/blog.xml") == 1 and site.hits("/other.xml") == 1  # nothing refetched


async def test_import_adds_what_is_valid_and_says_why_the_rest_is_not(
    bot: NewsBot, alice: Person, site: FakeNewsSite, internal: InternalService
) -> None:
    await alice.ask(f"/add {site.url('/blog.xml')}")
    site.add_feed("/new.xml", title="New Blog", items=BLOG_ITEMS[:1])
    listed = [
        OpmlFeed(site.url("/blog.xml"), "Valley Garden Blog"),
        OpmlFeed(site.url("/new.xml"), "New Blog", "Gardening"),
        OpmlFeed(internal.url("/"), "Admin"),
        OpmlFeed("file:///etc/passwd", "Passwords"),
        OpmlFeed(site.url("/"), "A page, not a feed"),
    ]
    data = render_opml("mine", listed, created=CREATED)
    sent = await alice.tg.send_document(alice.chat_id, alice.user_id, "mine.xml", data)

    report = await reply_to(alice, "/import", sent["message"]["message_id"])

    text = report.plain_text
    assert text.startswith("Import: 1 added, 1 already there, 3 not added.")
    assert "New Blog" in text
    assert "127.0.0.1 is a loopback address" in text
    assert "only http:// and https:// links can be added" in text
    assert "that is not an RSS, Atom or JSON feed" in text
    assert internal.connections == 0
    assert len((await stored_chat(bot, alice.key)).own_feeds) == 2

    await alice.tg.send_text(alice.chat_id, alice.user_id, "/export")
    await alice.tg.wait_until(lambda: len(alice.tg.documents) == 1)
    assert [(f.title, f.category) for f in parse_opml(alice.tg.documents[0].data)] == [
        ("Valley Garden Blog", ""),
        ("New Blog", "Gardening"),  # the folder it was imported from
    ]


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE opml [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
]>
<opml version="2.0"><body><outline text="&d;" xmlUrl="https://x.example/&d;"/></body></opml>"""


def many_outlines(count: int) -> bytes:
    outlines = b"".join(b'<outline xmlUrl="https://x.example/%d"/>' % n for n in range(count))
    return b"<opml><body>" + outlines + b"</body></opml>"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"<opml><body><outline xmlUrl='https://x.example/'>", "it is not well-formed XML"),
        (BOMB, "it declares a DOCTYPE, which OPML files never need"),
        (many_outlines(50_000), "it has more than 10000 outlines"),
    ],
)
async def test_malformed_files_and_bombs_are_refused_without_harm(
    tg: FakeTelegram, database_url: str, site: FakeNewsSite, alice: Person, data: bytes, reason: str
) -> None:
    settings = own_feed_settings(tg, database_url, site, import_max_bytes=3_000_000)
    async with running_bot(settings, clock=fixed_clock, resolve=resolve) as newsbot:
        report = await upload(alice, "bad.opml", data, caption="/import")

        assert report.plain_text.startswith(f"I can't import that file: {reason}")
        assert report.plain_text.endswith("Nothing was added.")
        assert (await stored_chat(newsbot, alice.key)).own_feeds == ()


async def test_a_file_over_the_size_cap_is_not_downloaded(
    tg: FakeTelegram, sqlite_url: str, site: FakeNewsSite, alice: Person
) -> None:
    settings = own_feed_settings(tg, sqlite_url, site, import_max_bytes=1000)
    async with running_bot(settings, clock=fixed_clock, resolve=resolve):
        report = await upload(alice, "big.opml", many_outlines(100), caption="/import")

    assert report.plain_text == "That file is too large: I import OPML files up to 1 KB."
    assert tg.calls["getFile"] == 0


async def test_import_and_export_without_a_file_or_feeds(bot: NewsBot, alice: Person) -> None:
    assert (await alice.ask("/import")).plain_text == own_feed_texts.IMPORT_USAGE
    assert (await alice.ask("/export")).plain_text == own_feed_texts.EXPORT_EMPTY


async def test_an_opml_file_sent_privately_is_imported(
    bot: NewsBot, alice: Person, site: FakeNewsSite
) -> None:
    data = render_opml("x", [OpmlFeed(site.url("/blog.xml"), "Blog")], created=CREATED)

    report = await upload(alice, "subscriptions.opml", data, caption=None)

    assert report.plain_text.startswith("Import: 1 added")
