"""JSON Feed 1.0/1.1 bodies into raw feed items, read with the json module."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.errors import ParseError
from bot.sources.drafts import RawFeedItem


def looks_like_json(body: bytes, content_type: str | None) -> bool:
    """True when the server says JSON or the body starts like a JSON object."""
    if content_type and "json" in content_type.lower():
        return True
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def read_json_feed(body: bytes) -> tuple[str, list[RawFeedItem]]:
    """The feed's title and raw items; raises ParseError when it is not a JSON Feed."""
    try:
        # Decoded once, invalid bytes as U+FFFD: one bad byte must not lose the feed.
        document = json.loads(body.decode(json.detect_encoding(body), errors="replace"))
    except ValueError as err:
        raise ParseError(f"invalid JSON: {str(err)[:80]}") from err
    if not isinstance(document, dict) or not isinstance(document.get("items"), list):
        raise ParseError("JSON without an items list, not a JSON Feed")
    items = [item for item in document["items"] if isinstance(item, dict)]
    return _text(document.get("title")), [_raw_item(item) for item in items]


def _raw_item(item: Mapping[str, Any]) -> RawFeedItem:
    content_html = _text(item.get("content_html"))
    content_text = _escape(_text(item.get("content_text")))
    return RawFeedItem(
        title=_escape(_text(item.get("title"))),
        links=(_text(item.get("url")), _text(item.get("external_url"))),
        guid=_json_id(item.get("id")),
        date=_text(item.get("date_published") or item.get("date_modified")),
        description=_escape(_text(item.get("summary"))),
        body=content_html or content_text,
        categories=tuple(tag for tag in item.get("tags") or () if isinstance(tag, str)),
    )


def _json_id(value: object) -> str | None:
    """JSON Feed 1.0 allowed numeric ids; 1.1 requires strings. Accept both."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).strip() or None


def _escape(value: str) -> str:
    """JSON Feed text fields are plain text: escape them so the HTML cleaner keeps "<" and "&"."""
    return value.replace("&", "&amp;").replace("<", "&lt;")


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""
