"""GroupCommit on a real store: what a worker may rely on before it sends, and after."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import timedelta
from itertools import count

import pytest

from bot.delivery.group_commit import GroupCommit
from bot.store import Store, open_store
from bot.store.records import Delivery
from tests.store.test_store import NOW, new_chat, request

_telegram_ids = count(100)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    """A store whose clock stands still at NOW, so parts enqueued "now" are ready at NOW."""
    opened = await open_store(database_url, clock=lambda: NOW)
    yield opened
    await opened.close()


async def leased_parts(store: Store, owner: str, chats: int, parts: int = 1) -> list[Delivery]:
    """Enqueue one digest of ``parts`` parts for each of ``chats`` chats; lease all to owner."""
    chat_ids = [await new_chat(store, next(_telegram_ids)) for _ in range(chats)]
    texts = tuple(f"part {p}" for p in range(parts))
    await store.outbox.enqueue([request(c, "s1", texts) for c in chat_ids])
    claimed = await store.outbox.claim(owner, now=NOW, lease_seconds=60, max_digests=chats)
    leased = [part for digest in claimed for part in digest]
    assert len(leased) == chats * parts
    return leased


def commits(store: Store) -> GroupCommit:
    return GroupCommit(store.outbox, "w1", contextlib.nullcontext())


async def statuses(store: Store, parts: list[Delivery]) -> dict[int, tuple[str, int | None]]:
    rows = [d for p in parts for d in await store.outbox.for_chat(p.chat_id)]
    return {d.id: (d.status, d.telegram_message_id) for d in rows if d.id in {p.id for p in parts}}


async def test_sending_is_committed_before_it_returns_and_only_for_the_owner(store: Store) -> None:
    [ours] = await leased_parts(store, "w1", chats=1)
    [theirs] = await leased_parts(store, "w2", chats=1)
    marks = commits(store)

    assert await marks.sending(ours.id) is True
    assert await marks.sending(theirs.id) is False  # leased by w2: not ours to send
    assert await statuses(store, [ours, theirs]) == {
        ours.id: ("sending", None),
        theirs.id: ("leased", None),
    }


async def test_a_workers_sent_is_committed_no_later_than_its_next_sending(store: Store) -> None:
    first, second = await leased_parts(store, "w1", chats=1, parts=2)
    marks = commits(store)
    assert await marks.sending(first.id)

    marks.sent(first.id, 501)  # not awaited: it rides with the next batch
    assert await marks.sending(second.id)

    assert (await statuses(store, [first]))[first.id] == ("sent", 501)


async def test_settled_waits_for_every_queued_mark(store: Store) -> None:
    parts = await leased_parts(store, "w1", chats=20)
    marks = commits(store)
    await asyncio.gather(*(marks.sending(p.id) for p in parts))

    for n, part in enumerate(parts):
        marks.sent(part.id, 1000 + n)
    await marks.settled()

    assert await statuses(store, parts) == {p.id: ("sent", 1000 + n) for n, p in enumerate(parts)}


async def test_many_workers_share_few_transactions(store: Store) -> None:
    parts = await leased_parts(store, "w1", chats=40)
    marks = commits(store)
    transactions = 0
    mark_progress = store.outbox.mark_progress

    async def counting(*args: object, **kwargs: object) -> tuple[set[int], set[int]]:
        nonlocal transactions
        transactions += 1
        return await mark_progress(*args, **kwargs)  # type: ignore[arg-type]

    store.outbox.mark_progress = counting  # type: ignore[method-assign]
    results = await asyncio.gather(*(marks.sending(p.id) for p in parts))

    assert all(results)
    assert transactions <= 3  # the first mark alone, then everything that queued meanwhile


async def test_reap_after_a_crash_finds_at_most_the_uncommitted_sent_parts(store: Store) -> None:
    first, second = await leased_parts(store, "w1", chats=1, parts=2)
    marks = commits(store)
    assert await marks.sending(first.id)
    marks.sent(first.id, 7)
    assert await marks.sending(second.id)  # the worker's next part: 'first' is sent by now

    # The process dies before 'second' is sent: only it is in the ambiguous window.
    back, lost = await store.outbox.reap(NOW + timedelta(hours=1))
    assert (back, lost) == (0, 1)
    assert await statuses(store, [first, second]) == {
        first.id: ("sent", 7),
        second.id: ("unknown", None),
    }
