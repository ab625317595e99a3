"""What the bot writes to its operators (``admin_ids``): /admin, /sources, /announce, alerts.

Pure functions of store values, Telegram HTML, in the operator chat's language
``lang`` (alerts: the operators' ``default_language``; constants are msgids:
``tr(lang, CONSTANT)``). Source names and errors come from the configuration and
from feeds (untrusted): they go through ``user_text``. Times are UTC (operators
run the bot, not a chat in a zone).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import datetime

from babel.dates import format_timedelta

from bot.chat.texts import user_text
from bot.language import DEFAULT_LANGUAGE, N_, ntr, tr
from bot.sources.report import humanize
from bot.sources.text import safe_text
from bot.store.records import ChatCounts, OutboxBacklog, Source

# (command, description) in the operators' own command menu, after the usual commands.
OPERATOR_COMMANDS: tuple[tuple[str, str], ...] = (
    ("admin", N_("Operator: chats, subscriptions, queue, flood wait, last poll")),
    ("sources", N_("Operator: each source's health, failing ones first")),
    ("announce", N_("Operator: a message to every active chat, after a preview")),
)

NAME_CHARS = 60
ERROR_CHARS = 200
MAX_SOURCE_LINES = 30
# Telegram takes 4096 characters; the preview adds a heading of under 100.
ANNOUNCE_MAX_CHARS = 3900
JUST_NOW_SECONDS = 30

ANNOUNCE_USAGE = N_(
    "Write the message after the command, e.g.\n/announce Digests pause tonight 02:00-03:00 UTC."
)
ANNOUNCE_CANCELLED = N_("Announcement cancelled. Nothing was sent.")
ANNOUNCE_EXPIRED = N_("That preview has expired (or was sent already). Send /announce again.")
ANNOUNCE_SEND_BUTTON = N_("Send to all")
ANNOUNCE_CANCEL_BUTTON = N_("Cancel")
NO_SOURCES = N_("No sources yet: they are added when the bot starts with sources configured.")


def status(
    counts: ChatCounts,
    subscriptions: Mapping[str, int],
    articles: int,
    backlog: OutboxBacklog,
    paused_until: datetime | None,
    last_poll: datetime | None,
    now: datetime,
    lang: str = DEFAULT_LANGUAGE,
) -> str:
    """/admin: the bot at a glance. ``subscriptions`` maps topic names to chat counts."""
    topics = ", ".join(f"{user_text(name)} {n}" for name, n in subscriptions.items())
    chats = tr(lang, "{active} active, {paused} paused, {blocked} blocked").format(
        active=counts.active, paused=counts.paused, blocked=counts.blocked
    )
    heading = tr(lang, "newsbot status")
    return "\n".join(
        [
            f"<b>{heading}</b>",
            _field(tr(lang, "Chats:"), chats),
            _field(tr(lang, "Subscriptions:"), topics or tr(lang, "none")),
            _field(tr(lang, "Articles:"), str(articles)),
            _field(tr(lang, "Queue:"), _backlog_words(backlog, now, lang)),
            _field(tr(lang, "Flood wait:"), _flood_words(paused_until, now, lang)),
            _field(tr(lang, "Last poll:"), relative(last_poll, now, lang)),
        ]
    )


def sources_health(sources: Sequence[Source], now: datetime, lang: str = DEFAULT_LANGUAGE) -> str:
    """/sources: failing sources first (most failures first), each with its last error."""
    if not sources:
        return tr(lang, NO_SOURCES)
    ordered = sorted(sources, key=lambda s: (-s.error_count, s.name.lower()))
    failing = sum(1 for s in sources if s.error_count)
    heading = tr(lang, "<b>Sources:</b> {n}, {failing} failing")
    lines = [heading.format(n=len(sources), failing=failing)]
    lines += [_source_line(source, now, lang) for source in ordered[:MAX_SOURCE_LINES]]
    if len(ordered) > MAX_SOURCE_LINES:
        more = tr(lang, "… and {n} more (newsbot sources lists all)")
        lines.append(more.format(n=len(ordered) - MAX_SOURCE_LINES))
    return "\n".join(lines)


def announcement(text: str) -> str:
    """The announcement as every chat gets it: the operator's words as plain text."""
    return html.escape(safe_text(text).strip(), quote=False)


