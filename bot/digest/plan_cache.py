"""What one digest planning call works out once and shares between alike chats.

Serves the capacity budget's planning line: 100,000 due chats planned in
< 30 s and < 300 MB on SQLite (``bench/fanout.py``). Chats with the same topics,
filters, cursor, time zone, language and slot get the same digest, and so do their
schedules: choosing and rendering each distinct digest once, not once per chat,
is what keeps a fan-out within it (without it the benchmark takes several times
as long).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from bot.store.records import Article, Part

# A call holds at most this many digests: when every due chat's digest differs,
# nothing is shared anyway, and the memo must not grow with the number of chats.
MEMO_LIMIT = 10_000

Slots = tuple[datetime, datetime] | None
# What a chat's schedule depends on: next slot, times, zone, weekdays.
ScheduleKey = tuple[datetime, tuple[str, ...], str, tuple[int, ...]]


@dataclass(frozen=True, slots=True)
class Rendered:
    """A planned and rendered digest, shareable between chats."""

    parts: tuple[Part, ...]
    story_count: int
    max_article_id: int


@dataclass(frozen=True, slots=True)
class DigestKey:
    """Everything a chat's digest depends on, with the candidates it was made from."""

    topics: frozenset[str]
    include_words: tuple[str, ...]
    exclude_words: tuple[str, ...]
    cursor: int
    since: datetime
    timezone: str
    # The words and dates of a digest are in the chat's language: chats of different
    # languages never share a text.
    language: str
    at: datetime | None
    title: str | None
    # The newest article of the batch's candidates: a batch planned after a poll
    # stored more must not reuse a digest made without those articles.
    newest: int


@dataclass(slots=True)
class PlanMemo:
    """The digests and schedules of one planning call (a digest depends on the articles
    stored at that moment, so each call starts a new memo)."""

    digests: dict[DigestKey, Rendered] = field(default_factory=dict)
    slots: dict[ScheduleKey, Slots] = field(default_factory=dict)
    lookups: int = 0
    renders: int = 0

    def digest(self, key: DigestKey, make: Callable[[], Rendered]) -> Rendered:
        """The digest for ``key``, made by ``make`` the first time it is asked for."""
        self.lookups += 1
        found = self.digests.get(key)
        if found is None:
            if len(self.digests) >= MEMO_LIMIT:
                self.digests.clear()
            found = self.digests[key] = make()
            self.renders += 1
        return found

    def schedule(self, key: ScheduleKey, make: Callable[[], Slots]) -> Slots:
        """The due slots for ``key`` (next time, times, zone, weekdays), made the first time."""
        if key not in self.slots:
            self.slots[key] = make()
        return self.slots[key]


def fetched_since(articles: Sequence[Article], moment: datetime) -> tuple[Article, ...]:
    """The candidates fetched at or after ``moment``."""
    return tuple(a for a in articles if a.fetched_at >= moment)
