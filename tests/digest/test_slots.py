"""Digest slots: local times in a chat's zone, across DST changes and downtime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.digest.slots import (
    coalesce_missed,
    due_slot,
    in_quiet_hours,
    next_digest_at,
    previous_slot_at_or_before,
    quiet_hours_end,
    slot_key,
    slot_time,
)

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def slots_between(times: list[str], tz: str, start: datetime, end: datetime) -> list[datetime]:
    """Every slot in (start, end], found by walking next_digest_at."""
    found: list[datetime] = []
    moment = next_digest_at(times, tz, start)
    while moment <= end:
        found.append(moment)
        moment = next_digest_at(times, tz, moment)
    return found


def test_kolkata_morning_digest_is_0230_utc() -> None:
    due = next_digest_at(["08:00"], "Asia/Kolkata", utc(2026, 11, 27, 0, 0))
    assert due == utc(2026, 11, 27, 2, 30)
    assert due.tzinfo is UTC
    assert slot_key(due) == "2026-11-27T02:30Z"


def test_next_slot_is_strictly_after() -> None:
    assert next_digest_at(["08:00"], "Asia/Kolkata", utc(2026, 11, 27, 2, 30)) == utc(
        2026, 11, 28, 2, 30
    )


def test_unsorted_duplicate_times_give_each_slot_once() -> None:
    times = ["20:00", "08:00", "13:30", "08:00"]
    slots = slots_between(times, "Asia/Kolkata", utc(2026, 1, 1, 0, 0), utc(2026, 1, 2, 0, 0))
    assert slots == [utc(2026, 1, 1, 2, 30), utc(2026, 1, 1, 8, 0), utc(2026, 1, 1, 14, 30)]


def test_midnight_slot_belongs_to_the_next_local_day() -> None:
    # 00:00 IST on 28 Nov is 18:30 UTC on 27 Nov.
    assert next_digest_at(["00:00"], "Asia/Kolkata", utc(2026, 11, 27, 18, 29)) == utc(
        2026, 11, 27, 18, 30
    )
    assert next_digest_at(["00:00"], "Asia/Kolkata", utc(2026, 11, 27, 18, 30)) == utc(
        2026, 11, 28, 18, 30
    )


def test_input_may_be_in_any_aware_zone() -> None:
    after = datetime(2026, 11, 27, 5, 30, tzinfo=ZoneInfo("Asia/Kolkata"))  # 00:00 UTC
    assert next_digest_at(["08:00"], "Asia/Kolkata", after) == utc(2026, 11, 27, 2, 30)


@pytest.mark.parametrize(
    ("after", "expected_local"),
    [
        # Spring forward, Sunday 29 March 2026: 02:00-03:00 CET does not exist.
        (utc(2026, 3, 28, 12, 0), datetime(2026, 3, 29, 3, 0, tzinfo=BERLIN)),
        # Fall back, Sunday 25 October 2026: 02:00-03:00 happens twice.
        (utc(2026, 10, 24, 12, 0), datetime(2026, 10, 25, 2, 30, tzinfo=BERLIN, fold=0)),
    ],
)
def test_berlin_0230_across_dst(after: datetime, expected_local: datetime) -> None:
    assert next_digest_at(["02:30"], "Europe/Berlin", after) == expected_local.astimezone(UTC)


def test_berlin_gap_time_fires_at_end_of_gap() -> None:
    due = next_digest_at(["02:30"], "Europe/Berlin", utc(2026, 3, 28, 12, 0))
    assert due == utc(2026, 3, 29, 1, 0)
    assert due.astimezone(BERLIN).strftime("%H:%M %Z") == "03:00 CEST"


def test_berlin_ambiguous_time_fires_once_at_first_occurrence() -> None:
    first = next_digest_at(["02:30"], "Europe/Berlin", utc(2026, 10, 24, 12, 0))
    assert first == utc(2026, 10, 25, 0, 30)  # 02:30 CEST
    # The second 02:30 (01:30 UTC, CET) is skipped: the next slot is on Monday.
    assert next_digest_at(["02:30"], "Europe/Berlin", first) == utc(2026, 10, 26, 1, 30)


def test_berlin_gap_time_and_gap_end_time_share_one_slot() -> None:
    times = ["02:30", "03:00", "02:00"]
    slots = slots_between(times, "Europe/Berlin", utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 23, 0))
    assert slots == [utc(2026, 3, 29, 1, 0)]


def test_berlin_morning_digest_moves_in_utc_with_dst() -> None:
    slots = slots_between(["08:00"], "Europe/Berlin", utc(2026, 3, 27, 12), utc(2026, 3, 30, 12))
    assert slots == [utc(2026, 3, 28, 7, 0), utc(2026, 3, 29, 6, 0), utc(2026, 3, 30, 6, 0)]
    slots = slots_between(["08:00"], "Europe/Berlin", utc(2026, 10, 23, 12), utc(2026, 10, 26, 12))
    assert slots == [utc(2026, 10, 24, 6, 0), utc(2026, 10, 25, 7, 0), utc(2026, 10, 26, 7, 0)]


def test_new_york_spring_forward_gap() -> None:
    # Sunday 8 March 2026: 02:00 EST jumps to 03:00 EDT (07:00 UTC).
    due = next_digest_at(["02:30"], "America/New_York", utc(2026, 3, 8, 0, 0))
    assert due == utc(2026, 3, 8, 7, 0)
    assert due.astimezone(NEW_YORK).strftime("%H:%M %Z") == "03:00 EDT"


def test_new_york_fall_back_fires_once() -> None:
    # Sunday 1 November 2026: 01:00-02:00 happens first in EDT, then in EST.
    first = next_digest_at(["01:30"], "America/New_York", utc(2026, 10, 31, 12, 0))
    assert first == utc(2026, 11, 1, 5, 30)
    assert next_digest_at(["01:30"], "America/New_York", first) == utc(2026, 11, 2, 6, 30)


@pytest.mark.parametrize("tz", ["Europe/Berlin", "America/New_York", "Asia/Kolkata"])
def test_a_whole_year_has_one_slot_per_time_per_day(tz: str) -> None:
    times = ["08:00", "02:30", "19:45"]
    zone = ZoneInfo(tz)
    start = datetime(2026, 1, 1, tzinfo=zone).astimezone(UTC)
    end = datetime(2027, 1, 1, tzinfo=zone).astimezone(UTC) - timedelta(seconds=1)
    slots = slots_between(times, tz, start, end)
    assert len(slots) == 3 * 365
    assert slots == sorted(set(slots))
    local_times = {slot.astimezone(zone).strftime("%H:%M") for slot in slots}
    expected = {"08:00", "02:30", "19:45"} | ({"03:00"} if tz != "Asia/Kolkata" else set())
    assert local_times == expected


def test_due_slot() -> None:
    now = utc(2026, 11, 27, 2, 30)
    assert due_slot(now, now)
    assert due_slot(now - timedelta(minutes=1), now)
    assert not due_slot(now + timedelta(seconds=1), now)
    assert not due_slot(None, now)


def test_three_days_of_downtime_deliver_once() -> None:
    times = ["08:00", "20:00"]
    next_at = utc(2026, 11, 24, 2, 30)  # 24 Nov 08:00 IST, missed
    now = utc(2026, 11, 27, 4, 0)  # 27 Nov 09:30 IST
    deliveries: list[datetime] = []
    while due_slot(next_at, now):
        deliver, next_at = coalesce_missed(next_at, times, "Asia/Kolkata", now)
        deliveries.append(deliver)
    assert deliveries == [utc(2026, 11, 27, 2, 30)]  # 27 Nov 08:00 IST, the latest missed
    assert next_at == utc(2026, 11, 27, 14, 30)  # 27 Nov 20:00 IST


def test_coalesce_when_only_the_due_slot_was_missed() -> None:
    deliver, following = coalesce_missed(
        utc(2026, 11, 27, 2, 30), ["08:00"], "Asia/Kolkata", utc(2026, 11, 27, 2, 30, 5)
    )
    assert (deliver, following) == (utc(2026, 11, 27, 2, 30), utc(2026, 11, 28, 2, 30))


def test_coalesce_keeps_a_due_slot_of_an_older_schedule() -> None:
    # The chat moved its digest from 08:00 to 20:00 after next_at was stored.
    next_at = utc(2026, 11, 27, 2, 30)
    deliver, following = coalesce_missed(next_at, ["20:00"], "Asia/Kolkata", utc(2026, 11, 27, 3))
    assert deliver == next_at
    assert following == utc(2026, 11, 27, 14, 30)


def test_coalesce_refuses_a_slot_not_due() -> None:
    with pytest.raises(ValueError, match="not due"):
        coalesce_missed(utc(2026, 11, 28), ["08:00"], "Asia/Kolkata", utc(2026, 11, 27))


def test_previous_slot_at_or_before_includes_the_moment() -> None:
    moment = utc(2026, 3, 29, 1, 0)
    assert previous_slot_at_or_before(["02:30"], "Europe/Berlin", moment) == moment
    before = moment - timedelta(seconds=1)
    assert previous_slot_at_or_before(["02:30"], "Europe/Berlin", before) == utc(2026, 3, 28, 1, 30)


@pytest.mark.parametrize(
    ("times", "tz", "after", "message"),
    [
        ([], "Asia/Kolkata", utc(2026, 1, 1), "at least one"),
        (["25:00"], "Asia/Kolkata", utc(2026, 1, 1), "malformed time"),
        (["8:00"], "Asia/Kolkata", utc(2026, 1, 1), "malformed time"),
        (["08:00"], "Mars/Olympus", utc(2026, 1, 1), "unknown time zone"),
        (["08:00"], "Asia/Kolkata", datetime(2026, 1, 1), "naive"),
    ],
)
def test_bad_input_is_refused(times: list[str], tz: str, after: datetime, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        next_digest_at(times, tz, after)


def test_slot_key_is_utc_and_stable() -> None:
    local = datetime(2026, 11, 27, 8, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    assert slot_key(local) == "2026-11-27T02:30Z"
    assert slot_key(local.astimezone(UTC)) == slot_key(local)


def test_slot_time_reads_a_slot_key_back_and_nothing_else() -> None:
    due = datetime(2026, 11, 27, 2, 30, tzinfo=UTC)
    assert slot_time(slot_key(due)) == due
    for other in ("poll:17", "manual:2026-11-27T02:30:00+00:00", "announce:ab12", "welcome:x"):
        assert slot_time(other) is None


# --- weekdays and quiet hours --------------------------------------------------------------


def test_weekday_slots_skip_other_days() -> None:
    friday_evening = utc(2026, 12, 4, 20, 0)  # Friday
    assert next_digest_at(["07:30"], "UTC", friday_evening, (0, 1, 2, 3, 4)) == utc(
        2026, 12, 7, 7, 30
    )  # Monday
    assert next_digest_at(["10:00"], "UTC", friday_evening, (5,)) == utc(2026, 12, 5, 10, 0)
    # a weekly slot just missed is a week away
    assert next_digest_at(["10:00"], "UTC", utc(2026, 12, 5, 10, 1), (5,)) == utc(
        2026, 12, 12, 10, 0
    )


def test_weekdays_are_local_days() -> None:
    # Monday 00:30 in Kolkata is still Sunday 19:00 UTC.
    sunday_utc = utc(2026, 12, 6, 18, 0)
    assert next_digest_at(["00:30"], "Asia/Kolkata", sunday_utc, (0,)) == utc(2026, 12, 6, 19, 0)


def test_coalescing_respects_weekdays() -> None:
    missed = utc(2026, 12, 4, 7, 30)  # Friday's slot, missed over the weekend
    deliver, following = coalesce_missed(
        missed, ["07:30"], "UTC", utc(2026, 12, 6, 12, 0), (0, 1, 2, 3, 4)
    )
    assert (deliver, following) == (missed, utc(2026, 12, 7, 7, 30))


def test_bad_weekday_is_refused() -> None:
    with pytest.raises(ValueError, match="weekdays"):
        next_digest_at(["07:30"], "UTC", utc(2026, 12, 4, 20, 0), (7,))


@pytest.mark.parametrize(
    ("local", "quiet"),
    [
        ("23:30", True),
        ("02:00", True),
        ("06:59", True),
        ("07:00", False),
        ("12:00", False),
        ("23:00", True),
    ],
)
def test_quiet_hours_across_midnight(local: str, quiet: bool) -> None:
    hour, minute = map(int, local.split(":"))
    moment = datetime(2026, 12, 6, hour, minute, tzinfo=ZoneInfo("Europe/Berlin"))
    assert in_quiet_hours(("23:00", "07:00"), "Europe/Berlin", moment) is quiet
    assert in_quiet_hours(None, "Europe/Berlin", moment) is False


def test_quiet_hours_within_a_day_and_their_end() -> None:
    assert in_quiet_hours(("13:00", "14:00"), "UTC", utc(2026, 12, 6, 13, 30))
    assert not in_quiet_hours(("13:00", "14:00"), "UTC", utc(2026, 12, 6, 14, 30))
    end = quiet_hours_end(("23:00", "07:00"), "Europe/Berlin", utc(2026, 12, 6, 23, 0))
    assert end == utc(2026, 12, 7, 6, 0)  # 07:00 in Berlin (UTC+1)
