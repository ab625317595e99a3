"""Adding a feed a chat names by URL: the rules, the guarded fetch, discovery, the store.

Not trusted: the URL, and everything its site answers. In order, :meth:`FeedAdder.add`

1. reads the URL (``example.com/blog`` means https) and refuses, without
   connecting, what is not http(s), carries a user name or password, or names
   a host the operator's ``own_feeds`` lists exclude;
2. follows a feed another chat added already (no fetch), or points to the
   catalogue when the URL is one of its sources;
3. else finds the feed (:mod:`bot.sources.discovery`) with the guarded fetcher:
   every request and every redirect (at most 5) must reach a public address
   (``bot.sources.fetch_guard``), checked again at connect time;
4. stores the source (one per URL), the chat's follow, and the items of that
   one fetch (``Poller.ingest``): the feed is fetched once, not twice.

Each outcome is an :class:`AddResult` whose ``reason`` is one line for the
user. :class:`RateLimit` bounds how often a chat may make the bot fetch.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

import httpx

from bot.clock import Clock
from bot.errors import (
    BodyTooLarge,
    FetchConnectionError,
    FetchError,
    FetchRefused,
    FetchTimeout,
    HTTPStatusError,
    ParseError,
    SourceError,
)
from bot.language import N_, Phrase
from bot.settings import OwnFeedSettings, Settings
from bot.sources.discovery import Discovered, NoFeedFound, discover_feed
from bot.sources.fetch_guard import url_refusal
from bot.sources.fetcher import Fetcher, FetchResult
from bot.sources.poller import Poller
from bot.store import Store
from bot.store.records import Chat, Source

URL_MAX_CHARS = 2048  # sources.url
AddStatus = Literal["added", "already", "full", "catalogue", "refused", "failed"]


@dataclass(frozen=True, slots=True)
class AddResult:
    """What adding one URL did. ``reason`` (refused, failed) is one line for the user;
    ``topics`` names the catalogue topics of a catalogue source; ``new_article_ids``
    are the articles the first fetch stored."""

    status: AddStatus
    url: str
    title: str = ""
    headline: str | None = None
    reason: str = ""
    topics: tuple[str, ...] = ()
    new_article_ids: tuple[int, ...] = ()


@dataclass(slots=True)
class RateLimit:
    """At most ``count`` events per chat in any ``window_seconds`` (in memory: a restart
    forgets it, which costs at most one more window of fetches)."""

    count: int
    window_seconds: float = 3600.0
    now: Callable[[], float] = time.monotonic
    _events: dict[int, deque[float]] = field(default_factory=dict)

    def wait_seconds(self, chat_id: int) -> float:
        """0 and the event counted when the chat may go on, else how long until it may."""
        now = self.now()
        events = self._events.setdefault(chat_id, deque())
        while events and events[0] <= now - self.window_seconds:
            events.popleft()
        if len(events) >= self.count:
            return events[0] + self.window_seconds - now
        events.append(now)
        return 0.0


class FeedAdder:
    """Adds feeds to chats by URL (for /add, /import and the shell)."""

    def __init__(
        self, store: Store, fetcher: Fetcher, poller: Poller, settings: Settings, clock: Clock
    ) -> None:
        self._store = store
        self._fetcher = fetcher
        self._poller = poller
        self._settings = settings
        self._rules: OwnFeedSettings = settings.own_feeds
        self._clock = clock
        self.rate_limit = RateLimit(settings.own_feeds.adds_per_hour)

    @property
    def rules(self) -> OwnFeedSettings:
        """The operator's own-feed settings."""
        return self._rules

    async def add(
        self, chat: Chat, text: str, *, look_on_pages: bool = True, category: str = ""
    ) -> AddResult:
        """Make ``chat`` follow the feed at the URL ``text`` (or, ``look_on_pages``,
        the one its page links to: /add does, /import's feed URLs need not);
        ``category`` is the chat's folder for it (from an OPML file)."""
        url, refusal = read_url(text)
        if refusal is None:
            refusal = self._host_refusal(url)
        if refusal is not None:
            return AddResult("refused", url or text, reason=refusal)
        known = await self._known(chat, url, category)
        if known is not None:
            return known
        if len(chat.own_feeds) >= self._rules.max_per_chat:
            return AddResult("full", url)
        try:
            found = await discover_feed(
                url, self._fetch, self._poller.preview, look_on_pages=look_on_pages
            )
        except SourceError as err:
            return AddResult(_failure_status(err), url, reason=failure_reason(err))
        return await self._follow_found(chat, url, found, category)

    async def _known(self, chat: Chat, url: str, category: str) -> AddResult | None:
        """The answer for a URL the store knows (a chat feed or a catalogue source), or None."""
        catalogue = await self._store.chat_sources.catalogue_with_url(url)
        if catalogue is not None:
            return AddResult(
                "catalogue", url, title=catalogue.name, topics=self._topics_of(catalogue)
            )
        source = await self._store.chat_sources.find(url)
        if source is None:
            return None
        return await self._follow(chat, source.url, source.name, None, None, category)

    async def _follow_found(
        self, chat: Chat, asked: str, found: Discovered, category: str
    ) -> AddResult:
        if found.url != asked:  # found through the page: the same host lists apply
            refusal = self._host_refusal(found.url)
            if refusal is not None:
                return AddResult("refused", found.url, reason=refusal)
            known = await self._known(chat, found.url, category)
            if known is not None:
                return known
        title = found.parsed.title or _host(found.url)
        headline = found.parsed.items[0].headline if found.parsed.items else None
        return await self._follow(chat, found.url, title, found.fetched, headline, category)

    async def _follow(
        self,
        chat: Chat,
        url: str,
        title: str,
        fetched: FetchResult | None,
        headline: str | None,
        category: str,
    ) -> AddResult:
        """Store the follow; a new source gets the items of ``fetched`` (one fetch)."""
        interval = timedelta(seconds=self._settings.poll_interval_seconds)
        followed = await self._store.chat_sources.follow(
            chat.id,
            url,
            title,
            limit=self._rules.max_per_chat,
            next_poll_at=self._clock() + interval,
            category=category,
        )
        source = followed.source
        if source is None:
            return AddResult("full", url)
        new_ids: tuple[int, ...] = ()
        if followed.is_new_source and fetched is not None:
            new_ids = await self._poller.ingest(source, fetched)
        if headline is None:
            headline = await self._store.chat_sources.latest_headline(source.id)
        status: AddStatus = "added" if followed.outcome == "added" else "already"
        return AddResult(status, source.url, source.name, headline, new_article_ids=new_ids)

    async def _fetch(self, url: str) -> FetchResult:
        return await self._fetcher.fetch(url, trusted=False)

    def _host_refusal(self, url: str) -> str | None:
        """Why the operator's host lists exclude the URL's host, or None."""
        host = _host(url)
        if any(_covers(entry, host) for entry in self._rules.blocked_hosts):
            return Phrase(N_("feeds from {host} are not allowed on this bot"), host=host)
        only = self._rules.only_hosts
        if only and not any(_covers(entry, host) for entry in only):
            hosts = ", ".join(only[:5])
            return Phrase(N_("this bot only adds feeds from {hosts}"), hosts=hosts)
        return None

    def _topics_of(self, source: Source) -> tuple[str, ...]:
        config = next((s for s in self._settings.sources if s.name == source.name), None)
        return tuple(config.topics) if config is not None else ()


