"""Sources that are not a feed: folders of article files, and article pages.

A folder is read in a worker thread (:func:`prepare_folder`); pages are
fetched with the one fetcher, either as a source's list of pages
(:func:`fetch_pages`) or to complete feed items that came without a usable
summary (:func:`enrich_with_pages`). Conversion to store inputs is
:mod:`bot.sources.prepare`; story grouping is :mod:`bot.sources.cluster`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, TypeVar

from bot.errors import ParseError, SourceError
from bot.sources.article_files import parse_article_file
from bot.sources.drafts import ArticleDraft
from bot.sources.fetcher import Fetcher
from bot.sources.pages import extract_page
from bot.sources.prepare import Prepared, SourceProfile, prepare

log = logging.getLogger(__name__)
_T = TypeVar("_T")
_R = TypeVar("_R")


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


async def fetch_page(
    fetcher: Fetcher, url: str, *, default_tz: tzinfo, trusted: bool = False
) -> ArticleDraft:
    """Fetch one article page and extract it; raises FetchError or ParseError.

    ``trusted``: the URL is from the operator's config (a pages source), not an item link.
    """
    fetched = await fetcher.fetch(url, trusted=trusted)
    draft = await asyncio.to_thread(extract_page, fetched.body, url=url, default_tz=default_tz)
    if draft is None:
        raise ParseError(f"{url}: no article headline and text on the page")
    return draft


async def fetch_pages(
    fetcher: Fetcher, urls: Sequence[str], *, default_tz: tzinfo, concurrency: int = 4
) -> list[ArticleDraft]:
    """Drafts of the configured pages that could be read; raises the first error when none could."""

    async def one(url: str) -> ArticleDraft:
        return await fetch_page(fetcher, url, default_tz=default_tz, trusted=True)

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
    """Each draft completed from its article page; a page that fails keeps the feed's version.

    The pages are item links, so the fetch guard checks them: a refused one only skips the page.
    """

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
