"""The few statements that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

# Ids per IN (...) list: far below SQLite's and asyncpg's bind-parameter limits.
IN_LIST_CHUNK = 500


def insert_ignore(
    dialect: Dialect, table: Table, index_elements: Sequence[str] | None = None
) -> Any:
    """``INSERT ... ON CONFLICT DO NOTHING`` for the dialect in use."""
    module = postgresql if dialect.name == "postgresql" else sqlite
    return module.insert(table).on_conflict_do_nothing(index_elements=index_elements)


def upsert(
    dialect: Dialect, table: Table, index_elements: Sequence[str], update: Sequence[str]
) -> Any:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE SET col = excluded.col`` for the dialect."""
    module = postgresql if dialect.name == "postgresql" else sqlite
    stmt = module.insert(table)
    return stmt.on_conflict_do_update(
        index_elements=index_elements,
        set_={name: stmt.excluded[name] for name in update},
    )


# Any fixed 64-bit number; it names the lock that orders article writes.
ARTICLE_WRITE_LOCK = 0x6E657773_62_6F74


async def lock_article_writes(conn: AsyncConnection) -> None:
    """Make article ids commit in id order, so readers always see a prefix of ids.

    A chat's cursor is an article id: on PostgreSQL two concurrent writers
    could otherwise commit id 101 before id 100, and a digest planned between
    the two commits would move the cursor past 100 for good. A transaction
    lock makes the (short) article-writing transactions take turns. SQLite
    needs nothing: ``BEGIN IMMEDIATE`` already admits one writer at a time.
    """
    if conn.dialect.name == "postgresql":
        await conn.execute(select(func.pg_advisory_xact_lock(ARTICLE_WRITE_LOCK)))
