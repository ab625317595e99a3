"""A fake news site: a real aiohttp HTTP server on 127.0.0.1 serving feeds.

Tests register static files or generated RSS/Atom/JSON feeds, publish new
items while the server runs, and switch on faults per path (failures, delays,
garbage, huge bodies, redirects). Every body is rendered once when it changes,
so the server stays fast enough for the 1,000-feed benchmark, which runs it as
a separate process::

    python -m tests.fakes.news_site --feeds 1000 --items 40 --port 0

That prints the base URL on stdout and serves ``/feeds/0.xml`` ... until
SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import hashlib
import json
import random
import re
import signal
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Literal
from xml.sax.saxutils import escape

from aiohttp import web

__all__ = [
    "FakeNewsSite",
    "FeedFormat",
    "FeedItem",
    "add_benchmark_feeds",
    "make_items",
    "render_feed",
]

FeedFormat = Literal["rss", "atom", "json"]

_CONTENT_TYPES: dict[str, str] = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "json": "application/feed+json; charset=utf-8",
}
_QUOTE = {'"': "&quot;"}
TRICKLE_PIECES = 10
_HUGE_CHUNK = (
    b"<item><title>padding</title><description>" + b"x" * 4000 + b"</description></item>\n"
)


# --- items and feed rendering --------------------------------------------------


@dataclass(frozen=True)
class FeedItem:
    """One story as a feed shows it. ``published`` should be timezone-aware."""

    title: str
    link: str
    summary: str  # HTML, as feeds carry it
    guid: str | None = None
    published: datetime | None = None
    categories: tuple[str, ...] = ()


def _words(text: str) -> tuple[str, ...]:
    return tuple(word.strip() for word in text.split(","))


_COUNTRIES = _words(
    "Japan, Russia, India, Brazil, Kenya, Germany, Canada, Indonesia, Mexico, Egypt, "
    "Norway, Chile, Vietnam, Poland, Nigeria, Australia"
)
_CITIES = _words(
    "SINGAPORE, NEW DELHI, NAIROBI, BERLIN, OTTAWA, LIMA, OSLO, CAIRO, HANOI, WARSAW, "
    "LAGOS, SYDNEY, TOKYO, MEXICO CITY, SANTIAGO, JAKARTA"
)
_COMPANIES = _words(
    "Northwind Energy, Contoso Motors, Helios Pharma, Bluefin Airlines, Orbital "
    "Networks, Granite Bank, Tidewater Foods, Vertex Semiconductors"
)
_TOPICS = _words(
    "trade, climate, pension, energy, water, border, tax, education, housing, "
    "fisheries, railway, data privacy, vaccine, wheat export"
)
_TEAMS = ("Rovers", "United", "Athletic", "City", "Wanderers", "Harriers", "Albion", "Rangers")
_HEADLINES = (
    "{country} and {country2} agree to speed up {topic} talks",
    "{country} unveils {topic} plan as protests grow in the capital",
    "Shares in {company} {move} after quarterly results surprise analysts",
    "{company} to cut {number} jobs in {topic} overhaul",
    "Floods force {number} families from their homes in northern {country}",
    "Scientists in {country} report breakthrough on {topic} research",
    "{team} beat {team2} {score} to reach the cup semi-final",
    "Parliament in {country} passes contested {topic} bill",
    "Central bank of {country} holds rates as inflation eases",
    "{country} signs {topic} deal with {country2} worth ${number}m",
    "Strike at {company} enters second week over {topic} dispute",
    "Heatwave in {country} breaks records as {topic} worries mount",
    "{country} opposition wins regional vote in blow to government",
    "Regulators fine {company} over {topic} failures",
    "Court in {country} blocks {topic} reform pending review",
)
_SENTENCES = (
    "Officials said the agreement would be reviewed by ministers next month.",
    "Critics argue the {topic} measures do not go far enough to protect consumers.",
    "The announcement came after weeks of negotiations between the two sides.",
    "Analysts at {company} expect the decision to weigh on growth this year.",
    "Opposition leaders called the move rushed and demanded a public inquiry.",
    "More than {number} people attended the meeting, according to local media.",
    "A spokesperson declined to comment on the details of the {topic} proposal.",
    "Markets in {country} reacted calmly, with the main index closing slightly higher.",
    "Rescue teams were still working through the night, the interior ministry said.",
    "The {topic} ministry said a full report would be published before the summer.",
    "Talks with {country} are expected to resume after the holiday weekend.",
    "Unions warned of further action if the {topic} plan goes ahead unchanged.",
)
_CATEGORIES = ("World", "Politics", "Business", "Technology", "Science", "Sport", "Health")
_CATEGORY_BY_TEMPLATE = _words(
    "World, Politics, Business, Business, World, Science, Sport, Politics, Business, World, "
    "Business, World, Politics, Business, Politics"
)
_FIRST_PUBLISHED = datetime(2024, 5, 14, 18, 0, tzinfo=UTC)


def _fill(template: str, rng: random.Random) -> str:
    country, country2 = rng.sample(_COUNTRIES, 2)
    team, team2 = rng.sample(_TEAMS, 2)
    return template.format(
        country=country,
        country2=country2,
        team=team,
        team2=team2,
        topic=rng.choice(_TOPICS),
        company=rng.choice(_COMPANIES),
        move=rng.choice(("jump", "slide", "soar", "tumble")),
        number=rng.randint(12, 4800),
        score=_score(rng),
    )


def _score(rng: random.Random) -> str:
    winner = rng.randint(1, 5)
    return f"{winner}-{rng.randint(0, winner - 1)}"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def _summary_html(rng: random.Random) -> str:
    """A 200-400 character HTML description: a bold dateline and two to four sentences."""
    html = f"<p><strong>{rng.choice(_CITIES)}:</strong>"
    for template in rng.sample(_SENTENCES, len(_SENTENCES)):
        sentence = " " + escape(_fill(template, rng))
        if len(html) + len(sentence) + len("</p>") > 400:
            break
        html += sentence
        if len(html) >= 260:
            break
    return html + "</p>"


def make_items(
    n: int, *, seed: int, prefix: str = "story", base_url: str = "http://127.0.0.1"
) -> list[FeedItem]:
    """``n`` realistic news items, newest first, the same for the same arguments.

    ``prefix`` goes into every guid and link so items of different feeds never
    collide; dates step back from 14 May 2024 18:00 UTC by 7-95 minutes.
    """
    rng = random.Random(f"{prefix}:{seed}")
    published = _FIRST_PUBLISHED - timedelta(minutes=rng.randint(0, 600))
    items: list[FeedItem] = []
    for index in range(n):
        template_index = rng.randrange(len(_HEADLINES))
        title = _fill(_HEADLINES[template_index], rng)
        link = f"{base_url.rstrip('/')}/{_slug(prefix)}/{seed}-{index}-{_slug(title)}"
        extra = rng.sample(_CATEGORIES, rng.randint(0, 1))
        categories = tuple(dict.fromkeys([_CATEGORY_BY_TEMPLATE[template_index], *extra]))
        guid = f"{prefix}-{seed}-{index}"
        items.append(FeedItem(title, link, _summary_html(rng), guid, published, categories))
        published -= timedelta(minutes=rng.randint(7, 95))
    return items


def render_feed(
    fmt: str, title: str, items: Sequence[FeedItem], home: str, self_url: str, now: datetime
) -> bytes:
    """The feed document in ``fmt`` ("rss", "atom" or "json") as UTF-8 bytes."""
    if fmt == "rss":
        return _render_rss(title, items, home, now).encode()
    if fmt == "atom":
        return _render_atom(title, items, home, self_url, now).encode()
    if fmt == "json":
        return _render_json(title, items, home, self_url).encode()
    raise ValueError(f"unknown feed format {fmt!r}")


def _rss_item(item: FeedItem) -> str:
    parts = [
        f"<title>{escape(item.title)}</title>",
        f"<link>{escape(item.link)}</link>",
        f"<description>{escape(item.summary)}</description>",
    ]
    if item.guid is not None:
        parts.append(f'<guid isPermaLink="false">{escape(item.guid)}</guid>')
    if item.published is not None:
        parts.append(f"<pubDate>{format_datetime(item.published)}</pubDate>")
    parts.extend(f"<category>{escape(name)}</category>" for name in item.categories)
    return "<item>" + "".join(parts) + "</item>\n"


def _render_rss(title: str, items: Sequence[FeedItem], home: str, now: datetime) -> str:
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0">\n<channel>\n'
        f"<title>{escape(title)}</title>\n<link>{escape(home)}/</link>\n"
        f"<description>{escape(title)}: latest stories</description>\n"
        f"<language>en</language>\n<lastBuildDate>{format_datetime(now)}</lastBuildDate>\n"
    )
    return head + "".join(_rss_item(item) for item in items) + "</channel>\n</rss>\n"


def _atom_entry(item: FeedItem, now: datetime) -> str:
    moment = (item.published or now).isoformat()
    categories = "".join(f'<category term="{escape(n, _QUOTE)}"/>' for n in item.categories)
    return (
        f"<entry><title>{escape(item.title)}</title>"
        f'<link rel="alternate" href="{escape(item.link, _QUOTE)}"/>'
        f"<id>{escape(item.guid or item.link)}</id>"
        f"<published>{moment}</published><updated>{moment}</updated>"
        f'<summary type="html">{escape(item.summary)}</summary>{categories}</entry>\n'
    )


def _render_atom(
    title: str, items: Sequence[FeedItem], home: str, self_url: str, now: datetime
) -> str:
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">\n'
        f"<title>{escape(title)}</title>\n<id>{escape(self_url)}</id>\n"
        f'<link rel="self" href="{escape(self_url, _QUOTE)}"/>\n'
        f'<link rel="alternate" href="{escape(home, _QUOTE)}/"/>\n'
        f"<updated>{now.isoformat()}</updated>\n"
    )
    return head + "".join(_atom_entry(item, now) for item in items) + "</feed>\n"


def _json_item(item: FeedItem) -> dict[str, object]:
    entry: dict[str, object] = {
        "id": item.guid or item.link,
        "url": item.link,
        "title": item.title,
        "content_html": item.summary,
    }
    if item.published is not None:
        entry["date_published"] = item.published.isoformat()
    if item.categories:
        entry["tags"] = list(item.categories)
    return entry


def _render_json(title: str, items: Sequence[FeedItem], home: str, self_url: str) -> str:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": title,
        "home_page_url": home + "/",
        "feed_url": self_url,
        "items": [_json_item(item) for item in items],
    }
    return json.dumps(document, ensure_ascii=False, indent=1)


# --- the server -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rendition:
    """One pre-rendered body with its validators (and its gzip form, made once)."""

    body: bytes
    gzipped: bytes
    content_type: str
    etag: str
    last_modified: datetime  # whole seconds, UTC: HTTP dates carry no fractions


@dataclass(slots=True)
class _Feed:
    title: str
    fmt: FeedFormat
    items: list[FeedItem]


@dataclass(slots=True)
class _Faults:
    """What goes wrong on one path; all off by default."""

    fail_status: int | None = None
    fail_remaining: int | None = None  # None: fail forever
    delay_seconds: float = 0.0
    trickle_seconds: float = 0.0
    garbage: _Rendition | None = None
    huge_bytes: int | None = None
    huge_has_length: bool = True
    redirect_to: str | None = None
    redirect_status: int = 301


def _strong_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


def _make_rendition(body: bytes, content_type: str, last_modified: datetime) -> _Rendition:
    return _Rendition(
        body=body,
        gzipped=gzip.compress(body, compresslevel=5, mtime=0),
        content_type=content_type,
        etag=_strong_etag(body),
        last_modified=last_modified,
    )


def _accepts_gzip(accept_encoding: str) -> bool:
    """True when the Accept-Encoding header allows gzip (``gzip;q=0`` does not)."""
    for part in accept_encoding.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            return not re.fullmatch(r"\s*q\s*=\s*0(\.0*)?\s*", params)
    return False


def _is_not_modified(request: web.BaseRequest, rendition: _Rendition) -> bool:
    """RFC 9110 13.2.2: If-None-Match wins; If-Modified-Since only without it."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or rendition.etag in tags
    since = request.if_modified_since
    return since is not None and rendition.last_modified <= since


