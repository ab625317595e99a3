"""Writing a batch of digests: bodies, digest rows, delivery rows and chat cursors.

The write half of the outbox's ``enqueue`` (protocol step 1): everything for
many chats in the caller's ONE transaction, with unique keys (body hash,
(chat, slot), (digest, part)) so that writing twice is harmless. Chats that
share a digest text share its body row, so each text is stored once.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.dialect import IN_LIST_CHUNK, insert_ignore
from bot.store.records import DigestRequest
from bot.store.schema import bodies, chats, deliveries, digests

log = logging.getLogger(__name__)


async def write_digests(
    conn: AsyncConnection, requests: Sequence[DigestRequest], now: datetime
) -> int:
    """Write digests and their parts, and move each chat's cursor; returns digests created.

    A request whose (chat, slot) already exists writes nothing new but still
    moves the chat's schedule; an empty ``parts`` only moves the schedule. A
    stale request (its chat's cursor is no longer ``cursor_from``) writes nothing.
    """
    requests = await _unmoved(conn, requests)
    with_parts = [r for r in requests if r.parts]
    # Chats share rendered texts (the planner's caches): each text is hashed once.
    texts = dict.fromkeys(p.text for r in with_parts for p in r.parts)
    body_ids = await _store_bodies(conn, list(texts))
    digest_ids = await _insert_digests(conn, with_parts, now)
    # Parts only for digests this call created: a digest written before
    # (by another planner, maybe with other parts) is left as it is.
    created = [r for r in with_parts if (r.chat_id, r.slot_key) in digest_ids]
    await _insert_deliveries(conn, created, digest_ids, body_ids, now)
    await _move_cursors(conn, requests, now)
    return len(created)


async def _unmoved(
    conn: AsyncConnection, requests: Sequence[DigestRequest]
) -> Sequence[DigestRequest]:
    """The requests whose chat cursor is still the one they were selected above.

    The chat rows are read inside the writing transaction (locked on PostgreSQL;
    SQLite's BEGIN IMMEDIATE already admits one writer), so two planners can
    never both move one chat's cursor from the same place.
    """
    ids = sorted({r.chat_id for r in requests if r.cursor_from is not None})
    if not ids:
        return requests
    cursors: dict[int, int] = {}
    for start in range(0, len(ids), IN_LIST_CHUNK):
        stmt = select(chats.c.id, chats.c.cursor_article_id).where(
            chats.c.id.in_(ids[start : start + IN_LIST_CHUNK])
        )
        if conn.dialect.name == "postgresql":
            stmt = stmt.with_for_update()
        cursors.update({row.id: row.cursor_article_id for row in await conn.execute(stmt)})
    fresh = [
        r for r in requests if r.cursor_from is None or cursors.get(r.chat_id) == r.cursor_from
    ]
    if len(fresh) < len(requests):
        log.info("%d digests not written: their chats' cursors moved", len(requests) - len(fresh))
    return fresh


def body_hash(text: str) -> str:
    """The key under which a rendered text is stored once."""
    return hashlib.sha256(text.encode()).hexdigest()


async def _store_bodies(conn: AsyncConnection, texts: list[str]) -> dict[str, int]:
    """Insert-or-ignore distinct ``texts``; returns text -> body id."""
    by_hash = {body_hash(t): t for t in texts}
    if not by_hash:
        return {}
    rows = [{"hash": h, "text": t} for h, t in by_hash.items()]
    await conn.execute(insert_ignore(conn.dialect, bodies, ["hash"]), rows)
    hashes = list(by_hash)
    found: dict[str, int] = {}
    for start in range(0, len(hashes), IN_LIST_CHUNK):
        stmt = select(bodies.c.hash, bodies.c.id).where(
            bodies.c.hash.in_(hashes[start : start + IN_LIST_CHUNK])
        )
        found.update({by_hash[row.hash]: row.id for row in await conn.execute(stmt)})
    return found


async def _insert_digests(
    conn: AsyncConnection, requests: Sequence[DigestRequest], now: datetime
) -> dict[tuple[int, str], int]:
    """Insert-or-ignore the digests; returns the ids of those newly created."""
    if not requests:
        return {}
    stmt = insert_ignore(conn.dialect, digests, ["chat_id", "slot_key"]).returning(
        digests.c.chat_id, digests.c.slot_key, digests.c.id
    )
    rows = [
        {
            "chat_id": r.chat_id,
            "kind": r.kind,
            "slot_key": r.slot_key,
            "part_count": len(r.parts),
            "max_article_id": r.max_article_id,
            "created_at": now,
        }
        for r in requests
    ]
    result = await conn.execute(stmt, rows)
    return {(row.chat_id, row.slot_key): row.id for row in result}


async def _insert_deliveries(
    conn: AsyncConnection,
    requests: Sequence[DigestRequest],
    digest_ids: dict[tuple[int, str], int],
    body_ids: dict[str, int],
    now: datetime,
) -> None:
    rows = [
        {
            "digest_id": digest_ids[(r.chat_id, r.slot_key)],
            "chat_id": r.chat_id,
            "part_no": n,
            "body_id": body_ids[p.text],
            "disable_preview": p.disable_preview,
            "buttons": p.buttons,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
        }
        for r in requests
        for n, p in enumerate(r.parts, start=1)
    ]
    if rows:
        await conn.execute(insert_ignore(conn.dialect, deliveries, ["digest_id", "part_no"]), rows)


async def _move_cursors(
    conn: AsyncConnection, requests: Sequence[DigestRequest], now: datetime
) -> None:
    """Move each chat's cursor and schedule (never moving a cursor back)."""
    rows = [
        {
            "cid": r.chat_id,
            "cursor": r.max_article_id,
            "next_at": r.next_digest_at,
            "last_at": r.last_digest_at,
        }
        for r in requests
    ]
    if rows:
        await conn.execute(_cursor_update(conn, now), rows)


def _cursor_update(conn: AsyncConnection, now: datetime) -> Any:
    cursor = bindparam("cursor", type_=chats.c.cursor_article_id.type)
    return (
        update(chats)
        .where(chats.c.id == bindparam("cid"))
        .values(
            cursor_article_id=func.max(chats.c.cursor_article_id, cursor)
            if conn.dialect.name == "sqlite"
            else func.greatest(chats.c.cursor_article_id, cursor),
            next_digest_at=func.coalesce(
                bindparam("next_at", type_=chats.c.next_digest_at.type), chats.c.next_digest_at
            ),
            last_digest_at=func.coalesce(
                bindparam("last_at", type_=chats.c.last_digest_at.type), chats.c.last_digest_at
            ),
            updated_at=now,
        )
    )
