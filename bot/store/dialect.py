"""The few statements that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache, partial
from typing import Any

from sqlalchemy import Table, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.types import UTCDateTime


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


# --- driver SQL helpers still used by chats.py and digest_writes.py ------------------
# Not used by the article or source store; to go once those modules use SQLAlchemy
# statements too.

MAX_BIND_PARAMS = 30_000  # below SQLite's 32,766 and PostgreSQL's 32,767 per statement


def placeholders(dialect: Dialect, rows: int, columns: int) -> str:
    """``(?, ?), (?, ?)`` (qmark) or ``($1, $2), ($3, $4)`` (asyncpg's numeric_dollar)
    for ``rows`` rows of ``columns`` parameters, in the driver's own style.
    """
    return _placeholders(dialect.paramstyle, rows, columns)


@lru_cache(maxsize=64)
def _placeholders(style: str, rows: int, columns: int) -> str:
    if style == "qmark":
        one = "(" + ", ".join(["?"] * columns) + ")"
        return ", ".join([one] * rows)
    if style == "format":
        one = "(" + ", ".join(["%s"] * columns) + ")"
        return ", ".join([one] * rows)
    if style == "numeric_dollar":
        numbers = iter(range(1, rows * columns + 1))
        return ", ".join(
            "(" + ", ".join(f"${next(numbers)}" for _ in range(columns)) + ")" for _ in range(rows)
        )
    raise NotImplementedError(f"paramstyle {style!r} is not supported")


def row_placeholders(dialect: Dialect, columns: int) -> list[str]:
    """One placeholder per parameter of a single-row statement, in the driver's style."""
    return placeholders(dialect, 1, columns)[1:-1].split(", ")


def datetime_binder(dialect: Dialect) -> Callable[[datetime | None], Any]:
    """What a ``UTCDateTime`` column sends the driver for a datetime, as SQLAlchemy
    would bind it (naive-UTC text on SQLite, aware UTC on PostgreSQL; a naive
    datetime raises ValueError), for parameters passed as driver SQL.
    """
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return _unchanged
    if dialect.name == "sqlite":
        return partial(_sqlite_text, general=process)
    return process


def _sqlite_text(value: datetime | None, *, general: Callable[[datetime | None], Any]) -> Any:
    """SQLAlchemy's SQLite text of a UTC datetime ("2024-05-14 08:16:00.000000": the year
    4 digits, always 6 fraction digits) written by isoformat in C; other values take the
    general path (UTCDateTime.process_bind_param, then the dialect's %-format).
    """
    if value is not None and value.tzinfo is UTC:
        return value.replace(tzinfo=None).isoformat(" ", "microseconds")
    return general(value)


def _unchanged(value: datetime | None) -> Any:
    return value
