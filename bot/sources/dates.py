"""Dates as real feeds send them, turned into timezone-aware UTC.

Order of attempts, strictest first: ISO 8601 / RFC 3339, then a
textual "day month year time [AM/PM] [zone]" reader that knows English,
Italian, German, French, Spanish, Portuguese and Dutch month names, then
RFC 822 via the standard library, and dateparser last (slow, but it knows
many languages). Nothing here raises on bad input: garbage gives None.

dateparser costs 1-250 ms a string and more than a second for some garbage,
so it is bounded twice: a string with the shape of a strict format whose
fields are impossible (``2007-13-39T25:61:61Z``) is no date and never reaches
it, and within :func:`dateparser_budget` (one feed) it is called at most
``DATEPARSER_CALLS`` times and not again after ``DATEPARSER_MISSES`` strings it
could not read; the items left undated get the fetch time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from email.utils import parsedate_tz
from typing import Any
from zoneinfo import ZoneInfo

MAX_FUTURE = timedelta(days=1)
DATEPARSER_CALLS = 50  # per feed: 50 of its slowest real dates (~50 ms) cost 2.5 s
DATEPARSER_MISSES = 3  # per feed: a feed whose dates dateparser cannot read stops trying
_MIN_YEAR, _MAX_YEAR = 1970, 2200

_MONTH_NAMES: dict[int, tuple[str, ...]] = {
    1: ("jan", "january", "gennaio", "gen", "januar", "jänner", "janvier", "janv", "enero",
        "ene", "janeiro", "januari"),
    2: ("feb", "february", "febbraio", "februar", "février", "fevrier", "févr", "fevr",
        "febrero", "fevereiro", "fev", "februari"),
    3: ("mar", "march", "marzo", "märz", "maerz", "mär", "mrz", "mars", "março", "marco",
        "maart", "mrt"),
    4: ("apr", "april", "aprile", "avril", "avr", "abril", "abr"),
    5: ("may", "maggio", "mag", "mai", "mayo", "maio", "mei"),
    6: ("jun", "june", "giugno", "giu", "juni", "juin", "junio", "junho"),
    7: ("jul", "july", "luglio", "lug", "juli", "juillet", "juil", "julio", "julho"),
    8: ("aug", "august", "agosto", "ago", "août", "aout", "augustus"),
    9: ("sep", "sept", "september", "settembre", "set", "septembre", "septiembre",
        "setiembre", "setembro"),
    10: ("oct", "october", "ottobre", "ott", "oktober", "okt", "octobre", "octubre",
         "outubro", "out"),
    11: ("nov", "november", "novembre", "noviembre", "novembro"),
    12: ("dec", "december", "dicembre", "dic", "dezember", "dez", "décembre", "decembre",
         "déc", "diciembre", "dezembro"),
}  # fmt: skip
_MONTHS = {name: number for number, names in _MONTH_NAMES.items() for name in names}

_ZONE_HOURS = {
    "UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0, "WEST": 1, "BST": 1, "CET": 1, "MET": 1,
    "CEST": 2, "MEST": 2, "MESZ": 2, "MEZ": 1, "EET": 2, "EEST": 3, "MSK": 3, "IST": 5.5,
    "PKT": 5, "SGT": 8, "HKT": 8, "AWST": 8, "JST": 9, "KST": 9, "ACST": 9.5, "AEST": 10,
    "AEDT": 11, "NZST": 12, "NZDT": 13, "AST": -4, "ADT": -3, "EST": -5, "EDT": -4,
    "CST": -6, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7, "AKST": -9,
    "AKDT": -8, "HST": -10,
}  # fmt: skip

# "Thursday, November 15, 2018 04:12 PM +0530", "Sat, Dec 16 2023 02:02:33 PM",
# "mer, 16 nov 2022 00:38:15 +0100", "16. Dezember 2023, 14:02 Uhr", "15th November 2018".
_TEXTUAL_RE = re.compile(
    r"^(?:[^\W\d_]+\.?,?\s+)?"
    r"(?:(?P<d1>\d{1,2})(?:st|nd|rd|th|er|º)?\.?\s+(?P<m1>[^\W\d_]+)\.?,?\s+(?P<y1>\d{4}|\d{2})"
    r"|(?P<m2>[^\W\d_]+)\.?\s+(?P<d2>\d{1,2})(?:st|nd|rd|th)?,?\s+(?P<y2>\d{4}))"
    r"(?:,?\s+(?:at\s+|um\s+|à\s+|alle\s+|ore\s+|a las\s+|-\s+)?"
    r"(?P<H>\d{1,2})[:.h](?P<M>\d{2})(?:[:.](?P<S>\d{2})(?:[.,]\d+)?)?"
    r"\s*(?P<ampm>[AaPp]\.?[Mm]\.?)?(?:\s*(?:uhr|h))?)?"
    r"(?:\s*(?P<tz>[+-]\d{2}:?\d{2}|[+-]\d{1,2}|[A-Za-z]{1,5}(?:[+-]\d{1,2}(?::?\d{2})?)?))?"
    r"\s*$",
    re.IGNORECASE,
)
_CONNECTOR_RE = re.compile(r"\s+(?:de|del|di|of)\s+", re.IGNORECASE)
_OFFSET_RE = re.compile(r"^(?P<name>[A-Za-z]{0,5})(?P<sign>[+-])(?P<h>\d{1,2}):?(?P<m>\d{2})?$")


def _as_utc(value: datetime, default_tz: tzinfo) -> datetime | None:
    """Attach default_tz to naive values, convert to UTC, reject absurd years."""
    if not _MIN_YEAR <= value.year <= _MAX_YEAR:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=default_tz)
    try:
        return value.astimezone(UTC)
    except (OverflowError, ValueError):
        return None


class _Malformed(Exception):
    """A strict parser knew the string's shape but its fields are impossible: no date."""


