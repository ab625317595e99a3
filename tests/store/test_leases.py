"""Leases: one holder at a time, renewals, takeover after expiry; heartbeats."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from bot.store import Store, open_store

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
LEASE = timedelta(seconds=30)


async def test_one_holder_until_it_expires_then_another_takes_over(store: Store) -> None:
    assert await store.leases.acquire("planner", "a", NOW, LEASE)
    assert not await store.leases.acquire("planner", "b", NOW + timedelta(seconds=10), LEASE)
    assert await store.leases.acquire("planner", "a", NOW + timedelta(seconds=20), LEASE)  # renew
    # a stopped renewing at +20 s: its lease ends at +50 s.
    assert not await store.leases.acquire("planner", "b", NOW + timedelta(seconds=49), LEASE)
    assert await store.leases.acquire("planner", "b", NOW + timedelta(seconds=51), LEASE)
    assert not await store.leases.acquire("planner", "a", NOW + timedelta(seconds=52), LEASE)
    [lease] = await store.leases.holders()
    assert (lease.name, lease.owner) == ("planner", "b")


async def test_a_released_lease_is_free_at_once_and_leases_are_separate(store: Store) -> None:
    assert await store.leases.acquire("sender", "a", NOW, LEASE)
    assert await store.leases.acquire("planner", "b", NOW, LEASE)
    await store.leases.release("sender", "b")  # not b's: nothing happens
    assert not await store.leases.acquire("sender", "b", NOW, LEASE)
    await store.leases.release("sender", "a")
    assert await store.leases.acquire("sender", "b", NOW, LEASE)


async def test_processes_racing_for_a_lease_get_it_once(store: Store, database_url: str) -> None:
    others = [await open_store(database_url) for _ in range(3)]
    try:
        won = await asyncio.gather(
            *(s.leases.acquire("sender", f"p{n}", NOW, LEASE) for n, s in enumerate(others))
        )
    finally:
        for other in others:
            await other.close()
    assert sorted(won) == [False, False, True]


async def test_heartbeats_show_who_is_running(store: Store) -> None:
    await store.leases.beat("host:1", "poller", NOW, started_at=NOW)
    await store.leases.beat("host:2", "sender,planner", NOW, started_at=NOW)
    await store.leases.beat("host:1", "poller", NOW + timedelta(seconds=30), started_at=NOW)

    alive = await store.leases.processes(seen_since=NOW + timedelta(seconds=10))
    assert [(p.owner, p.roles) for p in alive] == [("host:1", "poller")]
    await store.leases.forget("host:1")
    assert [p.owner for p in await store.leases.processes(seen_since=NOW)] == ["host:2"]


async def test_crashed_processes_are_forgotten_after_a_while(store: Store) -> None:
    await store.leases.beat("host:1:a", "poller", NOW, started_at=NOW)
    await store.leases.beat("host:2:b", "sender", NOW + timedelta(hours=2), started_at=NOW)

    assert await store.leases.prune(seen_before=NOW + timedelta(hours=1)) == 1
    assert [p.owner for p in await store.leases.processes(seen_since=NOW)] == ["host:2:b"]
