"""Reply texts: wording the brief fixes, HTML escaping of user text, sizes."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.chat import texts
from bot.language import LANGUAGES
from bot.store.records import ChatMode

EVIL = "<b>bold</b> & <a href='x'>"
OUR_TAGS = re.compile(r"</?b>")
KOLKATA = ZoneInfo("Asia/Kolkata")
NEXT_AT = datetime(2024, 1, 16, 8, 0, tzinfo=KOLKATA)


def assert_safe_html(reply: str) -> None:
    """No tag but our own <b>, and the user's markup shows up escaped."""
    assert "<" not in OUR_TAGS.sub("", reply)
    assert len(reply) <= 4096


@pytest.mark.parametrize(
    "reply",
    [
        texts.unknown_topic(EVIL, [EVIL]),
        texts.subscribed([EVIL, "Sport"]),
        texts.unsubscribed([EVIL]),
        texts.not_subscribed([EVIL]),
        texts.already_subscribed([EVIL]),
        texts.my_topics([EVIL], "scheduled", ["08:00"], EVIL, [EVIL], [EVIL], NEXT_AT),
        texts.schedule_set("scheduled", ("08:00",), EVIL, NEXT_AT),
        texts.timezone_set(EVIL, NEXT_AT),
        texts.timezone_usage(EVIL),
        texts.bad_timezone(EVIL, EVIL),
        texts.bad_offset(EVIL),
        texts.bad_time(EVIL),
        texts.filters_text([EVIL], [EVIL]),
        texts.word_too_long(EVIL, 40),
        texts.search_none(EVIL),
        texts.deep_link_subscribed([EVIL]),
    ],
)
def test_user_text_is_escaped(reply: str) -> None:
    assert "&lt;b&gt;bold&lt;/b&gt; &amp;" in reply
    assert_safe_html(reply)


@pytest.mark.parametrize(
    "junk",
    ["x" * 100_000, "🚀" * 5000, "שלום " * 3000, "<b>" * 3000],
    ids=["ascii", "emoji", "rtl", "html"],
)
def test_huge_user_text_keeps_replies_short(junk: str) -> None:
    for reply in (texts.unknown_topic(junk, [junk]), texts.search_none(junk)):
        assert len(reply) < 700
        assert_safe_html(reply)


def test_user_text_cuts_before_escaping() -> None:
    assert texts.user_text("<" * 100, limit=5) == "&lt;&lt;&lt;&lt;…"
    assert texts.user_text("  two\n\nlines  ") == "two lines"


def test_unknown_topic_wording() -> None:
    assert (
        texts.unknown_topic("x", ["World news"])
        == "No topic 'x'. Did you mean World news? /topics lists them all."
    )
    assert texts.unknown_topic("x") == "No topic 'x'. /topics lists them all."
    assert "World news or Sport?" in texts.unknown_topic("x", ["World news", "Sport"])


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        (
            datetime(2024, 1, 16, 8, 0, tzinfo=KOLKATA),
            "Nothing new since your last digest at 08:00.",
        ),
        (datetime(2024, 1, 16, 18, 5), "Nothing new since your last digest at 18:05."),
    ],
)
def test_nothing_new(last: datetime, expected: str) -> None:
    assert texts.nothing_new(last).startswith(expected)


def test_nothing_new_says_what_comes_next_and_when() -> None:
    last = datetime(2024, 1, 16, 8, 0, tzinfo=KOLKATA)
    assert texts.nothing_new(last, "scheduled", NEXT_AT, "Asia/Kolkata") == (
        "Nothing new since your last digest at 08:00. Your next digest: Tue 16 Jan, 08:00 "
        "Asia/Kolkata (UTC+05:30); /digest before then shows what is new."
    )
    assert texts.nothing_new(last, "instant").endswith("as soon as they arrive.")
    assert texts.nothing_new(last, "off").endswith("send /digest again later.")


def test_nothing_new_before_any_digest() -> None:
    assert texts.nothing_new(None).startswith("Nothing new yet")


def test_commands_fit_set_my_commands() -> None:
    names = [name for name, _ in texts.COMMANDS]
    assert names == [
        "start", "help", "topics", "subscribe", "unsubscribe", "mytopics", "digest",
        "schedule", "quiet", "timezone", "language", "filter", "search", "pause", "resume", "stop",
        "add", "feeds", "remove", "import", "export", "channels",
    ]  # fmt: skip
    for lang in LANGUAGES:
        for name, description in texts.command_menu(lang):
            assert re.fullmatch(r"[a-z0-9_]{1,32}", name)
            assert 3 <= len(description) <= 256
            assert "\n" not in description


def test_help_lists_every_command_once() -> None:
    help_text = texts.help_text()
    for name, description in texts.COMMANDS:
        assert help_text.count(f"/{name} — ") == 1
        assert description.replace("&", "&amp;") in help_text
    assert_safe_html(help_text)


def test_welcome_is_two_lines() -> None:
    assert len(texts.WELCOME.splitlines()) == 2


