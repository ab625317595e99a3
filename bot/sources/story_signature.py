"""What a story is about, read from its headline and lead: a :class:`StorySignature`.

Proper nouns ("who and where") and content-word shingles ("what was said") are
what :mod:`bot.sources.cluster` compares to tell the same story from several
outlets. A signature is computed once per article and stored as a short string
(``to_text``), so a new article is compared with recent ones without re-reading
their text. It may carry the article's topics, which the rule also weighs.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

from bot.sources.boilerplate import remove_dateline
from bot.sources.drafts import ArticleDraft
from bot.sources.text import split_sentences

LEAD_CHARS = 600  # enough for the who/where of a news lead
MAX_SHINGLES = 64
NAME_PREFIX_CHARS = 4  # "russia"/"russian" share "russ": names match on a 4+ letter prefix
MAX_SUFFIX_CHARS = 4  # "iran"/"iranian": the longer name adds at most this many letters
_FORMAT_VERSION = "s1"
_SHINGLE_DIGITS = 6  # a 24-bit shingle as hex

_ACRONYM_DOTS_RE = re.compile(r"\b(?:[A-Za-z]\.){2,}")
_TOKEN_RE = re.compile(r"[^\W_][\w'’&]*(?:-[^\W_][\w'’&]*)*")
_POSSESSIVE_RE = re.compile(r"['’]s?$")
_HEX_RE = re.compile(r"(?:[0-9A-Fa-f]{6})*")
_TOPICS_RE = re.compile(r"[^\s|,]+(?:,[^\s|,]+)*")


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_TITLES = _word_set("president prime minister chancellor premier king queen governor chief foreign")
# Capitalised words that are not names: articles, pronouns, titles, calendar,
# newswire names (the same agency appears in unrelated stories).
_NOT_NAMES = _word_set(
    """
    a an the and or but if of in on at to for from by with as after before over under
    about into than then this that these those there here it its he she they we i you
    his her their our my your who what when where why how which while amid despite
    is are was were be been has have had will would can could should may might must
    not no yes new says said say also just more most all some any one two three
    mr mrs ms dr sir president prime minister chancellor chair chairman chief executive
    ceo secretary governor king queen prince princess senator sen rep gen general
    former leader minister's spokesman spokeswoman official officials police
    monday tuesday wednesday thursday friday saturday sunday today yesterday tomorrow
    january february march april may june july august september october november december
    jan feb mar apr jun jul aug sep sept oct nov dec
    am pm gmt utc ist et bst cet
    reuters ap afp pti ians upi ani dpa bloomberg xinhua efe ansa kyodo tass
    update updated breaking live exclusive analysis opinion watch video photos
    """
)
_STOPWORDS = _NOT_NAMES | _word_set(
    """
    do does did done up down out off again further once only own same so too very
    s t don now both each few other such nor against between through during above below
    being having doing would also its it's per via near since until upon within without
    """
)


@dataclass(frozen=True, slots=True)
class StorySignature:
    """What a story is about: its proper nouns and its content-word shingles.

    ``names`` are lower-cased proper-noun tokens ("putin", "abe", "us");
    ``shingles`` are 24-bit CRC32 hashes of stemmed content words and word pairs;
    ``topics`` the article's topic ids, or None when not known.
    """

    names: frozenset[str]
    shingles: frozenset[int]
    topics: frozenset[str] | None = None

    def to_text(self) -> str:
        """A short, stable string for a database column; read back with :meth:`from_text`."""
        shingles = "".join(f"{value:06x}" for value in sorted(self.shingles))
        text = f"{_FORMAT_VERSION}|{' '.join(sorted(self.names))}|{shingles}"
        return text if self.topics is None else f"{text}|{','.join(sorted(self.topics))}"

    @classmethod
    def from_text(cls, text: str) -> StorySignature:
        """Read a signature written by :meth:`to_text`; raise ValueError on anything else."""
        version, sep1, rest = text.partition("|")
        names, sep2, rest = rest.partition("|")
        shingles, sep3, topics = rest.partition("|")
        if (
            version != _FORMAT_VERSION
            or not (sep1 and sep2)
            or not _HEX_RE.fullmatch(shingles)
            or (sep3 and topics and not _TOPICS_RE.fullmatch(topics))
        ):
            raise ValueError(f"not a story signature: {text[:40]!r}")
        values = (
            int(shingles[start : start + _SHINGLE_DIGITS], 16)
            for start in range(0, len(shingles), _SHINGLE_DIGITS)
        )
        known = frozenset(topics.split(",")) if topics else frozenset() if sep3 else None
        return cls(names=frozenset(names.split()), shingles=frozenset(values), topics=known)


def signature(headline: str, text: str) -> StorySignature:
    """The signature of a story from its headline and its lead (or summary)."""
    lead = _undot_acronyms(remove_dateline(text.strip())[:LEAD_CHARS])
    tokenized = [
        _tokens(sentence) for sentence in [_undot_acronyms(headline), *split_sentences(lead)]
    ]
    names = _proper_nouns(tokenized, headline_is_titlecase=_is_titlecase(tokenized[0]))
    shingles = _shingles([word for sentence in tokenized for word in sentence])
    return StorySignature(names=frozenset(names), shingles=frozenset(shingles))


def signature_of(draft: ArticleDraft, topics: Iterable[str] | None = None) -> StorySignature:
    """The signature of a draft: headline plus lead, or the summary when no lead is known;
    with ``topics``, the signature carries them (the same-story rule weighs them).
    """
    story = signature(draft.headline, draft.lead or draft.summary)
    if topics is None:
        return story
    return StorySignature(story.names, story.shingles, frozenset(topics))


def names_match(a: str, b: str) -> bool:
    """Equal, or one a near-prefix of the other: Russia/Russian, China/Chinese, Iran/Iranian."""
    return a == b or _names_match(a, b)


# --- tokens ------------------------------------------------------------------


def _undot(match: re.Match[str]) -> str:
    return match.group().replace(".", "")  # "U.S." -> "US", so it is one acronym token


def _undot_acronyms(text: str) -> str:
    return _ACRONYM_DOTS_RE.sub(_undot, text)


def _tokens(sentence: str) -> list[str]:
    """Word tokens; hyphenated words split into parts ("Notre-Dame" -> Notre, Dame),
    possessives cut ("Japan's" -> Japan).
    """
    words = []
    for token in _TOKEN_RE.findall(sentence):
        for part in token.split("-"):
            word = _POSSESSIVE_RE.sub("", part)
            if word:
                words.append(word)
    return words


def _is_capitalised(word: str) -> bool:
    return word[0].isupper() and word.lower() not in _NOT_NAMES


def _is_acronym(word: str) -> bool:
    if len(word) > 6:
        return False  # acronyms are short: US, NATO, UNESCO
    letters = list(filter(str.isalpha, word))
    return len(letters) >= 2 and all(map(str.isupper, letters))


def _is_titlecase(tokens: list[str]) -> bool:
    """True for "Russia, Japan Agree To Speed Up Talks" or ALL-CAPS headlines."""
    content = [t for t in tokens if t.lower() not in _STOPWORDS and t[0].isalpha()]
    capitalised = [t for t in content if t[0].isupper()]
    return len(content) >= 4 and len(capitalised) >= 0.7 * len(content)


def _proper_nouns(sentences: list[list[str]], *, headline_is_titlecase: bool) -> set[str]:
    """Capitalised tokens not at sentence start, acronyms, and multi-word name parts.

    A sentence-initial word counts when it starts a multi-word name ("Shinzo Abe
    said", "Russian President ...") or matches a name found mid-sentence
    ("Russian" / "Russia"). Words of a title-case headline count only when the
    lead confirms them.
    """
    names: set[str] = set()
    initial: set[str] = set()
    for index, sentence in enumerate(sentences):
        if index == 0 and headline_is_titlecase:
            continue
        for position, word in enumerate(sentence):
            if not _is_capitalised(word):
                continue
            lowered = word.lower()
            if position > 0 or _starts_name(sentence, position) or _is_acronym(word):
                names.add(lowered)
            else:
                initial.add(lowered)
    names |= {word for word in initial if _matches_any(word, names)}
    if headline_is_titlecase and sentences:
        headline_words = {w.lower() for w in sentences[0] if _is_capitalised(w)}
        if len(sentences) == 1:
            return headline_words  # nothing to confirm with: best effort
        names |= {word for word in headline_words if _matches_any(word, names)}
    return names


def _starts_name(sentence: list[str], position: int) -> bool:
    """True when the next word continues a name or is a title: "Shinzo Abe", "Russian President"."""
    if position + 1 >= len(sentence):
        return False
    following = sentence[position + 1]
    return _is_capitalised(following) or following.lower() in _TITLES


def _stem(word: str) -> str:
    """A crude stem: enough for "talks"/"talk", "accelerate"/"accelerating"."""
    word = word.lower()
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    return word[:6]


def _shingles(words: list[str]) -> list[int]:
    """Hashes of content-word stems and adjacent content-word pairs, the MAX_SHINGLES
    lowest (a 24-bit CRC32 of "stem" or "stem stem").
    """
    stems = [_stem(word) for word in words if _is_content_word(word)]
    phrases = {*stems, *(f"{a} {b}" for a, b in itertools.pairwise(stems))}
    hashes = sorted({zlib.crc32(phrase.encode()) & 0xFFFFFF for phrase in phrases})
    return hashes[:MAX_SHINGLES]


def _is_content_word(word: str) -> bool:
    return len(word) > 1 and word.lower() not in _STOPWORDS


# --- name matching -------------------------------------------------------------


def _names_match(a: str, b: str) -> bool:
    """The two names share a 4+ letter prefix: all the shorter one but maybe its last letter."""
    short, long = sorted((a, b), key=len)
    if len(short) < NAME_PREFIX_CHARS or len(long) - len(short) > MAX_SUFFIX_CHARS:
        return False
    prefix = 0
    while prefix < len(short) and short[prefix] == long[prefix]:
        prefix += 1
    return prefix >= NAME_PREFIX_CHARS and prefix >= len(short) - 1


def _matches_any(word: str, names: set[str]) -> bool:
    return any(names_match(word, name) for name in names)
