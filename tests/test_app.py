"""End to end: `newsbot run`'s application against the fake Telegram and news site."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import running_bot
from bot.settings import FetchSettings, Settings, SourceConfig, TopicConfig
from bot.store import open_store
from bot.store.articles import ArticleInput
from bot.store.records import ChatKey
from tests.fakes.news_site import FakeNewsSite, FeedItem, make_items
from tests.fakes.telegram import FakeTelegram

REPO_ROOT = Path(__file__).resolve().parent.parent
USER = 1001


@pytest.fixture
async def telegram() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(limits=True) as fake:
        yield fake


def make_settings(tg: FakeTelegram, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "telegram_token": tg.token,
        "telegram_api_url": tg.base_url,
        "database_url": f"sqlite:///{tmp_path / 'bot.db'}",
        "topics": [TopicConfig(id="world", name="World news", aliases=["world"])],
        "sources": [],
        "tick_seconds": 3600,
    }
    return Settings(**(values | overrides))


async def test_run_answers_start_and_registers_commands(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    chat = telegram.private_chat(USER)
    async with running_bot(make_settings(telegram, tmp_path)):
        await telegram.send_text(chat, USER, "/start")
        [reply, *_] = await telegram.wait_for_messages(chat)
    assert "World news" in str(reply.reply_markup)
    commands = {c["command"] for c in telegram.my_commands}
    assert {"start", "help", "subscribe", "digest", "schedule", "stop"} <= commands


def recent(items: list[FeedItem]) -> list[FeedItem]:
    """The items as if published in the last hours (older ones would not be stored)."""
    now = datetime.now(UTC).replace(microsecond=0)
    return [replace(item, published=now - timedelta(hours=n)) for n, item in enumerate(items, 1)]


async def test_whole_pipeline_feed_to_digest(telegram: FakeTelegram, tmp_path: Path) -> None:
    """A user subscribes; the poller ingests a feed; /digest delivers its stories."""
    chat = telegram.private_chat(USER)
    async with FakeNewsSite() as site:
        items = recent(make_items(3, seed=7, prefix="world", base_url=site.base_url))
        feed = site.add_feed("/world.xml", title="Wire", items=items)
        source = SourceConfig(name="Wire", url=feed, topics=["world"])
        settings = make_settings(telegram, tmp_path, sources=[source], tick_seconds=0.2)
        async with running_bot(settings) as newsbot:
            await telegram.send_text(chat, USER, "/subscribe world")
            for _ in range(100):
                if await newsbot.store.articles.count() == 3:
                    break
                await asyncio.sleep(0.1)
            assert site.hits("/world.xml") >= 1
            await telegram.send_text(chat, USER, "/digest")
            await telegram.wait_until(
                lambda: any(items[0].title in m.text for m in telegram.messages_to(chat)),
                timeout=15,
            )
    texts = "\n".join(m.text for m in telegram.messages_to(chat))
    for item in items:
        assert item.title in texts
    assert telegram.rejected_429 == 0


async def seed_due_digest(settings: Settings, source: SourceConfig, headline: str) -> None:
    """A stored story of ``source`` and a chat of USER whose digest is due in a second."""
    now = datetime.now(UTC)
    store = await open_store(settings.database_url)
    try:
        [stored] = await store.sources.sync([(source.name, str(source.url), "feed")])
        story = ArticleInput(f"{source.url}#1", headline, "Talks resume.", now, ("world",))
        await store.articles.store(stored.id, [story], now)
        chat = await store.chats.ensure(
            ChatKey(USER),
            kind="private",
            title="",
            timezone="UTC",
            digest_times=["08:00"],
            next_digest_at=now + timedelta(seconds=1),
        )
        await store.chats.add_topics(chat.id, ["world"])
    finally:
        await store.close()


async def test_a_hanging_source_does_not_hold_back_a_due_digest(
    telegram: FakeTelegram, tmp_path: Path
) -> None:
    """Polling and planning are separate jobs: a poll stuck on a source never delays a digest."""
    chat = telegram.private_chat(USER)
    headline = "Peace talks resume in Geneva"
    async with FakeNewsSite() as site:
        feed = site.add_feed("/slow.xml", title="Slow", items=[])
        site.delay("/slow.xml", 600)  # far beyond this test's patience
        source = SourceConfig(name="Slow", url=feed, topics=["world"])
        settings = make_settings(
            telegram,
            tmp_path,
            sources=[source],
            fetch=FetchSettings(timeout_seconds=600),
            tick_seconds=0.2,
        )
        await seed_due_digest(settings, source, headline)
        async with running_bot(settings):
            await telegram.wait_until(lambda: site.hits("/slow.xml") == 1, timeout=15)
            await telegram.wait_until(
                lambda: any(headline in m.text for m in telegram.messages_to(chat)), timeout=15
            )
            assert site.hits("/slow.xml") == 1  # the poll is still waiting for its answer
            await site.close()  # answers the hanging request, so the bot stops at once


async def test_newsbot_run_process_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    handle = FakeTelegram.run_in_thread()
    try:
        chat = handle.fake.private_chat(USER)
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
        env |= {
            "NEWSBOT_TELEGRAM_TOKEN": handle.fake.token,
            "NEWSBOT_TELEGRAM_API_URL": handle.base_url,
            "NEWSBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
            "NEWSBOT_CONFIG": str(tmp_path / "newsbot.toml"),
            "PYTHONPATH": str(REPO_ROOT),
        }
        (tmp_path / "newsbot.toml").write_text('[[topics]]\nid = "world"\nname = "World news"\n')
        proc = subprocess.Popen(  # noqa: ASYNC220 - the bot under test runs beside this loop
            [sys.executable, "-m", "bot", "run"],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            handle.call(handle.fake.send_text(chat, USER, "/help"))
            for _ in range(200):
                if handle.fake.messages_to(chat):
                    break
                await asyncio.sleep(0.1)
            assert "/subscribe" in handle.fake.messages_to(chat)[0].text
            proc.send_signal(signal.SIGTERM)
            output, _ = proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
        assert proc.returncode == 0, output
        assert "Traceback" not in output
    finally:
        handle.stop()
