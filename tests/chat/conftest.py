"""End-to-end fixtures for the chat edge: the real bot against the fake Telegram.

The bot is built by ``bot.app.running_bot`` exactly as in production, with the
real python-telegram-bot client talking HTTP to ``FakeTelegram``. The clock is
fixed (Wednesday 15 May 2024, 06:00 UTC) so times in replies are known, and the
tick is an hour long so the poller and planner only run when a test asks.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import NewsBot, running_bot
from bot.settings import DeliverySettings, Settings, SourceConfig, TopicConfig
from bot.store.records import Chat, ChatKey
from tests.fakes.news_site import FakeNewsSite, FeedItem
from tests.fakes.telegram import CallbackAnswer, FakeTelegram, SentMessage

NOW = datetime(2024, 5, 15, 6, 0, tzinfo=UTC)  # a Wednesday
ALICE = 1001  # a private chat's user (and chat id)
ADMIN = 2001
MEMBER = 2002

TOPICS = [
    TopicConfig(id="world", name="World news", aliases=["world", "international"]),
    TopicConfig(id="sport", name="Sport", aliases=["sports", "football"]),
    TopicConfig(id="science-tech", name="Science & Tech", aliases=["science", "tech"]),
    TopicConfig(id="business", name="Business", aliases=["economy", "markets"]),
]

# Stories of the fake news site's world feed, all within a day before NOW.
WORLD_ITEMS = [
    FeedItem(
        "Earthquake shakes coastal city",
        "https://news.example/world/quake",
        "<p>A strong earthquake shook the coastal city overnight.</p>",
        "w-1",
        datetime(2024, 5, 15, 5, 0, tzinfo=UTC),
    ),
    FeedItem(
        "Leaders meet for climate summit",
        "https://news.example/world/summit",
        "<p>Leaders of forty nations met to talk about emissions.</p>",
        "w-2",
        datetime(2024, 5, 15, 3, 30, tzinfo=UTC),
    ),
]


def fixed_clock() -> datetime:
    """The bot's clock in these tests."""
    return NOW


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    """The fake Telegram Bot API server."""
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite file for the bot."""
    return f"sqlite:///{tmp_path / 'chat.db'}"


def make_settings(
    tg: FakeTelegram, database_url: str, sources: list[SourceConfig] | None = None
) -> Settings:
    """Settings for a test bot: four topics, UTC, digests at 08:00, hour-long ticks.

    Replies to one private chat are not paced at 1/s here (production paces
    them), so conversations of several commands stay fast.
    """
    return Settings(
        telegram_token="123:ABC",
        telegram_api_url=tg.base_url,
        database_url=database_url,
        timezone="UTC",
        digest_times=["08:00"],
        tick_seconds=3600,
        topics=TOPICS,
        sources=sources or [],
        delivery=DeliverySettings(private_chat_interval_seconds=0.0),
    )


@pytest.fixture
def settings(tg: FakeTelegram, sqlite_url: str) -> Settings:
    """Settings with no news sources, on SQLite.

    Tests where the database does more than store settings (stories, digests,
    restart, migration, erasure) run on PostgreSQL too, via ``database_url``.
    """
    return make_settings(tg, sqlite_url)


def start_bot(settings: Settings) -> AbstractAsyncContextManager[NewsBot]:
    """The real bot, started and stopped around a ``with`` block."""
    return running_bot(settings, clock=fixed_clock)


@pytest.fixture
async def newsbot(settings: Settings) -> AsyncIterator[NewsBot]:
    """The running bot (no sources)."""
    async with start_bot(settings) as bot:
        yield bot


@pytest.fixture
async def news_site() -> AsyncIterator[FakeNewsSite]:
    """A news site with one world feed at /world.xml."""
    async with FakeNewsSite() as site:
        site.add_feed("/world.xml", title="World Wire", items=WORLD_ITEMS)
        yield site


@pytest.fixture
async def newsbot_with_news(
    tg: FakeTelegram, database_url: str, news_site: FakeNewsSite
) -> AsyncIterator[NewsBot]:
    """The running bot with one source (topic world) whose stories are already stored."""
    source = SourceConfig(name="World Wire", url=news_site.url("/world.xml"), topics=["world"])
    async with start_bot(make_settings(tg, database_url, [source])) as bot:
        # The first tick (0.1 s after start) polls the new source. The first poll of
        # a test process also starts the parse processes, slow on a loaded machine.
        await eventually(lambda: _has_articles(bot, len(WORLD_ITEMS)), within_seconds=60)
        yield bot


async def _has_articles(bot: NewsBot, count: int) -> bool:
    return await bot.store.articles.count() >= count


async def eventually(
    condition: Callable[[], Awaitable[bool]], within_seconds: float = 10.0
) -> None:
    """Wait until an async condition holds (for effects that send nothing to Telegram)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within_seconds
    while not await condition():
        if loop.time() > deadline:
            raise AssertionError(f"condition not met within {within_seconds}s")
        await asyncio.sleep(0.05)


