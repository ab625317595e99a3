"""Which topics an article belongs to.

A source declares its topics; an item can add more through its categories
("World", "Science & Tech"), its URL path ("/business/...") and per-topic
keywords found as whole words in its headline and summary. Matching is
tolerant of case, spacing, hyphens, "&"/"and" and a plural "s", so a feed's
"Sports" meets a topic aliased "sport".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import unquote, urlsplit

from bot.settings import TopicConfig
from bot.sources.drafts import ArticleDraft

_CATEGORY_SPLIT_RE = re.compile(r"\s*[/>|»›:]\s*")  # "News > World", "news/world"
_NON_WORD_RE = re.compile(r"[\W_]+")


def classify(
    draft: ArticleDraft, *, source_topics: Sequence[str], topics: Sequence[TopicConfig]
) -> tuple[str, ...]:
    """Topic ids of ``draft``: the source's own topics plus those its content matches.

    Sorted and unique. Only topics listed in ``topics`` can be added by matching;
    the source's topics are kept as given.
    """
    return classify_with(draft, source_topics=source_topics, matchers=topic_matchers(topics))


@dataclass(frozen=True, slots=True)
class TopicMatcher:
    """What an item is matched against for one topic (computed once for many items)."""

    id: str
    keys: frozenset[str]
    keywords: tuple[str, ...]


def topic_matchers(topics: Sequence[TopicConfig]) -> tuple[TopicMatcher, ...]:
    """The matchers of ``topics``, for :func:`classify_with`."""
    return tuple(
        TopicMatcher(topic.id, frozenset(_topic_keys(topic)), tuple(topic.keywords))
        for topic in topics
    )


def classify_with(
    draft: ArticleDraft, *, source_topics: Sequence[str], matchers: Sequence[TopicMatcher]
) -> tuple[str, ...]:
    """:func:`classify` with the topics' matchers computed beforehand."""
    found = set(source_topics)
    labels = _labels(draft)
    text = None  # built only for a topic with keywords (most have none)
    for topic in matchers:
        if not labels.isdisjoint(topic.keys):
            found.add(topic.id)
        elif topic.keywords:
            text = text or f"{draft.headline}\n{draft.summary}"
            if _has_keyword(text, topic.keywords):
                found.add(topic.id)
    return tuple(sorted(found))


def normalise_label(label: str) -> str:
    """The key two labels must share to match.

    "Science & Tech", "science-and-tech" and "SCIENCE AND TECH " all give
    "scienceandtech"; a plural "s" is dropped ("Sports" -> "sport").
    """
    key = _NON_WORD_RE.sub("", label.lower().replace("&", "and"))
    return key[:-1] if len(key) > 3 and key.endswith("s") else key


def _topic_keys(topic: TopicConfig) -> set[str]:
    keys = {normalise_label(name) for name in (topic.id, topic.name, *topic.aliases)}
    keys.discard("")
    return keys


def _labels(draft: ArticleDraft) -> frozenset[str]:
    """Normalised category names (and their parts) and URL path sections of the item."""
    try:
        path = urlsplit(draft.url).path
    except ValueError:
        path = ""
    return _category_labels(draft.categories) | _folder_labels(path.rpartition("/")[0])


def _category_labels(categories: tuple[str, ...]) -> frozenset[str]:
    labels = set()
    for category in categories:
        labels.add(normalise_label(category))
        labels.update(normalise_label(part) for part in _CATEGORY_SPLIT_RE.split(category))
    labels.discard("")
    return frozenset(labels)


def _folder_labels(folder: str) -> frozenset[str]:
    """Normalised sections of a URL path's folder: "/world/2018/nov/15" -> world, 2018, ..."""
    labels = {normalise_label(unquote(part)) for part in folder.split("/") if part}
    labels.discard("")
    return frozenset(labels)


def _has_keyword(text: str, keywords: Iterable[str]) -> bool:
    return any(_keyword_pattern(keyword).search(text) for keyword in keywords if keyword.strip())


# compiled once per keyword: classifying runs for every item of the cold ingest line
# (docs/capacity.md)
@lru_cache(maxsize=1024)
def _keyword_pattern(keyword: str) -> re.Pattern[str]:
    """Whole-word, case-insensitive; spaces in a phrase match any whitespace.

    The keyword is escaped, never used as a regex: users' keywords cannot cause ReDoS.
    """
    words = [re.escape(word) for word in keyword.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)
