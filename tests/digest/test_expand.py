"""The "+K more" button's callback data and the stories it expands to (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.digest.content import TopicRef
from bot.digest.expand import MoreRequest, parse_more_data, rest_of_section
from bot.store.records import Article

SINCE = datetime(2026, 12, 5, 6, 0, tzinfo=UTC)
CATALOGUE = (TopicRef("world", "World news"), TopicRef("sport", "Sport"))


def article(id: int, headline: str, topic: str = "world", minutes: int = 0) -> Article:
    published = SINCE + timedelta(hours=1, minutes=minutes)
    return Article(
        id=id,
        source_id=1,
        source_name="Wire",
        guid=None,
        url=f"https://wire.example/{id}",
        headline=headline,
        summary="",
        published_at=published,
        fetched_at=published,
        cluster_id=id,
        topics=(topic,),
    )


def test_callback_data_round_trips_and_fits_64_bytes() -> None:
    request = MoreRequest("science-tech", 123_456_789, 123_999_999, 5, SINCE)
    data = request.to_data()
    assert data is not None and len(data.encode()) <= 64
    assert parse_more_data(data) == request


def test_too_long_a_topic_id_gets_no_button() -> None:
    assert MoreRequest("t" * 60, 1, 2, 5, SINCE).to_data() is None


@pytest.mark.parametrize(
    "data",
    [None, "", "topic:world", "more:", "more:world:1:2", "more:world:x!:1:1:1", "more::1:1:1:1"],
)
def test_other_or_bad_data_is_no_request(data: str | None) -> None:
    assert parse_more_data(data) is None


def test_rest_of_section_is_what_the_digest_left_out() -> None:
    articles = [article(n, f"Story {n}", minutes=n) for n in range(1, 9)]
    articles.append(article(9, "After the digest", minutes=60))  # above the digest's max id
    articles.append(article(10, "Sport story", topic="sport"))
    request = MoreRequest("world", 0, 8, 5, SINCE)
    section = rest_of_section(request, articles, topics=("world", "sport"), catalogue=CATALOGUE)
    assert section is not None
    # Ranked newest first as the digest ranked them: 8..4 were shown, 3..1 are the rest.
    assert [s.article.headline for s in section.stories] == ["Story 3", "Story 2", "Story 1"]
    assert section.topic_name == "World news"


def test_nothing_left_is_none() -> None:
    articles = [article(n, f"Story {n}") for n in range(1, 4)]
    request = MoreRequest("world", 0, 3, 5, SINCE)
    assert rest_of_section(request, articles, topics=("world",), catalogue=CATALOGUE) is None
