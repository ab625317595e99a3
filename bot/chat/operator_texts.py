"""What the bot writes to its operators (``admin_ids``): /admin, /sources, /announce, alerts.

Pure functions of store values, Telegram HTML. Source names and errors come from
the configuration and from feeds (untrusted): they go through ``user_text``.
Times are UTC (operators run the bot, not a chat in a zone).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime

from bot.chat.texts import user_text
from bot.sources.report import humanize
from bot.sources.text import safe_text
from bot.store.records import ChatCounts, OutboxBacklog, Source

# (command, description) in the operators' own command menu, after the usual commands.
OPERATOR_COMMANDS: tuple[tuple[str, str], ...] = (
    ("admin", "Operator: chats, subscriptions, queue, flood wait, last poll"),
    ("sources", "Operator: each source's health, failing ones first"),
    ("announce", "Operator: a message to every active chat, after a preview"),
)

NAME_CHARS = 60
ERROR_CHARS = 200
MAX_SOURCE_LINES = 30
# Telegram takes 4096 characters; the preview adds a heading of under 100.
ANNOUNCE_MAX_CHARS = 3900

ANNOUNCE_USAGE = (
    "Write the message after the command, e.g.\n/announce Digests pause tonight 02:00-03:00 UTC."
)
ANNOUNCE_CANCELLED = "Announcement cancelled. Nothing was sent."
ANNOUNCE_EXPIRED = "That preview has expired (or was sent already). Send /announce again."
ANNOUNCE_SEND_BUTTON = "Send to all"
ANNOUNCE_CANCEL_BUTTON = "Cancel"
NO_SOURCES = "No sources yet: they are added when the bot starts with sources configured."


def status(
    counts: ChatCounts,
    subscriptions: Mapping[str, int],
    articles: int,
    backlog: OutboxBacklog,
    paused_until: datetime | None,
    last_poll: datetime | None,
    now: datetime,
) -> str:
    """/admin: the bot at a glance. ``subscriptions`` maps topic names to chat counts."""
    topics = ", ".join(f"{user_text(name)} {n}" for name, n in subscriptions.items()) or "none"
    return "\n".join(
        [
            "<b>newsbot status</b>",
            f"<b>Chats:</b> {counts.active} active, {counts.paused} paused, "
            f"{counts.blocked} blocked",
            f"<b>Subscriptions:</b> {topics}",
            f"<b>Articles:</b> {articles}",
            f"<b>Queue:</b> {_backlog_words(backlog, now)}",
            f"<b>Flood wait:</b> {_flood_words(paused_until, now)}",
            f"<b>Last poll:</b> {humanize(last_poll, now)}",
        ]
    )


def sources_health(sources: Sequence[Source], now: datetime) -> str:
    """/sources: failing sources first (most failures first), each with its last error."""
    if not sources:
        return NO_SOURCES
    ordered = sorted(sources, key=lambda s: (-s.error_count, s.name.lower()))
    failing = sum(1 for s in sources if s.error_count)
    lines = [f"<b>Sources:</b> {len(sources)}, {failing} failing"]
    lines += [_source_line(source, now) for source in ordered[:MAX_SOURCE_LINES]]
    if len(ordered) > MAX_SOURCE_LINES:
        lines.append(f"… and {len(ordered) - MAX_SOURCE_LINES} more (newsbot sources lists all)")
    return "\n".join(lines)


def announcement(text: str) -> str:
    """The announcement as every chat gets it: the operator's words as plain text."""
    return html.escape(safe_text(text).strip(), quote=False)


def announce_preview(body: str, chat_count: int) -> str:
    """The preview above the Send / Cancel buttons; ``body`` is :func:`announcement`'s."""
    return f"<b>Preview</b>: this goes to {_chats(chat_count)}.\n\n{body}"


def announce_too_long(length: int) -> str:
    """An announcement over the limit."""
    return f"That is {length} characters; an announcement takes at most {ANNOUNCE_MAX_CHARS}."


def announce_queued(chat_count: int) -> str:
    """After Send: how many chats the outbox will deliver it to."""
    return f"📢 Queued for {_chats(chat_count)}. It goes out at the usual sending pace."


def sources_failing_alert(sources: Sequence[Source], threshold: int, now: datetime) -> str:
    """Alert: these sources have failed ``threshold`` or more polls in a row."""
    lines = [f"⚠️ <b>Source failing</b> ({threshold}+ polls in a row):"]
    lines += [_source_line(source, now) for source in sources[:MAX_SOURCE_LINES]]
    if len(sources) > MAX_SOURCE_LINES:
        lines.append(f"… and {len(sources) - MAX_SOURCE_LINES} more: /sources")
    lines.append("You hear about each again only after it has recovered.")
    return "\n".join(lines)


def flood_wait_alert(started: datetime, until: datetime, now: datetime) -> str:
    """Alert: sending has been (or will be) held back by a flood wait this long."""
    minutes = round((until - started).total_seconds() / 60)
    return (
        f"⏳ <b>Flood wait</b>: Telegram holds sending back until {until:%H:%M} UTC "
        f"({humanize(until, now)}), {minutes} min in all. Digests wait in the queue; "
        "replies to commands still go out."
    )


def _source_line(source: Source, now: datetime) -> str:
    name = f"<b>{user_text(source.name, NAME_CHARS)}</b>"
    if not source.error_count:
        return f"✅ {name}: ok, polled {humanize(source.last_polled_at, now)}"
    error = user_text(source.last_error or "unknown error", ERROR_CHARS)
    return (
        f"❌ {name}: {source.error_count} failed in a row, last success "
        f"{humanize(source.last_success_at, now)}: {error}"
    )


def _backlog_words(backlog: OutboxBacklog, now: datetime) -> str:
    if not backlog.depth:
        return "empty"
    oldest = humanize(backlog.oldest_queued_at, now)
    return f"{backlog.depth} messages waiting, the oldest queued {oldest}"


def _flood_words(paused_until: datetime | None, now: datetime) -> str:
    if paused_until is None or paused_until <= now:
        return "none"
    return f"sending paused until {paused_until:%Y-%m-%d %H:%M} UTC ({humanize(paused_until, now)})"


def _chats(count: int) -> str:
    return "1 chat" if count == 1 else f"{count} chats"
