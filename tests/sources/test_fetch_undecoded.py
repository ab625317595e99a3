"""Fetching a gzip body as received and decoding it later (in a parse process).

``Fetcher.fetch(..., decode=False)`` + ``decoded_body`` must give what
``fetch()`` gives: the same bytes, the same errors, the same size cap.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest

from bot.errors import BodyTooLarge, FetchError
from bot.settings import HttpClient, TopicConfig
from bot.sources.fetcher import Fetcher, FetchLimits, decoded_body
from bot.sources.ingest import SourceProfile, prepare_feed_rows, prepare_fetched_rows
from tests.fakes.news_site import FakeNewsSite, make_items

FEED = "/world/rss.xml"
LIMITS = FetchLimits(timeout_seconds=2.0, max_bytes=200_000)
URL = "http://feeds.example/rss.xml"


@pytest.fixture
async def site() -> AsyncIterator[FakeNewsSite]:
    async with FakeNewsSite() as running:
        running.add_feed(FEED, title="World", items=make_items(10, seed=7, base_url="http://x"))
        yield running


@pytest.fixture
async def fetcher(http_client: HttpClient) -> AsyncIterator[Fetcher]:
    fetcher = Fetcher.create(LIMITS, http_client)
    yield fetcher
    await fetcher.aclose()


def httpx_decoded(body: bytes) -> bytes:
    """What httpx makes of a gzip body: the decoding ``fetch()`` relies on."""
    return httpx.Response(200, headers={"Content-Encoding": "gzip"}, content=body).read()


async def test_gzip_body_is_kept_as_received_and_decodes_to_the_decoded_fetch(
    site: FakeNewsSite, fetcher: Fetcher
):
    raw = await fetcher.fetch(site.url(FEED), decode=False)
    decoded = await fetcher.fetch(site.url(FEED))

    assert raw.content_encoding == "gzip"
    assert decoded.content_encoding is None
    assert raw.body != decoded.body
    assert decoded_body(raw.body, "gzip", url=URL, max_bytes=LIMITS.max_bytes) == decoded.body
    assert decoded.body == site.body(FEED)
    assert (raw.etag, raw.last_modified) == (decoded.etag, decoded.last_modified)


async def test_plain_body_is_returned_as_it_is_and_still_capped(
    site: FakeNewsSite, fetcher: Fetcher
):
    site.huge(FEED, LIMITS.max_bytes, with_content_length=False)
    result = await fetcher.fetch(site.url(FEED), decode=False)

    assert result.content_encoding is None
    assert len(result.body) == LIMITS.max_bytes
    assert decoded_body(result.body, None, url=URL, max_bytes=1) is result.body

    site.huge(FEED, LIMITS.max_bytes + 1, with_content_length=False)
    with pytest.raises(BodyTooLarge, match="body over"):
        await fetcher.fetch(site.url(FEED), decode=False)


@pytest.mark.parametrize(
    "body",
    [
        gzip.compress(b"<rss>" + b"x" * 5000 + b"</rss>"),
        gzip.compress(b""),
        gzip.compress(b"<rss/>") + b"trailing bytes after the gzip member",
        gzip.compress(b"<rss>" + b"y" * 5000 + b"</rss>")[:40],  # truncated stream
        b"",
    ],
    ids=["whole", "empty-member", "trailing-data", "truncated", "no-bytes"],
)
def test_decoded_body_is_what_httpx_decodes(body: bytes):
    assert decoded_body(body, "gzip", url=URL, max_bytes=LIMITS.max_bytes) == httpx_decoded(body)


def test_corrupt_gzip_fails_with_the_fetchers_decoding_message():
    corrupt = gzip.compress(b"<rss>")[:10] + b"\x07\x00\x00"  # a reserved block type
    with pytest.raises(httpx.DecodingError) as httpx_error:
        httpx_decoded(corrupt)

    with pytest.raises(FetchError) as ours:
        decoded_body(corrupt, "gzip", url=URL, max_bytes=LIMITS.max_bytes)

    assert str(ours.value) == f"{URL}: DecodingError: {httpx_error.value}"
    assert type(ours.value) is FetchError


def test_decoded_size_is_capped_without_inflating_a_bomb():
    bomb = gzip.compress(b"\0" * 50_000_000)  # ~50 KB that would inflate to 50 MB

    with pytest.raises(BodyTooLarge, match="body over 1000 bytes"):
        decoded_body(bomb, "gzip", url=URL, max_bytes=1000)
    exact = gzip.compress(b"a" * 1000)
    assert decoded_body(exact, "gzip", url=URL, max_bytes=1000) == b"a" * 1000
    with pytest.raises(BodyTooLarge):
        decoded_body(exact, "gzip", url=URL, max_bytes=999)


def test_only_gzip_is_decoded_there():
    with pytest.raises(ValueError, match="deflate"):
        decoded_body(zlib.compress(b"x"), "deflate", url=URL, max_bytes=100)


def test_prepare_fetched_rows_is_prepare_feed_rows_of_the_decoded_body(
    site: FakeNewsSite,
):
    body = site.body(FEED)
    profile = SourceProfile(
        topics=("world",), topic_catalogue=(TopicConfig(id="world", name="World"),), default_tz=UTC
    )
    args = {
        "url": URL,
        "content_type": "application/rss+xml",
        "fetched_at": datetime(2024, 5, 14, 19, tzinfo=UTC),
        "profile": profile,
    }

    rows = prepare_fetched_rows(
        gzip.compress(body), content_encoding="gzip", max_bytes=10**6, **args
    )

    assert rows == prepare_feed_rows(body, **args)
    assert len(rows) == 10
