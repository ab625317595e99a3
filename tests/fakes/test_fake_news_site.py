"""The fake news site behaves like a real one: feeds, validators, gzip, faults."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import httpx
import pytest

from tests.fakes.news_site import FakeNewsSite, FeedItem, make_items

REPO_ROOT = Path(__file__).resolve().parents[2]
IDENTITY = {"Accept-Encoding": "identity"}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as http:
        yield http


def test_make_items_is_deterministic_by_seed():
    first = make_items(20, seed=3, prefix="world", base_url="http://news.test")

    assert first == make_items(20, seed=3, prefix="world", base_url="http://news.test")
    assert first != make_items(20, seed=4, prefix="world", base_url="http://news.test")


def test_make_items_look_like_news():
    items = make_items(40, seed=11, prefix="world", base_url="http://news.test")

    assert len({item.guid for item in items}) == 40
    assert len({item.title for item in items}) > 20
    assert all(200 <= len(item.summary) <= 400 for item in items)
    assert all(item.summary.startswith("<p><strong>") for item in items)
    assert all(item.link.startswith("http://news.test/world/11-") for item in items)
    assert all(item.categories for item in items)
    dates = [item.published for item in items]
    assert all(date is not None and date.tzinfo is not None for date in dates)
    assert dates == sorted(dates, reverse=True)


@pytest.mark.parametrize("fmt", ["rss", "atom"])
async def test_generated_xml_feed_parses_back(site: FakeNewsSite, client, fmt: str):
    items = make_items(5, seed=1, base_url=site.base_url)
    url = site.add_feed("/feed.xml", title="World", items=items, fmt=fmt)

    parsed = feedparser.parse((await client.get(url)).content)

    assert not parsed.bozo
    assert parsed.feed.title == "World"
    assert [entry.title for entry in parsed.entries] == [item.title for item in items]
    assert [entry.link for entry in parsed.entries] == [item.link for item in items]
    first = parsed.entries[0]
    assert first.id == items[0].guid
    assert datetime(*first.published_parsed[:6], tzinfo=UTC) == items[0].published
    assert [tag.term for tag in first.tags] == list(items[0].categories)


async def test_rss_dates_are_rfc_822(site: FakeNewsSite, client):
    item = FeedItem("T", "http://x/t", "<p>s</p>", "g", datetime(2024, 5, 14, 8, 16, tzinfo=UTC))
    url = site.add_feed("/feed.xml", items=[item])

    body = (await client.get(url)).text

    assert "<pubDate>Tue, 14 May 2024 08:16:00 +0000</pubDate>" in body


async def test_generated_json_feed(site: FakeNewsSite, client):
    items = make_items(3, seed=2, base_url=site.base_url)
    url = site.add_feed("/feed.json", title="World", items=items, fmt="json")

    response = await client.get(url)
    document = json.loads(response.content)

    assert response.headers["Content-Type"].startswith("application/feed+json")
    assert document["version"] == "https://jsonfeed.org/version/1.1"
    assert [entry["id"] for entry in document["items"]] == [item.guid for item in items]
    assert document["items"][0]["tags"] == list(items[0].categories)


async def test_serve_file_returns_body_as_is(site: FakeNewsSite, client):
    url = site.serve_file("old.xml", b"<rss>exact</rss>", content_type="text/xml")

    response = await client.get(url, headers=IDENTITY)

    assert url == site.base_url + "/old.xml"
    assert response.content == b"<rss>exact</rss>"
    assert response.headers["Content-Type"] == "text/xml"
    assert "Content-Encoding" not in response.headers


async def test_if_none_match_gives_304_without_body(site: FakeNewsSite, client):
    url = site.add_feed("/feed.xml", items=make_items(3, seed=1, base_url=site.base_url))
    first = await client.get(url)

    again = await client.get(url, headers={"If-None-Match": first.headers["ETag"]})

    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == first.headers["ETag"]
    assert site.not_modified["/feed.xml"] == 1
    assert site.hits("/feed.xml") == 2


async def test_if_modified_since_gives_304(site: FakeNewsSite, client):
    url = site.add_feed("/feed.xml", items=make_items(3, seed=1, base_url=site.base_url))
    first = await client.get(url)

    again = await client.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]})

    assert again.status_code == 304


async def test_publish_changes_etag_and_last_modified_at_once(site: FakeNewsSite, client):
    url = site.add_feed("/feed.xml", items=make_items(3, seed=1, base_url=site.base_url))
    first = await client.get(url)
    site.publish("/feed.xml", FeedItem("Breaking", "http://x/b", "<p>b</p>", "b-1"))

    by_etag = await client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    by_date = await client.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]})

    assert by_etag.status_code == by_date.status_code == 200
    assert by_etag.headers["ETag"] != first.headers["ETag"]
    assert site.items("/feed.xml")[0].title == "Breaking"
    assert "<title>Breaking</title>" in by_etag.text


async def test_gzip_only_when_accepted(site: FakeNewsSite, client):
    url = site.add_feed("/feed.xml", items=make_items(5, seed=1, base_url=site.base_url))

    plain = await client.get(url, headers=IDENTITY)
    async with client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as zipped:
        raw = b"".join([chunk async for chunk in zipped.aiter_raw()])

    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(raw) == plain.content == site.body("/feed.xml")
    assert zipped.headers["ETag"] == plain.headers["ETag"]
    assert site.gzipped["/feed.xml"] == 1


async def test_fail_for_a_number_of_times(site: FakeNewsSite, client):
    url = site.add_feed("/feed.xml")
    site.fail("/feed.xml", status=503, times=2)

    statuses = [(await client.get(url)).status_code for _ in range(3)]

    assert statuses == [503, 503, 200]


async def test_fail_forever_until_cleared(site: FakeNewsSite, client):
    url = site.add_feed("/feed.xml")
    site.fail("/feed.xml")

    failing = [(await client.get(url)).status_code for _ in range(3)]
    site.clear("/feed.xml")

    assert failing == [500, 500, 500]
    assert (await client.get(url)).status_code == 200


async def test_unknown_path_is_404(site: FakeNewsSite, client):
    assert (await client.get(site.url("/nothing.xml"))).status_code == 404


async def test_delay_holds_the_answer(site: FakeNewsSite, client):
    url = site.add_feed("/feed.xml")
    site.delay("/feed.xml", 0.3)
    started = time.monotonic()

    response = await client.get(url)

    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


async def test_trickle_answers_at_once_and_sends_the_whole_body_slowly(site: FakeNewsSite, client):
    url = site.add_feed("/feed.xml", items=make_items(3, seed=1))
    site.trickle("/feed.xml", 0.3)
    started = time.monotonic()

    async with client.stream("GET", url) as response:
        answered = time.monotonic() - started
        body = await response.aread()

    assert response.status_code == 200
    assert answered < 0.3 <= time.monotonic() - started
    assert body == site.body("/feed.xml")


async def test_close_releases_delayed_requests_quickly(client):
    site = FakeNewsSite()
    await site.start()
    site.delay("/slow.xml", 30)
    with pytest.raises(httpx.ReadTimeout):
        await client.get(site.url("/slow.xml"), timeout=0.2)
    started = time.monotonic()

    await site.close()

    assert time.monotonic() - started < 2


async def test_garbage_is_200_and_not_a_feed(site: FakeNewsSite, client):
    url = site.add_feed("/feed.xml", items=make_items(3, seed=1, base_url=site.base_url))
    site.garbage("/feed.xml")

    response = await client.get(url)

    assert response.status_code == 200
    assert feedparser.parse(response.content).entries == []
    assert "ETag" in response.headers


@pytest.mark.parametrize("with_length", [True, False])
async def test_huge_streams_exactly_that_many_bytes(site: FakeNewsSite, client, with_length):
    site.huge("/big.xml", 1_234_567, with_content_length=with_length)

    response = await client.get(site.url("/big.xml"), headers=IDENTITY)

    assert len(response.content) == 1_234_567
    assert ("Content-Length" in response.headers) is with_length
    assert (response.headers.get("Transfer-Encoding") == "chunked") is not with_length


@pytest.mark.parametrize(("permanent", "status"), [(True, 301), (False, 302)])
async def test_redirect(site: FakeNewsSite, client, permanent: bool, status: int):
    site.add_feed("/new.xml")
    site.redirect("/old.xml", "/new.xml", permanent=permanent)

    response = await client.get(site.url("/old.xml"))

    assert response.status_code == status
    assert response.headers["Location"] == site.url("/new.xml")


async def test_redirect_status_override(site: FakeNewsSite, client):
    site.redirect("/old.xml", "/new.xml", status=308)

    assert (await client.get(site.url("/old.xml"))).status_code == 308


async def test_publish_to_unknown_feed_is_an_error(site: FakeNewsSite):
    with pytest.raises(KeyError):
        site.publish("/nope.xml", FeedItem("t", "http://x", "s"))


def test_standalone_mode_serves_numbered_feeds():
    command = [sys.executable, "-m", "tests.fakes.news_site", "--feeds", "5", "--items", "3"]
    server = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        response = httpx.get(f"{base_url}/feeds/4.xml", timeout=5.0)
        missing = httpx.get(f"{base_url}/feeds/5.xml", timeout=5.0)
    finally:
        server.terminate()
        server.wait(timeout=10)
        server.stdout.close()

    assert base_url.startswith("http://127.0.0.1:")
    assert len(feedparser.parse(response.content).entries) == 3
    assert missing.status_code == 404
    assert server.returncode == 0
