"""Ingestion benchmark: 1,000 feeds from the fake news site, cold then warm (all 304).

    .venv/bin/python -m bench.ingest [--feeds 1000] [--items 40] [--repeat 3]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--parsers] [--profile]

Runs from the repository root. The fake site runs in its own process, so the
CPU seconds reported are this process only (poller, parsing, store client).
Each repeat uses a fresh database (a new SQLite file, or a new PostgreSQL
database created through ``--database-url`` and dropped afterwards).

CPU: besides this process's own CPU seconds, each cycle reports the CPU
seconds of the parse processes (every descendant of this process but the
site) and of the fake site, read from /proc (Linux; 0 elsewhere), so the
whole 2-core budget is visible.

Memory: "peak RSS" is ``resource.getrusage(RUSAGE_SELF).ru_maxrss``, the
process high-water mark; the cold cycle's growth of it is only meaningful in
the first repeat (later repeats reuse the memory), so that one is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import random
import resource
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from bot.app import tune_garbage_collector
from bot.settings import FetchSettings, Settings, SourceConfig, TopicConfig
from bot.sources.fetcher import Fetcher
from bot.sources.parse_pool import default_parse_processes
from bot.sources.poller import CycleReport, Poller, fetch_limits
from bot.store import open_store

REPO_ROOT = Path(__file__).resolve().parent.parent
# The fake items are dated up to ~2 days before 14 May 2024 18:00 UTC; at this
# clock they are all fresh, so story grouping does its full work (worst case).
FRESH_CLOCK = datetime(2024, 5, 14, 19, 0, tzinfo=UTC)
TOPICS = [
    TopicConfig(id=name.lower(), name=name)
    for name in ("World", "Politics", "Business", "Technology", "Science", "Sport", "Health")
]


@dataclass(frozen=True, slots=True)
class CycleNumbers:
    """One measured cycle; ``cpu_seconds`` is this process, the others are the children."""

    wall_seconds: float
    cpu_seconds: float
    feeds: int
    failed: int
    new_articles: int
    rss_growth_mb: float
    parse_cpu_seconds: float = 0.0
    site_cpu_seconds: float = 0.0

    @property
    def feeds_per_second(self) -> float:
        return self.feeds / self.wall_seconds if self.wall_seconds else 0.0


class FixedClock:
    """The benchmark's clock: a fixed instant that moves only when told."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass(frozen=True, slots=True)
class ChildCpu:
    """CPU seconds used so far by this process's descendants: the site and the rest."""

    site: float
    others: float


def _stat_fields(pid: str) -> list[str] | None:
    """/proc/<pid>/stat after the command name (state, ppid, ..., utime, stime, ...)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None  # gone, or not Linux


def child_cpu(site_pid: int) -> ChildCpu:
    """CPU seconds (user + system) of the fake site and of every other descendant."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    parents: dict[int, int] = {}
    seconds: dict[int, float] = {}
    for entry in Path("/proc").glob("[0-9]*"):
        fields = _stat_fields(entry.name)
        if fields is not None and len(fields) > 12:
            parents[int(entry.name)] = int(fields[1])
            seconds[int(entry.name)] = (int(fields[11]) + int(fields[12])) / tick
    site = others = 0.0
    for pid, cpu in seconds.items():
        ancestor = parents.get(pid)
        while ancestor is not None and ancestor not in (os.getpid(), site_pid, 0, 1):
            ancestor = parents.get(ancestor)
        if pid == site_pid or ancestor == site_pid:
            site += cpu
        elif ancestor == os.getpid():
            others += cpu
    return ChildCpu(site=site, others=others)


# --- the fake site in its own process ------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunningSite:
    """The fake news site's base URL and process id."""

    base_url: str
    pid: int


