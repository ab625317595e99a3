"""An item older than the retention window is never new again, so never delivered twice.

A dated item past the window is never stored again; an undated one (its date is its
first fetch) is kept while its feed still lists it, and goes 30 days after it stopped.

Digests are planned from the new articles a poll reports (``new_article_ids``);
an item that is not stored again after pruning cannot reach a digest again.
Real HTTP to the fake news site, the real poller and store, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import aclosing, asynccontextmanager
from datetime import UTC, datetime, timedelta

import pytest

from bot.settings import Settings, SourceConfig, TopicConfig
from bot.sources.fetcher import Fetcher
from bot.sources.poller import Poller, fetch_limits
from bot.store import Store
from tests.fakes.clock import FakeClock
from tests.fakes.news_site import FakeNewsSite, FeedItem

RETENTION_DAYS = 30
DAY = 86400.0


def item(guid: str, site: FakeNewsSite, published: datetime | None) -> FeedItem:
    return FeedItem(
        title=f"Story {guid} about the harbour",
        link=site.url(f"/s/{guid}"),
        summary=f"<p>What happened in story {guid}.</p>",
        guid=guid,
        published=published,
    )


async def new_guids(poller: Poller, store: Store) -> set[str]:
    """Poll once; the guids of the articles this poll reported new (what gets delivered)."""
    report = await poller.run_cycle()
    ids = set(report.new_article_ids)
    stored = await store.articles.recent(
        ["world"], since=datetime(2000, 1, 1, tzinfo=UTC), limit=1000
    )
    return {a.guid for a in stored if a.id in ids}


def make_settings(url: str) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        topics=[TopicConfig(id="world", name="World")],
        sources=[SourceConfig(name="Harbour", url=url, topics=["world"])],
        poll_interval_seconds=300,
        retention_days=RETENTION_DAYS,
    )


@asynccontextmanager
async def running_poller(store: Store, url: str, clock: FakeClock) -> AsyncIterator[Poller]:
    settings = make_settings(url)
    fetcher = Fetcher.create(fetch_limits(settings.fetch))
    async with aclosing(fetcher):
        poller = Poller(store, fetcher, settings, clock, random.Random(0))
        async with aclosing(poller):
            yield poller


async def stored_guids(store: Store) -> set[str | None]:
    stored = await store.articles.recent(
        ["world"], since=datetime(2000, 1, 1, tzinfo=UTC), limit=1000
    )
    return {a.guid for a in stored}


# A dated item is pruned once past the window (the poller never stores it again); an
# undated one is kept while its feed lists it, even unchanged (304) the whole time.
@pytest.mark.parametrize(
    ("dated", "pruned_while_listed"), [(True, 1), (False, 0)], ids=["dated", "undated"]
)
async def test_an_item_past_retention_is_never_new_again(
    store: Store, site: FakeNewsSite, dated: bool, pruned_while_listed: int
) -> None:
    clock = FakeClock()
    published = clock.now - timedelta(hours=1) if dated else None
    url = site.add_feed("/harbour.xml", items=[item("old", site, published)])
    async with running_poller(store, url, clock) as poller:
        first = await new_guids(poller, store)
        for _ in range(RETENTION_DAYS + 1):  # a month of the feed unchanged: 304s
            clock.advance(DAY)
            assert await new_guids(poller, store) == set()
        pruned = await poller.prune()
        # The feed changes (no 304) and still carries the old item.
        site.publish("/harbour.xml", item("fresh", site, clock.now - timedelta(hours=1)))
        second = await new_guids(poller, store)
        clock.advance(DAY)
        site.publish("/harbour.xml", item("later", site, clock.now - timedelta(hours=1)))
        third = await new_guids(poller, store)

    assert site.hits("/harbour.xml") == RETENTION_DAYS + 4
    assert first == {"old"}
    assert pruned == pruned_while_listed
    assert second == {"fresh"}  # "old" is not new again: it would be delivered twice
    assert third == {"later"}


async def test_an_undated_item_dropped_by_its_feed_goes_a_retention_period_after_last_listed(
    store: Store, site: FakeNewsSite
) -> None:
    clock = FakeClock()
    url = site.add_feed("/harbour.xml", items=[item("old", site, None)])
    async with running_poller(store, url, clock) as poller:
        await new_guids(poller, store)
        clock.advance(10 * DAY)
        fresh = item("fresh", site, clock.now - timedelta(hours=1))
        site.add_feed("/harbour.xml", items=[fresh])  # "old" is no longer listed
        assert await new_guids(poller, store) == {"fresh"}
        clock.advance((RETENTION_DAYS - 11) * DAY)  # 29 days since "old" was last listed
        kept = await poller.prune()
        clock.advance(2 * DAY)
        pruned = await poller.prune()

    assert (kept, pruned) == (0, 1)
    assert await stored_guids(store) == {"fresh"}
