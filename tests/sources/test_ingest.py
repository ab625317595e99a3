"""Conversion to store inputs, story grouping and poll timing, without the network."""

from __future__ import annotations

import json
import pickle
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.settings import TopicConfig
from bot.sources.backoff import next_poll_after_failure, next_poll_after_success
from bot.sources.cluster import StorySignature, signature
from bot.sources.drafts import ArticleDraft
from bot.sources.ingest import (
    GROUPING_WINDOW,
    SourceProfile,
    StoryGrouper,
    feed_items,
    merge_page,
    prepare,
    prepare_feed,
    prepare_feed_rows,
    to_input,
)
from bot.store import Store
from bot.store.articles import ArticleInput, RecentSignature, StoredItem
from tests.conftest import DATA_DIR

CLUSTERS = DATA_DIR / "clusters"
FETCHED_AT = datetime(2024, 5, 14, 18, 0, tzinfo=UTC)
PROFILE = SourceProfile(
    topics=("world",),
    topic_catalogue=(
        TopicConfig(id="world", name="World"),
        TopicConfig(id="business", name="Business", aliases=["economy"]),
        TopicConfig(id="science", name="Science", keywords=["earthquake"]),
    ),
    default_tz=UTC,
)


def pairs(name: str) -> list[dict[str, dict[str, str]]]:
    return json.loads((CLUSTERS / name).read_text())


def draft(headline: str, lead: str = "", **extra: object) -> ArticleDraft:
    url = str(extra.pop("url", f"https://news.example/world/{abs(hash(headline))}"))
    return ArticleDraft(headline=headline, url=url, summary=lead, lead=lead, **extra)  # type: ignore[arg-type]


# --- backoff ---------------------------------------------------------------------------


def test_failure_backoff_grows_with_full_jitter_and_is_capped() -> None:
    rng = random.Random(0)
    for errors in range(1, 12):
        waits = [
            next_poll_after_failure(errors, base_seconds=300, max_seconds=6 * 3600, rng=rng)
            for _ in range(200)
        ]
        ceiling = min(6 * 3600, 300 * 2**errors)
        assert min(waits) >= 300 and max(waits) <= ceiling
        assert max(waits) - min(waits) > (ceiling - 300) * 0.5  # spread over the window
    huge = next_poll_after_failure(10_000, base_seconds=300, max_seconds=3600, rng=rng)
    assert 300 <= huge <= 3600


def test_failure_backoff_respects_a_cap_below_the_base() -> None:
    wait = next_poll_after_failure(1, base_seconds=600, max_seconds=60, rng=random.Random(1))
    assert wait == 60


def test_success_interval_is_jittered_by_ten_percent() -> None:
    rng = random.Random(0)
    waits = [next_poll_after_success(300, rng) for _ in range(1000)]
    assert 270 <= min(waits) < 280 and 320 < max(waits) <= 330
    assert len({round(w) for w in waits}) > 40  # 1,000 sources do not fire in the same second


# --- conversion ------------------------------------------------------------------------


def test_to_input_keeps_an_undated_item_at_fetch_time() -> None:
    undated = draft("Quake hits Peru", "An earthquake shook Lima.")
    made = to_input(undated, fetched_at=FETCHED_AT, profile=PROFILE)
    assert made.published_at == FETCHED_AT
    assert made.topics == ("science", "world")  # source topic + keyword "earthquake"


def test_to_input_clamps_a_far_future_date_but_keeps_a_near_one() -> None:
    far = draft("Future", "Text.", published_at=FETCHED_AT + timedelta(days=3))
    near = draft("Soon", "Text.", published_at=FETCHED_AT + timedelta(hours=2))
    assert to_input(far, fetched_at=FETCHED_AT, profile=PROFILE).published_at == FETCHED_AT
    assert to_input(near, fetched_at=FETCHED_AT, profile=PROFILE).published_at == (
        FETCHED_AT + timedelta(hours=2)
    )


def test_to_input_topics_from_categories_and_url_sections() -> None:
    by_category = draft("Shares jump", "Markets rose.", categories=("Economy",))
    by_path = draft("Shares slide", "Markets fell.", url="https://news.example/business/x")
    assert "business" in to_input(by_category, fetched_at=FETCHED_AT, profile=PROFILE).topics
    assert "business" in to_input(by_path, fetched_at=FETCHED_AT, profile=PROFILE).topics


def test_to_input_signature_uses_the_lead_else_the_summary() -> None:
    story = pairs("same_story.json")[0]["a"]
    with_lead = draft(story["headline"], story["lead"])
    made = to_input(with_lead, fetched_at=FETCHED_AT, profile=PROFILE)
    expected = signature(story["headline"], story["lead"])
    assert StorySignature.from_text(made.signature) == expected
    assert {"putin", "abe"} <= expected.names


def test_prepare_never_drops_an_item() -> None:
    drafts = [draft(f"Story {i}", "") for i in range(5)]
    assert [p.draft for p in prepare(drafts, fetched_at=FETCHED_AT, profile=PROFILE)] == drafts


def test_merge_page_keeps_the_feed_identity_and_takes_the_page_text() -> None:
    feed = draft("Quake", "", guid="g-1", categories=("World",), needs_page=True)
    page = ArticleDraft(
        headline="Strong quake shakes Hokkaido",
        url="https://canonical.example/q",
        summary="A magnitude 6.7 earthquake struck.",
        published_at=FETCHED_AT,
        categories=("Asia", "World"),
        lead="Lead paragraph.",
    )
    merged = merge_page(feed, page)
    assert (merged.url, merged.guid, merged.headline) == (feed.url, "g-1", "Quake")
    assert (merged.summary, merged.lead, merged.published_at) == (
        page.summary,
        "Lead paragraph.",
        FETCHED_AT,
    )
    assert merged.categories == ("World", "Asia")
    assert not merged.needs_page


