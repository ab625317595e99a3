"""The durable inbox: Telegram updates, stored before Telegram is told they arrived.

Protocol (see docs/design.md, "The inbox"):
1. The receiver writes a batch of updates in ONE transaction (``add``), keyed
   by ``update_id``: an update Telegram sends again is ignored. Only then does
   the next ``getUpdates`` offset move past the batch.
2. A chat may have at most ``per_chat_cap`` updates waiting; more are stored
   as 'dropped' (counted, never handled) and the chat is told to slow down.
3. The dispatcher takes a chat's waiting updates in ``update_id`` order,
   counts a run (``begin``) before the handler starts and marks the update
   'done' when it returns. After a crash the unfinished ones run again;
   ``attempts`` above 1 says a run was interrupted (a reply may repeat).
4. ``prune`` deletes handled rows older than Telegram keeps unconfirmed
   updates, so a resent update is always recognised.
Statuses: pending -> done | failed; dropped (over the cap, never handled). The
text of an update is kept only while it waits.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.clock import Clock, utcnow
from bot.store.dialect import IN_LIST_CHUNK, insert_ignore
from bot.store.engine import is_sqlite
from bot.store.schema import inbox


@dataclass(frozen=True, slots=True)
class IncomingUpdate:
    """One update as received: its id, its chat (0 for none) and Telegram's JSON."""

    update_id: int
    chat_id: int
    payload: str


@dataclass(frozen=True, slots=True)
class WaitingUpdate:
    """An update waiting for its handler."""

    update_id: int
    chat_id: int
    payload: str
    attempts: int


@dataclass(frozen=True, slots=True)
class AddResult:
    """What ``add`` stored: updates new to the inbox, and those dropped per chat."""

    stored: int
    dropped_by_chat: dict[int, int]


