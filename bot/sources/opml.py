"""OPML: reading a list of feeds a person uploads, and writing one.

Reading is the dangerous half: the file comes from anyone. It is parsed with
the standard library's expat directly, and refused as soon as it declares a
DOCTYPE, so no entity can be declared at all: the "billion laughs" entity
expansion and external entities (a file or URL read by the parser) are
impossible, not merely limited. (defusedxml would do the same; expat with the
DOCTYPE refused needs no new dependency.) The caller caps the size before
parsing; here the outlines are capped at MAX_OUTLINES and the nesting at
MAX_DEPTH, so a file of 50,000 outlines is refused, not half-read.

An outline with an ``xmlUrl`` is a feed; its category is the ``text`` of the
outline it sits in (OPML's usual folders), else its ``category`` attribute.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from typing import Any
from xml.parsers import expat
from xml.sax.saxutils import escape, quoteattr

from bot.sources.text import safe_text

MAX_OUTLINES = 10_000
MAX_DEPTH = 16
TEXT_MAX_CHARS = 255
URL_MAX_CHARS = 2048


class OpmlError(ValueError):
    """The file is not an OPML list we read; the message says why, in a user's words."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    """One feed of an OPML list: its URL, title, and category ("" for none)."""

    url: str
    title: str = ""
    category: str = ""


def parse_opml(data: bytes) -> list[OpmlFeed]:
    """The feeds of an OPML file, in file order, each URL once.

    Raises OpmlError for a DOCTYPE, malformed XML, a root other than
    ``<opml>``, more than MAX_OUTLINES outlines or deeper than MAX_DEPTH.
    """
    reader = _Reader()
    parser = expat.ParserCreate()
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartDoctypeDeclHandler = reader.refuse_doctype
    parser.EntityDeclHandler = reader.refuse_entity
    parser.ExternalEntityRefHandler = reader.refuse_external
    parser.StartElementHandler = reader.start
    parser.EndElementHandler = reader.end
    try:
        parser.Parse(data, True)
    except expat.ExpatError as err:
        raise OpmlError(f"it is not well-formed XML ({expat.ErrorString(err.code)})") from None
    if not reader.saw_root:
        raise OpmlError("it is not an OPML file")
    first: dict[str, OpmlFeed] = {}
    for feed in reader.feeds:
        first.setdefault(feed.url, feed)
    return list(first.values())


@dataclass(slots=True)
class _Reader:
    feeds: list[OpmlFeed] = field(default_factory=list)
    folders: list[str] = field(default_factory=list)  # the text of each open outline
    outlines: int = 0
    saw_root: bool = False

    def refuse_doctype(self, *_args: Any) -> None:
        raise OpmlError("it declares a DOCTYPE, which OPML files never need")

    def refuse_entity(self, *_args: Any) -> None:
        raise OpmlError("it declares entities, which OPML files never need")

    def refuse_external(self, *_args: Any) -> int:
        raise OpmlError("it refers to external entities")

    def start(self, name: str, attrs: dict[str, str]) -> None:
        if not self.saw_root:
            if name.lower() != "opml":
                raise OpmlError("it is not an OPML file")
            self.saw_root = True
        if name.lower() != "outline":
            return
        self.outlines += 1
        if self.outlines > MAX_OUTLINES:
            raise OpmlError(f"it has more than {MAX_OUTLINES} outlines")
        if len(self.folders) >= MAX_DEPTH:
            raise OpmlError(f"its outlines are nested more than {MAX_DEPTH} deep")
        text = _clean(attrs.get("text") or attrs.get("title") or "")
        url = _clean(attrs.get("xmlUrl") or attrs.get("xmlurl") or "", URL_MAX_CHARS)
        if url:
            folder = self.folders[-1] if self.folders else ""
            category = folder or _clean(attrs.get("category", "")).strip("/")
            self.feeds.append(OpmlFeed(url, text, category))
        self.folders.append("" if url else text)

    def end(self, name: str) -> None:
        if name.lower() == "outline" and self.folders:
            self.folders.pop()


def _clean(value: str, limit: int = TEXT_MAX_CHARS) -> str:
    return " ".join(safe_text(value).split())[:limit]


def render_opml(title: str, feeds: Iterable[OpmlFeed], *, created: datetime) -> bytes:
    """An OPML 2.0 file of ``feeds``: uncategorised ones first, then one folder per category."""
    ordered = list(feeds)
    loose = [f for f in ordered if not f.category]
    folders: dict[str, list[OpmlFeed]] = {}
    for feed in ordered:
        if feed.category:
            folders.setdefault(feed.category, []).append(feed)
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<opml version="2.0">',
        f"  <head><title>{escape(_clean(title))}</title>"
        f"<dateCreated>{format_datetime(created)}</dateCreated></head>",
        "  <body>",
        *(_outline(feed, "    ") for feed in loose),
    ]
    for category, members in folders.items():
        text = quoteattr(_clean(category))
        lines.append(f"    <outline text={text} title={text}>")
        lines.extend(_outline(feed, "      ") for feed in members)
        lines.append("    </outline>")
    lines += ["  </body>", "</opml>", ""]
    return "\n".join(lines).encode("utf-8")


def _outline(feed: OpmlFeed, indent: str) -> str:
    text = quoteattr(_clean(feed.title) or feed.url)
    url = quoteattr(safe_text(feed.url))
    return f'{indent}<outline type="rss" text={text} title={text} xmlUrl={url}/>'
