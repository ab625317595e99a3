"""Every user-facing text is in the catalogues, and every text reads in the chat's language.

Two nets: Babel's extractor finds every text marked in ``bot/`` (``tr``, ``ntr``,
``N_``) and each catalogue must translate each one (all plural forms, the same
placeholders); and every text function rendered with sample values in Russian
and Spanish must differ from its English and carry no English msgid inside it
(a text built outside ``tr`` or a msgid missing from a catalogue shows up here).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot.chat import channel_texts, operator_texts, own_feed_texts, texts
from bot.chat.feed_adder import AddResult, failure_reason, read_url
from bot.digest import wording
from bot.errors import FetchRefused, HTTPStatusError
from bot.language import EXTRACT_KEYWORDS, LANGUAGES, LOCALE_DIR, language_of, ntr, tr
from bot.store.chat_sources import OwnFeed
from bot.store.records import ChatCounts, OutboxBacklog, Source

BOT_DIR = Path(__file__).resolve().parent.parent / "bot"
TRANSLATED = [lang for lang in LANGUAGES if lang != "en"]
NOW = datetime(2026, 11, 27, 8, 5, tzinfo=UTC)
LOCAL = NOW.astimezone(ZoneInfo("Europe/Madrid"))
_PLACEHOLDER = re.compile(r"\{[a-z_]*\}")


def extracted() -> dict[str, tuple[str, ...]]:
    """Every marked msgid in bot/ (a plural as its singular) with its forms."""
    found: dict[str, tuple[str, ...]] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(BOT_DIR), keywords=EXTRACT_KEYWORDS, comment_tags=()
    ):
        forms = (message,) if isinstance(message, str) else tuple(message)
        found[forms[0]] = forms
    return found


def catalogue(lang: str) -> Catalog:
    with (LOCALE_DIR / lang / "LC_MESSAGES" / "newsbot.po").open("rb") as source:
        return read_po(source, locale=lang)


MSGIDS = extracted()


def test_the_extractor_finds_the_texts() -> None:
    assert len(MSGIDS) > 150
    assert "Your news digest" in MSGIDS and "What I can do" in MSGIDS


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_marked_text_is_translated(lang: str) -> None:
    cat = catalogue(lang)
    missing = []
    for msgid, forms in MSGIDS.items():
        message = cat.get(msgid)
        found = message.string if message is not None else ""
        strings = (found,) if isinstance(found, str) else tuple(found or ())
        if message is None or message.fuzzy or not all(strings):
            missing.append(msgid)
            continue
        if len(forms) > 1:
            assert len(strings) == cat.num_plurals, msgid
        for string in strings:
            assert set(_PLACEHOLDER.findall(string)) == set(_PLACEHOLDER.findall(forms[-1])), (
                msgid,
                string,
            )
    assert not missing, f"not in {lang}/newsbot.po: {missing}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogues_hold_no_stale_texts(lang: str) -> None:
    stale = [
        m.id
        for m in catalogue(lang)
        if m.id and (m.id if isinstance(m.id, str) else m.id[0]) not in MSGIDS
    ]
    assert not stale, f"{lang}/newsbot.po translates texts the code no longer has: {stale}"


def test_russian_plurals_take_three_forms() -> None:
    forms = [
        ntr("ru", "+{n} more update", "+{n} more updates", n).format(n=n) for n in (1, 3, 5, 21)
    ]
    assert forms == ["+1 обновление", "+3 обновления", "+5 обновлений", "+21 обновление"]


def test_telegram_language_codes_map_to_the_bots_languages() -> None:
    assert language_of("ru") == "ru"
    assert language_of("es-419") == "es"
    assert language_of("pt-br") == "en"
    assert language_of("de", default="es") == "es"
    assert language_of(None) == "en"


def test_unknown_language_reads_english() -> None:
    assert tr("xx", texts.PAUSED) == texts.PAUSED


def test_dates_are_in_the_chats_language() -> None:
    zone = ZoneInfo("Europe/Madrid")
    assert wording.header_time(NOW, zone, "en") == "Fri 27 Nov 09:05"
    assert wording.header_time(NOW, zone, "ru") == "пт 27 нояб. 09:05"
    assert wording.header_time(NOW, zone, "es") == "vie 27 nov 09:05"
    earlier = NOW - timedelta(days=1)
    assert wording.item_time(earlier, zone, NOW, "ru") == "вчера 09:05"
    assert wording.item_time(earlier - timedelta(days=400), zone, NOW, "es") == "22 oct 2025, 10:05"
    assert texts.weekday_words([0, 1, 2, 3, 4], "ru") == "пн–пт"


# ---- every text function, in every language ----------------------------------------------

SOURCE = Source(
    id=1,
    name="Wire",
    url="https://wire.example/feed",
    kind="feed",
    etag=None,
    last_modified=None,
    next_poll_at=NOW,
    error_count=3,
    last_error="timeout",
    last_success_at=NOW - timedelta(hours=3),
    last_polled_at=NOW - timedelta(minutes=5),
    redirect_url=None,
)
HEALTHY = replace(SOURCE, id=2, error_count=0)
FEED = OwnFeed(1, "Blog", "https://blog.example/feed", "HTTP 500", None)
ADDED = AddResult("added", "https://blog.example/feed", "Blog", headline="Hello")
PRIVATE = "http://x/: refused: 10.0.0.1 is a private address; allow it with fetch.allow_hosts"
REFUSED = AddResult("refused", "http://10.0.0.1/feed", reason="the page is too large")

Text = Callable[[str], str]
# One call per text function (and branch), each a function of the language.
TEXTS: dict[str, Text] = {
    "help": texts.help_text,
    "language_set": lambda lang: texts.language_set("Русский", lang),
    "bad_language": lambda lang: texts.bad_language("de", LANGUAGES, lang),
    "unknown_topic": lambda lang: texts.unknown_topic("cinema", ["Film", "Science"], lang),
    "unknown_topic_plain": lambda lang: texts.unknown_topic("cinema", (), lang),
    "subscribed": lambda lang: texts.subscribed(["World", "Sport"], lang),
    "subscribed_all": lambda lang: texts.subscribed_all(5, lang),
    "unsubscribed": lambda lang: texts.unsubscribed(["World"], lang),
    "not_subscribed": lambda lang: texts.not_subscribed(["World", "Sport"], lang),
    "already_subscribed": lambda lang: texts.already_subscribed(["World"], lang),
    "toast_on": lambda lang: texts.topic_toggled_toast("World", True, lang),
    "toast_off": lambda lang: texts.topic_toggled_toast("World", False, lang),
    "my_topics": lambda lang: texts.my_topics(
        ["World"],
        "scheduled",
        ["08:00"],
        "UTC",
        ["a"],
        ["b"],
        LOCAL,
        days=[0, 1],
        quiet=("23:00", "07:00"),
        lang=lang,
    ),
    "my_topics_none": lambda lang: texts.my_topics(
        [], "off", [], "UTC", [], [], None, is_paused=True, lang=lang
    ),
    "own_feeds_count": lambda lang: texts.own_feeds_count(2, lang),
    "schedule_instant": lambda lang: texts.schedule_set("instant", [], "UTC", None, lang=lang),
    "schedule_off": lambda lang: texts.schedule_set("off", [], "UTC", None, lang=lang),
    "schedule_set": lambda lang: texts.schedule_set(
        "scheduled", ["08:00", "18:30"], "UTC", LOCAL, [5], lang
    ),
    "schedule_usage": texts.schedule_usage,
    "quiet_set": lambda lang: texts.quiet_set(("23:00", "07:00"), "scheduled", "UTC", lang),
    "quiet_usage": texts.quiet_usage,
    "bad_quiet": lambda lang: texts.bad_quiet("late", lang),
    "bad_time": lambda lang: texts.bad_time("25:00", lang),
    "too_many_times": lambda lang: texts.too_many_times(6, lang),
    "timezone_set": lambda lang: texts.timezone_set("Europe/Madrid", LOCAL, lang),
    "timezone_usage": lambda lang: texts.timezone_usage("UTC", lang),
    "bad_timezone": lambda lang: texts.bad_timezone("Tokio", "Asia/Tokyo", lang),
    "bad_timezone_plain": lambda lang: texts.bad_timezone("Nowhere", None, lang),
    "bad_offset": lambda lang: texts.bad_offset("+05:10", lang),
    "filters_none": lambda lang: texts.filters_text([], [], lang),
    "filters": lambda lang: texts.filters_text(["a", "b"], ["c"], lang),
    "filter_usage": texts.filter_usage,
    "too_many_words": lambda lang: texts.too_many_words(20, lang),
    "word_too_long": lambda lang: texts.word_too_long("x" * 50, 40, lang),
    "nothing_new_first": lambda lang: texts.nothing_new(None, "instant", lang=lang),
    "nothing_new": lambda lang: texts.nothing_new(LOCAL, "scheduled", LOCAL, "UTC", lang),
    "nothing_new_off": lambda lang: texts.nothing_new(LOCAL, "off", lang=lang),
    "search_none": lambda lang: texts.search_none("xyz", lang),
    "deep_link": lambda lang: texts.deep_link_subscribed(["World"], lang),
    "format_local": lambda lang: texts.format_local(LOCAL, lang),
    "schedule_words_instant": lambda lang: texts.my_topics(
        ["W"], "instant", [], "UTC", [], [], None, lang=lang
    ),
    "welcome_title": lambda lang: wording.welcome_title(["World", "Sport"], lang),
    "welcome_footer": lambda lang: wording.welcome_footer("Fri 27 Nov 08:00", "scheduled", lang),
    "welcome_footer_off": lambda lang: wording.welcome_footer(None, "scheduled", lang),
    "welcome_footer_instant": lambda lang: wording.welcome_footer(None, "instant", lang),
    "continued": lambda lang: wording.continued("World", lang),
    "more_in_topic": lambda lang: wording.more_in_topic(3, "World", lang),
    "more_updates": lambda lang: wording.more_updates(3, lang),
    "also_covered_by": lambda lang: wording.also_covered_by(["A", "B"], lang),
    "more_title": lambda lang: wording.more_title("World", lang),
    "item_time": lambda lang: wording.item_time(
        NOW - timedelta(days=1), ZoneInfo("UTC"), NOW, lang
    ),
    "day_month": lambda lang: wording.day_month(date(2026, 5, 15), lang),
    "add_added": lambda lang: own_feed_texts.add_result(ADDED, lang=lang),
    "add_already": lambda lang: own_feed_texts.add_result(
        AddResult("already", "u", "Blog"), lang=lang
    ),
    "add_full": lambda lang: own_feed_texts.add_result(AddResult("full", "u"), limit=20, lang=lang),
    "add_catalogue": lambda lang: own_feed_texts.add_result(
        AddResult("catalogue", "u", "Wire"), ["World"], lang=lang
    ),
    "add_refused": lambda lang: own_feed_texts.add_result(REFUSED, lang=lang),
    "add_http_status": lambda lang: own_feed_texts.add_result(
        AddResult("failed", "u", reason=failure_reason(HTTPStatusError(404, "u"))), lang=lang
    ),
    "add_private_address": lambda lang: own_feed_texts.add_result(
        AddResult("refused", "u", reason=failure_reason(FetchRefused(PRIVATE))), lang=lang
    ),
    "add_long_link": lambda lang: own_feed_texts.add_result(
        AddResult("refused", "u", reason=read_url("x" * 3000)[1] or ""), lang=lang
    ),
    "add_failed": lambda lang: own_feed_texts.add_result(
        AddResult("failed", "u", reason="I could not read it"), lang=lang
    ),
    "rate_limited": lambda lang: own_feed_texts.rate_limited(600, lang),
    "feeds_list": lambda lang: own_feed_texts.feeds_list([FEED] * 51, lang),
    "feeds_none": lambda lang: own_feed_texts.feeds_list([], lang),
    "removed": lambda lang: own_feed_texts.removed("Blog", lang),
    "no_such_feed": lambda lang: own_feed_texts.no_such_feed("9", lang),
    "removed_toast": lambda lang: own_feed_texts.removed_toast("Blog", lang),
    "import_refused": lambda lang: own_feed_texts.import_refused(
        own_feed_texts.DOWNLOAD_FAILED, lang
    ),
    "import_too_large": lambda lang: own_feed_texts.import_too_large(100_000, lang),
    "import_report": lambda lang: own_feed_texts.import_report(
        [ADDED, AddResult("already", "u", "Old"), REFUSED, AddResult("full", "v")] + [ADDED] * 16,
        lang,
    ),
    "import_empty": lambda lang: own_feed_texts.import_report([], lang),
    "channels_list": lambda lang: channel_texts.channels_list(["News"], None, lang),
    "managing": lambda lang: channel_texts.managing("News", lang),
    "status": lambda lang: operator_texts.status(
        ChatCounts(3, 1, 2),
        {"World": 2},
        10,
        OutboxBacklog(4, NOW - timedelta(hours=1)),
        NOW + timedelta(minutes=5),
        NOW - timedelta(minutes=3),
        NOW,
        lang,
    ),
    "status_idle": lambda lang: operator_texts.status(
        ChatCounts(), {}, 0, OutboxBacklog(0, None), None, None, NOW, lang
    ),
    "sources_health": lambda lang: operator_texts.sources_health(
        [SOURCE] * 31 + [HEALTHY],
        NOW,
        lang,
    ),
    "announce_preview": lambda lang: operator_texts.announce_preview("Hi", 5, lang),
    "announce_too_long": lambda lang: operator_texts.announce_too_long(5000, lang),
    "announce_queued": lambda lang: operator_texts.announce_queued(5, lang),
    "sources_failing_alert": lambda lang: operator_texts.sources_failing_alert(
        [SOURCE] * 31, 5, NOW, lang
    ),
    "flood_wait_alert": lambda lang: operator_texts.flood_wait_alert(
        NOW, NOW + timedelta(minutes=30), NOW, lang
    ),
}
# Constants (msgids) are translated where they are sent.
CONSTANTS = sorted(
    {
        value
        for module in (texts, own_feed_texts, channel_texts, operator_texts, wording)
        for name, value in vars(module).items()
        if name.isupper() and isinstance(value, str) and value in MSGIDS
    }
)


def _english_fragments() -> list[str]:
    """The literal pieces of every msgid that are long enough to be sure English."""
    pieces = []
    for forms in MSGIDS.values():
        for form in forms:
            pieces += [p.strip() for p in _PLACEHOLDER.split(form) if len(p.strip()) >= 12]
    return pieces


ENGLISH = _english_fragments()


@pytest.mark.parametrize("lang", TRANSLATED)
@pytest.mark.parametrize("name", sorted(TEXTS))
def test_every_text_function_speaks_the_language(name: str, lang: str) -> None:
    english, translated = TEXTS[name]("en"), TEXTS[name](lang)
    assert translated != english
    leftovers = [piece for piece in ENGLISH if piece in translated]
    assert not leftovers, f"{name} in {lang} still says {leftovers}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_constant_speaks_the_language(lang: str) -> None:
    assert len(CONSTANTS) > 40
    same = [text for text in CONSTANTS if tr(lang, text) == text and text not in _SAME_IN_ALL]
    assert not same, f"untranslated in {lang}: {same}"


# Words that read the same in every language the bot speaks.
_SAME_IN_ALL = {"Flood wait:", "Chats:"}
