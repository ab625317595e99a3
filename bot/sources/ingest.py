"""From what a source said to what the store keeps: ArticleInputs, article pages, story groups.

Conversion is pure and synchronous (the poller runs it in a worker thread with
the parsing). Nothing is dropped here: an item without a usable date gets the
fetch time, one dated more than a day ahead gets the fetch time too.

Story grouping (:class:`StoryGrouper`) compares a new article only with recent
articles of *other* sources that share at least two proper-noun keys with it,
because ``cluster.is_same_story`` never says "same" with fewer than two shared
names (``MIN_SHARED_NAMES``). An inverted index over pairs of name keys finds
those candidates without looking at every recent article.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from itertools import chain, combinations
from pathlib import Path
from typing import Any, TypeVar

from bot.errors import ParseError, SourceError
from bot.settings import TopicConfig
from bot.sources.classify import TopicMatcher, classify_with, topic_matchers
from bot.sources.cluster import (
    StorySignature,
    signature_parts,
    signature_text,
    signatures_tell_same_story,
)
from bot.sources.dates import clamp_future
from bot.sources.drafts import ArticleDraft
from bot.sources.feeds import parse_feed
from bot.sources.fetcher import Fetcher, decoded_body
from bot.sources.pages import extract_page
from bot.sources.plaintext import parse_article_file
from bot.store.articles import ArticleInput, ArticleRepository, RecentSignature, StoredItem

log = logging.getLogger(__name__)
_T = TypeVar("_T")
_R = TypeVar("_R")

GROUPING_WINDOW = timedelta(hours=48)  # same story from several outlets: within 48 h (field notes)
POSTING_SCAN = 32  # most recent articles looked at per name pair: bounds work on common pairs
MAX_COMPARISONS = 16  # full is_same_story checks per new article, best candidates first
NAME_KEY_CHARS = 4  # "russia"/"russian" share "russ": cluster.py matches names on a 4+ prefix


@dataclass(frozen=True, slots=True)
class SourceProfile:
    """What ingestion needs to know about a source besides its address."""

    topics: tuple[str, ...]
    topic_catalogue: tuple[TopicConfig, ...]
    default_tz: tzinfo
    fetch_pages: bool = False


@dataclass(frozen=True, slots=True)
class Prepared:
    """One item ready for the store, with the draft it came from."""

    draft: ArticleDraft
    input: ArticleInput


# One item as a parse process sends it back: the ArticleInput's fields in order,
# a UTC date as microseconds since the epoch. Unpickling frozen dataclasses runs
# a Python __setstate__ per object and aware datetimes are rebuilt through reduce
# calls; tuples of str and int are read in C, ~4x faster (docs/performance.md).
# The story signature travels as its text only: the grouper reads its names
# cheaply and its shingles only when it needs them (StorySignature.from_text).
ItemRow = tuple[Any, ...]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_DATE_FIELD = 3  # ArticleInput.published_at


# --- conversion -------------------------------------------------------------------


def to_input(draft: ArticleDraft, *, fetched_at: datetime, profile: SourceProfile) -> ArticleInput:
    """The store's input for one draft: final date, topics and story signature."""
    text = _signature_text_of(draft)
    matchers = topic_matchers(profile.topic_catalogue)
    return ArticleInput(*_input_fields(draft, text, fetched_at, profile, matchers))


def _signature_text_of(draft: ArticleDraft) -> str:
    """``signature_of(draft).to_text()`` without building and re-sorting the sets."""
    return signature_text(*signature_parts(draft.headline, draft.lead or draft.summary))


def _input_fields(
    draft: ArticleDraft,
    signature: str,
    fetched_at: datetime,
    profile: SourceProfile,
    matchers: Sequence[TopicMatcher],
) -> tuple[Any, ...]:
    """ArticleInput's fields, in order: url, headline, summary, date, topics, guid, signature."""
    topics = classify_with(draft, source_topics=profile.topics, matchers=matchers)
    published_at = clamp_future(draft.published_at, fetched_at)
    return (draft.url, draft.headline, draft.summary, published_at, topics, draft.guid, signature)


