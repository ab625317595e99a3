"""The poller: polls due sources, stores their items, groups stories, plans the next poll.

The poll plan is durable (``sources.next_poll_at``), so a restart resumes it.
Every failure of one source (HTTP, parse, even a bug) is recorded on that
source with a backoff and the cycle goes on with the others. Parsing runs in
a worker thread (or the given executor), never on the event loop; no database
transaction is held across a network call (the repositories open short ones).

Feed sources are written in batches: each polled feed (parsed, or answered
304) waits in a queue, and one writer task stores whatever has gathered there
in one transaction, groups it, and records every fetch with one statement.
That is three transactions a batch instead of three a source. A batch that
fails to store is stored again source by source, so one bad source only fails
itself.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.errors import ConfigError, SourceError
from bot.settings import FetchSettings, Settings, SourceConfig
from bot.sources.backoff import next_poll_after_failure, next_poll_after_success
from bot.sources.fetcher import Fetcher, FetchLimits, FetchResult
from bot.sources.ingest import (
    Prepared,
    SourceProfile,
    StoryGrouper,
    enrich_with_pages,
    feed_items,
    fetch_pages,
    prepare,
    prepare_feed,
    prepare_fetched_rows,
    prepare_folder,
)
from bot.sources.parse_pool import (
    PARSE_BATCH,
    PARSE_TASKS_PER_PROCESS,
    ParseBatcher,
    default_parse_processes,
    shared_parse_pool,
    start_workers,
)
from bot.sources.poll_results import (
    CycleReport,
    Outcome,
    ProgressCallback,
    SourceResult,
    as_outcome,
    not_modified,
    outcome_of,
    short_reason,
)
from bot.store import Store
from bot.store.articles import ArticleInput, SourceItems, StoredItem
from bot.store.records import Source
from bot.store.sources import FetchSuccess

log = logging.getLogger(__name__)
_Parsed = TypeVar("_Parsed")

PAGE_CONCURRENCY = 4  # article pages fetched at once for one source
GROUPER_RELOAD = timedelta(hours=1)  # re-read recent signatures: drops expired ones
BATCH_SOURCES = 64  # feeds stored in one transaction at most
# A batch costs a few milliseconds whatever its size (two transactions, a thread
# hop for grouping). When fewer than MIN_BATCH_SOURCES feeds wait, the writer
# lets more gather for BATCH_LINGER_SECONDS before it writes: with the parse
# workers at a lower priority it is never behind, so without this it wrote a
# feed or two at a time (120 batches a cold cycle instead of ~35, measured).
MIN_BATCH_SOURCES = 16
BATCH_LINGER_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class _Write:
    """A polled feed waiting for the batch writer; ``items`` is None after a 304."""

    source: Source
    config: SourceConfig
    items: tuple[ArticleInput, ...] | None
    fetched_at: datetime
    success: FetchSuccess
    done: asyncio.Future[Outcome]


@dataclass(slots=True)
class _GrouperCache:
    grouper: StoryGrouper | None = None
    loaded_at: datetime | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def fetch_limits(fetch: FetchSettings) -> FetchLimits:
    """The Fetcher's caps from the settings."""
    return FetchLimits(
        timeout_seconds=fetch.timeout_seconds,
        max_bytes=fetch.max_bytes,
        max_connections=fetch.max_connections,
        max_per_host=fetch.max_per_host,
        user_agent=fetch.user_agent,
    )


def source_address(config: SourceConfig) -> str:
    """The address stored for a source: its URL, its folder, or its first page."""
    return config.url or config.path or (config.pages[0] if config.pages else "")


