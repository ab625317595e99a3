"""Parsers of command arguments: topics, filter words, commands (and their error type).

Schedules are tested in ``test_schedule_parsing``, time zones in ``test_timezones``.
"""

from __future__ import annotations

import time

import pytest

from bot.chat.parsing import (
    MAX_FILTER_WORD_CHARS,
    MAX_FILTER_WORDS,
    ChatInputError,
    FilterChoice,
    match_topic,
    match_topics,
    normalize_topic_text,
    parse_command_args,
    parse_filter,
    parse_filter_words,
    suggest_topics,
    wants_all,
)
from bot.errors import NewsbotError
from bot.settings import TopicConfig

CATALOGUE = (
    TopicConfig(id="world", name="World news", aliases=["international", "global"]),
    TopicConfig(id="sport", name="Sport", aliases=["sports"]),
    TopicConfig(id="science-tech", name="Science & Tech"),
    TopicConfig(id="business", name="Business", aliases=["economy", "أخبار اقتصادية"]),
    TopicConfig(id="india", name="🇮🇳 India"),
)


def ids(topics: tuple[TopicConfig, ...] | list[TopicConfig]) -> list[str]:
    return [t.id for t in topics]


# --- topics -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("World news", "world news"),
        ("  WORLD---news  ", "world news"),
        ("world_news", "world news"),
        ("Science & Tech", "science tech"),
        ("science and tech", "science tech"),
        ("and", "and"),
        ("#World", "world"),
        ("São Paulo", "sao paulo"),
        ("🌍 World", "world"),
        ("\u200fأخبار\u200f", "اخبار"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalize_topic_text(typed: str, expected: str) -> None:
    assert normalize_topic_text(typed) == expected


@pytest.mark.parametrize(
    ("typed", "expected_id"),
    [
        ("world news", "world"),
        ("World", "world"),
        ("world-news", "world"),
        ("WORLD_NEWS", "world"),
        ("worldnews", "world"),
        ("  world    news ", "world"),
        ("#world", "world"),
        ("International", "world"),
        ("sports", "sport"),
        ("science and tech", "science-tech"),
        ("Science-Tech", "science-tech"),
        ("science & tech", "science-tech"),
        ("india", "india"),
        ("India", "india"),
        ("\u200fأخبار اقتصادية", "business"),
    ],
)
def test_match_topic_by_id_name_or_alias(typed: str, expected_id: str) -> None:
    topic = match_topic(typed, CATALOGUE)
    assert topic is not None
    assert topic.id == expected_id


@pytest.mark.parametrize("typed", ["", "   ", "-", "news", "wor", "<b>world</b>x", "🌍", "עולם"])
def test_match_topic_none(typed: str) -> None:
    assert match_topic(typed, CATALOGUE) is None


@pytest.mark.parametrize(
    ("arg", "found", "unknown"),
    [
        ("world news", ["world"], []),
        ("World, sport", ["world", "sport"], []),
        ("world news, sports", ["world", "sport"], []),
        ("world news; science and tech", ["world", "science-tech"], []),
        ("world sport", ["world", "sport"], []),
        ("world news sport", ["world", "sport"], []),
        ("world science & tech", ["world", "science-tech"], []),
        ("world, world news, World", ["world"], []),
        ("world, fooo", ["world"], ["fooo"]),
        ("fooo bar", [], ["fooo bar"]),
        ("world fooo bar sport", ["world", "sport"], ["fooo bar"]),
        ("fooo, fooo", [], ["fooo"]),
        ("<b>x</b>", [], ["<b>x</b>"]),
        ("🚀🚀", [], ["🚀🚀"]),
        ("חדשות, world", ["world"], ["חדשות"]),
        ("", [], []),
        (" , ,, ", [], []),
    ],
)
def test_match_topics(arg: str, found: list[str], unknown: list[str]) -> None:
    match = match_topics(arg, CATALOGUE)
    assert ids(match.found) == found
    assert list(match.unknown) == unknown


def test_match_topics_huge_input_is_quick_and_bounded() -> None:
    started = time.monotonic()
    junk = match_topics("blah " * 5000, CATALOGUE)
    repeated = match_topics("world sport " * 3000, CATALOGUE)
    assert time.monotonic() - started < 2.0
    assert junk.found == ()
    assert len(junk.unknown) == 1
    assert len(junk.unknown[0]) <= 1000
    assert ids(repeated.found) == ["world", "sport"]
    assert repeated.unknown == ()


def test_match_topics_with_empty_catalogue() -> None:
    match = match_topics("world", ())
    assert match.found == ()
    assert match.unknown == ("world",)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("wrld", ["world"]),
        ("World nwes", ["world"]),
        ("sprot", ["sport"]),
        ("tech", ["science-tech"]),
        ("busines", ["business"]),
        ("zzzzzz", []),
        ("", []),
        ("x" * 10_000, []),
        ("<b>", []),
    ],
)
def test_suggest_topics(typed: str, expected: list[str]) -> None:
    assert ids(suggest_topics(typed, CATALOGUE)) == expected


def test_suggest_topics_limits_count() -> None:
    many = [TopicConfig(id=f"sport-{i}", name=f"Sport {i}") for i in range(10)]
    assert len(suggest_topics("sport", many)) == 3
    assert len(suggest_topics("sport", many, n=1)) == 1
    assert suggest_topics("sport", many, n=0) == []


