"""News sources and their fetch state (ETag, Last-Modified, next poll, errors).

Contract: the poll plan lives here (``next_poll_at``), so a restart resumes
it; recording an outcome never raises for an unknown source id (it is a
no-op), and datetimes are aware UTC.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, String, bindparam, cast, delete, exists, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock, utcnow
from bot.redact import redact
from bot.store.dialect import insert_ignore
from bot.store.records import Source
from bot.store.schema import chat_sources, sources


@dataclass(frozen=True, slots=True)
class PollRecord:
    """What one poll of a source leaves in its row; ``error`` is None after a success."""

    source_id: int
    polled_at: datetime
    next_poll_at: datetime
    error: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    redirect_url: str | None = None


class SourceRepository:
    """Reads and writes the ``sources`` table."""

    def __init__(
        self, engine: AsyncEngine, write_turn: asyncio.Lock, clock: Clock = utcnow
    ) -> None:
        self._engine = engine
        self._write_turn = write_turn  # Store.write_turn
        self._clock = clock

    async def sync(self, declared: Sequence[tuple[str, str, str]]) -> list[Source]:
        """Make the table match the configured (name, url, kind) list.

        New sources are due at once; a changed URL resets the fetch state;
        sources no longer configured are removed with their articles. Feeds
        chats added are left alone, except that one holding a configured name
        gives it up (it is renamed "<name> #<id>").
        """
        now = self._clock()
        names = [name for name, _, _ in declared]
        async with self._write_turn, self._engine.begin() as conn:
            await conn.execute(
                update(sources)
                .where(sources.c.origin == "chat", sources.c.name.in_(names))
                .values(
                    name=func.substr(sources.c.name, 1, 200) + " #" + cast(sources.c.id, String)
                )
            )
            rows = [
                {"name": n, "url": u, "kind": k, "next_poll_at": now, "created_at": now}
                for n, u, k in declared
            ]
            if rows:
                await conn.execute(insert_ignore(conn.dialect, sources, ["name"]), rows)
            for name, url, kind in declared:
                await conn.execute(
                    update(sources)
                    .where(
                        sources.c.name == name,
                        sources.c.url != url,
                        sources.c.origin == "catalogue",
                    )
                    .values(url=url, kind=kind, etag=None, last_modified=None, next_poll_at=now)
                )
            await conn.execute(
                delete(sources).where(sources.c.name.not_in(names), sources.c.origin == "catalogue")
            )
        return await self.all()

    async def all(self) -> list[Source]:
        """Every source that is polled (the catalogue, and chat-added feeds someone follows),
        by name."""
        stmt = select(sources).where(_POLLED).order_by(sources.c.name)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [source_from_row(r) for r in rows]

    async def get(self, source_id: int) -> Source | None:
        """The source with this id, or None."""
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(sources).where(sources.c.id == source_id))).first()
        return source_from_row(row) if row else None

    async def claim_due(self, now: datetime, lease: timedelta, limit: int = 10_000) -> list[Source]:
        """Take the sources whose next poll time has come, most overdue first, for one poll.

        The claim is the plan itself: a claimed source's ``next_poll_at`` moves
        to ``now + lease``, so no other poller takes it, and if this one dies
        the source is due again when the lease ends. Recording the poll sets
        the real next time. Pollers in other processes skip rows being claimed
        (``SKIP LOCKED`` on PostgreSQL; SQLite admits one writer at a time).
        """
        pick = (
            select(sources.c.id)
            .where(sources.c.next_poll_at <= now, _POLLED)
            .order_by(sources.c.next_poll_at)
            .limit(limit)
        )
        async with self._write_turn, self._engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            ids = list((await conn.execute(pick)).scalars())
            if not ids:
                return []
            stmt = (
                update(sources)
                .where(sources.c.id.in_(ids))
                .values(next_poll_at=now + lease)
                .returning(*sources.c)
            )
            rows = (await conn.execute(stmt)).all()
        by_id = {row.id: source_from_row(row) for row in rows}
        return [by_id[i] for i in ids if i in by_id]

    async def record_polls(self, polls: Sequence[PollRecord]) -> None:
        """Record what polling each source gave, in one transaction: after a success its
        validators (ETag, Last-Modified) and a cleared error count, after a failure the
        error, one more in the count; either way the next poll time."""
        successes = [_success_values(p) for p in polls if p.error is None]
        failures = [_failure_values(p) for p in polls if p.error is not None]
        if not polls:
            return
        async with self._write_turn, self._engine.begin() as conn:
            if successes:
                await conn.execute(_RECORD_SUCCESS, successes)
            if failures:
                await conn.execute(_RECORD_FAILURE, failures)

    async def make_due(self, source_id: int | None = None) -> None:
        """Make one source (or all) due now, e.g. for ``newsbot ingest``."""
        stmt = update(sources).values(next_poll_at=self._clock())
        if source_id is not None:
            stmt = stmt.where(sources.c.id == source_id)
        async with self._write_turn, self._engine.begin() as conn:
            await conn.execute(stmt)


# The catalogue, and feeds chats added while at least one chat follows them.
_POLLED = or_(
    sources.c.origin == "catalogue",
    exists().where(chat_sources.c.source_id == sources.c.id),
)

_RECORD_SUCCESS = (
    update(sources)
    .where(sources.c.id == bindparam("source_id"))
    .values(
        etag=bindparam("etag"),
        last_modified=bindparam("last_modified"),
        next_poll_at=bindparam("next_poll_at"),
        error_count=0,
        last_error=None,
        last_success_at=bindparam("now"),
        last_polled_at=bindparam("now"),
        redirect_url=bindparam("redirect_url"),
    )
)
_RECORD_FAILURE = (
    update(sources)
    .where(sources.c.id == bindparam("source_id"))
    .values(
        error_count=sources.c.error_count + 1,
        last_error=bindparam("error"),
        last_polled_at=bindparam("now"),
        next_poll_at=bindparam("next_poll_at"),
    )
)


def _success_values(poll: PollRecord) -> dict[str, Any]:
    return {
        "source_id": poll.source_id,
        "etag": poll.etag,
        "last_modified": poll.last_modified,
        "next_poll_at": poll.next_poll_at,
        "now": poll.polled_at,
        "redirect_url": poll.redirect_url,
    }


def _failure_values(poll: PollRecord) -> dict[str, Any]:
    return {
        "source_id": poll.source_id,
        "error": redact(poll.error or "")[:2000],  # a feed URL's password is not kept
        "now": poll.polled_at,
        "next_poll_at": poll.next_poll_at,
    }


def source_from_row(row: Row[Any]) -> Source:
    """Build a Source value from a ``sources`` row."""
    return Source(
        id=row.id,
        name=row.name,
        url=row.url,
        kind=row.kind,
        etag=row.etag,
        last_modified=row.last_modified,
        next_poll_at=row.next_poll_at,
        error_count=row.error_count,
        last_error=row.last_error,
        last_success_at=row.last_success_at,
        last_polled_at=row.last_polled_at,
        redirect_url=row.redirect_url,
        origin=row.origin,
    )
