"""What the own-feed flows share: a blog site, an internal listener, the test's DNS,
and the bot built with them (``fetch.allowed_hosts`` opts the site in)."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.app import NewsBot, running_bot
from bot.settings import FetchSettings, OwnFeedSettings, Settings
from tests.chat.conftest import Person, fixed_clock, make_settings
from tests.fakes.news_site import FakeNewsSite, FeedItem, InternalService
from tests.fakes.telegram import FakeTelegram, SentMessage

BOB = 1002
GROUP = -100777

BLOG_ITEMS = [
    FeedItem(
        "Gardeners report record tomato harvest",
        "https://blog.example/tomatoes",
        "<p>Allotment holders across the valley weighed their best crop in years.</p>",
        "b-1",
        datetime(2024, 5, 15, 4, 0, tzinfo=UTC),
    ),
    FeedItem(
        "Beekeepers count hives after the frost",
        "https://blog.example/bees",
        "<p>Most colonies came through the late frost, the association said.</p>",
        "b-2",
        datetime(2024, 5, 14, 20, 0, tzinfo=UTC),
    ),
]

NAMES = {"intranet.example": ["127.0.0.1"]}


async def resolve(host: str, port: int) -> list[str]:
    """The test's DNS: IP literals as they are, a few fixed names; nothing else resolves."""
    try:
        return [str(ipaddress.ip_address(host))]
    except ValueError:
        pass
    if host in NAMES:
        return NAMES[host]
    raise OSError(f"{host} does not resolve here")


@pytest.fixture
async def site() -> AsyncIterator[FakeNewsSite]:
    """A blog with a feed at /blog.xml, a home page linking it, and a plain page."""
    async with FakeNewsSite() as fake:
        fake.add_feed("/blog.xml", title="Valley Garden Blog", items=BLOG_ITEMS)
        fake.serve_page("/", alternates=[("application/rss+xml", "/blog.xml")])
        fake.serve_page("/about", title="About us")
        yield fake


@pytest.fixture
async def internal() -> AsyncIterator[InternalService]:
    """A listener standing for an internal service: no fetch may reach it."""
    async with InternalService() as service:
        yield service


def own_feed_settings(
    tg: FakeTelegram, database_url: str, site: FakeNewsSite, **own: object
) -> Settings:
    settings = make_settings(tg, database_url)
    return settings.model_copy(
        update={
            "fetch": FetchSettings(allowed_hosts=[site.host_port], timeout_seconds=10),
            "own_feeds": OwnFeedSettings.model_validate(own),
        }
    )


@pytest.fixture
async def bot(tg: FakeTelegram, database_url: str, site: FakeNewsSite) -> AsyncIterator[NewsBot]:
    async with running_bot(
        own_feed_settings(tg, database_url, site), clock=fixed_clock, resolve=resolve
    ) as running:
        yield running


@pytest.fixture
def bob(tg: FakeTelegram) -> Person:
    tg.private_chat(BOB, "Bob")
    return Person(tg, BOB, BOB)


async def reply_to(person: Person, text: str, message_id: int) -> SentMessage:
    """``person`` writes ``text`` in reply to message ``message_id``; returns the bot's reply."""
    before = len(person.inbox())
    await person.tg.send_text(person.chat_id, person.user_id, text, reply_to=message_id)
    got = await person.tg.wait_for_messages(person.chat_id, before + 1)
    return got[before]
