"""The lxml RSS reader against feedparser: on every feed the fast reader accepts, both
readers give the same drafts.

Fixtures: the shared feed fixtures (under every Content-Type a server may send
them with) and the fake news site's feeds, whose shape the benchmark parses.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.sources.drafts import ParsedFeed
from bot.sources.feeds import _build_feed, _Context, _read_rss_fast, _read_with_feedparser
from tests.conftest import DATA_DIR
from tests.fakes.news_site import make_items, render_feed

REPO_ROOT = Path(__file__).resolve().parents[2]
FEED_FIXTURES = DATA_DIR / "feeds"
XML_FIXTURES = sorted(FEED_FIXTURES.glob("*.xml"))
CONTENT_TYPES = (
    None,
    "application/rss+xml; charset=utf-8",
    "application/xml",
    "text/xml; charset=utf-8",
    "text/xml",
)
FEED_URL = "https://news.example.org/section/rss"
FETCHED_AT = datetime(2025, 1, 1, 12, tzinfo=UTC)
SITE_NOW = datetime(2024, 5, 14, 18, 0, tzinfo=UTC)
SITE_BASE = "http://127.0.0.1:8080"


def drafts_both_ways(body: bytes, content_type: str | None) -> tuple[ParsedFeed, ParsedFeed] | None:
    """(fast reader's feed, feedparser's feed), or None when the fast reader declines."""
    fast = _read_rss_fast(body, content_type)
    if fast is None:
        return None
    slow = _read_with_feedparser(body, content_type)
    # Raw items may differ where cleaning makes them equal (feedparser lists the
    # link twice, as <link> and as the alternate link): compare the drafts.
    context = _Context(url=FEED_URL, fetched_at=FETCHED_AT, default_tz=UTC)
    return _build_feed(*fast, context), _build_feed(*slow, context)


def fake_site_bodies() -> list[bytes]:
    """RSS bodies as the fake news site serves them, for a spread of seeds and sizes."""
    bodies = []
    for seed in range(25):
        items = make_items(40, seed=seed, prefix=f"feed{seed}", base_url=SITE_BASE)
        bodies.append(render_feed("rss", f"Fake News {seed}", items, SITE_BASE, "", SITE_NOW))
    undated = make_items(5, seed=99, base_url=SITE_BASE)
    bodies.append(render_feed("rss", "No & dates", undated, SITE_BASE, "", SITE_NOW))
    return bodies


def test_xml_fixtures_are_there() -> None:
    assert len(XML_FIXTURES) >= 10, f"expected the shared feed fixtures in {FEED_FIXTURES}"


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@pytest.mark.parametrize("path", XML_FIXTURES, ids=lambda p: p.name)
def test_fast_reader_gives_feedparsers_drafts_on_fixtures(
    path: Path, content_type: str | None
) -> None:
    both = drafts_both_ways(path.read_bytes(), content_type)
    if both is None:
        return  # feedparser reads this one in production too: nothing to compare
    fast, slow = both
    assert fast.items, f"{path.name}: no items"
    assert fast == slow


def test_fast_reader_accepts_the_plain_rss_fixtures() -> None:
    """The comparison above is not vacuous: plain UTF-8 RSS 2.0 fixtures take the fast path."""
    accepted = {p.name for p in XML_FIXTURES if _read_rss_fast(p.read_bytes(), None) is not None}
    assert len(accepted) >= 4, accepted
    assert all(name.startswith("rss_2.0_") for name in accepted)


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
def test_fast_reader_gives_feedparsers_drafts_on_fake_site_feeds(content_type: str | None) -> None:
    bodies = fake_site_bodies()
    for body in bodies:
        both = drafts_both_ways(body, content_type)
        assert both is not None, "the fake site's plain RSS should take the fast path"
        fast, slow = both
        assert fast == slow
        assert len(fast.items) in (40, 5)


def test_fake_site_dates_survive_both_readers() -> None:
    body = fake_site_bodies()[0]
    both = drafts_both_ways(body, None)
    assert both is not None
    fast, _ = both
    dates = [item.published_at for item in fast.items]
    assert all(d is not None and SITE_NOW - timedelta(days=3) < d <= SITE_NOW for d in dates)
