"""Reading ``/schedule`` arguments: digest times of day, or "instant", or "off".

Pure functions. Bad input raises :class:`~bot.chat.parsing.ChatInputError` whose
message is the reply to send, already safe for Telegram HTML.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.chat import texts
from bot.chat.parsing import ChatInputError
from bot.store.records import ChatMode

MAX_DIGEST_TIMES = 12
_MAX_SCHEDULE_TOKENS = 3 * MAX_DIGEST_TIMES

_INSTANT_WORDS = frozenset({"instant", "instantly", "live", "realtime", "real-time"})
_OFF_WORDS = frozenset({"off", "none", "never", "no"})
_HOUR_MINUTE = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?(am|pm)?$")
_FOUR_DIGITS = re.compile(r"^(\d{2})(\d{2})$")
_NAMED_TIMES = {"noon": "12:00", "midday": "12:00", "midnight": "00:00"}


@dataclass(frozen=True, slots=True)
class ScheduleChoice:
    """What ``/schedule`` asked for; ``times`` are sorted unique "HH:MM" (only when scheduled)."""

    mode: ChatMode
    times: tuple[str, ...] = ()


def parse_schedule(args: Sequence[str]) -> ScheduleChoice:
    """Read ``/schedule`` arguments: several times, or "instant", or "off".

    Times may be written 8:00, 08:00, 20:30, 20h30, 8am, 8:30 p.m., 0830 (four
    digits), a bare hour (7 = 07:00, 24-hour), noon or midnight; digits of any
    script count. Anything else raises ChatInputError with an example.
    """
    tokens = _schedule_tokens(args)
    if not tokens:
        raise ChatInputError(texts.schedule_usage())
    if len(tokens) == 1 and tokens[0] in _INSTANT_WORDS:
        return ScheduleChoice("instant")
    if len(tokens) == 1 and tokens[0] in _OFF_WORDS:
        return ScheduleChoice("off")
    if len(tokens) > _MAX_SCHEDULE_TOKENS:
        raise ChatInputError(texts.too_many_times(MAX_DIGEST_TIMES))
    times = sorted({_parse_time(token) for token in tokens})
    if len(times) > MAX_DIGEST_TIMES:
        raise ChatInputError(texts.too_many_times(MAX_DIGEST_TIMES))
    return ScheduleChoice("scheduled", tuple(times))


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
        raise ChatInputError(texts.bad_time(token))
    hour = _to_24_hour(hour, suffix, token)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise ChatInputError(texts.bad_time(token))
    return f"{hour:02d}:{minute:02d}"


def _to_24_hour(hour: int, suffix: str | None, token: str) -> int:
    if suffix is None:
        return hour
    if not 1 <= hour <= 12:
        raise ChatInputError(texts.bad_time(token))
    return hour % 12 + (12 if suffix == "pm" else 0)
