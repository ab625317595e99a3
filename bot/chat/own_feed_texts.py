"""The replies of /add, /feeds, /remove, /import and /export (Telegram HTML).

Every feed title, URL and reason shown here came from a user or a stranger's
site: each goes through :func:`bot.chat.texts.user_text`.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from bot.chat.feed_adder import AddResult
from bot.chat.texts import user_text
from bot.redact import redact
from bot.store.chat_sources import OwnFeed

TITLE_CHARS = 60
URL_CHARS = 80
LIST_MAX = 50  # lines of /feeds (and its buttons): 50 short lines stay under 4096 characters
LIST_TITLE_CHARS = 36
LIST_HOST_CHARS = 30

ADD_USAGE = (
    "Send a feed or a site link, for example: /add https://example.com/feed.xml\n"
    "I find the feed of a site page myself."
)
REMOVE_USAGE = "Which feed? For example: /remove 2, or /remove https://example.com/feed.xml"
OWN_FEEDS_OFF = "Adding your own feeds is turned off on this bot."
NO_OWN_FEEDS = "You have no feeds of your own yet. Add one with /add and a link."
IMPORT_USAGE = (
    "Send me an OPML file (most feed readers export one) with /import as its caption, "
    "or reply /import to the file."
)
EXPORT_EMPTY = "You have no feeds of your own to export yet. Add one with /add and a link."
EXPORT_CAPTION = "Your feeds as OPML: import it in any feed reader, or here with /import."
REMOVE_BUTTON = "✖ {n}"


def add_result(result: AddResult, topic_names: Sequence[str] = (), limit: int = 0) -> str:
    """The answer to /add for one URL."""
    url = user_text(redact(result.url), URL_CHARS)  # a password typed in the link is not repeated
    title = user_text(result.title, TITLE_CHARS)
    latest = f"\nLatest: {user_text(result.headline, 120)}" if result.headline else ""
    if result.status == "added":
        return (
            f"✅ Added <b>{title}</b>{latest}\n"
            "New stories come in your digests under “My feeds”. /feeds lists your feeds."
        )
    if result.status == "already":
        return f"You already follow <b>{title}</b>.{latest}"
    if result.status == "full":
        return f"You have reached the limit of {limit} feeds. /feeds to remove some."
    if result.status == "catalogue":
        names = ", ".join(user_text(name) for name in topic_names) or "a topic"
        return f"<b>{title}</b> is already in my topics ({names}): /topics to follow it."
    if result.status == "refused":
        return f"⛔ I won't fetch {url}: {user_text(result.reason, 200)}."
    return f"I couldn't add {url}: {user_text(result.reason, 200)}."


def rate_limited(wait_seconds: float) -> str:
    """Too many /add or /import commands in the last hour."""
    minutes = max(1, round(wait_seconds / 60))
    return f"That is a lot of new feeds at once. Please try again in {minutes} min."


def feeds_list(feeds: Sequence[OwnFeed]) -> str:
    """/feeds: the chat's own feeds, numbered as /remove takes them.

    Each line is short (title and host) so that LIST_MAX of them fit one message.
    """
    if not feeds:
        return NO_OWN_FEEDS
    lines = ["<b>My feeds</b>"]
    for number, feed in enumerate(feeds[:LIST_MAX], start=1):
        trouble = " ⚠️" if feed.last_error else ""
        lines.append(
            f"{number}. {user_text(feed.title, LIST_TITLE_CHARS)} — "
            f"{user_text(_host(feed.url), LIST_HOST_CHARS)}{trouble}"
        )
    if len(feeds) > LIST_MAX:
        lines.append(f"…and {len(feeds) - LIST_MAX} more (/export lists them all).")
    if any(feed.last_error for feed in feeds):
        lines.append("⚠️ = could not be read lately; I keep trying.")
    lines.append("Tap ✖ to remove one, or /remove and its number.")
    return "\n".join(lines)


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def removed(title: str) -> str:
    """A feed was removed."""
    return f"Removed <b>{user_text(title, TITLE_CHARS)}</b>."


def no_such_feed(text: str) -> str:
    """/remove with a number or link that is none of the chat's feeds."""
    return f"'{user_text(text)}' is none of your feeds. /feeds lists them with their numbers."


def removed_toast(title: str) -> str:
    """Plain-text toast after a remove button."""
    return f"Removed {title}"[:200]


REPORT_LINES_PER_GROUP = 15  # so a report of a large import stays one message


def import_refused(reason: str) -> str:
    """The uploaded file was not read at all."""
    return f"I can't import that file: {user_text(reason, 200)}. Nothing was added."


def import_too_large(cap_bytes: int) -> str:
    """The uploaded file is over the size cap."""
    return f"That file is too large: I import OPML files up to {cap_bytes // 1000} KB."


def import_report(results: Sequence[AddResult]) -> str:
    """What an import did: added, already there, refused (with why)."""
    added = [r for r in results if r.status == "added"]
    already = [r for r in results if r.status in ("already", "catalogue")]
    refused = [r for r in results if r.status not in ("added", "already", "catalogue")]
    if not results:
        return "That file lists no feeds. Nothing was added."
    lines = [
        f"<b>Import:</b> {len(added)} added, {len(already)} already there, "
        f"{len(refused)} not added."
    ]
    lines += _group("✅ Added", [_titled(r) for r in added])
    lines += _group("• Already there", [_titled(r) for r in already])
    lines += _group("⛔ Not added", [_refused_line(r) for r in refused])
    return "\n".join(lines)


def _group(heading: str, entries: Sequence[str]) -> list[str]:
    if not entries:
        return []
    shown = [f"{heading}:", *entries[:REPORT_LINES_PER_GROUP]]
    if len(entries) > REPORT_LINES_PER_GROUP:
        shown.append(f"…and {len(entries) - REPORT_LINES_PER_GROUP} more")
    return shown


def _titled(result: AddResult) -> str:
    return f"  {user_text(result.title or result.url, TITLE_CHARS)}"


def _refused_line(result: AddResult) -> str:
    url = user_text(redact(result.url), LIST_HOST_CHARS + 30)
    reason = result.reason if result.status != "full" else "over your limit of feeds"
    return f"  {url}: {user_text(reason, 100)}"
