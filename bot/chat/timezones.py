"""Reading what people type into ``/timezone``: IANA names, UTC offsets, city names.

Pure functions (the zone list is read once from the installed tzdata and cached).
Bad input raises :class:`~bot.chat.parsing.ChatInputError` whose message is the
reply to send, already safe for Telegram HTML (user text in it is escaped).
"""

from __future__ import annotations

import difflib
import re
from functools import cache, partial
from zoneinfo import available_timezones

from bot.chat import texts
from bot.chat.parsing import ChatInputError, strip_accents

_MAX_TZ_CHARS = 64

_ZONE_REGIONS = frozenset(
    {"Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia"}
    | {"Europe", "Indian", "Pacific"}
)
_HIDDEN_ZONES = frozenset({"Factory", "localtime", "posixrules"})
_OFFSET = re.compile(r"^(?:utc|gmt)?\s*([+-])\s*(\d{1,2})(?:(?::|\.|h)?(\d{2}))?$")
_UTC_WORDS = frozenset({"utc", "gmt", "z", "zulu", "utc0", "gmt0", "utc+0", "utc-0", "gmt+0"})

# Offsets that are not whole hours: one representative zone each.
_PARTIAL_HOUR_ZONES: dict[tuple[int, int], str] = {
    (5, 30): "Asia/Kolkata",
    (5, 45): "Asia/Kathmandu",
    (9, 30): "Australia/Darwin",
    (3, 30): "Asia/Tehran",
    (4, 30): "Asia/Kabul",
    (-3, 30): "America/St_Johns",
    (6, 30): "Asia/Yangon",
    (8, 45): "Australia/Eucla",
    (10, 30): "Australia/Lord_Howe",
    (12, 45): "Pacific/Chatham",
    (-9, 30): "Pacific/Marquesas",
}

# Big cities without a zone of their own, and common abbreviations people type.
_PLACE_ZONES: dict[str, str] = {
    "delhi": "Asia/Kolkata",
    "new delhi": "Asia/Kolkata",
    "mumbai": "Asia/Kolkata",
    "bombay": "Asia/Kolkata",
    "bangalore": "Asia/Kolkata",
    "bengaluru": "Asia/Kolkata",
    "chennai": "Asia/Kolkata",
    "hyderabad": "Asia/Kolkata",
    "pune": "Asia/Kolkata",
    "kochi": "Asia/Kolkata",
    "india": "Asia/Kolkata",
    "beijing": "Asia/Shanghai",
    "shenzhen": "Asia/Shanghai",
    "guangzhou": "Asia/Shanghai",
    "osaka": "Asia/Tokyo",
    "kyoto": "Asia/Tokyo",
    "san francisco": "America/Los_Angeles",
    "seattle": "America/Los_Angeles",
    "san diego": "America/Los_Angeles",
    "portland": "America/Los_Angeles",
    "washington": "America/New_York",
    "washington dc": "America/New_York",
    "boston": "America/New_York",
    "miami": "America/New_York",
    "philadelphia": "America/New_York",
    "atlanta": "America/New_York",
    "houston": "America/Chicago",
    "dallas": "America/Chicago",
    "austin": "America/Chicago",
    "munich": "Europe/Berlin",
    "frankfurt": "Europe/Berlin",
    "hamburg": "Europe/Berlin",
    "milan": "Europe/Rome",
    "barcelona": "Europe/Madrid",
    "geneva": "Europe/Zurich",
    "manchester": "Europe/London",
    "edinburgh": "Europe/London",
    "st petersburg": "Europe/Moscow",
    "saint petersburg": "Europe/Moscow",
    "abu dhabi": "Asia/Dubai",
    "melbourne": "Australia/Melbourne",
    "rio de janeiro": "America/Sao_Paulo",
    "rio": "America/Sao_Paulo",
    "istanbul": "Europe/Istanbul",
    "nicosia": "Asia/Nicosia",
    "est": "America/New_York",
    "edt": "America/New_York",
    "cst": "America/Chicago",
    "cdt": "America/Chicago",
    "mst": "America/Denver",
    "mdt": "America/Denver",
    "pst": "America/Los_Angeles",
    "pdt": "America/Los_Angeles",
    "ist": "Asia/Kolkata",
    "jst": "Asia/Tokyo",
    "msk": "Europe/Moscow",
    "bst": "Europe/London",
    "aest": "Australia/Sydney",
}


