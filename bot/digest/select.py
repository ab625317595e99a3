"""Choose what a digest says: new stories, grouped by topic, filtered and ranked.

:func:`plan_digest` is pure: a function of (articles, topics, filters, cursor,
limit), so the planner can compute one digest per distinct set of them and
share it between chats.

Ranking. A story's score, in seconds, is

    newest_published_at + OUTLET_BONUS_SECONDS * (min(outlets, MAX_COUNTED_OUTLETS) - 1)

where ``outlets`` is the number of distinct sources in the story's cluster:
each extra outlet counts as 90 minutes of freshness, up to four extra. So a
story covered by 3 outlets outranks a single-outlet story up to 3 hours newer,
and a widely covered story from yesterday does not bury today's news. Ties go
to the higher cluster id (the story first seen later).

Filters. Include/exclude words match whole words, case-insensitively, on the
headline and the summary of every article of the story's cluster. Text and
words are split into tokens by one fixed pattern (letters, digits, ``_`` and
combining marks, so Devanagari or Arabic words stay whole), NFKC-normalised
and case-folded; a word matches when its tokens appear as consecutive tokens
of the text ("New York" matches "New York's mayor"; "art" does not match
"Martha"). Users' words are never compiled as patterns. A word without any
letter or digit is ignored.
"""

from __future__ import annotations

import logging
import re
import sys
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Protocol

from bot.digest.content import DigestPlan, Section, Story, Updates
from bot.language import N_
from bot.store.records import OWN_FEED_PREFIX, Article, is_own_feed_topic

log = logging.getLogger(__name__)

OUTLET_BONUS_SECONDS = 90 * 60
MAX_COUNTED_OUTLETS = 5
DEFAULT_PER_TOPIC = 5
# Update lines per digest: the rest is counted in "+K more updates", never dropped silently.
MAX_UPDATES = 10

# The section of a chat's own feeds (no catalogue id has a colon), after every topic.
MY_FEEDS = OWN_FEED_PREFIX
MY_FEEDS_NAME = N_("My feeds")  # translated when rendered (render.section_name)

Tokens = tuple[str, ...]


class TopicLike(Protocol):
    """Anything with a topic id and name: ``TopicConfig`` or ``TopicRef``."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...


@dataclass(frozen=True, slots=True)
class _Ranked:
    score: float
    cluster_id: int
    story: Story


def plan_digest(
    articles: Iterable[Article],
    *,
    topics: Sequence[str],
    catalogue: Sequence[TopicLike],
    include_words: Sequence[str] = (),
    exclude_words: Sequence[str] = (),
    cursor_article_id: int = 0,
    per_topic: int = DEFAULT_PER_TOPIC,
) -> DigestPlan:
    """Build the digest plan of one chat from candidate articles (any order).

    A story is new when its cluster id is above ``cursor_article_id``. An
    article above the cursor whose cluster is not (it joined a story the chat
    already received: a follow-up, another outlet, or a wrong join) is never
    dropped: it becomes an update line, with the same topic and filter rules. Each
    story appears once, in the first subscribed topic (catalogue order) that
    any of its articles belongs to; the chat's own feeds (topics
    ``feed:<source id>``) share one last section, "My feeds"; other subscribed
    topics missing from the catalogue are ignored. Sections keep the best ``per_topic`` stories and
    count the rest in ``more_count``. ``max_article_id`` is the highest id of
    an article in the chat's topics (shown or filtered out), or the cursor.
    """
    unique = list({article.id: article for article in articles}.values())
    rank_of = _subscribed_ranks(topics, catalogue)
    # Only articles of the chat's topics count as considered: a candidate of another
    # chat's topic (or of a topic this chat is just subscribing to) must not move its
    # cursor, or the story would never be new for it.
    max_id = max((a.id for a in unique if _first_topic([a], rank_of) is not None), default=0)
    include, exclude = phrases_of(include_words), phrases_of(exclude_words)
    by_topic: defaultdict[str, list[_Ranked]] = defaultdict(list)
    for cluster in _new_clusters(unique, cursor_article_id):
        topic = _first_topic(cluster, rank_of)
        if topic is not None and _passes_filters(cluster, include, exclude):
            by_topic[_section_of(topic)].append(_rank(cluster))
    names = {topic.id: topic.name for topic in catalogue} | {MY_FEEDS: MY_FEEDS_NAME}
    sections = tuple(
        _section(topic_id, names[topic_id], by_topic[topic_id], per_topic)
        for topic_id in sorted(by_topic, key=lambda section: rank_of.get(section, len(catalogue)))
    )
    updates = _updates(unique, cursor_article_id, rank_of, include, exclude)
    return DigestPlan(sections, max(max_id, cursor_article_id), updates)


def story_of(cluster: Sequence[Article]) -> Story:
    """The story of a cluster: its earliest article, and the other outlets' names."""
    ordered = sorted(cluster, key=lambda a: (a.published_at, a.id))
    lead = ordered[0]
    also: dict[str, None] = {}
    for article in ordered[1:]:
        if article.source_id != lead.source_id and article.source_name != lead.source_name:
            also.setdefault(article.source_name, None)
    return Story(lead, tuple(also))


