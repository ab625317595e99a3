"""The poller: polls due sources, stores their items, groups stories, plans the next poll.

A source's poll is one straight line (:meth:`Poller._refresh`): fetch, parse
and clean (a feed in a worker process of :mod:`bot.sources.parse_pool`, which
serves the budget line "cold ingest >= 50 feeds/s"; a folder or pages in a
worker thread, so the event loop stays free), complete items from their pages
if the source asks for it, store with story grouping in one transaction, and
say what to record: validators and the next poll, or the error and a backoff.
Sources are polled concurrently, at most ``concurrency`` at once; a failure of
one source (HTTP, parse, even a bug) is that source's and the others go on.
The cycle then records every source's poll in one transaction. The poll plan
is durable (``sources.next_poll_at``), so a restart resumes it. No database
transaction is held across a network call.

Bounded: a feed's parse has a time budget (``fetch.parse_timeout_seconds``;
over it the poll fails with the reason and the worker is stopped), a poll keeps
at most ``max_items_per_poll`` items (the newest), the store keeps at most
``max_articles_per_source`` articles a source, and the story grouper's index is
re-read once it has doubled since it was read, so it holds no more than twice
what the store keeps of the grouping window.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.errors import ConfigError, SourceError
from bot.settings import FetchSettings, Settings, SourceConfig
from bot.sources.backoff import next_poll_after_failure, next_poll_after_success
from bot.sources.cluster import StoryGrouper
from bot.sources.drafts import ParsedFeed
from bot.sources.feeds import parse_feed
from bot.sources.fetcher import Fetcher, FetchLimits, FetchResult
from bot.sources.folders_and_pages import enrich_with_pages, fetch_pages, prepare_folder
from bot.sources.parse_pool import ParsePool
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
from bot.sources.prepare import Prepared, SourceProfile, prepare, prepare_feed
from bot.sources.story_signature import StorySignature
from bot.store import Store
from bot.store.engine import is_sqlite
from bot.store.records import Source, own_feed_topic
from bot.store.sources import PollRecord

log = logging.getLogger(__name__)

PAGE_CONCURRENCY = 4  # article pages fetched at once for one source
# A poller's claim on the sources of its cycle (see SourceRepository.claim_due): longer
# than a tick's batch can take, so no second poller takes one meanwhile; a source of a
# poller that died is due again after it.
POLL_CLAIM = timedelta(minutes=10)
# Sources claimed a tick per fetch slot: 10 x 20 slots = 200, in the worst case (all
# hanging to the 20 s timeout) done in 200 s, half the claim.
CLAIM_PER_FETCH_SLOT = 10
GROUPER_RELOAD = timedelta(hours=1)  # re-read recent signatures: drops expired ones


def fetch_limits(fetch: FetchSettings) -> FetchLimits:
    """The Fetcher's caps from the settings."""
    return FetchLimits(
        timeout_seconds=fetch.timeout_seconds,
        max_bytes=fetch.max_bytes,
        max_connections=fetch.max_connections,
        max_per_host=fetch.max_per_host,
        user_agent=fetch.user_agent,
        allowed_hosts=tuple(fetch.allowed_hosts),
    )


def source_address(config: SourceConfig) -> str:
    """The address stored for a source: its URL, its folder, or its first page."""
    return config.url or config.path or (config.pages[0] if config.pages else "")


