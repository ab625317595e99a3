"""The poller end to end: the fake news site over real HTTP, the real store on both databases."""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import AsyncIterator, Sequence
from contextlib import aclosing, asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from bot.errors import ParseError
from bot.settings import FetchSettings, Settings, SourceConfig, TopicConfig
from bot.sources.fetcher import Fetcher
from bot.sources.parse_pool import ParsePool
from bot.sources.poller import CycleReport, Poller, SourceResult, fetch_limits
from bot.sources.report import cycle_table, health_table, progress_line
from bot.store import Store, open_store
from bot.store.records import Article, Source
from tests.conftest import DATA_DIR
from tests.fakes.clock import FakeClock
from tests.fakes.news_site import FakeNewsSite, FeedItem, make_items

DATA = DATA_DIR
TNIE_FILE = "tnie-world-2018-11-15-russia-japan.txt"
TNIE_HEADLINE = (
    "World War II finally ends: Russia and Japan to accelerate peace treaty talks "
    "stalled by island row"
)
TOPICS = [
    TopicConfig(id="world", name="World"),
    TopicConfig(id="business", name="Business"),
    TopicConfig(id="politics", name="Politics"),
    TopicConfig(id="sport", name="Sport", aliases=["sports"]),
    TopicConfig(id="science", name="Science"),
]
ALL_TOPICS = [t.id for t in TOPICS]
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def make_settings(sources: Sequence[SourceConfig], **overrides: Any) -> Settings:
    # make_items dates its stories in May 2024: keep them unless a test says otherwise.
    overrides.setdefault("retention_days", 100 * 365)
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        topics=TOPICS,
        sources=list(sources),
        poll_interval_seconds=300,
        **overrides,
    )


def feed(name: str, url: str, **extra: Any) -> SourceConfig:
    return SourceConfig(name=name, url=url, topics=["world"], **extra)


@asynccontextmanager
async def running_poller(
    store: Store, settings: Settings, clock: FakeClock
) -> AsyncIterator[Poller]:
    fetcher = Fetcher.create(fetch_limits(settings.fetch))
    async with aclosing(fetcher):
        poller = Poller(store, fetcher, settings, clock, random.Random(0))
        async with aclosing(poller):
            yield poller


async def source_named(store: Store, name: str) -> Source:
    return next(s for s in await store.sources.all() if s.name == name)


async def articles(store: Store) -> list[Article]:
    return await store.articles.recent(ALL_TOPICS, since=LONG_AGO, limit=10_000)


def recent_item(title: str, lead: str, link: str, guid: str, clock: FakeClock) -> FeedItem:
    return FeedItem(
        title=title,
        link=link,
        summary=f"<p>{lead}</p>",
        guid=guid,
        published=clock.now - timedelta(hours=1),
        categories=("World",),
    )


def the(report: CycleReport, name: str) -> SourceResult:
    result = report.result(name)
    assert result is not None, f"{name} was not polled"
    return result


# --- first and later cycles --------------------------------------------------------


async def test_first_cycle_stores_every_item_with_its_topics(
    store: Store, site: FakeNewsSite, clock: FakeClock
) -> None:
    items = make_items(12, seed=1, prefix="world", base_url=site.base_url)
    rss = site.add_feed("/world.xml", items=items, fmt="rss")
    atom = site.add_feed(
        "/atom.xml", items=make_items(5, seed=2, prefix="atom", base_url=site.base_url), fmt="atom"
    )
    settings = make_settings([feed("World", rss), feed("Atom", atom)])
    async with running_poller(store, settings, clock) as poller:
        report = await poller.tick()

    assert (the(report, "World").status, the(report, "World").new) == ("new", 12)
    assert (the(report, "Atom").status, the(report, "Atom").new) == ("new", 5)
    stored = await articles(store)
    assert len(stored) == 17
    assert sorted(report.new_article_ids) == sorted(a.id for a in stored)
    by_url = {a.url: a for a in stored}
    for item in items:
        article = by_url[item.link]
        assert article.headline == item.title
        expected = {"world"} | {c.lower() for c in item.categories if c.lower() in ALL_TOPICS}
        assert expected <= set(article.topics)
        assert article.published_at == item.published


