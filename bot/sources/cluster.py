"""Grouping the same story told by several outlets.

Fuzzy title scores cannot tell "Stocks rise as Fed holds rates" from "Stocks
fall as ECB cuts rates" (same template, different story). What separates them
is who and where the story is about: proper-noun overlap on headline + lead
was measured at >= 0.40 for the same story and <= 0.15 for different ones
(docs/field-notes). Between the two, overlap of content-word shingles decides.

A :class:`StorySignature` is computed once per article and stored as a short
string (``to_text``), so a new article is compared with recent ones without
re-reading their text.
"""

from __future__ import annotations

import array
import asyncio
import itertools
import re
import sys
import threading
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from functools import lru_cache, partial
from typing import NamedTuple

from bot.sources.boilerplate import remove_dateline
from bot.sources.drafts import ArticleDraft
from bot.sources.text import split_sentences
from bot.store.articles import ArticleRepository, RecentSignature, StoredItem

SAME_STORY_MIN = 0.40  # proper-noun overlap at or above: same story (field notes)
DIFFERENT_STORY_MAX = 0.15  # at or below: different story (field notes)
GREY_ZONE_SHINGLE_MIN = 0.20  # shingle overlap that tips the grey zone to "same"
MIN_SHARED_NAMES = 2  # one shared name ("Apple", "Russia") is not a story
LEAD_CHARS = 600  # enough for the who/where of a news lead
MAX_SHINGLES = 64
_FORMAT_VERSION = "s1"

_ACRONYM_DOTS_RE = re.compile(r"\b(?:[A-Za-z]\.){2,}")
# Every acronym "U.S." has a dot right before a letter; this pattern starts with a
# literal, which the regex engine scans for at C speed (the one above is tried at
# every position): leads without it skip the substitution.
_DOT_LETTER_RE = re.compile(r"\.[A-Za-z]")
_TOKEN_RE = re.compile(r"[^\W_][\w'’&]*(?:-[^\W_][\w'’&]*)*")
# The same tokens for ASCII text, where \w means the same with or without re.ASCII;
# the ASCII classes are a table lookup, the Unicode ones several calls a character.
_ASCII_TOKEN_RE = re.compile(r"[^\W_][\w'&]*(?:-[^\W_][\w'&]*)*", re.ASCII)
_POSSESSIVE_RE = re.compile(r"['’]s?$")
_HEX_RE = re.compile(r"[0-9A-Fa-f]*")
_UINT_BYTES = array.array("I").itemsize
_SWAP_BYTES = sys.byteorder == "little"  # signature_text wants big-endian bytes


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


class StorySignature:
    """What a story is about: its proper nouns and its content-word shingles.

    ``names`` are lower-cased proper-noun tokens ("putin", "abe", "us");
    ``shingles`` are 24-bit CRC32 hashes of stemmed content words and word pairs.

    A signature read with :meth:`from_text` decodes its shingles on first use:
    grouping needs them only for candidates in the grey zone of name overlap,
    while every new and every recent article's names are read (building a set
    of 64 shingles cost ~10 us, 40,000 times a cold benchmark cycle).
    Immutable by convention; equal when names and shingles are.
    """

    __slots__ = ("_hex", "_shingles", "names")

    def __init__(self, names: frozenset[str], shingles: frozenset[int]) -> None:
        self.names = names
        self._shingles: frozenset[int] | None = shingles
        self._hex = ""

    @property
    def shingles(self) -> frozenset[int]:
        """The shingle hashes (decoded from the text on first use)."""
        if self._shingles is None:
            self._shingles = _decode_shingles(self._hex)
        return self._shingles

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StorySignature):
            return NotImplemented
        return self.names == other.names and self.shingles == other.shingles

    def __hash__(self) -> int:
        return hash((self.names, self.shingles))

    def __repr__(self) -> str:
        return f"StorySignature(names={set(self.names)!r}, shingles={len(self.shingles)})"

    def to_text(self) -> str:
        """A short, stable string for a database column; read back with :meth:`from_text`."""
        return signature_text(sorted(self.names), sorted(self.shingles))

    @classmethod
    def from_text(cls, text: str) -> StorySignature:
        """Read a signature written by :meth:`to_text`; raise ValueError on anything else."""
        version, sep1, rest = text.partition("|")
        names, sep2, shingles = rest.partition("|")
        if (
            version != _FORMAT_VERSION
            or not (sep1 and sep2)
            or len(shingles) % 6
            or not _HEX_RE.fullmatch(shingles)
        ):
            raise ValueError(f"not a story signature: {text[:40]!r}")
        signature = cls.__new__(cls)  # no __init__: the shingles stay text until used
        signature.names = frozenset(names.split())
        signature._shingles = None
        signature._hex = shingles
        return signature


