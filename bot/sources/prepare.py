"""From parsed drafts to what the store keeps: each item's ArticleInput and story signature.

Pure and synchronous. The poller runs :func:`prepare_feed` in a parse worker
process (so everything here must pickle, and this module imports only what
parsing needs: the workers stay small); folders and pages go through
:func:`prepare` in a worker thread. An item without a usable date gets the
fetch time, one dated more than a day ahead gets the fetch time too; an item
published before the source profile's ``oldest`` (the retention window) is
dropped, since the store would only prune it again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from bot.settings import TopicConfig
from bot.sources.classify import TopicMatcher, classify_with, topic_matchers
from bot.sources.dates import clamp_future
from bot.sources.drafts import ArticleDraft
from bot.sources.feeds import parse_feed
from bot.sources.story_signature import StorySignature, signature_of
from bot.store.articles import ArticleInput

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SourceProfile:
    """What ingestion needs to know about a source besides its address.

    ``oldest``: items published before it are not kept (the poller passes the
    fetch time minus the retention window); None keeps every item.
    """

    topics: tuple[str, ...]
    topic_catalogue: tuple[TopicConfig, ...]
    default_tz: tzinfo
    fetch_pages: bool = False
    oldest: datetime | None = None


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
    story = signature_of(draft)
    item = ArticleInput(
        url=draft.url,
        headline=draft.headline,
        summary=draft.summary,
        published_at=clamp_future(draft.published_at, fetched_at),
        topics=classify_with(draft, source_topics=profile.topics, matchers=matchers),
        guid=draft.guid,
        signature=story.to_text(),
    )
    return Prepared(draft, item, story)


def prepare(
    drafts: Iterable[ArticleDraft], *, fetched_at: datetime, profile: SourceProfile
) -> list[Prepared]:
    """Every draft converted, in order, except those published before ``profile.oldest``."""
    matchers = topic_matchers(profile.topic_catalogue)
    prepared = []
    for draft in drafts:
        item = _prepared(draft, fetched_at, profile, matchers)
        if profile.oldest is not None and item.input.published_at < profile.oldest:
            log.debug("not keeping %s: published before the retention window", draft.url)
            continue
        prepared.append(item)
    return prepared


def prepare_feed(
    body: bytes,
    *,
    url: str,
    content_type: str | None,
    fetched_at: datetime,
    profile: SourceProfile,
) -> list[Prepared]:
    """Parse a feed body and convert its items (one call, so one hop to a parse worker)."""
    parsed = parse_feed(
        body,
        url=url,
        fetched_at=fetched_at,
        default_tz=profile.default_tz,
        content_type=content_type,
    )
    return prepare(parsed.items, fetched_at=fetched_at, profile=profile)