async def test_second_cycle_is_all_not_modified_and_parses_nothing(
    store: Store, site: FakeNewsSite, clock: FakeClock
) -> None:
    urls = [
        site.add_feed(f"/f{i}.xml", items=make_items(4, seed=i, prefix=f"f{i}")) for i in range(3)
    ]
    settings = make_settings([feed(f"F{i}", url) for i, url in enumerate(urls)])
    async with running_poller(store, settings, clock) as poller:
        await poller.run_cycle()
        second = await poller.run_cycle()

    assert {r.status for r in second.results} == {"not_modified"}
    assert all((r.new, r.updated, r.unchanged) == (0, 0, 0) for r in second.results)
    assert second.new_article_ids == ()
    for i in range(3):
        assert site.not_modified[f"/f{i}.xml"] == 1
        assert site.last_request_headers(f"/f{i}.xml")["If-None-Match"]
    assert len(await articles(store)) == 12


async def test_a_new_item_appears_after_the_next_cycle_exactly_once(
    store: Store, site: FakeNewsSite, clock: FakeClock
) -> None:
    url = site.add_feed("/news.xml", items=make_items(5, seed=3, prefix="news"))
    settings = make_settings([feed("News", url)])
    breaking = recent_item(
        "Volcano erupts near Reykjavik", "Iceland declared an emergency.", url + "/b", "b-1", clock
    )
    async with running_poller(store, settings, clock) as poller:
        await poller.run_cycle()
        site.publish("/news.xml", breaking)
        second = await poller.run_cycle()
        third = await poller.run_cycle()

    assert (the(second, "News").status, the(second, "News").new) == ("new", 1)
    assert the(second, "News").unchanged == 5
    assert len(second.new_article_ids) == 1
    assert the(third, "News").status == "not_modified"
    stored = await articles(store)
    assert len(stored) == 6
    assert [a.headline for a in stored].count("Volcano erupts near Reykjavik") == 1
    assert second.new_article_ids == tuple(a.id for a in stored if a.guid == "b-1")


# --- failures ----------------------------------------------------------------------


async def test_server_error_is_recorded_with_backoff_and_other_sources_succeed(
    store: Store, site: FakeNewsSite, clock: FakeClock
) -> None:
    good = site.add_feed("/good.xml", items=make_items(3, seed=4, prefix="good"))
    bad = site.add_feed("/bad.xml", items=make_items(3, seed=5, prefix="bad"))
    site.fail("/bad.xml", 500)
    settings = make_settings([feed("Good", good), feed("Bad", bad)])
    async with running_poller(store, settings, clock) as poller:
        report = await poller.tick()
        failed = await source_named(store, "Bad")
        clock.advance(3 * 3600)  # past any backoff: the bad source is due again
        again = await poller.tick()

    assert the(report, "Good").status == "new"
    assert the(report, "Bad").status == "failed"
    assert "500" in (the(report, "Bad").error or "")
    assert failed.error_count == 1
    assert failed.last_error and "HTTP 500" in failed.last_error
    # Backoff: at least the poll interval, at most twice it for a first failure.
    wait = (failed.next_poll_at - clock.now + timedelta(seconds=3 * 3600)).total_seconds()
    assert 300 <= wait <= 600
    assert (await source_named(store, "Bad")).error_count == 2
    assert the(again, "Bad").status == "failed"


