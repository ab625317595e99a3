"""Every reply the bot writes in chats, in one place.

Replies are Telegram HTML. Anything a user typed (and any configured name) goes
through :func:`user_text`, which drops control characters and bidi overrides
(one typed "\u202e" would reverse the rest of the reply), shortens it and
escapes ``< > &``. Toasts
(answerCallbackQuery) are plain text: see the ``*_toast`` functions.
Times are shown 24-hour "HH:MM" in the chat's own zone; callers pass local values.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

from bot.digest.wording import WEEKDAYS, zone_label
from bot.digest.wording import count_of as count_of  # the one plural rule, re-exported
from bot.sources.text import safe_text
from bot.store.records import ChatMode

ECHO_MAX_CHARS = 60
TOAST_MAX_CHARS = 200

# (command, one-line description): used for /help and for setMyCommands.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", "Welcome and the topic list"),
    ("help", "All commands"),
    ("topics", "Pick topics with buttons"),
    ("subscribe", "Follow topics, e.g. /subscribe world news, sport, or all"),
    ("unsubscribe", "Drop a topic, or all: /unsubscribe sport"),
    ("mytopics", "Your topics, schedule, time zone and filters"),
    ("digest", "Send me what is new right now"),
    ("schedule", "Digest times, e.g. /schedule 08:00 18:30, mon-fri 07:30, instant or off"),
    ("quiet", "Quiet hours for instant news, e.g. /quiet 23:00-07:00, or off"),
    ("timezone", "Your time zone, e.g. /timezone Asia/Kolkata, +05:30 or Tokyo"),
    ("filter", "Only or never stories with words: include, exclude, clear"),
    ("search", "Find recent stories: /search election"),
    ("pause", "Pause digests"),
    ("resume", "Resume digests"),
    ("stop", "Delete everything about this chat"),
    ("add", "Follow any feed or site: /add https://example.com/feed.xml"),
    ("feeds", "Your own feeds, with buttons to remove them"),
    ("remove", "Drop one of your feeds: /remove 2"),
    ("import", "Add the feeds of an OPML file (send it with /import as caption)"),
    ("export", "Your feeds as an OPML file"),
    ("channels", "Manage a channel you added me to"),
)

WELCOME = (
    "👋 Hi! I send you short digests of the news topics you pick.\n"
    "Tap topics below to follow them; /help lists everything else."
)
CHOOSE_TOPICS = "Tap a topic to follow it, tap again to drop it."
TOPICS_DONE = "All set. /mytopics shows your topics and schedule."
NO_TOPICS_CONFIGURED = "There are no topics yet. Please try again later."
NO_TOPICS_YET = (
    "You don't follow any topics yet. Add one with /subscribe world news, "
    "or pick some with /topics."
)
UNSUBSCRIBE_USAGE = "Which topic? For example: /unsubscribe sport, or /unsubscribe all"
UNSUBSCRIBED_ALL = "Done: you follow no topics now. /topics to pick again."
SEARCH_USAGE = "What should I look for? For example: /search election results"
PAUSED = "Paused. No digests until you send /resume."
RESUMED = "Welcome back! Digests are on again."
ALREADY_PAUSED = "Already paused. Send /resume to start again."
NOT_PAUSED = "Digests are already on."
STOP_CONFIRM = "Delete your topics, schedule and filters, and stop all messages?"
STOPPED = "Done. I deleted everything about this chat. Send /start to begin again."
STOP_CANCELLED = "Cancelled. Nothing changed."
ADMINS_ONLY = "Sorry, only group admins can change this group's news settings."
TOO_LONG_INPUT = "That is a bit long for me. Please keep it shorter."
UNKNOWN_COMMAND = "I don't know that command. /help lists what I can do."
SLOW_DOWN = "You are sending messages faster than I can answer. Please wait a moment."
SOMETHING_WENT_WRONG = "Sorry, something went wrong on my side. Please try again in a minute."
STOP_BUTTON_YES = "Yes, delete everything"
STOP_BUTTON_NO = "Cancel"
DONE_BUTTON = "Done"
MORE_GONE = "Those stories are no longer available."


def user_text(text: str, limit: int = ECHO_MAX_CHARS) -> str:
    """``text`` made safe for Telegram HTML, cut at ``limit`` characters with "…"."""
    flat = " ".join(safe_text(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return html.escape(flat, quote=False)


def help_text(commands: Sequence[tuple[str, str]] = COMMANDS) -> str:
    """One line per command: "/subscribe — Follow topics, ..."."""
    lines = [f"/{name} — {html.escape(description, quote=False)}" for name, description in commands]
    return "<b>What I can do</b>\n" + "\n".join(lines)


def unknown_topic(text: str, suggestions: Sequence[str] = ()) -> str:
    """ "No topic 'x'. Did you mean World news? /topics lists them all." """
    guess = f" Did you mean {_or_list(suggestions)}?" if suggestions else ""
    return f"No topic '{user_text(text)}'.{guess} /topics lists them all."


def subscribed(names: Sequence[str]) -> str:
    """Confirmation after following topics."""
    return f"✅ You now follow {_and_list(names)}."


def subscribed_all(count: int) -> str:
    """Confirmation of /subscribe all."""
    return f"✅ You now follow all {count_of(count, 'topic')}."


def unsubscribed(names: Sequence[str]) -> str:
    """Confirmation after dropping topics."""
    return f"Dropped {_and_list(names)}."


def not_subscribed(names: Sequence[str]) -> str:
    """The chat did not follow these topics in the first place."""
    return f"You don't follow {_or_list(names)}."


def already_subscribed(names: Sequence[str]) -> str:
    """Every named topic was followed already."""
    return f"You already follow {_and_list(names)}."


def topic_toggled_toast(name: str, is_subscribed: bool) -> str:
    """Plain-text toast after pressing a topic button (not HTML)."""
    verb = "Following" if is_subscribed else "Stopped following"
    return f"{verb} {name}"[:TOAST_MAX_CHARS]


def my_topics(
    topic_names: Sequence[str],
    mode: ChatMode,
    times: Sequence[str],
    tz: str,
    include: Sequence[str],
    exclude: Sequence[str],
    next_at: datetime | None,
    is_paused: bool = False,
    days: Sequence[int] = (),
    quiet: tuple[str, str] | None = None,
) -> str:
    """Everything about the chat's settings; ``next_at`` is already in the chat's zone.

    Without topics the next digest is not shown (there would be none): the
    first line says how to add one.
    """
    if not topic_names:
        lines = [f"<b>Topics:</b> none yet. {ADD_A_TOPIC}"]
    else:
        lines = [f"<b>Topics:</b> {_and_list(topic_names)}"]
    lines += [
        f"<b>Schedule:</b> {_schedule_words(mode, times, days)}",
        f"<b>Time zone:</b> {zone_text(tz, next_at)}",
        f"<b>Filters:</b> {_filter_words(include, exclude)}",
    ]
    if quiet is not None:
        lines.append(f"<b>Quiet hours:</b> {quiet_words(quiet, mode)}")
    if is_paused:
        lines.append("<b>Paused</b>: send /resume to get digests again.")
    elif topic_names and mode == "scheduled" and next_at is not None:
        lines.append(f"<b>Next digest:</b> {format_local(next_at)}")
    return "\n".join(lines)


ADD_A_TOPIC = "Add one with /subscribe world news, or pick with /topics."


def zone_text(tz: str, at: datetime | None = None) -> str:
    """The chat's zone as people read it: "UTC-05:00", "Asia/Kolkata (UTC+05:30)"."""
    return user_text(zone_label(tz, at))


