"""``/timezone`` arguments: IANA names, UTC offsets and city names become IANA zones."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.chat.parsing import ChatInputError
from bot.chat.timezones import parse_timezone


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
