"""Reading what people type into commands: topics, times, time zones, filter words.

Pure functions (the zone list is read once from the installed tzdata and cached).
Bad input raises :class:`ChatInputError` whose message is the reply to send,
already safe for Telegram HTML (user text in it is escaped).
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Literal
from zoneinfo import available_timezones

from bot.chat import texts
from bot.errors import NewsbotError
from bot.settings import TopicConfig

MAX_DIGEST_TIMES = 12
MAX_FILTER_WORDS = 20
MAX_FILTER_WORD_CHARS = 40
MAX_TOPIC_ARG_CHARS = 1000
MAX_INPUT_CHARS = 4096
_MAX_TZ_CHARS = 64
_MAX_SCHEDULE_TOKENS = 3 * MAX_DIGEST_TIMES

ScheduleMode = Literal["scheduled", "instant", "off"]
FilterAction = Literal["include", "exclude", "clear"]


class ChatInputError(NewsbotError):
    """The user typed something we cannot use; ``reply`` is the friendly answer (HTML)."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        super().__init__(reply)


# --- topics -----------------------------------------------------------------

_TOPIC_SEPARATORS = re.compile(r"[\s\-_&/.+]+")
_LIST_SEPARATORS = re.compile(r"[,;\n]+")
# Symbols (emoji) and format marks (RTL marks, joiners); variation selectors too.
_IGNORED_CATEGORIES = frozenset({"So", "Sk", "Cf"})
_VARIATION_SELECTORS = range(0xFE00, 0xFE10)


@dataclass(frozen=True, slots=True)
class TopicMatch:
    """Topics a command argument named, and the parts that named none (as typed)."""

    found: tuple[TopicConfig, ...]
    unknown: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _TopicIndex:
    """Normalized labels (id, name, aliases) of a catalogue, built once per lookup."""

    exact: dict[str, TopicConfig]
    compact: dict[str, TopicConfig]
    longest_words: int

    @classmethod
    def of(cls, topics: Sequence[TopicConfig]) -> _TopicIndex:
        exact: dict[str, TopicConfig] = {}
        compact: dict[str, TopicConfig] = {}
        for topic in topics:
            for label in _topic_labels(topic):
                exact.setdefault(label, topic)
                compact.setdefault(label.replace(" ", ""), topic)
        longest = max((len(label.split()) for label in exact), default=1)
        return cls(exact, compact, longest)

    def find(self, text: str) -> TopicConfig | None:
        key = normalize_topic_text(text)
        if not key:
            return None
        return self.exact.get(key) or self.compact.get(key.replace(" ", ""))


@lru_cache(maxsize=2048)
def normalize_topic_text(s: str) -> str:
    """Fold case, accents, ``-``/``_``/``&`` and runs of spaces: "World-News" -> "world news".

    The word "and" is dropped so "Science & Tech", "science and tech" and
    "science-tech" all read the same; emoji and invisible marks are ignored.
    """
    folded = _strip_accents(s).casefold().strip().lstrip("#")
    words = [w for w in _TOPIC_SEPARATORS.split(folded) if w]
    meaningful = [w for w in words if w != "and"]
    return " ".join(meaningful or words)


def match_topic(text: str, topics: Sequence[TopicConfig]) -> TopicConfig | None:
    """The topic whose id, name or an alias reads like ``text``, or None."""
    return _TopicIndex.of(topics).find(text)


def match_topics(arg: str, topics: Sequence[TopicConfig]) -> TopicMatch:
    """Split a ``/subscribe`` argument into topics it names and parts it does not.

    The whole argument is tried first ("world news" is one topic), then each
    comma-separated part, then runs of words inside a part ("world sport").
    Results keep the typed order, without repeats.
    """
    arg = _cut_at_word(arg.strip(), MAX_TOPIC_ARG_CHARS)
    index = _TopicIndex.of(topics)
    whole = index.find(arg)
    if whole is not None:
        return TopicMatch((whole,), ())
    found: list[TopicConfig] = []
    unknown: list[str] = []
    for part in _LIST_SEPARATORS.split(arg):
        part_found, part_unknown = _match_part(part.strip(), index)
        found.extend(part_found)
        unknown.extend(part_unknown)
    return TopicMatch(_unique_topics(found), tuple(dict.fromkeys(unknown)))


