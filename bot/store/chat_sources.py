"""Feeds chats added by URL ("My feeds"), and which chat follows which.

Contract: a URL is one source however many chats add it (``sources.url_key``,
unique, is a hash of the URL); following and unfollowing are idempotent; a
chat follows at most the ``limit`` given to :meth:`ChatSourceRepository.follow`.
A source nobody follows stays in the table (re-adding it keeps its fetch
state and articles) but is not polled (``SourceRepository.due``). Datetimes
are aware UTC.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import httpx
from sqlalchemy import delete, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.clock import Clock, utcnow
from bot.store.records import Source
from bot.store.schema import articles, chat_sources, sources
from bot.store.sources import source_from_row

NAME_MAX_CHARS = 200  # sources.name is VARCHAR(255): room for " (host)" or " #id"

FollowOutcome = Literal["added", "already", "full"]


@dataclass(frozen=True, slots=True)
class OwnFeed:
    """One of a chat's own feeds, as /feeds lists it."""

    source_id: int
    title: str
    url: str
    last_error: str | None
    last_success_at: datetime | None
    category: str = ""


@dataclass(frozen=True, slots=True)
class Followed:
    """What :meth:`ChatSourceRepository.follow` did; ``source`` is None only when full."""

    outcome: FollowOutcome
    source: Source | None
    is_new_source: bool = False


def url_key(url: str) -> str:
    """The key of a feed URL: a hash of its normal form (host lower-cased, default port
    dropped), so "HTTPS://Example.com:443/feed" and "https://example.com/feed" are one."""
    try:
        parsed = httpx.URL(url)
        if parsed.port == _DEFAULT_PORTS.get(parsed.scheme):
            parsed = parsed.copy_with(port=None)
        normal = str(parsed)
    except httpx.InvalidURL:
        normal = url
    return hashlib.sha256(normal.encode()).hexdigest()


_DEFAULT_PORTS = {"http": 80, "https": 443}


class ChatSourceRepository:
    """Reads and writes chat-added sources and ``chat_sources``."""

    def __init__(
        self, engine: AsyncEngine, write_turn: asyncio.Lock, clock: Clock = utcnow
    ) -> None:
        self._engine = engine
        self._write_turn = write_turn  # Store.write_turn
        self._clock = clock

    async def find(self, url: str) -> Source | None:
        """The chat-added source of this URL, or None."""
        async with self._engine.connect() as conn:
            return await _by_key(conn, url_key(url))

    async def catalogue_with_url(self, url: str) -> Source | None:
        """The catalogue source with exactly this URL, or None."""
        stmt = select(sources).where(sources.c.origin == "catalogue", sources.c.url == url)
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt.limit(1))).first()
        return source_from_row(row) if row else None

    async def follow(
        self,
        chat_id: int,
        url: str,
        title: str,
        *,
        limit: int,
        next_poll_at: datetime,
        category: str = "",
    ) -> Followed:
        """Make the chat follow the feed at ``url``, creating its source when new.

        ``title`` names a new source (made unique); ``next_poll_at`` is its first
        poll time; ``category`` is the chat's folder for it. Nothing changes when
        the chat follows it already ("already") or already follows ``limit``
        feeds ("full").
        """
        key = url_key(url)
        now = self._clock()
        async with self._write_turn, self._engine.begin() as conn:
            source = await _by_key(conn, key)
            if source is not None and await _follows(conn, chat_id, source.id):
                return Followed("already", source)
            if await _count(conn, chat_id) >= limit:
                return Followed("full", None)
            is_new = source is None
            if source is None:
                name = await _free_name(conn, title, url, key)
                values = {
                    "name": name,
                    "url": url,
                    "kind": "feed",
                    "origin": "chat",
                    "url_key": key,
                    "next_poll_at": next_poll_at,
                    "created_at": now,
                }
                await conn.execute(insert(sources).values(**values))
                source = await _by_key(conn, key)
                assert source is not None  # just inserted
            row = {
                "chat_id": chat_id,
                "source_id": source.id,
                "created_at": now,
                "category": category[:255],
            }
            await conn.execute(insert(chat_sources).values(**row))
        return Followed("added", source, is_new_source=is_new)

    async def unfollow(self, chat_id: int, source_id: int) -> bool:
        """Stop the chat following the source; False when it did not."""
        stmt = delete(chat_sources).where(
            chat_sources.c.chat_id == chat_id, chat_sources.c.source_id == source_id
        )
        async with self._write_turn, self._engine.begin() as conn:
            result = await conn.execute(stmt)
        return bool(result.rowcount)

    async def feeds_of(self, chat_id: int) -> list[OwnFeed]:
        """The chat's own feeds, in the order it added them."""
        stmt = (
            select(
                sources.c.id,
                sources.c.name,
                sources.c.url,
                sources.c.last_error,
                sources.c.last_success_at,
                chat_sources.c.category,
            )
            .join(chat_sources, chat_sources.c.source_id == sources.c.id)
            .where(chat_sources.c.chat_id == chat_id)
            .order_by(chat_sources.c.created_at, sources.c.id)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            OwnFeed(r.id, r.name, r.url, r.last_error, r.last_success_at, r.category) for r in rows
        ]

    async def followers(self, source_id: int) -> int:
        """How many chats follow the source."""
        stmt = select(func.count()).where(chat_sources.c.source_id == source_id)
        async with self._engine.connect() as conn:
            return (await conn.execute(stmt)).scalar() or 0

    async def latest_headline(self, source_id: int) -> str | None:
        """The headline of the source's most recently published article, or None."""
        stmt = (
            select(articles.c.headline)
            .where(articles.c.source_id == source_id)
            .order_by(articles.c.published_at.desc(), articles.c.id.desc())
            .limit(1)
        )
        async with self._engine.connect() as conn:
            return (await conn.execute(stmt)).scalar()


async def _by_key(conn: AsyncConnection, key: str) -> Source | None:
    row = (await conn.execute(select(sources).where(sources.c.url_key == key))).first()
    return source_from_row(row) if row else None


async def _follows(conn: AsyncConnection, chat_id: int, source_id: int) -> bool:
    stmt = select(chat_sources.c.source_id).where(
        chat_sources.c.chat_id == chat_id, chat_sources.c.source_id == source_id
    )
    return (await conn.execute(stmt)).first() is not None


async def _count(conn: AsyncConnection, chat_id: int) -> int:
    stmt = select(func.count()).where(chat_sources.c.chat_id == chat_id)
    return (await conn.execute(stmt)).scalar() or 0


async def _free_name(conn: AsyncConnection, title: str, url: str, key: str) -> str:
    """A source name nobody uses: the feed's title, else with its host, else with a key."""
    base = title.strip()[:NAME_MAX_CHARS] or _host(url)
    candidates = [base, f"{base} ({_host(url)})"]
    stmt = select(sources.c.name).where(sources.c.name.in_(candidates))
    taken = set((await conn.execute(stmt)).scalars())
    free = [name for name in candidates if name not in taken]
    return free[0] if free else f"{candidates[1]} #{key[:8]}"


def _host(url: str) -> str:
    try:
        return httpx.URL(url).host or url[:NAME_MAX_CHARS]
    except httpx.InvalidURL:
        return url[:NAME_MAX_CHARS]
