"""The inbox table: updates stored once, a per-chat cap, runs counted, old rows pruned."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import utcnow
from bot.store import Store
from bot.store.inbox import IncomingUpdate


def upd(update_id: int, chat_id: int = 1001) -> IncomingUpdate:
    return IncomingUpdate(update_id, chat_id, f'{{"update_id": {update_id}}}')


async def test_an_update_sent_twice_is_stored_once(store: Store) -> None:
    first = await store.inbox.add([upd(1), upd(2)], per_chat_cap=10)
    again = await store.inbox.add([upd(2), upd(3), upd(3)], per_chat_cap=10)

    assert (first.stored, again.stored) == (2, 1)
    assert [w.update_id for w in await store.inbox.waiting_for_chat(1001, 10)] == [1, 2, 3]


async def test_a_chat_over_its_cap_has_the_rest_dropped_and_counted(store: Store) -> None:
    await store.inbox.add([upd(n) for n in range(1, 4)], per_chat_cap=5)
    flood = await store.inbox.add(
        [upd(n) for n in range(4, 10)] + [upd(100, chat_id=2002)], per_chat_cap=5
    )

    assert flood.dropped_by_chat == {1001: 4}
    assert len(await store.inbox.waiting_for_chat(1001, 50)) == 5
    assert len(await store.inbox.waiting_for_chat(2002, 50)) == 1
    assert await store.inbox.counts() == {"pending": 6, "dropped": 4}


async def test_updates_without_a_chat_have_no_cap(store: Store) -> None:
    result = await store.inbox.add([upd(n, chat_id=0) for n in range(1, 8)], per_chat_cap=2)

    assert result.dropped_by_chat == {}
    assert len(await store.inbox.waiting_for_chat(0, 50)) == 7


async def test_waiting_chats_come_longest_waiting_first(store: Store) -> None:
    await store.inbox.add([upd(5, 3003), upd(2, 2002), upd(9, 1001), upd(7, 2002)], per_chat_cap=9)

    assert await store.inbox.waiting_chats(limit=10) == [2002, 3003, 1001]
    assert await store.inbox.waiting_chats(limit=1) == [2002]


async def test_runs_are_counted_and_done_updates_no_longer_wait(store: Store) -> None:
    await store.inbox.add([upd(1), upd(2)], per_chat_cap=9)

    assert await store.inbox.begin(1) == 1
    assert await store.inbox.begin(1) == 2  # a second run: the first was interrupted
    await store.inbox.finish(1)

    [waiting] = await store.inbox.waiting_for_chat(1001, 10)
    assert waiting.update_id == 2
    assert await store.inbox.repeated() == 1
    assert await store.inbox.waiting_chats(limit=5) == [1001]


async def test_prune_keeps_waiting_and_recent_updates(store: Store) -> None:
    await store.inbox.add([upd(1), upd(2), upd(3)], per_chat_cap=9)
    await store.inbox.finish(1)
    await store.inbox.finish(2, status="failed")
    later = (await store.inbox.waiting_for_chat(1001, 10))[0]

    assert await store.inbox.prune(before=utcnow() - timedelta(days=1)) == 0
    assert await store.inbox.prune(before=utcnow() + timedelta(seconds=1)) == 2
    assert [w.update_id for w in await store.inbox.waiting_for_chat(1001, 10)] == [later.update_id]
    # A pruned update is new to the inbox again; Telegram forgets it long before.
    assert (await store.inbox.add([upd(3)], per_chat_cap=9)).stored == 0
