"""Every failure a person can hit, from the real command line: one line, no traceback.

Each case runs ``python -m bot`` in a fresh working folder against local stand-ins:
a closed port (refused), a listener that never answers (hung), a reserved ``.invalid``
host (DNS), the fake Telegram (a rejected token), a local PostgreSQL (missing
database, unknown user). Always checked: the exit status, exactly one line on
stderr, no "Traceback" anywhere, and neither the token nor the password in any output.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import PG_URL
from tests.fakes.telegram import FakeTelegram
from tests.test_cli import newsbot

TOKEN = "7212345678:AAF-secret-token-for-tests-only_abcdefgh"
PASSWORD = "hunter2-PASSWORD"
CATALOGUE = '[[topics]]\nid = "world"\nname = "World news"\n'
COMMANDS = ["run", "ingest", "sources", "migrate", "stats", "shell", "backup copy.db"]


@dataclass(frozen=True)
class Case:
    """One failure: the command, its environment and TOML, and what must be said."""

    id: str
    command: str
    status: int
    words: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    toml: str | None = CATALOGUE  # None: no config file at all
    needs_pg: bool = False


CASES = [
    # --- the Telegram Bot API at start-up ---------------------------------------------------
    Case(
        "bot-api-refused",
        "run",
        1,
        ("Telegram Bot API error", "http://127.0.0.1:{closed_port}", "connection refused"),
        env={"NEWSBOT_TELEGRAM_API_URL": "http://127.0.0.1:{closed_port}"},
    ),
    Case(
        "bot-api-dns",
        "run",
        1,
        ("http://newsbot-test.invalid", "DNS"),
        env={"NEWSBOT_TELEGRAM_API_URL": "http://newsbot-test.invalid"},
    ),
    Case(
        "bot-api-hangs",
        "run",
        1,
        ("{hung_url}", "no answer in time", "giving up at start-up"),
        env={"NEWSBOT_TELEGRAM_API_URL": "{hung_url}"},
    ),
    Case(
        "token-rejected",
        "run",
        2,
        ("telegram_token: rejected by Telegram", "@BotFather"),
        env={"NEWSBOT_TELEGRAM_API_URL": "{fake_telegram}"},
    ),
    Case(
        "token-missing",
        "run",
        2,
        ("telegram_token: missing", "NEWSBOT_TELEGRAM_TOKEN"),
        env={"NEWSBOT_TELEGRAM_TOKEN": ""},
    ),
    # --- the database ---------------------------------------------------------------------
    Case(
        "postgres-refused",
        "stats",
        1,
        ("database error", "127.0.0.1:{closed_port}", "connection refused", ":***@"),
        env={
            "NEWSBOT_DATABASE_URL": f"postgresql://newsbot:{PASSWORD}@127.0.0.1:{{closed_port}}/nb"
        },
    ),
    Case(
        "postgres-database-missing",
        "migrate",
        1,
        ("database 'newsbot_no_such_db' does not exist", "createdb", ":***@"),
        env={"NEWSBOT_DATABASE_URL": "{pg_server}/newsbot_no_such_db"},
        needs_pg=True,
    ),
    Case(
        "postgres-wrong-credentials",
        "stats",
        1,
        ("refused user 'newsbot_nobody'", "user name and password", ":***@"),
        env={"NEWSBOT_DATABASE_URL": "{pg_nobody}"},
        needs_pg=True,
    ),
    Case(
        "sqlite-unwritable-folder",
        "run",
        1,
        ("SQLite file {tmp}/a-file/newsbot.db", "cannot create", "writ"),
        env={"NEWSBOT_DATABASE_URL": "sqlite:///{tmp}/a-file/newsbot.db"},
    ),
    Case(
        "sqlite-not-a-database",
        "stats",
        1,
        ("not an SQLite database",),
        env={"NEWSBOT_DATABASE_URL": "sqlite:///{tmp}/a-file"},
    ),
    # --- the config file --------------------------------------------------------------------
    Case(
        "toml-syntax",
        "migrate",
        2,
        ("newsbot.toml, line 2, column 12", "not valid TOML"),
        toml='[[topics]]\nid = "world\nname = "x"\n',
    ),
    Case(
        "toml-unknown-key",
        "stats",
        2,
        ("timzone: unknown key", "did you mean 'timezone'?"),
        toml='timzone = "UTC"\n' + CATALOGUE,
    ),
    Case(
        "toml-top-level-key-below-a-table",
        "stats",
        2,
        ("topics.0.timezone: unknown key", "move it above the first [section]"),
        toml=CATALOGUE + 'timezone = "UTC"\n',
    ),
    Case(
        "toml-unknown-nested-key",
        "stats",
        2,
        ("delivery.lease_second: unknown key", "did you mean 'lease_seconds'?"),
        toml="[delivery]\nlease_second = 60\n" + CATALOGUE,
    ),
    Case(
        "toml-unknown-source-key",
        "stats",
        2,
        ("sources.0.topic: unknown key", "did you mean 'topics'?"),
        toml=CATALOGUE + '[[sources]]\nname = "A"\nurl = "https://a.example/rss"\ntopic = "x"\n',
    ),
    Case(
        "config-named-but-missing",
        "run",
        2,
        ("NEWSBOT_CONFIG: no file at {tmp}/nowhere.toml",),
        env={"NEWSBOT_CONFIG": "{tmp}/nowhere.toml"},
    ),
    Case(
        "no-config-at-all",
        "run",
        2,
        ("{tmp}/config/newsbot.toml", "NEWSBOT_CONFIG is not set", "NEWSBOT_CONFIG="),
        toml=None,
    ),
    Case(
        "no-topics",
        "run",
        2,
        ("topics: none in {tmp}/config/newsbot.toml", "[[topics]]"),
        toml="timezone = 'UTC'\n",
    ),
    # --- environment values -------------------------------------------------------------------
    Case(
        "env-digest-time-malformed",
        "stats",
        2,
        ("digest_times", "HH:MM", "NEWSBOT_DIGEST_TIMES"),
        env={"NEWSBOT_DIGEST_TIMES": "8am"},
    ),
    Case(
        "env-log-level",
        "stats",
        2,
        ("log_level: unknown log level 'LOUD'", "DEBUG, INFO", "NEWSBOT_LOG_LEVEL"),
        env={"NEWSBOT_LOG_LEVEL": "LOUD"},
    ),
    Case(
        "env-log-format",
        "stats",
        2,
        ("log_format", "'text' or 'json'", "NEWSBOT_LOG_FORMAT"),
        env={"NEWSBOT_LOG_FORMAT": "xml"},
    ),
    Case(
        "env-not-a-number",
        "stats",
        2,
        ("poll_interval_seconds", "valid integer", "'often'", "NEWSBOT_POLL_INTERVAL_SECONDS"),
        env={"NEWSBOT_POLL_INTERVAL_SECONDS": "often"},
    ),
    Case(
        "env-nested-not-a-number",
        "stats",
        2,
        ("delivery.lease_seconds", "NEWSBOT_DELIVERY__LEASE_SECONDS"),
        env={"NEWSBOT_DELIVERY__LEASE_SECONDS": "long"},
    ),
    Case(
        "env-table-not-json",
        "stats",
        2,
        ("NEWSBOT_FETCH: not valid JSON", "NEWSBOT_FETCH__"),
        env={"NEWSBOT_FETCH": "fast"},
    ),
    Case(
        "env-list-of-tables-not-json",
        "stats",
        2,
        ("NEWSBOT_TOPICS: not valid JSON", "JSON list"),
        env={"NEWSBOT_TOPICS": "world"},
    ),
    Case(
        "env-not-a-boolean",
        "stats",
        2,
        ("delivery.allow_paid_broadcast", "boolean", "'maybe'"),
        env={"NEWSBOT_DELIVERY__ALLOW_PAID_BROADCAST": "maybe"},
    ),
    Case(
        "env-bad-database-url",
        "stats",
        2,
        ("database_url", "sqlite:///", "mysql://root:***@"),
        env={"NEWSBOT_DATABASE_URL": f"mysql://root:{PASSWORD}@db/newsbot"},
    ),
    Case(
        "env-bad-timezone-in-dotenv",
        "stats",
        2,
        ("timezone: unknown time zone 'Mars/Olympus'", "NEWSBOT_TIMEZONE in {tmp}/.env"),
        env={"DOTENV": "NEWSBOT_TIMEZONE=Mars/Olympus\n"},
    ),
    # --- the command line and backup ------------------------------------------------------
    Case("unknown-command", "frobnicate", 2, ("invalid choice: 'frobnicate'", "--help")),
    Case("unknown-option", "stats --fast", 2, ("unrecognized arguments: --fast", "--help")),
    Case("backup-over-a-file", "backup a-file", 2, ("a-file exists", "never overwritten")),
    Case("backup-without-a-database", "backup copy.db", 1, ("no database there",)),
    Case(
        "backup-postgres",
        "backup copy.dump",
        2,
        ("backup copies SQLite files only", "pg_dump"),
        env={"NEWSBOT_DATABASE_URL": f"postgresql://newsbot:{PASSWORD}@db.example/newsbot"},
    ),
    # Every command, with no config anywhere: the same one line.
    *(
        Case(f"no-config-{command.split()[0]}", command, 2, ("newsbot.toml",), toml=None)
        for command in COMMANDS
    ),
]


@pytest.fixture(scope="module")
def closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def hung_url() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture(scope="module")
def fake_telegram() -> Iterator[str]:
    """The fake Bot API; it knows another token, so ours gets 401."""
    handle = FakeTelegram.run_in_thread(token="111:the-only-token-it-knows")
    yield handle.base_url
    handle.stop()


@pytest.fixture
def pg_server() -> str:
    """The local PostgreSQL's URL without a database, as user postgres with our password
    (trust authentication ignores it; the output must not show it)."""
    import asyncio

    from tests.conftest import _admin_connection

    async def reachable() -> None:
        await (await _admin_connection()).close()

    asyncio.run(reachable())
    host = PG_URL.rsplit("/", 1)[0].split("@", 1)[-1]
    return f"postgresql://postgres:{PASSWORD}@{host}"


def _places(request: pytest.FixtureRequest, case: Case, tmp: Path) -> dict[str, str]:
    places = {"tmp": str(tmp)}
    for name in ("closed_port", "hung_url", "fake_telegram"):
        if any(f"{{{name}}}" in text for text in (*case.env.values(), *case.words)):
            places[name] = str(request.getfixturevalue(name))
    if case.needs_pg:
        server = request.getfixturevalue("pg_server")
        places["pg_server"] = server
        places["pg_nobody"] = f"{server.replace('://postgres:', '://newsbot_nobody:')}/postgres"
    return places


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_a_failure_is_one_clear_line(
    case: Case, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    places = _places(request, case, tmp_path)
    if case.toml is not None:
        (tmp_path / "config").mkdir()
        (tmp_path / "config" / "newsbot.toml").write_text(case.toml)
    (tmp_path / "a-file").write_text("not a database\n")
    env = {"NEWSBOT_TELEGRAM_TOKEN": TOKEN}
    if case.toml is not None:  # else the default ./data/newsbot.db, which must not appear
        env["NEWSBOT_DATABASE_URL"] = f"sqlite:///{tmp_path / 'newsbot.db'}"
    env |= {name: value.format(**places) for name, value in case.env.items()}
    dotenv = env.pop("DOTENV", None)
    if dotenv is not None:
        (tmp_path / ".env").write_text(dotenv)

    result = newsbot(*case.command.split(), cwd=tmp_path, env=env)

    output = result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert result.returncode == case.status, output
    assert len(lines) == 1, output
    assert lines[0].startswith("newsbot: ")
    assert "Traceback" not in output
    assert TOKEN not in output and TOKEN.split(":")[1] not in output
    assert PASSWORD not in output
    for words in case.words:
        assert words.format(**places) in lines[0], lines[0]
    if case.toml is None:  # nothing was created where it was started
        assert not (tmp_path / "data").exists()


def test_a_single_digest_time_in_the_environment_is_a_list_of_one(tmp_path: Path) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "newsbot.toml").write_text(CATALOGUE)
    env = {
        "NEWSBOT_DIGEST_TIMES": "08:00",
        "NEWSBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'newsbot.db'}",
    }
    result = newsbot("stats", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