def _garbage_bytes(path: str, size: int = 4096) -> bytes:
    """Deterministic binary junk that no feed parser could mistake for a feed."""
    rng = random.Random(path)
    return b"\x89GARBAGE\x00" + rng.randbytes(size)


class FakeNewsSite:
    """An aiohttp server on 127.0.0.1 that plays a news site; use ``async with``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self._closing = asyncio.Event()
        self._renditions: dict[str, _Rendition] = {}
        self._feeds: dict[str, _Feed] = {}
        self._faults: dict[str, _Faults] = {}
        self._last_headers: dict[str, Mapping[str, str]] = {}
        self._in_flight = 0
        self.base_url = ""
        self.requests: Counter[str] = Counter()
        self.not_modified: Counter[str] = Counter()
        self.gzipped: Counter[str] = Counter()
        self.peak_in_flight = 0

    async def __aenter__(self) -> FakeNewsSite:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Bind the port (0 picks a free one) and set ``base_url``."""
        server = web.Server(self._handle, handler_cancellation=True, access_log=None)
        self._runner = web.ServerRunner(server, shutdown_timeout=1.0)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    async def close(self) -> None:
        """Stop serving; delayed responses are released at once."""
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # --- content -----------------------------------------------------------

    def url(self, path: str) -> str:
        """The absolute URL of ``path`` on this site."""
        return self.base_url + _normal_path(path)

    @property
    def host_port(self) -> str:
        """``host:port`` of this site, as listed in ``fetch.allowed_hosts``."""
        return self.base_url.removeprefix("http://")

    def serve_file(self, path: str, body: bytes, content_type: str = "application/rss+xml") -> str:
        """Serve ``body`` as-is at ``path``; returns its URL."""
        path = _normal_path(path)
        self._feeds.pop(path, None)
        self._store(path, body, content_type)
        return self.url(path)

    def serve_page(
        self, path: str, *, title: str = "A news site", alternates: Iterable[tuple[str, str]] = ()
    ) -> str:
        """Serve an HTML page whose head links each (type, href) of ``alternates`` as
        ``<link rel="alternate">`` (feed discovery); returns its URL."""
        links = "".join(
            f'<link rel="alternate" type="{kind}" href="{href}">' for kind, href in alternates
        )
        page = (
            f"<!DOCTYPE html><html><head><title>{title}</title>{links}</head>"
            f"<body><h1>{title}</h1><p>Welcome.</p></body></html>"
        )
        return self.serve_file(path, page.encode(), content_type="text/html; charset=utf-8")

    def add_feed(
        self,
        path: str,
        *,
        title: str = "Fake News",
        items: Iterable[FeedItem] = (),
        fmt: FeedFormat = "rss",
    ) -> str:
        """Serve a feed generated from ``items`` (newest first); returns its URL."""
        path = _normal_path(path)
        self._feeds[path] = _Feed(title=title, fmt=fmt, items=list(items))
        self._render_feed(path)
        return self.url(path)

    def publish(self, path: str, item: FeedItem) -> None:
        """Put ``item`` on top of the feed at ``path``; the next fetch sees a new ETag."""
        feed = self._feeds.get(_normal_path(path))
        if feed is None:
            raise KeyError(f"no generated feed at {path!r}; use add_feed first")
        feed.items.insert(0, item)
        self._render_feed(_normal_path(path))

    def items(self, path: str) -> Sequence[FeedItem]:
        """The items the feed at ``path`` currently shows, newest first."""
        return tuple(self._feeds[_normal_path(path)].items)

    def body(self, path: str) -> bytes:
        """The uncompressed body currently served at ``path``."""
        return self._renditions[_normal_path(path)].body

    def hits(self, path: str) -> int:
        """How many requests reached ``path`` (any outcome)."""
        return self.requests[_normal_path(path)]

    def last_request_headers(self, path: str) -> Mapping[str, str]:
        """Headers of the latest request to ``path`` (case-insensitive mapping)."""
        return self._last_headers[_normal_path(path)]

    def _render_feed(self, path: str) -> None:
        feed = self._feeds[path]
        now = self._next_last_modified(path)
        body = render_feed(feed.fmt, feed.title, feed.items, self.base_url, self.url(path), now)
        self._store(path, body, _CONTENT_TYPES[feed.fmt], now)

    def _store(
        self, path: str, body: bytes, content_type: str, modified: datetime | None = None
    ) -> None:
        modified = modified or self._next_last_modified(path)
        self._renditions[path] = _make_rendition(body, content_type, modified)

    def _next_last_modified(self, path: str) -> datetime:
        # Last-Modified has one-second resolution; a change within the same
        # second must still move it forward or If-Modified-Since would lie.
        now = datetime.now(UTC).replace(microsecond=0)
        previous = self._renditions.get(path)
        if previous is not None and now <= previous.last_modified:
            return previous.last_modified + timedelta(seconds=1)
        return now

    # --- faults ------------------------------------------------------------

    def fail(self, path: str, status: int = 500, times: int | None = None) -> None:
        """Answer ``status`` for the next ``times`` requests (None: until cleared)."""
        faults = self._faults_for(path)
        faults.fail_status, faults.fail_remaining = status, times

    def delay(self, path: str, seconds: float) -> None:
        """Wait ``seconds`` before answering each request to ``path``."""
        self._faults_for(path).delay_seconds = seconds

    def trickle(self, path: str, seconds: float) -> None:
        """Answer at once, then send the body in small pieces spread over ``seconds``."""
        self._faults_for(path).trickle_seconds = seconds

    def garbage(self, path: str) -> None:
        """Answer 200 with random non-feed bytes (same ETag rules as a real body)."""
        path = _normal_path(path)
        current = self._renditions.get(path)
        content_type = current.content_type if current else "application/rss+xml"
        modified = self._next_last_modified(path)
        junk = _make_rendition(_garbage_bytes(path), content_type, modified)
        self._faults_for(path).garbage = junk

    def huge(self, path: str, size_bytes: int, *, with_content_length: bool = True) -> None:
        """Stream ``size_bytes`` bytes; without Content-Length it is sent chunked."""
        faults = self._faults_for(path)
        faults.huge_bytes, faults.huge_has_length = size_bytes, with_content_length

    def redirect(
        self, path: str, to_path: str, permanent: bool = True, status: int | None = None
    ) -> None:
        """Redirect ``path`` to ``to_path`` (a path here, or an absolute URL anywhere):
        301 (permanent) or 302; ``status`` overrides."""
        faults = self._faults_for(path)
        faults.redirect_to = to_path if "://" in to_path else _normal_path(to_path)
        faults.redirect_status = status or (301 if permanent else 302)

    def clear(self, path: str) -> None:
        """Remove every fault on ``path``."""
        self._faults.pop(_normal_path(path), None)

    def _faults_for(self, path: str) -> _Faults:
        return self._faults.setdefault(_normal_path(path), _Faults())

    # --- serving -----------------------------------------------------------

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        path = request.path
        self.requests[path] += 1
        self._last_headers[path] = request.headers
        self._in_flight += 1
        self.peak_in_flight = max(self.peak_in_flight, self._in_flight)
        try:
            return await self._respond(request, path)
        finally:
            self._in_flight -= 1

    async def _respond(self, request: web.BaseRequest, path: str) -> web.StreamResponse:
        faults = self._faults.get(path) or _Faults()
        if faults.delay_seconds > 0:
            await self._pause(faults.delay_seconds)
        if faults.redirect_to is not None:
            target = faults.redirect_to
            location = target if "://" in target else self.url(target)
            return web.Response(status=faults.redirect_status, headers={"Location": location})
        if _take_failure(faults):
            return _plain_response(faults.fail_status or 500, b"simulated failure\n")
        if faults.huge_bytes is not None:
            return await _stream_huge(request, faults.huge_bytes, faults.huge_has_length)
        rendition = faults.garbage or self._renditions.get(path)
        if rendition is None:
            return _plain_response(404, b"not found\n")
        if _is_not_modified(request, rendition):
            self.not_modified[path] += 1
            return web.Response(status=304, headers=_validators(rendition))
        if faults.trickle_seconds > 0:
            return await self._trickled(request, rendition, faults.trickle_seconds)
        return self._full_response(request, path, rendition)

    async def _trickled(
        self, request: web.BaseRequest, rendition: _Rendition, seconds: float
    ) -> web.StreamResponse:
        """The body uncompressed, in TRICKLE_PIECES pieces with a pause before each."""
        headers = _validators(rendition) | {"Content-Type": rendition.content_type}
        response = web.StreamResponse(headers=headers)
        response.content_length = len(rendition.body)
        await response.prepare(request)
        piece = -(-len(rendition.body) // TRICKLE_PIECES)
        with contextlib.suppress(ConnectionError):  # the client gave up: that is the point
            for start in range(0, len(rendition.body), piece):
                await self._pause(seconds / TRICKLE_PIECES)
                await response.write(rendition.body[start : start + piece])
            await response.write_eof()
        return response

    async def _pause(self, seconds: float) -> None:
        # Waiting on the closing event lets close() release slow handlers at once.
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._closing.wait(), seconds)

    def _full_response(
        self, request: web.BaseRequest, path: str, rendition: _Rendition
    ) -> web.Response:
        headers = _validators(rendition) | {
            "Content-Type": rendition.content_type,
            "Vary": "Accept-Encoding",
        }
        if not _accepts_gzip(request.headers.get("Accept-Encoding", "")):
            return web.Response(body=rendition.body, headers=headers)
        self.gzipped[path] += 1
        headers["Content-Encoding"] = "gzip"
        return web.Response(body=rendition.gzipped, headers=headers)


