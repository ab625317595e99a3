"""Leases (a role held by one process at a time) and heartbeats (who is running).

A lease row names its holder and when it expires. ``acquire`` takes a free or
expired lease, or renews one already held, in one statement (an upsert whose
update applies only then), so two processes can never both hold it. The
holder renews well before expiry; a process that dies simply stops renewing
and another takes over once the lease has expired.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.dialect import upsert
from bot.store.engine import is_sqlite
from bot.store.schema import heartbeats, leases


@dataclass(frozen=True, slots=True)
class Lease:
    """Who holds a role, until when."""

    name: str
    owner: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """A running process: its roles, when it started and was last seen."""

    owner: str
    roles: str
    started_at: datetime
    seen_at: datetime


class LeaseRepository:
    """Reads and writes ``leases`` and ``heartbeats``."""

    def __init__(self, engine: AsyncEngine, write_turn: asyncio.Lock | None = None) -> None:
        self._engine = engine
        # Store.write_turn: on SQLite every writer takes it (the heartbeat writes every 10 s).
        self._write_turn = write_turn

    def _turn(self) -> contextlib.AbstractAsyncContextManager[object]:
        if self._write_turn is not None and is_sqlite(self._engine):
            return self._write_turn
        return contextlib.nullcontext()

    async def acquire(self, name: str, owner: str, now: datetime, duration: timedelta) -> bool:
        """Take or renew the lease ``name`` for ``owner`` until ``now + duration``.

        False when another owner holds it and it has not expired.
        """
        module = postgresql if self._engine.dialect.name == "postgresql" else sqlite
        insert = module.insert(leases).values(
            name=name, owner=owner, expires_at=now + duration, acquired_at=now
        )
        taken_over = leases.c.owner != insert.excluded.owner
        stmt = insert.on_conflict_do_update(
            index_elements=["name"],
            set_={
                "owner": insert.excluded.owner,
                "expires_at": insert.excluded.expires_at,
                # A renewal keeps the time the lease was first taken.
                "acquired_at": case(
                    (taken_over, insert.excluded.acquired_at), else_=leases.c.acquired_at
                ),
            },
            where=or_(leases.c.owner == insert.excluded.owner, leases.c.expires_at < now),
        ).returning(leases.c.owner)
        async with self._engine.begin() as conn:
            return (await conn.execute(stmt)).scalar() == owner

    async def release(self, name: str, owner: str) -> None:
        """Give the lease up (only if ``owner`` holds it), so a standby takes over at once."""
        stmt = delete(leases).where(leases.c.name == name, leases.c.owner == owner)
        async with self._engine.begin() as conn:
            await conn.execute(stmt)

    async def holders(self) -> list[Lease]:
        """Every lease row, expired ones included, by name."""
        stmt = select(leases.c.name, leases.c.owner, leases.c.expires_at).order_by(leases.c.name)
        async with self._engine.connect() as conn:
            return [Lease(r.name, r.owner, r.expires_at) for r in await conn.execute(stmt)]

    async def beat(self, owner: str, roles: str, now: datetime, started_at: datetime) -> None:
        """Record that ``owner`` (running ``roles``) is alive now."""
        stmt = upsert(self._engine.dialect, heartbeats, ["owner"], ["roles", "seen_at"])
        values = {"owner": owner, "roles": roles, "started_at": started_at, "seen_at": now}
        async with self._turn(), self._engine.begin() as conn:
            await conn.execute(stmt.values(**values))

    async def prune(self, seen_before: datetime) -> int:
        """Forget processes not seen since ``seen_before`` (crashed ones leave their row)."""
        stmt = delete(heartbeats).where(heartbeats.c.seen_at < seen_before)
        async with self._turn(), self._engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount or 0

    async def processes(self, seen_since: datetime) -> list[Heartbeat]:
        """Processes seen since ``seen_since``, oldest first."""
        stmt = (
            select(heartbeats)
            .where(heartbeats.c.seen_at >= seen_since)
            .order_by(heartbeats.c.started_at)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [Heartbeat(r.owner, r.roles, r.started_at, r.seen_at) for r in rows]

    async def forget(self, owner: str) -> None:
        """Remove a process's heartbeat (it stopped cleanly)."""
        async with self._engine.begin() as conn:
            await conn.execute(delete(heartbeats).where(heartbeats.c.owner == owner))
