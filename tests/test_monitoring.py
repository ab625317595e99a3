"""/metrics and /healthz of a running bot, read over HTTP after a small end-to-end run.

The run: one source polled twice (two stories, then one more), Alice subscribes
(a welcome digest) and switches to instant digests, and the instant digest
first meets a 429 (retry after 1 s; the clock then moves on 5 s). The clock is
the test's: the digest lag is then known to the second.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.app import NewsBot, running_bot
from bot.settings import Settings, SourceConfig
from bot.store.state import SENDING_PAUSED_UNTIL
from tests.chat.conftest import ALICE, NOW, WORLD_ITEMS, Person, eventually, make_settings
from tests.conftest import PG_URL
from tests.fakes.clock import FakeClock
from tests.fakes.news_site import FakeNewsSite, FeedItem
from tests.fakes.telegram import FakeTelegram

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]

VOLCANO = FeedItem(
    "Volcano erupts near capital",
    "https://news.example/world/volcano",
    "<p>Ash covered the capital.</p>",
    "w-3",
    datetime(2024, 5, 15, 5, 45, tzinfo=UTC),
)


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as fake:
        yield fake


@pytest.fixture
async def news_site() -> AsyncIterator[FakeNewsSite]:
    async with FakeNewsSite() as site:
        site.add_feed("/world.xml", title="World Wire", items=WORLD_ITEMS)
        yield site


@pytest.fixture
def clock() -> FakeClock:
    """The bot's clock, at the chat tests' NOW, moved by hand."""
    moved = FakeClock()
    moved.now = NOW
    return moved


def monitored_settings(tg: FakeTelegram, database_url: str, site: FakeNewsSite) -> Settings:
    source = SourceConfig(name="World Wire", url=site.url("/world.xml"), topics=["world"])
    settings = make_settings(tg, database_url, [source])
    return settings.model_copy(update={"metrics_listen": "127.0.0.1:0"})


async def get(bot: NewsBot, path: str) -> httpx.Response:
    assert bot.monitoring.server is not None, "metrics_listen is set"
    host, port = bot.monitoring.server.address
    async with httpx.AsyncClient() as client:
        return await client.get(f"http://{host}:{port}{path}")


async def scrape(bot: NewsBot) -> Samples:
    response = await get(bot, "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, tuple(sorted(labels.items())))]


async def test_metrics_count_a_small_run(
    tg: FakeTelegram, database_url: str, news_site: FakeNewsSite, clock: FakeClock
) -> None:
    tg.private_chat(ALICE, "Alice")
    alice = Person(tg, ALICE, ALICE)
    async with running_bot(monitored_settings(tg, database_url, news_site), clock=clock) as bot:
        await eventually(lambda: _articles(bot, 2), within_seconds=60)  # the first poll job
        await alice.say("/subscribe world", replies=2)  # the answer and the welcome digest
        await alice.ask("/schedule instant")
        news_site.publish("/world.xml", VOLCANO)
        tg.faults.force_429(ALICE, retry_after=1)
        await bot.store.sources.make_due()

        await bot.poll()  # stores the story, plans Alice's instant digest: first a 429
        await eventually(lambda: _paused(bot))  # the Sender took the 429 in
        clock.advance(5)  # the flood wait is over (the lag of this digest: 5 s)
        await tg.wait_until(lambda: _got(alice, VOLCANO.title), timeout=20)
        samples = await scrape(bot)

    assert value(samples, "newsbot_updates_total") == 2
    assert value(samples, "newsbot_replies_total", outcome="sent") == 2
    assert value(samples, "newsbot_digest_messages_total", outcome="sent") == 2
    assert value(samples, "newsbot_digest_messages_total", outcome="retry_after") == 1
    assert len(alice.inbox()) == 2 + 2  # what Telegram got agrees: 2 replies, 2 digests
    assert value(samples, "newsbot_flood_waits_total", origin="digest") == 1
    assert value(samples, "newsbot_flood_wait_seconds_total") == 1.0
    assert value(samples, "newsbot_flood_wait_remaining_seconds") == 0
    assert value(samples, "newsbot_outbox_depth") == 0
    assert value(samples, "newsbot_outbox_oldest_age_seconds") == 0
    assert value(samples, "newsbot_source_fetches_total", outcome="new") == 2
    assert ("newsbot_source_fetches_total", (("outcome", "failed"),)) not in samples
    assert value(samples, "newsbot_source_fetch_duration_seconds_count") == 2
    assert value(samples, "newsbot_articles_stored_total") == 3
    assert value(samples, "newsbot_articles") == 3
    assert value(samples, "newsbot_digest_lag_seconds_count") == 2
    assert value(samples, "newsbot_digest_lag_seconds_sum") == 5.0  # welcome 0 s, instant 5 s
    assert value(samples, "newsbot_last_tick_timestamp_seconds") == NOW.timestamp()


async def test_metrics_of_two_bots_in_one_process_are_their_own(
    tg: FakeTelegram, tmp_path: Path, news_site: FakeNewsSite, clock: FakeClock
) -> None:
    first = monitored_settings(tg, f"sqlite:///{tmp_path / 'a.db'}", news_site)
    async with FakeTelegram() as other_tg:  # one getUpdates poller per token and server
        second = monitored_settings(other_tg, f"sqlite:///{tmp_path / 'b.db'}", news_site)
        async with running_bot(first, clock=clock) as a, running_bot(second, clock=clock) as b:
            await eventually(lambda: _articles(a, 2), within_seconds=60)
            await eventually(lambda: _articles(b, 2), within_seconds=60)
            await a.store.sources.make_due()
            await a.poll()  # the feed did not change: 304

            fetches_a = value(
                await scrape(a), "newsbot_source_fetches_total", outcome="not_modified"
            )
            fetches_b = await scrape(b)

    assert fetches_a == 1
    assert ("newsbot_source_fetches_total", (("outcome", "not_modified"),)) not in fetches_b


async def test_healthz_is_200_then_503_when_the_database_is_gone(
    tg: FakeTelegram, database_url: str, news_site: FakeNewsSite, clock: FakeClock
) -> None:
    async with running_bot(monitored_settings(tg, database_url, news_site), clock=clock) as bot:
        healthy = await get(bot, "/healthz")
        assert healthy.status_code == 200
        assert healthy.json()["status"] == "ok"
        assert healthy.json()["database"] == "ok"
        assert healthy.json()["last_tick_age_seconds"] < healthy.json()["tick_stale_after_seconds"]

        await _remove_database(bot, database_url)
        sick = await get(bot, "/healthz")

    assert sick.status_code == 503
    assert sick.json()["status"] == "unhealthy"
    assert sick.json()["database"].startswith("unreachable (")
    assert "postgres" not in sick.text and ".db" not in sick.text  # no URL, no path


async def _remove_database(bot: NewsBot, database_url: str) -> None:
    """Take the database away under the running bot."""
    if database_url.startswith("sqlite"):
        await bot.store.engine.dispose()  # the pooled connections hold the file open
        path = Path(database_url.removeprefix("sqlite:///"))
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            if leftover.exists():
                os.replace(leftover, leftover.with_name(leftover.name + ".gone"))
        return
    name = database_url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(PG_URL)
    try:
        await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def _paused(bot: NewsBot) -> bool:
    return await bot.store.state.get_time(SENDING_PAUSED_UNTIL) is not None


async def _articles(bot: NewsBot, count: int) -> bool:
    return await bot.store.articles.count() >= count


def _got(reader: Person, title: str) -> bool:
    return any(title in m.plain_text for m in reader.inbox())
