"""From what a source said to what the store keeps: ArticleInputs and article pages.

Conversion is pure and synchronous: the poller runs it with the parsing, for a
feed in a parse worker process (so everything here must pickle), for a folder
or pages in a worker thread. An item without a usable date gets the fetch time, one dated
more than a day ahead gets the fetch time too; an item published before the
source profile's ``oldest`` (the retention window) is dropped, since the store
would only prune it again. Story grouping lives in :mod:`bot.sources.cluster`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, TypeVar

from bot.errors import ParseError, SourceError
from bot.settings import TopicConfig
from bot.sources.classify import TopicMatcher, classify_with, topic_matchers
from bot.sources.dates import clamp_future
from bot.sources.drafts import ArticleDraft
from bot.sources.feeds import parse_feed
from bot.sources.fetcher import Fetcher
from bot.sources.pages import extract_page
from bot.sources.plaintext import parse_article_file
from bot.sources.story_signature import StorySignature, signature_of
from bot.store.articles import ArticleInput

log = logging.getLogger(__name__)
_T = TypeVar("_T")
_R = TypeVar("_R")


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
    page should be fetched (see :func:`enrich_with_pages`). ``signature`` is the
    parsed form of ``input.signature``, handed to the story grouper so it never
    reads back the text it was written as.
    """

    draft: ArticleDraft
    input: ArticleInput
    signature: StorySignature


# --- conversion -------------------------------------------------------------------


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
