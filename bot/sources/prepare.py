"""From parsed drafts to what the store keeps: each item's ArticleInput and story signature.

Pure and synchronous. The poller runs :func:`prepare_feed` in a parse worker
process (so everything here must pickle, and this module imports only what
parsing needs: the workers stay small); folders and pages go through
:func:`prepare` in a worker thread. An item without a usable date gets the
fetch time, one dated more than a day ahead gets the fetch time too; an item
published before the source profile's ``oldest`` (the retention window) is
dropped, since the store would only prune it again. Of the rest, at most the
profile's ``max_items`` newest are kept (a feed that floods new items costs one
poll's cap, not its size).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from bot.settings import TopicConfig
from bot.sources.classify import TopicMatcher, classify_with, topic_matchers
from bot.sources.dates import clamp_future, dateparser_budget
from bot.sources.drafts import ArticleDraft
from bot.sources.feeds import parse_feed
from bot.sources.story_signature import StorySignature, signature_of
from bot.sources.text import final_summary
from bot.store.articles import ArticleInput

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SourceProfile:
    """What ingestion needs to know about a source besides its address.

    ``oldest``: items published before it are not kept (the poller passes the
    fetch time minus the retention window); None keeps every item.
    ``max_items``: at most this many items of one poll are kept, the newest
    (by published date; items without a date after them, in feed order).
    """

    topics: tuple[str, ...]
    topic_catalogue: tuple[TopicConfig, ...]
    default_tz: tzinfo
    fetch_pages: bool = False
    oldest: datetime | None = None
    max_items: int | None = None


@dataclass(frozen=True, slots=True)
class Prepared:
    """One item ready for the store, with the draft it came from and its story signature.

    ``draft.needs_page`` tells the feed gave no usable summary, so the article
    page should be fetched (see
    :func:`bot.sources.folders_and_pages.enrich_with_pages`). ``signature`` is the
    parsed form of ``input.signature``, handed to the story grouper so it never
    reads back the text it was written as.
    """

    draft: ArticleDraft
    input: ArticleInput
    signature: StorySignature


def to_input(draft: ArticleDraft, *, fetched_at: datetime, profile: SourceProfile) -> ArticleInput:
    """The store's input for one draft: final date, topics and story signature."""
    return _prepared(draft, fetched_at, profile, topic_matchers(profile.topic_catalogue)).input


def _prepared(
    draft: ArticleDraft,
    fetched_at: datetime,
    profile: SourceProfile,
    matchers: Sequence[TopicMatcher],
) -> Prepared:
    topics = classify_with(draft, source_topics=profile.topics, matchers=matchers)
    story = signature_of(draft, topics)  # the same-story rule weighs topics too
    item = ArticleInput(
        url=draft.url,
        headline=draft.headline,
        summary=final_summary(draft.summary, draft.headline),
        published_at=clamp_future(draft.published_at, fetched_at),
        topics=topics,
        guid=draft.guid,
        signature=story.to_text(),
    )
    return Prepared(draft, item, story)


def prepare(
    drafts: Iterable[ArticleDraft], *, fetched_at: datetime, profile: SourceProfile
) -> list[Prepared]:
    """The drafts converted, in order: those published since ``profile.oldest``,
    at most ``profile.max_items`` of them, the newest.
    """
    kept = _newest(_in_window(drafts, fetched_at, profile), profile.max_items)
    matchers = topic_matchers(profile.topic_catalogue)
    return [_prepared(draft, fetched_at, profile, matchers) for draft in kept]


def _in_window(
    drafts: Iterable[ArticleDraft], fetched_at: datetime, profile: SourceProfile
) -> list[ArticleDraft]:
    """The drafts whose stored date (see ``clamp_future``) is not before ``profile.oldest``."""
    if profile.oldest is None:
        return list(drafts)
    kept = []
    for draft in drafts:
        if clamp_future(draft.published_at, fetched_at) < profile.oldest:
            log.debug("not keeping %s: published before the retention window", draft.url)
            continue
        kept.append(draft)
    return kept


def _newest(drafts: list[ArticleDraft], limit: int | None) -> list[ArticleDraft]:
    """The ``limit`` newest drafts in their feed order; undated ones rank after dated ones."""
    if limit is None or len(drafts) <= limit:
        return drafts

    def age(index: int) -> tuple[int, float, int]:
        published = drafts[index].published_at
        if published is None:
            return (1, 0.0, index)
        return (0, -published.timestamp(), index)

    chosen = sorted(sorted(range(len(drafts)), key=age)[:limit])
    log.debug("kept the %d newest of %d items (the per-poll cap)", limit, len(drafts))
    return [drafts[i] for i in chosen]


def prepare_feed(
    body: bytes,
    *,
    url: str,
    content_type: str | None,
    fetched_at: datetime,
    profile: SourceProfile,
) -> list[Prepared]:
    """Parse a feed body and convert its items (one call, so one hop to a parse worker)."""
    with dateparser_budget():  # one feed's dates: a bounded share of the slow fallback
        parsed = parse_feed(
            body,
            url=url,
            fetched_at=fetched_at,
            default_tz=profile.default_tz,
            content_type=content_type,
        )
    return prepare(parsed.items, fetched_at=fetched_at, profile=profile)
