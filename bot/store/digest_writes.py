"""Writing a batch of digests: bodies, digest rows, delivery rows and chat cursors.

The write half of the outbox's ``enqueue`` (protocol step 1): everything for
many chats in the caller's ONE transaction, with unique keys (body hash,
(chat, slot), (digest, part)) so that writing twice is harmless. Tuned for the
fan-out benchmark (100,000 chats): texts hashed once, columns equal for every
row bound once, cursors moved by group (docs/performance.md, "Fan-out").
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from itertools import chain
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.dialect import (
    MAX_BIND_PARAMS,
    datetime_binder,
    insert_ignore,
    placeholders,
    row_placeholders,
)
from bot.store.schema import bodies, chats

if TYPE_CHECKING:  # outbox.py imports this module; the records are only annotations here
    from bot.store.outbox import DigestRequest

# Ids per IN (...) list: far below SQLite's and asyncpg's bind-parameter limits.
CHUNK = 500


async def write_digests(
    conn: AsyncConnection, requests: Sequence[DigestRequest], now: datetime
) -> int:
    """Write digests and their parts, and move each chat's cursor; returns digests created.

    A request whose (chat, slot) already exists writes nothing new but still
    moves the chat's schedule; an empty ``parts`` only moves the schedule.
    """
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
    for start in range(0, len(hashes), CHUNK):
        stmt = select(bodies.c.hash, bodies.c.id).where(
            bodies.c.hash.in_(hashes[start : start + CHUNK])
        )
        found.update({by_hash[h]: i for h, i in (await conn.execute(stmt)).all()})
    return found


_DIGEST_COLUMNS = "chat_id, kind, slot_key, part_count, max_article_id, created_at"


async def _insert_digests(
    conn: AsyncConnection, requests: Sequence[DigestRequest], now: datetime
) -> dict[tuple[int, str], int]:
    """Insert-or-ignore the digests; returns the ids of those newly created.

    Driver SQL, many rows per INSERT ... RETURNING (as SQLAlchemy's
    insertmanyvalues does, without its per-row parameter processing).
    """
    created_at = datetime_binder(conn.dialect)(now)
    rows = [
        (r.chat_id, r.kind, r.slot_key, len(r.parts), r.max_article_id, created_at)
        for r in requests
    ]
    per_statement = MAX_BIND_PARAMS // 6
    created: dict[tuple[int, str], int] = {}
    for start in range(0, len(rows), per_statement):
        chunk = rows[start : start + per_statement]
        sql = (
            f"INSERT INTO digests ({_DIGEST_COLUMNS})"
            f" VALUES {placeholders(conn.dialect, len(chunk), 6)}"
            " ON CONFLICT (chat_id, slot_key) DO NOTHING RETURNING chat_id, slot_key, id"
        )
        result = await conn.exec_driver_sql(sql, tuple(chain.from_iterable(chunk)))
        created.update({(chat_id, slot): digest_id for chat_id, slot, digest_id in result})
    return created


async def _insert_deliveries(
    conn: AsyncConnection,
    requests: Sequence[DigestRequest],
    digest_ids: dict[tuple[int, str], int],
    body_ids: dict[str, int],
    now: datetime,
) -> None:
    # Driver SQL with tuples: SQLAlchemy's per-row parameter processing (a dict and
    # bind processors per row) cost more than SQLite itself for 150,000 rows.
    at = datetime_binder(conn.dialect)(now)  # next_attempt_at, the same for every row
    rows = [
        (digest_ids[(r.chat_id, r.slot_key)], r.chat_id, n, body_ids[p.text], p.disable_preview, at)
        for r in requests
        for n, p in enumerate(r.parts, start=1)
    ]
    if rows:
        marks = row_placeholders(conn.dialect, 6)
        sql = (
            "INSERT INTO deliveries (digest_id, chat_id, part_no, body_id, disable_preview,"
            f" status, attempts, next_attempt_at) VALUES ({', '.join(marks[:5])},"
            f" 'pending', 0, {marks[5]}) ON CONFLICT (digest_id, part_no) DO NOTHING"
        )
        await conn.exec_driver_sql(sql, rows)


# Below this many chats per distinct (cursor, next, last), one executemany is cheaper.
_MIN_CHATS_PER_CURSOR_GROUP = 8


async def _move_cursors(
    conn: AsyncConnection, requests: Sequence[DigestRequest], now: datetime
) -> None:
    """Move each chat's cursor and schedule (never moving a cursor back).

    Chats due together mostly share their new values, so they are updated by
    group (``WHERE id IN (...)``): a few statements instead of one row per chat.
    """
    groups: dict[tuple[int, datetime | None, datetime | None], list[int]] = {}
    for r in requests:
        groups.setdefault((r.max_article_id, r.next_digest_at, r.last_digest_at), []).append(
            r.chat_id
        )
    if len(groups) * _MIN_CHATS_PER_CURSOR_GROUP > len(requests):
        one_by_one = _cursor_update(conn, chats.c.id == bindparam("cid"), now)
        rows = [
            {
                "cid": r.chat_id,
                "cursor": r.max_article_id,
                "next_at": r.next_digest_at,
                "last_at": r.last_digest_at,
            }
            for r in requests
        ]
        await conn.execute(one_by_one, rows)
        return
    by_group = _cursor_update(conn, chats.c.id.in_(bindparam("cid", expanding=True)), now)
    for (c, n, last), chat_ids in groups.items():
        for start in range(0, len(chat_ids), CHUNK):
            params = {"cid": chat_ids[start : start + CHUNK], "cursor": c}
            await conn.execute(by_group, params | {"next_at": n, "last_at": last})


def _cursor_update(conn: AsyncConnection, where: Any, now: datetime) -> Any:
    cursor = bindparam("cursor", type_=chats.c.cursor_article_id.type)
    return (
        update(chats)
        .where(where)
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
