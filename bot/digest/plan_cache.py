"""Memos that one digest planning call shares between chats, and a batch's candidates.

A result is keyed by what it depends on: :class:`PlanKey` for the story choice,
:class:`RenderKey` for the text. :class:`CallCaches` keeps them in bounded
:class:`LRU` maps (schedules in a plain dict) for one call of the planner; why
they are safe to share is told in :mod:`bot.digest.planner`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, NamedTuple, TypeVar

from bot.digest.content import DigestPlan
from bot.store.outbox import Part
from bot.store.records import Article

K = TypeVar("K")
V = TypeVar("V")

CACHE_SIZE = 8_192


@dataclass(frozen=True, slots=True)
class Rendered:
    """A planned and rendered digest, shareable between chats."""

    parts: tuple[Part, ...]
    story_count: int
    max_article_id: int


# The keys are NamedTuples, not frozen dataclasses: 100,000 chats build and hash two
# each per fan-out, and a tuple's construction, hash and equality run in C.
class PlanKey(NamedTuple):
    """Everything a chat's story choice depends on (given the call's articles)."""

    topics: frozenset[str]
    include_words: tuple[str, ...]
    exclude_words: tuple[str, ...]
    cursor: int
    since: datetime


class RenderKey(NamedTuple):
    """Everything a chat's digest text depends on; equal keys give equal digests."""

    plan: PlanKey
    timezone: str
    at: datetime | None
    title: str | None


class LRU(Generic[K, V]):
    """A small bounded least-recently-used map, with hit and miss counters."""

    def __init__(self, max_size: int = CACHE_SIZE) -> None:
        self._max_size = max_size
        self._items: OrderedDict[K, V] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def get(self, key: K) -> V | None:
        found = self._items.get(key)
        if found is None:
            self.misses += 1
            return None
        self.hits += 1
        self._items.move_to_end(key)
        return found

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        if len(self._items) > self._max_size:
            self._items.popitem(last=False)


@dataclass(slots=True)
class CallCaches:
    """Memos of one planning call: results depend on the articles stored at that moment."""

    plans: LRU[PlanKey, DigestPlan] = field(default_factory=LRU)
    renders: LRU[RenderKey, Rendered] = field(default_factory=LRU)
    slots: dict[tuple[datetime, tuple[str, ...], str], tuple[datetime, datetime] | None] = field(
        default_factory=dict
    )


class CandidatePool:
    """The candidate articles of one batch, filtered per ``since`` on demand (and memoised)."""

    def __init__(self, articles: Sequence[Article]) -> None:
        self._articles = tuple(articles)
        self._by_since: dict[datetime, tuple[Article, ...]] = {}

    def since(self, moment: datetime) -> tuple[Article, ...]:
        """The candidates fetched at or after ``moment``."""
        found = self._by_since.get(moment)
        if found is None:
            found = tuple(a for a in self._articles if a.fetched_at >= moment)
            self._by_since[moment] = found
        return found