def _updates(
    articles: Iterable[Article],
    cursor: int,
    rank_of: dict[str, int],
    include: Sequence[Tokens],
    exclude: Sequence[Tokens],
) -> Updates | None:
    """Articles newer than the cursor in stories at or below it, newest first."""
    shown = []
    for article in articles:
        if article.id <= cursor or article.cluster_id > cursor:
            continue
        wanted = _first_topic([article], rank_of) is not None
        wanted = wanted and _passes_filters([article], include, exclude)
        log.debug(
            "article %s joined story %s at or below cursor %s: %s",
            article.id,
            article.cluster_id,
            cursor,
            "update line" if wanted else "not in the chat's topics or filters",
        )
        if wanted:
            shown.append(article)
    if not shown:
        return None
    shown.sort(key=lambda a: (a.published_at, a.id), reverse=True)
    return Updates(tuple(shown[:MAX_UPDATES]), more_count=max(len(shown) - MAX_UPDATES, 0))


def _subscribed_ranks(topics: Sequence[str], catalogue: Sequence[TopicLike]) -> dict[str, int]:
    subscribed = set(topics)
    ranks = {t.id: rank for rank, t in enumerate(catalogue) if t.id in subscribed}
    # The chat's own feeds rank after every catalogue topic (their one section comes last).
    ranks.update((t, len(catalogue)) for t in subscribed if is_own_feed_topic(t))
    return ranks


def _section_of(topic_id: str) -> str:
    """The section a topic's stories go to: its own, or "My feeds" for every own feed."""
    return MY_FEEDS if is_own_feed_topic(topic_id) else topic_id


def _new_clusters(articles: Iterable[Article], cursor: int) -> Iterable[list[Article]]:
    clusters: defaultdict[int, list[Article]] = defaultdict(list)
    for article in articles:
        if article.cluster_id > cursor:
            clusters[article.cluster_id].append(article)
    return clusters.values()


def _first_topic(cluster: Sequence[Article], rank_of: dict[str, int]) -> str | None:
    ranked = [topic for article in cluster for topic in article.topics if topic in rank_of]
    return min(ranked, key=rank_of.__getitem__, default=None)


def _passes_filters(
    cluster: Sequence[Article], include: Sequence[Tokens], exclude: Sequence[Tokens]
) -> bool:
    texts = [tokenize(text) for article in cluster for text in (article.headline, article.summary)]
    if include and not any(matches_any(tokens, include) for tokens in texts):
        return False
    return not (exclude and any(matches_any(tokens, exclude) for tokens in texts))


def _rank(cluster: Sequence[Article]) -> _Ranked:
    newest = max(article.published_at for article in cluster)
    outlets = len({article.source_id for article in cluster})
    bonus = OUTLET_BONUS_SECONDS * (min(outlets, MAX_COUNTED_OUTLETS) - 1)
    return _Ranked(newest.timestamp() + bonus, cluster[0].cluster_id, story_of(cluster))


def _section(topic_id: str, name: str, ranked: list[_Ranked], per_topic: int) -> Section:
    ranked.sort(key=lambda r: (r.score, r.cluster_id), reverse=True)
    stories = tuple(r.story for r in ranked[:per_topic])
    return Section(topic_id, name, stories, more_count=max(len(ranked) - per_topic, 0))


# --- whole-word matching -------------------------------------------------------------


def phrases_of(words: Iterable[str]) -> tuple[Tokens, ...]:
    """Filter words as token phrases; words with no letter or digit are dropped."""
    return tuple(phrase for phrase in (tokenize(word) for word in words) if phrase)


def matches_any(tokens: Tokens, phrases: Sequence[Tokens]) -> bool:
    """True when any phrase occurs as consecutive tokens of ``tokens``."""
    return any(_contains(tokens, phrase) for phrase in phrases)


def tokenize(text: str) -> Tokens:
    """Case-folded word tokens of ``text``."""
    normal = unicodedata.normalize("NFKC", text).casefold()
    return tuple(_word_pattern().findall(normal))


def _contains(tokens: Tokens, phrase: Tokens) -> bool:
    if len(phrase) == 1:
        return phrase[0] in tokens
    width = len(phrase)
    return any(
        tokens[start : start + width] == phrase
        for start, token in enumerate(tokens)
        if token == phrase[0]
    )


@cache
def _word_pattern() -> re.Pattern[str]:
    """``[\\w<combining marks>]+``: Python's ``\\w`` leaves out marks such as Hindi matras."""
    marks = "".join(_ranges(c for c in range(sys.maxunicode + 1) if _is_mark(c)))
    return re.compile(rf"[\w{marks}]+")


def _is_mark(code: int) -> bool:
    return unicodedata.category(chr(code)).startswith("M")


def _ranges(codes: Iterable[int]) -> Iterable[str]:
    start = previous = -2
    for code in codes:
        if code != previous + 1:
            if start >= 0:
                yield f"\\U{start:08x}-\\U{previous:08x}"
            start = code
        previous = code
    if start >= 0:
        yield f"\\U{start:08x}-\\U{previous:08x}"
