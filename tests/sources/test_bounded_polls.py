"""Hostile feeds against the poller's bounds: a parse budget, cheap dates, intake caps.

Real HTTP from the fake news site, the real store on SQLite and PostgreSQL, real
parse worker processes. The only clock bounds asserted are the ones the issue
states: a good source due with a date bomb is polled within 2 s, and shutdown
never waits for a runaway parse more than a few seconds.
"""

from __future__ import annotations

import asyncio
import signal
import time
from dataclasses import replace
from datetime import timedelta
from functools import partial
from pathlib import Path

import pytest

from bot.errors import ParseError
from bot.settings import FetchSettings
from bot.sources.parse_pool import KILL_GRACE, ParsePool, over_budget
from bot.store import Store
from tests.fakes.clock import FakeClock
from tests.fakes.news_site import FakeNewsSite, make_items, render_feed
from tests.sources.test_poller import (
    feed,
    make_settings,
    running_poller,
    source_named,
    the,
)

BOMB_DATE = "2007-13-39T25:61:61Z"  # ISO-shaped, impossible: 150-250 ms each in dateparser


def date_bomb(items: int) -> bytes:
    """An RSS feed whose every item has BOMB_DATE (1,000 items: about 117 KB)."""
    entries = "".join(
        f"<item><title>Story number {i} from the bomb feed</title>"
        f"<link>http://bomb.example/{i}</link><guid>bomb-{i}</guid>"
        f"<pubDate>{BOMB_DATE}</pubDate><description>Text of story {i}.</description></item>\n"
        for i in range(items)
    )
    return f'<rss version="2.0"><channel><title>Bomb</title>{entries}</channel></rss>'.encode()


# --- bounded parsing ---------------------------------------------------------------------


async def test_a_date_bomb_feed_does_not_delay_a_good_source_due_with_it(
    store: Store, site: FakeNewsSite, clock: FakeClock
) -> None:
    bomb = site.serve_file("/bomb.xml", date_bomb(1000))
    good = site.add_feed("/good.xml", items=make_items(12, seed=1, base_url=site.base_url))
    settings = make_settings([feed("Bomb", bomb), feed("Good", good)])
    async with running_poller(store, settings, clock) as poller:
        report = await poller.tick()
    assert the(report, "Good").status == "new" and the(report, "Good").new == 12
    assert the(report, "Good").seconds < 2.0
    # Parsed cheaply: no item has a date, so each gets the fetch time; the first 200 are kept.
    assert the(report, "Bomb").status == "new" and the(report, "Bomb").new == 200


async def test_a_feed_over_its_parse_budget_fails_with_the_reason_and_the_others_go_on(
    store: Store, site: FakeNewsSite, clock: FakeClock
) -> None:
    huge = site.add_feed("/huge.xml", items=make_items(3000, seed=2, base_url=site.base_url))
    good = site.add_feed("/good.xml", items=make_items(12, seed=1, base_url=site.base_url))
    fetch = FetchSettings(parse_timeout_seconds=0.3)  # a 3,000-item feed takes ~1 s here
    settings = make_settings([feed("Huge", huge), feed("Good", good)], fetch=fetch)
    async with running_poller(store, settings, clock) as poller:
        report = await poller.tick()
    assert the(report, "Good").status == "new" and the(report, "Good").new == 12
    reason = over_budget(0.3)
    assert reason == "parsing took longer than 0.3 s; the feed is skipped until its next poll"
    assert the(report, "Huge").status == "failed" and the(report, "Huge").error == reason
    recorded = await source_named(store, "Huge")
    assert recorded.last_error == reason and recorded.error_count == 1


def _sleep_deaf_to_timers(seconds: float) -> None:
    """Work stuck where the worker's timer cannot stop it (like a long C call)."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
    try:
        time.sleep(seconds)
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGALRM})


async def test_the_budget_stops_a_run_in_its_worker_and_the_worker_serves_on() -> None:
    pool = ParsePool(workers=1, budget_seconds=0.5)
    try:
        with pytest.raises(ParseError, match=r"parsing took longer than 0\.5 s"):
            await pool.run(partial(time.sleep, 60))
        assert await pool.run(partial(sum, [1, 2])) == 3
    finally:
        await pool.aclose()


async def test_a_run_deaf_to_the_timer_is_killed_and_a_run_beside_it_is_run_again() -> None:
    budget = 1.0
    pool = ParsePool(workers=2, budget_seconds=budget)
    try:
        await asyncio.gather(pool.run(partial(sum, [1])), pool.run(partial(sum, [2])))  # started
        started = time.monotonic()
        stuck = asyncio.create_task(pool.run(partial(_sleep_deaf_to_timers, 60)))
        await asyncio.sleep(budget + KILL_GRACE - 0.4)  # the other run is under way at the kill
        beside = asyncio.create_task(pool.run(partial(_sleep_then_return, 0.8, "done")))
        with pytest.raises(ParseError, match="parsing took longer than 1 s"):
            await stuck
        assert time.monotonic() - started < budget + KILL_GRACE + 0.5
        assert await beside == "done"  # its pool was killed under it: run again on a fresh one
    finally:
        await pool.aclose()


def _sleep_then_return(seconds: float, value: str) -> str:
    time.sleep(seconds)
    return value


async def test_closing_never_waits_for_a_runaway_parse() -> None:
    pool = ParsePool(workers=1, budget_seconds=300)
    run = asyncio.create_task(pool.run(partial(_sleep_deaf_to_timers, 300)))
    await asyncio.sleep(1.5)  # let the worker start and take the run
    started = time.monotonic()
    await pool.aclose()
    assert time.monotonic() - started < KILL_GRACE + 2
    with pytest.raises((ParseError, asyncio.CancelledError)):
        await run


# --- bounded intake ------------------------------------------------------------------


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def flood(site: FakeNewsSite, poll: int, items: int, clock: FakeClock) -> None:
    """``items`` brand-new stories, published in the last hours, at /flood.xml."""
    fresh = [
        replace(item, published=clock.now - timedelta(seconds=30 * index))
        for index, item in enumerate(
            make_items(items, seed=poll, prefix="flood", base_url=site.base_url)
        )
    ]
    body = render_feed("rss", "Flood", fresh, site.base_url, site.url("/flood.xml"), clock.now)
    site.serve_file("/flood.xml", body)


async def test_a_flooding_feed_keeps_the_store_the_grouper_and_memory_bounded(
    store: Store, site: FakeNewsSite, clock: FakeClock
) -> None:
    polls, per_poll = 10, 1000
    settings = make_settings([feed("Flood", site.url("/flood.xml"))])
    cap, keep = settings.max_items_per_poll, settings.max_articles_per_source
    rss: list[float] = []
    async with running_poller(store, settings, clock) as poller:
        for poll in range(polls):
            flood(site, poll, per_poll, clock)
            report = await poller.run_cycle()
            assert the(report, "Flood").new == cap  # the newest 200 of 1,000
            assert await store.articles.count() <= keep
            assert poller.grouped_articles <= 2 * keep + cap
            rss.append(_rss_mb())
            clock.advance(300)
    assert await store.articles.count() == keep
    # 10,000 new items offered, 2,000 taken, 1,000 kept. Measured after the first poll:
    # +6-12 MB here; with the caps lifted (all 10,000 stored) +47 MB, and the issue saw
    # +378 MB at 50,000 new items a poll.
    assert max(rss) - rss[0] < 30, rss
