"""Reading what people type into commands: topics, filter words, command arguments.

Pure functions. Bad input raises :class:`ChatInputError` whose message is the
reply to send, already safe for Telegram HTML (user text in it is escaped).
Times of day are read in ``schedule_parsing``, time zones in ``timezones``.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Literal

from bot.chat import texts
from bot.errors import NewsbotError
from bot.language import DEFAULT_LANGUAGE, in_language
from bot.settings import TopicConfig

MAX_FILTER_WORDS = 20
MAX_FILTER_WORD_CHARS = 40
MAX_TOPIC_ARG_CHARS = 1000
MAX_INPUT_CHARS = 4096

FilterAction = Literal["include", "exclude", "clear"]


class ChatInputError(NewsbotError):
    """The user typed something we cannot use; ``say(lang)`` is the friendly answer (HTML)
    in the chat's language (``reply`` is the English one, for logs)."""

    def __init__(self, say: Callable[[str], str]) -> None:
        self.say = say
        self.reply = say(DEFAULT_LANGUAGE)
        super().__init__(self.reply)


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
        for form in _number_forms(key):  # "movie" finds "movies", "sports" finds "sport"
            found = self.exact.get(form) or self.compact.get(form.replace(" ", ""))
            if found is not None:
                return found
        return None


def _number_forms(key: str) -> tuple[str, ...]:
    """``key`` as typed, then its last word without or with a plural "s"."""
    if len(key) < 4:
        return (key,)
    return (key, key[:-1]) if key.endswith("s") else (key, f"{key}s")


def normalize_topic_text(s: str) -> str:
    """Fold case, accents, ``-``/``_``/``&`` and runs of spaces: "World-News" -> "world news".

    The word "and" is dropped so "Science & Tech", "science and tech" and
    "science-tech" all read the same; emoji and invisible marks are ignored.
    """
    folded = strip_accents(s).casefold().strip().lstrip("#")
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
    """Up to ``n`` topics that look like ``text``, best first (for "Did you mean ...?").

    Only plausible ones: a label spelled nearly the same ("sprot"), one that starts
    like a word typed ("footy": football), or one a typed word is a word of
    ("world cup": World news). "cinema" suggests nothing rather than Science.
    """
    key = normalize_topic_text(text[:64])
    if not key or n <= 0:
        return []
    scored = [(_similarity(key, topic), index, topic) for index, topic in enumerate(topics)]
    good = [item for item in scored if item[0] >= _PLAUSIBLE]
    good.sort(key=lambda item: (-item[0], item[1]))
    return [topic for _, _, topic in good[:n]]


def wants_all(arg: str) -> bool:
    """True when a ``/subscribe`` or ``/unsubscribe`` argument means every topic
    ("all", "ALL", "everything")."""
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


_PLAUSIBLE = (
    0.75  # spelling likeness of a suggestion ("sprot"/"sport" 0.8, "cinema"/"science" 0.62)
)
_SHARED_START = 4  # letters a typed word and a label word must start with alike ("foot")


def _similarity(key: str, topic: TopicConfig) -> float:
    best = 0.0
    typed = [word for word in key.split() if len(word) >= 3]
    for label in _topic_labels(topic):
        ratio = difflib.SequenceMatcher(None, key, label).ratio()
        words = label.split()
        if len(key) >= 3 and (label.startswith(key) or key in words):
            ratio = max(ratio, 0.8)
        elif any(_starts_alike(word, other) for word in typed for other in words):
            ratio = max(ratio, _PLAUSIBLE)
        best = max(best, ratio)
    return best


def _starts_alike(word: str, other: str) -> bool:
    """True when both words start with the same :data:`_SHARED_START` letters or more."""
    return len(word) >= _SHARED_START and word[:_SHARED_START] == other[:_SHARED_START]


def _unique_topics(topics: Iterable[TopicConfig]) -> tuple[TopicConfig, ...]:
    unique: dict[str, TopicConfig] = {}
    for topic in topics:
        unique.setdefault(topic.id, topic)
    return tuple(unique.values())


def strip_accents(s: str) -> str:
    """Drop accents, emoji and invisible marks (e.g. RTL marks) so look-alikes compare equal."""
    decomposed = unicodedata.normalize("NFKD", s)
    return "".join(c for c in decomposed if not _is_ignorable(c))


def _is_ignorable(c: str) -> bool:
    if unicodedata.combining(c) or ord(c) in _VARIATION_SELECTORS:
        return True
    return unicodedata.category(c) in _IGNORED_CATEGORIES


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
    raise ChatInputError(texts.filter_usage)


def parse_filter_words(text: str) -> tuple[str, ...]:
    """Words and "quoted phrases", lower-cased, without repeats, in typed order."""
    if len(text) > MAX_INPUT_CHARS:
        raise ChatInputError(in_language(texts.TOO_LONG_INPUT))
    words: list[str] = []
    for match in _QUOTED_OR_WORD.finditer(text):
        word = " ".join((match[1] if match[1] is not None else match[2]).split())
        word = word.strip(_EDGE_PUNCTUATION).lower()
        if len(word) > MAX_FILTER_WORD_CHARS:
            raise ChatInputError(partial(texts.word_too_long, word, MAX_FILTER_WORD_CHARS))
        if word:
            words.append(word)
    unique = tuple(dict.fromkeys(words))
    if not unique:
        raise ChatInputError(texts.filter_usage)
    if len(unique) > MAX_FILTER_WORDS:
        raise ChatInputError(partial(texts.too_many_words, MAX_FILTER_WORDS))
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
