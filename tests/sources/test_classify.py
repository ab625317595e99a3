"""Topic classification of articles: source topics, categories, URL sections, keywords."""

from __future__ import annotations

import pytest

from bot.settings import TopicConfig
from bot.sources.classify import classify, normalise_label
from bot.sources.drafts import ArticleDraft

TOPICS = [
    TopicConfig(id="world", name="World", aliases=["international", "foreign"]),
    TopicConfig(id="business", name="Business", aliases=["economy", "markets"]),
    TopicConfig(id="sport", name="Sport", aliases=["sports"], keywords=["cricket", "Grand Slam"]),
    TopicConfig(id="scitech", name="Science & Tech", aliases=["technology"], keywords=["AI"]),
    TopicConfig(id="climate", name="Climate", keywords=["climate change", "CO2", "heatwave"]),
]


def draft(
    headline: str = "Something happened",
    *,
    url: str = "https://news.example/2018/11/15/something-happened.html",
    summary: str = "",
    categories: tuple[str, ...] = (),
) -> ArticleDraft:
    return ArticleDraft(headline=headline, url=url, summary=summary, categories=categories)


def topics_of(item: ArticleDraft, source_topics: tuple[str, ...] = ()) -> tuple[str, ...]:
    return classify(item, source_topics=source_topics, topics=TOPICS)


def test_source_topics_are_always_kept() -> None:
    assert topics_of(draft(), ("world",)) == ("world",)


def test_nothing_matches_gives_nothing() -> None:
    assert topics_of(draft()) == ()


@pytest.mark.parametrize(
    ("category", "expected"),
    [
        ("World", ("world",)),
        ("WORLD", ("world",)),
        ("International", ("world",)),
        ("Sports", ("sport",)),
        ("science-and-tech", ("scitech",)),
        ("Science &amp; Tech".replace("&amp;", "&"), ("scitech",)),
        ("Science and  Tech", ("scitech",)),
        ("News > Business", ("business",)),
        ("news/economy", ("business",)),
        ("Worldly goods", ()),
        ("Entertainment", ()),
    ],
)
def test_categories_match_topic_id_name_or_alias(category: str, expected: tuple[str, ...]) -> None:
    assert topics_of(draft(categories=(category,))) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://www.newindianexpress.com/world/2018/nov/15/russia-japan-1899011.html",
            ("world",),
        ),
        ("https://www.bbc.co.uk/sport/football/46212345", ("sport",)),
        ("https://example.com/sports/cricket/story.html", ("sport",)),
        ("https://example.com/business/markets/story.html", ("business",)),
        ("https://world.example.com/local/story.html", ()),  # host names are not sections
        ("https://example.com/news/world-cup-draw-made", ()),  # a slug is not a section
        ("https://example.com/world", ()),
        ("not a url", ()),
    ],
)
def test_url_path_sections_match(url: str, expected: tuple[str, ...]) -> None:
    assert topics_of(draft(url=url)) == expected


@pytest.mark.parametrize(
    ("headline", "summary", "expected"),
    [
        ("India win cricket series", "", ("sport",)),
        ("Cricketers arrive in Perth", "", ()),  # whole words only
        ("Osaka wins her second grand slam", "", ("sport",)),
        ("Grand\nslam dreams", "", ("sport",)),
        ("New chip for AI models", "", ("scitech",)),
        ("Said no to the plan", "The minister said no.", ()),  # "AI" is not inside "said"
        ("Heatwave grips Europe", "Experts link it to climate change.", ("climate",)),
        ("Emissions rise", "CO2 levels hit a record.", ("climate",)),
    ],
)
def test_keywords_match_whole_words_in_headline_and_summary(
    headline: str, summary: str, expected: tuple[str, ...]
) -> None:
    assert topics_of(draft(headline, summary=summary)) == expected


def test_keywords_are_not_regexes() -> None:
    topics = [TopicConfig(id="odd", name="Odd", keywords=["c++", "(a+)+$", "  "])]
    item = draft("Why c++ still matters", summary="aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!")
    assert classify(item, source_topics=(), topics=topics) == ("odd",)


def test_results_are_sorted_and_unique() -> None:
    item = draft(
        "AI startup raises funds for cricket analytics",
        url="https://example.com/business/story.html",
        categories=("Sports", "Business", "sport"),
    )
    assert topics_of(item, ("world", "business")) == ("business", "scitech", "sport", "world")


@pytest.mark.parametrize(
    ("a", "b"),
    [("Science & Tech", "science-and-tech"), ("Sports", "sport"), (" World  News ", "world-news")],
)
def test_normalise_label_equates_spellings(a: str, b: str) -> None:
    assert normalise_label(a) == normalise_label(b)
