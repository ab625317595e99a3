"""`newsbot run` at DEBUG, through its error paths: no token and no password in any output.

The bot runs as a real subprocess against the fake Telegram (in a thread of this
process) and the fake news site. Its token has no bot-token shape, so only the
token registered at start-up can hide it. It hits: python-telegram-bot's start-up
lines (``Set Bot API URL: .../bot<token>``), a reply answered by a proxy's HTML
error page that quotes the request line, token included, and a feed whose URL
carries a password and fails. Its stderr and ``sources.last_error`` are read.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

from bot.store import open_store
from tests.conftest import REPO_ROOT
from tests.fakes.news_site import FakeNewsSite
from tests.fakes.telegram import FakeTelegram

TOKEN = "4242:not-shaped-like-a-token-SECRET"
PASSWORD = "hunter2-PASSWORD"
CHAT_ID = 500_001


async def wait_until(condition: Callable[[], bool], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.1)


def start_bot(env: dict[str, str], cwd: Path, log_file: IO[bytes]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=cwd, stderr=log_file)


async def last_error(db_url: str) -> str | None:
    store = await open_store(db_url, migrate=False)
    try:
        return next((s.last_error for s in await store.sources.all() if s.last_error), None)
    finally:
        await store.close()


async def test_a_debug_run_through_error_paths_logs_no_secret(tmp_path: Path) -> None:
    handle = FakeTelegram.run_in_thread(token=TOKEN)
    fake = handle.fake
    async with FakeNewsSite() as site:
        host = site.base_url.removeprefix("http://")
        (tmp_path / "newsbot.toml").write_text(
            '[[topics]]\nid = "world"\nname = "World news"\n'
            f'[[sources]]\nname = "Locked"\nurl = "http://reader:{PASSWORD}@{host}/missing.xml"\n'
            'topics = ["world"]\n'
        )
        db_url = f"sqlite:///{tmp_path / 'bot.db'}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")} | {
            "NEWSBOT_TELEGRAM_TOKEN": TOKEN,
            "NEWSBOT_TELEGRAM_API_URL": handle.base_url,
            "NEWSBOT_DATABASE_URL": db_url,
            "NEWSBOT_CONFIG": str(tmp_path / "newsbot.toml"),
            "NEWSBOT_LOG_LEVEL": "DEBUG",
            "PYTHONPATH": str(REPO_ROOT),
        }
        log_path = tmp_path / "stderr.log"
        chat = fake.private_chat(CHAT_ID)
        fake.faults.server_error(None, 502, times=1, html=True)
        with log_path.open("wb") as log_file:
            bot = start_bot(env, tmp_path, log_file)
            try:
                handle.call(fake.send_text(chat, CHAT_ID, "/help"))  # answered by the 502 page
                handle.call(fake.send_text(chat, CHAT_ID, "/help"))
                await wait_until(lambda: bool(fake.messages_to(chat)), 60)
                errors: list[str | None] = [None]

                async def polled() -> None:
                    while errors[0] is None:
                        errors[0] = await last_error(db_url)
                        await asyncio.sleep(0.2)

                await asyncio.wait_for(polled(), 60)
            finally:
                bot.send_signal(signal.SIGTERM)
                bot.wait(timeout=30)
                handle.stop()

    output = log_path.read_text(errors="replace")
    assert "Set Bot API URL" in output and "bot***" in output  # DEBUG lines were written
    assert "502" in output  # the error page's answer was logged
    assert TOKEN not in output and "not-shaped" not in output
    assert PASSWORD not in output
    # Refused (a URL with a password) or a 404: either way recorded without the password.
    assert errors[0] is not None and "missing.xml" in errors[0]
    assert PASSWORD not in errors[0]