@dataclass(slots=True)
class _DateparserBudget:
    calls: int = DATEPARSER_CALLS
    misses: int = DATEPARSER_MISSES


_budget: ContextVar[_DateparserBudget | None] = ContextVar("dateparser_budget", default=None)


@contextmanager
def dateparser_budget() -> Iterator[None]:
    """Within this block (one feed's items), dateparser is called at most
    ``DATEPARSER_CALLS`` times and not after ``DATEPARSER_MISSES`` strings it could not read.
    """
    token = _budget.set(_DateparserBudget())
    try:
        yield
    finally:
        _budget.reset(token)


# ISO 8601 with the separators and zones feeds use: "2023-12-16 14:02:33.5 GMT".
_ISO_SHAPE_RE = re.compile(
    r"^(?P<y>\d{4})-?(?P<mo>\d{2})-?(?P<d>\d{2})"
    r"(?:[Tt ](?P<H>\d{2}):?(?P<M>\d{2})(?::?(?P<S>\d{2})(?:[.,](?P<f>\d{1,9}))?)?)?"
    r"\s*(?P<tz>[Zz]|[+-]\d{2}:?\d{2}|[+-]\d{2}|[A-Za-z]{2,5})?$"
)


def _parse_iso(text: str) -> datetime | None:
    if not re.match(r"^\d{4}-?\d{2}-?\d{2}(?:$|[Tt ])", text):
        return None
    candidate = text.replace(" ", "T", 1) if re.match(r"^\S+ \d", text) else text
    candidate = re.sub(r"(?i)z$", "+00:00", candidate.replace("t", "T"))
    try:
        return datetime.fromisoformat(candidate)
    except ValueError:
        return _parse_iso_shape(text)


def _parse_iso_shape(text: str) -> datetime | None:
    """ISO forms ``fromisoformat`` refuses; raises _Malformed for impossible fields."""
    match = _ISO_SHAPE_RE.match(text)
    if not match:
        return None  # something after the date we do not know: dateparser may
    parts = match.groupdict()
    tz = _zone(parts["tz"])
    if parts["tz"] and tz is None:
        return None  # an unknown zone name
    fraction = (parts["f"] or "0")[:6].ljust(6, "0")
    try:
        return datetime(
            int(parts["y"]), int(parts["mo"]), int(parts["d"]), int(parts["H"] or 0),
            int(parts["M"] or 0), int(parts["S"] or 0), int(fraction), tzinfo=tz,
        )  # fmt: skip
    except ValueError as err:
        raise _Malformed(text) from err


def _zone(token: str | None) -> tzinfo | None:
    """A fixed-offset zone from "+0530", "+05:30", "-7", "GMT+5:30" or a known abbreviation."""
    if not token:
        return None
    upper = token.upper()
    if upper in _ZONE_HOURS:
        return timezone(timedelta(hours=_ZONE_HOURS[upper]))
    match = _OFFSET_RE.match(token)
    if not match or match.group("name").upper() not in ("", "UTC", "GMT", "UT"):
        return None
    minutes = int(match.group("h")) * 60 + int(match.group("m") or 0)
    if minutes >= 24 * 60:
        return None
    return timezone(timedelta(minutes=-minutes if match.group("sign") == "-" else minutes))