def schedule_set(
    mode: ChatMode,
    times: Sequence[str],
    tz: str,
    next_at: datetime | None,
    days: Sequence[int] = (),
) -> str:
    """Confirmation of /schedule; ``next_at`` is already in the chat's zone."""
    if mode == "instant":
        return (
            "⚡ You'll get new stories as soon as they arrive. "
            "/quiet 23:00-07:00 holds them back at night."
        )
    if mode == "off":
        return "Scheduled digests are off. Send /digest whenever you want the news."
    text = f"🕗 Digests at {_schedule_words(mode, times, days)}, {zone_text(tz, next_at)}."
    return f"{text} Next one: {format_local(next_at)}." if next_at else text


def schedule_usage() -> str:
    """How to use /schedule."""
    return (
        "Times look like 08:00 or 18:30, for example: /schedule 08:00 18:30\n"
        "Days come first: /schedule mon-fri 07:30, /schedule sat 10:00\n"
        "Or /schedule instant for news as it comes, /schedule off for none."
    )


def quiet_set(quiet: tuple[str, str], mode: ChatMode, tz: str) -> str:
    """Confirmation of /quiet."""
    return f"🌙 Quiet hours {quiet_words(quiet, mode)}, {zone_text(tz)}."


QUIET_OFF = "Quiet hours are off: instant news comes at any hour."


def quiet_usage() -> str:
    """How to use /quiet."""
    return (
        "Quiet hours hold instant news back and send it when they end. For example: "
        "/quiet 23:00-07:00, or /quiet off"
    )


def bad_quiet(text: str) -> str:
    """A /quiet argument that is no pair of times."""
    return f"'{user_text(text, 30)}' is not a pair of times. {quiet_usage()}"


def quiet_words(quiet: tuple[str, str], mode: ChatMode) -> str:
    """ "23:00–07:00", with a note when the chat is not instant (they apply only then)."""
    span = f"{quiet[0]}–{quiet[1]}"
    return span if mode == "instant" else f"{span} (for /schedule instant)"


def weekday_words(days: Sequence[int]) -> str:
    """ "Mon–Fri", "Sat", "Mon, Wed and Fri"; "" for every day."""
    ordered = sorted(set(days))
    if not ordered or len(ordered) == 7:
        return ""
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{WEEKDAYS[ordered[0]]}–{WEEKDAYS[ordered[-1]]}"
    return _and_list([WEEKDAYS[day] for day in ordered])