@dataclass(frozen=True, slots=True)
class Person:
    """Someone writing in one chat (and forum thread) of the fake Telegram."""

    tg: FakeTelegram
    chat_id: int
    user_id: int
    thread_id: int | None = None

    def in_thread(self, thread_id: int | None) -> Person:
        """The same person writing in another thread of the chat."""
        return Person(self.tg, self.chat_id, self.user_id, thread_id)

    @property
    def key(self) -> ChatKey:
        """The subscriber this person's messages belong to."""
        return ChatKey(self.chat_id, self.thread_id or 0)

    def inbox(self) -> list[SentMessage]:
        """What the bot sent to this chat and thread (no thread: messages without one)."""
        return self.tg.messages_to(self.chat_id, self.thread_id)

    async def say(self, text: str, replies: int = 1) -> list[SentMessage]:
        """Write ``text``; return the next ``replies`` bot messages in this chat and thread."""
        before = len(self.inbox())
        await self.tg.send_text(self.chat_id, self.user_id, text, thread_id=self.thread_id)
        got = await self.tg.wait_for_messages(
            self.chat_id, before + replies, thread_id=self.thread_id
        )
        return got[before:]

    async def ask(self, text: str) -> SentMessage:
        """Write ``text`` and return the one reply."""
        return (await self.say(text))[0]

    async def press(self, message: SentMessage, data: str) -> CallbackAnswer:
        """Press a button under a bot message; returns the bot's answerCallbackQuery."""
        update = await self.tg.press_button(self.chat_id, self.user_id, message.message_id, data)
        query_id = update["callback_query"]["id"]

        def answered() -> bool:
            return any(a.callback_query_id == query_id for a in self.tg.callback_answers)

        await self.tg.wait_until(answered)
        return next(a for a in self.tg.callback_answers if a.callback_query_id == query_id)

    async def silence(self, seconds: float = 0.3) -> None:
        """Assert the bot sends nothing more to this chat and thread for a while."""
        before = len(self.inbox())
        await asyncio.sleep(seconds)
        assert self.inbox()[before:] == []


@pytest.fixture
def alice(tg: FakeTelegram) -> Person:
    """Alice in her private chat with the bot."""
    tg.private_chat(ALICE, "Alice")
    return Person(tg, ALICE, ALICE)


async def stored_chat(bot: NewsBot, key: ChatKey) -> Chat:
    """The stored chat, which must exist."""
    chat = await bot.store.chats.get(key)
    assert chat is not None, f"no chat row for {key}"
    return chat


def button_labels(message: SentMessage | None, markup: dict | None = None) -> list[str]:
    """The labels of an inline keyboard, row by row flattened."""
    keyboard = markup if markup is not None else (message.reply_markup if message else None)
    rows = (keyboard or {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]