def suggest_topics(text: str, topics: Sequence[TopicConfig], n: int = 3) -> list[TopicConfig]:
    """Up to ``n`` topics that look like ``text``, best first (for "Did you mean ...?")."""
    key = normalize_topic_text(text[:64])
    if not key or n <= 0:
        return []
    scored = [(_similarity(key, topic), index, topic) for index, topic in enumerate(topics)]
    good = [item for item in scored if item[0] >= 0.6]
    good.sort(key=lambda item: (-item[0], item[1]))
    return [topic for _, _, topic in good[:n]]


def wants_all(arg: str) -> bool:
    """True when an ``/unsubscribe`` argument means every topic ("all", "ALL", "everything")."""
    return normalize_topic_text(arg[:64]) in {"all", "everything", "all topics"}


def _cut_at_word(text: str, limit: int) -> str:
    """``text`` shortened to ``limit`` characters without splitting a word."""
    if len(text) <= limit:
        return text
    head = text[: limit + 1]
    cut = max(head.rfind(" "), head.rfind(","))
    return head[:cut] if cut > 0 else head[:limit]


def _match_part(part: str, index: _TopicIndex) -> tuple[list[TopicConfig], list[str]]:
    if not part:
        return [], []
    topic = index.find(part)
    if topic is not None:
        return [topic], []
    found, unknown = _segment_words(part.split(), index)
    return (found, unknown) if found else ([], [part])


def _segment_words(words: list[str], index: _TopicIndex) -> tuple[list[TopicConfig], list[str]]:
    """Greedy longest match of word runs against topics; unmatched runs are kept together."""
    found: list[TopicConfig] = []
    unknown: list[str] = []
    pending: list[str] = []
    i = 0
    while i < len(words):
        end, topic = _longest_match_at(words, i, index)
        if topic is None:
            pending.append(words[i])
            i += 1
            continue
        if pending:
            unknown.append(" ".join(pending))
            pending = []
        found.append(topic)
        i = end
    if pending:
        unknown.append(" ".join(pending))
    return found, unknown


def _longest_match_at(
    words: list[str], start: int, index: _TopicIndex
) -> tuple[int, TopicConfig | None]:
    # Slack of 2 words: typed "&" or "and" vanish in normalization.
    for end in range(min(len(words), start + index.longest_words + 2), start, -1):
        topic = index.find(" ".join(words[start:end]))
        if topic is not None:
            return end, topic
    return start, None


def _topic_labels(topic: TopicConfig) -> list[str]:
    labels = (topic.id, topic.name, *topic.aliases)
    return [label for label in (normalize_topic_text(x) for x in labels) if label]


def _similarity(key: str, topic: TopicConfig) -> float:
    best = 0.0
    for label in _topic_labels(topic):
        ratio = difflib.SequenceMatcher(None, key, label).ratio()
        if len(key) >= 3 and (label.startswith(key) or key in label.split()):
            ratio = max(ratio, 0.8)
        best = max(best, ratio)
    return best


def _unique_topics(topics: Iterable[TopicConfig]) -> tuple[TopicConfig, ...]:
    unique: dict[str, TopicConfig] = {}
    for topic in topics:
        unique.setdefault(topic.id, topic)
    return tuple(unique.values())


def _strip_accents(s: str) -> str:
    """Drop accents, emoji and invisible marks (e.g. RTL marks) so look-alikes compare equal."""
    decomposed = unicodedata.normalize("NFKD", s)
    return "".join(c for c in decomposed if not _is_ignorable(c))


def _is_ignorable(c: str) -> bool:
    if unicodedata.combining(c) or ord(c) in _VARIATION_SELECTORS:
        return True
    return unicodedata.category(c) in _IGNORED_CATEGORIES