def _hour_24(hour: int, ampm: str | None) -> int:
    if not ampm:
        return hour
    is_pm = ampm.lower().startswith("p")
    return (hour % 12) + (12 if is_pm else 0)


def _parse_textual(text: str) -> datetime | None:
    match = _TEXTUAL_RE.match(_CONNECTOR_RE.sub(" ", text))
    if not match:
        return None
    parts = match.groupdict()
    month = _MONTHS.get((parts["m1"] or parts["m2"]).lower().rstrip("."))
    if month is None:
        return None
    year = int(parts["y1"] or parts["y2"])
    year += (2000 if year < 70 else 1900) if year < 100 else 0
    hour = int(parts["H"] or 0)
    if parts["ampm"] and not 1 <= hour <= 12:
        raise _Malformed(text)
    tz = _zone(parts["tz"])  # an unknown zone name leaves the time local to the source
    try:
        return datetime(
            year, month, int(parts["d1"] or parts["d2"]), _hour_24(hour, parts["ampm"]),
            int(parts["M"] or 0), int(parts["S"] or 0), tzinfo=tz,
        )  # fmt: skip
    except ValueError as err:
        raise _Malformed(text) from err


def _parse_rfc822(text: str) -> datetime | None:
    if re.search(r"\d\s*[AaPp]\.?[Mm]\b", text):
        return None  # the stdlib ignores AM/PM and would be 12 hours off
    try:
        fields = parsedate_tz(text)
    except (TypeError, ValueError, IndexError):
        return None
    if not fields:
        return None
    try:
        value = datetime(*fields[:6])
    except (TypeError, ValueError) as err:
        raise _Malformed(text) from err  # it read the names: only the numbers are wrong
    offset = fields[9]
    if offset is None:
        return value
    return value.replace(tzinfo=timezone(timedelta(seconds=offset)))


def _dateparser_settings(default_tz: tzinfo) -> dict[str, Any]:
    name = default_tz.key if isinstance(default_tz, ZoneInfo) else "UTC"
    return {
        "PARSERS": ["absolute-time", "custom-formats"],  # no "2 hours ago" relative to now
        "RETURN_AS_TIMEZONE_AWARE": True,
        "TIMEZONE": name,
        "REQUIRE_PARTS": ["day", "month", "year"],
    }


def _parse_with_dateparser(text: str, default_tz: tzinfo) -> datetime | None:
    """Slow multilingual fallback, within the budget; imported lazily so start-up stays quick."""
    if not re.search(r"\d", text) or len(text) > 80:
        return None
    budget = _budget.get()
    if budget is not None:
        if budget.calls <= 0 or budget.misses <= 0:
            return None
        budget.calls -= 1
    try:
        import dateparser

        value = dateparser.parse(text, settings=_dateparser_settings(default_tz))
    except Exception:  # dateparser raises many types on odd input; a bad date is just None
        value = None
    if value is None and budget is not None:
        budget.misses -= 1
    return value


def parse_date(raw: str | None, *, default_tz: tzinfo = UTC) -> datetime | None:
    """Parse a feed's date string into aware UTC, or None when it is not a date.

    Naive times are read in ``default_tz`` (a source may declare its zone).
    Handles RFC 822/1123 and variants, ISO 8601/RFC 3339, 12-hour clocks
    ("04:12 PM +0530"), and month names in several languages. Never raises.
    """
    if not raw or not isinstance(raw, str):
        return None
    text = " ".join(raw.split())
    if not text:
        return None
    try:
        for parser in (_parse_iso, _parse_textual, _parse_rfc822):
            value = parser(text)
            if value is not None:
                return _as_utc(value, default_tz)
        value = _parse_with_dateparser(text, default_tz)
        return _as_utc(value, default_tz) if value is not None else None
    except _Malformed:
        return None  # a strict format's shape with impossible fields: dateparser would say so
    except (ValueError, OverflowError):
        # An impossible field (e.g. a zone offset of a day or more) makes it no date.
        return None


def clamp_future(published: datetime | None, fetched_at: datetime) -> datetime:
    """The date to store: ``fetched_at`` when there is none or it lies more than a day ahead."""
    if published is None or published - fetched_at > MAX_FUTURE:
        return fetched_at
    return published
