"""What the operator's /admin and /announce read from the store, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.store import Store, open_store
from bot.store.records import ChatCounts, ChatKey, DigestRequest, OutboxBacklog, Part

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


class Clock:
    """A clock the test sets."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def store(database_url: str, clock: Clock) -> AsyncIterator[Store]:
    opened = await open_store(database_url, clock=clock)
    yield opened
    await opened.close()


async def chat(store: Store, telegram_id: int, thread_id: int = 0, **fields: object) -> int:
    made = await store.chats.ensure(
        ChatKey(telegram_id, thread_id),
        kind="private" if telegram_id > 0 else "supergroup",
        title="t",
        timezone="UTC",
        digest_times=["08:00"],
        next_digest_at=NOW,
    )
    if fields:
        await store.chats.update(made.id, **fields)
    return made.id


def message(chat_id: int, slot: str) -> DigestRequest:
    return DigestRequest(chat_id, "announce", slot, (Part("hello"),), 0, None, None)


async def test_chats_by_state(store: Store) -> None:
    await chat(store, 1)
    await chat(store, 2)
    await chat(store, 3, is_paused=True)
    await chat(store, 4, is_active=False)
    await chat(store, 5, is_active=False, is_paused=True)  # unreachable wins over paused

    assert await store.chats.count_by_state() == ChatCounts(active=2, paused=1, blocked=2)


async def test_reachable_ids_are_one_row_per_active_unpaused_telegram_chat(store: Store) -> None:
    alice = await chat(store, 1)
    forum_general = await chat(store, -100, 0)
    await chat(store, -100, 7)  # another thread of the same forum: the forum is one chat
    await chat(store, 3, is_paused=True)
    await chat(store, 4, is_active=False)

    assert await store.chats.reachable_ids() == [alice, forum_general]


async def test_backlog_counts_what_waits_and_dates_the_oldest(store: Store, clock: Clock) -> None:
    assert await store.outbox.backlog() == OutboxBacklog(depth=0, oldest_queued_at=None)
    first, second = await chat(store, 1), await chat(store, 2)
    await store.outbox.enqueue([message(first, "a")])
    clock.now = NOW + timedelta(minutes=5)
    await store.outbox.enqueue([message(second, "a"), message(first, "b")])

    assert await store.outbox.backlog() == OutboxBacklog(depth=3, oldest_queued_at=NOW)

    [[part]] = await store.outbox.claim("me", now=clock.now, lease_seconds=60, max_digests=1)
    await store.outbox.mark_progress("me", sending=[part.id])
    await store.outbox.mark_progress("me", sent={part.id: 99})
    later = NOW + timedelta(minutes=5)
    assert await store.outbox.backlog() == OutboxBacklog(depth=2, oldest_queued_at=later)


async def test_digests_by_id(store: Store) -> None:
    alice = await chat(store, 1)
    await store.outbox.enqueue([message(alice, "announce:x")])
    [part] = await store.outbox.for_chat(alice)

    [digest] = await store.outbox.digests([part.digest_id, 999_999])

    assert (digest.id, digest.kind, digest.slot_key, digest.created_at) == (
        part.digest_id,
        "announce",
        "announce:x",
        NOW,
    )
    assert await store.outbox.digests([]) == []
