"""The replies of /add, /feeds, /remove, /import and /export (Telegram HTML), in the
chat's language ``lang`` (constants are msgids: send them as ``tr(lang, CONSTANT)``).

Every feed title, URL and reason shown here came from a user or a stranger's
site: each goes through :func:`bot.chat.texts.user_text`. A reason written by
:mod:`bot.chat.feed_adder` is a msgid, or a :class:`bot.language.Phrase` when it
carries values (a host, an HTTP status): both are said in the chat's language.
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from bot.chat.feed_adder import AddResult
from bot.chat.texts import user_text
from bot.language import DEFAULT_LANGUAGE, N_, ntr, say, tr
from bot.redact import redact
from bot.store.chat_sources import OwnFeed

TITLE_CHARS = 60
URL_CHARS = 80
LIST_MAX = 50  # lines of /feeds (and its buttons): 50 short lines stay under 4096 characters
LIST_TITLE_CHARS = 36
LIST_HOST_CHARS = 30

ADD_USAGE = N_(
    "Send a feed or a site link, for example: /add https://example.com/feed.xml\n"
    "I find the feed of a site page myself."
)
REMOVE_USAGE = N_("Which feed? For example: /remove 2, or /remove https://example.com/feed.xml")
OWN_FEEDS_OFF = N_("Adding your own feeds is turned off on this bot.")
NO_OWN_FEEDS = N_("You have no feeds of your own yet. Add one with /add and a link.")
IMPORT_USAGE = N_(
    "Send me an OPML file (most feed readers export one) with /import as its caption, "
    "or reply /import to the file."
)
EXPORT_EMPTY = N_("You have no feeds of your own to export yet. Add one with /add and a link.")
EXPORT_CAPTION = N_("Your feeds as OPML: import it in any feed reader, or here with /import.")
DOWNLOAD_FAILED = N_("I could not download it")
REMOVE_BUTTON = "✖ {n}"


def add_result(
    result: AddResult,
    topic_names: Sequence[str] = (),
    limit: int = 0,
    lang: str = DEFAULT_LANGUAGE,
) -> str:
    """The answer to /add for one URL."""
    url = user_text(redact(result.url), URL_CHARS)  # a password typed in the link is not repeated
    title = user_text(result.title, TITLE_CHARS)
    latest = ""
    if result.headline:
        latest = "\n" + tr(lang, "Latest: {headline}").format(
            headline=user_text(result.headline, 120)
        )
    reason = user_text(say(lang, result.reason), 200)
    if result.status == "added":
        words = tr(
            lang,
            "✅ Added <b>{title}</b>{latest}\n"
            "New stories come in your digests under “My feeds”. /feeds lists your feeds.",
        )
        return words.format(title=title, latest=latest)
    if result.status == "already":
        return tr(lang, "You already follow <b>{title}</b>.{latest}").format(
            title=title, latest=latest
        )
    if result.status == "full":
        words = ntr(
            lang,
            "You have reached the limit of {n} feed. /feeds to remove some.",
            "You have reached the limit of {n} feeds. /feeds to remove some.",
            limit,
        )
        return words.format(n=limit)
    if result.status == "catalogue":
        names = ", ".join(user_text(name) for name in topic_names) or tr(lang, "a topic")
        words = tr(lang, "<b>{title}</b> is already in my topics ({names}): /topics to follow it.")
        return words.format(title=title, names=names)
    if result.status == "refused":
        return tr(lang, "⛔ I won't fetch {url}: {reason}.").format(url=url, reason=reason)
    return tr(lang, "I couldn't add {url}: {reason}.").format(url=url, reason=reason)


def rate_limited(wait_seconds: float, lang: str = DEFAULT_LANGUAGE) -> str:
    """Too many /add or /import commands in the last hour."""
    minutes = max(1, round(wait_seconds / 60))
    words = tr(lang, "That is a lot of new feeds at once. Please try again in {n} min.")
    return words.format(n=minutes)


def feeds_list(feeds: Sequence[OwnFeed], lang: str = DEFAULT_LANGUAGE) -> str:
    """/feeds: the chat's own feeds, numbered as /remove takes them.

    Each line is short (title and host) so that LIST_MAX of them fit one message.
    """
    if not feeds:
        return tr(lang, NO_OWN_FEEDS)
    heading = tr(lang, "My feeds")
    lines = [f"<b>{heading}</b>"]
    for number, feed in enumerate(feeds[:LIST_MAX], start=1):
        trouble = " ⚠️" if feed.last_error else ""
        lines.append(
            f"{number}. {user_text(feed.title, LIST_TITLE_CHARS)} — "
            f"{user_text(_host(feed.url), LIST_HOST_CHARS)}{trouble}"
        )
    if len(feeds) > LIST_MAX:
        more = len(feeds) - LIST_MAX
        lines.append(tr(lang, "…and {n} more (/export lists them all).").format(n=more))
    if any(feed.last_error for feed in feeds):
        lines.append(tr(lang, "⚠️ = could not be read lately; I keep trying."))
    lines.append(tr(lang, "Tap ✖ to remove one, or /remove and its number."))
    return "\n".join(lines)


def _host(url: str) -> str:
    return urlsplit(url).netloc or url


def removed(title: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A feed was removed."""
    return tr(lang, "Removed <b>{title}</b>.").format(title=user_text(title, TITLE_CHARS))


