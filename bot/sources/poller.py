"""The poller: polls due sources, stores their items, groups stories, plans the next poll.

The poll plan is durable (``sources.next_poll_at``), so a restart resumes it.
Every failure of one source (HTTP, parse, even a bug) is recorded on that
source with a backoff and the cycle goes on with the others. Parsing runs in
a worker thread, never on the event loop; no database transaction is held
across a network call (the repositories open short ones of their own).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Literal
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
    fetch_pages,
    prepare,
    prepare_feed,
    prepare_folder,
)
from bot.store import Store
from bot.store.articles import StoredItem
from bot.store.models import Source

log = logging.getLogger(__name__)

SourceStatus = Literal["new", "updated", "unchanged", "not_modified", "failed"]
PAGE_CONCURRENCY = 4  # article pages fetched at once for one source
GROUPER_RELOAD = timedelta(hours=1)  # re-read recent signatures: drops expired ones
MAX_REASON_CHARS = 300


@dataclass(frozen=True, slots=True)
class SourceResult:
    """What polling one source gave. ``unchanged`` counts stored items seen again."""

    name: str
    status: SourceStatus
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    error: str | None = None
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class CycleReport:
    """One polling cycle. ``new_article_ids`` feed the instant digests."""

    results: tuple[SourceResult, ...] = ()
    new_article_ids: tuple[int, ...] = ()

    @property
    def failed(self) -> tuple[SourceResult, ...]:
        """The sources that failed in this cycle."""
        return tuple(r for r in self.results if r.status == "failed")

    def result(self, name: str) -> SourceResult | None:
        """The result of the source with this name, or None if it was not polled."""
        return next((r for r in self.results if r.name == name), None)


ProgressCallback = Callable[[SourceResult], None]


@dataclass(frozen=True, slots=True)
class _Outcome:
    result: SourceResult
    new_ids: tuple[int, ...] = ()


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

    ``parse_executor``: where feed bodies are parsed; default a worker thread
    (``asyncio.to_thread``). A ``ProcessPoolExecutor`` lets parsing use more
    than one core (parsing is pure Python and holds the GIL).
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
        self._cycle_lock = asyncio.Lock()
        self._grouper = _GrouperCache()
        self._is_synced = False

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
            semaphore = asyncio.Semaphore(self._concurrency)

            async def guarded(source: Source) -> _Outcome:
                async with semaphore:
                    outcome = await self._poll_and_record(source)
                if progress is not None:
                    progress(outcome.result)
                return outcome

            gathered = await asyncio.gather(*(guarded(s) for s in sources), return_exceptions=True)
        outcomes = [_as_outcome(s, o) for s, o in zip(sources, gathered, strict=True)]
        return CycleReport(
            results=tuple(o.result for o in outcomes),
            new_article_ids=tuple(sorted(i for o in outcomes for i in o.new_ids)),
        )

    async def _poll_and_record(self, source: Source) -> _Outcome:
        started = time.monotonic()
        try:
            outcome = await self._poll(source)
        except Exception as err:  # every failure is the source's, never the cycle's
            return await self._record_failure(source, err, started)
        seconds = time.monotonic() - started
        return _Outcome(replace(outcome.result, seconds=seconds), outcome.new_ids)

    async def _poll(self, source: Source) -> _Outcome:
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

    async def _poll_feed(self, source: Source, config: SourceConfig) -> _Outcome:
        fetched = await self._fetcher.fetch(
            source.url, etag=source.etag, last_modified=source.last_modified
        )
        redirect = _redirect_of(source, fetched)
        if fetched.status == "not_modified":
            await self._record_success(source, config, fetched, redirect)
            return _Outcome(SourceResult(source.name, "not_modified"))
        fetched_at = self._clock()
        prepared = await self._off_loop(
            partial(
                prepare_feed,
                fetched.body,
                url=source.url,
                content_type=fetched.content_type,
                fetched_at=fetched_at,
                profile=self._profile(config),
            )
        )
        outcome = await self._store_items(source, config, prepared, fetched_at)
        await self._record_success(source, config, fetched, redirect)
        return outcome

    async def _poll_folder(self, source: Source, config: SourceConfig) -> _Outcome:
        fetched_at = self._clock()
        profile = self._profile(config)
        prepared = await asyncio.to_thread(
            prepare_folder, Path(config.path), fetched_at=fetched_at, profile=profile
        )
        outcome = await self._store_items(source, config, prepared, fetched_at)
        await self._record_success(source, config, None, None)
        return outcome

    async def _poll_pages(self, source: Source, config: SourceConfig) -> _Outcome:
        profile = self._profile(config)
        drafts = await fetch_pages(
            self._fetcher, config.pages, default_tz=profile.default_tz, concurrency=PAGE_CONCURRENCY
        )
        fetched_at = self._clock()
        prepared = await asyncio.to_thread(prepare, drafts, fetched_at=fetched_at, profile=profile)
        outcome = await self._store_items(source, config, prepared, fetched_at)
        await self._record_success(source, config, None, None)
        return outcome

    async def _off_loop(self, work: Callable[[], list[Prepared]]) -> list[Prepared]:
        """Parse off the event loop: a worker thread, or the given (process) executor."""
        if self._parse_executor is None:
            return await asyncio.to_thread(work)
        return await asyncio.get_running_loop().run_in_executor(self._parse_executor, work)

    # --- storing and grouping ------------------------------------------------------

    async def _store_items(
        self, source: Source, config: SourceConfig, prepared: list[Prepared], fetched_at: datetime
    ) -> _Outcome:
        inputs = [p.input for p in prepared]
        stored = await self._store.articles.store(source.id, inputs, fetched_at)
        new_items = [s for s in stored if s.status == "new"]
        if config.fetch_pages:
            new_items = await self._complete_from_pages(source, config, prepared, new_items)
        await self._group(source, new_items)
        return _Outcome(_counts(source.name, stored), tuple(s.article_id for s in new_items))

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

    async def _group(self, source: Source, new_items: list[StoredItem]) -> None:
        if not new_items:
            return
        grouper = await self._current_grouper()
        clusters = await asyncio.to_thread(grouper.assign, new_items, source_id=source.id)
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
        delay = next_poll_after_success(self._interval(config), self._rng)
        await self._store.sources.record_success(
            source.id,
            next_poll_at=self._clock() + timedelta(seconds=delay),
            etag=fetched.etag if fetched else None,
            last_modified=fetched.last_modified if fetched else None,
            redirect_url=redirect,
        )

    async def _record_failure(self, source: Source, err: Exception, started: float) -> _Outcome:
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
        return _Outcome(SourceResult(source.name, "failed", error=reason, seconds=seconds))

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


def short_reason(err: BaseException) -> str:
    """One line for ``sources.last_error``: our errors say it themselves, others name the type."""
    text = " ".join(str(err).split())
    if not isinstance(err, SourceError | ConfigError):
        text = f"{type(err).__name__}: {text}" if text else type(err).__name__
    return text[:MAX_REASON_CHARS] or type(err).__name__


def _redirect_of(source: Source, fetched: FetchResult) -> str | None:
    moved_to = fetched.permanent_redirect
    if moved_to is None or moved_to == source.url:
        return None
    # Never switch silently: a hijacked or parked domain also "moves permanently".
    log.warning("source %s moved permanently to %s; update its url", source.name, moved_to)
    return moved_to


def _counts(name: str, stored: Sequence[StoredItem]) -> SourceResult:
    new = sum(1 for s in stored if s.status == "new")
    updated = sum(1 for s in stored if s.status == "updated")
    unchanged = len(stored) - new - updated
    status: SourceStatus = "new" if new else "updated" if updated else "unchanged"
    return SourceResult(name, status, new=new, updated=updated, unchanged=unchanged)


def _as_outcome(source: Source, gathered: _Outcome | BaseException) -> _Outcome:
    """A task that failed even to record its failure (database down?) still gets a row."""
    if isinstance(gathered, _Outcome):
        return gathered
    log.error("source %s: outcome not recorded: %s", source.name, gathered)
    return _Outcome(SourceResult(source.name, "failed", error=short_reason(gathered)))


__all__ = [
    "CycleReport",
    "Poller",
    "ProgressCallback",
    "SourceResult",
    "fetch_limits",
    "short_reason",
    "source_address",
]
