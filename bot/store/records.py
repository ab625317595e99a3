"""Plain values the store returns. No ORM rows or dicts leave the store.

Every datetime here is timezone-aware UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

ChatMode = Literal["scheduled", "instant", "off"]
DeliveryStatus = Literal["pending", "leased", "sending", "sent", "failed", "unknown"]
DigestKind = Literal["scheduled", "instant", "manual", "welcome", "announce"]
SourceOrigin = Literal["catalogue", "chat"]

# A feed a chat added by URL is, for the digest, a topic of its own: its articles carry
# the topic "feed:<source id>" and only the chats following it have that topic.
OWN_FEED_PREFIX = "feed:"


def own_feed_topic(source_id: int) -> str:
    """The topic id the articles of a chat-added source carry."""
    return f"{OWN_FEED_PREFIX}{source_id}"


def is_own_feed_topic(topic_id: str) -> bool:
    """True for the topic of a chat-added source (never a catalogue topic)."""
    return topic_id.startswith(OWN_FEED_PREFIX)


@dataclass(frozen=True, slots=True)
class ChatKey:
    """Where messages go: a Telegram chat, and a forum thread (0 = none)."""

    telegram_id: int
    thread_id: int = 0


@dataclass(frozen=True, slots=True)
class Chat:
    """A subscriber: a private chat, a group, or one thread of a forum group.

    ``cursor_article_id`` is the highest article id this chat's last digest
    covered: a story is new for the chat when its cluster id is above it.
    """

    id: int
    telegram_id: int
    thread_id: int
    kind: str
    title: str
    timezone: str
    digest_times: tuple[str, ...]
    mode: ChatMode
    is_paused: bool
    is_active: bool
    include_words: tuple[str, ...]
    exclude_words: tuple[str, ...]
    topics: tuple[str, ...]
    next_digest_at: datetime | None
    last_digest_at: datetime | None
    cursor_article_id: int
    created_at: datetime
    digest_days: tuple[int, ...] = ()  # weekdays of scheduled digests, 0 = Monday; () = all
    quiet_hours: tuple[str, str] | None = None  # instant mode: local (start, end) "HH:MM"
    own_feeds: tuple[int, ...] = ()  # ids of the chat-added sources it follows, oldest first
    added_by: int | None = None  # a channel: the user who made the bot its admin
    target_chat_id: int | None = None  # a private chat managing a channel: its id
    language: str = "en"  # the language the bot speaks to the chat (bot.language.LANGUAGES)

    @property
    def key(self) -> ChatKey:
        return ChatKey(self.telegram_id, self.thread_id)

    @property
    def followed(self) -> tuple[str, ...]:
        """Every topic the chat's digests draw from: its catalogue topics and own feeds."""
        return self.topics + tuple(own_feed_topic(source_id) for source_id in self.own_feeds)


@dataclass(frozen=True, slots=True)
class Source:
    """A news source and its fetch state (the poll plan lives here, not in memory)."""

    id: int
    name: str
    url: str
    kind: str
    etag: str | None
    last_modified: str | None
    next_poll_at: datetime
    error_count: int
    last_error: str | None
    last_success_at: datetime | None
    last_polled_at: datetime | None
    redirect_url: str | None
    origin: SourceOrigin = "catalogue"


@dataclass(frozen=True, slots=True)
class Article:
    """A stored story. ``cluster_id`` is the id of the first article of its story."""

    id: int
    source_id: int
    source_name: str
    guid: str | None
    url: str
    headline: str
    summary: str
    published_at: datetime
    fetched_at: datetime
    cluster_id: int
    topics: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Digest:
    """One digest for one chat; ``slot_key`` is its natural unique key per chat."""

    id: int
    chat_id: int
    kind: DigestKind
    slot_key: str
    created_at: datetime
    part_count: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message of a digest (the outbox row). Unique on (digest_id, part_no)."""

    id: int
    digest_id: int
    chat_id: int
    telegram_id: int
    thread_id: int
    chat_kind: str
    part_no: int
    part_count: int
    text: str
    disable_preview: bool
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None
    telegram_message_id: int | None
    error: str | None
    sent_at: datetime | None
    buttons: str | None = None  # the inline keyboard as Bot API JSON, see Part


@dataclass(frozen=True, slots=True)
class Part:
    """One rendered message of a digest; ``buttons`` is its inline keyboard as Bot API
    JSON (``{"inline_keyboard": [[{"text": ..., "callback_data": ...}]]}``), or None."""

    text: str
    disable_preview: bool = True
    buttons: str | None = None


@dataclass(frozen=True, slots=True)
class DigestRequest:
    """Everything to write for one chat's digest, plus the chat's new schedule state."""

    chat_id: int
    kind: DigestKind
    slot_key: str
    parts: tuple[Part, ...]
    max_article_id: int
    next_digest_at: datetime | None
    last_digest_at: datetime | None
    # The chat's cursor the stories were selected above. If another planner moved
    # it meanwhile, the request is stale and nothing of it is written (the chat is
    # planned again from the new cursor), so no story is selected twice.
    cursor_from: int | None = None


@dataclass(frozen=True, slots=True)
class OutboxBacklog:
    """Messages not yet delivered (pending, leased or sending), and when the oldest was queued."""

    depth: int
    oldest_queued_at: datetime | None


@dataclass(frozen=True, slots=True)
class ChatCounts:
    """Subscribers by state: getting digests, paused by their users, or unreachable (blocked)."""

    active: int = 0
    paused: int = 0
    blocked: int = 0