async def test_recovery_clears_the_error_count(
    store: Store, site: FakeNewsSite, clock: FakeClock
) -> None:
    url = site.add_feed("/flaky.xml", items=make_items(2, seed=6, prefix="flaky"))
    site.fail("/flaky.xml", 503, times=1)
    async with running_poller(store, make_settings([feed("Flaky", url)]), clock) as poller:
        first = await poller.run_cycle()
        second = await poller.run_cycle()
    source = await source_named(store, "Flaky")
    assert (the(first, "Flaky").status, the(second, "Flaky").status) == ("failed", "new")
    assert (source.error_count, source.last_error) == (0, None)
    assert source.last_success_at is not None


async def test_timeout_is_recorded(store: Store, site: FakeNewsSite, clock: FakeClock) -> None:
    slow = site.add_feed("/slow.xml", items=make_items(2, seed=7, prefix="slow"))
    fast = site.add_feed("/fast.xml", items=make_items(2, seed=8, prefix="fast"))
    site.delay("/slow.xml", 5)
    settings = make_settings(
        [feed("Slow", slow), feed("Fast", fast)], fetch=FetchSettings(timeout_seconds=0.3)
    )
    async with running_poller(store, settings, clock) as poller:
        report = await poller.tick()
    assert the(report, "Slow").status == "failed"
    assert "0.3 s" in (the(report, "Slow").error or "")
    assert the(report, "Fast").status == "new"
    assert (await source_named(store, "Slow")).error_count == 1


async def test_garbage_body_is_recorded_as_a_parse_error(
    store: Store, site: FakeNewsSite, clock: FakeClock
) -> None:
    url = site.add_feed("/junk.xml", items=make_items(2, seed=9, prefix="junk"))
    site.garbage("/junk.xml")
    async with running_poller(store, make_settings([feed("Junk", url)]), clock) as poller:
        report = await poller.tick()
    source = await source_named(store, "Junk")
    assert the(report, "Junk").status == "failed"
    assert source.error_count == 1
    assert "feed" in (source.last_error or "").lower()
    assert await articles(store) == []


@pytest.mark.parametrize("with_length", [True, False])
async def test_oversized_body_is_recorded(
    store: Store, site: FakeNewsSite, clock: FakeClock, with_length: bool
) -> None:
    site.huge("/huge.xml", 300_000, with_content_length=with_length)
    settings = make_settings(
        [feed("Huge", site.url("/huge.xml"))], fetch=FetchSettings(max_bytes=50_000)
    )
    async with running_poller(store, settings, clock) as poller:
        report = await poller.tick()
    source = await source_named(store, "Huge")
    assert the(report, "Huge").status == "failed"
    assert "50000" in (source.last_error or "")
    assert source.error_count == 1


async def test_permanent_redirect_is_recorded_not_followed_silently(
    store: Store, site: FakeNewsSite, clock: FakeClock
) -> None:
    new_url = site.add_feed("/new.xml", items=make_items(3, seed=10, prefix="moved"))
    site.redirect("/old.xml", "/new.xml", permanent=True)
    temp_url = site.add_feed("/temp-target.xml", items=make_items(2, seed=11, prefix="temp"))
    site.redirect("/temp.xml", "/temp-target.xml", permanent=False)
    settings = make_settings(
        [feed("Moved", site.url("/old.xml")), feed("Temp", site.url("/temp.xml"))],
        fetch={"allowed_hosts": [site.host_port]},  # redirects are guarded
    )
    async with running_poller(store, settings, clock) as poller:
        report = await poller.tick()
    moved = await source_named(store, "Moved")
    assert the(report, "Moved").new == 3
    assert moved.redirect_url == new_url
    assert moved.url == site.url("/old.xml")
    assert (await source_named(store, "Temp")).redirect_url is None
    assert temp_url != site.url("/temp.xml")


# --- the durable plan --------------------------------------------------------------


