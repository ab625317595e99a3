"""Every reply the bot writes in chats, in one place, in the chat's language.

Each text is a constant (an English msgid marked with ``N_``: send it as
``tr(lang, texts.PAUSED)``) or a function whose last argument is the chat's
language ``lang`` (see :mod:`bot.language`). Replies are Telegram HTML.
Anything a user typed (and any configured name) goes through :func:`user_text`,
which drops control characters and bidi overrides (one typed "\u202e" would
reverse the rest of the reply), shortens it and escapes ``< > &``. Toasts
(answerCallbackQuery) are plain text: see the ``*_toast`` functions. Times are
shown 24-hour "HH:MM" in the chat's own zone; callers pass local values; dates
are written by Babel in the chat's language.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

from babel.dates import format_datetime

from bot.digest.wording import and_list, or_list, weekday_name, zone_label
from bot.language import DEFAULT_LANGUAGE, N_, ntr, tr
from bot.sources.text import safe_text
from bot.store.records import ChatMode

ECHO_MAX_CHARS = 60
TOAST_MAX_CHARS = 200
LOCAL_TIME_PATTERN = "EEE d MMM, HH:mm"  # Babel (CLDR) pattern of format_local

# (command, one-line description): used for /help and for setMyCommands.
COMMANDS: tuple[tuple[str, str], ...] = (
    ("start", N_("Welcome and the topic list")),
    ("help", N_("All commands")),
    ("topics", N_("Pick topics with buttons")),
    ("subscribe", N_("Follow topics, e.g. /subscribe world news, sport, or all")),
    ("unsubscribe", N_("Drop a topic, or all: /unsubscribe sport")),
    ("mytopics", N_("Your topics, schedule, time zone and filters")),
    ("digest", N_("Send me what is new right now")),
    ("schedule", N_("Digest times, e.g. /schedule 08:00 18:30, mon-fri 07:30, instant or off")),
    ("quiet", N_("Quiet hours for instant news, e.g. /quiet 23:00-07:00, or off")),
    ("timezone", N_("Your time zone, e.g. /timezone Asia/Kolkata, +05:30 or Tokyo")),
    ("language", N_("The bot's language: /language en, ru or es")),
    ("filter", N_("Only or never stories with words: include, exclude, clear")),
    ("search", N_("Find recent stories: /search election")),
    ("pause", N_("Pause digests")),
    ("resume", N_("Resume digests")),
    ("stop", N_("Delete everything about this chat")),
    ("add", N_("Follow any feed or site: /add https://example.com/feed.xml")),
    ("feeds", N_("Your own feeds, with buttons to remove them")),
    ("remove", N_("Drop one of your feeds: /remove 2")),
    ("import", N_("Add the feeds of an OPML file (send it with /import as caption)")),
    ("export", N_("Your feeds as an OPML file")),
    ("channels", N_("Manage a channel you added me to")),
)

WELCOME = N_(
    "👋 Hi! I send you short digests of the news topics you pick.\n"
    "Tap topics below to follow them; /help lists everything else."
)
CHOOSE_TOPICS = N_("Tap a topic to follow it, tap again to drop it.")
TOPICS_DONE = N_("All set. /mytopics shows your topics and schedule.")
NO_TOPICS_CONFIGURED = N_("There are no topics yet. Please try again later.")
NO_TOPICS_YET = N_(
    "You don't follow any topics yet. Add one with /subscribe world news, "
    "or pick some with /topics."
)
UNSUBSCRIBE_USAGE = N_("Which topic? For example: /unsubscribe sport, or /unsubscribe all")
UNSUBSCRIBED_ALL = N_("Done: you follow no topics now. /topics to pick again.")
SEARCH_USAGE = N_("What should I look for? For example: /search election results")
PAUSED = N_("Paused. No digests until you send /resume.")
RESUMED = N_("Welcome back! Digests are on again.")
ALREADY_PAUSED = N_("Already paused. Send /resume to start again.")
NOT_PAUSED = N_("Digests are already on.")
STOP_CONFIRM = N_("Delete your topics, schedule and filters, and stop all messages?")
STOPPED = N_("Done. I deleted everything about this chat. Send /start to begin again.")
STOP_CANCELLED = N_("Cancelled. Nothing changed.")
ADMINS_ONLY = N_("Sorry, only group admins can change this group's news settings.")
TOO_LONG_INPUT = N_("That is a bit long for me. Please keep it shorter.")
UNKNOWN_COMMAND = N_("I don't know that command. /help lists what I can do.")
SLOW_DOWN = N_("You are sending messages faster than I can answer. Please wait a moment.")
SOMETHING_WENT_WRONG = N_("Sorry, something went wrong on my side. Please try again in a minute.")
STOP_BUTTON_YES = N_("Yes, delete everything")
STOP_BUTTON_NO = N_("Cancel")
DONE_BUTTON = N_("Done")
MORE_GONE = N_("Those stories are no longer available.")
ADD_A_TOPIC = N_("Add one with /subscribe world news, or pick with /topics.")
QUIET_OFF = N_("Quiet hours are off: instant news comes at any hour.")
CHOOSE_LANGUAGE = N_("Choose the language I write in:")
_TIMEZONE_EXAMPLES = N_("Try a zone, an offset or a city: /timezone Asia/Kolkata, +05:30 or Tokyo")


def user_text(text: str, limit: int = ECHO_MAX_CHARS) -> str:
    """``text`` made safe for Telegram HTML, cut at ``limit`` characters with "…"."""
    flat = " ".join(safe_text(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return html.escape(flat, quote=False)


def command_menu(lang: str = DEFAULT_LANGUAGE) -> list[tuple[str, str]]:
    """(command, description) in ``lang``: /help's lines and the setMyCommands menu."""
    return [(name, tr(lang, description)) for name, description in COMMANDS]


