"""What digests say in words: titles, headings, labels, and times in a chat's zone.

Every piece of digest text a reader sees is here, as a constant or a small
function, so it can move into a translation catalogue in one place. Times are
24-hour and independent of the process locale. All functions are pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

DIGEST_TITLE = "Your news digest"
INSTANT_TITLE = "⚡ Just in"
UPDATES_HEADING = "Updates"
SOURCE_FALLBACK = "source"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
YESTERDAY = "yesterday"
# Within this many days before today an item's time shows with its weekday ("Mon 18:05").
WEEKDAY_RANGE_DAYS = 6


def welcome_title(topic_names: Sequence[str]) -> str:
    """The title of the digest sent right after subscribing."""
    return f"👋 Welcome digest: the last 24 hours of {and_list(topic_names)}"


def welcome_footer(next_digest: str | None, mode: str) -> str:
    """The welcome digest's last line: what comes next and when (``next_digest`` is
    already a local time, or None when no digest is scheduled)."""
    if mode == "instant":
        return "New stories come as soon as they arrive."
    if next_digest is None:
        return "Scheduled digests are off: /digest shows what is new any time."
    return f"Your next digest: {next_digest}. /digest shows what is new before then."


def next_digest_time(moment: datetime, tz: str) -> str:
    """A coming digest's time in its zone: "Thu 16 May 08:00" (a digest's header names
    the zone once, so its lines do not)."""
    return header_time(moment, ZoneInfo(tz))


def continued(heading: str) -> str:
    """The heading of a section that spills into the next message."""
    return f"{heading} (cont.)"


def more_in_topic(count: int, topic_name: str) -> str:
    """The "+K more" line or button of a section cut at its limit."""
    return f"+{count} more in {topic_name}"


def more_updates(count: int) -> str:
    """The line counting update lines left out."""
    return f"+{count_of(count, 'more update')}"


def count_of(count: int, noun: str, plural: str | None = None) -> str:
    """ "1 topic", "2 topics", "0 stories" (``plural`` when adding "s" is wrong)."""
    word = noun if count == 1 else (plural or f"{noun}s")
    return f"{count} {word}"


def also_covered_by(names: Sequence[str]) -> str:
    """Other outlets that reported the same story."""
    return f"also covered by {', '.join(names)}"


def more_title(topic_name: str) -> str:
    """The heading of the message a "+K more" button sends."""
    return f"More in {topic_name}"


def and_list(items: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


# ---- times ------------------------------------------------------------------------------


def item_time(moment: datetime, zone: ZoneInfo, now: datetime | None = None) -> str:
    """When an item was published, in ``zone``, relative to ``now`` when given:
    "18:05" today, "yesterday 18:05", "Mon 18:05" within the week, "15 Nov, 18:05"
    this year, "15 Nov 2018, 18:05" before. Without ``now``, always "15 Nov, 18:05".
    """
    local = moment.astimezone(zone)
    clock = f"{local:%H:%M}"
    if now is None:
        return f"{day_month(local)}, {clock}"
    today = now.astimezone(zone).date()
    days = (today - local.date()).days
    if days == 0:
        return clock
    if days == 1:
        return f"{YESTERDAY} {clock}"
    if 1 < days <= WEEKDAY_RANGE_DAYS:
        return f"{WEEKDAYS[local.weekday()]} {clock}"
    if local.year == today.year and days > 0:
        return f"{day_month(local)}, {clock}"
    return f"{day_month(local)} {local.year}, {clock}"


def day_month(day: date) -> str:
    """ "15 Nov"."""
    return f"{day.day} {MONTHS[day.month - 1]}"


def header_time(moment: datetime, zone: ZoneInfo) -> str:
    """A digest's own time in its header: "Wed 15 May 08:00"."""
    local = moment.astimezone(zone)
    return f"{WEEKDAYS[local.weekday()]} {day_month(local)} {local:%H:%M}"


def offset_label(tz: str, at: datetime | None = None) -> str:
    """The zone's UTC offset at ``at`` (default now): "UTC", "UTC+05:30", "UTC-05:00"."""
    moment = at or datetime.now(UTC)
    offset = moment.astimezone(ZoneInfo(tz)).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds()) // 60
    if minutes == 0:
        return "UTC"
    sign = "+" if minutes > 0 else "-"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{sign}{hours:02d}:{rest:02d}"


def zone_label(tz: str, at: datetime | None = None) -> str:
    """How a chat's zone is named to people: "UTC", "UTC-05:00" for a fixed offset
    (never the POSIX-inverted "Etc/GMT+5"), "Asia/Kolkata (UTC+05:30)" for a place;
    a name that is no zone as it is."""
    try:
        offset = offset_label(tz, at)
    except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
        return tz
    if tz in ("UTC", "Etc/UTC", "Etc/GMT", "GMT") or tz.startswith("Etc/"):
        return offset
    return f"{tz} ({offset})"
