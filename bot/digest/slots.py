"""When a chat's digests are due: local "HH:MM" times in its zone, as UTC instants.

Rules, all pure and DST-aware:

* a local time that does not exist on a day (the spring-forward gap) fires at
  the first valid instant after the gap, e.g. 02:30 in Europe/Berlin on the
  last Sunday of March fires at 03:00 CEST;
* a local time that happens twice (the fall-back overlap) fires once, at its
  first occurrence (``fold=0``);
* after downtime, all missed slots are coalesced into one delivery, see
  :func:`coalesce_missed`;
* ``days`` (weekday numbers, 0 = Monday; empty = every day) keeps only the slots
  of those local weekdays: "mon-fri 07:30" never fires on a Saturday.

Every datetime in and out is timezone-aware; results are in UTC.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.settings import validate_digest_time, validate_timezone

# Days around the reference date that are searched for slots. One day either
# side is enough for any UTC offset; the extra day covers a gap at midnight.
_DAY_OFFSETS = (-2, -1, 0, 1, 2)
_SLOT_KEY_FORMAT = "%Y-%m-%dT%H:%MZ"
# With weekdays, a whole week either side: a weekly slot is at most 7 days away.
_WEEK_OFFSETS = tuple(range(-9, 10))


def next_digest_at(
    times: Sequence[str], tz: str, after: datetime, days: Collection[int] = ()
) -> datetime:
    """The first slot strictly after ``after`` among local ``times`` in zone ``tz``,
    on the local weekdays ``days`` (all when empty).

    ``times`` are "HH:MM" strings in any order, repeats allowed. Raises
    ValueError for an empty or malformed ``times``, a weekday outside 0-6, an
    unknown zone or a naive ``after``.
    """
    _require_aware(after)
    later = [slot for slot in _slots_around(times, tz, after, days) if slot > after]
    return min(later)


def previous_slot_at_or_before(
    times: Sequence[str], tz: str, moment: datetime, days: Collection[int] = ()
) -> datetime:
    """The latest slot at or before ``moment`` (same rules as :func:`next_digest_at`)."""
    _require_aware(moment)
    earlier = [slot for slot in _slots_around(times, tz, moment, days) if slot <= moment]
    return max(earlier)


def slot_key(due_at: datetime) -> str:
    """A stable text key for a slot, e.g. "2026-11-27T02:30Z" (UTC, minute precision).

    Slots are whole minutes (times are "HH:MM" and zone offsets of the present
    era are whole minutes), so the key is unique per slot of a chat.
    """
    _require_aware(due_at)
    return due_at.astimezone(UTC).strftime(_SLOT_KEY_FORMAT)


def slot_time(key: str) -> datetime | None:
    """The UTC instant of a :func:`slot_key`, or None for other keys ("poll:7", "manual:...")."""
    try:
        return datetime.strptime(key, _SLOT_KEY_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def due_slot(next_digest_at: datetime | None, now: datetime) -> bool:
    """True when a chat's next digest is due at ``now`` (None means never)."""
    return next_digest_at is not None and next_digest_at <= now


def coalesce_missed(
    next_at: datetime, times: Sequence[str], tz: str, now: datetime, days: Collection[int] = ()
) -> tuple[datetime, datetime]:
    """Collapse slots missed while down into one: ``(slot to deliver now, following slot)``.

    The slot to deliver is the latest slot of the schedule at or before
    ``now``, but never earlier than ``next_at`` (which may come from an older
    schedule the chat has since changed). The following slot is strictly after
    ``now``. Raises ValueError when ``next_at`` is not due yet.
    """
    _require_aware(next_at)
    if not due_slot(next_at, now):
        raise ValueError(f"slot {slot_key(next_at)} is not due at {now.isoformat()}")
    deliver = max(previous_slot_at_or_before(times, tz, now, days), next_at.astimezone(UTC))
    return deliver, next_digest_at(times, tz, now, days)


def local_slot(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of local wall time ``at`` on ``day`` in ``zone``.

    A time in a DST gap becomes the end of the gap; a repeated time its first
    occurrence.
    """
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == wall:
        return first
    return _gap_end(wall, zone)


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The transition instant that skips over the non-existent local time ``wall``.

    Per PEP 495, in a gap fold=1 applies the offset after the transition and
    fold=0 the one before, so the transition lies between the two readings;
    bisect on whole seconds until the offset changes.
    """
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)  # before the transition
    high = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)  # after it
    offset_before = low.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle.astimezone(zone).utcoffset() == offset_before:
            low = middle
        else:
            high = middle
    return high


def _slots_around(
    times: Sequence[str], tz: str, moment: datetime, weekdays: Collection[int] = ()
) -> list[datetime]:
    zone = ZoneInfo(validate_timezone(tz))
    if any(not 0 <= day <= 6 for day in weekdays):
        raise ValueError(f"weekdays are 0 (Monday) to 6, not {sorted(weekdays)}")
    local_day = moment.astimezone(zone).date()
    offsets = _WEEK_OFFSETS if weekdays else _DAY_OFFSETS
    days = [local_day + timedelta(days=offset) for offset in offsets]
    if weekdays:
        days = [day for day in days if day.weekday() in weekdays]
    return [local_slot(day, at, zone) for day in days for at in _parse_times(times)]


def in_quiet_hours(quiet: tuple[str, str] | None, tz: str, moment: datetime) -> bool:
    """True when local ``moment`` falls within quiet hours ("23:00", "07:00"): from the
    start (included) to the end (excluded), across midnight when the end is earlier."""
    if quiet is None:
        return False
    start, end = (time.fromisoformat(validate_digest_time(value)) for value in quiet)
    local = moment.astimezone(ZoneInfo(validate_timezone(tz))).time().replace(tzinfo=None)
    if start <= end:
        return start <= local < end
    return local >= start or local < end


def quiet_hours_end(quiet: tuple[str, str], tz: str, moment: datetime) -> datetime:
    """The first end of the quiet hours after ``moment`` (UTC): when held stories go."""
    return next_digest_at([quiet[1]], tz, moment)


def _parse_times(times: Iterable[str]) -> list[time]:
    parsed = {time.fromisoformat(validate_digest_time(value)) for value in times}
    if not parsed:
        raise ValueError("a schedule needs at least one HH:MM time")
    return sorted(parsed)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}; pass an aware UTC datetime")
