"""Values of the digest layer: what a digest holds and what rendering produces.

All of them are frozen and built from tuples, so a plan is hashable and can be
cached and shared between chats that have the same topics and filters.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.store.records import Article


@dataclass(frozen=True, slots=True)
class TopicRef:
    """A topic of the catalogue as the digest needs it: its id and display name.

    ``bot.settings.TopicConfig`` has the same two attributes and can be passed
    wherever a catalogue is asked for; this value exists because it is hashable.
    """

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Story:
    """One story of a digest: its representative article and who else covered it.

    ``article`` is the earliest-published article of the story's cluster among
    the candidates; ``also`` holds the source names of the other outlets that
    covered the same story, in order of publication, without repeats.
    """

    article: Article
    also: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Section:
    """The stories of one topic, best first; ``more_count`` were left out by the limit."""

    topic_id: str
    topic_name: str
    stories: tuple[Story, ...]
    more_count: int = 0


@dataclass(frozen=True, slots=True)
class Updates:
    """New articles of stories the chat already received (their cluster is at or below
    its cursor): a follow-up or another outlet. Each shows as one line, newest first;
    ``more_count`` were left out by the limit."""

    articles: tuple[Article, ...]
    more_count: int = 0


@dataclass(frozen=True, slots=True)
class DigestPlan:
    """What one digest will say, before rendering.

    ``sections`` follow the catalogue order. ``max_article_id`` is the highest
    article id the plan considered (or the incoming cursor when that is
    higher); the caller moves the chat's cursor to it once the digest is stored.
    """

    sections: tuple[Section, ...]
    max_article_id: int
    updates: Updates | None = None

    @property
    def is_empty(self) -> bool:
        """True when there is no story and no update to send."""
        return not self.sections and self.updates is None

    @property
    def story_count(self) -> int:
        """How many stories and update lines the digest shows (not counting "+K more")."""
        shown = sum(len(section.stories) for section in self.sections)
        return shown + (len(self.updates.articles) if self.updates else 0)


@dataclass(frozen=True, slots=True)
class RenderedPart:
    """One Telegram message of a rendered digest (HTML parse mode); ``buttons`` are its
    inline buttons, one a row, as (label, callback data)."""

    text: str
    disable_preview: bool
    buttons: tuple[tuple[str, str], ...] = ()
