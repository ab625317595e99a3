"""What digests say in words: titles, headings, labels, and times in a chat's zone.

Every piece of digest text a reader sees is here, as a constant (a msgid marked
with ``N_``, translated with :func:`bot.language.tr`) or a small function of the
chat's language ``lang``. Dates and times are formatted by Babel in that
language (24-hour, independent of the process locale). All functions are pure:
the language is passed in, never read from anywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, get_day_names

from bot.language import DEFAULT_LANGUAGE, N_, ntr, tr

DIGEST_TITLE = N_("Your news digest")
INSTANT_TITLE = N_("⚡ Just in")
UPDATES_HEADING = N_("Updates")
SOURCE_FALLBACK = N_("source")
# Within this many days before today an item's time shows with its weekday ("Mon 18:05").
WEEKDAY_RANGE_DAYS = 6
# Babel date patterns (CLDR): the same layout in every language, the words in the chat's.
HEADER_PATTERN = "EEE d MMM HH:mm"
WEEKDAY_PATTERN = "EEE HH:mm"
DAY_MONTH_PATTERN = "d MMM"
THIS_YEAR_PATTERN = "d MMM, HH:mm"
OTHER_YEAR_PATTERN = "d MMM y, HH:mm"


def welcome_title(topic_names: Sequence[str], lang: str = DEFAULT_LANGUAGE) -> str:
    """The title of the digest sent right after subscribing."""
    names = and_list(topic_names, lang)
    return tr(lang, "👋 Welcome digest: the last 24 hours of {names}").format(names=names)


def welcome_footer(next_digest: str | None, mode: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The welcome digest's last line: what comes next and when (``next_digest`` is
    already a local time, or None when no digest is scheduled)."""
    if mode == "instant":
        return tr(lang, "New stories come as soon as they arrive.")
    if next_digest is None:
        return tr(lang, "Scheduled digests are off: /digest shows what is new any time.")
    text = tr(lang, "Your next digest: {when}. /digest shows what is new before then.")
    return text.format(when=next_digest)


def next_digest_time(moment: datetime, tz: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A coming digest's time in its zone: "Thu 16 May 08:00" (a digest's header names
    the zone once, so its lines do not)."""
    return header_time(moment, ZoneInfo(tz), lang)


def continued(heading: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The heading of a section that spills into the next message."""
    return tr(lang, "{heading} (cont.)").format(heading=heading)


def more_in_topic(count: int, topic_name: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The "+K more" line or button of a section cut at its limit."""
    text = ntr(lang, "+{n} more in {topic}", "+{n} more in {topic}", count)
    return text.format(n=count, topic=topic_name)


def more_updates(count: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """The line counting update lines left out."""
    return ntr(lang, "+{n} more update", "+{n} more updates", count).format(n=count)


def also_covered_by(names: Sequence[str], lang: str = DEFAULT_LANGUAGE) -> str:
    """Other outlets that reported the same story."""
    return tr(lang, "also covered by {names}").format(names=", ".join(names))


def more_title(topic_name: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The heading of the message a "+K more" button sends."""
    return tr(lang, "More in {topic}").format(topic=topic_name)


def and_list(items: Sequence[str], lang: str = DEFAULT_LANGUAGE) -> str:
    """ "a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return tr(lang, "{items} and {last}").format(items=", ".join(items[:-1]), last=items[-1])


def or_list(items: Sequence[str], lang: str = DEFAULT_LANGUAGE) -> str:
    """ "a", "a or b", "a, b or c"."""
    if len(items) <= 1:
        return "".join(items)
    return tr(lang, "{items} or {last}").format(items=", ".join(items[:-1]), last=items[-1])


# ---- times ------------------------------------------------------------------------------


def item_time(
    moment: datetime, zone: ZoneInfo, now: datetime | None = None, lang: str = DEFAULT_LANGUAGE
) -> str:
    """When an item was published, in ``zone``, relative to ``now`` when given:
    "18:05" today, "yesterday 18:05", "Mon 18:05" within the week, "15 Nov, 18:05"
    this year, "15 Nov 2018, 18:05" before. Without ``now``, always "15 Nov, 18:05".
    """
    local = moment.astimezone(zone)
    if now is None:
        return format_datetime(local, THIS_YEAR_PATTERN, locale=lang)
    clock = f"{local:%H:%M}"
    today = now.astimezone(zone).date()
    days = (today - local.date()).days
    if days == 0:
        return clock
    if days == 1:
        return tr(lang, "yesterday {time}").format(time=clock)
    if 1 < days <= WEEKDAY_RANGE_DAYS:
        return format_datetime(local, WEEKDAY_PATTERN, locale=lang)
    if local.year == today.year and days > 0:
        return format_datetime(local, THIS_YEAR_PATTERN, locale=lang)
    return format_datetime(local, OTHER_YEAR_PATTERN, locale=lang)


def day_month(day: date, lang: str = DEFAULT_LANGUAGE) -> str:
    """ "15 Nov"."""
    return format_date(day, DAY_MONTH_PATTERN, locale=lang)


def header_time(moment: datetime, zone: ZoneInfo, lang: str = DEFAULT_LANGUAGE) -> str:
    """A digest's own time in its header: "Wed 15 May 08:00"."""
    return format_datetime(moment.astimezone(zone), HEADER_PATTERN, locale=lang)


def weekday_name(day: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """The short name of weekday ``day`` (0 = Monday): "Mon", "пн", "lun"."""
    return get_day_names("abbreviated", locale=lang)[day]


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
