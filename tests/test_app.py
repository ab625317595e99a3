"""End to end: `newsbot run`'s application against the fake Telegram and news site."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from telegram.request import HTTPXRequest

from bot.app import GC_YOUNG_THRESHOLD, running_bot, tune_garbage_collector
from bot.delivery.telegram_http import AiohttpRequest
from bot.settings import DeliverySettings, Settings, SourceConfig, TopicConfig
from tests.fakes.news_site import FakeNewsSite, make_items
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


@pytest.mark.parametrize(
    ("http_client", "request_class"), [("aiohttp", AiohttpRequest), ("httpx", HTTPXRequest)]
)
async def test_run_talks_to_telegram_through_the_chosen_http_client(
    telegram: FakeTelegram, tmp_path: Path, http_client: str, request_class: type
) -> None:
    chat = telegram.private_chat(USER)
    delivery = DeliverySettings(http_client=http_client)  # type: ignore[arg-type]
    async with running_bot(make_settings(telegram, tmp_path, delivery=delivery)) as bot:
        await telegram.send_text(chat, USER, "/help")
        [reply, *_] = await telegram.wait_for_messages(chat)
        assert isinstance(bot.application.bot.request, request_class)
    assert "/subscribe" in reply.text


async def test_whole_pipeline_feed_to_digest(telegram: FakeTelegram, tmp_path: Path) -> None:
    """A user subscribes; the poller ingests a feed; /digest delivers its stories."""
    chat = telegram.private_chat(USER)
    async with FakeNewsSite() as site:
        items = make_items(3, seed=7, prefix="world", base_url=site.base_url)
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


def test_tuned_collector_skips_startup_objects_and_collects_less_often() -> None:
    thresholds = gc.get_threshold()
    try:
        tune_garbage_collector()
        frozen = gc.get_freeze_count()
        tuned = gc.get_threshold()
    finally:
        gc.unfreeze()  # other tests run in this process
        gc.set_threshold(*thresholds)
    assert frozen > 1000  # modules, classes and functions imported at startup
    assert tuned == (GC_YOUNG_THRESHOLD, *thresholds[1:])
