"""The store: every durable fact of newsbot, behind small repositories.

``open_store(database_url)`` is the single factory; it returns a
:class:`Store` whose repositories share one engine.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock, utcnow
from bot.store.articles import ArticleRepository
from bot.store.chat_sources import ChatSourceRepository
from bot.store.chats import ChatRepository
from bot.store.connect_errors import database_error
from bot.store.engine import make_engine
from bot.store.inbox import InboxRepository
from bot.store.leases import LeaseRepository
from bot.store.migrate import upgrade_to_head
from bot.store.outbox import OutboxRepository
from bot.store.sources import SourceRepository
from bot.store.state import StateRepository


@dataclass(frozen=True, slots=True)
class Store:
    """The repositories, sharing one engine.

    ``write_turn``: the writers of this process take turns on it. On SQLite that
    is every writer (the database admits one at a time; queueing here beats
    racing in SQLite's busy handler, where a waiter can lose its turn until its
    busy timeout expires: sources failed with "database is locked" in the
    1,000-feed cold cycle). On PostgreSQL the article and source writers (the
    article writers queue for the article write lock anyway; waiting here holds
    no pooled connection meanwhile).
    """

    engine: AsyncEngine
    write_turn: asyncio.Lock
    chats: ChatRepository
    sources: SourceRepository
    articles: ArticleRepository
    outbox: OutboxRepository
    state: StateRepository
    inbox: InboxRepository
    leases: LeaseRepository
    chat_sources: ChatSourceRepository

    async def close(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()


async def open_store(database_url: str, *, clock: Clock = utcnow, migrate: bool = True) -> Store:
    """Create the engine, apply migrations (unless told not to) and build the repositories.

    A database that cannot be opened (missing, refused, unwritable, wrong credentials)
    raises :class:`bot.errors.DatabaseError` saying which and the fix.
    """
    try:
        engine = make_engine(database_url)
    except OSError as err:  # the SQLite file's folder could not be made
        raise database_error(err, database_url) from err
    try:
        if migrate:
            await upgrade_to_head(engine)
        else:
            async with engine.connect():
                pass  # connect now, so a wrong URL fails here and not mid-command
    except (SQLAlchemyError, OSError) as err:
        await engine.dispose()
        raise database_error(err, database_url) from err
    write_turn = asyncio.Lock()
    return Store(
        engine=engine,
        write_turn=write_turn,
        chats=ChatRepository(engine, clock),
        sources=SourceRepository(engine, write_turn, clock),
        articles=ArticleRepository(engine, write_turn),
        outbox=OutboxRepository(engine, clock),
        state=StateRepository(engine, clock),
        inbox=InboxRepository(engine, write_turn, clock),
        leases=LeaseRepository(engine, write_turn),
        chat_sources=ChatSourceRepository(engine, write_turn, clock),
    )


__all__ = ["Store", "open_store"]