def prepare(
    drafts: Iterable[ArticleDraft], *, fetched_at: datetime, profile: SourceProfile
) -> list[Prepared]:
    """Every draft converted, in order; none is dropped."""
    return [Prepared(d, to_input(d, fetched_at=fetched_at, profile=profile)) for d in drafts]


def prepare_feed(
    body: bytes,
    *,
    url: str,
    content_type: str | None,
    fetched_at: datetime,
    profile: SourceProfile,
) -> list[Prepared]:
    """Parse a feed body and convert its items (one call, so one worker-thread hop)."""
    parsed = parse_feed(
        body,
        url=url,
        fetched_at=fetched_at,
        default_tz=profile.default_tz,
        content_type=content_type,
    )
    return prepare(parsed.items, fetched_at=fetched_at, profile=profile)


def prepare_feed_rows(
    body: bytes,
    *,
    url: str,
    content_type: str | None,
    fetched_at: datetime,
    profile: SourceProfile,
) -> list[ItemRow]:
    """What :func:`prepare_feed` gives, as compact rows for :func:`feed_items` (sent
    back from a parse process at a fraction of the cost of the dataclasses).
    """
    parsed = parse_feed(
        body,
        url=url,
        fetched_at=fetched_at,
        default_tz=profile.default_tz,
        content_type=content_type,
    )
    rows: list[ItemRow] = []
    matchers = topic_matchers(profile.topic_catalogue)
    for draft in parsed.items:
        text = _signature_text_of(draft)
        fields = _input_fields(draft, text, fetched_at, profile, matchers)
        published_at: datetime = fields[_DATE_FIELD]
        if published_at.tzinfo is UTC:
            date = (published_at - _EPOCH) // _MICROSECOND
            fields = (*fields[:_DATE_FIELD], date, *fields[_DATE_FIELD + 1 :])
        rows.append(fields)
    return rows


def prepare_fetched_rows(
    body: bytes,
    *,
    content_encoding: str | None,
    max_bytes: int,
    url: str,
    content_type: str | None,
    fetched_at: datetime,
    profile: SourceProfile,
) -> list[ItemRow]:
    """:func:`prepare_feed_rows` of a body fetched with ``decode=False``: decoded
    here (in the parse process) under the size cap, then parsed.
    """
    decoded = decoded_body(body, content_encoding, url=url, max_bytes=max_bytes)
    return prepare_feed_rows(
        decoded, url=url, content_type=content_type, fetched_at=fetched_at, profile=profile
    )


def feed_items(rows: Iterable[ItemRow]) -> tuple[ArticleInput, ...]:
    """The store's inputs from :func:`prepare_feed_rows`'s rows."""
    inputs = []
    for url, headline, summary, date, topics, guid, signature in rows:
        # The fields unpacked by name: no tuple rebuilt for the date (this runs in
        # the event-loop process, 40,000 times a cold benchmark cycle).
        if isinstance(date, int):
            date = _EPOCH + timedelta(microseconds=date)
        inputs.append(ArticleInput(url, headline, summary, date, topics, guid, signature))
    return tuple(inputs)


def prepare_folder(folder: Path, *, fetched_at: datetime, profile: SourceProfile) -> list[Prepared]:
    """Read every article file of ``folder``; an unreadable file is logged and skipped."""
    if not folder.is_dir():
        raise SourceError(f"folder {str(folder)!r} not found")
    base_url = folder.resolve().as_uri() + "/"
    drafts = []
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        try:
            drafts.append(
                parse_article_file(path, base_url=base_url, default_tz=profile.default_tz)
            )
        except ParseError as err:
            log.warning("skipping article file %s: %s", path, err)
    return prepare(drafts, fetched_at=fetched_at, profile=profile)


# --- article pages -------------------------------------------------------------


async def fetch_page(fetcher: Fetcher, url: str, *, default_tz: tzinfo) -> ArticleDraft:
    """Fetch one article page and extract it; raises FetchError or ParseError."""
    fetched = await fetcher.fetch(url)
    draft = await asyncio.to_thread(extract_page, fetched.body, url=url, default_tz=default_tz)
    if draft is None:
        raise ParseError(f"{url}: no article headline and text on the page")
    return draft


