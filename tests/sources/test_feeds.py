"""parse_feed: real fixture feeds against golden files, plus the shapes real feeds take.

Regenerate the golden files after a deliberate change with
``NEWSBOT_REGEN_GOLDEN=1 .venv/bin/pytest tests/sources/test_feeds.py`` and read
the diff before committing it.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.errors import ParseError
from bot.sources.drafts import ParsedFeed
from bot.sources.feeds import parse_feed
from tests.conftest import DATA_DIR

FEED_FIXTURES = DATA_DIR / "feeds"  # the feeds and, beside each, its golden file
FETCHED_AT = datetime(2025, 1, 1, 12, tzinfo=UTC)
FEED_URL = "https://news.example.org/section/rss"
IS_REGEN = os.environ.get("NEWSBOT_REGEN_GOLDEN") == "1"
FIXTURE_FILES = sorted(p for p in FEED_FIXTURES.glob("*.*") if ".expected." not in p.name)


def parse(body: bytes, **kwargs: Any) -> ParsedFeed:
    return parse_feed(body, url=FEED_URL, fetched_at=FETCHED_AT, **kwargs)


def rss(items: str, *, encoding: str = "utf-8", extra_ns: str = "") -> bytes:
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        f'<rss version="2.0" {extra_ns}><channel><title>Test feed</title>'
        f"<link>https://news.example.org/</link>{items}</channel></rss>"
    )
    return text.encode(encoding)


def as_json(feed: ParsedFeed) -> dict[str, Any]:
    items = []
    for item in feed.items:
        row = asdict(item)
        row["published_at"] = item.published_at.isoformat() if item.published_at else None
        row["categories"] = list(item.categories)
        items.append(row)
    return {"title": feed.title, "skipped": feed.skipped, "items": items}


# --- fixture feeds --------------------------------------------------------------


def test_fixture_folder_is_there() -> None:
    assert len(FIXTURE_FILES) >= 13, f"expected the feed fixtures in tests/data ({FEED_FIXTURES})"


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_fixture_feed_items_are_complete(path: Path) -> None:
    feed = parse(path.read_bytes())
    assert feed.items, f"{path.name}: no items"
    for item in feed.items:
        assert item.headline and "<" not in item.headline and "&amp;" not in item.headline
        assert item.url.startswith(("http://", "https://")) and "#" not in item.url
        assert item.summary or item.needs_page
        if item.published_at is not None:
            assert item.published_at.tzinfo is UTC
            assert datetime(2000, 1, 1, tzinfo=UTC) < item.published_at <= FETCHED_AT


def test_fixture_items_have_dates_where_the_feed_has_them() -> None:
    undated = {
        path.name
        for path in FIXTURE_FILES
        if any(item.published_at is None for item in parse(path.read_bytes()).items)
    }
    # These two RSS 0.91 feeds carry no item dates; one JSON Feed item has none either.
    assert undated == {
        "rss_0.91_encoding_1.xml",
        "rss_0.91_encoding_2.xml",
        "jsonfeed_elastic_1.1.json",
    }


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_fixture_feed_matches_golden(path: Path) -> None:
    actual = as_json(parse(path.read_bytes()))
    golden = FEED_FIXTURES / f"{path.stem}.expected.json"
    if IS_REGEN:
        text = json.dumps(actual, ensure_ascii=False, indent=2) + "\n"
        golden.write_text(text, encoding="utf-8")
    assert golden.exists(), f"missing {golden.name}; run with NEWSBOT_REGEN_GOLDEN=1"
    assert actual == json.loads(golden.read_text(encoding="utf-8"))


def test_nbc_twelve_hour_clock_without_zone_uses_source_zone() -> None:
    body = (FEED_FIXTURES / "rss_2.0_nbcny.xml").read_bytes()
    in_utc = parse(body).items[0].published_at
    in_new_york = parse(body, default_tz=ZoneInfo("America/New_York")).items[0].published_at
    assert in_utc == datetime(2023, 12, 16, 14, 2, 33, tzinfo=UTC)
    assert in_new_york == datetime(2023, 12, 16, 19, 2, 33, tzinfo=UTC)


# --- shapes of real feeds --------------------------------------------------------

TNIE_ITEM = """
<item><title>World War II finally ends: Russia &amp;amp; Japan
  to accelerate peace treaty talks</title>
