"""Reading ``/schedule`` arguments (digest days and times of day, or "instant", or
"off") and ``/quiet`` arguments (a span of two times, or "off").

Pure functions. Bad input raises :class:`~bot.chat.parsing.ChatInputError` whose
message is the reply to send, already safe for Telegram HTML.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from babel.dates import get_day_names

from bot.chat import texts
from bot.chat.parsing import ChatInputError, strip_accents
from bot.language import LANGUAGES
from bot.store.records import ChatMode

MAX_DIGEST_TIMES = 12
_MAX_SCHEDULE_TOKENS = 3 * MAX_DIGEST_TIMES

_INSTANT_WORDS = frozenset({"instant", "instantly", "live", "realtime", "real-time"})
_OFF_WORDS = frozenset({"off", "none", "never", "no"})
_HOUR_MINUTE = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?(am|pm)?$")
_FOUR_DIGITS = re.compile(r"^(\d{2})(\d{2})$")
_NAMED_TIMES = {"noon": "12:00", "midday": "12:00", "midnight": "00:00"}
_DAY_NAMES = (
    ("mon", "monday", "mo"),
    ("tue", "tues", "tuesday", "tu"),
    ("wed", "wednesday", "we"),
    ("thu", "thur", "thurs", "thursday", "th"),
    ("fri", "friday", "fr"),
    ("sat", "saturday", "sa"),
    ("sun", "sunday", "su"),
)


def _named_days() -> dict[str, int]:
    """Day names people type: the English ones above, and every language's short and long
    names from Babel ("пн", "понедельник", "lun", "miércoles", "miercoles")."""
    numbers = {name: number for number, names in enumerate(_DAY_NAMES) for name in names}
    for lang in LANGUAGES:
        for width in ("abbreviated", "wide"):
            for number, name in get_day_names(width, locale=lang).items():
                folded = name.casefold().rstrip(".")
                numbers.setdefault(folded, number)
                numbers.setdefault(strip_accents(folded), number)
    return numbers


_DAY_NUMBERS = _named_days()
_DAY_GROUPS = {
    "weekdays": (0, 1, 2, 3, 4),
    "workdays": (0, 1, 2, 3, 4),
    "weekends": (5, 6),
    "weekend": (5, 6),
    "daily": (),
    "everyday": (),
}
_DAY_RANGE = re.compile(r"^([^\W\d_]+)[-–]([^\W\d_]+)$")
_QUIET_SPAN = re.compile(r"^\s*(\S+?)\s*(?:-|–|—|to|until|\s)\s*(\S+)\s*$")


@dataclass(frozen=True, slots=True)
class ScheduleChoice:
    """What ``/schedule`` asked for; ``times`` are sorted unique "HH:MM" (only when scheduled;
    empty with ``days`` keeps the chat's times), ``days`` sorted weekdays (0 = Monday; empty =
    every day)."""

    mode: ChatMode
    times: tuple[str, ...] = ()
    days: tuple[int, ...] = ()


def parse_schedule(args: Sequence[str]) -> ScheduleChoice:
    """Read ``/schedule`` arguments: several times, or "instant", or "off".

    Times may be written 8:00, 08:00, 20:30, 20h30, 8am, 8:30 p.m., 0830 (four
    digits), a bare hour (7 = 07:00, 24-hour), noon or midnight; digits of any
    script count. Anything else raises ChatInputError with an example.
    """
    tokens = _schedule_tokens(args)
    if not tokens:
        raise ChatInputError(texts.schedule_usage)
    if len(tokens) == 1 and tokens[0] in _INSTANT_WORDS:
        return ScheduleChoice("instant")
    if len(tokens) == 1 and tokens[0] in _OFF_WORDS:
        return ScheduleChoice("off")
    if len(tokens) > _MAX_SCHEDULE_TOKENS:
        raise ChatInputError(partial(texts.too_many_times, MAX_DIGEST_TIMES))
    days: set[int] = set()
    day_tokens = 0
    while day_tokens < len(tokens) and _is_day(tokens[day_tokens]):
        days.update(_parse_days(tokens[day_tokens]))
        day_tokens += 1
    times = sorted({_parse_time(token) for token in tokens[day_tokens:]})
    if len(times) > MAX_DIGEST_TIMES:
        raise ChatInputError(partial(texts.too_many_times, MAX_DIGEST_TIMES))
    every_day = not days or len(days) == 7 or _names_every_day(tokens[:day_tokens])
    return ScheduleChoice("scheduled", tuple(times), () if every_day else tuple(sorted(days)))


def parse_quiet(text: str) -> tuple[str, str] | None:
    """Read ``/quiet 23:00-07:00`` (or "23-7", "23:00 to 07:00"); None for "off".

    Raises ChatInputError for anything else, or for a span that starts where it ends.
    """
    folded = text.casefold().strip()
    if not folded:
        raise ChatInputError(texts.quiet_usage)
    if folded in _OFF_WORDS or folded in {"clear", "none"}:
        return None
    match = _QUIET_SPAN.match(folded)
    if match is None:
        raise ChatInputError(partial(texts.bad_quiet, text))
    try:
        start, end = (_parse_time(_schedule_tokens([part])[0]) for part in match.groups())
    except (ChatInputError, IndexError) as err:
        raise ChatInputError(partial(texts.bad_quiet, text)) from err
    if start == end:
        raise ChatInputError(partial(texts.bad_quiet, text))
    return start, end


def _is_day(token: str) -> bool:
    """True when a token names days ("mon", "mon-fri", "weekdays")."""
    if token in _DAY_NUMBERS or token in _DAY_GROUPS:
        return True
    match = _DAY_RANGE.match(token)
    return match is not None and match[1] in _DAY_NUMBERS and match[2] in _DAY_NUMBERS


def _parse_days(token: str) -> tuple[int, ...]:
    """The weekdays a day token (one :func:`_is_day` accepts) names; a range wraps
    ("fri-mon" is Fri, Sat, Sun, Mon)."""
    if token in _DAY_GROUPS:
        return _DAY_GROUPS[token] or tuple(range(7))
    if token in _DAY_NUMBERS:
        return (_DAY_NUMBERS[token],)
    first, last = (_DAY_NUMBERS[name] for name in token.replace("–", "-").split("-"))
    return tuple((first + step) % 7 for step in range((last - first) % 7 + 1))


def _names_every_day(tokens: Sequence[str]) -> bool:
    return any(token in _DAY_GROUPS and not _DAY_GROUPS[token] for token in tokens)


def _schedule_tokens(args: Sequence[str]) -> list[str]:
    """Lower-case tokens with "a.m." made "am" and a lone "am"/"pm" glued to its time."""
    text = " ".join(args).casefold()
    text = re.sub(r"(?<![a-z])([ap])\.?m\.?(?![a-z])", r"\1m", text)
    tokens: list[str] = []
    for token in re.split(r"[\s,;]+", text):
        if token in {"am", "pm"} and tokens:
            tokens[-1] += token
        elif token:
            tokens.append(token)
    return tokens


def _parse_time(token: str) -> str:
    """One token as "HH:MM", or ChatInputError naming the token."""
    if token in _NAMED_TIMES:
        return _NAMED_TIMES[token]
    four = _FOUR_DIGITS.match(token)
    match = _HOUR_MINUTE.match(token)
    if four:
        hour, minute, suffix = int(four[1]), int(four[2]), None
    elif match:
        hour, minute, suffix = int(match[1]), int(match[2] or 0), match[3]
    else:
        raise ChatInputError(partial(texts.bad_time, token))
    hour = _to_24_hour(hour, suffix, token)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ChatInputError(partial(texts.bad_time, token))
    return f"{hour:02d}:{minute:02d}"


def _to_24_hour(hour: int, suffix: str | None, token: str) -> int:
    if suffix is None:
        return hour
    if not 1 <= hour <= 12:
        raise ChatInputError(partial(texts.bad_time, token))
    return hour % 12 + (12 if suffix == "pm" else 0)
