"""SIGKILL `newsbot run` while it delivers a digest to 300 chats, restart it, count copies.

The bot runs as a real subprocess against the fake Telegram (in a thread of
this process, limits on) and a SQLite file seeded with 300 subscribers whose
08:00 digest is due. The only ambiguous window is a message marked 'sending'
when the process died: with the default ``resend_unknown = false`` it is never
sent twice (it may be lost if it had not arrived), which is what we count.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import open_store
from bot.store.articles import ArticleInput
from bot.store.records import ChatKey
from tests.conftest import REPO_ROOT
from tests.fakes.telegram import FakeTelegram

CHATS = 300
FIRST_ID = 700_000
HEADLINE = "World War II finally ends: Russia and Japan to accelerate peace treaty talks"
CONFIG = """
tick_seconds = 0.5
[[topics]]
id = "world"
name = "World news"
[[sources]]
name = "Desk"
kind = "folder"
path = "{folder}"
topics = ["world"]
"""


async def seed(db_url: str, folder: Path) -> None:
    """300 chats subscribed to World news, their digest due a minute ago; one story."""
    now = datetime.now(UTC)
    store = await open_store(db_url)
    [source] = await store.sources.sync([("Desk", str(folder), "folder")])
    story = ArticleInput("https://desk.example/world/1", HEADLINE, "Talks resume.", now, ("world",))
    await store.articles.store(source.id, [story], now)
    for n in range(CHATS):
        chat = await store.chats.ensure(
            ChatKey(FIRST_ID + n),
            kind="private",
            title="",
            timezone="UTC",
            digest_times=["08:00"],
            next_digest_at=now - timedelta(minutes=1),
        )
        await store.chats.add_topics(chat.id, ["world"])
    await store.close()


def start_bot(env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "run"], env=env, cwd=cwd, stderr=subprocess.DEVNULL
    )


async def wait_until(condition, seconds: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


@pytest.mark.slow
async def test_sigkill_newsbot_run_mid_delivery_then_restart(tmp_path: Path) -> None:
    folder = tmp_path / "desk"
    folder.mkdir()
    (tmp_path / "newsbot.toml").write_text(CONFIG.format(folder=folder))
    db_url = f"sqlite:///{tmp_path / 'bot.db'}"
    await seed(db_url, folder)
    handle = FakeTelegram.run_in_thread(limits=True, auto_create_chats=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")} | {
        "NEWSBOT_TELEGRAM_TOKEN": handle.fake.token,
        "NEWSBOT_TELEGRAM_API_URL": handle.base_url,
        "NEWSBOT_DATABASE_URL": db_url,
        "NEWSBOT_CONFIG": str(tmp_path / "newsbot.toml"),
        "PYTHONPATH": str(REPO_ROOT),
        # The killed process's leases must expire before the restarted one takes over.
        "NEWSBOT_DELIVERY__LEASE_SECONDS": "8",
    }
    fake = handle.fake
    try:
        first = start_bot(env, tmp_path)
        await wait_until(lambda: len(fake.sent) >= 100, 60)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        sent_at_kill = len(fake.sent)
        second = start_bot(env, tmp_path)
        try:
            store = await open_store(db_url, migrate=False)
            counts: dict[str, int] = {}

            def finished() -> bool:
                return not {"pending", "leased", "sending"} & set(counts)

            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                counts = await store.outbox.counts()
                if finished() and sum(counts.values()) == CHATS:
                    break
                await asyncio.sleep(0.5)
            await store.close()
        finally:
            second.send_signal(signal.SIGTERM)
            second.wait(timeout=30)
        copies = [len(fake.messages_to(FIRST_ID + n)) for n in range(CHATS)]
    finally:
        handle.stop()
    duplicates = sum(c - 1 for c in copies if c > 1)
    missing = copies.count(0)
    print(
        f"\nsent before kill {sent_at_kill}, outbox {counts}, duplicates {duplicates}, "
        f"missing {missing}, 429 answers {fake.rejected_429}"
    )
    assert second.returncode == 0
    assert sum(counts.values()) == CHATS and finished()
    assert duplicates == 0
    # Only a message in flight at the kill may be missing, and it is recorded as unknown.
    assert missing <= counts.get("unknown", 0)
    assert counts.get("sent", 0) + counts.get("unknown", 0) == CHATS
    assert all(HEADLINE in m.text for m in fake.sent)