def bad_time(token: str) -> str:
    """A /schedule argument that is no time of day."""
    return f"'{user_text(token, 20)}' is not a time I can read. {schedule_usage()}"


def too_many_times(limit: int) -> str:
    """More digest times than allowed."""
    return f"At most {limit} digests a day, please. For example: /schedule 08:00 18:30"


def timezone_set(tz: str, local_now: datetime) -> str:
    """Confirmation of /timezone showing the local time there now."""
    return f"🌍 Time zone set to {zone_text(tz, local_now)}. It's {local_now:%H:%M} there now."


def timezone_usage(current: str) -> str:
    """/timezone without an argument."""
    return f"Your time zone is {zone_text(current)}. {_TIMEZONE_EXAMPLES}"


def bad_timezone(text: str, suggestion: str | None) -> str:
    """A /timezone argument we could not place."""
    guess = f" Did you mean {user_text(suggestion)}?" if suggestion else ""
    return f"I don't know the time zone '{user_text(text)}'.{guess} {_TIMEZONE_EXAMPLES}"


def bad_offset(text: str) -> str:
    """A UTC offset no zone uses, like +05:10 or +20."""
    return f"No place uses the offset '{user_text(text, 20)}'. {_TIMEZONE_EXAMPLES}"


_TIMEZONE_EXAMPLES = "Try a zone, an offset or a city: /timezone Asia/Kolkata, +05:30 or Tokyo"


def filters_text(include: Sequence[str], exclude: Sequence[str]) -> str:
    """The chat's filters after a change, with how to clear them."""
    if not include and not exclude:
        return "No filters: you get every story of your topics."
    return f"Filters: {_filter_words(include, exclude)}\n/filter clear removes them."


def filter_usage() -> str:
    """How to use /filter."""
    return (
        'For example: /filter include climate "electric cars", '
        "/filter exclude football, or /filter clear. Whole words, any case."
    )


def too_many_words(limit: int) -> str:
    """More filter words than allowed."""
    return f"At most {limit} filter words, please."


def word_too_long(word: str, limit: int) -> str:
    """A filter word or phrase longer than allowed."""
    return f"'{user_text(word, 30)}' is too long: keep each word under {limit} characters."


def nothing_new(
    last_digest_local: datetime | None,
    mode: ChatMode = "off",
    next_local: datetime | None = None,
    tz: str = "UTC",
) -> str:
    """/digest when there is nothing new (the welcome digest right after /subscribe
    counts as a digest): what comes next and when; times are in the chat's zone."""
    if last_digest_local is None:
        first = "Nothing new yet. I'll have stories as soon as the feeds update."
    else:
        first = f"Nothing new since your last digest at {last_digest_local:%H:%M}."
    return f"{first} {_what_comes_next(mode, next_local, tz)}"


def _what_comes_next(mode: ChatMode, next_local: datetime | None, tz: str) -> str:
    if mode == "instant":
        return "New stories come here as soon as they arrive."
    if mode == "scheduled" and next_local is not None:
        when = f"{format_local(next_local)} {zone_text(tz, next_local)}"
        return f"Your next digest: {when}; /digest before then shows what is new."
    return "Scheduled digests are off: send /digest again later."


def search_none(words: str) -> str:
    """No stories matched /search."""
    return f"No recent stories match '{user_text(words)}'."


def deep_link_subscribed(names: Sequence[str]) -> str:
    """/start with a topic in the link: welcome plus the subscription."""
    return f"{WELCOME}\n\n{subscribed(names)}"


def format_local(moment: datetime) -> str:
    """A local time as "Tue 16 Jan, 08:00"."""
    return f"{moment:%a} {moment.day} {moment:%b, %H:%M}"


def _schedule_words(mode: ChatMode, times: Sequence[str], days: Sequence[int] = ()) -> str:
    if mode == "instant":
        return "instant, as stories arrive"
    if mode == "off" or not times:
        return "off (send /digest any time)"
    on_days = weekday_words(days)
    return f"{_and_list(times)} on {on_days}" if on_days else _and_list(times)


def _filter_words(include: Sequence[str], exclude: Sequence[str]) -> str:
    parts = []
    if include:
        parts.append(f"only stories with {_or_list(include)}")
    if exclude:
        parts.append(f"never {_or_list(exclude)}")
    return "; ".join(parts) if parts else "none"


def _and_list(items: Sequence[str]) -> str:
    return _join(items, "and")


def _or_list(items: Sequence[str]) -> str:
    return _join(items, "or")


def _join(items: Sequence[str], word: str) -> str:
    """ "a", "a and b", "a, b and c", each item escaped and shortened."""
    safe = [user_text(item) for item in items]
    if len(safe) <= 1:
        return "".join(safe)
    return f"{', '.join(safe[:-1])} {word} {safe[-1]}"