def parse_timezone(text: str) -> str:
    """An IANA zone name for what the user typed: an IANA name (any case), UTC/GMT,
    a UTC offset ("+05:30", "UTC+5", "-3", "GMT-03:00") or a well-known city ("Tokyo").

    Whole-hour offsets become ``Etc/GMT-5`` style zones (their sign is inverted
    by POSIX convention); other offsets become a representative zone.
    """
    raw = " ".join(text.split())
    if not raw or len(raw) > _MAX_TZ_CHARS:
        raise ChatInputError(partial(texts.bad_timezone, raw[:_MAX_TZ_CHARS], None))
    key = raw.casefold().replace("\u2212", "-")
    zone = _zone_from_utc_words(key) or _zone_from_offset(key, raw) or _zone_from_name(key)
    if zone is None:
        raise ChatInputError(partial(texts.bad_timezone, raw, _closest_place(key)))
    return zone


def _zone_from_utc_words(key: str) -> str | None:
    return "UTC" if key.replace(" ", "") in _UTC_WORDS else None


def _zone_from_offset(key: str, raw: str) -> str | None:
    match = _OFFSET.match(key)
    if match is None:
        return None
    sign = -1 if match[1] == "-" else 1
    hours, minutes = int(match[2]), int(match[3] or 0)
    if minutes == 0 and hours == 0:
        return "UTC"
    if minutes == 0 and (-12 <= sign * hours <= 14):
        # Etc/GMT-5 is five hours AHEAD of UTC: POSIX signs are inverted.
        return f"Etc/GMT{'-' if sign > 0 else '+'}{hours}"
    zone = _PARTIAL_HOUR_ZONES.get((sign * hours, minutes))
    if zone is None:
        raise ChatInputError(partial(texts.bad_offset, raw))
    return zone


def _zone_from_name(key: str) -> str | None:
    place = _place_key(key)
    if place in _PLACE_ZONES:
        return _PLACE_ZONES[place]
    iana = _iana_by_folded_name().get(key.replace(" ", "_"))
    if iana is not None:
        return iana
    return _zones_by_city().get(place)


def _closest_place(key: str) -> str | None:
    """The best-known place name that looks like ``key``, for "Did you mean ...?"."""
    names = list(_PLACE_ZONES) + list(_zones_by_city())
    close = difflib.get_close_matches(_place_key(key), names, n=1, cutoff=0.75)
    return close[0].title() if close else None


def _place_key(text: str) -> str:
    """Fold a place name: "São_Paulo" / "sao-paulo" / "St. Petersburg" -> "sao paulo" etc."""
    folded = re.sub(r"['’`]", "", strip_accents(text).casefold())
    return " ".join(re.split(r"[\s_\-.]+", folded)).strip()


@cache
def _iana_by_folded_name() -> dict[str, str]:
    zones = (z for z in available_timezones() if z not in _HIDDEN_ZONES)
    return {zone.casefold(): zone for zone in zones}


@cache
def _zones_by_city() -> dict[str, str]:
    """City part of each regional zone; on a clash the deeper (canonical) name wins."""
    regional = [z for z in available_timezones() if z.split("/")[0] in _ZONE_REGIONS]
    regional.sort(key=lambda zone: (-zone.count("/"), zone))
    cities: dict[str, str] = {}
    for zone in regional:
        cities.setdefault(_place_key(zone.rsplit("/", 1)[-1]), zone)
    return cities