def help_text(lang: str = DEFAULT_LANGUAGE) -> str:
    """One line per command: "/subscribe — Follow topics, ..."."""
    lines = [f"/{name} — {html.escape(about, quote=False)}" for name, about in command_menu(lang)]
    heading = tr(lang, "What I can do")
    return f"<b>{heading}</b>\n" + "\n".join(lines)


def language_set(name: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """Confirmation of /language, in the new language."""
    return tr(lang, "🌐 From now on I write in {language}.").format(language=name)


def bad_language(text: str, choices: Sequence[str], lang: str = DEFAULT_LANGUAGE) -> str:
    """/language with a language the bot does not speak."""
    words = tr(lang, "I don't speak '{text}' yet. Choose one: {choices}")
    return words.format(text=user_text(text, 20), choices=", ".join(choices))


def unknown_topic(text: str, suggestions: Sequence[str] = (), lang: str = DEFAULT_LANGUAGE) -> str:
    """ "No topic 'x'. Did you mean World news? /topics lists them all." """
    if suggestions:
        words = tr(lang, "No topic '{text}'. Did you mean {names}? /topics lists them all.")
        return words.format(text=user_text(text), names=_or_list(suggestions, lang))
    return tr(lang, "No topic '{text}'. /topics lists them all.").format(text=user_text(text))


def subscribed(names: Sequence[str], lang: str = DEFAULT_LANGUAGE) -> str:
    """Confirmation after following topics."""
    return tr(lang, "✅ You now follow {names}.").format(names=_and_list(names, lang))


def subscribed_all(count: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """Confirmation of /subscribe all."""
    words = ntr(
        lang, "✅ You now follow all {n} topic.", "✅ You now follow all {n} topics.", count
    )
    return words.format(n=count)


def unsubscribed(names: Sequence[str], lang: str = DEFAULT_LANGUAGE) -> str:
    """Confirmation after dropping topics."""
    return tr(lang, "Dropped {names}.").format(names=_and_list(names, lang))


def not_subscribed(names: Sequence[str], lang: str = DEFAULT_LANGUAGE) -> str:
    """The chat did not follow these topics in the first place."""
    return tr(lang, "You don't follow {names}.").format(names=_or_list(names, lang))


def already_subscribed(names: Sequence[str], lang: str = DEFAULT_LANGUAGE) -> str:
    """Every named topic was followed already."""
    return tr(lang, "You already follow {names}.").format(names=_and_list(names, lang))


def topic_toggled_toast(name: str, is_subscribed: bool, lang: str = DEFAULT_LANGUAGE) -> str:
    """Plain-text toast after pressing a topic button (not HTML)."""
    words = tr(lang, "Following {name}") if is_subscribed else tr(lang, "Stopped following {name}")
    return words.format(name=name)[:TOAST_MAX_CHARS]


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
    lang: str = DEFAULT_LANGUAGE,
) -> str:
    """Everything about the chat's settings; ``next_at`` is already in the chat's zone.

    Without topics the next digest is not shown (there would be none): the
    first line says how to add one.
    """
    if not topic_names:
        topics = tr(lang, "none yet. {add_one}").format(add_one=tr(lang, ADD_A_TOPIC))
    else:
        topics = _and_list(topic_names, lang)
    lines = [
        _field(tr(lang, "Topics:"), topics),
        _field(tr(lang, "Schedule:"), _schedule_words(mode, times, days, lang)),
        _field(tr(lang, "Time zone:"), zone_text(tz, next_at)),
        _field(tr(lang, "Filters:"), _filter_words(include, exclude, lang)),
    ]
    if quiet is not None:
        lines.append(_field(tr(lang, "Quiet hours:"), quiet_words(quiet, mode, lang)))
    if is_paused:
        lines.append(tr(lang, "<b>Paused</b>: send /resume to get digests again."))
    elif topic_names and mode == "scheduled" and next_at is not None:
        lines.append(_field(tr(lang, "Next digest:"), format_local(next_at, lang)))
    return "\n".join(lines)


def own_feeds_count(count: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """The /mytopics line counting the chat's own feeds."""
    words = tr(lang, "<b>My feeds:</b> {n} (/feeds lists them)")
    return words.format(n=count)


def _field(label: str, value: str) -> str:
    return f"<b>{label}</b> {value}"


def zone_text(tz: str, at: datetime | None = None) -> str:
    """The chat's zone as people read it: "UTC-05:00", "Asia/Kolkata (UTC+05:30)"."""
    return user_text(zone_label(tz, at))


def schedule_set(
    mode: ChatMode,
    times: Sequence[str],
    tz: str,
    next_at: datetime | None,
    days: Sequence[int] = (),
    lang: str = DEFAULT_LANGUAGE,
) -> str:
    """Confirmation of /schedule; ``next_at`` is already in the chat's zone."""
    if mode == "instant":
        return tr(
            lang,
            "⚡ You'll get new stories as soon as they arrive. "
            "/quiet 23:00-07:00 holds them back at night.",
        )
    if mode == "off":
        return tr(lang, "Scheduled digests are off. Send /digest whenever you want the news.")
    when = _schedule_words(mode, times, days, lang)
    text = tr(lang, "🕗 Digests at {when}, {zone}.").format(when=when, zone=zone_text(tz, next_at))
    if next_at is None:
        return text
    return text + " " + tr(lang, "Next one: {when}.").format(when=format_local(next_at, lang))


def schedule_usage(lang: str = DEFAULT_LANGUAGE) -> str:
    """How to use /schedule."""
    return tr(
        lang,
        "Times look like 08:00 or 18:30, for example: /schedule 08:00 18:30\n"
        "Days come first: /schedule mon-fri 07:30, /schedule sat 10:00\n"
        "Or /schedule instant for news as it comes, /schedule off for none.",
    )


def quiet_set(quiet: tuple[str, str], mode: ChatMode, tz: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """Confirmation of /quiet."""
    words = tr(lang, "🌙 Quiet hours {span}, {zone}.")
    return words.format(span=quiet_words(quiet, mode, lang), zone=zone_text(tz))


def quiet_usage(lang: str = DEFAULT_LANGUAGE) -> str:
    """How to use /quiet."""
    return tr(
        lang,
        "Quiet hours hold instant news back and send it when they end. For example: "
        "/quiet 23:00-07:00, or /quiet off",
    )


def bad_quiet(text: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A /quiet argument that is no pair of times."""
    words = tr(lang, "'{text}' is not a pair of times.").format(text=user_text(text, 30))
    return f"{words} {quiet_usage(lang)}"


def quiet_words(quiet: tuple[str, str], mode: ChatMode, lang: str = DEFAULT_LANGUAGE) -> str:
    """ "23:00–07:00", with a note when the chat is not instant (they apply only then)."""
    span = f"{quiet[0]}–{quiet[1]}"
    if mode == "instant":
        return span
    return tr(lang, "{span} (for /schedule instant)").format(span=span)


def weekday_words(days: Sequence[int], lang: str = DEFAULT_LANGUAGE) -> str:
    """ "Mon–Fri", "Sat", "Mon, Wed and Fri"; "" for every day."""
    ordered = sorted(set(days))
    if not ordered or len(ordered) == 7:
        return ""
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{weekday_name(ordered[0], lang)}–{weekday_name(ordered[-1], lang)}"
    return _and_list([weekday_name(day, lang) for day in ordered], lang)


def bad_time(token: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A /schedule argument that is no time of day."""
    words = tr(lang, "'{text}' is not a time I can read.").format(text=user_text(token, 20))
    return f"{words} {schedule_usage(lang)}"


def too_many_times(limit: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """More digest times than allowed."""
    words = ntr(
        lang,
        "At most {n} digest a day, please. For example: /schedule 08:00 18:30",
        "At most {n} digests a day, please. For example: /schedule 08:00 18:30",
        limit,
    )
    return words.format(n=limit)


def timezone_set(tz: str, local_now: datetime, lang: str = DEFAULT_LANGUAGE) -> str:
    """Confirmation of /timezone showing the local time there now."""
    words = tr(lang, "🌍 Time zone set to {zone}. It's {time} there now.")
    return words.format(zone=zone_text(tz, local_now), time=f"{local_now:%H:%M}")


def timezone_usage(current: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """/timezone without an argument."""
    words = tr(lang, "Your time zone is {zone}.").format(zone=zone_text(current))
    return f"{words} {tr(lang, _TIMEZONE_EXAMPLES)}"


def bad_timezone(text: str, suggestion: str | None, lang: str = DEFAULT_LANGUAGE) -> str:
    """A /timezone argument we could not place."""
    if suggestion:
        words = tr(lang, "I don't know the time zone '{text}'. Did you mean {zone}?")
        words = words.format(text=user_text(text), zone=user_text(suggestion))
    else:
        words = tr(lang, "I don't know the time zone '{text}'.").format(text=user_text(text))
    return f"{words} {tr(lang, _TIMEZONE_EXAMPLES)}"


def bad_offset(text: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """A UTC offset no zone uses, like +05:10 or +20."""
    words = tr(lang, "No place uses the offset '{text}'.").format(text=user_text(text, 20))
    return f"{words} {tr(lang, _TIMEZONE_EXAMPLES)}"


def filters_text(
    include: Sequence[str], exclude: Sequence[str], lang: str = DEFAULT_LANGUAGE
) -> str:
    """The chat's filters after a change, with how to clear them."""
    if not include and not exclude:
        return tr(lang, "No filters: you get every story of your topics.")
    words = tr(lang, "Filters: {filters}\n/filter clear removes them.")
    return words.format(filters=_filter_words(include, exclude, lang))


def filter_usage(lang: str = DEFAULT_LANGUAGE) -> str:
    """How to use /filter."""
    return tr(
        lang,
        'For example: /filter include climate "electric cars", '
        "/filter exclude football, or /filter clear. Whole words, any case.",
    )


def too_many_words(limit: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """More filter words than allowed."""
    words = ntr(
        lang, "At most {n} filter word, please.", "At most {n} filter words, please.", limit
    )
    return words.format(n=limit)


def word_too_long(word: str, limit: int, lang: str = DEFAULT_LANGUAGE) -> str:
    """A filter word or phrase longer than allowed."""
    words = ntr(
        lang,
        "'{text}' is too long: keep each word under {n} character.",
        "'{text}' is too long: keep each word under {n} characters.",
        limit,
    )
    return words.format(text=user_text(word, 30), n=limit)


def nothing_new(
    last_digest_local: datetime | None,
    mode: ChatMode = "off",
    next_local: datetime | None = None,
    tz: str = "UTC",
    lang: str = DEFAULT_LANGUAGE,
) -> str:
    """/digest when there is nothing new (the welcome digest right after /subscribe
    counts as a digest): what comes next and when; times are in the chat's zone."""
    if last_digest_local is None:
        first = tr(lang, "Nothing new yet. I'll have stories as soon as the feeds update.")
    else:
        first = tr(lang, "Nothing new since your last digest at {time}.")
        first = first.format(time=f"{last_digest_local:%H:%M}")
    return f"{first} {_what_comes_next(mode, next_local, tz, lang)}"


def _what_comes_next(mode: ChatMode, next_local: datetime | None, tz: str, lang: str) -> str:
    if mode == "instant":
        return tr(lang, "New stories come here as soon as they arrive.")
    if mode == "scheduled" and next_local is not None:
        when = f"{format_local(next_local, lang)} {zone_text(tz, next_local)}"
        words = tr(lang, "Your next digest: {when}; /digest before then shows what is new.")
        return words.format(when=when)
    return tr(lang, "Scheduled digests are off: send /digest again later.")


def search_none(words: str, lang: str = DEFAULT_LANGUAGE) -> str:
    """No stories matched /search."""
    return tr(lang, "No recent stories match '{text}'.").format(text=user_text(words))


def deep_link_subscribed(names: Sequence[str], lang: str = DEFAULT_LANGUAGE) -> str:
    """/start with a topic in the link: welcome plus the subscription."""
    return f"{tr(lang, WELCOME)}\n\n{subscribed(names, lang)}"


def format_local(moment: datetime, lang: str = DEFAULT_LANGUAGE) -> str:
    """A local time as "Tue 16 Jan, 08:00" (in the words of ``lang``)."""
    return format_datetime(moment, LOCAL_TIME_PATTERN, locale=lang)


def _schedule_words(
    mode: ChatMode, times: Sequence[str], days: Sequence[int] = (), lang: str = DEFAULT_LANGUAGE
) -> str:
    if mode == "instant":
        return tr(lang, "instant, as stories arrive")
    if mode == "off" or not times:
        return tr(lang, "off (send /digest any time)")
    on_days = weekday_words(days, lang)
    if not on_days:
        return _and_list(times, lang)
    return tr(lang, "{times} on {days}").format(times=_and_list(times, lang), days=on_days)


def _filter_words(include: Sequence[str], exclude: Sequence[str], lang: str) -> str:
    parts = []
    if include:
        parts.append(tr(lang, "only stories with {words}").format(words=_or_list(include, lang)))
    if exclude:
        parts.append(tr(lang, "never {words}").format(words=_or_list(exclude, lang)))
    return "; ".join(parts) if parts else tr(lang, "none")


def _and_list(items: Sequence[str], lang: str = DEFAULT_LANGUAGE) -> str:
    """ "a", "a and b", "a, b and c", each item escaped and shortened."""
    return and_list([user_text(item) for item in items], lang)


def _or_list(items: Sequence[str], lang: str = DEFAULT_LANGUAGE) -> str:
    return or_list([user_text(item) for item in items], lang)