async def test_restart_resumes_the_plan_from_next_poll_at(
    store: Store, site: FakeNewsSite, clock: FakeClock
) -> None:
    url = site.add_feed("/plan.xml", items=make_items(3, seed=12, prefix="plan"))
    settings = make_settings([feed("Plan", url)])
    async with running_poller(store, settings, clock) as poller:
        first = await poller.tick()
    planned = (await source_named(store, "Plan")).next_poll_at
    async with running_poller(store, settings, clock) as restarted:
        nothing = await restarted.tick()
        hits_before = site.hits("/plan.xml")
        clock.advance(301 * 1.1)
        later = await restarted.tick()

    assert the(first, "Plan").status == "new"
    assert 270 <= (planned - clock.now).total_seconds() + 301 * 1.1 <= 330  # 300 s +-10 %
    assert nothing.results == ()
    assert hits_before == 1
    assert the(later, "Plan").status == "not_modified"


async def test_run_cycle_polls_one_named_source_even_when_not_due(
    store: Store, site: FakeNewsSite, clock: FakeClock
) -> None:
    a = site.add_feed("/a.xml", items=make_items(2, seed=13, prefix="a"))
    b = site.add_feed("/b.xml", items=make_items(2, seed=14, prefix="b"))
    seen: list[str] = []
    async with running_poller(store, make_settings([feed("A", a), feed("B", b)]), clock) as poller:
        await poller.tick()
        report = await poller.run_cycle("A", progress=lambda r: seen.append(progress_line(r)))
    assert [r.name for r in report.results] == ["A"]
    assert the(report, "A").status == "not_modified"
    assert len(seen) == 1 and seen[0].startswith("· A: not modified")


# --- story grouping ------------------------------------------------------------------


def _pairs(name: str) -> list[dict[str, dict[str, str]]]:
    return json.loads((DATA / "clusters" / name).read_text())


async def test_same_story_from_two_sources_ends_in_one_cluster(
    store: Store, site: FakeNewsSite, clock: FakeClock
) -> None:
    same = _pairs("same_story.json")[0]  # Putin-Abe peace treaty talks, Reuters vs AP
    other = _pairs("different_story.json")[0]  # Fed holds vs ECB cuts: same template only

    def item(story: dict[str, str], key: str) -> FeedItem:
        return recent_item(story["headline"], story["lead"], site.url(f"/s/{key}"), key, clock)

    wire = site.add_feed("/wire.xml", items=[item(same["a"], "a1"), item(other["a"], "a2")])
    outlet = site.add_feed("/outlet.xml", items=[item(other["b"], "b2")])
    settings = make_settings([feed("Wire", wire), feed("Outlet", outlet)])
    async with running_poller(store, settings, clock) as poller:
        await poller.tick()
    site.publish("/outlet.xml", item(same["b"], "b1"))
    clock.advance(3600)
    # A new Poller: the grouping index is rebuilt from the stored signatures.
    async with running_poller(store, settings, clock) as restarted:
        report = await restarted.run_cycle()

    assert the(report, "Outlet").new == 1
    cluster = {a.guid: a.cluster_id for a in await articles(store)}
    assert cluster["b1"] == cluster["a1"]
    assert len({cluster["a1"], cluster["a2"], cluster["b2"]}) == 3


async def test_two_poller_processes_group_the_same_story_into_one_cluster(
    pg_database_url: str, site: FakeNewsSite, clock: FakeClock
) -> None:
    """Poller A stores the Reuters version after poller B loaded its grouping index;
    B, polling the AP version, still joins A's story (it catches up before grouping).
    Separate poller processes need PostgreSQL; on SQLite one process polls everything."""
    store = await open_store(pg_database_url)
    same = _pairs("same_story.json")[0]

    def item(story: dict[str, str], key: str) -> FeedItem:
        return recent_item(story["headline"], story["lead"], site.url(f"/s/{key}"), key, clock)

    wire = site.add_feed("/wire.xml", items=[item(same["a"], "a1")])
    outlet = site.add_feed("/outlet.xml", items=[])
    settings = make_settings([feed("Wire", wire), feed("Outlet", outlet)])
    other_process = await open_store(pg_database_url)  # its own engine: another process
    try:
        async with (
            running_poller(store, settings, clock) as poller_a,
            running_poller(other_process, settings, clock) as poller_b,
        ):
            await poller_b.run_cycle("Outlet")  # B's index is loaded now, and empty
            await poller_a.run_cycle("Wire")
            site.publish("/outlet.xml", item(same["b"], "b1"))
            await poller_b.run_cycle("Outlet")
        cluster = {a.guid: a.cluster_id for a in await articles(store)}
    finally:
        await other_process.close()
        await store.close()

    assert cluster["b1"] == cluster["a1"]