def _decode_shingles(hex_text: str) -> frozenset[int]:
    """The 24-bit values written as 6 hex digits each by :func:`signature_text`."""
    raw = bytes.fromhex(hex_text)
    # Back to 4 big-endian bytes a value (a zero high byte), read as machine ints.
    padded = bytearray(len(raw) // 3 * _UINT_BYTES)
    for offset in range(3):
        padded[_UINT_BYTES - 3 + offset :: _UINT_BYTES] = raw[offset::3]
    values = array.array("I", padded)
    if _SWAP_BYTES:
        values.byteswap()
    return frozenset(values)


def signature_text(names: Iterable[str], shingles: Sequence[int]) -> str:
    """:meth:`StorySignature.to_text` of a signature with these names and shingles,
    both given in sorted order.
    """
    # Each 24-bit shingle as 6 hex digits: its 4 big-endian bytes without the first.
    packed = array.array("I", shingles)
    if _SWAP_BYTES:
        packed.byteswap()
    raw = bytearray(packed.tobytes())
    del raw[::_UINT_BYTES]
    return f"{_FORMAT_VERSION}|{' '.join(names)}|{raw.hex()}"


def signature(headline: str, text: str) -> StorySignature:
    """The signature of a story from its headline and its lead (or summary)."""
    names, shingles = signature_parts(headline, text)
    return StorySignature(names=frozenset(names), shingles=frozenset(shingles))


def signature_parts(headline: str, text: str) -> tuple[list[str], list[int]]:
    """:func:`signature`'s names and shingles, each sorted (see :func:`signature_text`)."""
    lead = _undot_acronyms(remove_dateline(text.strip())[:LEAD_CHARS])
    return _names_and_shingles([_undot_acronyms(headline), *split_sentences(lead)])


def names_and_shingles_py(sentences: list[str]) -> tuple[list[str], list[int]]:
    """Sorted names and shingles of ``[headline, *lead sentences]`` (acronyms undotted).

    The reference version of the rules: ``bot/sources/_speedups.c`` does the same
    in C where it was built (the tests compare the two).
    """
    tokenized = [_tokens(sentence) for sentence in sentences]
    titlecase = _is_titlecase(tokenized[0])
    names = _proper_nouns(tokenized, headline_is_titlecase=titlecase)
    return sorted(names), _shingles([w for sentence in tokenized for w in sentence])


def _compiled_names_and_shingles() -> Callable[[list[str]], tuple[list[str], list[int]]] | None:
    """The C version of :func:`names_and_shingles_py`, or None where it was not built."""
    try:
        from bot.sources._speedups import names_and_shingles
    except ImportError:  # installed without a C compiler: the Python version serves
        return None
    return partial(names_and_shingles, _NOT_NAMES, _STOPWORDS, _TITLES, MAX_SHINGLES)


_names_and_shingles = _compiled_names_and_shingles() or names_and_shingles_py
COMPILED = _names_and_shingles is not names_and_shingles_py  # the C version is in use


def signature_of(draft: ArticleDraft) -> StorySignature:
    """The signature of a draft: headline plus lead, or the summary when no lead is known."""
    return signature(draft.headline, draft.lead or draft.summary)


def name_overlap(a: StorySignature, b: StorySignature) -> float:
    """Jaccard overlap of proper nouns; "Russia" matches "Russian", "Japan" "Japanese"."""
    shared = _shared_names(a.names, b.names)
    union = len(a.names) + len(b.names) - shared
    return shared / union if union else 0.0


def shingle_overlap(a: StorySignature, b: StorySignature) -> float:
    """Overlap coefficient of shingles (shared / smaller set): leads differ in length."""
    smaller = min(len(a.shingles), len(b.shingles))
    return len(a.shingles & b.shingles) / smaller if smaller else 0.0


def story_similarity(a: StorySignature | ArticleDraft, b: StorySignature | ArticleDraft) -> float:
    """A score in [0, 1] on the proper-noun scale: >= SAME_STORY_MIN means the same story.

    It is the proper-noun overlap, capped at DIFFERENT_STORY_MAX when fewer than
    two names are shared; in the grey zone between the measured thresholds,
    shingle overlap >= GREY_ZONE_SHINGLE_MIN lifts it to SAME_STORY_MIN.
    """
    sig_a, sig_b = _as_signature(a), _as_signature(b)
    names = name_overlap(sig_a, sig_b)
    shingles = shingle_overlap(sig_a, sig_b)
    if _shared_names(sig_a.names, sig_b.names) < MIN_SHARED_NAMES:
        names = min(names, DIFFERENT_STORY_MAX)
    if DIFFERENT_STORY_MAX < names < SAME_STORY_MIN and shingles >= GREY_ZONE_SHINGLE_MIN:
        return max(names, SAME_STORY_MIN)  # grey zone tipped by shared wording
    return names


def is_same_story(a: StorySignature | ArticleDraft, b: StorySignature | ArticleDraft) -> bool:
    """True when a and b tell the same story: ``story_similarity(a, b) >= SAME_STORY_MIN``,
    decided without the parts of that score that cannot change the answer.
    """
    return signatures_tell_same_story(_as_signature(a), _as_signature(b))


def signatures_tell_same_story(a: StorySignature, b: StorySignature) -> bool:
    """:func:`is_same_story` of two signatures (the story grouper's inner loop)."""
    shared = _shared_names(a.names, b.names)
    if shared < MIN_SHARED_NAMES:
        return False  # the score is capped at DIFFERENT_STORY_MAX
    union = len(a.names) + len(b.names) - shared
    names = shared / union if union else 0.0
    if names >= SAME_STORY_MIN:
        return True
    return names > DIFFERENT_STORY_MAX and shingle_overlap(a, b) >= GREY_ZONE_SHINGLE_MIN


# --- tokens ------------------------------------------------------------------


def _undot(match: re.Match[str]) -> str:
    return match.group().replace(".", "")  # "U.S." -> "US", so it is one acronym token


def _undot_acronyms(text: str) -> str:
    return _ACRONYM_DOTS_RE.sub(_undot, text) if _DOT_LETTER_RE.search(text) else text


def _tokens(sentence: str) -> list[str]:
    """Word tokens; hyphenated words split into parts ("Notre-Dame" -> Notre, Dame)."""
    tokens = (_ASCII_TOKEN_RE if sentence.isascii() else _TOKEN_RE).findall(sentence)
    if "-" not in sentence and "'" not in sentence and "’" not in sentence:
        return tokens  # nothing to split or cut: the common case
    words = []
    for token in tokens:
        for part in token.split("-") if "-" in token else (token,):
            word = _POSSESSIVE_RE.sub("", part) if "'" in part or "’" in part else part
            if word:
                words.append(word)
    return words


def _is_capitalised(word: str) -> bool:
    return word[0].isupper() and word.lower() not in _NOT_NAMES


def _is_acronym(word: str) -> bool:
    if len(word) > 6:
        return False  # most words: no need to look at the letters
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
            if not word[0].isupper():  # most words: _is_capitalised without the call
                continue
            lowered = word.lower()
            if lowered in _NOT_NAMES:
                continue
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
    """Hashes of content-word stems and adjacent content-word pairs, sorted, the
    MAX_SHINGLES lowest. A pair's hash is the CRC32 of "x y", computed by continuing
    x's CRC over " y".
    """
    stems = [stem for stem in map(_content_stem, words) if stem is not None]
    hashes = {crc & 0xFFFFFF for crc, _ in stems}
    pairs = itertools.pairwise(stems)
    hashes.update(zlib.crc32(tail, crc) & 0xFFFFFF for (crc, _), (_, tail) in pairs)
    ordered = sorted(hashes)
    return ordered[:MAX_SHINGLES] if len(ordered) > MAX_SHINGLES else ordered


@lru_cache(maxsize=16384)
def _content_stem(word: str) -> tuple[int, bytes] | None:
    """(CRC32 of the stem, b" " + stem) for a content word; None for stopwords and letters."""
    if len(word) <= 1 or word.lower() in _STOPWORDS:
        return None
    stem = _stem(word).encode()
    return zlib.crc32(stem), b" " + stem


# --- name matching -------------------------------------------------------------


def _names_match(a: str, b: str) -> bool:
    """Equal, or one a near-prefix of the other: Russia/Russian, China/Chinese, Iran/Iranian."""
    if a == b:
        return True
    short, long = sorted((a, b), key=len)
    if len(short) < 4 or len(long) - len(short) > 4:
        return False
    prefix = 0
    while prefix < len(short) and short[prefix] == long[prefix]:
        prefix += 1
    return prefix >= 4 and prefix >= len(short) - 1


def _matches_any(word: str, names: set[str] | frozenset[str]) -> bool:
    """``any(_names_match(word, name) for name in names)``: apart from equality, a match
    needs both names 4+ letters long with the same first four, so only those are compared.
    """
    if word in names:
        return True
    if len(word) < 4:
        return False
    key = word[:4]
    return any(name.startswith(key) and _names_match(word, name) for name in names)


def _shared_names(a: frozenset[str], b: frozenset[str]) -> float:
    """How many names the two sets share, counting fuzzy matches once per side, averaged."""
    exact = len(a & b)
    return (2 * exact + _fuzzy_matches(a - b, b) + _fuzzy_matches(b - a, a)) / 2


def _fuzzy_matches(names: frozenset[str], others: frozenset[str]) -> int:
    """How many of ``names`` (none of them in ``others``) match one of ``others`` by prefix.

    A fuzzy match needs both names 4+ letters long with the same first four.
    """
    if not names:
        return 0  # every name shared exactly: the common case between same stories
    keys = {other[:4] for other in others if len(other) >= 4}
    count = 0
    for name in names:
        key = name[:4]
        if len(name) < 4 or key not in keys:
            continue
        if any(other[:4] == key and _names_match(name, other) for other in others):
            count += 1
    return count


def _as_signature(value: StorySignature | ArticleDraft) -> StorySignature:
    return value if isinstance(value, StorySignature) else signature_of(value)


# --- story grouping --------------------------------------------------------------

GROUPING_WINDOW = timedelta(hours=48)  # same story from several outlets: within 48 h (field notes)
POSTING_SCAN = 32  # most recent articles looked at per name pair: bounds work on common pairs
MAX_COMPARISONS = 16  # full same-story checks per new article, best candidates first
NAME_KEY_CHARS = 4  # "russia"/"russian" share "russ": names match on a 4+ letter prefix


class _Remembered(NamedTuple):
    cluster_id: int
    source_id: int
    signature: StorySignature


class StoryGrouper:
    """Puts new articles into the story cluster of an earlier article from another source.

    A new article is compared only with recent articles of *other* sources that
    share at least two proper-noun keys with it, because the same-story rule never
    says "same" with fewer than two shared names (``MIN_SHARED_NAMES``). An
    inverted index over pairs of name keys finds those candidates without looking
    at every recent article: per new article at most ``POSTING_SCAN`` postings per
    name pair and ``MAX_COMPARISONS`` full comparisons, whatever the number of
    recent articles. ``assign`` is thread-safe (one lock), so it may run off the
    event loop.
    """

    def __init__(self, recent: Iterable[RecentSignature] = (), *, since: datetime | None = None):
        self._since = since
        self._remembered: list[_Remembered] = []
        self._postings: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
        self._lock = threading.Lock()
        for row in sorted(recent, key=lambda r: r.article_id):
            parsed = _read_signature(row.signature)
            if parsed is not None:
                self._add(row.cluster_id, row.source_id, parsed)

    @classmethod
    async def load(cls, articles: ArticleRepository, now: datetime) -> StoryGrouper:
        """A grouper holding the articles published in the last 48 hours."""
        since = now - GROUPING_WINDOW
        recent = await articles.recent_signatures(since=since)
        return await asyncio.to_thread(lambda: cls(recent, since=since))

    def __len__(self) -> int:
        return len(self._remembered)

    def assign(self, new_items: Sequence[StoredItem], *, source_id: int) -> dict[int, int]:
        """Article id -> cluster id for new items that tell an already-known story.

        Only items with status "new" are grouped; every grouped or not item is
        remembered so later sources in the cycle can join its story.
        """
        clusters: dict[int, int] = {}
        with self._lock:
            for item in new_items:
                parsed = self._groupable(item)
                if parsed is None:
                    continue
                cluster_id = self._match(parsed, source_id)
                if cluster_id is not None:
                    clusters[item.article_id] = cluster_id
                self._add(cluster_id or item.article_id, source_id, parsed)
        return clusters

    def _groupable(self, item: StoredItem) -> StorySignature | None:
        if item.status != "new":
            return None
        if self._since is not None and item.input.published_at < self._since:
            return None  # old news: outside the window of every recent story
        return _read_signature(item.input.signature)

    def _add(self, cluster_id: int, source_id: int, parsed: StorySignature) -> None:
        index = len(self._remembered)
        self._remembered.append(_Remembered(cluster_id, source_id, parsed))
        for pair in _name_pairs(parsed):
            self._postings[pair].append(index)

    def _match(self, parsed: StorySignature, source_id: int) -> int | None:
        compared = 0
        for index in self._ranked_candidates(_name_pairs(parsed)):
            earlier = self._remembered[index]
            if earlier.source_id == source_id:
                continue
            if signatures_tell_same_story(parsed, earlier.signature):
                return earlier.cluster_id
            compared += 1
            if compared >= MAX_COMPARISONS:
                break
        return None

    def _ranked_candidates(self, pairs: list[tuple[str, str]]) -> Iterator[int]:
        """Recent articles sharing a name pair: most shared pairs first, then the most
        recent (a higher index is more recent; indexes are unique, so no ties).
        """
        shared: Counter[int] = Counter()
        for pair in pairs:
            if pair in self._postings:
                shared.update(self._postings[pair][-POSTING_SCAN:])
        ranked = sorted(((count, index) for index, count in shared.items()), reverse=True)
        return (index for _, index in ranked)


def _name_key(name: str) -> str:
    return name[:NAME_KEY_CHARS]


def _name_pairs(parsed: StorySignature) -> list[tuple[str, str]]:
    keys = sorted({_name_key(name) for name in parsed.names})
    return list(itertools.combinations(keys, 2))


def _read_signature(text: str) -> StorySignature | None:
    if not text:
        return None
    try:
        return StorySignature.from_text(text)
    except ValueError:
        return None  # written by an older format: not groupable, not an error
