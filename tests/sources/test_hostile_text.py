"""Hostile text in feeds: control characters, bidi overrides, invalid UTF-8, lone surrogates.

Real HTTP from the fake news site through the poller into the store, on SQLite
and PostgreSQL: the clean items of such a feed are kept, the dirty ones are
stored cleaned, and the feed is not failed (PostgreSQL rejects a NUL in text).
"""

from __future__ import annotations

import random
from contextlib import aclosing
from datetime import UTC, datetime

from bot.settings import Settings, SourceConfig, TopicConfig
from bot.sources.fetcher import Fetcher
from bot.sources.poller import Poller, fetch_limits
from bot.store import Store
from bot.store.records import Article
from tests.fakes.news_site import FakeNewsSite

LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)
UNSAFE = ["\x00", "\x1b", "\x07", "\x7f", "\x9b", "\u202e", "\u2066", "\ud800"]

RSS = """<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0"><channel><title>Hostile</title>
<item><title>Clean caf\u00e9 story \u2014 fine</title><link>{base}/clean</link>
<description>A clean summary.</description><guid>clean-1</guid></item>
<item><title>NUL\x00 here and ESC\x1b[31m red</title><link>{base}/nul\x00x</link>
<description>Body with\x00 NUL and \x1b[0m escapes.</description><guid>nul-\x00-2</guid></item>
<item><title>Bidi \u202egnp.exe\u202c and \u2066isolate\u2069</title><link>{base}/bidi</link>
<description>Caf\u00e9 BADBYTES \u202eevil</description><guid>bidi-3</guid></item>
</channel></rss>"""

JSON_FEED = """{{"version": "https://jsonfeed.org/version/1.1", "title": "J",
 "items": [
  {{"id": "j1", "url": "{base}/j1", "title": "Plain JSON item", "summary": "ok"}},
  {{"id": "j2\\u0000", "url": "{base}/j2", "title": "NUL\\u0000 and \\ud800 half",
   "summary": "esc \\u001b[1m and \\u202e BADBYTES"}}
 ]}}"""


async def poll_once(store: Store, sources: list[SourceConfig]) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        topics=[TopicConfig(id="world", name="World")],
        sources=sources,
        retention_days=100 * 365,
    )
    fetcher = Fetcher.create(fetch_limits(settings.fetch))
    async with aclosing(fetcher):
        poller = Poller(store, fetcher, settings, lambda: datetime.now(UTC), random.Random(0))
        async with aclosing(poller):
            await poller.tick()


def stored_texts(article: Article) -> str:
    return " ".join([article.headline, article.summary, article.url, article.guid or ""])


def serve(site: FakeNewsSite, path: str, template: str, content_type: str) -> str:
    text = template.format(base=site.base_url)
    body = text.encode("utf-8", errors="surrogatepass").replace(b"BADBYTES", b"\xff\xfe\xc3")
    return site.serve_file(path, body, content_type)


async def test_unsafe_characters_are_removed_at_ingest_and_the_feed_is_kept(
    store: Store, site: FakeNewsSite
) -> None:
    rss = serve(site, "/hostile.xml", RSS, "application/rss+xml; charset=utf-8")
    json_feed = serve(site, "/hostile.json", JSON_FEED, "application/feed+json")
    await poll_once(
        store,
        [
            SourceConfig(name="RSS", url=rss, topics=["world"]),
            SourceConfig(name="JSON", url=json_feed, topics=["world"]),
        ],
    )

    assert [s.last_error for s in await store.sources.all()] == [None, None]
    stored = await store.articles.recent(["world"], since=LONG_AGO, limit=100)
    by_headline = {a.headline: a for a in stored}
    assert set(by_headline) == {
        "Clean caf\u00e9 story \u2014 fine",  # one bad byte elsewhere garbles no accent
        "NUL here and ESC[31m red",
        "Bidi gnp.exe and isolate",
        "Plain JSON item",
        "NUL and \ufffd half",
    }
    for article in stored:
        assert not any(char in stored_texts(article) for char in UNSAFE), article
    assert by_headline["Bidi gnp.exe and isolate"].summary.startswith("Caf\u00e9 \ufffd")
    assert by_headline["NUL here and ESC[31m red"].url == f"{site.base_url}/nulx"
    assert by_headline["NUL and \ufffd half"].guid == "j2"