class Poller:
    """Polls news sources into the store. One cycle at a time per Poller.

    ``parse_executor``: where feed bodies are parsed. Without one, parsing
    uses ``parse_processes`` worker processes (default
    :func:`default_parse_processes`: one a CPU on a multi-core machine), shared
    by the process's Pollers; 0 means a worker thread (``asyncio.to_thread``).
    Parsing is pure Python and holds the GIL, so processes are what let it use
    more than one core: on 2 cores they made the 1,000-feed cold cycle ~1.6x
    faster than the thread (docs/performance.md).
    """

    def __init__(
        self,
        store: Store,
        fetcher: Fetcher,
        settings: Settings,
        clock: Clock,
        rng: random.Random,
        *,
        concurrency: int | None = None,
        parse_executor: Executor | None = None,
        parse_processes: int | None = None,
    ) -> None:
        self._store = store
        self._fetcher = fetcher
        self._settings = settings
        self._clock = clock
        self._rng = rng
        self._configs = {config.name: config for config in settings.sources}
        # Sources wait on the Fetcher's own connection caps; this only bounds tasks in flight.
        self._concurrency = concurrency or settings.fetch.max_connections * 2
        self._parse_executor = parse_executor
        self._parse_processes = (
            default_parse_processes() if parse_processes is None else parse_processes
        )
        self._slots = asyncio.Semaphore(self._concurrency)  # sources fetching or parsing
        self._batcher: ParseBatcher | None = None  # for the process pool in use
        self._writes: asyncio.Queue[_Write] | None = None  # the batch writer's, during a cycle
        self._cycle_lock = asyncio.Lock()
        self._grouper = _GrouperCache()
        self._is_synced = False

    async def start_parsers(self) -> None:
        """Start the parse processes now, so that the first cycle does not wait for them.

        A pool that cannot start is logged, not raised: the bot still starts, and each
        feed's parse then fails (and is retried) as it would have anyway.
        """
        if self._parse_executor is not None or self._parse_processes == 0:
            return
        try:
            await start_workers(shared_parse_pool(self._parse_processes), self._parse_processes)
        except Exception as err:  # e.g. no fork server here: parsing reports it per source
            log.warning("parse processes did not start: %s", err)
            shared_parse_pool.cache_clear()

    async def sync_sources(self) -> list[Source]:
        """Make the sources table match the settings; new sources are due at once."""
        declared = [(s.name, source_address(s), s.kind) for s in self._settings.sources]
        synced = await self._store.sources.sync(declared)
        self._is_synced = True
        return synced

    async def tick(self, progress: ProgressCallback | None = None) -> CycleReport:
        """Poll every source whose next poll time has come."""
        await self._ensure_synced()
        due = await self._store.sources.due(self._clock())
        return await self._poll_all(due, progress)

    async def run_cycle(
        self, source_name: str | None = None, progress: ProgressCallback | None = None
    ) -> CycleReport:
        """Poll every source now (or the one named), whatever its plan said.

        Raises ConfigError for an unknown source name.
        """
        await self._ensure_synced()
        sources = await self._store.sources.all()
        if source_name is not None:
            sources = [s for s in sources if s.name == source_name]
            if not sources:
                known = ", ".join(sorted(self._configs)) or "none"
                raise ConfigError("source", f"no source named {source_name!r}", f"known: {known}")
        await self._store.sources.make_due(sources[0].id if source_name else None)
        return await self._poll_all(sources, progress)

    async def prune(self) -> int:
        """Delete articles published before the retention period; returns how many."""
        cutoff = self._clock() - timedelta(days=self._settings.retention_days)
        return await self._store.articles.prune(cutoff)

    async def _ensure_synced(self) -> None:
        if not self._is_synced:
            await self.sync_sources()

    # --- one cycle ---------------------------------------------------------------

    async def _poll_all(
        self, sources: Sequence[Source], progress: ProgressCallback | None
    ) -> CycleReport:
        async with self._cycle_lock:

            async def polled(source: Source) -> Outcome:
                outcome = await self._poll_and_record(source)
                if progress is not None:
                    progress(outcome.result)
                return outcome

            self._writes = asyncio.Queue(maxsize=2 * BATCH_SOURCES)
            writer = asyncio.create_task(self._write_batches(self._writes))
            try:
                polls = (polled(s) for s in sources)
                gathered = await asyncio.gather(*polls, return_exceptions=True)
            finally:
                self._writes = None
                writer.cancel()
                with suppress(asyncio.CancelledError):
                    await writer
        outcomes = [as_outcome(s, o) for s, o in zip(sources, gathered, strict=True)]
        return CycleReport(
            results=tuple(o.result for o in outcomes),
            new_article_ids=tuple(sorted(i for o in outcomes for i in o.new_ids)),
        )

    async def _poll_and_record(self, source: Source) -> Outcome:
        started = time.monotonic()
        try:
            outcome = await self._poll(source)
        except Exception as err:  # every failure is the source's, never the cycle's
            return await self._record_failure(source, err, started)
        seconds = time.monotonic() - started
        return Outcome(replace(outcome.result, seconds=seconds), outcome.new_ids)

    async def _poll(self, source: Source) -> Outcome:
        config = self._config_of(source)
        if config.kind == "folder":
            return await self._poll_folder(source, config)
        if config.kind == "pages":
            return await self._poll_pages(source, config)
        return await self._poll_feed(source, config)

    def _config_of(self, source: Source) -> SourceConfig:
        config = self._configs.get(source.name)
        if config is None:
            raise ConfigError("sources", f"{source.name!r} is not configured", "run sync_sources")
        return config

    # --- kinds -------------------------------------------------------------------------

    async def _poll_feed(self, source: Source, config: SourceConfig) -> Outcome:
        if config.fetch_pages or self._writes is None:
            return await self._poll_feed_alone(source, config)
        async with self._slots:  # the slot covers network and parsing, not the queue
            # A gzip body stays gzipped until the parse process (docs/performance.md).
            fetched = await self._fetch_feed(source, decode=False)
            fetched_at = self._clock()
            items = None
            if fetched.status != "not_modified":
                args = self._feed_args(source, config, fetched, fetched_at)
                args.update(
                    content_encoding=fetched.content_encoding, max_bytes=self._fetcher.max_bytes
                )
                items = feed_items(await self._off_loop(partial(prepare_fetched_rows, **args)))
        success = self._success(source, config, fetched, _redirect_of(source, fetched))
        done = asyncio.get_running_loop().create_future()
        await self._writes.put(_Write(source, config, items, fetched_at, success, done))
        return await done

    async def _poll_feed_alone(self, source: Source, config: SourceConfig) -> Outcome:
        """A feed whose new items may need their pages: stored on its own, drafts at hand."""
        async with self._slots:
            fetched = await self._fetch_feed(source)
            fetched_at = self._clock()
            prepared = None
            if fetched.status != "not_modified":
                args = self._feed_args(source, config, fetched, fetched_at)
                prepared = await self._off_loop(partial(prepare_feed, **args))
        outcome = (
            not_modified(source)
            if prepared is None
            else await self._store_items(source, config, prepared, fetched_at)
        )
        await self._record_success(source, config, fetched, _redirect_of(source, fetched))
        return outcome

    async def _fetch_feed(self, source: Source, *, decode: bool = True) -> FetchResult:
        return await self._fetcher.fetch(
            source.url, etag=source.etag, last_modified=source.last_modified, decode=decode
        )

    def _feed_args(
        self, source: Source, config: SourceConfig, fetched: FetchResult, fetched_at: datetime
    ) -> dict[str, Any]:
        """The keyword arguments of prepare_feed and prepare_feed_rows for a fetched body."""
        return {
            "body": fetched.body,
            "url": source.url,
            "content_type": fetched.content_type,
            "fetched_at": fetched_at,
            "profile": self._profile(config),
        }

    async def _poll_folder(self, source: Source, config: SourceConfig) -> Outcome:
        fetched_at = self._clock()
        profile = self._profile(config)
        async with self._slots:
            prepared = await asyncio.to_thread(
                prepare_folder, Path(config.path), fetched_at=fetched_at, profile=profile
            )
        outcome = await self._store_items(source, config, prepared, fetched_at)
        await self._record_success(source, config, None, None)
        return outcome

    async def _poll_pages(self, source: Source, config: SourceConfig) -> Outcome:
        profile = self._profile(config)
        async with self._slots:
            drafts = await fetch_pages(
                self._fetcher,
                config.pages,
                default_tz=profile.default_tz,
                concurrency=PAGE_CONCURRENCY,
            )
        fetched_at = self._clock()
        prepared = await asyncio.to_thread(prepare, drafts, fetched_at=fetched_at, profile=profile)
        outcome = await self._store_items(source, config, prepared, fetched_at)
        await self._record_success(source, config, None, None)
        return outcome

    async def _off_loop(self, work: Callable[[], _Parsed]) -> _Parsed:
        """Parse off the event loop: the given executor, the shared process pool, or a thread."""
        executor = self._parse_executor
        if executor is None and self._parse_processes > 0:
            executor = shared_parse_pool(self._parse_processes)
        if executor is None:
            return await asyncio.to_thread(work)
        if self._batcher is None or self._batcher.executor is not executor:
            processes = self._parse_processes or default_parse_processes() or 1
            self._batcher = ParseBatcher(
                executor, in_flight=PARSE_TASKS_PER_PROCESS * processes, max_batch=PARSE_BATCH
            )
        try:
            return await self._batcher.run(work)
        except BrokenProcessPool:
            # A worker died (killed, or crashed on this body: never retried in-process).
            # The next source gets a fresh shared pool.
            if executor is not self._parse_executor:
                shared_parse_pool.cache_clear()
            raise

    # --- the batch writer -----------------------------------------------------------

    async def _write_batches(self, queue: asyncio.Queue[_Write]) -> None:
        """Write whatever has gathered in the queue, up to BATCH_SOURCES at a time, forever."""
        while True:
            batch = await _next_batch(queue)
            try:
                await self._write_batch(batch)
            except Exception as err:  # a bug here must not leave sources waiting forever
                log.exception("batch writer failed")
                for write in batch:
                    if not write.done.done():
                        write.done.set_exception(err)

    async def _write_batch(self, batch: list[_Write]) -> None:
        """Store, group and record a batch; every write's future gets its outcome or error."""
        with_items = [w for w in batch if w.items is not None]
        inputs = [SourceItems(w.source.id, w.items or (), w.fetched_at) for w in with_items]
        try:
            group = None
            if with_items:
                group = partial(_group_in_thread, await self._current_grouper())
            stored = await self._store.articles.store_many(inputs, group=group)
        except Exception as err:  # one source's data, or the database: find out which
            log.warning("storing a batch of %d sources failed (%s); one by one", len(batch), err)
            for write in batch:
                await self._settle_alone(write)
            return
        try:
            await self._store.sources.record_success_many([w.success for w in batch])
        except Exception as err:  # the articles are stored; each source records the failure
            for write in batch:
                write.done.set_exception(err)
            return
        pairs = zip(with_items, stored, strict=True)
        outcomes = {id(w): outcome_of(w.source, items) for w, items in pairs}
        for write in batch:
            write.done.set_result(outcomes.get(id(write)) or not_modified(write.source))

    async def _settle_alone(self, write: _Write) -> None:
        """Write one source of a failed batch on its own; its future gets the result."""
        try:
            write.done.set_result(await self._write_one(write))
        except Exception as err:  # this source's failure: its task records it
            write.done.set_exception(err)

    async def _write_one(self, write: _Write) -> Outcome:
        """One source's write on its own: store, group, record the fetch."""
        if write.items is None:
            outcome = not_modified(write.source)
        else:
            source, items = write.source, write.items
            stored = await self._store.articles.store(source.id, items, write.fetched_at)
            new_items = [s for s in stored if s.status == "new"]
            await self._group(source, new_items)
            outcome = outcome_of(source, stored, new_items)
        await self._store.sources.record_success_many([write.success])
        return outcome

    # --- storing and grouping ------------------------------------------------------

    async def _store_items(
        self, source: Source, config: SourceConfig, prepared: list[Prepared], fetched_at: datetime
    ) -> Outcome:
        inputs = [p.input for p in prepared]
        stored = await self._store.articles.store(source.id, inputs, fetched_at)
        new_items = [s for s in stored if s.status == "new"]
        if config.fetch_pages:
            new_items = await self._complete_from_pages(source, config, prepared, new_items)
        await self._group(source, new_items)
        return outcome_of(source, stored, new_items)

    async def _complete_from_pages(
        self,
        source: Source,
        config: SourceConfig,
        prepared: list[Prepared],
        new_items: list[StoredItem],
    ) -> list[StoredItem]:
        """Fetch the pages of new items whose feed entry had no usable summary; store again."""
        drafts_by_url = {p.input.url: p.draft for p in prepared}
        wanted = [
            drafts_by_url[s.input.url] for s in new_items if drafts_by_url[s.input.url].needs_page
        ]
        if not wanted:
            return new_items
        profile = self._profile(config)
        enriched = await enrich_with_pages(
            self._fetcher, wanted, default_tz=profile.default_tz, concurrency=PAGE_CONCURRENCY
        )
        fetched_at = self._clock()
        redone = await asyncio.to_thread(prepare, enriched, fetched_at=fetched_at, profile=profile)
        await self._store.articles.store(source.id, [p.input for p in redone], fetched_at)
        final = {p.input.url: p.input for p in redone}
        return [StoredItem(s.article_id, "new", final.get(s.input.url, s.input)) for s in new_items]

    async def _group(
        self,
        source: Source,
        new_items: list[StoredItem],
    ) -> None:
        if not new_items:
            return
        grouper = await self._current_grouper()
        assign = partial(grouper.assign, source_id=source.id)
        clusters = await asyncio.to_thread(assign, new_items)
        await self._store.articles.set_clusters(clusters)

    async def _current_grouper(self) -> StoryGrouper:
        """The in-memory grouping index, loaded lazily and re-read every GROUPER_RELOAD."""
        cache = self._grouper
        async with cache.lock:
            now = self._clock()
            is_stale = cache.loaded_at is None or now - cache.loaded_at >= GROUPER_RELOAD
            if cache.grouper is None or is_stale:
                cache.grouper = await StoryGrouper.load(self._store.articles, now)
                cache.loaded_at = now
            return cache.grouper

    # --- recording the outcome ------------------------------------------------------

    async def _record_success(
        self,
        source: Source,
        config: SourceConfig,
        fetched: FetchResult | None,
        redirect: str | None,
    ) -> None:
        success = self._success(source, config, fetched, redirect)
        await self._store.sources.record_success_many([success])

    def _success(
        self,
        source: Source,
        config: SourceConfig,
        fetched: FetchResult | None,
        redirect: str | None,
    ) -> FetchSuccess:
        """What recording a successful fetch writes; the next poll is planned now."""
        delay = next_poll_after_success(self._interval(config), self._rng)
        return FetchSuccess(
            source.id,
            next_poll_at=self._clock() + timedelta(seconds=delay),
            etag=fetched.etag if fetched else None,
            last_modified=fetched.last_modified if fetched else None,
            redirect_url=redirect,
        )

    async def _record_failure(self, source: Source, err: Exception, started: float) -> Outcome:
        reason = short_reason(err)
        error_count = source.error_count + 1
        if isinstance(err, SourceError | ConfigError):
            log.warning("source %s failed (%d in a row): %s", source.name, error_count, reason)
        else:
            log.exception("source %s failed unexpectedly", source.name)
        delay = next_poll_after_failure(
            error_count,
            base_seconds=self._interval(self._configs.get(source.name)),
            max_seconds=self._settings.fetch.max_backoff_seconds,
            rng=self._rng,
        )
        next_poll_at = self._clock() + timedelta(seconds=delay)
        await self._store.sources.record_failure(source.id, error=reason, next_poll_at=next_poll_at)
        seconds = time.monotonic() - started
        return Outcome(SourceResult(source.name, "failed", error=reason, seconds=seconds))

    def _interval(self, config: SourceConfig | None) -> float:
        own = config.poll_interval_seconds if config else None
        return float(own or self._settings.poll_interval_seconds)

    def _profile(self, config: SourceConfig) -> SourceProfile:
        return SourceProfile(
            topics=tuple(config.topics),
            topic_catalogue=tuple(self._settings.topics),
            default_tz=ZoneInfo(config.timezone or self._settings.timezone),
            fetch_pages=config.fetch_pages,
        )


