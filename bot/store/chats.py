"""Chats and their subscriptions.

Contract: every method runs in its own short transaction; datetimes in and
out are aware UTC; a chat is addressed by its internal ``id`` except where a
:class:`ChatKey` (Telegram chat id + forum thread) is the natural handle.
Deleting a chat deletes its subscriptions, digests and deliveries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Row, Text, and_, cast, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.clock import Clock, utcnow
from bot.store.dialect import MAX_BIND_PARAMS, insert_ignore, placeholders
from bot.store.records import Chat, ChatKey
from bot.store.schema import chats, subscriptions

UPDATABLE = frozenset(
    {
        "kind",
        "title",
        "timezone",
        "digest_times",
        "mode",
        "is_paused",
        "is_active",
        "include_words",
        "exclude_words",
        "next_digest_at",
        "last_digest_at",
        "cursor_article_id",
    }
)


class ChatRepository:
    """Reads and writes chats (subscribers) and their topic subscriptions."""

    def __init__(self, engine: AsyncEngine, clock: Clock = utcnow) -> None:
        self._engine = engine
        self._clock = clock

    async def get(self, key: ChatKey) -> Chat | None:
        """The chat at this Telegram id and thread, or None."""
        where = and_(chats.c.telegram_id == key.telegram_id, chats.c.thread_id == key.thread_id)
        async with self._engine.connect() as conn:
            found = await _load(conn, where)
        return found[0] if found else None

    async def get_by_id(self, chat_id: int) -> Chat | None:
        """The chat with this internal id, or None."""
        async with self._engine.connect() as conn:
            found = await _load(conn, chats.c.id == chat_id)
        return found[0] if found else None

    async def ensure(
        self,
        key: ChatKey,
        *,
        kind: str,
        title: str,
        timezone: str,
        digest_times: Sequence[str],
        next_digest_at: datetime | None,
    ) -> Chat:
        """Return the chat, creating it with these defaults when it is new."""
        now = self._clock()
        values = {
            "telegram_id": key.telegram_id,
            "thread_id": key.thread_id,
            "kind": kind,
            "title": title[:255],
            "timezone": timezone,
            "digest_times": list(digest_times),
            "mode": "scheduled",
            "is_paused": False,
            "is_active": True,
            "include_words": [],
            "exclude_words": [],
            "next_digest_at": next_digest_at,
            "cursor_article_id": 0,
            "created_at": now,
            "updated_at": now,
        }
        async with self._engine.begin() as conn:
            stmt = insert_ignore(conn.dialect, chats, ["telegram_id", "thread_id"])
            await conn.execute(stmt.values(**values))
        chat = await self.get(key)
        assert chat is not None  # just inserted or already there
        return chat

    async def update(self, chat_id: int, **fields: Any) -> Chat | None:
        """Change some fields of a chat; returns the updated chat (None if gone)."""
        unknown = set(fields) - UPDATABLE
        if unknown:
            raise ValueError(f"cannot update chat fields {sorted(unknown)}")
        values = {k: list(v) if isinstance(v, tuple) else v for k, v in fields.items()}
        async with self._engine.begin() as conn:
            await conn.execute(
                update(chats)
                .where(chats.c.id == chat_id)
                .values(**values, updated_at=self._clock())
            )
        return await self.get_by_id(chat_id)

    async def add_topics(self, chat_id: int, topic_ids: Iterable[str]) -> tuple[str, ...]:
        """Subscribe; returns the topics that were not subscribed before."""
        wanted = list(dict.fromkeys(topic_ids))
        async with self._engine.begin() as conn:
            before = set(await _topics_of(conn, chat_id))
            new = [t for t in wanted if t not in before]
            if new:
                rows = [
                    {"chat_id": chat_id, "topic_id": t, "created_at": self._clock()} for t in new
                ]
                await conn.execute(insert_ignore(conn.dialect, subscriptions), rows)
        return tuple(new)

    async def remove_topics(self, chat_id: int, topic_ids: Iterable[str] | None) -> tuple[str, ...]:
        """Unsubscribe (None = all); returns the topics that were removed."""
        async with self._engine.begin() as conn:
            before = await _topics_of(conn, chat_id)
            gone = before if topic_ids is None else [t for t in before if t in set(topic_ids)]
            if gone:
                await conn.execute(
                    delete(subscriptions).where(
                        subscriptions.c.chat_id == chat_id, subscriptions.c.topic_id.in_(gone)
                    )
                )
        return tuple(gone)

    async def delete(self, chat_id: int) -> None:
        """Erase the chat and everything stored about it."""
        async with self._engine.begin() as conn:
            await conn.execute(delete(chats).where(chats.c.id == chat_id))

    async def migrate(self, old_telegram_id: int, new_telegram_id: int) -> int:
        """Move every chat row (all threads) of a group to its new supergroup id.

        If rows already exist under the new id (the bot was used there too),
        those keep their settings and the old rows are dropped. Returns the
        number of rows moved.
        """
        async with self._engine.begin() as conn:
            taken = set(
                (
                    await conn.execute(
                        select(chats.c.thread_id).where(chats.c.telegram_id == new_telegram_id)
                    )
                ).scalars()
            )
            if taken:
                await conn.execute(
                    delete(chats).where(
                        chats.c.telegram_id == old_telegram_id, chats.c.thread_id.in_(taken)
                    )
                )
            result = await conn.execute(
                update(chats)
                .where(chats.c.telegram_id == old_telegram_id)
                .values(telegram_id=new_telegram_id, kind="supergroup", updated_at=self._clock())
            )
        return result.rowcount or 0

    async def due(self, now: datetime, limit: int = 1000) -> list[Chat]:
        """Active, unpaused scheduled chats whose next digest time has come."""
        where = and_(
            chats.c.mode == "scheduled",
            chats.c.next_digest_at <= now,
            chats.c.is_active.is_(True),
            chats.c.is_paused.is_(False),
        )
        async with self._engine.connect() as conn:
            return await _load(conn, where, order=chats.c.next_digest_at, limit=limit)

    async def instant(self) -> list[Chat]:
        """Active, unpaused chats that want stories right after each poll."""
        where = and_(
            chats.c.mode == "instant", chats.c.is_active.is_(True), chats.c.is_paused.is_(False)
        )
        async with self._engine.connect() as conn:
            return await _load(conn, where, order=chats.c.id)

    async def all(self) -> list[Chat]:
        """Every chat (for tools and tests; not for hot paths)."""
        async with self._engine.connect() as conn:
            return await _load(conn, True, order=chats.c.id)

    async def count_by_topic(self) -> dict[str, int]:
        """How many chats subscribe to each topic."""
        stmt = select(subscriptions.c.topic_id, func.count()).group_by(subscriptions.c.topic_id)
        async with self._engine.connect() as conn:
            return {topic: n for topic, n in (await conn.execute(stmt)).all()}


async def _topics_of(conn: AsyncConnection, chat_id: int) -> list[str]:
    stmt = (
        select(subscriptions.c.topic_id)
        .where(subscriptions.c.chat_id == chat_id)
        .order_by(subscriptions.c.created_at, subscriptions.c.topic_id)
    )
    return list((await conn.execute(stmt)).scalars())


# JSON lists (times, words) are read as text and decoded once per distinct value:
# 100,000 due chats hold a handful of distinct lists, and json.loads was a tenth
# of a fan-out's time.
_JSON_LISTS = ("digest_times", "include_words", "exclude_words")
_CHAT_COLUMNS = [
    cast(column, Text).label(column.name) if column.name in _JSON_LISTS else column
    for column in chats.columns
    if column.name != "updated_at"  # not part of a Chat: one datetime less to parse per row
]


@lru_cache(maxsize=4096)
def _json_list(raw: str) -> tuple[str, ...]:
    return tuple(json.loads(raw))


async def _load(
    conn: AsyncConnection, where: Any, *, order: Any = None, limit: int | None = None
) -> list[Chat]:
    stmt = select(*_CHAT_COLUMNS).where(where)
    if order is not None:
        stmt = stmt.order_by(order)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = (await conn.execute(stmt)).all()
    topics = await _topics_for(conn, [row.id for row in rows])
    return [chat_from_row(row, topics.get(row.id, ())) for row in rows]


async def _topics_for(conn: AsyncConnection, chat_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """Each chat's topics, in subscription order. Driver SQL: the rows need no conversion,
    and SQLAlchemy's statement and result work was most of this for 100,000 chats."""
    found: dict[int, list[str]] = {}
    per_statement = MAX_BIND_PARAMS // 2
    for start in range(0, len(chat_ids), per_statement):
        chunk = chat_ids[start : start + per_statement]
        marks = placeholders(conn.dialect, 1, len(chunk))  # "(?, ?, ...)"
        sql = (
            f"SELECT chat_id, topic_id FROM subscriptions WHERE chat_id IN {marks}"
            " ORDER BY created_at, topic_id"
        )
        for chat_id, topic in await conn.exec_driver_sql(sql, tuple(chunk)):
            found.setdefault(chat_id, []).append(topic)
    return {k: tuple(v) for k, v in found.items()}


def chat_from_row(row: Row[Any], topics: tuple[str, ...]) -> Chat:
    """Build a Chat value from a row of ``_CHAT_COLUMNS`` (JSON lists as text) and its topics."""
    # By position (the columns are Chat's fields in order, less topics; a test pins
    # it): a fan-out builds 100,000 chats, and lookups by name were most of the cost.
    digest_times, mode, is_paused, is_active, include_words, exclude_words = row[6:12]
    return Chat(
        *row[:6],
        _json_list(digest_times),
        mode,
        is_paused,
        is_active,
        _json_list(include_words),
        _json_list(exclude_words),
        topics,
        *row[12:],
    )