async def test_same_story_within_one_cycle_joins_across_sources_only(
    store: Store, site: FakeNewsSite, clock: FakeClock
) -> None:
    same = _pairs("same_story.json")[1]  # Fed holds rates: wire vs business TV
    quake = _pairs("same_story.json")[2]  # Sulawesi quake: two copies in one feed

    def item(story: dict[str, str], key: str) -> FeedItem:
        return recent_item(story["headline"], story["lead"], site.url(f"/s/{key}"), key, clock)

    one = site.add_feed("/one.xml", items=[item(same["a"], "x1"), item(quake["a"], "q1")])
    two = site.add_feed("/two.xml", items=[item(same["b"], "y1")])
    solo = site.add_feed("/solo.xml", items=[item(quake["b"], "q2"), item(quake["a"], "q3")])
    sources = [feed("One", one), feed("Two", two), feed("Solo", solo)]
    async with running_poller(store, make_settings(sources), clock) as poller:
        await poller.tick()
    cluster = {a.guid: a.cluster_id for a in await articles(store)}
    assert cluster["x1"] == cluster["y1"]
    # Solo's two copies are never merged with each other; each may join One's copy.
    assert cluster["q2"] != cluster["q3"] or cluster["q2"] == cluster["q1"]
    assert cluster["x1"] != cluster["q1"]


# --- other kinds of source -------------------------------------------------------------


async def test_folder_source_reads_the_article_file(
    store: Store, clock: FakeClock, data_dir: Path, tmp_path: Path
) -> None:
    folder = tmp_path / "articles"
    folder.mkdir()
    shutil.copy(data_dir / "articles" / TNIE_FILE, folder / TNIE_FILE)
    source = SourceConfig(
        name="TNIE", kind="folder", path=str(folder), topics=["world"], timezone="Asia/Kolkata"
    )
    async with running_poller(store, make_settings([source]), clock) as poller:
        first = await poller.run_cycle()
        second = await poller.run_cycle()
    [article] = await articles(store)
    assert (the(first, "TNIE").status, the(first, "TNIE").new) == ("new", 1)
    assert (the(second, "TNIE").status, the(second, "TNIE").unchanged) == ("unchanged", 1)
    assert article.headline == TNIE_HEADLINE
    assert "world" in article.topics
    assert article.published_at == datetime(2018, 11, 15, 13, 46, tzinfo=UTC)  # 07:16 PM IST


async def test_missing_folder_is_a_recorded_failure(
    store: Store, clock: FakeClock, tmp_path: Path
) -> None:
    source = SourceConfig(name="Gone", kind="folder", path=str(tmp_path / "nope"))
    async with running_poller(store, make_settings([source]), clock) as poller:
        report = await poller.run_cycle()
    assert the(report, "Gone").status == "failed"
    assert (await source_named(store, "Gone")).error_count == 1


async def test_pages_source_extracts_each_page_and_skips_a_missing_one(
    store: Store, site: FakeNewsSite, clock: FakeClock
) -> None:
    html = (DATA / "pages" / "world_quake_og.html").read_bytes()
    page = site.serve_file("/quake.html", html, content_type="text/html; charset=utf-8")
    source = SourceConfig(name="Pages", kind="pages", pages=[page, site.url("/missing.html")])
    async with running_poller(store, make_settings([source]), clock) as poller:
        report = await poller.run_cycle()
    [article] = await store.articles.search(["Hokkaido"])
    assert (the(report, "Pages").status, the(report, "Pages").new) == ("new", 1)
    assert article.headline == "Strong quake shakes Japan's Hokkaido, cutting power to millions"


