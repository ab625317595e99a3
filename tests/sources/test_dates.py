"""Dates as feeds send them, into aware UTC; future dates clamped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.sources.dates import (
    DATEPARSER_CALLS,
    DATEPARSER_MISSES,
    clamp_future,
    dateparser_budget,
    parse_date,
)

KOLKATA = ZoneInfo("Asia/Kolkata")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # RFC 822 / 1123 and variants
        ("Sun, 17 Dec 2023 00:58:40 -0500", utc(2023, 12, 17, 5, 58, 40)),
        ("Tue, 10 Jun 2003 04:00:00 GMT", utc(2003, 6, 10, 4)),
        ("Tue, 10 Jun 2003 04:00:00 EDT", utc(2003, 6, 10, 8)),
        ("Tue, 15 Nov 2022 20:15:04 Z", utc(2022, 11, 15, 20, 15, 4)),
        ("10 Jun 2003 04:00 +0000", utc(2003, 6, 10, 4)),
        ("Tue, 10 Jun 03 04:00:00 GMT", utc(2003, 6, 10, 4)),
        ("Tue, 15 Nov 2022 20:15:04 GMT+5:30", utc(2022, 11, 15, 14, 45, 4)),
        ("Thu, 15 Nov 2018 19:16:00 IST", utc(2018, 11, 15, 13, 46)),
        # ISO 8601 / RFC 3339
        ("2019-04-05T21:04:40+00:00", utc(2019, 4, 5, 21, 4, 40)),
        ("2020-01-24T23:46:57Z", utc(2020, 1, 24, 23, 46, 57)),
        ("2017-05-17T08:02:12-07:00", utc(2017, 5, 17, 15, 2, 12)),
        ("2020-01-24t23:46:57.5z", utc(2020, 1, 24, 23, 46, 57, 500000)),
        ("2023-01-25T19:03:02+01:00", utc(2023, 1, 25, 18, 3, 2)),
        ("20200124T234657Z", utc(2020, 1, 24, 23, 46, 57)),
        # the old New Indian Express format: 04:12 PM at +05:30 is 10:42 UTC
        ("Thursday, November 15, 2018 04:12 PM +0530", utc(2018, 11, 15, 10, 42)),
        ("Thursday, November 15, 2018 12:05 AM +0530", utc(2018, 11, 14, 18, 35)),
        ("15th November 2018 07:16 PM", utc(2018, 11, 15, 19, 16)),
        # NBC: no zone, 12-hour clock
        ("Sat, Dec 16 2023 02:02:33 PM", utc(2023, 12, 16, 14, 2, 33)),
        ("Sat, Dec 16 2023 12:02:33 PM", utc(2023, 12, 16, 12, 2, 33)),
        ("Dec 16, 2023", utc(2023, 12, 16)),
        # non-English month and day names
        ("mer, 16 nov 2022 00:38:15 +0100", utc(2022, 11, 15, 23, 38, 15)),
        ("sabato 16 dicembre 2023 alle 14:02", utc(2023, 12, 16, 14, 2)),
        ("Sa, 16. Dezember 2023, 14:02 Uhr", utc(2023, 12, 16, 14, 2)),
        ("Do, 15 Okt 2020 08:00:00 +0200", utc(2020, 10, 15, 6)),
        ("samedi 16 décembre 2023 14h02", utc(2023, 12, 16, 14, 2)),
        ("1er janvier 2024 09:30 +0100", utc(2024, 1, 1, 8, 30)),
        ("sábado, 16 de diciembre de 2023 14:02", utc(2023, 12, 16, 14, 2)),
        ("Ter, 15 Dez 2020 10:00:00 -0300", utc(2020, 12, 15, 13)),
    ],
)
def test_parse_date_formats(raw: str, expected: datetime) -> None:
    parsed = parse_date(raw)
    assert parsed == expected
    assert parsed is not None and parsed.tzinfo is UTC


def test_non_english_fallback_via_dateparser() -> None:
    # Russian is not in the strict readers' month table; dateparser takes it.
    assert parse_date("16 декабря 2023 14:02") == utc(2023, 12, 16, 14, 2)


@pytest.mark.parametrize(
    ("raw", "zone", "expected"),
    [
        ("Sat, Dec 16 2023 02:02:33 PM", NEW_YORK, utc(2023, 12, 16, 19, 2, 33)),
        ("2023-12-16 14:02:33", KOLKATA, utc(2023, 12, 16, 8, 32, 33)),
        ("2023-07-01T12:00:00", NEW_YORK, utc(2023, 7, 1, 16)),  # summer time
        ("16 dicembre 2023 14:02", KOLKATA, utc(2023, 12, 16, 8, 32)),
        # an explicit offset wins over the source's zone
        ("Thursday, November 15, 2018 04:12 PM +0530", NEW_YORK, utc(2018, 11, 15, 10, 42)),
        ("2020-01-24T23:46:57Z", KOLKATA, utc(2020, 1, 24, 23, 46, 57)),
    ],
)
def test_naive_times_use_the_source_zone(raw: str, zone: ZoneInfo, expected: datetime) -> None:
    assert parse_date(raw, default_tz=zone) == expected


@pytest.mark.parametrize(
    "raw",
    [None, "", "   ", "garbage", "not a date at all", "0000-00-00", "Mon, 32 Jan 2023 10:00 GMT",
     "Sat, Dec 16 2023 13:02:33 PM", "2023-13-45T99:99:99Z", "1702735353", "\x00\xff", "{}"],
)  # fmt: skip
def test_garbage_gives_none(raw: str | None) -> None:
    assert parse_date(raw) is None


def test_parse_date_never_raises_on_odd_types() -> None:
    assert parse_date(12345) is None  # type: ignore[arg-type]


def test_clamp_future() -> None:
    fetched = utc(2024, 1, 1, 12)
    assert clamp_future(None, fetched) == fetched
    assert clamp_future(fetched + timedelta(days=2), fetched) == fetched
    assert clamp_future(fetched + timedelta(hours=23), fetched) == fetched + timedelta(hours=23)
    old = utc(2018, 11, 15, 10, 42)
    assert clamp_future(old, fetched) == old


def test_impossible_zone_offset_gives_none_never_an_error() -> None:
    # Found by fuzzing: a zone offset of a day or more made datetime raise.
    assert parse_date("Nov 0001 +05:30 +2400 +9999") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Tue, 14 May 2024 08:16:00 +0000", datetime(2024, 5, 14, 8, 16, tzinfo=UTC)),
        ("14 May 2024 08:16 +0530", datetime(2024, 5, 14, 2, 46, tzinfo=UTC)),
        ("Tue, 14 May 2024 08:16:00 GMT", datetime(2024, 5, 14, 8, 16, tzinfo=UTC)),
        ("Tue, 14 May 2024 23:16:00 -0500", datetime(2024, 5, 15, 4, 16, tzinfo=UTC)),
        # An offset of a day or more leaves the time local.
        ("Tue, 14 May 2024 08:16:00 +2400", datetime(2024, 5, 14, 8, 16, tzinfo=UTC)),
        # The reader takes " H" for "Uhr" and "ST" as unknown.
        ("Tue, 14 May 2024 08:16:00 HST", datetime(2024, 5, 14, 8, 16, tzinfo=UTC)),
        ("Tue, 31 Feb 2024 08:16:00 +0000", None),
        ("Tue, 14 May 0001 08:16:00 +0000", datetime(2001, 5, 14, 8, 16, tzinfo=UTC)),
    ],
)
def test_rfc822_dates(raw: str, expected: datetime | None) -> None:
    assert parse_date(raw) == expected


# --- bounded: the slow fallback --------------------------------------------------------

RUSSIAN = "16 декабря 2023 14:02"  # not in the strict readers' month table: dateparser reads it


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2023-12-16 14:02:33 GMT", utc(2023, 12, 16, 14, 2, 33)),
        ("2023-12-16 14:02:33 +0530", utc(2023, 12, 16, 8, 32, 33)),
        ("2023-12-16T14:02:33.123456789-0300", utc(2023, 12, 16, 17, 2, 33, 123456)),
        ("2023-12-16T14:02 EST", utc(2023, 12, 16, 19, 2)),
    ],
)
def test_iso_forms_the_standard_library_refuses_are_read_without_dateparser(
    raw: str, expected: datetime
) -> None:
    with dateparser_budget():
        for _ in range(DATEPARSER_MISSES):
            assert parse_date("99 99 99 99 99 99 99") is None  # spends the misses
        assert parse_date(raw) == expected


def test_a_strict_shape_with_impossible_fields_never_reaches_dateparser() -> None:
    malformed = [
        "2007-13-39T25:61:61Z", "2023-02-30 10:00:00 GMT", "Mon, 32 Jan 2023 10:00 GMT",
        "Sat, Dec 16 2023 13:02:33 PM", "Tue, 31 Feb 2024 08:16:00 +0000",
    ]  # fmt: skip
    with dateparser_budget():
        for raw in malformed * 20:
            assert parse_date(raw) is None
        # had any of them reached dateparser, its misses would be spent and this None
        assert parse_date(RUSSIAN) == utc(2023, 12, 16, 14, 2)


def test_a_feed_stops_asking_dateparser_after_its_misses() -> None:
    with dateparser_budget():
        for _ in range(DATEPARSER_MISSES):
            assert parse_date("99 99 99 99 99 99 99") is None
        assert parse_date(RUSSIAN) is None  # undated: the item gets the fetch time
    assert parse_date(RUSSIAN) == utc(2023, 12, 16, 14, 2)  # the next feed has its own budget


def test_a_feed_makes_at_most_the_capped_number_of_dateparser_calls() -> None:
    with dateparser_budget():
        parsed = [parse_date(RUSSIAN) for _ in range(DATEPARSER_CALLS + 5)]
    assert parsed == [utc(2023, 12, 16, 14, 2)] * DATEPARSER_CALLS + [None] * 5
