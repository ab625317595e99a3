"""Feed bodies (RSS 0.9x/1.0/2.0, Atom, JSON Feed 1.0/1.1) into cleaned ArticleDrafts.

A plain synchronous function of the bytes (the poller runs it in a thread).
feedparser reads the XML formats; JSON Feed is read here with ``json``.
Dates are parsed from the raw strings by our own ``parse_date``, because
feedparser's parsed dates are wrong or missing for formats real feeds send.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

import feedparser

from bot.errors import ParseError
from bot.sources.dates import clamp_future, parse_date
from bot.sources.models import ArticleDraft, ParsedFeed
from bot.sources.text import clean_headline, clean_text, make_summary, summary_from_html
from bot.sources.urls import canonical_url, is_http_url

LEAD_CHARS = 600
HEADLINE_FROM_SUMMARY_CHARS = 120
_HTML_PAGE_RE = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S)
_WORDS_RE = re.compile(r"\w+")


@dataclass(frozen=True, slots=True)
class _RawItem:
    """One feed item's fields as the feed gave them, before cleaning."""

    title: str
    links: tuple[str, ...]
    guid: str | None
    date: str | None
    description: str
    body: str
    categories: tuple[str, ...]


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
    context = _Context(url=url, fetched_at=fetched_at, default_tz=default_tz)
    if _looks_like_json(body, content_type):
        title, raw_items = _read_json_feed(body)
    else:
        title, raw_items = _read_xml_feed(body, content_type)
    return _build_feed(title, raw_items, context)


def _build_feed(title: str, raw_items: Iterable[_RawItem], context: _Context) -> ParsedFeed:
    items: list[ArticleDraft] = []
    skipped = 0
    for raw in raw_items:
        draft = _draft_from(raw, context)
        if draft is None:
            skipped += 1
        else:
            items.append(draft)
    return ParsedFeed(title=clean_headline(title), items=tuple(items), skipped=skipped)


# --- one item ----------------------------------------------------------------


def _draft_from(raw: _RawItem, context: _Context) -> ArticleDraft | None:
    """Clean one raw item; None when it has no usable link or no text at all."""
    link = _first_link(raw, context.url)
    if link is None:
        return None
    summary = summary_from_html(raw.description) or summary_from_html(raw.body)
    headline = clean_headline(raw.title) or make_summary(summary, HEADLINE_FROM_SUMMARY_CHARS)
    if not headline:
        return None
    published = parse_date(raw.date, default_tz=context.default_tz)
    return ArticleDraft(
        headline=headline,
        url=link,
        summary=summary,
        published_at=clamp_future(published, context.fetched_at) if published else None,
        guid=raw.guid,
        categories=_clean_categories(raw.categories),
        lead=make_summary(clean_text(raw.body or raw.description), LEAD_CHARS),
        needs_page=_is_empty_or_headline(summary, headline),
    )


def _first_link(raw: _RawItem, feed_url: str) -> str | None:
    """The item's link (relative ones resolved against the feed URL), else its guid when
    that is an absolute URL; made canonical. A guid like "id-1" is never a link.
    """
    for candidate in raw.links:
        if candidate.strip():
            absolute = canonical_url(candidate, base=feed_url)
            if is_http_url(absolute):
                return absolute
    if is_http_url(raw.guid):
        return canonical_url(raw.guid or "")
    return None


def _clean_categories(raw: Iterable[str]) -> tuple[str, ...]:
    by_key: dict[str, str] = {}
    for term in raw:
        cleaned = clean_headline(term)
        if cleaned:
            by_key.setdefault(cleaned.casefold(), cleaned)
    return tuple(by_key.values())


def _is_empty_or_headline(summary: str, headline: str) -> bool:
    """True when the summary adds nothing to the headline (so the page is worth fetching)."""
    summary_words = _WORDS_RE.findall(summary.casefold())
    headline_words = _WORDS_RE.findall(headline.casefold())
    if not summary_words:
        return True
    if summary_words == headline_words[: len(summary_words)]:
        return True  # the summary is the headline, or a cut-off copy of it
    extra = len(summary_words) - len(headline_words)
    return summary_words[: len(headline_words)] == headline_words and extra <= 3


# --- XML feeds (feedparser) --------------------------------------------------


