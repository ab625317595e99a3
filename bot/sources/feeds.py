"""Feed bodies (RSS 0.9x/1.0/2.0, Atom, JSON Feed 1.0/1.1) into cleaned ArticleDrafts.

A plain synchronous function of the bytes (the poller runs it off the event loop).
Plain RSS 2.0 in UTF-8 is read with lxml (:func:`_read_rss_fast`, many times
faster than feedparser); every other XML feed, and any feed using an element
that reader does not model, goes to feedparser. JSON Feed is read with ``json``.
Dates are parsed from the raw strings by our own ``parse_date``, because
feedparser's parsed dates are wrong or missing for formats real feeds send.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from functools import lru_cache
from itertools import islice
from typing import Any, NamedTuple

import feedparser
from lxml import etree

from bot.errors import ParseError
from bot.sources.dates import clamp_future, parse_date
from bot.sources.drafts import ArticleDraft, ParsedFeed
from bot.sources.text import clean_headline, clean_text, make_summary
from bot.sources.urls import canonical_url, is_canonical_url, is_http_url

LEAD_CHARS = 600
HEADLINE_FROM_SUMMARY_CHARS = 120
_HTML_PAGE_RE = re.compile(rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html)\b", re.I | re.S)
_WORDS_RE = re.compile(r"\w+")
# An absolute URL that urljoin would return re-assembled but unchanged (see _base_for).
# The port must be valid (0-65535): with an invalid one canonical_url returns the
# URL as given, which urljoin would have changed ("x?" -> "x").
_PORT = r"(?::(?:[0-9]{1,4}|[0-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5]))?"
_PLAIN_ABSOLUTE_RE = re.compile(rf"https?://[A-Za-z0-9.-]+{_PORT}(?:[/?][^\s;\[\]\\]*)?")


class _RawItem(NamedTuple):
    """One feed item's fields as the feed gave them, before cleaning.

    A named tuple: the lxml reader makes one for every item, and a tuple is made
    several times faster than a frozen dataclass.
    """

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
    # Each text is cleaned once; the summary and the lead are cut from the same text.
    description_text = clean_text(raw.description)
    body_text = clean_text(raw.body) if raw.body else ""
    summary = make_summary(description_text) or make_summary(body_text)
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
        lead=make_summary(body_text if raw.body else description_text, LEAD_CHARS),
        needs_page=_is_empty_or_headline(summary, headline),
    )


def _first_link(raw: _RawItem, feed_url: str) -> str | None:
    """The item's link (relative ones resolved against the feed URL), else its guid when
    that is an absolute URL; made canonical. A guid like "id-1" is never a link.
    """
    for candidate in raw.links:
        # A canonical link without ";" is one urljoin leaves alone (_base_for): itself.
        if ";" not in candidate and is_canonical_url(candidate):
            return candidate
        if candidate.strip():
            absolute = canonical_url(candidate, base=_base_for(candidate, feed_url))
            if is_http_url(absolute):
                return absolute
    if is_http_url(raw.guid):
        return canonical_url(raw.guid or "")
    return None


def _base_for(link: str, feed_url: str) -> str | None:
    """The base to resolve ``link`` against; None when resolving cannot change it.

    For a plain absolute http(s) URL (a host, no ";", brackets, backslash or
    whitespace) urljoin only re-assembles the URL from its parts, which
    canonical_url does anyway. Skipping it saves ~5 % of parsing.
    """
    return None if _PLAIN_ABSOLUTE_RE.fullmatch(link) else feed_url


@lru_cache(maxsize=1024)
def _clean_categories(raw: tuple[str, ...]) -> tuple[str, ...]:
    """The cleaned terms, each once whatever its case. Cached: a feed's items repeat a
    few sections ("World", "Politics"), and so does the next poll of the feed.
    """
    by_key: dict[str, str] = {}
    for term in raw:
        cleaned = clean_headline(term)
        if cleaned:
            by_key.setdefault(cleaned.casefold(), cleaned)
    return tuple(by_key.values())


def _is_empty_or_headline(summary: str, headline: str) -> bool:
    """True when the summary adds nothing to the headline (so the page is worth fetching)."""
    folded_headline = headline.casefold()
    folded_summary = summary.casefold()
    first_headline_word = _WORDS_RE.search(folded_headline)
    first_summary_word = _WORDS_RE.search(folded_summary)
    if first_summary_word is None:
        return True
    if first_headline_word is not None and first_headline_word[0] != first_summary_word[0]:
        return False  # the usual answer, read from the first words: neither starts the other
    headline_words = _WORDS_RE.findall(folded_headline)
    # A summary more than 3 words longer than the headline is never "empty": only
    # that many of its words are read.
    words = _WORDS_RE.finditer(folded_summary)
    summary_words = [match.group() for match in islice(words, len(headline_words) + 4)]
    if summary_words == headline_words[: len(summary_words)]:
        return True  # the summary is the headline, or a cut-off copy of it
    extra = len(summary_words) - len(headline_words)
    return summary_words[: len(headline_words)] == headline_words and extra <= 3


# --- XML feeds (feedparser) --------------------------------------------------


def _read_xml_feed(body: bytes, content_type: str | None) -> tuple[str, list[_RawItem]]:
    if _HTML_PAGE_RE.match(body[:2048]):
        raise ParseError("HTML page, not a feed")
    fast = _read_rss_fast(body, content_type)
    if fast is not None:
        return fast
    return _read_with_feedparser(body, content_type)


def _read_with_feedparser(body: bytes, content_type: str | None) -> tuple[str, list[_RawItem]]:
    """Title and raw items of any XML feed feedparser can read; raises ParseError."""
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


# --- XML feeds: plain RSS 2.0 with lxml ----------------------------------------
#
# _read_rss_fast gives exactly the _RawItems the feedparser path gives, or None
# so that feedparser reads the feed. It models the RSS elements news feeds use
# and copies what feedparser does to their text (strip, the "&amp;" fix in
# links, its mojibake and cp1252 repairs). An element feedparser gives a meaning
# to that is not modelled here (media captions, dc:subject, atom links, ...),
# an element with unexpected attributes or child elements, a repeated element,
# a non-UTF-8 body, a DTD or anything lxml rejects sends the feed to feedparser.
# Both paths gave identical ParsedFeeds on every fixture and on every corpus
# file the fast reader accepts (docs/performance.md, "Ingestion").

_FEEDPARSER_MIXIN = feedparser.mixin._FeedParserMixin
# Element keys ("title", "dc_date", ...) feedparser has a handler for.
_FEEDPARSER_KEYS = frozenset(
    name.split("_", 2)[2].lower()
    for name in dir(_FEEDPARSER_MIXIN)
    if name.startswith(("_start_", "_end_"))
)
_FEEDPARSER_PREFIXES = {uri.lower(): prefix for uri, prefix in _FEEDPARSER_MIXIN.namespaces.items()}
_ONCE_KEYS = frozenset(
    {"title", "link", "description", "guid", "pubdate", "dc_date", "content_encoded"}
)
_CUSTOM_KEYS = frozenset({"story", "pcategory"})  # no feedparser handler: kept as entry[key]
_MODELLED_KEYS = _ONCE_KEYS | _CUSTOM_KEYS | {"category"}
_IGNORED_KEYS = frozenset({"author", "dc_creator", "enclosure", "media_thumbnail", "media_content"})
_UNSAFE_UNKNOWN_KEYS = frozenset({"links", "summary_detail"})  # would shadow what we read
_ALLOWED_ATTRIBUTES: dict[str, frozenset[str]] = {
    "guid": frozenset({"isPermaLink"}),
    "category": frozenset({"domain"}),
}
_NO_ATTRIBUTES: frozenset[str] = frozenset()
# What the item reader does with an element (see _element_rule).
_SKIP, _REJECT, _CATEGORY, _VALUE = "skip", "reject", "category", "value"
_XML_PI_ENCODING_RE = re.compile(rb"^<\?.*encoding=['\"](.*?)['\"].*\?>")  # feedparser's
_BOMS = (b"\xef\xbb\xbf", b"\xfe\xff", b"\xff\xfe", b"\x00\x00\xfe\xff")
_BASE_ATTRIBUTE_RE = re.compile(rb"[\s:]base\s*=")
_URI_FIXER_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")  # feedparser's _urljoin
_LINK_ENTITY_RE = re.compile(r"&([A-Za-z0-9_]+);")
_CP1252 = {
    code: bytes([code]).decode("cp1252")
    for code in range(0x80, 0xA0)
    if code not in (0x81, 0x8D, 0x8F, 0x90, 0x9D)
}
_XML_PARSER = etree.XMLParser(
    resolve_entities=False, no_network=True, load_dtd=False, remove_comments=True, remove_pis=True
)


class _NotFast(Exception):
    """The fast reader does not model this feed: feedparser reads it."""


def _read_rss_fast(body: bytes, content_type: str | None) -> tuple[str, list[_RawItem]] | None:
    """Title and raw items of a plain UTF-8 RSS 2.0 feed, or None for feedparser to read it."""
    encoding = _feedparser_encoding(body, content_type)
    if encoding is None or b"<!DOCTYPE" in body[:1024] or b"<!ENTITY" in body:
        return None
    # feedparser would resolve links against an xml:base. The regex is tried at every
    # byte (it starts with a class): look for its literal first, ten times faster.
    if b"base" in body and _BASE_ATTRIBUTE_RE.search(body):
        return None
    try:
        root = etree.fromstring(body, _XML_PARSER)
    except (etree.XMLSyntaxError, ValueError):
        return None
    channel = root.find("channel") if root.tag == "rss" else None
    if channel is None:
        return None
    items = channel.findall("item")
    if not items or len(items) != sum(1 for _ in root.iter("item")):
        return None
    repair = encoding in ("utf-8", "utf-8_INVALID_PYTHON_3")
    try:
        title = _channel_title(channel, repair)
        return title, [_raw_from_element(item, repair) for item in items]
    except _NotFast:
        return None


def _feedparser_encoding(body: bytes, content_type: str | None) -> str | None:
    """The encoding feedparser would decode ``body`` with (RFC 3023 rules), when lxml
    decodes it the same way: UTF-8 declared and served, or an ASCII body. Else None.
    """
    if body.startswith(_BOMS):
        return None
    declared = _XML_PI_ENCODING_RE.match(body)
    xml_encoding = declared.group(1).decode("ascii", "replace").lower() if declared else ""
    mime, _, params = (content_type or "").partition(";")
    mime = mime.strip()
    http_encoding = ""
    for chunk in params.split(";"):
        key, _, value = chunk.partition("=")
        if key.strip().lower() == "charset":
            http_encoding = value.strip().strip("\"'")
    if mime.startswith("text/"):
        chosen = http_encoding or "us-ascii"
    elif content_type and mime.startswith("application/"):
        is_xml = mime.endswith(("+xml", "/xml", "/xml-dtd", "/xml-external-parsed-entity"))
        chosen = (http_encoding or xml_encoding or "utf-8") if is_xml else xml_encoding or "utf-8"
    else:
        chosen = xml_encoding or "utf-8"
    if body.isascii():
        return chosen if _is_ascii_compatible(chosen) else None
    if _is_utf8(chosen) and (not xml_encoding or _is_utf8(xml_encoding)):
        return chosen
    return None


@lru_cache(maxsize=64)
def _is_ascii_compatible(name: str) -> bool:
    try:
        return "<?xml abc>".encode(name) == b"<?xml abc>"
    except (LookupError, UnicodeError):
        return False


def _is_utf8(name: str) -> bool:
    return name.lower().replace("_", "-") in ("utf-8", "utf8")


def _channel_title(channel: Any, repair: bool) -> str:
    titles = channel.findall("title")
    if len(titles) != 1:
        raise _NotFast
    return _value(titles[0], "title", repair)


def _raw_from_element(item: Any, repair: bool) -> _RawItem:
    """One <item>, read as feedparser would read it."""
    if item.attrib:
        raise _NotFast
    values: dict[str, str] = {}
    categories: list[str] = []
    guid_is_link = False
    # Only the item's children carry values. A modelled element with children of its
    # own, or one found deeper down (_check_skipped), sends the feed to feedparser.
    for element in item:
        key, rule, allowed = _element_rule(element.tag, element.prefix)
        if rule == _SKIP:
            if len(element):
                _check_skipped(element)
            continue
        if rule == _REJECT or len(element):
            raise _NotFast
        attributes = element.attrib
        if attributes and not allowed.issuperset(attributes):
            raise _NotFast
        value = _element_text(element, key, repair)
        if rule == _CATEGORY:
            categories.append(value)
        elif key in values:
            raise _NotFast  # feedparser's rules for repeats are not modelled
        else:
            values[key] = value
            if key == "guid":
                guid_is_link = element.get("isPermaLink", "true") == "true"
    return _raw_from_values(values, categories, guid_is_link)


def _check_skipped(element: Any) -> None:
    """Inside an element the reader skips, only elements it would skip may appear."""
    for descendant in element.iterdescendants():
        if _element_rule(descendant.tag, descendant.prefix)[1] != _SKIP:
            raise _NotFast


def _raw_from_values(values: dict[str, str], categories: list[str], guid_is_link: bool) -> _RawItem:
    guid = values.get("guid", "")
    if guid_is_link:
        guid = _fix_uri(guid)
    link = values.get("link")
    if link is None and guid_is_link:
        link = guid  # feedparser: a permalink guid is the link when there is no <link>
    content = values.get("content_encoded", "")
    # feedparser copies content:encoded to the summary only when there is no <description>
    description = values.get("description", content)
    if "pcategory" in values:
        categories = [*categories, values["pcategory"]]
    return _RawItem(
        title=values.get("title", ""),
        links=(link,) if link else (),
        guid=guid.strip() or None,
        date=values.get("pubdate") or values.get("dc_date") or "",
        description=description,
        body=content or values.get("story", ""),
        categories=tuple([term for term in categories if term.strip()]),
    )


@lru_cache(maxsize=1024)
def _element_rule(tag: str, prefix: str | None) -> tuple[str, str, frozenset[str]]:
    """An element's feedparser key, what the item reader does with it (_SKIP, _REJECT,
    _CATEGORY or _VALUE) and the attributes it may have.
    """
    key = _feedparser_key(tag, prefix)
    allowed = _ALLOWED_ATTRIBUTES.get(key, _NO_ATTRIBUTES)
    if key in _IGNORED_KEYS or (key not in _FEEDPARSER_KEYS and key not in _CUSTOM_KEYS):
        return key, _REJECT if key in _UNSAFE_UNKNOWN_KEYS else _SKIP, allowed
    if key not in _MODELLED_KEYS:
        return key, _REJECT, allowed
    return key, _CATEGORY if key == "category" else _VALUE, allowed


def _feedparser_key(tag: str, prefix: str | None) -> str:
    """The name feedparser knows an element by: "title", "dc_date", "content_encoded"."""
    if not tag.startswith("{"):
        return tag.lower()
    uri, _, local = tag[1:].partition("}")
    lower_uri = uri.lower()
    if "backend.userland.com/rss" in lower_uri:
        lower_uri = "http://backend.userland.com/rss"
    known = _FEEDPARSER_PREFIXES.get(lower_uri)
    name = known if known is not None else (prefix or "")
    return f"{name.lower()}_{local.lower()}" if name else local.lower()


def _fix_uri(value: str) -> str:
    """``_URI_FIXER_RE.sub(r"\\1\\3", value)`` without the template: drop the slashes
    after the first "://" (the pattern is anchored, so it matches once at most).
    """
    if ":///" not in value:
        return value  # nothing to drop: no slash follows a "://"
    match = _URI_FIXER_RE.match(value)
    if match is None or not match.group(2):
        return value
    return match.group(1) + value[match.end() :]


def _value(element: Any, key: str, repair: bool) -> str:
    """An element's text as feedparser's ``pop`` leaves it."""
    if len(element):
        raise _NotFast
    attributes = element.attrib
    if attributes and set(attributes) - _ALLOWED_ATTRIBUTES.get(key, _NO_ATTRIBUTES):
        raise _NotFast
    return _element_text(element, key, repair)


def _element_text(element: Any, key: str, repair: bool) -> str:
    """An element's text, stripped and repaired as feedparser does (see _repaired)."""
    text = element.text
    value = text.strip() if text else ""
    if key == "link" or not value.isascii():  # else nothing below changes it
        return _repaired(value, key, repair)
    return value


def _repaired(value: str, key: str, repair: bool) -> str:
    """feedparser's URI fix (links), mojibake and cp1252 repairs (non-ASCII text) and
    "&amp;" fix (links).
    """
    if key == "link":
        value = _fix_uri(value)
    if not value.isascii():
        if repair:
            with suppress(UnicodeEncodeError, UnicodeDecodeError):  # feedparser's mojibake repair
                value = value.encode("iso-8859-1").decode("utf-8")
        value = value.translate(_CP1252)
    if key == "link" and "&" in value:
        value = _LINK_ENTITY_RE.sub(r"&\g<1>", value.replace("&amp;", "&"))
    return value


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
