"""Conversion to store inputs and poll timing, without the network."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from bot.settings import TopicConfig
from bot.sources.backoff import next_poll_after_failure, next_poll_after_success
from bot.sources.drafts import ArticleDraft
from bot.sources.folders_and_pages import merge_page
from bot.sources.prepare import SourceProfile, prepare, prepare_feed, to_input
from bot.sources.story_signature import StorySignature, signature
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
    words = signature(story["headline"], story["lead"])
    expected = StorySignature(words.names, words.shingles, frozenset(made.topics))
    assert StorySignature.from_text(made.signature) == expected  # topics travel with it
    assert {"putin", "abe"} <= expected.names


def test_prepare_keeps_every_item_without_a_retention_limit() -> None:
    drafts = [draft(f"Story {i}", "") for i in range(5)]
    assert [p.draft for p in prepare(drafts, fetched_at=FETCHED_AT, profile=PROFILE)] == drafts


def test_prepare_drops_items_published_before_the_retention_window() -> None:
    oldest = FETCHED_AT - timedelta(days=7)
    profile = replace(PROFILE, oldest=oldest)
    stale = draft("Old news", "Text.", published_at=oldest - timedelta(seconds=1))
    edge = draft("Just in", "Text.", published_at=oldest)
    undated = draft("Undated", "Text.")  # stored at the fetch time: kept
    kept = prepare([stale, edge, undated], fetched_at=FETCHED_AT, profile=profile)
    assert [p.draft for p in kept] == [edge, undated]


def test_prepare_feed_drops_old_items_of_a_feed() -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>'
        b"<item><title>Fresh story</title><link>https://e.x/1</link>"
        b"<pubDate>Tue, 14 May 2024 12:00:00 GMT</pubDate><description>New.</description></item>"
        b"<item><title>Stale story</title><link>https://e.x/2</link>"
        b"<pubDate>Mon, 01 Jan 2024 12:00:00 GMT</pubDate><description>Old.</description></item>"
        b"</channel></rss>"
    )
    profile = replace(PROFILE, oldest=FETCHED_AT - timedelta(days=30))
    kept = prepare_feed(
        body, url="https://e.x/rss", content_type=None, fetched_at=FETCHED_AT, profile=profile
    )
    assert [p.input.headline for p in kept] == ["Fresh story"]


def test_prepare_keeps_the_newest_items_of_a_poll_in_feed_order() -> None:
    def at(hours: int) -> datetime:
        return FETCHED_AT - timedelta(hours=hours)

    drafts = [
        draft("Three hours", published_at=at(3)),
        draft("Undated"),  # no date: ranks after every dated item
        draft("One hour", published_at=at(1)),
        draft("Five hours", published_at=at(5)),
        draft("Two hours", published_at=at(2)),
    ]
    profile = replace(PROFILE, max_items=3)
    kept = prepare(drafts, fetched_at=FETCHED_AT, profile=profile)
    assert [p.draft.headline for p in kept] == ["Three hours", "One hour", "Two hours"]
    profile = replace(PROFILE, max_items=4)
    kept = prepare(drafts, fetched_at=FETCHED_AT, profile=profile)
    dated = ["Three hours", "One hour", "Five hours", "Two hours"]
    assert [p.draft.headline for p in kept] == dated
    profile = replace(PROFILE, max_items=5)
    assert [p.draft for p in prepare(drafts, fetched_at=FETCHED_AT, profile=profile)] == drafts


def test_prepare_feed_of_date_bombs_is_cheap_and_keeps_the_first_items_undated() -> None:
    # Dates shaped like ISO 8601 with impossible fields: once 150-250 ms each in dateparser.
    items = "".join(
        f"<item><title>Bomb story number {i}</title><link>https://e.x/{i}</link>"
        f"<pubDate>2007-13-39T25:61:61Z</pubDate><description>Text {i}.</description></item>"
        for i in range(1000)
    )
    body = f'<rss version="2.0"><channel><title>t</title>{items}</channel></rss>'.encode()
    profile = replace(PROFILE, max_items=200)
    kept = prepare_feed(
        body, url="https://e.x/rss", content_type=None, fetched_at=FETCHED_AT, profile=profile
    )
    assert [p.input.url for p in kept] == [f"https://e.x/{i}" for i in range(200)]
    assert {p.input.published_at for p in kept} == {FETCHED_AT}


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
