"""The command line as an operator meets it: help, clear errors, migrate."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
MIGRATIONS = REPO_ROOT / "bot" / "store" / "migrations" / "versions"
COMMANDS = ["run", "ingest", "sources", "migrate", "stats", "backup", "shell"]


def newsbot(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**clean, **(env or {}), "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "newsbot.toml").write_text(
        '[[topics]]\nid = "world"\nname = "World news"\n'
    )
    return tmp_path


def test_help_lists_every_command(workdir: Path) -> None:
    result = newsbot("--help", cwd=workdir)
    assert result.returncode == 0
    for command in COMMANDS:
        assert command in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help(workdir: Path, command: str) -> None:
    result = newsbot(command, "--help", cwd=workdir)
    assert result.returncode == 0
    assert f"newsbot {command}" in result.stdout


def test_version(workdir: Path) -> None:
    from bot import __version__

    result = newsbot("--version", cwd=workdir)
    assert (result.returncode, result.stdout) == (0, f"newsbot {__version__}\n")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_describes_itself(workdir: Path, command: str) -> None:
    result = newsbot(command, "--help", cwd=workdir, env={"COLUMNS": "200"})
    usage, description, *_ = result.stdout.split("\n\n")
    assert usage.startswith(f"usage: newsbot {command}")
    assert not description.startswith(("options:", "positional")), result.stdout
    assert len(description.split()) >= 10  # a sentence or two, not a label


def test_run_without_token_says_how_to_fix_and_fails(workdir: Path) -> None:
    result = newsbot("run", cwd=workdir)
    assert result.returncode != 0
    assert "telegram_token" in result.stderr and "BotFather" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_bad_setting_is_one_line_without_traceback(workdir: Path) -> None:
    result = newsbot("migrate", cwd=workdir, env={"NEWSBOT_DIGEST_TIMES": '["25:99"]'})
    assert result.returncode == 2
    assert "digest_times" in result.stderr and "HH:MM" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_creates_the_database(workdir: Path) -> None:
    db = workdir / "data" / "bot.db"
    env = {"NEWSBOT_DATABASE_URL": "sqlite:///data/bot.db"}  # relative: the working directory
    result = newsbot("migrate", cwd=workdir, env=env)
    assert result.returncode == 0, result.stderr
    newest = max(p.name[:4] for p in MIGRATIONS.glob("[0-9][0-9][0-9][0-9]_*.py"))
    assert result.stdout.splitlines() == [
        f"database: SQLite file {db}",
        f"database is at revision {newest} (was empty)",
    ]
    assert db.exists()
    again = newsbot("migrate", cwd=workdir, env=env)
    assert f"database is at revision {newest} (unchanged)" in again.stdout


async def test_migrate_names_the_database_with_the_password_masked(
    workdir: Path, database_url: str
) -> None:
    password = "hunter2-PASSWORD"
    if database_url.startswith("postgresql://"):  # trust authentication ignores the password
        database_url = database_url.replace("@", f":{password}@", 1)
    result = newsbot("migrate", cwd=workdir, env={"NEWSBOT_DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    assert password not in result.stdout + result.stderr
    first = result.stdout.splitlines()[0]
    if database_url.startswith("postgresql://"):
        assert first == f"database: {database_url.replace(password, '***')}"
    else:
        assert first == f"database: SQLite file {database_url.removeprefix('sqlite:///')}"


def test_stats_on_a_fresh_database(workdir: Path) -> None:
    db = workdir / "bot.db"
    result = newsbot("stats", cwd=workdir, env={"NEWSBOT_DATABASE_URL": f"sqlite:///{db}"})
    assert result.returncode == 0, result.stderr
    assert "articles" in result.stdout


def test_ingest_names_an_unknown_source(workdir: Path) -> None:
    db = workdir / "bot.db"
    result = newsbot(
        "ingest", "--source", "Nope", cwd=workdir, env={"NEWSBOT_DATABASE_URL": f"sqlite:///{db}"}
    )
    assert result.returncode == 2
    assert "No source named 'Nope'" in result.stdout


@pytest.fixture
def news_site_process(workdir: Path) -> Iterator[str]:
    """The fake news site in its own process, serving /feeds/0.xml and /feeds/1.xml."""
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.news_site",
            "--feeds",
            "2",
            "--items",
            "5",
            "--port",
            "0",
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    base_url = proc.stdout.readline().strip()
    yield base_url
    proc.terminate()
    proc.wait(timeout=10)


def test_ingest_then_sources_show_a_table(workdir: Path, news_site_process: str) -> None:
    (workdir / "config" / "newsbot.toml").write_text(
        '[[topics]]\nid = "world"\nname = "World news"\n'
        f'[[sources]]\nname = "Wire A"\nurl = "{news_site_process}/feeds/0.xml"\n'
        'topics = ["world"]\n'
        f'[[sources]]\nname = "Broken"\nurl = "{news_site_process}/missing.xml"\n'
        'topics = ["world"]\n'
    )
    env = {"NEWSBOT_DATABASE_URL": f"sqlite:///{workdir / 'bot.db'}", "COLUMNS": "200"}
    first = newsbot("ingest", cwd=workdir, env=env)
    assert first.returncode == 1, first.stderr  # one source failed
    assert "Wire A" in first.stdout and "Broken" in first.stdout
    assert "404" in first.stdout
    again = newsbot("ingest", "--source", "Wire A", cwd=workdir, env=env)
    assert again.returncode == 0, again.stderr
    assert "Wire A" in again.stdout and "Broken" not in again.stdout
    health = newsbot("sources", cwd=workdir, env=env)
    assert health.returncode == 0, health.stderr
    assert "Wire A" in health.stdout and "Broken" in health.stdout


def test_stats_and_sources_show_a_flood_wait(workdir: Path) -> None:
    import asyncio
    from datetime import UTC, datetime, timedelta

    from bot.store import open_store
    from bot.store.state import SENDING_PAUSED_UNTIL

    db_url = f"sqlite:///{workdir / 'bot.db'}"

    async def pause_sending() -> None:
        store = await open_store(db_url)
        await store.state.set_time(SENDING_PAUSED_UNTIL, datetime.now(UTC) + timedelta(hours=3))
        await store.sources.sync([("Wire", "https://wire.example/rss", "feed")])
        await store.close()

    asyncio.run(pause_sending())
    for command in ("stats", "sources"):
        result = newsbot(command, cwd=workdir, env={"NEWSBOT_DATABASE_URL": db_url})
        assert result.returncode == 0, result.stderr
        assert "flood wait" in result.stdout


def test_run_with_a_rejected_token_is_one_line_without_the_token(workdir: Path) -> None:
    from tests.fakes.telegram import FakeTelegram

    rejected = "987654321:wrong-token-the-fake-telegram-does-not-know"
    handle = FakeTelegram.run_in_thread()
    try:
        env = {
            "NEWSBOT_TELEGRAM_TOKEN": rejected,
            "NEWSBOT_TELEGRAM_API_URL": handle.base_url,
            "NEWSBOT_DATABASE_URL": f"sqlite:///{workdir / 'bot.db'}",
        }
        result = newsbot("run", cwd=workdir, env=env)
    finally:
        handle.stop()
    assert result.returncode == 2
    assert rejected not in result.stderr + result.stdout
    assert "wrong-token" not in result.stderr + result.stdout
    assert result.stderr.strip().splitlines() == [
        "newsbot: config error: telegram_token: rejected by Telegram "
        "(copy the token again from @BotFather)"
    ]
