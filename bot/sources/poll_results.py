"""What polling gave: one source's result, a cycle's report, and how they are made.

Kept apart from the Poller so that the terminal tables (bot/sources/report.py)
and the CLI read results without importing the polling machinery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.errors import ConfigError, SourceError
from bot.redact import redact
from bot.store.articles import StoredItem
from bot.store.records import Source

log = logging.getLogger("bot.sources.poller")  # these lines belong to the poller's log

SourceStatus = Literal["new", "updated", "unchanged", "not_modified", "failed"]
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
class Outcome:
    """A polled source's result and the ids of its new articles."""

    result: SourceResult
    new_ids: tuple[int, ...] = ()


def short_reason(err: BaseException) -> str:
    """One line for ``sources.last_error`` and the ingest report: our errors say it
    themselves, others name the type; never a token or a URL password."""
    text = redact(" ".join(str(err).split()))
    if not isinstance(err, SourceError | ConfigError):
        text = f"{type(err).__name__}: {text}" if text else type(err).__name__
    return text[:MAX_REASON_CHARS] or type(err).__name__


def counts_of(name: str, stored: Sequence[StoredItem]) -> SourceResult:
    """A source's result from its stored items: new, updated and unchanged counts."""
    new = sum(1 for s in stored if s.status == "new")
    updated = sum(1 for s in stored if s.status == "updated")
    unchanged = len(stored) - new - updated
    status: SourceStatus = "new" if new else "updated" if updated else "unchanged"
    return SourceResult(name, status, new=new, updated=updated, unchanged=unchanged)


def outcome_of(
    source: Source, stored: Sequence[StoredItem], new_items: Sequence[StoredItem] | None = None
) -> Outcome:
    """The outcome of storing a source's items: counts, and the ids of the new ones."""
    new = [s for s in stored if s.status == "new"] if new_items is None else new_items
    return Outcome(counts_of(source.name, stored), tuple(s.article_id for s in new))


def not_modified(source: Source) -> Outcome:
    """The outcome of a 304: nothing stored."""
    return Outcome(SourceResult(source.name, "not_modified"))


def as_outcome(source: Source, gathered: Outcome | BaseException) -> Outcome:
    """A task that failed even to record its failure (database down?) still gets a row."""
    if isinstance(gathered, Outcome):
        return gathered
    log.error("source %s: outcome not recorded: %s", source.name, gathered)
    return Outcome(SourceResult(source.name, "failed", error=short_reason(gathered)))