async def test_fetch_pages_completes_an_item_without_summary(
    store: Store, site: FakeNewsSite, clock: FakeClock
) -> None:
    html = (DATA / "pages" / "world_quake_og.html").read_bytes()
    page = site.serve_file("/quake.html", html, content_type="text/html; charset=utf-8")
    bare = FeedItem("Strong quake shakes Japan's Hokkaido", page, "", "q-1", clock.now)
    broken = FeedItem("Storm hits the coast", site.url("/gone.html"), "", "q-2", clock.now)
    url = site.add_feed("/bare.xml", items=[bare, broken])
    settings = make_settings(
        [feed("Bare", url, fetch_pages=True)],
        fetch={"allowed_hosts": [site.host_port]},  # item pages are guarded
    )
    async with running_poller(store, settings, clock) as poller:
        report = await poller.run_cycle()
    stored = {a.guid: a for a in await articles(store)}
    assert the(report, "Bare").new == 2
    assert stored["q-1"].summary.startswith("A magnitude 6.7 earthquake struck")
    assert stored["q-2"].headline == "Storm hits the coast"  # the page failed: feed version kept
    assert site.hits("/quake.html") == 1


# --- retention and reports ------------------------------------------------------------


async def test_items_older_than_retention_are_never_stored(
    store: Store, site: FakeNewsSite, clock: FakeClock
) -> None:
    old = make_items(4, seed=15, prefix="old")  # published in May 2024
    fresh = recent_item("Fresh story", "Still news.", site.url("/s/fresh"), "fresh", clock)
    url = site.add_feed("/mixed.xml", items=[fresh, *old])
    settings = make_settings([feed("Mixed", url)], retention_days=30)
    async with running_poller(store, settings, clock) as poller:
        report = await poller.run_cycle()
        pruned = await poller.prune()
    assert (the(report, "Mixed").new, len(report.new_article_ids)) == (1, 1)
    assert pruned == 0
    assert [a.guid for a in await articles(store)] == ["fresh"]


async def test_prune_deletes_articles_that_aged_past_retention(
    store: Store, site: FakeNewsSite, clock: FakeClock
) -> None:
    story = recent_item("Fresh story", "Still news.", site.url("/s/fresh"), "fresh", clock)
    url = site.add_feed("/aging.xml", items=[story])
    settings = make_settings([feed("Aging", url)], retention_days=30)
    async with running_poller(store, settings, clock) as poller:
        await poller.run_cycle()
        kept = await poller.prune()
        clock.advance(31 * 86400)
        pruned = await poller.prune()
    assert (kept, pruned) == (0, 1)
    assert await articles(store) == []


async def test_report_tables_render(store: Store, site: FakeNewsSite, clock: FakeClock) -> None:
    from rich.console import Console

    ok = site.add_feed("/ok.xml", items=make_items(2, seed=16, prefix="ok"))
    site.fail("/down.xml", 500)
    settings = make_settings([feed("Ok", ok), feed("Down", site.url("/down.xml"))])
    async with running_poller(store, settings, clock) as poller:
        report = await poller.tick()
    console = Console(width=200, record=True)
    console.print(cycle_table(report))
    console.print(health_table(await store.sources.all(), clock.now))
    text = console.export_text()
    assert "HTTP 500" in text
    assert "2 sources" in text and "1 failed" in text
    assert "just now" in text and "in 5 min" in text


async def test_a_parse_worker_that_dies_fails_that_parse_and_the_next_gets_a_fresh_pool() -> None:
    pool = ParsePool(workers=1)
    try:
        with pytest.raises(ParseError, match="parse worker died"):
            await pool.run(partial(os._exit, 1))
        assert await pool.run(partial(sum, [1, 2])) == 3
    finally:
        await pool.aclose()