<link>https://www.newindianexpress.com/world/2018/nov/15/russia-japan-1898234.html?utm_source=rss#x</link>
<description></description><category></category><Pcategory>World</Pcategory>
<pubDate>Thursday, November 15, 2018 04:12 PM +0530</pubDate>
<story>&lt;p&gt;SINGAPORE: Russia and Japan have agreed to accelerate talks to formally end World
War II hostilities.&lt;/p&gt;&lt;p&gt;The two countries are still technically at war.&lt;/p&gt;
&lt;p&gt;flipboard facebook twitter whatsapp&lt;/p&gt;</story></item>
"""


def test_new_indian_express_shape() -> None:
    (item,) = parse(rss(TNIE_ITEM)).items
    assert item.headline == (
        "World War II finally ends: Russia & Japan to accelerate peace treaty talks"
    )
    assert (
        item.url == "https://www.newindianexpress.com/world/2018/nov/15/russia-japan-1898234.html"
    )
    assert item.guid is None
    assert item.published_at == datetime(2018, 11, 15, 10, 42, tzinfo=UTC)
    assert item.categories == ("World",)
    assert item.summary == (
        "Russia and Japan have agreed to accelerate talks to formally end World War II "
        "hostilities. The two countries are still technically at war."
    )
    assert item.lead == item.summary
    assert not item.needs_page


GUARDIAN_ITEM = """
<item><title>Talks resume in Geneva</title>
<link>https://www.theguardian.com/world/2024/jan/01/talks</link>
<description>&lt;p&gt;Diplomats met on Monday &amp;amp; agreed to meet again.&lt;/p&gt;
&lt;a href="https://www.theguardian.com/world/2024/jan/01/talks"&gt;Continue reading...&lt;/a&gt;
</description>
<category domain="https://www.theguardian.com/world/world">World news</category>
<category domain="https://www.theguardian.com/world/europe">Europe</category>
<category domain="https://www.theguardian.com/world/europe">europe</category>
<pubDate>Mon, 01 Jan 2024 10:00:00 GMT</pubDate>
<guid>https://www.theguardian.com/world/2024/jan/01/talks</guid></item>
"""


def test_guardian_shape() -> None:
    (item,) = parse(rss(GUARDIAN_ITEM)).items
    assert item.summary == "Diplomats met on Monday & agreed to meet again."
    assert item.categories == ("World news", "Europe")
    assert item.published_at == datetime(2024, 1, 1, 10, tzinfo=UTC)


BBC_ITEM = """
<item><title><![CDATA[Storm batters coast]]></title>
<description><![CDATA[Thousands are without power after the storm.]]></description>
<link>https://www.bbc.co.uk/news/uk-123?at_medium=RSS&amp;at_campaign=KARANGA</link>
<guid isPermaLink="true">https://www.bbc.co.uk/news/uk-123#0</guid>
<pubDate>Sat, 16 Dec 2023 09:00:00 GMT</pubDate></item>
"""


def test_bbc_shape() -> None:
    (item,) = parse(rss(BBC_ITEM)).items
    assert item.headline == "Storm batters coast"
    assert item.url == "https://www.bbc.co.uk/news/uk-123"
    assert item.guid == "https://www.bbc.co.uk/news/uk-123#0"
    assert item.categories == ()


def test_hostile_title_and_text() -> None:
    body = rss(
        "<item><title>&lt;script&gt;alert(1)&lt;/script&gt;Fish &amp; Chips &lt;b&gt;win&lt;/b&gt;"
        "</title><link>https://news.example.org/a</link>"
        "<description>&lt;script&gt;steal()&lt;/script&gt;&lt;p&gt;Tom &amp;amp; Jerry&lt;/p&gt;"
        "</description></item>"
    )
    (item,) = parse(body).items
    assert item.headline == "Fish & Chips win"
    assert item.summary == "Tom & Jerry"
    assert "alert" not in item.headline and "steal" not in item.summary


def test_relative_links_and_guid_links() -> None:
    body = rss(
        "<item><title>Relative</title><link>/world/a.html</link><description>x y</description>"
        "</item><item><title>Guid only</title><guid>https://news.example.org/b?fbclid=1</guid>"
        "<description>Text.</description></item>"
    )
    first, second = parse(body).items
    assert first.url == "https://news.example.org/world/a.html"
    assert second.url == "https://news.example.org/b"


def test_unusable_items_are_skipped_and_counted() -> None:
    body = rss(
        "<item><title>No link</title><guid isPermaLink='false'>id-1</guid></item>"
        "<item><link>https://news.example.org/empty</link></item>"
        "<item><title>Good</title><link>https://news.example.org/good</link></item>"
    )
    feed = parse(body)
    assert [item.headline for item in feed.items] == ["Good"]
    assert feed.skipped == 2
    assert feed.items[0].needs_page  # no summary at all


def test_item_without_title_takes_headline_from_summary() -> None:
    body = rss(
        "<item><link>https://news.example.org/c</link>"
        "<description>Markets rose sharply. Analysts were surprised.</description></item>"
    )
    (item,) = parse(body).items
    assert item.headline == "Markets rose sharply. Analysts were surprised."


def test_summary_that_repeats_headline_needs_page() -> None:
    body = rss(
        "<item><title>Markets rose sharply</title><link>https://news.example.org/d</link>"
        "<description>Markets rose sharply</description></item>"
    )
    assert parse(body).items[0].needs_page


def test_content_encoded_is_lead_and_fallback_summary() -> None:
    ns = 'xmlns:content="http://purl.org/rss/1.0/modules/content/"'
    body = rss(
        "<item><title>T</title><link>https://news.example.org/e</link>"
        "<content:encoded><![CDATA[<p>LONDON — Prices rose. Shops closed.</p>]]>"
        "</content:encoded></item>",
        extra_ns=ns,
    )
    (item,) = parse(body).items
    assert item.summary == "Prices rose. Shops closed."
    assert item.lead == "Prices rose. Shops closed."


def test_dates_future_clamped_missing_kept_none_and_source_zone() -> None:
    future = (FETCHED_AT + timedelta(days=3)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    body = rss(
        f"<item><title>F</title><link>https://news.example.org/f</link><pubDate>{future}"
        "</pubDate></item><item><title>N</title><link>https://news.example.org/n</link></item>"
        "<item><title>L</title><link>https://news.example.org/l</link>"
        "<pubDate>2024-06-01 09:00:00</pubDate></item>"
    )
    future_item, undated, local = parse(body, default_tz=ZoneInfo("Asia/Kolkata")).items
    assert future_item.published_at == FETCHED_AT
    assert undated.published_at is None
    assert local.published_at == datetime(2024, 6, 1, 3, 30, tzinfo=UTC)


def test_windows_1251_feed_from_xml_declaration_and_http_charset() -> None:
    item = (
        "<item><title>Новости дня</title><link>https://news.example.org/ru</link>"
        "<description>Москва</description></item>"
    )
    declared = rss(item, encoding="windows-1251")
    assert parse(declared).items[0].headline == "Новости дня"
    undeclared = declared.replace(b' encoding="windows-1251"', b"")
    feed = parse(undeclared, content_type="application/rss+xml; charset=windows-1251")
    assert feed.items[0].summary == "Москва"


def test_atom_feed() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
    <feed xmlns="http://www.w3.org/2005/Atom"><title type="html">A &amp;amp; B</title>
    <entry><title type="html">&lt;em&gt;Big&lt;/em&gt; news</title>
    <link rel="alternate" href="story/1"/><id>tag:example.org,2024:1</id>
    <updated>2024-02-03T04:05:06+01:00</updated>
    <summary type="html">&lt;p&gt;Something happened.&lt;/p&gt;</summary>
    <category term="Science"/><category term=""/></entry></feed>"""
    feed = parse_feed(body, url="https://example.org/feeds/atom.xml", fetched_at=FETCHED_AT)
    assert feed.title == "A & B"
    (item,) = feed.items
    assert item.headline == "Big news"
    assert item.url == "https://example.org/feeds/story/1"
    assert item.guid == "tag:example.org,2024:1"
    assert item.published_at == datetime(2024, 2, 3, 3, 5, 6, tzinfo=UTC)
    assert item.categories == ("Science",)


