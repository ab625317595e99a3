"""Shared fixtures: a fresh database per test on SQLite and on PostgreSQL.

PostgreSQL: ``NEWSBOT_TEST_PG_URL`` (default postgresql://postgres@127.0.0.1:5432/test).
Where it is not reachable the PostgreSQL cases are skipped with the reason,
unless ``NEWSBOT_REQUIRE_PG=1`` (set by CI), which turns that into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Store, open_store
from tests.fakes.clock import FakeClock
from tests.fakes.news_site import FakeNewsSite

os.environ.setdefault("PTB_TIMEDELTA", "1")  # read RetryAfter.retry_after as timedelta, no warning

REPO_ROOT = Path(__file__).resolve().parent.parent
# Every file the tests read: copied here so that a clone with nothing beside it passes.
DATA_DIR = REPO_ROOT / "tests" / "data"
PG_URL = os.environ.get("NEWSBOT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def _admin_connection():
    import asyncpg

    try:
        return await asyncpg.connect(PG_URL, timeout=3)
    except (OSError, asyncpg.PostgresError) as err:
        reason = f"PostgreSQL not reachable at {PG_URL}: {err}"
        if os.environ.get("NEWSBOT_REQUIRE_PG") == "1":
            pytest.fail(reason)
        pytest.skip(reason)


async def _create_pg_database() -> tuple[str, str]:
    """A fresh, empty database; returns (url, name)."""
    name = f"newsbot_t_{uuid.uuid4().hex[:12]}"
    conn = await _admin_connection()
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return PG_URL.rsplit("/", 1)[0] + f"/{name}", name


async def _drop_pg_database(name: str) -> None:
    conn = await _admin_connection()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL of an empty database: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'newsbot.db'}"
        return
    url, name = await _create_pg_database()
    yield url
    await _drop_pg_database(name)


@pytest.fixture
async def pg_database_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database, for what only PostgreSQL runs (several processes)."""
    url, name = await _create_pg_database()
    yield url
    await _drop_pg_database(name)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A migrated store on each database."""
    opened = await open_store(database_url)
    yield opened
    await opened.close()


@pytest.fixture
def data_dir() -> Path:
    """The tests' data folder (tests/data)."""
    return DATA_DIR


@pytest.fixture
async def site() -> AsyncIterator[FakeNewsSite]:
    """The fake news site, serving on 127.0.0.1 for one test."""
    async with FakeNewsSite() as running:
        yield running


@pytest.fixture
def clock() -> FakeClock:
    """A clock the test moves by hand."""
    return FakeClock()
