"""Operator commands that run once and print: ingest, sources, stats."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

from rich.console import Console
from rich.table import Table

from bot.clock import utcnow
from bot.settings import Settings
from bot.sources.fetcher import Fetcher
from bot.sources.poller import CycleReport, Poller, SourceResult, fetch_limits
from bot.sources.report import cycle_table, health_table
from bot.store import Store, open_store
from bot.store.leases import Heartbeat, Lease
from bot.store.state import SENDING_PAUSED_UNTIL
from bot.wording import counted

# A process is listed as running when its heartbeat (every 10 s) is this recent.
ALIVE_WITHIN = timedelta(minutes=1)


@asynccontextmanager
async def _opened(settings: Settings) -> AsyncIterator[Store]:
    store = await open_store(settings.database_url)
    try:
        yield store
    finally:
        await store.close()


async def ingest_once(
    settings: Settings, source_name: str | None, console: Console | None = None
) -> int:
    """``newsbot ingest``: poll every source (or one) now; exit 1 if any failed."""
    console = console or Console()
    names = {s.name for s in settings.sources}
    if source_name is not None and source_name not in names:
        console.print(
            f"No source named {source_name!r}. Known: {', '.join(sorted(names)) or 'none'}"
        )
        return 2
    async with _opened(settings) as store:
        limits = fetch_limits(settings.fetch)
        fetcher = Fetcher.create(limits)
        poller = Poller(store, fetcher, settings, utcnow, random.Random())
        try:
            await poller.sync_sources()
            report = await _cycle_with_progress(poller, len(settings.sources), source_name, console)
        finally:
            await poller.aclose()
            await fetcher.aclose()
    console.print(cycle_table(report))
    return 1 if any(r.status == "failed" for r in report.results) else 0


async def _cycle_with_progress(
    poller: Poller, source_count: int, source_name: str | None, console: Console
) -> CycleReport:
    total = 1 if source_name else source_count
    with console.status(f"polling {counted(total, 'source')}...") as status:
        done = 0

        def progress(result: SourceResult) -> None:
            nonlocal done
            done += 1
            status.update(f"polled {done}/{total}: {result.name} ({result.status})")

        return await poller.run_cycle(source_name, progress=progress)


async def show_sources(settings: Settings, console: Console | None = None) -> int:
    """``newsbot sources``: each source's health."""
    console = console or Console()
    async with _opened(settings) as store:
        sources = await store.sources.all()
        if not sources:
            console.print("No sources yet: they are added on the first `newsbot ingest` or `run`.")
            return 0
        console.print(health_table(sources, utcnow()))
        paused = await store.state.get_time(SENDING_PAUSED_UNTIL)
    if paused and paused > utcnow():
        console.print(
            f"Sending is paused by a Telegram flood wait until {paused:%Y-%m-%d %H:%M} UTC."
        )
    return 0


async def show_stats(settings: Settings, console: Console | None = None) -> int:
    """``newsbot stats``: chats, subscriptions, articles, outbox, flood wait."""
    console = console or Console()
    async with _opened(settings) as store:
        chats = await store.chats.all()
        by_topic = await store.chats.count_by_topic()
        articles = await store.articles.count()
        outbox = await store.outbox.counts()
        paused = await store.state.get_time(SENDING_PAUSED_UNTIL)
        inbox = await store.inbox.counts()
        now = utcnow()
        processes = await store.leases.processes(seen_since=now - ALIVE_WITHIN)
        leases = await store.leases.holders()
    table = Table(title="newsbot")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("chats (active)", f"{len(chats)} ({sum(c.is_active for c in chats)})")
    for topic, count in sorted(by_topic.items()):
        table.add_row(f"  subscribed to {topic}", str(count))
    table.add_row("articles", str(articles))
    for status, count in sorted(outbox.items()):
        table.add_row(f"messages {status}", str(count))
    for status, count in sorted(inbox.items()):
        table.add_row(f"updates {status}", str(count))
    console.print(table)
    if paused and paused > now:
        console.print(f"Sending paused by a Telegram flood wait until {paused:%Y-%m-%d %H:%M} UTC.")
    console.print(_roles_table(processes, leases, now))
    return 0


def _roles_table(processes: list[Heartbeat], leases: list[Lease], now: datetime) -> Table:
    """The processes seen lately with their roles, and who holds each one-at-a-time role."""
    holders: dict[str, list[str]] = {}
    for lease in leases:
        if lease.expires_at > now:
            holders.setdefault(lease.owner, []).append(lease.name)
    table = Table(title="processes (seen in the last minute)")
    for column in ("process", "roles", "holds", "up since", "last seen"):
        table.add_column(column)
    for process in processes:
        table.add_row(
            process.owner,
            process.roles,
            ", ".join(sorted(holders.get(process.owner, []))) or "-",
            f"{process.started_at:%Y-%m-%d %H:%M} UTC",
            f"{(now - process.seen_at).total_seconds():.0f} s ago",
        )
    return table
