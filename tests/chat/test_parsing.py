"""Parsers of command arguments: topics, schedules, time zones, filter words, commands."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.chat.parsing import (
    MAX_DIGEST_TIMES,
    MAX_FILTER_WORD_CHARS,
    MAX_FILTER_WORDS,
    ChatInputError,
    FilterChoice,
    ScheduleChoice,
    match_topic,
    match_topics,
    normalize_topic_text,
    parse_command_args,
    parse_filter,
    parse_filter_words,
    parse_schedule,
    parse_timezone,
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


# --- schedule ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["8:00"], ("08:00",)),
        (["08:00"], ("08:00",)),
        (["20:30"], ("20:30",)),
        (["8am"], ("08:00",)),
        (["8", "am"], ("08:00",)),
        (["8", "a.m."], ("08:00",)),
        (["8:30pm"], ("20:30",)),
        (["8:30", "PM"], ("20:30",)),
        (["8:30p.m."], ("20:30",)),
        (["8", "P.M.", "9am"], ("09:00", "20:00")),
        (["12am", "12pm"], ("00:00", "12:00")),
        (["0830"], ("08:30",)),
        (["2030"], ("20:30",)),
        (["20h30"], ("20:30",)),
        (["20.30"], ("20:30",)),
        (["7"], ("07:00",)),
        (["0:00", "23:59"], ("00:00", "23:59")),
        (["noon", "Midnight"], ("00:00", "12:00")),
        (["18:30", "08:00", "08:00", "8am"], ("08:00", "18:30")),
        (["08:00,18:30"], ("08:00", "18:30")),
        (["08:00, 18:30"], ("08:00", "18:30")),
        (["٠٨:٠٠"], ("08:00",)),
    ],
)
def test_parse_schedule_times(args: list[str], expected: tuple[str, ...]) -> None:
    assert parse_schedule(args) == ScheduleChoice("scheduled", expected)


@pytest.mark.parametrize(
    ("args", "mode"),
    [(["instant"], "instant"), (["INSTANT"], "instant"), (["live"], "instant"), (["off"], "off")],
)
def test_parse_schedule_modes(args: list[str], mode: str) -> None:
    assert parse_schedule(args) == ScheduleChoice(mode)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "args",
    [
        [],
        [""],
        ["25:00"],
        ["24:00"],
        ["12:60"],
        ["13pm"],
        ["0am"],
        ["830"],
        ["8:5"],
        ["8h"],
        ["tomorrow"],
        ["amazing"],
        ["am"],
        ["instant", "08:00"],
        ["off", "off"],
        ["<b>8</b>"],
        ["🕗"],
        pytest.param(["9" * 5000], id="huge-token"),
        [f"{h:02d}:00" for h in range(MAX_DIGEST_TIMES + 1)],
        ["08:00"] * 1000,
    ],
)
def test_parse_schedule_rejects_with_example(args: list[str]) -> None:
    with pytest.raises(ChatInputError) as caught:
        parse_schedule(args)
    reply = caught.value.reply
    assert "/schedule 08:00 18:30" in reply
    assert "<b>" not in reply
    assert len(reply) < 500


def test_parse_schedule_names_the_bad_token_escaped() -> None:
    with pytest.raises(ChatInputError) as caught:
        parse_schedule(["<b>25:00"])
    assert "&lt;b&gt;25:00" in caught.value.reply
    assert "Times look like 08:00 or 18:30, for example: /schedule 08:00 18:30" in str(caught.value)


def test_parse_schedule_allows_the_maximum_count() -> None:
    args = [f"{h:02d}:00" for h in range(MAX_DIGEST_TIMES)]
    assert len(parse_schedule(args).times) == MAX_DIGEST_TIMES


def test_chat_input_error_is_a_newsbot_error() -> None:
    assert issubclass(ChatInputError, NewsbotError)


# --- time zones -------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("Asia/Kolkata", "Asia/Kolkata"),
        ("asia/kolkata", "Asia/Kolkata"),
        (" ASIA/KOLKATA ", "Asia/Kolkata"),
        ("america/new york", "America/New_York"),
        ("Etc/GMT-5", "Etc/GMT-5"),
        ("US/Eastern", "US/Eastern"),
        ("UTC", "UTC"),
        ("utc", "UTC"),
        ("GMT", "UTC"),
        ("Z", "UTC"),
        ("+0", "UTC"),
        ("UTC+0", "UTC"),
        ("+05:30", "Asia/Kolkata"),
        ("+0530", "Asia/Kolkata"),
        ("UTC+5:30", "Asia/Kolkata"),
        ("UTC+5", "Etc/GMT-5"),
        ("utc +5", "Etc/GMT-5"),
        ("-3", "Etc/GMT+3"),
        ("\u22123", "Etc/GMT+3"),
        ("GMT-03:00", "Etc/GMT+3"),
        ("+14", "Etc/GMT-14"),
        ("-12", "Etc/GMT+12"),
        ("+05:45", "Asia/Kathmandu"),
        ("+09:30", "Australia/Darwin"),
        ("+03:30", "Asia/Tehran"),
        ("+04:30", "Asia/Kabul"),
        ("-03:30", "America/St_Johns"),
        ("+06:30", "Asia/Yangon"),
        ("+08:45", "Australia/Eucla"),
        ("+10:30", "Australia/Lord_Howe"),
        ("+12:45", "Pacific/Chatham"),
        ("-09:30", "Pacific/Marquesas"),
        ("Tokyo", "Asia/Tokyo"),
        ("new york", "America/New_York"),
        ("New_York", "America/New_York"),
        ("Los Angeles", "America/Los_Angeles"),
        ("sao paulo", "America/Sao_Paulo"),
        ("São Paulo", "America/Sao_Paulo"),
        ("St. John's", "America/St_Johns"),
        ("buenos aires", "America/Argentina/Buenos_Aires"),
        ("Istanbul", "Europe/Istanbul"),
        ("Kyiv", "Europe/Kyiv"),
        ("Rome", "Europe/Rome"),
        ("Sydney", "Australia/Sydney"),
        ("Dubai", "Asia/Dubai"),
        ("Delhi", "Asia/Kolkata"),
        ("New Delhi", "Asia/Kolkata"),
        ("Mumbai", "Asia/Kolkata"),
        ("Bangalore", "Asia/Kolkata"),
        ("Bengaluru", "Asia/Kolkata"),
        ("Chennai", "Asia/Kolkata"),
        ("Hyderabad", "Asia/Kolkata"),
        ("Beijing", "Asia/Shanghai"),
        ("San Francisco", "America/Los_Angeles"),
        ("seattle", "America/Los_Angeles"),
        ("Washington", "America/New_York"),
        ("Boston", "America/New_York"),
        ("Miami", "America/New_York"),
        ("Munich", "Europe/Berlin"),
        ("Frankfurt", "Europe/Berlin"),
        ("Milan", "Europe/Rome"),
        ("Barcelona", "Europe/Madrid"),
        ("Osaka", "Asia/Tokyo"),
        ("St Petersburg", "Europe/Moscow"),
        ("Saint-Petersburg", "Europe/Moscow"),
        ("PST", "America/Los_Angeles"),
        ("IST", "Asia/Kolkata"),
    ],
)
def test_parse_timezone(typed: str, expected: str) -> None:
    zone = parse_timezone(typed)
    assert zone == expected
    ZoneInfo(zone)


@pytest.mark.parametrize(
    "offset",
    [
        *("+05:30", "+05:45", "+09:30", "+03:30", "+04:30", "-03:30", "+06:30", "+08:45"),
        *("+10:30", "+12:45", "-09:30", "+5", "-3", "+14", "-12", "+1", "-11"),
    ],
)
def test_offset_zone_really_has_that_offset(offset: str) -> None:
    sign = -1 if offset.startswith("-") else 1
    hours, _, minutes = offset[1:].partition(":")
    wanted = sign * timedelta(hours=int(hours), minutes=int(minutes or 0))
    zone = ZoneInfo(parse_timezone(offset))
    offsets = {datetime(2025, month, 15, 12, tzinfo=zone).utcoffset() for month in (1, 7)}
    assert wanted in offsets


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "Mars/Olympus",
        "+05:10",
        "+15",
        "-13",
        "+5:99",
        "5",
        "<b>x</b>",
        "🕗",
        "Factory",
        "localtime",
        "תל אביב",
        pytest.param("x" * 5000, id="huge"),
    ],
)
def test_parse_timezone_rejects_with_examples(typed: str) -> None:
    with pytest.raises(ChatInputError) as caught:
        parse_timezone(typed)
    reply = caught.value.reply
    assert "Asia/Kolkata" in reply
    assert "+05:30" in reply
    assert "<b>" not in reply
    assert len(reply) < 400


def test_parse_timezone_suggests_a_close_city() -> None:
    with pytest.raises(ChatInputError) as caught:
        parse_timezone("Tokio")
    assert "Did you mean Tokyo?" in caught.value.reply


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