def _read_xml_feed(body: bytes, content_type: str | None) -> tuple[str, list[_RawItem]]:
    if _HTML_PAGE_RE.match(body[:2048]):
        raise ParseError("HTML page, not a feed")
    # No content-location: feedparser would then resolve guids like URLs; links are ours to resolve.
    headers = {"content-type": content_type} if content_type else {}
    try:
        parsed = feedparser.parse(
            body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as err:  # feedparser's own bug on odd input: report it as unreadable
        raise ParseError(f"feed parser failed: {type(err).__name__}") from err
    if not parsed.entries:
        _raise_if_unreadable(parsed)
    title = _text(parsed.feed.get("title"))
    return title, [_raw_from_entry(entry) for entry in parsed.entries]


def _raise_if_unreadable(parsed: Mapping[str, Any]) -> None:
    """No entries: fine for a recognised feed with a title; otherwise say why it is unreadable."""
    problem = parsed.get("bozo_exception")
    if not parsed.get("version"):
        detail = f": {str(problem)[:80]}" if problem else ""
        raise ParseError(f"not a feed{detail}")
    if parsed.get("bozo") and not _text(parsed.get("feed", {}).get("title")).strip():
        raise ParseError(f"malformed feed: {str(problem)[:80]}")


def _raw_from_entry(entry: Mapping[str, Any]) -> _RawItem:
    return _RawItem(
        title=_text(entry.get("title")),
        links=tuple(_entry_links(entry)),
        guid=_text(entry.get("id")).strip() or None,
        date=_text(entry.get("published") or entry.get("updated") or entry.get("created")),
        description=_entry_description(entry),
        body=_entry_body(entry),
        categories=tuple(_entry_categories(entry)),
    )


def _entry_links(entry: Mapping[str, Any]) -> list[str]:
    links = [_text(entry.get("link"))]
    for link in entry.get("links") or ():
        if isinstance(link, Mapping) and link.get("rel", "alternate") == "alternate":
            links.append(_text(link.get("href")))
    return [link for link in links if link]


def _entry_description(entry: Mapping[str, Any]) -> str:
    """description/summary as the feed gave it; feedparser copies content there when absent."""
    detail = entry.get("summary_detail")
    if _is_media_caption(entry, detail):
        return ""  # the summary_from_html(body) fallback takes over
    if isinstance(detail, Mapping) and detail.get("type") == "text/plain":
        return _text(detail.get("value")).replace("<", "&lt;")  # plain text: keep "<" literal
    return _text(entry.get("summary"))


def _is_media_caption(entry: Mapping[str, Any], detail: object) -> bool:
    """feedparser stores <media:description> (an image caption) as the summary; when the
    entry also has a body, that caption is not the story's summary.
    """
    has_media = "media_content" in entry or "media_thumbnail" in entry
    if not has_media or not entry.get("content") or not isinstance(detail, Mapping):
        return False
    summary = _text(detail.get("value")).strip()
    return detail.get("type") == "text/plain" and summary not in _entry_body(entry)


def _entry_body(entry: Mapping[str, Any]) -> str:
    """Full body HTML: content:encoded / atom:content, or the custom <story> element."""
    for content in entry.get("content") or ():
        if isinstance(content, Mapping) and _text(content.get("value")).strip():
            return _text(content.get("value"))
    return _text(entry.get("story"))


def _entry_categories(entry: Mapping[str, Any]) -> list[str]:
    terms = [_text(tag.get("term")) for tag in entry.get("tags") or () if isinstance(tag, Mapping)]
    terms.append(_text(entry.get("pcategory")))  # The New Indian Express's section element
    return [term for term in terms if term.strip()]


# --- JSON Feed ---------------------------------------------------------------


def _looks_like_json(body: bytes, content_type: str | None) -> bool:
    if content_type and "json" in content_type.lower():
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _read_json_feed(body: bytes) -> tuple[str, list[_RawItem]]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError) as err:
        raise ParseError(f"invalid JSON: {str(err)[:80]}") from err
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise ParseError("JSON without an items list, not a JSON Feed")
    items = [item for item in document["items"] if isinstance(item, dict)]
    return _text(document.get("title")), [_raw_from_json_item(item) for item in items]


def _raw_from_json_item(item: Mapping[str, Any]) -> _RawItem:
    content_html = _text(item.get("content_html"))
    content_text = _html_escape_text(_text(item.get("content_text")))
    return _RawItem(
        title=_html_escape_text(_text(item.get("title"))),
        links=tuple(link for link in (_text(item.get("url")), _text(item.get("external_url")))),
        guid=_json_id(item.get("id")),
        date=_text(item.get("date_published") or item.get("date_modified")),
        description=_html_escape_text(_text(item.get("summary"))),
        body=content_html or content_text,
        categories=tuple(_text(tag) for tag in item.get("tags") or () if isinstance(tag, str)),
    )


def _json_id(value: object) -> str | None:
    """JSON Feed 1.0 allowed numeric ids; 1.1 requires strings. Accept both."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).strip() or None


def _html_escape_text(value: str) -> str:
    """JSON Feed text fields are plain text: escape them so the HTML cleaner keeps "<" and "&"."""
    return value.replace("&", "&amp;").replace("<", "&lt;")


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