def test_my_topics_shows_every_setting() -> None:
    reply = texts.my_topics(
        ["World news", "Sport"], "scheduled", ["08:00", "18:30"], "Asia/Kolkata",
        ["climate"], ["football"], NEXT_AT,
    )  # fmt: skip
    assert "World news and Sport" in reply
    assert "08:00 and 18:30" in reply
    assert "Asia/Kolkata" in reply
    assert "climate" in reply and "football" in reply
    assert "Tue 16 Jan, 08:00" in reply


def test_my_topics_when_empty_paused_or_instant() -> None:
    empty = texts.my_topics([], "off", [], "UTC", [], [], None)
    assert "none yet" in empty and "/topics" in empty
    paused = texts.my_topics(["Sport"], "scheduled", ["08:00"], "UTC", [], [], NEXT_AT, True)
    assert "/resume" in paused and "Next digest" not in paused
    instant = texts.my_topics(["Sport"], "instant", [], "UTC", [], [], None)
    assert "instant" in instant


@pytest.mark.parametrize(
    ("mode", "times", "needle"),
    [
        ("scheduled", ("08:00", "18:30"), "Digests at 08:00 and 18:30"),
        ("instant", (), "as soon as they arrive"),
        ("off", (), "/digest"),
    ],
)
def test_schedule_set(mode: ChatMode, times: tuple[str, ...], needle: str) -> None:
    assert needle in texts.schedule_set(mode, times, "Asia/Kolkata", NEXT_AT)


def test_schedule_set_names_next_digest() -> None:
    reply = texts.schedule_set("scheduled", ("08:00",), "Asia/Kolkata", NEXT_AT)
    assert reply.endswith("Next one: Tue 16 Jan, 08:00.")


def test_timezone_set_shows_local_time() -> None:
    now = datetime(2024, 1, 16, 14, 5, tzinfo=KOLKATA)
    assert texts.timezone_set("Asia/Kolkata", now) == (
        "🌍 Time zone set to Asia/Kolkata (UTC+05:30). It's 14:05 there now."
    )
    minus_five = datetime(2024, 1, 16, 3, 35, tzinfo=ZoneInfo("Etc/GMT+5"))
    assert texts.timezone_set("Etc/GMT+5", minus_five) == (
        "🌍 Time zone set to UTC-05:00. It's 03:35 there now."
    )
    assert texts.timezone_usage("Etc/GMT-1") == (
        "Your time zone is UTC+01:00. Try a zone, an offset or a city: "
        "/timezone Asia/Kolkata, +05:30 or Tokyo"
    )


def test_plurals() -> None:
    assert texts.subscribed_all(1) == "✅ You now follow all 1 topic."
    assert texts.subscribed_all(2) == "✅ You now follow all 2 topics."
    assert texts.too_many_words(0) == "At most 0 filter words, please."


def test_russian_plurals_have_three_forms() -> None:
    assert texts.subscribed_all(1, "ru").endswith(" 1 тема.")
    assert texts.subscribed_all(3, "ru").endswith(" 3 темы.")
    assert texts.subscribed_all(5, "ru").endswith(" 5 тем.")
    assert texts.subscribed_all(11, "ru").endswith(" 11 тем.")
    assert texts.subscribed_all(21, "ru").endswith(" 21 тема.")


def test_weekdays_and_quiet_hours_read_naturally() -> None:
    assert texts.weekday_words((0, 1, 2, 3, 4)) == "Mon–Fri"
    assert texts.weekday_words((5,)) == "Sat"
    assert texts.weekday_words((0, 2, 4)) == "Mon, Wed and Fri"
    assert texts.weekday_words(()) == ""
    reply = texts.schedule_set("scheduled", ("07:30",), "Etc/GMT+5", None, (0, 1, 2, 3, 4))
    assert reply == "🕗 Digests at 07:30 on Mon–Fri, UTC-05:00."
    assert texts.quiet_words(("23:00", "07:00"), "instant") == "23:00–07:00"
    assert "(for /schedule instant)" in texts.quiet_words(("23:00", "07:00"), "scheduled")


def test_my_topics_without_topics_says_how_to_add_one() -> None:
    text = texts.my_topics([], "scheduled", ("08:00",), "UTC", [], [], NEXT_AT)
    assert text.startswith("<b>Topics:</b> none yet. Add one with /subscribe world news")
    assert "Next digest" not in text


def test_filters_text() -> None:
    assert texts.filters_text([], []).startswith("No filters")
    both = texts.filters_text(["climate change", "ev"], ["football"])
    assert "climate change or ev" in both and "never football" in both


def test_toast_is_plain_and_short() -> None:
    assert texts.topic_toggled_toast("World news", True) == "Following World news"
    assert texts.topic_toggled_toast("<b>", False) == "Stopped following <b>"
    assert len(texts.topic_toggled_toast("x" * 500, True)) <= texts.TOAST_MAX_CHARS


@pytest.mark.parametrize(
    "reply",
    [
        texts.PAUSED, texts.RESUMED, texts.STOP_CONFIRM, texts.STOPPED, texts.ADMINS_ONLY,
        texts.TOO_LONG_INPUT, texts.schedule_usage(), texts.filter_usage(), texts.WELCOME,
    ],
)  # fmt: skip
def test_fixed_replies_are_short_and_safe(reply: str) -> None:
    assert 0 < len(reply) <= 200
    assert_safe_html(reply)
