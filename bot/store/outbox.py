"""The durable outbox: digests and their messages waiting to be delivered.

Protocol (see docs/design.md):
1. ``enqueue`` writes the digest, its rendered parts (``deliveries``) and the
   chat's new cursor in ONE transaction; (chat, slot_key) and
   (digest, part_no) are unique, so enqueueing twice is harmless.
2. ``claim`` leases whole digests (all their pending parts) to one sender and
   commits before any network call.
3. 'sending' is committed right before a part goes to Telegram; 'sent'
   records Telegram's message id afterwards. A crash between the two leaves
   'sending': the one ambiguous window. ``mark_progress`` writes both kinds
   of mark, for many parts in one transaction (the Sender's group commit).
4. ``reap`` returns expired 'leased' rows to 'pending' (never attempted) and
   turns expired 'sending' rows into 'unknown' (maybe delivered), or back to
   'pending' when resending unknowns is configured.
Statuses: pending -> leased -> sending -> sent | failed | unknown | pending.
Every error text is stored through :func:`bot.redact.redact` (an error page or a
transport error can quote the request URL, which holds the bot token).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Row,
    and_,
    case,
    func,
    literal,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.clock import Clock, utcnow
from bot.redact import redact
from bot.store.digest_writes import write_digests
from bot.store.records import Delivery, Digest, DigestRequest, OutboxBacklog
from bot.store.schema import bodies, chats, deliveries, digests


class OutboxRepository:
    """Reads and writes ``digests``, ``bodies`` and ``deliveries``."""

    def __init__(self, engine: AsyncEngine, clock: Clock = utcnow) -> None:
        self._engine = engine
        self._clock = clock

    async def enqueue(self, requests: Sequence[DigestRequest]) -> int:
        """Write digests and their parts, and move each chat's cursor, atomically.

        A request whose (chat, slot) already exists writes nothing new but
        still moves the chat's schedule. An empty ``parts`` only moves the
        schedule. Returns the number of digests newly written.
        """
        if not requests:
            return 0
        async with self._engine.begin() as conn:
            return await write_digests(conn, requests, self._clock())

    async def claim(
        self, owner: str, *, now: datetime, lease_seconds: float, max_digests: int = 50
    ) -> list[list[Delivery]]:
        """Lease up to ``max_digests`` digests with ready parts; parts in order."""
        expires = now + timedelta(seconds=lease_seconds)
        async with self._engine.begin() as conn:
            ready = and_(deliveries.c.status == "pending", deliveries.c.next_attempt_at <= now)
            pick = (
                select(deliveries.c.digest_id)
                .join(chats, chats.c.id == deliveries.c.chat_id)
                .where(ready, chats.c.is_active.is_(True))
                .group_by(deliveries.c.digest_id)
                .order_by(func.min(deliveries.c.next_attempt_at), deliveries.c.digest_id)
                .limit(max_digests)
            )
            digest_ids = list((await conn.execute(pick)).scalars())
            if not digest_ids:
                return []
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.digest_id.in_(digest_ids), ready)
                .values(status="leased", lease_owner=owner, lease_expires_at=expires)
            )
            rows = await _leased_rows(conn, owner, digest_ids)
        return _group_by_digest(rows)

    async def mark_progress(
        self,
        owner: str,
        *,
        sending: Sequence[int] = (),
        sent: Mapping[int, int] | None = None,
    ) -> tuple[set[int], set[int]]:
        """Mark leased parts 'sending' and record sent parts, all in ONE transaction.

        Only the lease owner's rows change: its 'leased' rows in ``sending``
        become 'sending' (attempts + 1), its 'sending' rows in ``sent`` (delivery
        id -> Telegram message id) become 'sent'. Returns (ids now 'sending',
        ids now 'sent'); a part whose lease was lost is in neither. Meant for
        small batches (the group commit writes at most 64 marks at a time).
        """
        sent = sent or {}
        if not sending and not sent:
            return set(), set()
        ours: set[int] = set()
        recorded: set[int] = set()
        statement = _progress_statement(owner, self._clock(), sent, sending)
        async with self._engine.begin() as conn:
            result = await conn.execute(statement)
            for row in result:
                (recorded if row.status == "sent" else ours).add(row.id)
        return ours, recorded

    async def mark_failed(self, delivery_id: int, owner: str, reason: str) -> bool:
        """A part can never be delivered (bad request, chat gone)."""
        return await self._finish(delivery_id, owner, "failed", reason)

    async def mark_unknown(self, delivery_id: int, owner: str, reason: str) -> bool:
        """A part may or may not have been delivered (timeout after sending)."""
        return await self._finish(delivery_id, owner, "unknown", reason)

    async def retry_later(self, delivery_id: int, owner: str, at: datetime, reason: str) -> bool:
        """Give a part back to the queue, due again at ``at``."""
        return await self._finish(delivery_id, owner, "pending", reason, next_attempt_at=at)

    async def release(self, owner: str, digest_id: int, at: datetime) -> None:
        """Give back the still-leased parts of a digest (sending stopped early)."""
        async with self._engine.begin() as conn:
            await conn.execute(
                _leased_parts(owner, digest_id).values(
                    status="pending", lease_owner=None, lease_expires_at=None, next_attempt_at=at
                )
            )

    async def fail_chat(self, chat_id: int, reason: str) -> int:
        """Mark every undelivered part for a chat failed (blocked or gone)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.chat_id == chat_id,
                    deliveries.c.status.in_(("pending", "leased")),
                )
                .values(status="failed", error=_error_text(reason), lease_owner=None)
            )
        return result.rowcount or 0

    async def fail_digest(self, owner: str, digest_id: int, reason: str) -> int:
        """Mark the owner's still-leased parts of a digest failed (an earlier part gave up)."""
        async with self._engine.begin() as conn:
            result = await conn.execute(
                _leased_parts(owner, digest_id).values(
                    status="failed",
                    error=_error_text(reason),
                    lease_owner=None,
                    lease_expires_at=None,
                )
            )
        return result.rowcount or 0

    async def reap(self, now: datetime, *, resend_unknown: bool = False) -> tuple[int, int]:
        """Expire stale leases: (returned to pending, turned unknown)."""
        expired = and_(deliveries.c.lease_expires_at < now)
        reset = {"lease_owner": None, "lease_expires_at": None}
        async with self._engine.begin() as conn:
            back = await conn.execute(
                update(deliveries)
                .where(expired, deliveries.c.status == "leased")
                .values(status="pending", **reset)
            )
            unknown_status = "pending" if resend_unknown else "unknown"
            lost = await conn.execute(
                update(deliveries)
                .where(expired, deliveries.c.status == "sending")
                .values(status=unknown_status, error="lease expired mid-send", **reset)
            )
        return back.rowcount or 0, lost.rowcount or 0

    async def part_count(self, chat_id: int, slot_key: str) -> int | None:
        """The parts of the chat's digest for ``slot_key``, or None when there is none."""
        stmt = select(digests.c.part_count).where(
            digests.c.chat_id == chat_id, digests.c.slot_key == slot_key
        )
        async with self._engine.connect() as conn:
            return (await conn.execute(stmt)).scalar()

    async def counts(self) -> dict[str, int]:
        """How many deliveries are in each status."""
        stmt = select(deliveries.c.status, func.count().label("n")).group_by(deliveries.c.status)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return {row.status: row.n for row in rows}

    async def backlog(self) -> OutboxBacklog:
        """How many messages wait for delivery, and when the oldest of them was queued."""
        waiting = deliveries.c.status.in_(("pending", "leased", "sending"))
        stmt = (
            select(func.count().label("depth"), func.min(digests.c.created_at).label("oldest"))
            .select_from(deliveries.join(digests, digests.c.id == deliveries.c.digest_id))
            .where(waiting)
        )
        async with self._engine.connect() as conn:
            row = (await conn.execute(stmt)).one()
        # min() keeps the column's type (UTCDateTime): the value comes back aware UTC.
        return OutboxBacklog(depth=row.depth, oldest_queued_at=row.oldest)

    async def digests(self, digest_ids: Sequence[int]) -> list[Digest]:
        """The digests with these ids (those that still exist), by id."""
        if not digest_ids:
            return []
        stmt = select(digests).where(digests.c.id.in_(list(digest_ids))).order_by(digests.c.id)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            Digest(r.id, r.chat_id, r.kind, r.slot_key, r.created_at, r.part_count) for r in rows
        ]

    async def for_chat(self, chat_id: int) -> list[Delivery]:
        """Every delivery of a chat, oldest first (for tools and tests)."""
        async with self._engine.connect() as conn:
            stmt = _delivery_select().where(deliveries.c.chat_id == chat_id)
            rows = (await conn.execute(stmt.order_by(deliveries.c.id))).all()
        return [delivery_from_row(r) for r in rows]

    async def _finish(
        self, delivery_id: int, owner: str, status: str, reason: str, **extra: Any
    ) -> bool:
        where = and_(deliveries.c.id == delivery_id, deliveries.c.lease_owner == owner)
        values = {
            "status": status,
            "error": _error_text(reason),
            "lease_owner": None,
            "lease_expires_at": None,
        }
        async with self._engine.begin() as conn:
            result = await conn.execute(update(deliveries).where(where).values(**values, **extra))
        return bool(result.rowcount)