# --- schedule ---------------------------------------------------------------

_INSTANT_WORDS = frozenset({"instant", "instantly", "live", "realtime", "real-time"})
_OFF_WORDS = frozenset({"off", "none", "never", "no"})
_HOUR_MINUTE = re.compile(r"^(\d{1,2})(?:[:.h](\d{2}))?(am|pm)?$")
_FOUR_DIGITS = re.compile(r"^(\d{2})(\d{2})$")
_NAMED_TIMES = {"noon": "12:00", "midday": "12:00", "midnight": "00:00"}


@dataclass(frozen=True, slots=True)
class ScheduleChoice:
    """What ``/schedule`` asked for; ``times`` are sorted unique "HH:MM" (only when scheduled)."""

    mode: ScheduleMode
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


# --- time zones -------------------------------------------------------------

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
        raise ChatInputError(texts.bad_timezone(raw[:_MAX_TZ_CHARS], None))
    key = raw.casefold().replace("\u2212", "-")
    zone = _zone_from_utc_words(key) or _zone_from_offset(key, raw) or _zone_from_name(key)
    if zone is None:
        raise ChatInputError(texts.bad_timezone(raw, _closest_place(key)))
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
        raise ChatInputError(texts.bad_offset(raw))
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
    folded = re.sub(r"['’`]", "", _strip_accents(text).casefold())
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


# --- filters ----------------------------------------------------------------

_QUOTED_OR_WORD = re.compile(r"[\"“”„«»]([^\"“”„«»]*)[\"“”„«»]?|([^\s,\"“”„«»]+)")
_EDGE_PUNCTUATION = ".,;:!?()[]{}'`"


@dataclass(frozen=True, slots=True)
class FilterChoice:
    """What ``/filter`` asked for: include or exclude these words, or clear both lists."""

    action: FilterAction
    words: tuple[str, ...] = ()


def parse_filter(text: str) -> FilterChoice:
    """Read ``/filter include <words> | exclude <words> | clear``."""
    action, rest = (*text.split(maxsplit=1), "", "")[:2]
    action = action.casefold()
    if action in {"clear", "reset", "off"} and not rest.strip():
        return FilterChoice("clear")
    if action in {"include", "only"}:
        return FilterChoice("include", parse_filter_words(rest))
    if action in {"exclude", "skip", "mute"}:
        return FilterChoice("exclude", parse_filter_words(rest))
    raise ChatInputError(texts.filter_usage())


def parse_filter_words(text: str) -> tuple[str, ...]:
    """Words and "quoted phrases", lower-cased, without repeats, in typed order."""
    if len(text) > MAX_INPUT_CHARS:
        raise ChatInputError(texts.TOO_LONG_INPUT)
    words: list[str] = []
    for match in _QUOTED_OR_WORD.finditer(text):
        word = " ".join((match[1] if match[1] is not None else match[2]).split())
        word = word.strip(_EDGE_PUNCTUATION).lower()
        if len(word) > MAX_FILTER_WORD_CHARS:
            raise ChatInputError(texts.word_too_long(word, MAX_FILTER_WORD_CHARS))
        if word:
            words.append(word)
    unique = tuple(dict.fromkeys(words))
    if not unique:
        raise ChatInputError(texts.filter_usage())
    if len(unique) > MAX_FILTER_WORDS:
        raise ChatInputError(texts.too_many_words(MAX_FILTER_WORDS))
    return unique


# --- commands ---------------------------------------------------------------

_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@([A-Za-z0-9_]+))?(?:\s+(.*))?$", re.DOTALL)


def parse_command_args(text: str) -> tuple[str, str]:
    """Split "/cmd@BotName rest" into ("cmd", "rest"); text that is no command -> ("", text)."""
    stripped = text.strip()
    match = _COMMAND.match(stripped)
    if match is None:
        return "", stripped
    return match[1].lower(), (match[3] or "").strip()
