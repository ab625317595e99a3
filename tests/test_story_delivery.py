"""End to end: a new story reaches every instant subscriber exactly once, whatever the timing.

300 chats send ``/schedule instant`` and ``/subscribe world news`` back to back
right after start-up, while the first poll is still storing news: the World
story about monsoon trade corridors (which a grouper may join to an older
Science story about a Bay of Bengal cyclone model) must reach each chat once,
in its welcome digest or in an instant digest, never in both and never in
neither.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.app import NewsBot, running_bot
from bot.settings import DeliverySettings, Settings, SourceConfig, TopicConfig
from bot.store.schema import digests
from tests.fakes.news_site import FakeNewsSite, FeedItem
from tests.fakes.telegram import FakeTelegram

CHATS = 300
FIRST_USER = 50_000
CORRIDOR = "Ministers sign deal about monsoon trade corridors"
CYCLONE = "New cyclone model cuts Bay of Bengal track errors by a fifth"
# The late outlet answers after the fast ones, so its story is stored while
# the chats' commands (and their welcome digests) are being handled.
LATE_SECONDS = 1.5


def _items(now: datetime) -> dict[str, list[FeedItem]]:
    hour = timedelta(hours=1)
    return {
        "/science.xml": [
            FeedItem(
                CYCLONE,
                "https://science.example/cyclone-model",
                "<p>Researchers in Chennai and Dhaka report a cyclone model that cuts "
                "track errors across the Bay of Bengal region by a fifth.</p>",
                "s-1",
                now - 3 * hour,
            )
        ],
        "/world.xml": [
            FeedItem(
                "Parliament passes budget after all-night session",
                "https://world.example/budget",
                "<p>Lawmakers in Lisbon passed the budget after an all-night session.</p>",
                "w-1",
                now - 2 * hour,
            )
        ],
        "/late.xml": [
            FeedItem(
                CORRIDOR,
                "https://late.example/corridors",
                "<p>Ministers from eleven countries signed a corridor agreement on shipping "
                "and ports across the Bay of Bengal region.</p>",
                "l-1",
                now - hour,
            )
        ],
    }


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


def _settings(tg: FakeTelegram, database_url: str, site: FakeNewsSite) -> Settings:
    topics = [
        TopicConfig(id="world", name="World news", aliases=["world", "world news"]),
        TopicConfig(id="science-tech", name="Science & Tech", aliases=["science"]),
    ]
    sources = [
        SourceConfig(name="Science Daily", url=site.url("/science.xml"), topics=["science-tech"]),
        SourceConfig(name="World Wire", url=site.url("/world.xml"), topics=["world"]),
        SourceConfig(name="Late Wire", url=site.url("/late.xml"), topics=["world"]),
    ]
    return Settings(
        telegram_token=tg.token,
        telegram_api_url=tg.base_url,
        database_url=database_url,
        topics=topics,
        sources=sources,
        tick_seconds=0.2,
        # 600 replies and 300 digests: paced at the free 30/s they alone take 30 s.
        delivery=DeliverySettings(private_chat_interval_seconds=0.0, allow_paid_broadcast=True),
    )


async def _digest_kinds(newsbot: NewsBot) -> dict[str, int]:
    """How many digests of each kind were planned (for the failure message)."""
    count = func.count().label("count")
    stmt = select(digests.c.kind, count).group_by(digests.c.kind)
    async with newsbot.store.engine.connect() as conn:
        return {row.kind: row.count for row in await conn.execute(stmt)}


def _corridor_count(tg: FakeTelegram, chat_id: int) -> int:
    return sum(message.text.count(CORRIDOR) for message in tg.messages_to(chat_id))


async def test_new_story_reaches_every_instant_subscriber_once(
    telegram: FakeTelegram, database_url: str
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    users = [FIRST_USER + n for n in range(CHATS)]
    for user in users:
        telegram.private_chat(user, f"User {user}")
    async with FakeNewsSite() as site:
        for path, items in _items(now).items():
            site.add_feed(path, title=path, items=items)
        site.delay("/late.xml", LATE_SECONDS)
        async with running_bot(_settings(telegram, database_url, site)) as newsbot:
            for user in users:  # back to back, as fast as the users can type
                await telegram.send_text(user, user, "/schedule instant")
                await telegram.send_text(user, user, "/subscribe world news")

            def everyone_has_it() -> bool:
                return all(_corridor_count(telegram, user) >= 1 for user in users)

            with contextlib.suppress(AssertionError):  # the counts below say who missed it
                await telegram.wait_until(everyone_has_it, timeout=60)
            await newsbot.poll()  # a later poll (nothing new) must not send it again
            await newsbot.sender.drain()
            await asyncio.sleep(0.3)
            kinds = await _digest_kinds(newsbot)
    counts = {user: _corridor_count(telegram, user) for user in users}
    wrong = {user: n for user, n in counts.items() if n != 1}
    assert wrong == {}, f"{len(wrong)} chats got it a wrong number of times; {kinds}"
    for user in users:  # the Science story is not World news: it never reaches them
        assert all(CYCLONE not in m.text for m in telegram.messages_to(user))