def _leased_parts(owner: str, digest_id: int) -> Any:
    """An UPDATE of the parts of a digest that ``owner`` still holds leased."""
    return update(deliveries).where(
        deliveries.c.digest_id == digest_id,
        deliveries.c.lease_owner == owner,
        deliveries.c.status == "leased",
    )


def _error_text(reason: str) -> str:
    """What ``deliveries.error`` stores: the reason, secrets redacted, at most 2,000 chars."""
    return redact(reason)[:2000]


def _progress_statement(
    owner: str, now: datetime, sent: Mapping[int, int], sending: Sequence[int]
) -> Any:
    """ONE UPDATE for a group commit: the owner's 'sending' rows in ``sent`` become
    'sent' (with their message ids), its 'leased' rows in ``sending`` become
    'sending'. RETURNING gives each changed row's id and new status.

    Every CASE reads the row as it was before the update (standard SQL, in SQLite
    and PostgreSQL alike), so ``was_sending`` tells the two kinds apart.
    """
    c = deliveries.c
    was_sending = c.status == "sending"

    def for_sent(value: Any, otherwise: Any) -> Any:
        return case((was_sending, value), else_=otherwise)

    # Telegram's message ids outgrow 32 bits: bind them as BIGINT.
    message_ids = {delivery_id: literal(m, BigInteger) for delivery_id, m in sent.items()}
    message_id = (
        case(message_ids, value=c.id, else_=c.telegram_message_id)
        if message_ids
        else c.telegram_message_id
    )
    return (
        update(deliveries)
        .where(
            c.lease_owner == owner,
            or_(
                and_(c.id.in_(list(sent)), was_sending),
                and_(c.id.in_(list(sending)), c.status == "leased"),
            ),
        )
        .values(
            status=for_sent(literal("sent"), literal("sending")),
            attempts=for_sent(c.attempts, c.attempts + 1),
            telegram_message_id=message_id,
            sent_at=for_sent(literal(now, c.sent_at.type), c.sent_at),
            lease_owner=for_sent(null(), c.lease_owner),
            lease_expires_at=for_sent(null(), c.lease_expires_at),
            error=for_sent(null(), c.error),
        )
        .returning(c.id, c.status)
    )


