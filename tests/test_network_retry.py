"""Once running, ``newsbot run`` outlives a Bot API outage: no exit, no traceback on
stderr at the default level, and it answers again when the API is back."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.fakes.telegram import FakeTelegram

TOKEN = "7212345678:AAF-secret-token-for-tests-only_abcdefgh"
CHAT_ID = 500_002


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition_text: str, log_path: Path, bot: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while condition_text not in log_path.read_text(errors="replace"):
        assert bot.poll() is None, log_path.read_text(errors="replace")
        assert time.monotonic() < deadline, log_path.read_text(errors="replace")
        time.sleep(0.1)


def test_run_keeps_retrying_through_an_outage(tmp_path: Path) -> None:
    port = free_port()
    (tmp_path / "newsbot.toml").write_text('[[topics]]\nid = "world"\nname = "World news"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")} | {
        "NEWSBOT_TELEGRAM_TOKEN": TOKEN,
        "NEWSBOT_TELEGRAM_API_URL": f"http://127.0.0.1:{port}",
        "NEWSBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "NEWSBOT_CONFIG": str(tmp_path / "newsbot.toml"),
        "PYTHONPATH": str(REPO_ROOT),
    }
    log_path = tmp_path / "stderr.log"
    handle = FakeTelegram.run_in_thread(token=TOKEN, port=port, auto_create_chats=True)
    with log_path.open("wb") as log_file:
        bot = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path, stderr=log_file
        )
        try:
            wait_for("newsbot is running", log_path, bot)
            handle.stop()  # the Bot API goes away while the bot polls it
            time.sleep(3)
            assert bot.poll() is None, log_path.read_text(errors="replace")
            handle = FakeTelegram.run_in_thread(token=TOKEN, port=port, auto_create_chats=True)
            fake = handle.fake
            chat = fake.private_chat(CHAT_ID)
            handle.call(fake.send_text(chat, CHAT_ID, "/help"))
            deadline = time.monotonic() + 60
            while not fake.messages_to(chat):
                assert bot.poll() is None, log_path.read_text(errors="replace")
                assert time.monotonic() < deadline, log_path.read_text(errors="replace")
                time.sleep(0.2)
        finally:
            bot.send_signal(signal.SIGTERM)
            bot.wait(timeout=30)
            handle.stop()
    output = log_path.read_text(errors="replace")
    assert bot.returncode == 0, output
    assert TOKEN not in output
    assert "Traceback" not in output  # each failed poll is one line, the traceback at DEBUG