async def _next_batch(queue: asyncio.Queue[_Write]) -> list[_Write]:
    """The writes to store together: the next one, and what gathers behind it."""
    batch = [await queue.get()]
    if queue.qsize() + 1 < MIN_BATCH_SOURCES:
        await asyncio.sleep(BATCH_LINGER_SECONDS)
    while len(batch) < BATCH_SOURCES and not queue.empty():
        batch.append(queue.get_nowait())
    return batch


def _redirect_of(source: Source, fetched: FetchResult) -> str | None:
    moved_to = fetched.permanent_redirect
    if moved_to is None or moved_to == source.url:
        return None
    # Never switch silently: a hijacked or parked domain also "moves permanently".
    log.warning("source %s moved permanently to %s; update its url", source.name, moved_to)
    return moved_to


async def _group_in_thread(
    grouper: StoryGrouper, sources: Sequence[tuple[int, Sequence[StoredItem]]]
) -> dict[int, int]:
    """store_many's ``group``: each source's new items, in order, off the event loop."""

    def assign_all() -> dict[int, int]:
        clusters: dict[int, int] = {}
        for source_id, items in sources:
            clusters.update(grouper.assign(items, source_id=source_id))
        return clusters

    return await asyncio.to_thread(assign_all)


__all__ = [
    "CycleReport",
    "Poller",
    "ProgressCallback",
    "SourceResult",
    "default_parse_processes",
    "fetch_limits",
    "shared_parse_pool",
    "short_reason",
    "source_address",
]
