"""Role leases: held only while surely renewed, work ended before release, roles parsed."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from bot.errors import ConfigError
from bot.roles import ROLES, RoleLease, parse_roles


class FlakyLeases:
    """A lease table that grants the first ``good`` requests, then fails (database gone)."""

    def __init__(self, good: int) -> None:
        self.good = good
        self.asked = 0
        self.released = 0

    async def acquire(self, name: str, owner: str, now: datetime, duration: timedelta) -> bool:
        self.asked += 1
        if self.asked > self.good:
            raise OSError("connection refused")
        return True

    async def release(self, name: str, owner: str) -> None:
        self.released += 1


async def test_a_lease_whose_renewals_fail_is_given_up_before_it_expires() -> None:
    leases = FlakyLeases(good=1)
    lease = RoleLease(leases, "sender", "me", timedelta(seconds=0.9))  # type: ignore[arg-type]
    stop = asyncio.Event()
    keeper = asyncio.create_task(lease.keep(stop))
    await asyncio.sleep(0.1)
    assert lease.is_held
    await asyncio.sleep(1.0)  # the row has expired by now: a standby may hold it
    held_after_expiry = lease.is_held
    stop.set()
    await keeper
    assert not held_after_expiry
    assert leases.asked >= 3  # it kept trying


async def test_at_stop_the_work_ends_before_the_lease_is_released() -> None:
    leases = FlakyLeases(good=100)
    lease = RoleLease(leases, "planner", "me", timedelta(seconds=0.6))  # type: ignore[arg-type]
    stop = asyncio.Event()
    released_while_working: list[int] = []

    async def work(until: asyncio.Event) -> None:
        await until.wait()
        await asyncio.sleep(0.5)  # finishing what it was doing, past a renewal
        released_while_working.append(leases.released)

    keeper = asyncio.create_task(lease.keep(stop))
    runner = asyncio.create_task(lease.run_while_held(stop, work))
    await asyncio.sleep(0.1)
    stop.set()
    await asyncio.gather(keeper, runner)

    assert released_while_working == [0]
    assert leases.released == 1


def test_roles_are_parsed_and_separate_roles_need_postgresql() -> None:
    assert parse_roles("all", is_sqlite=True) == frozenset(ROLES)
    assert parse_roles("poller, sender", is_sqlite=False) == {"poller", "sender"}
    with pytest.raises(ConfigError, match="unknown role 'mailer'"):
        parse_roles("poller,mailer", is_sqlite=False)
    with pytest.raises(ConfigError, match="PostgreSQL"):
        parse_roles("sender", is_sqlite=True)