async def fetch_pages(
    fetcher: Fetcher, urls: Sequence[str], *, default_tz: tzinfo, concurrency: int = 4
) -> list[ArticleDraft]:
    """Drafts of the pages that could be read; raises the first error when none could."""

    async def one(url: str) -> ArticleDraft:
        return await fetch_page(fetcher, url, default_tz=default_tz)

    results = await _gather_bounded(one, urls, concurrency, return_exceptions=True)
    drafts = [r for r in results if isinstance(r, ArticleDraft)]
    errors = [r for r in results if isinstance(r, BaseException)]
    for url, error in zip(urls, results, strict=True):
        if isinstance(error, BaseException):
            log.warning("page %s not read: %s", url, error)
    if errors and not drafts:
        raise errors[0]
    return drafts


async def enrich_with_pages(
    fetcher: Fetcher, drafts: Sequence[ArticleDraft], *, default_tz: tzinfo, concurrency: int = 4
) -> list[ArticleDraft]:
    """Each draft completed from its article page; a page that fails keeps the feed's version."""

    async def one(draft: ArticleDraft) -> ArticleDraft:
        try:
            page = await fetch_page(fetcher, draft.url, default_tz=default_tz)
        except Exception as err:  # any page failure: the feed's version is still good
            log.info("page of %s not used: %s", draft.url, err)
            return draft
        return merge_page(draft, page)

    return list(await _gather_bounded(one, drafts, concurrency))


async def _gather_bounded(
    work: Callable[[_T], Awaitable[_R]],
    items: Sequence[_T],
    concurrency: int,
    *,
    return_exceptions: bool = False,
) -> list[Any]:
    """``work`` on every item, at most ``concurrency`` at once, results in item order."""
    semaphore = asyncio.Semaphore(concurrency)

    async def bounded(item: _T) -> _R:
        async with semaphore:
            return await work(item)

    return await asyncio.gather(*(bounded(i) for i in items), return_exceptions=return_exceptions)


def merge_page(feed_draft: ArticleDraft, page: ArticleDraft) -> ArticleDraft:
    """The feed's item completed by its page: the feed keeps identity, the page adds text."""
    categories = tuple(dict.fromkeys((*feed_draft.categories, *page.categories)))
    return replace(
        feed_draft,
        summary=page.summary or feed_draft.summary,
        lead=page.lead or feed_draft.lead,
        published_at=feed_draft.published_at or page.published_at,
        categories=categories,
        needs_page=False,
    )


# --- story grouping --------------------------------------------------------------