@asynccontextmanager
async def fake_site(feeds: int, items: int) -> AsyncIterator[RunningSite]:
    """Start ``python -m tests.fakes.news_site``; yield its URL and process id."""
    command = [sys.executable, "-m", "tests.fakes.news_site", "--feeds", str(feeds)]
    command += ["--items", str(items), "--port", "0"]
    process = await asyncio.create_subprocess_exec(
        *command, cwd=REPO_ROOT, stdout=asyncio.subprocess.PIPE
    )
    try:
        assert process.stdout is not None
        base_url = (await process.stdout.readline()).decode().strip()
        if not base_url.startswith("http"):
            raise RuntimeError(f"fake site did not start: {base_url!r}")
        yield RunningSite(base_url, process.pid)
    finally:
        process.terminate()
        await process.wait()


# --- databases ----------------------------------------------------------------------


@asynccontextmanager
async def fresh_database(admin_url: str | None) -> AsyncIterator[str]:
    """A URL of an empty database: a temporary SQLite file, or a new PostgreSQL database."""
    if admin_url is None:
        with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as folder:
            yield f"sqlite:///{folder}/bench.db"
        return
    import asyncpg

    name = f"newsbot_bench_{uuid.uuid4().hex[:10]}"
    plain = admin_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(plain)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    try:
        yield plain.rsplit("/", 1)[0] + f"/{name}"
    finally:
        conn = await asyncpg.connect(plain)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()


# --- one repeat ---------------------------------------------------------------------------


def bench_settings(base_url: str, feeds: int, connections: int) -> Settings:
    """1,000 feed sources on one host; the per-host cap is lifted (real feeds are on many)."""
    sources = [
        SourceConfig(name=f"feed{i:04d}", url=f"{base_url}/feeds/{i}.xml", topics=["world"])
        for i in range(feeds)
    ]
    fetch = FetchSettings(max_connections=connections, max_per_host=connections)
    return Settings(_env_file=None, topics=TOPICS, sources=sources, fetch=fetch)  # type: ignore[call-arg]


async def measured(cycle: Callable[[], object], site_pid: int) -> CycleNumbers:
    """Run one cycle and measure it."""
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children_before = child_cpu(site_pid)
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    report: CycleReport = await cycle()  # type: ignore[misc]
    wall = time.perf_counter() - wall_before
    cpu = time.process_time() - cpu_before
    children = child_cpu(site_pid)
    rss_growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before) / 1024
    return CycleNumbers(
        wall_seconds=wall,
        cpu_seconds=cpu,
        feeds=len(report.results),
        failed=len(report.failed),
        new_articles=len(report.new_article_ids),
        rss_growth_mb=rss_growth,
        parse_cpu_seconds=children.others - children_before.others,
        site_cpu_seconds=children.site - children_before.site,
    )


async def profiled(
    profiler: cProfile.Profile | None, is_profiled: bool, poller: Poller, site_pid: int
) -> CycleNumbers:
    """``measured(poller.run_cycle)``, under the profiler when asked."""
    if profiler is None or not is_profiled:
        return await measured(poller.run_cycle, site_pid)
    profiler.enable()
    try:
        return await measured(poller.run_cycle, site_pid)
    finally:
        profiler.disable()


async def one_repeat(
    options: argparse.Namespace,
    site: RunningSite,
    profiler: cProfile.Profile | None,
    executor: Executor | None,
) -> tuple[CycleNumbers, CycleNumbers]:
    """A fresh store, one cold cycle and one warm cycle."""
    clock = FixedClock(FRESH_CLOCK if options.clock == "fresh" else datetime.now(UTC))
    settings = bench_settings(site.base_url, options.feeds, options.connections)
    limits = fetch_limits(settings.fetch)
    async with fresh_database(options.database_url) as url:
        store = await open_store(url, clock=clock)
        try:
            fetcher = Fetcher.create(limits, settings.fetch.http_client)
            async with aclosing(fetcher):
                poller = Poller(
                    store,
                    fetcher,
                    settings,
                    clock,
                    random.Random(0),
                    parse_executor=executor,
                    parse_processes=options.workers,
                )
                await poller.sync_sources()
                await poller.start_parsers()  # as `newsbot run` does at start
                cold = await profiled(profiler, options.profile == "cold", poller, site.pid)
                clock.now += timedelta(seconds=1)
                warm = await profiled(profiler, options.profile == "warm", poller, site.pid)
        finally:
            await store.close()
    return cold, warm


