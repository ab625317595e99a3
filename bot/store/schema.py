"""The tables. Alembic migrations in ``bot/store/migrations`` create them.

Every enqueued unit has a natural unique key enforced here: an article by
canonical URL (and by source+guid), a digest by (chat, slot), a delivery
by (digest, part), a subscription by (chat, topic), a chat's own
feed by (chat, source), a feed chats added by its URL, a Telegram update by
its ``update_id``.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from bot.store.types import BigIntPK, UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

chats = Table(
    "chats",
    metadata,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("telegram_id", BigInteger, nullable=False),
    Column("thread_id", BigInteger, nullable=False, default=0),
    Column("kind", String(20), nullable=False, default="private"),
    Column("title", String(255), nullable=False, default=""),
    Column("timezone", String(64), nullable=False),
    Column("digest_times", JSON, nullable=False),
    Column("mode", String(16), nullable=False, default="scheduled"),
    Column("is_paused", Boolean, nullable=False, default=False),
    Column("is_active", Boolean, nullable=False, default=True),
    Column("include_words", JSON, nullable=False),
    Column("exclude_words", JSON, nullable=False),
    Column("next_digest_at", UTCDateTime, nullable=True),
    Column("last_digest_at", UTCDateTime, nullable=True),
    Column("cursor_article_id", BigInteger, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # Weekdays of scheduled digests as digits, 0 = Monday; "" = every day (0005).
    Column("digest_days", String(16), nullable=False, server_default=""),
    # An instant chat's quiet hours, local "HH:MM"; NULL = none (0005).
    Column("quiet_start", String(5), nullable=True),
    Column("quiet_end", String(5), nullable=True),
    # A channel: the user who made the bot its admin (0006).
    Column("added_by", BigInteger, nullable=True),
    # A private chat managing a channel: that channel's chats.id (0006; gone = none).
    Column("target_chat_id", BigInteger, nullable=True),
    # The language the bot speaks to the chat: "en", "ru" or "es" (0008).
    Column("language", String(8), nullable=False, server_default="en"),
    UniqueConstraint("telegram_id", "thread_id", name="uq_chats_telegram_thread"),
    Index("ix_chats_due", "mode", "next_digest_at"),
)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("chat_id", BigInteger, ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", String(64), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_subscriptions_topic", "topic_id"),
)

sources = Table(
    "sources",
    metadata,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, unique=True),
    Column("url", String(2048), nullable=False),
    Column("kind", String(16), nullable=False, default="feed"),
    Column("etag", String(512), nullable=True),
    Column("last_modified", String(128), nullable=True),
    Column("next_poll_at", UTCDateTime, nullable=False),
    Column("error_count", Integer, nullable=False, default=0),
    Column("last_error", Text, nullable=True),
    Column("last_success_at", UTCDateTime, nullable=True),
    Column("last_polled_at", UTCDateTime, nullable=True),
    Column("redirect_url", String(2048), nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    # "catalogue" (synced from the settings) or "chat" (a feed a chat added by URL; 0006).
    Column("origin", String(16), nullable=False, server_default="catalogue"),
    # A chat source's URL hash: one source per URL, however many chats add it.
    Column("url_key", String(64), nullable=True),
    Index("uq_sources_url_key", "url_key", unique=True),
)

# Which chat follows which of the feeds chats added (its "My feeds").
chat_sources = Table(
    "chat_sources",
    metadata,
    Column("chat_id", BigInteger, ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True),
    Column("source_id", BigInteger, ForeignKey("sources.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", UTCDateTime, nullable=False),
    # The chat's folder for it (an imported OPML folder; "" for none): /export keeps it.
    Column("category", String(255), nullable=False, server_default=""),
    Index("ix_chat_sources_source_id", "source_id"),
)

articles = Table(
    "articles",
    metadata,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("source_id", BigInteger, ForeignKey("sources.id", ondelete="CASCADE"), nullable=False),
    Column("guid", String(1024), nullable=True),
    Column("url", String(2048), nullable=False, unique=True),
    Column("headline", Text, nullable=False),
    Column("summary", Text, nullable=False, default=""),
    Column("signature", Text, nullable=False, default=""),
    Column("published_at", UTCDateTime, nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("cluster_id", BigInteger, nullable=True),
    # When a poll last listed the item: pruning keeps what a feed still lists (0003).
    Column("last_seen_at", UTCDateTime, nullable=False),
    UniqueConstraint("source_id", "guid", name="uq_articles_source_guid"),
    Index("ix_articles_published", "published_at"),
    Index("ix_articles_cluster", "cluster_id"),
    # A source's latest listing (max last_seen_at), looked up per candidate by prune.
    Index("ix_articles_source_seen", "source_id", "last_seen_at"),
    # SQLite: never give the id of a deleted (pruned) article again (migration 0002).
    sqlite_autoincrement=True,
)

article_topics = Table(
    "article_topics",
    metadata,
    Column(
        "article_id", BigInteger, ForeignKey("articles.id", ondelete="CASCADE"), primary_key=True
    ),
    Column("topic_id", String(64), primary_key=True),
    Index("ix_article_topics_topic", "topic_id", "article_id"),
)

digests = Table(
    "digests",
    metadata,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("chat_id", BigInteger, ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("slot_key", String(64), nullable=False),
    Column("part_count", Integer, nullable=False),
    Column("max_article_id", BigInteger, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("chat_id", "slot_key", name="uq_digests_chat_slot"),
)

# Rendered message texts, shared by every chat that gets the same digest text,
# so fan-out to many chats writes each text once.
bodies = Table(
    "bodies",
    metadata,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("hash", String(64), nullable=False, unique=True),
    Column("text", Text, nullable=False),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", BigIntPK, primary_key=True, autoincrement=True),
    Column("digest_id", BigInteger, ForeignKey("digests.id", ondelete="CASCADE"), nullable=False),
    Column("chat_id", BigInteger, ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    Column("part_no", Integer, nullable=False),
    Column("body_id", BigInteger, ForeignKey("bodies.id"), nullable=False),
    Column("disable_preview", Boolean, nullable=False, default=True),
    Column("status", String(16), nullable=False, default="pending"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_owner", String(64), nullable=True),
    Column("lease_expires_at", UTCDateTime, nullable=True),
    Column("telegram_message_id", BigInteger, nullable=True),
    Column("error", Text, nullable=True),
    Column("sent_at", UTCDateTime, nullable=True),
    # The message's inline keyboard as JSON (a digest's "+K more" buttons); NULL = none.
    Column("buttons", Text, nullable=True),
    UniqueConstraint("digest_id", "part_no", name="uq_deliveries_digest_part"),
    Index("ix_deliveries_ready", "status", "next_attempt_at"),
    Index("ix_deliveries_chat", "chat_id"),
)

# Small process-wide durable facts, e.g. a Telegram flood wait that pauses sending.
bot_state = Table(
    "bot_state",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

# The durable inbox: every Telegram update, written before Telegram is told it was received.
inbox = Table(
    "inbox",
    metadata,
    Column("update_id", BigInteger, primary_key=True, autoincrement=False),
    # The Telegram chat the update belongs to (0 when it has none): updates of one chat
    # are handled in update_id order.
    Column("chat_id", BigInteger, nullable=False),
    # The update as Telegram sent it (JSON); blanked once handled or when dropped.
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending | done | failed | dropped
    # Handler runs begun: above 1 means a crash interrupted an earlier run.
    Column("attempts", Integer, nullable=False, default=0),
    Column("received_at", UTCDateTime, nullable=False),
    Column("done_at", UTCDateTime, nullable=True),
    Index("ix_inbox_status_chat", "status", "chat_id", "update_id"),
)

# Roles run by one process at a time (the planner, the sender, the long-polling
# receiver): the holder renews its row; another process takes over once it expires.
leases = Table(
    "leases",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("owner", String(128), nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
)

# Every running process and its roles, for `newsbot stats`.
heartbeats = Table(
    "heartbeats",
    metadata,
    Column("owner", String(128), primary_key=True),
    Column("roles", String(128), nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
    Column("seen_at", UTCDateTime, nullable=False),
)