class InboxRepository:
    """Reads and writes ``inbox``."""

    def __init__(
        self, engine: AsyncEngine, write_turn: asyncio.Lock, clock: Clock = utcnow
    ) -> None:
        self._engine = engine
        self._write_turn = write_turn  # Store.write_turn: on SQLite every writer takes it
        self._clock = clock

    def _turn(self) -> contextlib.AbstractAsyncContextManager[object]:
        # Up to a handler per chat writes at once in a burst; on SQLite they queue here
        # rather than in SQLite's busy handler (see Store.write_turn).
        return self._write_turn if is_sqlite(self._engine) else contextlib.nullcontext()

    async def add(self, updates: Sequence[IncomingUpdate], *, per_chat_cap: int) -> AddResult:
        """Store a batch in one transaction; updates already stored are left as they are.

        A chat's updates beyond ``per_chat_cap`` waiting ones are stored as
        'dropped'. Chat 0 (updates without a chat) has no cap.
        """
        if not updates:
            return AddResult(0, {})
        now = self._clock()
        async with self._turn(), self._engine.begin() as conn:
            known = await _known_ids(conn, [u.update_id for u in updates])
            fresh = _unique(u for u in updates if u.update_id not in known)
            waiting = await _waiting_per_chat(conn, {u.chat_id for u in fresh})
            rows, dropped = _with_status(fresh, waiting, per_chat_cap, now)
            if rows:
                await conn.execute(insert_ignore(conn.dialect, inbox, ["update_id"]), rows)
        return AddResult(len(rows), dropped)

    async def waiting_chats(self, limit: int) -> list[int]:
        """Chats with waiting updates, the longest-waiting first."""
        first = func.min(inbox.c.update_id)
        stmt = (
            select(inbox.c.chat_id)
            .where(inbox.c.status == "pending")
            .group_by(inbox.c.chat_id)
            .order_by(first)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return list((await conn.execute(stmt)).scalars())

    async def waiting_for_chat(self, chat_id: int, limit: int) -> list[WaitingUpdate]:
        """A chat's waiting updates in ``update_id`` order."""
        stmt = (
            select(inbox.c.update_id, inbox.c.chat_id, inbox.c.payload, inbox.c.attempts)
            .where(inbox.c.status == "pending", inbox.c.chat_id == chat_id)
            .order_by(inbox.c.update_id)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [WaitingUpdate(r.update_id, r.chat_id, r.payload, r.attempts) for r in rows]

    async def begin(self, update_id: int) -> int:
        """Count a handler run of this update (committed before it starts); returns the runs."""
        stmt = (
            update(inbox)
            .where(inbox.c.update_id == update_id)
            .values(attempts=inbox.c.attempts + 1)
            .returning(inbox.c.attempts)
        )
        async with self._turn(), self._engine.begin() as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def unbegin(self, update_id: int) -> None:
        """Take back a run a clean stop cut short (it does not count as interrupted)."""
        stmt = (
            update(inbox)
            .where(inbox.c.update_id == update_id, inbox.c.attempts > 0)
            .values(attempts=inbox.c.attempts - 1)
        )
        async with self._turn(), self._engine.begin() as conn:
            await conn.execute(stmt)

    async def finish(self, update_id: int, *, status: str = "done") -> None:
        """Mark an update handled ('done'), or given up ('failed').

        Its text is blanked: only the id is needed to recognise a resend, and
        users' messages are not kept longer than it takes to answer them.
        """
        stmt = (
            update(inbox)
            .where(inbox.c.update_id == update_id)
            .values(status=status, done_at=self._clock(), payload="")
        )
        async with self._turn(), self._engine.begin() as conn:
            await conn.execute(stmt)

    async def prune(self, before: datetime) -> int:
        """Delete handled and dropped updates received before ``before``; returns rows deleted."""
        stmt = inbox.delete().where(inbox.c.status != "pending", inbox.c.received_at < before)
        async with self._engine.begin() as conn:
            return (await conn.execute(stmt)).rowcount or 0

    async def ping(self) -> None:
        """Read the inbox once; raises when the database does not answer (health checks)."""
        async with self._engine.connect() as conn:
            await conn.execute(select(inbox.c.update_id).limit(1))

    async def counts(self) -> dict[str, int]:
        """How many updates are in each status."""
        stmt = select(inbox.c.status, func.count().label("n")).group_by(inbox.c.status)
        async with self._engine.connect() as conn:
            return {row.status: row.n for row in (await conn.execute(stmt)).all()}

    async def repeated(self) -> int:
        """Updates whose handler ran more than once (a crash fell inside a run)."""
        stmt = select(func.count()).select_from(inbox).where(inbox.c.attempts > 1)
        async with self._engine.connect() as conn:
            return int((await conn.execute(stmt)).scalar_one())


async def _known_ids(conn: AsyncConnection, ids: list[int]) -> set[int]:
    found: set[int] = set()
    for start in range(0, len(ids), IN_LIST_CHUNK):
        stmt = select(inbox.c.update_id).where(
            inbox.c.update_id.in_(ids[start : start + IN_LIST_CHUNK])
        )
        found.update((await conn.execute(stmt)).scalars())
    return found


def _unique(updates: Iterable[IncomingUpdate]) -> list[IncomingUpdate]:
    """In ``update_id`` order, each id once (a batch may repeat one)."""
    by_id = {u.update_id: u for u in updates}
    return [by_id[i] for i in sorted(by_id)]


async def _waiting_per_chat(conn: AsyncConnection, chat_ids: set[int]) -> dict[int, int]:
    if not chat_ids:
        return {}
    ids = sorted(chat_ids)
    counts: dict[int, int] = {}
    for start in range(0, len(ids), IN_LIST_CHUNK):
        stmt = (
            select(inbox.c.chat_id, func.count().label("n"))
            .where(
                inbox.c.status == "pending", inbox.c.chat_id.in_(ids[start : start + IN_LIST_CHUNK])
            )
            .group_by(inbox.c.chat_id)
        )
        counts.update({row.chat_id: row.n for row in await conn.execute(stmt)})
    return counts


def _with_status(
    updates: list[IncomingUpdate], waiting: dict[int, int], cap: int, now: datetime
) -> tuple[list[dict[str, object]], dict[int, int]]:
    """Rows to insert, 'dropped' past each chat's cap; and the drops per chat."""
    waiting = dict(waiting)
    dropped: dict[int, int] = {}
    rows: list[dict[str, object]] = []
    for u in updates:
        over = u.chat_id != 0 and waiting.get(u.chat_id, 0) >= cap
        if over:
            dropped[u.chat_id] = dropped.get(u.chat_id, 0) + 1
        else:
            waiting[u.chat_id] = waiting.get(u.chat_id, 0) + 1
        rows.append(
            {
                "update_id": u.update_id,
                "chat_id": u.chat_id,
                "payload": "" if over else u.payload,  # never handled: nothing to keep
                "status": "dropped" if over else "pending",
                "attempts": 0,
                "received_at": now,
                "done_at": now if over else None,
            }
        )
    return rows, dropped