def _normal_path(path: str) -> str:
    return path if path.startswith("/") else "/" + path


def _take_failure(faults: _Faults) -> bool:
    """True when this request must fail; counts down a limited failure budget."""
    if faults.fail_status is None:
        return False
    if faults.fail_remaining is None:
        return True
    if faults.fail_remaining <= 0:
        return False
    faults.fail_remaining -= 1
    return True


def _validators(rendition: _Rendition) -> dict[str, str]:
    return {"ETag": rendition.etag, "Last-Modified": _http_date(rendition.last_modified)}


def _plain_response(status: int, body: bytes) -> web.Response:
    headers = {
        "ETag": _strong_etag(body),
        "Last-Modified": _http_date(datetime.now(UTC)),
        "Content-Type": "text/plain; charset=utf-8",
    }
    return web.Response(status=status, body=body, headers=headers)


async def _stream_huge(
    request: web.BaseRequest, size_bytes: int, has_length: bool
) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": "application/rss+xml",
            "ETag": f'"huge-{size_bytes}"',
            "Last-Modified": _http_date(datetime.now(UTC)),
        }
    )
    if has_length:
        response.content_length = size_bytes
    else:
        response.enable_chunked_encoding()
    await response.prepare(request)
    with contextlib.suppress(ConnectionError):  # the client hung up: that is the point
        await _write_filler(response, size_bytes)
        await response.write_eof()
    return response


