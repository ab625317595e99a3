"""Chats and their subscriptions.

Contract: every method runs in its own short transaction; datetimes in and
out are aware UTC; a chat is addressed by its internal ``id`` except where a
:class:`ChatKey` (Telegram chat id + forum thread) is the natural handle.
Deleting a chat deletes its subscriptions, digests and deliveries.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.clock import Clock, utcnow
from bot.store.dialect import IN_LIST_CHUNK, insert_ignore
from bot.store.records import Chat, ChatCounts, ChatKey
from bot.store.schema import chat_sources, chats, subscriptions

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
        "digest_days",
        "quiet_start",
        "quiet_end",
        "added_by",
        "target_chat_id",
        "language",
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
        language: str = "en",
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
            "language": language,
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

    async def quiet_over(self, now: datetime, limit: int = 1000) -> list[Chat]:
        """Active, unpaused instant chats whose quiet hours ended (``next_digest_at`` is
        then the end of the quiet hours that held their stories back)."""
        where = and_(
            chats.c.mode == "instant",
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

    async def count_by_state(self) -> ChatCounts:
        """Subscribers getting digests, paused by their users, and unreachable (blocked)."""
        stmt = select(chats.c.is_active, chats.c.is_paused, func.count().label("n")).group_by(
            chats.c.is_active, chats.c.is_paused
        )
        counts = {"active": 0, "paused": 0, "blocked": 0}
        async with self._engine.connect() as conn:
            for row in await conn.execute(stmt):
                state = "blocked" if not row.is_active else "paused" if row.is_paused else "active"
                counts[state] += row.n
        return ChatCounts(**counts)

    async def reachable_ids(self) -> list[int]:
        """One subscriber row per active, unpaused Telegram chat (its first: a forum that
        subscribed in several threads is one chat), for messages to every chat."""
        stmt = (
            select(func.min(chats.c.id).label("id"))
            .where(chats.c.is_active.is_(True), chats.c.is_paused.is_(False))
            .group_by(chats.c.telegram_id)
            .order_by(func.min(chats.c.id))
        )
        async with self._engine.connect() as conn:
            return list((await conn.execute(stmt)).scalars())

    async def target_title(self, key: ChatKey) -> str | None:
        """The title of the active channel the chat at ``key`` manages now, or None
        (one light query: it heads every reply in a private chat)."""
        target = chats.alias("target")
        stmt = (
            select(target.c.title)
            .join(chats, chats.c.target_chat_id == target.c.id)
            .where(
                chats.c.telegram_id == key.telegram_id,
                chats.c.thread_id == key.thread_id,
                target.c.kind == "channel",
                target.c.is_active.is_(True),
            )
        )
        async with self._engine.connect() as conn:
            return (await conn.execute(stmt)).scalar()

    async def channels_added_by(self, user_id: int) -> list[Chat]:
        """The active channels this user made the bot an admin of, by title."""
        where = and_(
            chats.c.kind == "channel", chats.c.added_by == user_id, chats.c.is_active.is_(True)
        )
        async with self._engine.connect() as conn:
            return await _load(conn, where, order=chats.c.title)

    async def count_by_topic(self) -> dict[str, int]:
        """How many chats subscribe to each topic."""
        chat_count = func.count().label("chat_count")
        stmt = select(subscriptions.c.topic_id, chat_count).group_by(subscriptions.c.topic_id)
        async with self._engine.connect() as conn:
            return {row.topic_id: row.chat_count for row in await conn.execute(stmt)}


async def _topics_of(conn: AsyncConnection, chat_id: int) -> list[str]:
    stmt = (
        select(subscriptions.c.topic_id)
        .where(subscriptions.c.chat_id == chat_id)
        .order_by(subscriptions.c.created_at, subscriptions.c.topic_id)
    )
    return list((await conn.execute(stmt)).scalars())


async def _load(
    conn: AsyncConnection, where: Any, *, order: Any = None, limit: int | None = None
) -> list[Chat]:
    stmt = select(chats).where(where)
    if order is not None:
        stmt = stmt.order_by(order)
    if limit is not None:
        stmt = stmt.limit(limit)
    rows = (await conn.execute(stmt)).all()
    ids = [row.id for row in rows]
    topics = await _topics_for(conn, ids)
    feeds = await _own_feeds_for(conn, ids)
    return [_chat(row, topics.get(row.id, ()), feeds.get(row.id, ())) for row in rows]


async def _topics_for(conn: AsyncConnection, chat_ids: list[int]) -> dict[int, tuple[str, ...]]:
    """Each chat's topics, in subscription order."""
    s = subscriptions.c
    return await _per_chat(conn, chat_ids, s.chat_id, s.topic_id, s.created_at)


async def _own_feeds_for(conn: AsyncConnection, chat_ids: list[int]) -> dict[int, tuple[int, ...]]:
    """The ids of the chat-added sources each chat follows, oldest first."""
    c = chat_sources.c
    return await _per_chat(conn, chat_ids, c.chat_id, c.source_id, c.created_at)


async def _per_chat(
    conn: AsyncConnection,
    chat_ids: list[int],
    chat_column: Any,
    value_column: Any,
    since_column: Any,
) -> dict[int, tuple[Any, ...]]:
    """``value_column`` of each chat's rows, oldest first (ties by value)."""
    found: dict[int, list[Any]] = {}
    for start in range(0, len(chat_ids), IN_LIST_CHUNK):
        stmt = (
            select(chat_column.label("chat_id"), value_column.label("value"))
            .where(chat_column.in_(chat_ids[start : start + IN_LIST_CHUNK]))
            .order_by(since_column, value_column)
        )
        for row in await conn.execute(stmt):
            found.setdefault(row.chat_id, []).append(row.value)
    return {chat_id: tuple(values) for chat_id, values in found.items()}


def _chat(row: Row[Any], topics: tuple[str, ...], own_feeds: tuple[int, ...] = ()) -> Chat:
    return Chat(
        id=row.id,
        telegram_id=row.telegram_id,
        thread_id=row.thread_id,
        kind=row.kind,
        title=row.title,
        timezone=row.timezone,
        digest_times=tuple(row.digest_times),
        mode=row.mode,
        is_paused=row.is_paused,
        is_active=row.is_active,
        include_words=tuple(row.include_words),
        exclude_words=tuple(row.exclude_words),
        topics=topics,
        next_digest_at=row.next_digest_at,
        last_digest_at=row.last_digest_at,
        cursor_article_id=row.cursor_article_id,
        created_at=row.created_at,
        digest_days=tuple(int(day) for day in row.digest_days or ""),
        quiet_hours=(row.quiet_start, row.quiet_end) if row.quiet_start and row.quiet_end else None,
        own_feeds=own_feeds,
        added_by=row.added_by,
        target_chat_id=row.target_chat_id,
        language=row.language,
    )