class StoryGrouper:
    """Puts new articles into the story cluster of an earlier article from another source.

    Holds the signatures of recent articles in memory with an inverted index
    over pairs of name keys. Cost per new article: at most ``POSTING_SCAN``
    postings per name pair and ``MAX_COMPARISONS`` full comparisons, whatever
    the number of recent articles. ``assign`` is thread-safe (one lock).
    """

    def __init__(self, recent: Iterable[RecentSignature] = (), *, since: datetime | None = None):
        self._since = since
        # The remembered articles, by index, as parallel lists rather than one object
        # each: 40,000 fewer objects for every full garbage collection to walk.
        self._clusters: list[int] = []
        self._sources: list[int] = []
        self._signatures: list[StorySignature] = []
        self._postings: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
        self._lock = threading.Lock()
        self._compiled_state = (
            *(_read_signature, self._postings, self._clusters, self._sources, self._signatures),
            *(signatures_tell_same_story, POSTING_SCAN, MAX_COMPARISONS),
        )
        for row in sorted(recent, key=lambda r: r.article_id):
            parsed = _read_signature(row.signature)
            if parsed is not None:
                self._add(row.cluster_id, row.source_id, parsed)

    @classmethod
    async def load(cls, articles: ArticleRepository, now: datetime) -> StoryGrouper:
        """A grouper holding the articles published in the last 48 hours."""
        since = now - GROUPING_WINDOW
        recent = await articles.recent_signatures(since=since)
        return await asyncio.to_thread(lambda: cls(recent, since=since))

    def __len__(self) -> int:
        return len(self._signatures)

    def assign(
        self,
        new_items: Sequence[StoredItem],
        *,
        source_id: int,
    ) -> dict[int, int]:
        """Article id -> cluster id for new items that tell an already-known story.

        Only items with status "new" are grouped; every grouped or not item is
        remembered so later sources in the cycle can join its story.
        """
        with self._lock:
            if _assign_stories is not None:
                return _assign_stories(self._compiled_state, new_items, source_id, self._since)
            return self._assign_py(new_items, source_id)

    def _assign_py(self, new_items: Sequence[StoredItem], source_id: int) -> dict[int, int]:
        """:meth:`assign`'s rules (the reference: ``bot/sources/_speedups.c`` does the
        same in C where it was built; the tests compare the two).
        """
        clusters: dict[int, int] = {}
        for item in new_items:
            parsed = self._groupable(item)
            if parsed is None:
                continue
            pairs = _name_pairs(parsed)
            cluster_id = self._match(parsed, source_id, pairs)
            if cluster_id is not None:
                clusters[item.article_id] = cluster_id
            self._add(cluster_id or item.article_id, source_id, parsed, pairs)
        return clusters

    def _groupable(self, item: StoredItem) -> StorySignature | None:
        if item.status != "new":
            return None
        if self._since is not None and item.input.published_at < self._since:
            return None  # old news: outside the window of every recent story
        return _read_signature(item.input.signature)

    def _add(
        self,
        cluster_id: int,
        source_id: int,
        parsed: StorySignature,
        pairs: list[tuple[str, str]] | None = None,
    ) -> None:
        index = len(self._signatures)
        self._clusters.append(cluster_id)
        self._sources.append(source_id)
        self._signatures.append(parsed)
        for pair in _name_pairs(parsed) if pairs is None else pairs:
            self._postings[pair].append(index)

    def _match(
        self, parsed: StorySignature, source_id: int, pairs: list[tuple[str, str]]
    ) -> int | None:
        compared = 0
        for index in self._ranked_candidates(pairs):
            if self._sources[index] == source_id:
                continue
            if signatures_tell_same_story(parsed, self._signatures[index]):
                return self._clusters[index]
            compared += 1
            if compared >= MAX_COMPARISONS:
                break
        return None

    def _ranked_candidates(self, pairs: list[tuple[str, str]]) -> Iterator[int]:
        """Recent articles sharing a name pair: most shared pairs first, then the most
        recent (indexes are unique: no ties). Lazily: the first candidate usually
        tells the story (one comparison an article on the benchmark, of ~64
        candidates), so the rest are counted and sorted only when it does not.
        """
        postings = self._postings
        found = [postings[pair][-POSTING_SCAN:] for pair in pairs if pair in postings]
        if len(found) <= 1:
            # One pair (two names: the common case): every count is 1, so the
            # order is by recency alone, and a posting list is in index order.
            yield from reversed(found[0]) if found else ()
            return
        # An index is in a pair's list at most once, so one in every list has the
        # highest count: the most recent of those comes first, found in C.
        common = set(found[0]).intersection(*found[1:])
        if common:
            first = max(common)
            yield first
        shared = Counter(chain.from_iterable(found))  # counted in C
        if common:
            del shared[first]
        if not shared:
            return
        yield max(zip(shared.values(), shared, strict=True))[1]
        ranked = sorted(zip(shared.values(), shared, strict=True), reverse=True)
        yield from (index for _, index in ranked[1:])


def _compiled_assign() -> Callable[..., dict[int, int]] | None:
    """The C version of StoryGrouper._assign_py, or None where it was not built."""
    try:
        from bot.sources import _speedups
    except ImportError:  # installed without a C compiler: the Python version serves
        return None
    if _speedups.NAME_KEY_CHARS != NAME_KEY_CHARS:  # built with another key length
        return None
    return _speedups.assign_stories


_assign_stories = _compiled_assign()


def _name_key(name: str) -> str:
    return name[:NAME_KEY_CHARS]


def _name_pairs(parsed: StorySignature) -> list[tuple[str, str]]:
    keys = sorted({_name_key(name) for name in parsed.names})
    return list(combinations(keys, 2))


def _read_signature(text: str) -> StorySignature | None:
    if not text:
        return None
    try:
        return StorySignature.from_text(text)
    except ValueError:
        return None  # written by an older format: not groupable, not an error