# --- story grouping -------------------------------------------------------------------


def stored(article_id: int, story: dict[str, str], *, status: str = "new") -> StoredItem:
    item = ArticleInput(
        url=f"https://news.example/{article_id}",
        headline=story["headline"],
        summary=story["lead"],
        published_at=FETCHED_AT,
        topics=("world",),
        signature=signature(story["headline"], story["lead"]).to_text(),
    )
    return StoredItem(article_id, status, item)


@pytest.mark.parametrize("pair", pairs("same_story.json"), ids=lambda p: p["note"][:30])
def test_grouper_joins_the_same_story_from_another_source(pair: dict) -> None:
    grouper = StoryGrouper()
    assert grouper.assign([stored(1, pair["a"])], source_id=1) == {}
    assert grouper.assign([stored(2, pair["b"])], source_id=2) == {2: 1}


@pytest.mark.parametrize("pair", pairs("different_story.json"), ids=lambda p: p["note"][:30])
def test_grouper_keeps_different_stories_apart(pair: dict) -> None:
    grouper = StoryGrouper()
    grouper.assign([stored(1, pair["a"])], source_id=1)
    assert grouper.assign([stored(2, pair["b"])], source_id=2) == {}


def test_grouper_never_merges_within_one_source_and_skips_updates() -> None:
    pair = pairs("same_story.json")[0]
    grouper = StoryGrouper()
    assert grouper.assign([stored(1, pair["a"]), stored(2, pair["b"])], source_id=1) == {}
    assert grouper.assign([stored(3, pair["b"], status="updated")], source_id=2) == {}
    assert len(grouper) == 2


def test_grouper_joins_the_earlier_cluster_transitively() -> None:
    pair = pairs("same_story.json")[0]
    grouper = StoryGrouper(
        [RecentSignature(7, 5, 9, signature(pair["a"]["headline"], pair["a"]["lead"]).to_text())]
    )
    assert grouper.assign([stored(20, pair["b"])], source_id=1) == {20: 5}
    assert grouper.assign([stored(21, pair["a"])], source_id=2) == {21: 5}


def test_grouper_ignores_items_older_than_the_window_and_unreadable_signatures() -> None:
    pair = pairs("same_story.json")[0]
    since = FETCHED_AT + timedelta(minutes=1)  # every stored() item is older than this
    grouper = StoryGrouper([RecentSignature(1, 1, 1, "garbage|x")], since=since)
    assert len(grouper) == 0
    grouper.assign([stored(2, pair["a"])], source_id=2)
    assert len(grouper) == 0


def test_grouper_work_per_article_is_bounded_on_a_crowded_index() -> None:
    """5,000 recent articles about the same two countries: each new one still finds its story."""
    crowd = [RecentSignature(i, i, i % 50, f"s1|japan russia|{i:06x}") for i in range(1, 5001)]
    pair = pairs("same_story.json")[0]
    grouper = StoryGrouper(crowd)
    grouper.assign([stored(6000, pair["a"])], source_id=100)
    assert grouper.assign([stored(6001, pair["b"])], source_id=101) == {6001: 6000}


async def test_grouper_loads_recent_signatures_from_the_store(store: Store) -> None:
    pair = pairs("same_story.json")[0]
    [source] = await store.sources.sync([("Wire", "https://wire.example/feed", "feed")])
    [first] = await store.articles.store(source.id, [stored(0, pair["a"]).input], FETCHED_AT)
    grouper = await StoryGrouper.load(store.articles, FETCHED_AT + GROUPING_WINDOW / 2)
    assert len(grouper) == 1
    assert grouper.assign([stored(first.article_id + 1, pair["b"])], source_id=source.id + 1) == {
        first.article_id + 1: first.article_id
    }
    expired = await StoryGrouper.load(store.articles, FETCHED_AT + GROUPING_WINDOW * 2)
    assert len(expired) == 0


# --- compact rows from the parse processes ---------------------------------------------

FIXTURE_FEEDS = DATA_DIR / "feeds"


@pytest.mark.parametrize(
    "path",
    sorted(p for p in FIXTURE_FEEDS.glob("*.*") if ".expected." not in p.name),
    ids=lambda p: p.name,
)
def test_feed_rows_give_prepare_feeds_inputs(path: Path) -> None:
    body = path.read_bytes()
    args = {"url": "https://news.example.org/rss", "content_type": None}
    prepared = prepare_feed(body, fetched_at=FETCHED_AT, profile=PROFILE, **args)

    rows = prepare_feed_rows(body, fetched_at=FETCHED_AT, profile=PROFILE, **args)
    items = feed_items(pickle.loads(pickle.dumps(rows)))  # as a parse process sends them

    assert items == tuple(p.input for p in prepared)
    assert all(i.published_at.tzinfo is UTC for i in items)


def test_feed_rows_keep_a_date_that_is_not_utc() -> None:
    """The clock may hand out another zone: the date then travels as a datetime, unchanged."""
    tokyo = datetime(2024, 5, 15, 3, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>Russia and Japan agree</title><link>https://e.x/1</link>"
        b"<description>Talks in Tokyo.</description></item></channel></rss>"
    )
    args = {"url": "https://e.x/rss", "content_type": None, "fetched_at": tokyo}

    items = feed_items(prepare_feed_rows(body, profile=PROFILE, **args))

    assert items[0].published_at == tokyo
    assert items[0].published_at.tzinfo is tokyo.tzinfo