async def _write_filler(response: web.StreamResponse, size_bytes: int) -> None:
    remaining = size_bytes
    while remaining > 0:
        chunk = _HUGE_CHUNK[:remaining]
        await response.write(chunk)
        remaining -= len(chunk)


# --- an internal service, for the fetch guard ---------------------------------


class InternalService:
    """A listener on 127.0.0.1 playing an internal service a hostile feed points at.

    It counts every TCP connection it accepts (``connections``), so a test can
    assert the fetcher never even connected, and answers any request with a
    page holding a secret (``SECRET``) that must never reach a digest.
    Use ``async with``.
    """

    SECRET = "db_password=hunter2-internal"
    PAGE = (
        "<html><head><title>Admin console</title></head><body><article>"
        "<h1>Admin console</h1><p>Internal settings of this service: "
        + SECRET
        + ". Do not share this page outside the company network, ever.</p>"
        "</article></body></html>"
    ).encode()

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    def url(self, path: str = "/admin", *, host: str = "127.0.0.1") -> str:
        """The URL of ``path`` here, naming this listener as ``host``."""
        return f"http://{host}:{self.port}{path}"

    async def __aenter__(self) -> InternalService:
        self._server = await asyncio.start_server(self._answer, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                f"Content-Length: {len(self.PAGE)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + self.PAGE)
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


# --- standalone mode for the benchmark -----------------------------------------


@dataclass(frozen=True, slots=True)
class _ServeOptions:
    feeds: int
    items: int
    host: str
    port: int
    fmt: FeedFormat


def _parse_args(argv: Sequence[str] | None) -> _ServeOptions:
    parser = argparse.ArgumentParser(description="Serve fake news feeds /feeds/<i>.xml")
    parser.add_argument("--feeds", type=int, default=1000, help="number of feeds")
    parser.add_argument("--items", type=int, default=40, help="items per feed")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--fmt", choices=sorted(_CONTENT_TYPES), default="rss")
    args = parser.parse_args(argv)
    return _ServeOptions(args.feeds, args.items, args.host, args.port, args.fmt)


def add_benchmark_feeds(site: FakeNewsSite, feeds: int, items: int, fmt: FeedFormat) -> None:
    """Register ``/feeds/0.xml`` .. ``/feeds/<feeds-1>.xml``, each with its own items."""
    for index in range(feeds):
        generated = make_items(items, seed=index, prefix=f"feed{index}", base_url=site.base_url)
        site.add_feed(f"/feeds/{index}.xml", title=f"Fake News {index}", items=generated, fmt=fmt)


async def _serve(options: _ServeOptions) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with FakeNewsSite(options.host, options.port) as site:
        add_benchmark_feeds(site, options.feeds, options.items, options.fmt)
        print(site.base_url, flush=True)  # the benchmark waits for this line
        await stop.wait()


def main(argv: Sequence[str] | None = None) -> None:
    """Run the standalone server until SIGINT/SIGTERM."""
    asyncio.run(_serve(_parse_args(argv)))


if __name__ == "__main__":
    main()