@pytest.mark.parametrize(
    ("arg", "expected"),
    [("all", True), (" ALL ", True), ("everything", True), ("world", False), ("", False)],
)
def test_wants_all(arg: str, expected: bool) -> None:
    assert wants_all(arg) is expected


# --- errors -----------------------------------------------------------------


def test_chat_input_error_is_a_newsbot_error() -> None:
    assert issubclass(ChatInputError, NewsbotError)


# --- filters ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("climate", ("climate",)),
        ('climate "climate change"', ("climate", "climate change")),
        ('"Climate   Change" , AI', ("climate change", "ai")),
        ("AI, ai Ai", ("ai",)),
        ("bitcoin. (crypto)", ("bitcoin", "crypto")),
        ("“electric cars” «Paris»", ("electric cars", "paris")),
        ('war "open quote', ("war", "open quote")),
        ("<b>war</b>", ("<b>war</b>",)),
        ("🚀 rocket", ("🚀", "rocket")),
        ("שלום עולם", ("שלום", "עולם")),
        ("Crème Brûlée", ("crème", "brûlée")),
        ("w" * MAX_FILTER_WORD_CHARS, ("w" * MAX_FILTER_WORD_CHARS,)),
        (" ".join(f"w{i}" for i in range(MAX_FILTER_WORDS)), tuple(f"w{i}" for i in range(20))),
    ],
)
def test_parse_filter_words(typed: str, expected: tuple[str, ...]) -> None:
    assert parse_filter_words(typed) == expected


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        '""',
        ", , .",
        " ".join(f"w{i}" for i in range(MAX_FILTER_WORDS + 1)),
        "w" * (MAX_FILTER_WORD_CHARS + 1),
        '"' + "a " * 30 + '"',
        pytest.param("word " * 2000, id="huge"),
    ],
)
def test_parse_filter_words_rejects(typed: str) -> None:
    with pytest.raises(ChatInputError) as caught:
        parse_filter_words(typed)
    assert len(caught.value.reply) < 400


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("include climate", FilterChoice("include", ("climate",))),
        ('INCLUDE "electric cars" ev', FilterChoice("include", ("electric cars", "ev"))),
        ("exclude football, cricket", FilterChoice("exclude", ("football", "cricket"))),
        ("include\nwar", FilterChoice("include", ("war",))),
        ("clear", FilterChoice("clear")),
        ("  Clear ", FilterChoice("clear")),
    ],
)
def test_parse_filter(typed: str, expected: FilterChoice) -> None:
    assert parse_filter(typed) == expected


@pytest.mark.parametrize("typed", ["", "include", "exclude   ", "maybe words", "clear words"])
def test_parse_filter_rejects_with_usage(typed: str) -> None:
    with pytest.raises(ChatInputError) as caught:
        parse_filter(typed)
    assert "/filter include" in caught.value.reply


# --- commands ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/start", ("start", "")),
        ("/start world", ("start", "world")),
        ("/Subscribe@NewsBot world news", ("subscribe", "world news")),
        ("/subscribe@news_bot", ("subscribe", "")),
        ("  /schedule   08:00  18:30 ", ("schedule", "08:00  18:30")),
        ('/filter include\n"a b"', ("filter", 'include\n"a b"')),
        ("/search <b>x</b>", ("search", "<b>x</b>")),
        ("hello there", ("", "hello there")),
        ("/", ("", "/")),
        ("", ("", "")),
        ("/стоп", ("", "/стоп")),
    ],
)
def test_parse_command_args(text: str, expected: tuple[str, str]) -> None:
    assert parse_command_args(text) == expected


# --- words that name a topic, plausible suggestions ---------------------------------------

NEWSROOM = (
    TopicConfig(id="science", name="Science", aliases=["environment", "space"]),
    TopicConfig(id="sport", name="Sport", aliases=["sports", "football", "cricket"]),
    TopicConfig(id="entertainment", name="Entertainment", aliases=["film", "movies", "cinema"]),
)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("cinema", "entertainment"),  # an alias, not the look-alike "science"
        ("movies", "entertainment"),
        ("movie", "entertainment"),  # singular of an alias
        ("films", "entertainment"),  # plural of an alias
        ("sports", "sport"),
    ],
)
def test_a_word_that_is_an_alias_or_name_picks_that_topic(typed: str, expected: str) -> None:
    topic = match_topic(typed, NEWSROOM)
    assert topic is not None and topic.id == expected


def test_only_plausible_topics_are_suggested() -> None:
    bare = tuple(TopicConfig(id=t.id, name=t.name) for t in NEWSROOM)
    assert suggest_topics("cinema", bare) == []  # never "Science" for looking alike
    assert ids(suggest_topics("footy", NEWSROOM)) == ["sport"]  # starts like "football"
    assert ids(suggest_topics("sciense", NEWSROOM)) == ["science"]
    assert suggest_topics("weather", NEWSROOM) == []


def test_all_means_every_topic() -> None:
    for typed in ("all", "ALL", "everything", "all topics"):
        assert wants_all(typed)
    assert not wants_all("world")
