"""Choosing a digest's stories: novelty, grouping, topics, filters, ranking."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.digest.content import DigestPlan, TopicRef
from bot.digest.select import plan_digest, tokenize
from bot.settings import TopicConfig
from bot.store.records import Article

NOW = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
CATALOGUE = (
    TopicRef("world", "World news"),
    TopicRef("india", "India"),
    TopicRef("business", "Business"),
    TopicRef("sport", "Sport"),
)


def article(
    id: int,
    *,
    cluster: int | None = None,
    source: int = 1,
    hours_ago: float = 1.0,
    topics: tuple[str, ...] = ("world",),
    headline: str | None = None,
    summary: str = "",
) -> Article:
    published = NOW - timedelta(hours=hours_ago)
    return Article(
        id=id,
        source_id=source,
        source_name=f"Outlet {source}",
        guid=None,
        url=f"https://outlet{source}.example/{id}",
        headline=headline if headline is not None else f"Story {id}",
        summary=summary,
        published_at=published,
        fetched_at=published + timedelta(minutes=5),
        cluster_id=cluster if cluster is not None else id,
        topics=topics,
    )


def plan(articles: list[Article], **options: object) -> DigestPlan:
    settings: dict[str, object] = {"topics": ("world", "business"), "catalogue": CATALOGUE}
    settings.update(options)
    return plan_digest(articles, **settings)  # type: ignore[arg-type]


def ids(result: DigestPlan) -> list[list[int]]:
    return [[story.article.id for story in section.stories] for section in result.sections]


def test_sections_follow_catalogue_order_not_subscription_order() -> None:
    articles = [article(1, topics=("business",)), article(2, topics=("world",))]
    result = plan(articles, topics=("business", "world"))
    assert [s.topic_id for s in result.sections] == ["world", "business"]
    assert [s.topic_name for s in result.sections] == ["World news", "Business"]
    assert ids(result) == [[2], [1]]


def test_accepts_topic_config_catalogue() -> None:
    catalogue = [TopicConfig(id="world", name="World news")]
    result = plan_digest([article(1)], topics=["world"], catalogue=catalogue)
    assert result.sections[0].topic_name == "World news"


def test_unsubscribed_and_unknown_topics_are_left_out() -> None:
    articles = [article(1, topics=("sport",)), article(2, topics=("world",))]
    result = plan(articles, topics=("world", "gardening"))
    assert ids(result) == [[2]]


def test_story_appears_once_in_first_catalogue_section() -> None:
    both = article(1, topics=("business", "world"))
    result = plan([both, article(2, topics=("business",))])
    assert ids(result) == [[1], [2]]


def test_cluster_spread_over_topics_appears_once() -> None:
    articles = [
        article(10, cluster=10, source=1, topics=("business",), hours_ago=3),
        article(11, cluster=10, source=2, topics=("world",), hours_ago=2),
    ]
    result = plan(articles)
    assert [s.topic_id for s in result.sections] == ["world"]
    assert ids(result) == [[10]]
    assert result.sections[0].stories[0].also == ("Outlet 2",)


def test_representative_is_earliest_article_and_also_lists_other_outlets() -> None:
    articles = [
        article(12, cluster=10, source=3, hours_ago=1),
        article(10, cluster=10, source=1, hours_ago=3),
        article(11, cluster=10, source=2, hours_ago=2),
        article(13, cluster=10, source=1, hours_ago=0.5),  # same outlet as the lead
        article(14, cluster=10, source=2, hours_ago=0.2),  # outlet already listed
    ]
    story = plan(articles).sections[0].stories[0]
    assert story.article.id == 10
    assert story.also == ("Outlet 2", "Outlet 3")


def test_only_clusters_above_the_cursor_are_new() -> None:
    articles = [
        article(5),
        article(9, cluster=5, source=2),  # new coverage of an old story: not new
        article(7),
    ]
    result = plan(articles, cursor_article_id=6)
    assert ids(result) == [[7]]
    assert result.max_article_id == 9


def test_max_article_id_never_moves_the_cursor_back() -> None:
    assert plan([], cursor_article_id=40).max_article_id == 40
    assert plan([article(3)], cursor_article_id=40).max_article_id == 40


def test_empty_plan() -> None:
    result = plan([article(1, topics=("sport",))])
    assert result.is_empty
    assert result.story_count == 0
    assert result.max_article_id == 0  # another topic's article does not move the cursor


def test_articles_filtered_out_by_words_still_move_the_cursor() -> None:
    result = plan([article(4, headline="Football final")], exclude_words=("football",))
    assert result.is_empty and result.max_article_id == 4


def test_a_chat_without_topics_keeps_its_cursor() -> None:
    assert plan([article(7)], topics=(), cursor_article_id=2).max_article_id == 2


def test_limit_and_more_count() -> None:
    articles = [article(i, hours_ago=i) for i in range(1, 9)]
    section = plan(articles, per_topic=5).sections[0]
    assert [s.article.id for s in section.stories] == [1, 2, 3, 4, 5]
    assert section.more_count == 3
    assert plan(articles, per_topic=10).sections[0].more_count == 0


def test_three_outlets_outrank_a_two_hours_newer_single_outlet_story() -> None:
    covered = [article(i, cluster=10, source=i, hours_ago=3) for i in (10, 11, 12)]
    fresh = article(20, hours_ago=1)
    assert ids(plan([fresh, *covered])) == [[10, 20]]


def test_two_outlets_do_not_outrank_a_three_hours_newer_story() -> None:
    covered = [article(i, cluster=10, source=i, hours_ago=4) for i in (10, 11)]
    fresh = article(20, hours_ago=1)
    assert ids(plan([*covered, fresh])) == [[20, 10]]


def test_outlet_bonus_is_capped() -> None:
    many = [article(i, cluster=10, source=i, hours_ago=30) for i in range(10, 30)]
    assert ids(plan([*many, article(50, hours_ago=20)])) == [[50, 10]]


def test_newer_first_and_ties_broken_by_cluster_id() -> None:
    articles = [article(1, hours_ago=5), article(2, hours_ago=1), article(3, hours_ago=1)]
    assert ids(plan(articles)) == [[3, 2, 1]]


def test_order_of_candidates_does_not_matter() -> None:
    articles = [article(i, cluster=i - i % 2, source=i, hours_ago=i % 7) for i in range(2, 40)]
    assert plan(articles) == plan(list(reversed(articles)))


def test_duplicate_candidates_count_once() -> None:
    one = article(1)
    story = plan([one, one]).sections[0].stories[0]
    assert story.also == ()


@pytest.mark.parametrize(
    ("include", "exclude", "expected"),
    [
        ((), (), [1, 2, 3, 4]),
        (("cricket",), (), [1]),
        (("CRICKET", "putin"), (), [1, 2]),
        ((), ("cricket",), [2, 3, 4]),
        (("putin",), ("japan",), []),
        (("new york",), (), [3]),
        (("york new",), (), []),
        (("art",), (), []),  # "Martha", "party" and "art-" in no headline as a word
        (("AT&T",), (), [4]),
        (("!!!",), (), [1, 2, 3, 4]),  # a word without letters filters nothing
    ],
)
def test_include_and_exclude_words(
    include: tuple[str, ...], exclude: tuple[str, ...], expected: list[int]
) -> None:
    articles = [
        article(1, hours_ago=1, headline="Cricket: India win", summary="Martha scores."),
        article(2, hours_ago=2, headline="Putin and Abe", summary="Russia and Japan talks."),
        article(3, hours_ago=3, headline="New York's mayor", summary="A party in the city."),
        article(4, hours_ago=4, headline="AT&T results", summary="Telecom earnings."),
    ]
    result = plan(articles, include_words=include, exclude_words=exclude)
    assert [story_id for section in ids(result) for story_id in section] == expected


def test_filters_look_at_every_outlet_of_the_story() -> None:
    articles = [
        article(1, cluster=1, source=1, hours_ago=2, headline="Summit ends"),
        article(2, cluster=1, source=2, hours_ago=1, headline="Putin and Abe agree"),
    ]
    assert ids(plan(articles, include_words=("putin",))) == [[1]]
    assert plan(articles, exclude_words=("putin",)).is_empty


def test_filter_words_are_not_patterns() -> None:
    articles = [article(1, headline="Price rises (again) by 5.5%"), article(2, headline="aaaa")]
    assert ids(plan(articles, include_words=("(again)",))) == [[1]]
    assert ids(plan(articles, include_words=("5.5",))) == [[1]]
    assert plan(articles, include_words=("a+",)).is_empty
    assert plan(articles, include_words=("(a+)+$",)).is_empty


@pytest.mark.parametrize(
    ("word", "headline", "is_match"),
    [
        ("हिंदी", "हिंदी समाचार", True),
        ("हिं", "हिंदी समाचार", False),  # part of a word, though \w would split there
        ("ÉCOLE", "L'école ferme", True),
        ("strasse", "Große Straße gesperrt", True),
        ("القدس", "أخبار القدس اليوم", True),
        ("שלום", "שלומית אומרת", False),
        ("rocket", "Rocket🚀launch", True),  # emoji are not part of words
        ("café", "cafe\u0301 opens", True),  # combining accent, NFKC-normalised
    ],
)
def test_whole_word_matching_is_unicode_aware(word: str, headline: str, is_match: bool) -> None:
    result = plan([article(1, headline=headline)], include_words=(word,))
    assert result.is_empty is not is_match


def test_tokenize_keeps_combining_marks_inside_words() -> None:
    assert tokenize("हिन्दी, NEWS's") == ("हिन्दी", "news", "s")


def test_plan_is_hashable_and_equal_for_equal_input() -> None:
    articles = [article(i, hours_ago=i) for i in range(1, 4)]
    first, second = plan(articles), plan(tuple(articles))
    assert first == second
    assert hash(first) == hash(second)
    assert len({first, second}) == 1


def test_many_candidates_are_planned_quickly() -> None:
    topics = ("world", "india", "business", "sport")
    articles = [
        article(
            i,
            cluster=max(i - i % 3, 1),
            source=i % 7,
            hours_ago=(i % 240) / 10,
            topics=(topics[(i // 3) % 4],),
            headline=f"Headline number {i} about markets and politics",
            summary="A summary sentence with several ordinary words in it. " * 4,
        )
        for i in range(1, 3001)
    ]
    plan(articles, topics=topics, exclude_words=("football",))  # warm the token cache
    started = time.perf_counter()
    for _ in range(20):
        result = plan(articles, topics=topics, exclude_words=("football",))
    per_chat = (time.perf_counter() - started) / 20
    assert result.story_count == 20
    assert per_chat < 0.25, f"{per_chat:.3f} s per plan of 3000 candidates"


def test_article_joining_a_received_story_is_an_update_not_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    received = article(3, hours_ago=5)
    follow_up = article(9, cluster=3, source=2, hours_ago=1, headline="Follow-up")
    other_topic = article(10, cluster=3, source=3, topics=("sport",))
    fresh = article(11)
    with caplog.at_level("DEBUG", logger="bot.digest.select"):
        result = plan([received, follow_up, other_topic, fresh], cursor_article_id=8)
    assert ids(result) == [[11]]
    assert result.updates is not None
    assert [a.id for a in result.updates.articles] == [9]
    assert result.story_count == 2
    assert "article 9 joined story 3 at or below cursor 8: update line" in caplog.text
    assert "article 10 joined story 3 at or below cursor 8: not in" in caplog.text


def test_updates_obey_filters_and_count_what_the_limit_leaves_out() -> None:
    joined = [article(100 + n, cluster=1, hours_ago=n / 10) for n in range(13)]
    excluded = article(200, cluster=1, headline="Football result")
    result = plan([*joined, excluded], cursor_article_id=50, exclude_words=("football",))
    assert result.sections == ()
    assert result.updates is not None
    assert [a.id for a in result.updates.articles] == list(range(100, 110))  # newest first
    assert result.updates.more_count == 3
    assert not result.is_empty


def test_nothing_above_the_cursor_gives_no_updates() -> None:
    result = plan([article(3), article(4, cluster=3)], cursor_article_id=4)
    assert result.updates is None and result.is_empty