# --- parser comparison -----------------------------------------------------------------


async def fetch_bodies(base_url: str, feeds: int) -> list[bytes]:
    """Every benchmark feed's body, fetched once."""
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=20)) as client:
        semaphore = asyncio.Semaphore(20)

        async def one(index: int) -> bytes:
            async with semaphore:
                return (await client.get(f"{base_url}/feeds/{index}.xml")).content

        return list(await asyncio.gather(*(one(i) for i in range(feeds))))


def parser_choices() -> dict[str, Callable[[bytes], object]]:
    """The parsing options timed side by side; fastfeedparser only when installed."""
    import feedparser

    from bot.sources.feeds import _read_rss_fast, parse_feed
    from bot.sources.ingest import SourceProfile, prepare_feed, prepare_feed_rows

    profile = SourceProfile(topics=("world",), topic_catalogue=tuple(TOPICS), default_tz=UTC)
    url = "http://127.0.0.1/feeds/0.xml"
    choices: dict[str, Callable[[bytes], object]] = {
        "feedparser (defaults)": feedparser.parse,
        "feedparser (sanitize_html, resolve_relative_uris off)": lambda body: feedparser.parse(
            body, sanitize_html=False, resolve_relative_uris=False
        ),
        "bot lxml RSS reader (raw items, no cleaning)": lambda body: _read_rss_fast(body, None),
        "bot parse_feed (lxml reader + cleaning)": lambda body: parse_feed(
            body, url=url, fetched_at=FRESH_CLOCK
        ),
        "bot prepare_feed (parse_feed + classify + signature)": lambda body: prepare_feed(
            body, url=url, content_type=None, fetched_at=FRESH_CLOCK, profile=profile
        ),
        "bot prepare_feed_rows (what the parse processes run)": lambda body: prepare_feed_rows(
            body, url=url, content_type=None, fetched_at=FRESH_CLOCK, profile=profile
        ),
    }
    try:
        import fastfeedparser
    except ImportError:
        return choices
    choices["fastfeedparser"] = fastfeedparser.parse
    return choices


def time_parsers(bodies: Sequence[bytes]) -> list[tuple[str, float]]:
    """(choice, seconds for all bodies), each on the same bodies in this process."""
    timings = []
    for name, parse in parser_choices().items():
        started = time.process_time()
        for body in bodies:
            parse(body)
        timings.append((name, time.process_time() - started))
    return timings


def fastfeedparser_checks() -> list[str]:
    """What fastfeedparser does with the date format and JSON Feed noted in the field notes."""
    try:
        import fastfeedparser
    except ImportError:
        return ["fastfeedparser not installed"]
    rss = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item>'
        b"<title>x</title><link>http://e.x/1</link>"
        b"<pubDate>Thursday, November 15, 2018 04:12 PM +0530</pubDate></item></channel></rss>"
    )
    jsonfeed = (
        b'{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": '
        b'[{"id": "1", "url": "http://e.x/1", "title": "x", "content_text": "y"}]}'
    )
    lines = []
    date = fastfeedparser.parse(rss).entries[0].get("published")
    lines.append(f"RSS date 'Thursday, November 15, 2018 04:12 PM +0530' -> {date!r} "
                 "(right: 2018-11-15T10:42:00Z)")  # fmt: skip
    try:
        parsed = fastfeedparser.parse(jsonfeed)
        lines.append(
            f"JSON Feed: {len(parsed.entries)} entry, title {parsed.entries[0].get('title')!r}"
        )
    except Exception as err:  # a report line, not a failure
        lines.append(f"JSON Feed: {type(err).__name__}: {err}")
    return lines


# --- output ------------------------------------------------------------------------------


def median_row(label: str, runs: Sequence[CycleNumbers]) -> str:
    wall = statistics.median(r.wall_seconds for r in runs)
    rate = statistics.median(r.feeds_per_second for r in runs)
    cpu = statistics.median(r.cpu_seconds for r in runs)
    parse_cpu = statistics.median(r.parse_cpu_seconds for r in runs)
    site_cpu = statistics.median(r.site_cpu_seconds for r in runs)
    new = statistics.median(r.new_articles for r in runs)
    failed = max(r.failed for r in runs)
    return (
        f"| {label} | {wall:.2f} | {rate:.0f} | {cpu:.2f} | {parse_cpu:.2f} | {site_cpu:.2f} "
        f"| {new:.0f} | {failed} |"
    )


