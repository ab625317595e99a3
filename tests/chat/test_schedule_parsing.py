"""``/schedule`` arguments: times of day in many spellings, "instant", "off", and limits."""

from __future__ import annotations

import pytest

from bot.chat.parsing import ChatInputError
from bot.chat.schedule_parsing import MAX_DIGEST_TIMES, ScheduleChoice, parse_quiet, parse_schedule


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


# --- weekdays and quiet hours ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "times", "days"),
    [
        ("mon-fri 07:30", ("07:30",), (0, 1, 2, 3, 4)),
        ("sat 10:00", ("10:00",), (5,)),
        ("Sat Sun 9am", ("09:00",), (5, 6)),
        ("weekdays 8:00 18:00", ("08:00", "18:00"), (0, 1, 2, 3, 4)),
        ("weekends 10", ("10:00",), (5, 6)),
        ("fri-mon 9:00", ("09:00",), (0, 4, 5, 6)),  # a range wraps over the weekend
        ("monday wednesday 7", ("07:00",), (0, 2)),
        ("mon-sun 8:00", ("08:00",), ()),  # every day is no restriction
        ("daily 8:00", ("08:00",), ()),
        ("mon-fri", (), (0, 1, 2, 3, 4)),  # days alone keep the chat's times
    ],
)
def test_days_come_before_times(typed: str, times: tuple[str, ...], days: tuple[int, ...]) -> None:
    assert parse_schedule(typed.split()) == ScheduleChoice("scheduled", times, days)


def test_a_day_after_the_times_is_refused() -> None:
    with pytest.raises(ChatInputError, match="'mon' is not a time"):
        parse_schedule(["07:30", "mon"])


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("23:00-07:00", ("23:00", "07:00")),
        ("23-7", ("23:00", "07:00")),
        ("11pm-7am", ("23:00", "07:00")),
        ("22:30 to 6:00", ("22:30", "06:00")),
        ("13:00 14:00", ("13:00", "14:00")),
        ("off", None),
    ],
)
def test_quiet_hours(typed: str, expected: tuple[str, str] | None) -> None:
    assert parse_quiet(typed) == expected


@pytest.mark.parametrize("typed", ["", "23:00", "23:00-23:00", "late-early", "25:00-07:00"])
def test_bad_quiet_hours_get_an_example(typed: str) -> None:
    with pytest.raises(ChatInputError, match="/quiet 23:00-07:00"):
        parse_quiet(typed)


@pytest.mark.parametrize(
    ("args", "days"),
    [
        (["пн-пт", "07:30"], (0, 1, 2, 3, 4)),
        (["Сб", "10:00"], (5,)),
        (["lun-vie", "07:30"], (0, 1, 2, 3, 4)),
        (["sáb,", "domingo", "9"], (5, 6)),
        (["mie", "08:00"], (2,)),
    ],
)
def test_days_in_every_language_the_bot_speaks(args: list[str], days: tuple[int, ...]) -> None:
    assert parse_schedule(args).days == days