class Poller:
    """Polls news sources into the store. One cycle at a time per Poller.

    ``concurrency``: sources polled at once (default twice the fetcher's
    connection cap, so the next source is parsing while connections stay busy).
    Feed parse workers start with the first feed parsed; :meth:`aclose` stops them.
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
    ) -> None:
        self._store = store
        self._fetcher = fetcher
        self._settings = settings
        self._clock = clock
        self._rng = rng
        self._configs = {config.name: config for config in settings.sources}
        self._slots = asyncio.Semaphore(concurrency or settings.fetch.max_connections * 2)
        self._cycle_lock = asyncio.Lock()
        self._grouper: StoryGrouper | None = None
        self._grouper_loaded_at: datetime | None = None
        self._grouper_loaded_size = 0
        self._grouper_lock = asyncio.Lock()
        self._is_synced = False
        self._parse_pool = ParsePool(budget_seconds=settings.fetch.parse_timeout_seconds)

    async def aclose(self) -> None:
        """Stop the feed parse workers (the store and fetcher are the caller's)."""
        await self._parse_pool.aclose()

    async def sync_sources(self) -> list[Source]:
        """Make the sources table match the settings; new sources are due at once."""
        declared = [(s.name, source_address(s), s.kind) for s in self._settings.sources]
        synced = await self._store.sources.sync(declared)
        self._is_synced = True
        return synced

    async def tick(self, progress: ProgressCallback | None = None) -> CycleReport:
        """Poll the sources whose next poll time has come, a batch a tick.

        The batch (:data:`CLAIM_PER_FETCH_SLOT` per fetch slot) finishes well
        within its claim even when every source hangs to its timeout, and
        several pollers share a backlog instead of one taking it all.
        """
        await self._ensure_synced()
        batch = CLAIM_PER_FETCH_SLOT * self._settings.fetch.max_connections
        due = await self._store.sources.claim_due(self._clock(), POLL_CLAIM, limit=batch)
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
        """Delete articles past the retention period; returns how many.

        A dated article goes once its date is past the window; an undated one only
        once its feed has stopped listing it and has not listed it for the window,
        so pruning never makes an item new again (ArticleRepository.prune).
        """
        return await self._store.articles.prune(self._retention_cutoff(self._clock()))

    async def preview(self, fetched: FetchResult) -> ParsedFeed:
        """Parse a fetched body as a feed in a parse worker (time-budgeted), without
        storing it: whether a URL a chat gave is a feed, and its title.

        Raises ParseError (not a feed) or SourceError (over the parse budget).
        """
        parsed = partial(
            parse_feed,
            fetched.body,
            url=fetched.url,
            fetched_at=self._clock(),
            content_type=fetched.content_type,
        )
        return await self._parse_pool.run(parsed)

    async def ingest(self, source: Source, fetched: FetchResult) -> tuple[int, ...]:
        """Store a fetch made elsewhere as the source's poll (a feed a chat just added is
        fetched once, by /add) and record it; returns the new article ids.

        A failure is recorded on the source like a failed poll, never raised.
        """
        started = time.monotonic()
        try:
            config = self._config_of(source)
            fetched_at = self._clock()
            profile = self._profile(source, config, fetched_at)
            prepared = await self._prepare_fetched(source, fetched, profile, fetched_at)
            outcome = await self._store_items(source, prepared, fetched_at)
            poll = self._success(source, config, fetched)
        except Exception as err:  # the source's failure, as in a poll
            outcome, poll = self._failure(source, err, started)
        await self._store.sources.record_polls([poll])
        return outcome.new_ids

    async def _ensure_synced(self) -> None:
        if not self._is_synced:
            await self.sync_sources()

    # --- one cycle ---------------------------------------------------------------

    async def _poll_all(
        self, sources: Sequence[Source], progress: ProgressCallback | None
    ) -> CycleReport:
        async with self._cycle_lock:
            self._drop_stale_grouper()

            polls: list[PollRecord] = []

            async def polled(source: Source) -> Outcome:
                async with self._slots:
                    outcome, poll = await self._refresh(source)
                polls.append(poll)
                if progress is not None:
                    progress(outcome.result)
                return outcome

            gathered = await asyncio.gather(*map(polled, sources), return_exceptions=True)
            # Every source's poll is recorded in one transaction, for the budget line "warm
            # cycle < 2 s" (docs/capacity.md): one per source was half a 304's cost. Until
            # then the cycle lock keeps the sources from being polled again; after a crash
            # they are polled once more, which stores nothing twice.
            await self._store.sources.record_polls(polls)
        outcomes = [as_outcome(s, o) for s, o in zip(sources, gathered, strict=True)]
        return CycleReport(
            results=tuple(o.result for o in outcomes),
            new_article_ids=tuple(sorted(i for o in outcomes for i in o.new_ids)),
        )

    @property
    def grouped_articles(self) -> int:
        """How many articles the story grouper's in-memory index holds."""
        return len(self._grouper) if self._grouper is not None else 0

    def _drop_stale_grouper(self) -> None:
        """At a cycle's start: forget the grouping index if it is due to be re-read.

        It is re-read every GROUPER_RELOAD, after a failed store, and once it has grown
        to twice its size when read (and at least a source's cap): the store prunes what
        a flooding source adds, the index forgets it only when re-read, and re-reading
        at doubling costs at most one read per article added.
        """
        loaded_at = self._grouper_loaded_at
        grown = self.grouped_articles >= max(
            2 * self._grouper_loaded_size, self._settings.max_articles_per_source
        )
        if loaded_at is None or self._clock() - loaded_at >= GROUPER_RELOAD or grown:
            self._grouper = None

    async def _catch_up(self, grouper: StoryGrouper) -> None:
        """On PostgreSQL other poller processes store articles too: the grouper learns
        theirs before grouping, so the same story from two pollers' sources is one story.
        (SQLite serves one process: all its articles went through this grouper.)"""
        if is_sqlite(self._store.engine) or grouper.since is None:
            return
        newer = await self._store.articles.recent_signatures(
            grouper.since, after_id=grouper.read_upto
        )
        grouper.add_recent(newer)

    async def _loaded_grouper(self) -> StoryGrouper:
        """The grouping index, read by the cycle's first store (a cycle of 304s reads none)."""
        async with self._grouper_lock:
            if self._grouper is None:
                now = self._clock()
                self._grouper = await StoryGrouper.load(self._store.articles, now)
                self._grouper_loaded_at = now
                self._grouper_loaded_size = len(self._grouper)
            return self._grouper

    # --- one source: fetch, parse and clean, store, record ----------------------------

    async def _refresh(self, source: Source) -> tuple[Outcome, PollRecord]:
        """Poll one source, in order: fetch, parse and clean, store; then what to record.

        Any failure becomes the source's failure record, never an exception.
        """
        started = time.monotonic()
        try:
            config = self._config_of(source)
            fetched_at = self._clock()
            profile = self._profile(source, config, fetched_at)
            fetched, prepared = await self._fetch_and_prepare(source, config, profile, fetched_at)
            if prepared is None:
                outcome = not_modified(source)
            else:
                if config.fetch_pages:
                    prepared = await self._complete_from_pages(prepared, profile, fetched_at)
                outcome = await self._store_items(source, prepared, fetched_at)
            poll = self._success(source, config, fetched)
        except Exception as err:  # every failure is the source's, never the cycle's
            return self._failure(source, err, started)
        seconds = time.monotonic() - started
        return Outcome(replace(outcome.result, seconds=seconds), outcome.new_ids), poll

    async def _fetch_and_prepare(
        self, source: Source, config: SourceConfig, profile: SourceProfile, fetched_at: datetime
    ) -> tuple[FetchResult | None, list[Prepared] | None]:
        """The fetch (feeds only) and the source's items ready to store; None items on a 304."""
        if config.kind == "folder":
            folder = Path(config.path or "")
            read = partial(prepare_folder, folder, fetched_at=fetched_at, profile=profile)
            return None, await asyncio.to_thread(read)
        if config.kind == "pages":
            drafts = await fetch_pages(
                self._fetcher,
                config.pages,
                default_tz=profile.default_tz,
                concurrency=PAGE_CONCURRENCY,
            )
            converted = partial(prepare, drafts, fetched_at=fetched_at, profile=profile)
            return None, await asyncio.to_thread(converted)
        fetched = await self._fetcher.fetch(  # only the catalogue's own URL is trusted
            source.url,
            etag=source.etag,
            last_modified=source.last_modified,
            trusted=source.origin == "catalogue",
        )
        if fetched.status == "not_modified":
            return fetched, None
        return fetched, await self._prepare_fetched(source, fetched, profile, fetched_at)

    async def _prepare_fetched(
        self, source: Source, fetched: FetchResult, profile: SourceProfile, fetched_at: datetime
    ) -> list[Prepared]:
        """A fetched feed body parsed and cleaned in a parse worker (time-budgeted)."""
        parsed = partial(
            prepare_feed,
            fetched.body,
            url=source.url,
            content_type=fetched.content_type,
            fetched_at=fetched_at,
            profile=profile,
        )
        return await self._parse_pool.run(parsed)

    async def _complete_from_pages(
        self, prepared: list[Prepared], profile: SourceProfile, fetched_at: datetime
    ) -> list[Prepared]:
        """New items whose feed entry had no usable summary, completed from their page."""
        known = await self._store.articles.known_urls([p.input.url for p in prepared])
        wanted = [p.draft for p in prepared if p.draft.needs_page and p.input.url not in known]
        if not wanted:
            return prepared
        enriched = await enrich_with_pages(
            self._fetcher, wanted, default_tz=profile.default_tz, concurrency=PAGE_CONCURRENCY
        )
        converted = partial(prepare, enriched, fetched_at=fetched_at, profile=profile)
        redone = {p.input.url: p for p in await asyncio.to_thread(converted)}
        return [redone.get(p.input.url, p) for p in prepared]

    async def _store_items(
        self, source: Source, prepared: list[Prepared], fetched_at: datetime
    ) -> Outcome:
        """Store the items and group the new ones into stories, in one transaction."""
        grouper = await self._loaded_grouper()
        await self._catch_up(grouper)
        signatures: dict[str, StorySignature] = {}
        for item in prepared:
            signatures.setdefault(item.input.url, item.signature)  # the store keeps the first
        group = partial(grouper.assign, signatures=signatures, source_id=source.id)
        inputs = [p.input for p in prepared]
        try:
            stored = await self._store.articles.store(
                source.id,
                inputs,
                fetched_at,
                group=group,
                keep=self._settings.max_articles_per_source,
            )
        except Exception:
            # The grouper may hold ids of rows that were rolled back: re-read it next cycle.
            self._grouper_loaded_at = None
            raise
        return outcome_of(source, stored)

    # --- recording the outcome ------------------------------------------------------

    def _success(
        self, source: Source, config: SourceConfig, fetched: FetchResult | None
    ) -> PollRecord:
        """A poll worked: keep the validators, plan the next poll."""
        now = self._clock()
        delay = next_poll_after_success(self._interval(config), self._rng)
        return PollRecord(
            source.id,
            polled_at=now,
            next_poll_at=now + timedelta(seconds=delay),
            etag=fetched.etag if fetched else None,
            last_modified=fetched.last_modified if fetched else None,
            redirect_url=_redirect_of(source, fetched),
        )

    def _failure(
        self, source: Source, err: Exception, started: float
    ) -> tuple[Outcome, PollRecord]:
        """A poll failed: log it, back off."""
        reason = short_reason(err)
        error_count = source.error_count + 1
        if isinstance(err, SourceError | ConfigError):
            log.warning(
                "source %s failed (%d in a row): %s",
                source.name,
                error_count,
                reason,
                extra={"source": source.name, "source_id": source.id},
            )
        else:
            log.exception(
                "source %s failed unexpectedly",
                source.name,
                extra={"source": source.name, "source_id": source.id},
            )
        delay = next_poll_after_failure(
            error_count,
            base_seconds=self._interval(
                self._configs.get(source.name) if source.origin == "catalogue" else None
            ),
            max_seconds=self._settings.fetch.max_backoff_seconds,
            rng=self._rng,
        )
        now = self._clock()
        poll = PollRecord(
            source.id, polled_at=now, next_poll_at=now + timedelta(seconds=delay), error=reason
        )
        seconds = time.monotonic() - started
        return Outcome(SourceResult(source.name, "failed", error=reason, seconds=seconds)), poll

    # --- settings of one source -----------------------------------------------------

    def _config_of(self, source: Source) -> SourceConfig:
        if source.origin == "chat":  # a feed a chat added: the defaults
            return SourceConfig(name=source.name, url=source.url)
        config = self._configs.get(source.name)
        if config is None:
            raise ConfigError("sources", f"{source.name!r} is not configured", "run sync_sources")
        return config

    def _interval(self, config: SourceConfig | None) -> float:
        own = config.poll_interval_seconds if config else None
        return float(own or self._settings.poll_interval_seconds)

    def _profile(self, source: Source, config: SourceConfig, fetched_at: datetime) -> SourceProfile:
        # A feed a chat added carries only its own topic: matching it against the
        # catalogue would put a stranger's feed into every other chat's topics.
        is_own = source.origin == "chat"
        return SourceProfile(
            topics=(own_feed_topic(source.id),) if is_own else tuple(config.topics),
            topic_catalogue=() if is_own else tuple(self._settings.topics),
            default_tz=ZoneInfo(config.timezone or self._settings.timezone),
            fetch_pages=config.fetch_pages,
            oldest=self._retention_cutoff(fetched_at),  # never store what prune would delete
            max_items=self._settings.max_items_per_poll,
        )

    def _retention_cutoff(self, now: datetime) -> datetime:
        return now - timedelta(days=self._settings.retention_days)


def _redirect_of(source: Source, fetched: FetchResult | None) -> str | None:
    moved_to = fetched.permanent_redirect if fetched else None
    if moved_to is None or moved_to == source.url:
        return None
    # Never switch silently: a hijacked or parked domain also "moves permanently".
    log.warning(
        "source %s moved permanently to %s; update its url",
        source.name,
        moved_to,
        extra={"source": source.name, "source_id": source.id},
    )
    return moved_to


__all__ = [
    "CycleReport",
    "Poller",
    "ProgressCallback",
    "SourceResult",
    "fetch_limits",
    "short_reason",
    "source_address",
]