def test_rss_1_0_rdf() -> None:
    body = b"""<?xml version="1.0"?>
    <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"
      xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
    <channel rdf:about="https://example.org/"><title>RDF</title></channel>
    <item rdf:about="https://example.org/1"><title>One</title><link>https://example.org/1</link>
    <description>First.</description><dc:date>2024-01-02T03:04:05Z</dc:date></item></rdf:RDF>"""
    (item,) = parse(body).items
    assert item.published_at == datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)


def test_json_feed_shapes() -> None:
    document = {
        "version": "https://jsonfeed.org/version/1",
        "title": "Micro & blog",
        "items": [
            {"id": 42, "url": "https://example.org/42?utm_source=x", "content_text": "a < b & c."},
            {"id": "no-url", "title": "Dropped", "summary": "no link"},
            {"id": "x", "external_url": "https://other.example/x", "title": "Ext",
             "content_html": "<p>Body <b>text</b>.</p>", "tags": ["News", "", 5],
             "date_published": "2024-03-04T05:06:07-05:00"},
            "not an item",
        ],
    }  # fmt: skip
    feed = parse(json.dumps(document).encode())
    assert feed.title == "Micro & blog"
    assert feed.skipped == 1
    micro, external = feed.items
    assert (micro.guid, micro.url, micro.headline) == ("42", "https://example.org/42", "a < b & c.")
    assert external.url == "https://other.example/x"
    assert external.summary == "Body text."
    assert external.categories == ("News",)
    assert external.published_at == datetime(2024, 3, 4, 10, 6, 7, tzinfo=UTC)