def announce_preview(body: str, chat_count: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """The preview above the Send / Cancel buttons; ``body`` is :func:`announcement`'s."""
    words = ntr(
        lang,
        "<b>Preview</b>: this goes to {n} chat.",
        "<b>Preview</b>: this goes to {n} chats.",
        chat_count,
    )
    return f"{words.format(n=chat_count)}\n\n{body}"


def announce_too_long(length: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """An announcement over the limit."""
    words = tr(lang, "That is {length} characters; an announcement takes at most {limit}.")
    return words.format(length=length, limit=ANNOUNCE_MAX_CHARS)


def announce_queued(chat_count: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """After Send: how many chats the outbox will deliver it to."""
    words = ntr(
        lang,
        "📢 Queued for {n} chat. It goes out at the usual sending pace.",
        "📢 Queued for {n} chats. It goes out at the usual sending pace.",
        chat_count,
    )
    return words.format(n=chat_count)


def sources_failing_alert(
    sources: Sequence[Source], threshold: int, now: datetime, lang: str = DEFAULT_LANGUAGE
) -> str:
    """Alert: these sources have failed ``threshold`` or more polls in a row."""
    heading = tr(lang, "⚠️ <b>Source failing</b> ({n}+ polls in a row):")
    lines = [heading.format(n=threshold)]
    lines += [_source_line(source, now, lang) for source in sources[:MAX_SOURCE_LINES]]
    if len(sources) > MAX_SOURCE_LINES:
        more = tr(lang, "… and {n} more: /sources")
        lines.append(more.format(n=len(sources) - MAX_SOURCE_LINES))
    lines.append(tr(lang, "You hear about each again only after it has recovered."))
    return "\n".join(lines)


def flood_wait_alert(
    started: datetime, until: datetime, now: datetime, lang: str = DEFAULT_LANGUAGE
) -> str:
    """Alert: sending has been (or will be) held back by a flood wait this long."""
    minutes = round((until - started).total_seconds() / 60)
    words = tr(
        lang,
        "⏳ <b>Flood wait</b>: Telegram holds sending back until {time} UTC "
        "({when}), {n} min in all. Digests wait in the queue; "
        "replies to commands still go out.",
    )
    return words.format(time=f"{until:%H:%M}", when=relative(until, now, lang), n=minutes)


def relative(moment: datetime | None, now: datetime, lang: str = DEFAULT_LANGUAGE) -> str:
    """ "3 h ago", "in 4 min", "just now", "never", in ``lang`` (English: the CLI's words,
    :func:`bot.sources.report.humanize`; others: Babel's)."""
    if lang == DEFAULT_LANGUAGE:
        return humanize(moment, now)
    if moment is None:
        return tr(lang, "never")
    delta = moment - now
    if abs(delta.total_seconds()) < JUST_NOW_SECONDS:
        return tr(lang, "just now")
    return format_timedelta(delta, add_direction=True, format="short", locale=lang)


def _field(label: str, value: str) -> str:
    return f"<b>{label}</b> {value}"


def _source_line(source: Source, now: datetime, lang: str) -> str:
    name = f"<b>{user_text(source.name, NAME_CHARS)}</b>"
    if not source.error_count:
        words = tr(lang, "✅ {name}: ok, polled {when}")
        return words.format(name=name, when=relative(source.last_polled_at, now, lang))
    error = user_text(source.last_error or tr(lang, "unknown error"), ERROR_CHARS)
    words = tr(lang, "❌ {name}: {n} failed in a row, last success {when}: {error}")
    return words.format(
        name=name,
        n=source.error_count,
        when=relative(source.last_success_at, now, lang),
        error=error,
    )


def _backlog_words(backlog: OutboxBacklog, now: datetime, lang: str) -> str:
    if not backlog.depth:
        return tr(lang, "empty")
    words = ntr(
        lang,
        "{n} message waiting, the oldest queued {when}",
        "{n} messages waiting, the oldest queued {when}",
        backlog.depth,
    )
    return words.format(n=backlog.depth, when=relative(backlog.oldest_queued_at, now, lang))


def _flood_words(paused_until: datetime | None, now: datetime, lang: str) -> str:
    if paused_until is None or paused_until <= now:
        return tr(lang, "none")
    words = tr(lang, "sending paused until {time} UTC ({when})")
    return words.format(
        time=f"{paused_until:%Y-%m-%d %H:%M}", when=relative(paused_until, now, lang)
    )
