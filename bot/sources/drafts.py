"""Values produced by the source layer: what a feed or page said, cleaned."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ArticleDraft:
    """One story as read from a source, cleaned and ready for the store.

    ``url`` is canonical (tracking parameters and fragments dropped).
    ``published_at`` is timezone-aware UTC, or None when the source gave no
    usable date (the store then uses the fetch time; nothing is dropped).
    ``lead`` is the first paragraph(s) of body text when known; it helps
    grouping the same story from several outlets. ``needs_page`` says the
    feed gave no usable summary, so the article page should be fetched.
    """

    headline: str
    url: str
    summary: str
    published_at: datetime | None = None
    guid: str | None = None
    categories: tuple[str, ...] = ()
    lead: str = ""
    needs_page: bool = False


@dataclass(frozen=True, slots=True)
class ParsedFeed:
    """A whole feed: its title and its items, in feed order."""

    title: str
    items: tuple[ArticleDraft, ...] = field(default_factory=tuple)
    skipped: int = 0  # items without a link or headline that could not be used


@dataclass(frozen=True, slots=True)
class RawFeedItem:
    """One feed item's fields as the feed gave them, before cleaning (any feed format).

    ``description`` and ``body`` are HTML (plain-text fields arrive escaped);
    ``links`` are the candidate article links in the order to try them.
    """

    title: str
    links: tuple[str, ...]
    guid: str | None
    date: str | None
    description: str
    body: str
    categories: tuple[str, ...]