def test_json_feed_detected_by_content_type() -> None:
    body = b'\n {"version": "https://jsonfeed.org/version/1.1", "title": "T", "items": []}'
    assert parse(body, content_type="application/feed+json").title == "T"


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"<!DOCTYPE html><html><head><title>Home</title></head><body>hi</body></html>", "HTML"),
        (b"<html><body><p>Not a feed</p></body></html>", "HTML"),
        (b"\x00\x01\x02garbage bytes \xff\xfe", "not a feed"),
        (b"Just some text.", "not a feed"),
        (b"{not json", "invalid JSON"),
        (b'{"title": "no items"}', "JSON"),
        (b"[1, 2, 3]", "not a feed"),
    ],
)
def test_unreadable_bodies_raise_parse_error(body: bytes, reason: str) -> None:
    with pytest.raises(ParseError, match=reason):
        parse(body)


def test_bozo_feed_with_entries_still_parses() -> None:
    body = rss(
        "<item><title>Broken &nbsp; entity</title><link>https://news.example.org/g</link>"
        "<description>Still readable.</description></item>"
    )
    (item,) = parse(body).items
    assert item.headline == "Broken entity"
    assert item.summary == "Still readable."


@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_truncated_bodies_parse_or_raise_parse_error_only(path: Path) -> None:
    body = path.read_bytes()
    for cut in range(0, len(body), max(1, len(body) // 40)):
        try:
            feed = parse(body[:cut])
        except ParseError:
            continue
        assert all(item.headline and item.url for item in feed.items)
