"""Log lines: text or one JSON object per line, with ids from ``extra``, never a secret."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.logs import configure_logging
from tests.conftest import REPO_ROOT
from tests.fakes.telegram import FakeTelegram

TOKEN = "7212345678:AAF-secret-token-for-tests-only_abcdefgh"
PASSWORD = "hunter2-PASSWORD"


@pytest.fixture
def root_logger() -> Iterator[logging.Logger]:
    """The root logger, its handlers and level put back after the test."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield root
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def json_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines()]


def test_json_lines_carry_extras_and_no_secret(root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging("INFO", "json", (TOKEN,), stream=stream)
    log = logging.getLogger("bot.delivery.sender")
    log.info(
        "delivery %s to chat %s rejected: %s",
        7,
        -100123,
        f"POST /bot{TOKEN}/sendMessage",
        extra={"chat_id": -100123, "delivery_id": 7, "feed": f"https://u:{PASSWORD}@x.example/"},
    )
    log.debug("not shown at INFO")
    try:
        raise RuntimeError(f"boom with {TOKEN}")
    except RuntimeError:
        logging.getLogger("bot.sources.poller").exception(
            "source %s failed unexpectedly", "Wire", extra={"source": "Wire"}
        )

    text = stream.getvalue()
    first, second = json_lines(text)
    assert TOKEN not in text and PASSWORD not in text
    assert first["level"] == "INFO" and first["logger"] == "bot.delivery.sender"
    assert first["message"] == "delivery 7 to chat -100123 rejected: POST /bot***/sendMessage"
    assert (first["chat_id"], first["delivery_id"]) == (-100123, 7)
    assert first["feed"] == "https://u:***@x.example/"
    assert first["time"].endswith("+00:00")
    assert second["source"] == "Wire" and second["level"] == "ERROR"
    assert "RuntimeError: boom with ***" in second["exception"]
    assert "Traceback" in second["exception"]


def test_text_lines_by_default(root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging("WARNING", "text", (TOKEN,), stream=stream)
    logging.getLogger("bot.app").warning("token %s", TOKEN, extra={"chat_id": 1})
    logging.getLogger("bot.app").info("hidden")
    (line,) = stream.getvalue().splitlines()
    assert line.endswith(" WARNING bot.app: token ***")


def test_configuring_twice_prints_each_line_once(root_logger: logging.Logger) -> None:
    stream = io.StringIO()
    configure_logging("INFO", "json", stream=stream)
    configure_logging("INFO", "json", stream=stream)
    logging.getLogger("bot").info("once")
    assert len(stream.getvalue().splitlines()) == 1


def test_newsbot_run_logs_json_with_the_source(tmp_path: Path) -> None:
    """The real bot: every stderr line is one JSON object; a failing source's line names it."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    (tmp_path / "newsbot.toml").write_text(
        '[[topics]]\nid = "world"\nname = "World news"\n'
        f'[[sources]]\nname = "Down"\nurl = "http://127.0.0.1:{closed_port}/rss"\n'
        'topics = ["world"]\n'
    )
    handle = FakeTelegram.run_in_thread(token=TOKEN)
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")} | {
        "NEWSBOT_TELEGRAM_TOKEN": TOKEN,
        "NEWSBOT_TELEGRAM_API_URL": handle.base_url,
        "NEWSBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
        "NEWSBOT_CONFIG": str(tmp_path / "newsbot.toml"),
        "NEWSBOT_LOG_FORMAT": "json",
        "NEWSBOT_LOG_LEVEL": "DEBUG",
        "PYTHONPATH": str(REPO_ROOT),
    }
    log_path = tmp_path / "stderr.log"
    try:
        with log_path.open("wb") as log_file:
            bot = subprocess.Popen(
                [sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path, stderr=log_file
            )
            try:
                deadline = time.monotonic() + 60
                while '"source": "Down"' not in log_path.read_text(errors="replace"):
                    assert time.monotonic() < deadline, log_path.read_text(errors="replace")
                    assert bot.poll() is None, log_path.read_text(errors="replace")
                    time.sleep(0.1)
            finally:
                bot.send_signal(signal.SIGTERM)
                bot.wait(timeout=30)
    finally:
        handle.stop()

    text = log_path.read_text()
    lines = json_lines(text)  # every line parses
    assert TOKEN not in text
    assert all({"time", "level", "logger", "message"} <= line.keys() for line in lines)
    messages = [line["message"] for line in lines]
    assert any(m.startswith("newsbot is running") for m in messages)
    assert any(m.endswith(": 1 topic, 1 source") for m in messages)  # plurals right
    failed = next(line for line in lines if line.get("source") == "Down")
    assert failed["level"] == "WARNING" and "source Down failed" in failed["message"]
    assert isinstance(failed["source_id"], int)
    assert bot.returncode == 0
