"""Grouping the same story told by several outlets: the same-story rule and the grouper.

Fuzzy title scores cannot tell "Stocks rise as Fed holds rates" from "Stocks
fall as ECB cuts rates" (same template, different story). What separates them
is who and where the story is about: proper-noun overlap on headline + lead
was measured at >= 0.40 for the same story and <= 0.15 for different ones
(docs/field-notes). Between the two, overlap of content-word shingles decides.
Both are read from each article's :class:`StorySignature`.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import NamedTuple

from bot.sources.drafts import ArticleDraft
from bot.sources.story_signature import (
    NAME_PREFIX_CHARS,
    StorySignature,
    names_match,
    signature_of,
)
from bot.store.articles import ArticleRepository, RecentSignature, StoredItem

SAME_STORY_MIN = 0.40  # proper-noun overlap at or above: same story (field notes)
DIFFERENT_STORY_MAX = 0.15  # at or below: different story (field notes)
GREY_ZONE_SHINGLE_MIN = 0.20  # shingle overlap that tips the grey zone to "same"
MIN_SHARED_NAMES = 2  # one shared name ("Apple", "Russia") is not a story


# --- the same-story rule ------------------------------------------------------------


def name_overlap(a: StorySignature, b: StorySignature) -> float:
    """Jaccard overlap of proper nouns; "Russia" matches "Russian", "Japan" "Japanese"."""
    return _name_overlap(a, b, _shared_names(a.names, b.names))


def _name_overlap(a: StorySignature, b: StorySignature, shared: float) -> float:
    union = len(a.names) + len(b.names) - shared
    return shared / union if union else 0.0


def shingle_overlap(a: StorySignature, b: StorySignature) -> float:
    """Overlap coefficient of shingles (shared / smaller set): leads differ in length."""
    smaller = min(len(a.shingles), len(b.shingles))
    return len(a.shingles & b.shingles) / smaller if smaller else 0.0


def story_similarity(a: StorySignature | ArticleDraft, b: StorySignature | ArticleDraft) -> float:
    """A score in [0, 1] on the proper-noun scale: >= SAME_STORY_MIN means the same story.

    It is the proper-noun overlap, capped at DIFFERENT_STORY_MAX when fewer than
    two names are shared; in the grey zone between the measured thresholds,
    shingle overlap >= GREY_ZONE_SHINGLE_MIN lifts it to SAME_STORY_MIN.
    """
    sig_a, sig_b = _as_signature(a), _as_signature(b)
    shared = _shared_names(sig_a.names, sig_b.names)
    names = _name_overlap(sig_a, sig_b, shared)
    if shared < MIN_SHARED_NAMES:
        names = min(names, DIFFERENT_STORY_MAX)
    in_grey_zone = DIFFERENT_STORY_MAX < names < SAME_STORY_MIN
    if in_grey_zone and shingle_overlap(sig_a, sig_b) >= GREY_ZONE_SHINGLE_MIN:
        return SAME_STORY_MIN  # grey zone tipped by shared wording
    return names


def is_same_story(a: StorySignature | ArticleDraft, b: StorySignature | ArticleDraft) -> bool:
    """True when a and b tell the same story (``story_similarity >= SAME_STORY_MIN``)."""
    return story_similarity(a, b) >= SAME_STORY_MIN


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

GROUPING_WINDOW = timedelta(hours=48)  # same story from several outlets: within 48 h (field notes)
POSTING_SCAN = 32  # most recent articles looked at per name pair: bounds work on common pairs
MAX_COMPARISONS = 16  # full same-story checks per new article, best candidates first


class _Remembered(NamedTuple):
    cluster_id: int
    source_id: int
    signature: StorySignature


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
        for row in sorted(recent, key=lambda r: r.article_id):
            parsed = _read_signature(row.signature)  # parsed once, kept parsed
            if parsed is not None:
                self._add(row.cluster_id, row.source_id, parsed)

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
            cluster_id = self._match(parsed, source_id)
            if cluster_id is not None:
                clusters[item.article_id] = cluster_id
            self._add(cluster_id or item.article_id, source_id, parsed)
        return clusters

    def _groupable(
        self, item: StoredItem, signatures: Mapping[str, StorySignature]
    ) -> StorySignature | None:
        if item.status != "new":
            return None
        if self._since is not None and item.input.published_at < self._since:
            return None  # old news: outside the window of every recent story
        return signatures.get(item.input.url)

    def _add(self, cluster_id: int, source_id: int, parsed: StorySignature) -> None:
        index = len(self._remembered)
        self._remembered.append(_Remembered(cluster_id, source_id, parsed))
        for pair in _name_pairs(parsed):
            self._postings[pair].append(index)

    def _match(self, parsed: StorySignature, source_id: int) -> int | None:
        compared = 0
        for index in self._ranked_candidates(_name_pairs(parsed)):
            earlier = self._remembered[index]
            if earlier.source_id == source_id:
                continue
            if is_same_story(parsed, earlier.signature):
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
