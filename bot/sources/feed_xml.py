"""XML feed bodies (RSS 0.9x/1.0/2.0, Atom) into raw feed items, read with feedparser.

feedparser is the one XML feed reader: it copes with the encodings, namespaces
and malformed markup real feeds send. We call it with ``sanitize_html=False``
and ``resolve_relative_uris=False``: every text field goes through our own
``text.html_to_text`` (HTMLParser; scripts, styles and every tag dropped, only
plain text kept), so feedparser's HTML sanitizer would be redone work: ~4 ms
of its ~11 ms per 40-item feed, which the capacity budget's cold-cycle line
(>= 50 feeds/s) needs. Links are resolved against the feed URL by ``feeds.py``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import feedparser

from bot.errors import ParseError
from bot.sources.drafts import RawFeedItem

_HTML_PAGE_RE = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S)
_CHARSET_RE = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_XML_ENCODING_RE = re.compile(rb"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([\w.:-]+)", re.I)


def read_xml_feed(body: bytes, content_type: str | None) -> tuple[str, list[RawFeedItem]]:
    """Title and raw items of any XML feed feedparser can read; raises ParseError."""
    if _HTML_PAGE_RE.match(body[:2048]):
        raise ParseError("HTML page, not a feed")
    # No content-location: feedparser would then resolve guids like URLs; links are ours to resolve.
    headers = {"content-type": content_type} if content_type else {}
    body = _valid_utf8(body, content_type)
    try:
        parsed = feedparser.parse(
            body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
        )
    except Exception as err:  # feedparser's own bug on odd input: report it as unreadable
        raise ParseError(f"feed parser failed: {type(err).__name__}") from err
    if not parsed.entries:
        _raise_if_unreadable(parsed)
    title = _text(parsed.feed.get("title"))
    return title, [_raw_item(entry) for entry in parsed.entries]


def _valid_utf8(body: bytes, content_type: str | None) -> bytes:
    """A body declared UTF-8 with invalid bytes in it, those bytes as U+FFFD.

    Left alone, feedparser would decode the whole feed again as windows-1252
    (every accent and dash in it garbled) because of one bad byte.
    """
    if _declared_charset(body, content_type) not in ("utf-8", "utf8"):
        return body
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return body.decode("utf-8", errors="replace").encode("utf-8")
    return body


def _declared_charset(body: bytes, content_type: str | None) -> str | None:
    """The charset the HTTP header names, else the XML declaration's, lower-cased."""
    header = _CHARSET_RE.search(content_type or "")
    if header:
        return header.group(1).lower()
    declaration = _XML_ENCODING_RE.match(body[:200])
    return declaration.group(1).decode("ascii").lower() if declaration else None


def _raise_if_unreadable(parsed: Mapping[str, Any]) -> None:
    """No entries: fine for a recognised feed with a title; otherwise say why it is unreadable."""
    problem = parsed.get("bozo_exception")
    if not parsed.get("version"):
        detail = f": {str(problem)[:80]}" if problem else ""
        raise ParseError(f"not a feed{detail}")
    if parsed.get("bozo") and not _text(parsed.get("feed", {}).get("title")).strip():
        raise ParseError(f"malformed feed: {str(problem)[:80]}")


def _raw_item(entry: Mapping[str, Any]) -> RawFeedItem:
    return RawFeedItem(
        title=_text(entry.get("title")),
        links=tuple(_links(entry)),
        guid=_text(entry.get("id")).strip() or None,
        date=_text(entry.get("published") or entry.get("updated") or entry.get("created")),
        description=_description(entry),
        body=_body(entry),
        categories=tuple(_categories(entry)),
    )


def _links(entry: Mapping[str, Any]) -> list[str]:
    links = [_text(entry.get("link"))]
    for link in entry.get("links") or ():
        if isinstance(link, Mapping) and link.get("rel", "alternate") == "alternate":
            links.append(_text(link.get("href")))
    return [link for link in links if link]


def _description(entry: Mapping[str, Any]) -> str:
    """description/summary as the feed gave it; feedparser copies content there when absent."""
    detail = entry.get("summary_detail")
    if _is_media_caption(entry, detail):
        return ""  # the summary is then made from the body
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
    return detail.get("type") == "text/plain" and summary not in _body(entry)


def _body(entry: Mapping[str, Any]) -> str:
    """Full body HTML: content:encoded / atom:content, or The New Indian Express's <story>
    (feedparser keeps an element it has no handler for under its lower-cased name).
    """
    for content in entry.get("content") or ():
        if isinstance(content, Mapping) and _text(content.get("value")).strip():
            return _text(content.get("value"))
    return _text(entry.get("story"))


def _categories(entry: Mapping[str, Any]) -> list[str]:
    terms = [_text(tag.get("term")) for tag in entry.get("tags") or () if isinstance(tag, Mapping)]
    terms.append(_text(entry.get("pcategory")))  # The New Indian Express's <Pcategory> section
    return [term for term in terms if term.strip()]


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