def _delivery_select() -> Any:
    return (
        select(
            deliveries,
            bodies.c.text,
            digests.c.part_count,
            chats.c.telegram_id,
            chats.c.thread_id,
            chats.c.kind.label("chat_kind"),
        )
        .join(bodies, bodies.c.id == deliveries.c.body_id)
        .join(digests, digests.c.id == deliveries.c.digest_id)
        .join(chats, chats.c.id == deliveries.c.chat_id)
    )


async def _leased_rows(conn: AsyncConnection, owner: str, digest_ids: list[int]) -> list[Row[Any]]:
    stmt = _delivery_select().where(
        deliveries.c.digest_id.in_(digest_ids),
        deliveries.c.lease_owner == owner,
        deliveries.c.status == "leased",
    )
    return list(
        (await conn.execute(stmt.order_by(deliveries.c.digest_id, deliveries.c.part_no))).all()
    )


def _group_by_digest(rows: list[Row[Any]]) -> list[list[Delivery]]:
    grouped: dict[int, list[Delivery]] = {}
    for row in rows:
        grouped.setdefault(row.digest_id, []).append(delivery_from_row(row))
    return list(grouped.values())


def delivery_from_row(row: Row[Any]) -> Delivery:
    """Build a Delivery value from a joined deliveries row."""
    return Delivery(
        id=row.id,
        digest_id=row.digest_id,
        chat_id=row.chat_id,
        telegram_id=row.telegram_id,
        thread_id=row.thread_id,
        chat_kind=row.chat_kind,
        part_no=row.part_no,
        part_count=row.part_count,
        text=row.text,
        disable_preview=row.disable_preview,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        lease_owner=row.lease_owner,
        lease_expires_at=row.lease_expires_at,
        telegram_message_id=row.telegram_message_id,
        error=row.error,
        sent_at=row.sent_at,
        buttons=row.buttons,
    )