def read_url(text: str) -> tuple[str, str | None]:
    """(URL, None) for text a user typed as a URL, else (text, why it is refused).

    A missing scheme means https. Nothing is fetched here.
    """
    raw = text.strip().strip("<>").strip()
    if not raw:
        return raw, N_("there is no link")
    if len(raw) > URL_MAX_CHARS:
        return raw[:80], Phrase(N_("the link is longer than {n} characters"), n=URL_MAX_CHARS)
    if "://" not in raw and not raw.lower().startswith(("file:", "ftp:", "data:", "javascript:")):
        raw = f"https://{raw}"
    try:
        url = httpx.URL(raw)
    except httpx.InvalidURL:
        return raw, N_("that is not a link I can read")
    refusal = url_refusal(url)
    if refusal is not None:
        return raw, _USER_WORDS.get(refusal, refusal)
    return str(url), None


_USER_WORDS = {
    "only http and https URLs are fetched": N_("only http:// and https:// links can be added"),
    "the URL carries a user name or password": (
        N_("links with a user name or password are not accepted")
    ),
    "the URL has no host": N_("the link has no site name"),
}


def failure_reason(err: SourceError) -> str:
    """One line for the user: why fetching or reading the URL failed."""
    if isinstance(err, FetchRefused):
        return _refusal_words(str(err))
    if isinstance(err, HTTPStatusError):
        return Phrase(N_("the site answered with HTTP {status}"), status=err.status_code)
    if isinstance(err, FetchTimeout):
        return N_("the site did not answer in time")
    if isinstance(err, BodyTooLarge):
        return N_("the page is too large")
    if isinstance(err, FetchConnectionError):
        return N_("I could not connect to the site")
    if isinstance(err, NoFeedFound):
        return N_("I found no RSS, Atom or JSON feed on that page")
    if isinstance(err, ParseError):
        return N_("that is not an RSS, Atom or JSON feed")
    if isinstance(err, FetchError) and "TooManyRedirects" in str(err):
        return N_("it redirects too many times (at most 5)")
    return N_("I could not read it")


def _refusal_words(message: str) -> str:
    """A fetch guard refusal ("<url>: [redirect to <url>: ]refused: <why>; <hint>") for
    the user: the why, without the operator's hint."""
    why = message.rpartition("refused: ")[2].split("; ")[0]
    why = _USER_WORDS.get(why, why)
    if "redirect to " in message:
        return Phrase(N_("it redirects to an address I may not fetch ({why})"), why=why)
    return Phrase(N_("that address is not on the public internet ({why})"), why=why)


def _failure_status(err: SourceError) -> AddStatus:
    return "refused" if isinstance(err, FetchRefused) else "failed"


def _covers(entry: str, host: str) -> bool:
    """Whether a host list entry covers ``host``: the name itself or a subdomain of it."""
    return host == entry or host.endswith(f".{entry}")


def _host(url: str) -> str:
    try:
        return httpx.URL(url).host.lower()
    except httpx.InvalidURL:
        return ""
