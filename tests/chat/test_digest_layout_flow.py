"""The digest's layout and the chat around it, end to end through the fake Telegram:
the labelled welcome and what /digest says after it, the "+K more" button,
/subscribe all, /mytopics without topics, topic words, offsets as UTC-05:00,
weekday schedules and quiet hours.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.app import NewsBot
from bot.chat import texts
from bot.settings import SourceConfig
from tests.chat.conftest import (
    NOW,
    Person,
    eventually,
    make_settings,
    start_bot,
    stored_chat,
)
from tests.fakes.news_site import FakeNewsSite, FeedItem
from tests.fakes.telegram import FakeTelegram

# Eight unrelated stories (no two group as one) of the last hours: a section of
# five (stories_per_topic) and "+3 more".
HEADLINES = [
    ("Earthquake shakes coastal city", "A strong earthquake shook the coastal city overnight."),
    ("Leaders meet for climate summit", "Leaders of forty nations met to talk about emissions."),
    ("Central bank holds interest rates", "The central bank kept its key rate unchanged."),
    ("Ferry operators add winter sailings", "Two ferry firms will add forty island crossings."),
    ("Museum returns looted bronzes", "A museum returned seventy bronzes taken in 1897."),
    ("Rail strike called off after talks", "Unions and operators reached a deal past midnight."),
    ("Library extends weekend hours", "The central library will open on Sundays from June."),
    ("Divers find wreck of old warship", "Divers found an intact warship in the Baltic Sea."),
]
ITEMS = [
    FeedItem(
        title,
        f"https://news.example/world/{n}",
        f"<p>{summary}</p>",
        f"w-{n}",
        NOW - timedelta(hours=1, minutes=10 * n),
    )
    for n, (title, summary) in enumerate(HEADLINES)
]


@pytest.fixture
async def busy_bot(tg: FakeTelegram, database_url: str) -> AsyncIterator[NewsBot]:
    """The bot with one world source whose eight stories are stored."""
    async with FakeNewsSite() as site:
        site.add_feed("/world.xml", title="World Wire", items=ITEMS)
        source = SourceConfig(name="World Wire", url=site.url("/world.xml"), topics=["world"])
        async with start_bot(make_settings(tg, database_url, [source])) as bot:

            async def stored() -> bool:
                return await bot.store.articles.count() >= len(ITEMS)

            await eventually(stored, within_seconds=60)
            yield bot


async def test_welcome_is_labelled_and_digest_after_it_says_what_comes_next(
    busy_bot: NewsBot, alice: Person
) -> None:
    confirmation, welcome = await alice.say("/subscribe world news", replies=2)
    assert confirmation.plain_text == "✅ You now follow World news."
    first_line = welcome.plain_text.split("\n", 1)[0]
    assert first_line == "👋 Welcome digest: the last 24 hours of World news · UTC"
    assert welcome.plain_text.endswith(
        "Your next digest: Wed 15 May 08:00. /digest shows what is new before then."
    )
    # The outlet is the link, the time is local and relative (the zone is in the header).
    assert "World Wire · 04:50" in welcome.plain_text
    assert any(e.get("url") == "https://news.example/world/0" for e in welcome.entities)

    after = await alice.ask("/digest")
    assert after.plain_text == (
        "Nothing new since your last digest at 06:00. Your next digest: Wed 15 May, 08:00 "
        "UTC; /digest before then shows what is new."
    )


async def test_more_button_sends_the_rest_of_the_section_once(
    busy_bot: NewsBot, alice: Person, tg: FakeTelegram
) -> None:
    _, welcome = await alice.say("/subscribe world", replies=2)
    shown = [title for title, _ in HEADLINES if title in welcome.plain_text]
    assert len(shown) == 5
    assert welcome.reply_markup is not None
    [[button]] = welcome.reply_markup["inline_keyboard"]
    assert button["text"] == "+3 more in World news"
    assert "more in World news" not in welcome.plain_text

    before = len(alice.inbox())
    answer = await alice.press(welcome, button["callback_data"])
    [rest] = (await tg.wait_for_messages(alice.chat_id, before + 1))[before:]
    await tg.wait_until(lambda: len(tg.edits) == 1)

    assert answer.text is None
    assert rest.plain_text.startswith("More in World news · UTC")
    rest_titles = [title for title, _ in HEADLINES if title in rest.plain_text]
    assert sorted(rest_titles + shown) == sorted(title for title, _ in HEADLINES)
    assert tg.edits[0].message_id == welcome.message_id
    assert tg.edits[0].reply_markup is None  # the button is gone: one press, one answer
    # The chat's cursor did not move back: /digest still has nothing new.
    assert (await alice.ask("/digest")).plain_text.startswith("Nothing new")


async def test_a_more_button_whose_stories_are_gone_answers_with_a_toast(
    busy_bot: NewsBot, alice: Person
) -> None:
    _, welcome = await alice.say("/subscribe world", replies=2)
    assert welcome.reply_markup is not None
    [[button]] = welcome.reply_markup["inline_keyboard"]
    assert await busy_bot.store.articles.prune(NOW + timedelta(days=1)) == len(ITEMS)

    answer = await alice.press(welcome, button["callback_data"])

    assert answer.text == texts.MORE_GONE
    await alice.silence()


async def test_subscribe_all_and_mytopics_without_topics(newsbot: NewsBot, alice: Person) -> None:
    empty = await alice.ask("/mytopics")
    assert empty.plain_text == texts.NO_TOPICS_YET

    await alice.ask("/schedule 08:00")  # the chat exists now, still without topics
    described = await alice.ask("/mytopics")
    assert described.plain_text.startswith("Topics: none yet. Add one with /subscribe world news")
    assert "Next digest" not in described.plain_text

    everything = await alice.ask("/subscribe all")
    assert everything.plain_text == "✅ You now follow all 4 topics."
    chat = await stored_chat(newsbot, alice.key)
    assert set(chat.topics) == {"world", "sport", "science-tech", "business"}


async def test_topic_words_and_plausible_suggestions(newsbot: NewsBot, alice: Person) -> None:
    assert (await alice.ask("/subscribe footballs")).plain_text == "✅ You now follow Sport."
    footy = await alice.ask("/subscribe footy")
    assert footy.plain_text == "No topic 'footy'. Did you mean Sport? /topics lists them all."
    cinema = await alice.ask("/subscribe cinema")
    assert cinema.plain_text == "No topic 'cinema'. /topics lists them all."  # not Science


async def test_offsets_show_as_utc_offsets(newsbot: NewsBot, alice: Person) -> None:
    minus = await alice.ask("/timezone -05:00")
    assert minus.plain_text == "🌍 Time zone set to UTC-05:00. It's 01:00 there now."
    chat = await stored_chat(newsbot, alice.key)
    assert chat.next_digest_at == datetime(2024, 5, 15, 13, 0, tzinfo=UTC)  # 08:00 at -05:00
    shown = await alice.ask("/mytopics")
    assert "Time zone: UTC-05:00" in shown.plain_text
    assert "GMT" not in shown.plain_text


async def test_schedule_on_weekdays(newsbot: NewsBot, alice: Person) -> None:
    # NOW is Wednesday 15 May 2024, 06:00 UTC.
    workdays = await alice.ask("/schedule mon-fri 07:30")
    assert workdays.plain_text == (
        "🕗 Digests at 07:30 on Mon–Fri, UTC. Next one: Wed 15 May, 07:30."
    )
    saturday = await alice.ask("/schedule sat 10:00")
    assert saturday.plain_text == "🕗 Digests at 10:00 on Sat, UTC. Next one: Sat 18 May, 10:00."
    chat = await stored_chat(newsbot, alice.key)
    assert (chat.digest_times, chat.digest_days) == (("10:00",), (5,))
    assert chat.next_digest_at == datetime(2024, 5, 18, 10, 0, tzinfo=UTC)
    assert "Schedule: 10:00 on Sat" in (await alice.ask("/mytopics")).plain_text

    daily = await alice.ask("/schedule 08:00")
    assert daily.plain_text == "🕗 Digests at 08:00, UTC. Next one: Wed 15 May, 08:00."
    assert (await stored_chat(newsbot, alice.key)).digest_days == ()


async def test_quiet_hours(newsbot: NewsBot, alice: Person) -> None:
    await alice.ask("/schedule instant")
    quiet = await alice.ask("/quiet 23:00-07:00")
    assert quiet.plain_text == "🌙 Quiet hours 23:00–07:00, UTC."
    chat = await stored_chat(newsbot, alice.key)
    assert chat.quiet_hours == ("23:00", "07:00")
    assert "Quiet hours: 23:00–07:00" in (await alice.ask("/mytopics")).plain_text

    bad = await alice.ask("/quiet late")
    assert bad.plain_text.startswith("'late' is not a pair of times.")
    off = await alice.ask("/quiet off")
    assert off.plain_text == texts.QUIET_OFF
    assert (await stored_chat(newsbot, alice.key)).quiet_hours is None
