"""Grouping the same story told by several outlets: the same-story rule and the grouper.

The rule weighs three kinds of evidence read from each article's
:class:`StorySignature` (see docs/design.md, "Same story from several outlets"):

- wording: the Jaccard similarity of the two sets of word shingles of headline
  and lead, estimated from their bottom-k MinHash sketches (each signature keeps
  its ``MAX_SHINGLES`` lowest shingle hashes);
- names: how many proper nouns the two share (several, never one) and their
  Jaccard overlap: who and where the story is about;
- context: publish times within ``GROUPING_WINDOW`` and a shared topic; across
  topics the bar is much higher.

Names alone merge different events in one place ("Bay of Bengal" is two name
tokens shared by a cyclone model and a trade pact); wording alone merges one
headline template ("Stocks rise as Fed holds rates" / "Stocks fall as ECB cuts
rates"). Only both together say "same event".
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from bot.sources.drafts import ArticleDraft
from bot.sources.story_signature import (
    MAX_SHINGLES,
    NAME_PREFIX_CHARS,
    StorySignature,
    names_match,
    signature_of,
)
from bot.store.articles import ArticleRepository, RecentSignature, StoredItem

logger = logging.getLogger(__name__)

GROUPING_WINDOW = timedelta(hours=48)  # same story from several outlets: within 48 h (field notes)
MIN_SHARED_NAMES = 2  # one shared name ("Apple", "Russia") is not a story
SAME_TOPIC_WORDING_MIN = 0.15  # shingle Jaccard: labelled set, same events >= 0.12, most >= 0.16
SAME_TOPIC_NAMES_MIN = 0.40  # name Jaccard at or above: same story (field notes)
CROSS_TOPIC_WORDING_MIN = 0.30  # no topic in common: a wrong join hides news, so ask twice as much
CROSS_TOPIC_SHARED_NAMES = 3
CROSS_TOPIC_NAMES_MIN = 0.50


# --- the same-story rule ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Evidence:
    """What two signatures have in common: the inputs of the same-story rule."""

    wording: float  # estimated Jaccard similarity of the shingle sets
    shared_names: float  # proper nouns in common (fuzzy matches count half per side)
    names: float  # Jaccard overlap of the proper nouns

    def same_story(self, *, topic_in_common: bool = True) -> bool:
        """True when the evidence says one event: wording AND several names agree."""
        if topic_in_common:
            return (
                self.wording >= SAME_TOPIC_WORDING_MIN
                and self.shared_names >= MIN_SHARED_NAMES
                and self.names >= SAME_TOPIC_NAMES_MIN
            )
        return (
            self.wording >= CROSS_TOPIC_WORDING_MIN
            and self.shared_names >= CROSS_TOPIC_SHARED_NAMES
            and self.names >= CROSS_TOPIC_NAMES_MIN
        )


def evidence(a: StorySignature | ArticleDraft, b: StorySignature | ArticleDraft) -> Evidence:
    """The evidence that ``a`` and ``b`` tell the same story (symmetric)."""
    sig_a, sig_b = _as_signature(a), _as_signature(b)
    shared = _shared_names(sig_a.names, sig_b.names)
    return Evidence(
        wording=wording_similarity(sig_a, sig_b),
        shared_names=shared,
        names=_name_overlap(sig_a, sig_b, shared),
    )


def is_same_story(
    a: StorySignature | ArticleDraft,
    b: StorySignature | ArticleDraft,
    *,
    topic_in_common: bool = True,
) -> bool:
    """True when a and b tell the same story by the rule of :class:`Evidence`."""
    return evidence(a, b).same_story(topic_in_common=topic_in_common)


def name_overlap(a: StorySignature, b: StorySignature) -> float:
    """Jaccard overlap of proper nouns; "Russia" matches "Russian", "Japan" "Japanese"."""
    return _name_overlap(a, b, _shared_names(a.names, b.names))


def _name_overlap(a: StorySignature, b: StorySignature, shared: float) -> float:
    union = len(a.names) + len(b.names) - shared
    return shared / union if union else 0.0


def wording_similarity(a: StorySignature, b: StorySignature) -> float:
    """Bottom-k MinHash estimate of the Jaccard similarity of the two shingle sets.

    Each signature keeps its ``MAX_SHINGLES`` lowest hashes; the lowest k of
    their union are a uniform sample of the union, and the share of that sample
    found in both sets estimates |A & B| / |A | B| (Broder, 1997). For headline
    plus lead the sets are mostly whole, so the estimate is mostly exact.
    """
    sample = sorted(a.shingles | b.shingles)[:MAX_SHINGLES]
    if not sample:
        return 0.0
    both = sum(1 for value in sample if value in a.shingles and value in b.shingles)
    return both / len(sample)


def _shared_names(a: frozenset[str], b: frozenset[str]) -> float:
    """How many names the two sets share, counting fuzzy matches once per side, averaged."""
    exact = len(a & b)
    return (2 * exact + _fuzzy_matches(a - b, b) + _fuzzy_matches(b - a, a)) / 2


def _fuzzy_matches(names: frozenset[str], others: frozenset[str]) -> int:
    """How many of ``names`` (none of them in ``others``) match one of ``others`` by prefix."""
    return sum(1 for name in names if any(names_match(name, other) for other in others))


def _as_signature(value: StorySignature | ArticleDraft) -> StorySignature:
    return value if isinstance(value, StorySignature) else signature_of(value)


# --- story grouping --------------------------------------------------------------

POSTING_SCAN = 32  # most recent articles looked at per name pair: bounds work on common pairs
MAX_COMPARISONS = 16  # full same-story checks per new article, best candidates first


class _Remembered(NamedTuple):
    cluster_id: int
    source_id: int
    signature: StorySignature
    topics: frozenset[str] | None  # None: not known (a signature stored without topics)
    published_at: datetime | None  # None: not known, but loaded from inside the window


class StoryGrouper:
    """Puts new articles into the story cluster of an earlier article from another source.

    A new article is compared only with recent articles of *other* sources that
    share at least two proper-noun keys with it, because the same-story rule never
    says "same" with fewer than two shared names (``MIN_SHARED_NAMES``). An
    inverted index over pairs of name keys finds those candidates without looking
    at every recent article: per new article at most ``POSTING_SCAN`` postings per
    name pair and ``MAX_COMPARISONS`` full comparisons, whatever the number of
    recent articles.
    """

    def __init__(self, recent: Iterable[RecentSignature] = (), *, since: datetime | None = None):
        self._since = since
        self._remembered: list[_Remembered] = []
        self._postings: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
        self._known_ids: set[int] = set()
        self.read_upto = 0  # the highest article id read from the store
        self.add_recent(recent)

    def add_recent(self, recent: Iterable[RecentSignature]) -> None:
        """Remember stored articles not known yet (another poller process stored them).

        Article ids become visible in id order, so reading above :attr:`read_upto`
        next time misses none.
        """
        for row in sorted(recent, key=lambda r: r.article_id):
            self.read_upto = max(self.read_upto, row.article_id)
            if row.article_id in self._known_ids:
                continue
            self._known_ids.add(row.article_id)
            parsed = _read_signature(row.signature)  # parsed once, kept parsed
            if parsed is not None:
                remembered = _Remembered(row.cluster_id, row.source_id, parsed, parsed.topics, None)
                self._remember(remembered)

    @property
    def since(self) -> datetime | None:
        """The start of the grouping window this grouper was loaded for."""
        return self._since

    @classmethod
    async def load(cls, articles: ArticleRepository, now: datetime) -> StoryGrouper:
        """A grouper holding the articles published in the last 48 hours."""
        since = now - GROUPING_WINDOW
        recent = await articles.recent_signatures(since=since)
        return await asyncio.to_thread(lambda: cls(recent, since=since))

    def __len__(self) -> int:
        return len(self._remembered)

    def assign(
        self,
        new_items: Sequence[StoredItem],
        *,
        signatures: Mapping[str, StorySignature],
        source_id: int,
    ) -> dict[int, int]:
        """Article id -> cluster id for new items that tell an already-known story.

        ``signatures`` holds each item's parsed signature by URL (ingestion
        computed it; reading it back from its text would cost as much as the
        grouping). Only items with status "new" are grouped; every grouped or
        not item is remembered so later sources in the cycle can join its story.
        """
        clusters: dict[int, int] = {}
        for item in new_items:
            parsed = self._groupable(item, signatures)
            if parsed is None:
                continue
            new = _Remembered(
                item.article_id,
                source_id,
                parsed,
                frozenset(item.input.topics),
                item.input.published_at,
            )
            cluster_id = self._match(item.article_id, new)
            if cluster_id is not None:
                clusters[item.article_id] = cluster_id
            self._known_ids.add(item.article_id)
            self._remember(new._replace(cluster_id=cluster_id or item.article_id))
        return clusters

    def _groupable(
        self, item: StoredItem, signatures: Mapping[str, StorySignature]
    ) -> StorySignature | None:
        if item.status != "new":
            return None
        if self._since is not None and item.input.published_at < self._since:
            return None  # old news: outside the window of every recent story
        return signatures.get(item.input.url)

    def _remember(self, remembered: _Remembered) -> None:
        index = len(self._remembered)
        self._remembered.append(remembered)
        for pair in _name_pairs(remembered.signature):
            self._postings[pair].append(index)

    def _match(self, article_id: int, new: _Remembered) -> int | None:
        compared = 0
        for index in self._ranked_candidates(_name_pairs(new.signature)):
            earlier = self._remembered[index]
            if earlier.source_id == new.source_id or not _within_window(new, earlier):
                continue
            found = evidence(new.signature, earlier.signature)
            topic_in_common = _topic_in_common(new.topics, earlier.topics)
            if found.same_story(topic_in_common=topic_in_common):
                logger.debug(
                    "article %d joins story %d: %s, topic in common: %s",
                    article_id,
                    earlier.cluster_id,
                    found,
                    topic_in_common,
                )
                return earlier.cluster_id
            compared += 1
            if compared >= MAX_COMPARISONS:
                break
        return None

    def _ranked_candidates(self, pairs: list[tuple[str, str]]) -> Iterator[int]:
        """Recent articles sharing a name pair: most shared pairs first, then the most
        recent (a higher index is more recent; indexes are unique, so no ties).
        """
        shared: Counter[int] = Counter()
        for pair in pairs:
            if pair in self._postings:
                shared.update(self._postings[pair][-POSTING_SCAN:])
        ranked = sorted(((count, index) for index, count in shared.items()), reverse=True)
        return (index for _, index in ranked)


def _within_window(a: _Remembered, b: _Remembered) -> bool:
    if a.published_at is None or b.published_at is None:
        return True  # a loaded article: published inside the window (``load``)
    return abs(a.published_at - b.published_at) <= GROUPING_WINDOW


def _topic_in_common(a: Collection[str] | None, b: Collection[str] | None) -> bool:
    """Unknown topics (a signature stored without them) do not raise the bar."""
    return a is None or b is None or not set(a).isdisjoint(b)


def _name_key(name: str) -> str:
    """Names that can match share this key (see ``story_signature.names_match``)."""
    return name[:NAME_PREFIX_CHARS]


def _name_pairs(parsed: StorySignature) -> list[tuple[str, str]]:
    keys = sorted({_name_key(name) for name in parsed.names})
    return list(itertools.combinations(keys, 2))


def _read_signature(text: str) -> StorySignature | None:
    if not text:
        return None
    try:
        return StorySignature.from_text(text)
    except ValueError:
        return None  # written by an older format: not groupable, not an error
