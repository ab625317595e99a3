"""Apply Alembic migrations (on start and by ``newsbot migrate``)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import func, select
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic config pointing at our migrations, no alembic.ini needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


# Any fixed 64-bit number: it names the lock that makes processes migrate one at a time.
MIGRATE_LOCK = 0x6E657773_6D69_67


async def upgrade_to_head(engine: AsyncEngine) -> None:
    """Bring the schema up to the newest migration; a no-op when it is current.

    Role processes started together all migrate on start: on PostgreSQL they take
    turns on a transaction lock, so the first migrates and the others find the
    schema current (without it, concurrent CREATEs fail). SQLite admits one writer.
    """
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(select(func.pg_advisory_xact_lock(MIGRATE_LOCK)))
        await conn.run_sync(lambda sync_conn: command.upgrade(alembic_config(sync_conn), "head"))


def head_revision() -> str:
    """The newest migration's revision (what ``upgrade_to_head`` brings a database to)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations folder has no revision"
    return head


async def current_revision(engine: AsyncEngine) -> str | None:
    """The revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    async with engine.connect() as conn:
        return await conn.run_sync(
            lambda sync_conn: MigrationContext.configure(sync_conn).get_current_revision()
        )
