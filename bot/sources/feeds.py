"""Feed bodies (RSS 0.9x/1.0/2.0, Atom, JSON Feed 1.0/1.1) into cleaned ArticleDrafts.

A plain synchronous function of the bytes (the poller may run it off the event
loop). One reader per format gives raw items: JSON Feed with the json module
(:mod:`bot.sources.feed_json`), every XML feed with feedparser
(:mod:`bot.sources.feed_xml`). The cleaning here is the same for both. Dates
are parsed from the raw strings by our own ``parse_date``, because feedparser's
parsed dates are wrong or missing for formats real feeds send.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from bot.errors import ParseError
from bot.sources.dates import clamp_future, parse_date
from bot.sources.drafts import ArticleDraft, ParsedFeed, RawFeedItem
from bot.sources.feed_json import looks_like_json, read_json_feed
from bot.sources.feed_xml import read_xml_feed
from bot.sources.text import clean_headline, clean_text, make_summary, safe_text
from bot.sources.urls import canonical_url, is_http_url

LEAD_CHARS = 600
HEADLINE_FROM_SUMMARY_CHARS = 120
MAX_EXTRA_WORDS = 3  # a summary at most this much longer than its headline adds nothing
_WORDS_RE = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class _Context:
    url: str
    fetched_at: datetime
    default_tz: tzinfo


def parse_feed(
    body: bytes,
    *,
    url: str,
    fetched_at: datetime,
    default_tz: tzinfo = UTC,
    content_type: str | None = None,
) -> ParsedFeed:
    """Parse a feed body into a ParsedFeed of cleaned drafts, in feed order.

    ``url`` is the feed's URL (relative item links are resolved against it);
    ``default_tz`` is the zone for naive item dates; ``content_type`` is the
    HTTP Content-Type (its charset is honoured). Raises ParseError when the
    body is empty, an HTML page, or not a feed. Items without a usable link,
    or without both headline and summary, are counted in ``skipped``.
    """
    if not body or not body.strip():
        raise ParseError("empty body")
    if looks_like_json(body, content_type):
        title, raw_items = read_json_feed(body)
    else:
        title, raw_items = read_xml_feed(body, content_type)
    context = _Context(url=url, fetched_at=fetched_at, default_tz=default_tz)
    items: list[ArticleDraft] = []
    skipped = 0
    for raw in raw_items:
        draft = _draft_from(raw, context)
        if draft is None:
            skipped += 1
        else:
            items.append(draft)
    return ParsedFeed(title=clean_headline(title), items=tuple(items), skipped=skipped)


def _draft_from(raw: RawFeedItem, context: _Context) -> ArticleDraft | None:
    """Clean one raw item; None when it has no usable link or no text at all."""
    link = _first_link(raw, context.url)
    if link is None:
        return None
    # Each text is cleaned once; the summary and the lead are cut from the same text.
    description_text = clean_text(raw.description)
    body_text = clean_text(raw.body)
    summary = make_summary(description_text) or make_summary(body_text)
    headline = clean_headline(raw.title) or make_summary(summary, HEADLINE_FROM_SUMMARY_CHARS)
    if not headline:
        return None
    published = parse_date(raw.date, default_tz=context.default_tz)
    guid = safe_text(raw.guid) if raw.guid is not None else None
    return ArticleDraft(
        headline=headline,
        url=link,
        summary=summary,
        published_at=clamp_future(published, context.fetched_at) if published else None,
        guid=guid,
        categories=_clean_categories(raw.categories),
        lead=make_summary(body_text or description_text, LEAD_CHARS),
        needs_page=_is_empty_or_headline(summary, headline),
    )


def _first_link(raw: RawFeedItem, feed_url: str) -> str | None:
    """The item's link (relative ones resolved against the feed URL), else its guid when
    that is an absolute URL; made canonical. A guid like "id-1" is never a link.
    """
    for candidate in raw.links:
        if candidate.strip():
            absolute = canonical_url(safe_text(candidate), base=feed_url)
            if is_http_url(absolute):
                return absolute
    if raw.guid is not None and is_http_url(guid := safe_text(raw.guid)):
        return canonical_url(guid)
    return None


def _clean_categories(raw: tuple[str, ...]) -> tuple[str, ...]:
    """The cleaned terms, each once whatever its case."""
    by_key: dict[str, str] = {}
    for term in raw:
        cleaned = clean_headline(term)
        if cleaned:
            by_key.setdefault(cleaned.casefold(), cleaned)
    return tuple(by_key.values())


def _is_empty_or_headline(summary: str, headline: str) -> bool:
    """True when the summary adds nothing to the headline (so the page is worth fetching):
    no words, the headline or a cut-off copy of it, or the headline and a few more words.
    """
    headline_words = _WORDS_RE.findall(headline.casefold())
    summary_words = _WORDS_RE.findall(summary.casefold())
    if summary_words == headline_words[: len(summary_words)]:
        return True
    extra = len(summary_words) - len(headline_words)
    return summary_words[: len(headline_words)] == headline_words and extra <= MAX_EXTRA_WORDS