def print_results(cold: Sequence[CycleNumbers], warm: Sequence[CycleNumbers]) -> None:
    print(f"\nmedians of {len(cold)} repeats")
    print("| cycle | wall s | feeds/s | CPU s | parse processes CPU s | site CPU s "
          "| new articles | failed (max) |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print(median_row("cold (all new)", cold))
    print(median_row("warm (all 304)", warm))
    print(f"peak RSS growth in the first cold cycle: {cold[0].rss_growth_mb:.0f} MB "
          f"(ru_maxrss high-water mark; process peak now "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB)")  # fmt: skip
    for index, (c, w) in enumerate(zip(cold, warm, strict=True), start=1):
        print(f"  repeat {index}: cold {c.wall_seconds:.2f} s ({c.cpu_seconds:.2f} + "
              f"{c.parse_cpu_seconds:.2f} + {c.site_cpu_seconds:.2f} CPU s), "
              f"warm {w.wall_seconds:.2f} s ({w.cpu_seconds:.2f} + {w.parse_cpu_seconds:.2f} + "
              f"{w.site_cpu_seconds:.2f} CPU s)")  # fmt: skip


def thread_cpu_profiler() -> cProfile.Profile:
    """cProfile timed by the event-loop thread's CPU clock, not the wall clock: with
    the wall clock, time spent waiting for the GIL (held by the store, grouping
    and process-pool threads) was charged to whatever the loop was running.
    """
    return cProfile.Profile(time.thread_time)


def print_profile(profiler: cProfile.Profile) -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(25)
    print("\ncProfile of the first repeat (event-loop thread only, its CPU time), by own time:")
    print(out.getvalue())


# --- main -------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connections", type=int, default=20, help="fetch connections")
    parser.add_argument("--database-url", help="PostgreSQL server URL (default: SQLite file)")
    parser.add_argument(
        "--clock",
        choices=("fresh", "now"),
        default="fresh",
        help="fresh: items within the 48 h grouping window (default); now: all items old",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        help="parse in N processes of the bench's own pool (0: a worker thread; "
        "default: the Poller's default, the shared pool of default_parse_processes())",
    )
    parser.add_argument("--parsers", action="store_true", help="also time parser choices")
    parser.add_argument(
        "--profile", choices=("cold", "warm"), help="cProfile the first cold or warm cycle"
    )
    return parser.parse_args(argv)


async def run(options: argparse.Namespace) -> None:
    db = options.database_url or "SQLite (temporary file)"
    workers = default_parse_processes() if options.workers is None else options.workers
    parsing = f"{workers} processes" if workers else "a worker thread"
    print(f"{options.feeds} feeds x {options.items} items, database {db}, clock {options.clock}, "
          f"parsing in {parsing}")  # fmt: skip
    executor = ProcessPoolExecutor(options.workers) if options.workers else None
    async with fake_site(options.feeds, options.items) as site:
        tune_garbage_collector()  # as `newsbot ingest` and `newsbot run` do
        colds, warms = [], []
        for index in range(options.repeat):
            profiler = thread_cpu_profiler() if options.profile and index == 0 else None
            cold, warm = await one_repeat(options, site, profiler, executor)
            colds.append(cold)
            warms.append(warm)
            if profiler:
                print_profile(profiler)
        print_results(colds, warms)
        if options.parsers:
            bodies = await fetch_bodies(site.base_url, options.feeds)
            print(f"\nparsing the same {len(bodies)} bodies, CPU seconds (one thread):")
            for name, seconds in time_parsers(bodies):
                print(f"| {name} | {seconds:.2f} s | {len(bodies) / seconds:.0f} feeds/s |")
            for line in fastfeedparser_checks():
                print(f"  {line}")
    if executor is not None:
        executor.shutdown()


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print its tables."""
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
