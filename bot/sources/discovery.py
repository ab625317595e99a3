"""Finding the feed of a URL a chat gave: the URL itself, else what its page points to.

Order: the URL as given, if it parses as a feed; else, when it is an HTML page,
the page's ``<link rel="alternate">`` feeds (RSS, Atom, JSON Feed types), then
common feed paths beside the page, then at the site's root (``feed``,
``rss.xml``, ...). At most
MAX_CANDIDATES further URLs are fetched. Every fetch goes through the caller's
``fetch`` (the guarded fetcher: each candidate and each redirect is checked),
and every parse through its ``parse`` (a time-budgeted parse worker).
A candidate that fails is skipped; only the URL as given reports its failure.

:func:`feed_links` is pure (``html.parser``, no network).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

from bot.errors import ParseError, SourceError
from bot.sources.drafts import ParsedFeed
from bot.sources.fetcher import FetchResult

log = logging.getLogger(__name__)

MAX_CANDIDATES = 12
HTML_SCAN_BYTES = 512_000  # <link> tags live in the head; a huge page is not read whole
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/json",
        "application/rdf+xml",
        "application/xml",
        "text/xml",
    }
)
COMMON_PATHS = ("/feed", "/rss", "/feed.xml", "/rss.xml", "/atom.xml", "/index.xml", "/feed.json")

Fetch = Callable[[str], Awaitable[FetchResult]]
Parse = Callable[[FetchResult], Awaitable[ParsedFeed]]


class NoFeedFound(ParseError):
    """The URL is a page with no feed we could find."""


@dataclass(frozen=True, slots=True)
class Discovered:
    """The feed found: its URL, the fetch that gave it and what it parsed to."""

    url: str
    fetched: FetchResult
    parsed: ParsedFeed


async def discover_feed(
    url: str, fetch: Fetch, parse: Parse, *, look_on_pages: bool = True
) -> Discovered:
    """The feed at ``url`` or (``look_on_pages``) the one its page points to.

    Raises the fetch's error for ``url`` itself (FetchError), ParseError when
    it is not a feed (and, looking on pages, not an HTML page), NoFeedFound
    when the page names no feed that works.
    """
    first = await fetch(url)
    try:
        return Discovered(url, first, await parse(first))
    except ParseError as err:
        if not look_on_pages or not is_html(first):
            raise ParseError(f"not a feed: {err}") from None
    for candidate in candidates(first.body, url)[:MAX_CANDIDATES]:
        found = await _try(candidate, fetch, parse)
        if found is not None:
            return found
    raise NoFeedFound(f"{url}: no feed found on the page or at the usual paths")


async def _try(url: str, fetch: Fetch, parse: Parse) -> Discovered | None:
    try:
        fetched = await fetch(url)
        return Discovered(url, fetched, await parse(fetched))
    except SourceError as err:
        log.debug("feed candidate %s: %s", url, err)
        return None


def is_html(fetched: FetchResult) -> bool:
    """Whether a fetched body is an HTML page (by its type, else by its first bytes)."""
    kind = (fetched.content_type or "").split(";")[0].strip().lower()
    if kind in ("text/html", "application/xhtml+xml"):
        return True
    head = fetched.body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def candidates(body: bytes, page_url: str) -> list[str]:
    """The feed URLs to try for a page: its alternate links, then the common paths."""
    linked = feed_links(body[:HTML_SCAN_BYTES].decode("utf-8", "replace"), page_url)
    # Beside the page first (a blog under /blog/ has /blog/feed), then at the site's root.
    beside = [urljoin(page_url, path.lstrip("/")) for path in COMMON_PATHS]
    common = beside + [urljoin(page_url, path) for path in COMMON_PATHS]
    return [u for u in dict.fromkeys(linked + common) if u != page_url]


def feed_links(html: str, base_url: str) -> list[str]:
    """Absolute http(s) URLs of the page's ``<link rel="alternate">`` feeds, in page order."""
    finder = _LinkFinder()
    finder.feed(html)
    finder.close()
    found = []
    for href in finder.hrefs:
        absolute = urljoin(base_url, href.strip())
        if urlsplit(absolute).scheme in ("http", "https"):
            found.append(absolute)
    return list(dict.fromkeys(found))


class _LinkFinder(HTMLParser):
    """Collects the href of every ``<link rel="alternate" type="<feed type>">``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "link":
            return
        values = {name: (value or "") for name, value in attrs}
        rels = values.get("rel", "").lower().split()
        kind = values.get("type", "").split(";")[0].strip().lower()
        if "alternate" in rels and kind in FEED_TYPES and values.get("href"):
            self.hrefs.append(values["href"])