def no_such_feed(text: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """/remove with a number or link that is none of the chat's feeds."""
    words = tr(lang, "'{text}' is none of your feeds. /feeds lists them with their numbers.")
    return words.format(text=user_text(text))


def removed_toast(title: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """Plain-text toast after a remove button."""
    return tr(lang, "Removed {title}").format(title=title)[:200]


REPORT_LINES_PER_GROUP = 15  # so a report of a large import stays one message


def import_refused(reason: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """The uploaded file was not read at all."""
    words = tr(lang, "I can't import that file: {reason}. Nothing was added.")
    return words.format(reason=user_text(say(lang, reason), 200))


def import_too_large(cap_bytes: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """The uploaded file is over the size cap."""
    words = tr(lang, "That file is too large: I import OPML files up to {n} KB.")
    return words.format(n=cap_bytes // 1000)


def import_report(results: Sequence[AddResult], lang: str = DEFAULT_LANGUAGE) -> str:
    """What an import did: added, already there, refused (with why)."""
    added = [r for r in results if r.status == "added"]
    already = [r for r in results if r.status in ("already", "catalogue")]
    refused = [r for r in results if r.status not in ("added", "already", "catalogue")]
    if not results:
        return tr(lang, "That file lists no feeds. Nothing was added.")
    summary = tr(
        lang, "<b>Import:</b> {added} added, {already} already there, {refused} not added."
    )
    lines = [summary.format(added=len(added), already=len(already), refused=len(refused))]
    lines += _group(tr(lang, "✅ Added"), [_titled(r) for r in added], lang)
    lines += _group(tr(lang, "• Already there"), [_titled(r) for r in already], lang)
    lines += _group(tr(lang, "⛔ Not added"), [_refused_line(r, lang) for r in refused], lang)
    return "\n".join(lines)


def _group(heading: str, entries: Sequence[str], lang: str) -> list[str]:
    if not entries:
        return []
    shown = [f"{heading}:", *entries[:REPORT_LINES_PER_GROUP]]
    if len(entries) > REPORT_LINES_PER_GROUP:
        more = len(entries) - REPORT_LINES_PER_GROUP
        shown.append(tr(lang, "…and {n} more").format(n=more))
    return shown


def _titled(result: AddResult) -> str:
    return f"  {user_text(result.title or result.url, TITLE_CHARS)}"


def _refused_line(result: AddResult, lang: str) -> str:
    url = user_text(redact(result.url), LIST_HOST_CHARS + 30)
    reason = (
        say(lang, result.reason)
        if result.status != "full"
        else tr(lang, "over your limit of feeds")
    )
    return f"  {url}: {user_text(reason, 100)}"
