"""Ingestion benchmark: 1,000 feeds from the fake news site, cold then warm (all 304).

    .venv/bin/python -m bench.ingest [--feeds 1000] [--items 40] [--repeat 3]
        [--database-url postgresql://postgres@127.0.0.1:5432/postgres] [--profile cold]

Runs from the repository root. The fake site runs in its own process. "CPU s"
is this process (poller, store client, threads) plus its feed parse workers;
"workers CPU s" is the workers' share and "site CPU s" the site's, both read
from /proc (Linux; 0 elsewhere).
Each repeat uses a fresh database (a new SQLite file, or a new PostgreSQL
database created through ``--database-url`` and dropped afterwards).

Budget (docs/capacity.md): warm cycle over 1,000 feeds < 2 s; cold cycle over
1,000 feeds x 40 new items >= 50 feeds/s; medians of 3.

Memory: "peak RSS" is ``resource.getrusage(RUSAGE_SELF).ru_maxrss``, the
process high-water mark after the last cycle.
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
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.settings import FetchSettings, Settings, SourceConfig, TopicConfig
from bot.sources.fetcher import Fetcher
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
    """One measured cycle; ``cpu_seconds`` is this process, ``site_cpu_seconds`` the site's."""

    wall_seconds: float
    cpu_seconds: float
    feeds: int
    failed: int
    new_articles: int
    site_cpu_seconds: float = 0.0
    workers_cpu_seconds: float = 0.0
    workers_peak_mb: float = 0.0

    @property
    def feeds_per_second(self) -> float:
        return self.feeds / self.wall_seconds if self.wall_seconds else 0.0


class FixedClock:
    """The benchmark's clock: a fixed instant that moves only when told."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) the process ``pid`` has used so far; 0 off Linux."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / tick


def children(exclude: int) -> list[int]:
    """Process ids of this process's live children (the parse workers), but ``exclude``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == exclude:
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if int(fields[1]) == os.getpid():
            found.append(int(entry.name))
    return found


def children_cpu(exclude: int) -> float:
    """CPU seconds of this process's live children, but ``exclude``."""
    return sum(process_cpu(pid) for pid in children(exclude))


def children_peak_mb(exclude: int) -> float:
    """Sum of the peak RSS (VmHWM) of this process's live children, but ``exclude``."""
    total = 0.0
    for pid in children(exclude):
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                total += int(line.split()[1]) / 1024
    return total


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


async def measured(cycle: Callable[[], Awaitable[CycleReport]], site_pid: int) -> CycleNumbers:
    """Run one cycle and measure it."""
    site_before, workers_before = process_cpu(site_pid), children_cpu(site_pid)
    cpu_before, wall_before = time.process_time(), time.perf_counter()
    report = await cycle()
    wall = time.perf_counter() - wall_before
    workers = children_cpu(site_pid) - workers_before
    cpu = time.process_time() - cpu_before + workers
    return CycleNumbers(
        wall_seconds=wall,
        cpu_seconds=cpu,
        workers_cpu_seconds=workers,
        workers_peak_mb=children_peak_mb(site_pid),
        feeds=len(report.results),
        failed=len(report.failed),
        new_articles=len(report.new_article_ids),
        site_cpu_seconds=process_cpu(site_pid) - site_before,
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
    options: argparse.Namespace, site: RunningSite, profiler: cProfile.Profile | None
) -> tuple[CycleNumbers, CycleNumbers]:
    """A fresh store, one cold cycle and one warm cycle."""
    clock = FixedClock(FRESH_CLOCK)
    settings = bench_settings(site.base_url, options.feeds, options.connections)
    async with fresh_database(options.database_url) as url:
        store = await open_store(url, clock=clock)
        try:
            async with aclosing(Fetcher.create(fetch_limits(settings.fetch))) as fetcher:
                poller = Poller(
                    store,
                    fetcher,
                    settings,
                    clock,
                    random.Random(0),
                    concurrency=options.concurrency,
                )
                async with aclosing(poller):
                    await poller.sync_sources()
                    cold = await profiled(profiler, options.profile == "cold", poller, site.pid)
                    clock.now += timedelta(seconds=1)
                    warm = await profiled(profiler, options.profile == "warm", poller, site.pid)
        finally:
            await store.close()
    return cold, warm


# --- output ------------------------------------------------------------------------------


def median_row(label: str, runs: Sequence[CycleNumbers]) -> str:
    wall = statistics.median(r.wall_seconds for r in runs)
    rate = statistics.median(r.feeds_per_second for r in runs)
    cpu = statistics.median(r.cpu_seconds for r in runs)
    site_cpu = statistics.median(r.site_cpu_seconds for r in runs)
    workers_cpu = statistics.median(r.workers_cpu_seconds for r in runs)
    new = statistics.median(r.new_articles for r in runs)
    failed = max(r.failed for r in runs)
    return (
        f"| {label} | {wall:.2f} | {rate:.0f} | {cpu:.2f} | {workers_cpu:.2f} | {site_cpu:.2f} "
        f"| {new:.0f} | {failed} |"
    )


def print_results(cold: Sequence[CycleNumbers], warm: Sequence[CycleNumbers]) -> None:
    print(f"\nmedians of {len(cold)} repeats")
    print(
        "| cycle | wall s | feeds/s | CPU s | workers CPU s | site CPU s | new articles "
        "| failed (max) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    print(median_row("cold (all new)", cold))
    print(median_row("warm (all 304)", warm))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers_peak = max(r.workers_peak_mb for r in cold)
    print(f"peak RSS of this process: {peak:.0f} MB; parse workers' peak RSS, summed: ", end="")
    print(f"{workers_peak:.0f} MB")
    for index, (c, w) in enumerate(zip(cold, warm, strict=True), start=1):
        print(
            f"  repeat {index}: cold {c.wall_seconds:.2f} s ({c.cpu_seconds:.2f} CPU s), "
            f"warm {w.wall_seconds:.2f} s ({w.cpu_seconds:.2f} CPU s)"
        )


def thread_cpu_profiler() -> cProfile.Profile:
    """cProfile timed by the event-loop thread's CPU clock, not the wall clock: with
    the wall clock, time spent waiting for the GIL (held by the parsing threads)
    is charged to whatever the loop was running.
    """
    return cProfile.Profile(time.thread_time)


def print_profile(profiler: cProfile.Profile, sort: str = "tottime") -> None:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats(sort).print_stats(40)
    print("\ncProfile of the first repeat (event-loop thread only, its CPU time), by own time:")
    print(out.getvalue())


# --- main -------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--connections", type=int, default=20, help="fetch connections")
    parser.add_argument(
        "--concurrency", type=int, default=None, help="sources polled at once (Poller default)"
    )
    parser.add_argument("--database-url", help="PostgreSQL server URL (default: SQLite file)")
    parser.add_argument(
        "--profile", choices=("cold", "warm"), help="cProfile the first cold or warm cycle"
    )
    parser.add_argument("--sort", default="tottime", help="profile order: tottime, cumtime...")
    return parser.parse_args(argv)


async def run(options: argparse.Namespace) -> None:
    db = options.database_url or "SQLite (temporary file)"
    print(f"{options.feeds} feeds x {options.items} items, database {db}")
    async with fake_site(options.feeds, options.items) as site:
        colds, warms = [], []
        for index in range(options.repeat):
            profiler = thread_cpu_profiler() if options.profile and index == 0 else None
            cold, warm = await one_repeat(options, site, profiler)
            colds.append(cold)
            warms.append(warm)
            if profiler:
                print_profile(profiler, options.sort)
        print_results(colds, warms)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the benchmark and print its tables."""
    asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    main()
