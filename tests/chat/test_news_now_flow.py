"""/digest, /search and the welcome digest, with stories polled from a fake news site."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.app import NewsBot
from bot.chat import texts
from tests.chat.conftest import WORLD_ITEMS, Person, stored_chat
from tests.fakes.news_site import FakeNewsSite, FeedItem
from tests.fakes.telegram import FakeTelegram


async def test_first_subscription_brings_a_welcome_digest(
    newsbot_with_news: NewsBot, alice: Person
) -> None:
    confirmation, welcome = await alice.say("/subscribe world", replies=2)

    assert confirmation.plain_text == "✅ You now follow World news."
    assert WORLD_ITEMS[0].title in welcome.plain_text
    assert WORLD_ITEMS[1].title in welcome.plain_text

    # A second topic is not a first subscription: no second welcome.
    await alice.ask("/subscribe sport")
    await alice.silence()


async def test_digest_sends_whats_new_then_nothing_new(
    newsbot_with_news: NewsBot, alice: Person, news_site: FakeNewsSite
) -> None:
    await alice.say("/subscribe world", replies=2)  # confirmation + welcome digest

    nothing = await alice.ask("/digest")
    assert nothing.plain_text.startswith("Nothing new since your last digest at 06:00.")

    news_site.publish(
        "/world.xml",
        FeedItem(
            "Volcano erupts near capital",
            "https://news.example/world/volcano",
            "<p>Ash covered the capital.</p>",
            "w-3",
            datetime(2024, 5, 15, 5, 45, tzinfo=UTC),
        ),
    )
    await newsbot_with_news.store.sources.make_due()
    await newsbot_with_news.tick()  # poll, plan, wake the sender: what the JobQueue does

    digest = await alice.ask("/digest")
    assert "Volcano erupts near capital" in digest.plain_text
    assert WORLD_ITEMS[0].title not in digest.plain_text  # already in the welcome


async def test_digest_in_the_chats_time_zone(newsbot_with_news: NewsBot, alice: Person) -> None:
    await alice.say("/subscribe world", replies=2)
    await alice.ask("/timezone Asia/Tokyo")

    nothing = await alice.ask("/digest")

    assert nothing.plain_text.startswith("Nothing new since your last digest at 15:00.")


async def test_digest_without_topics(newsbot_with_news: NewsBot, alice: Person) -> None:
    assert (await alice.ask("/digest")).plain_text == texts.NO_TOPICS_YET


async def test_search_finds_stories_in_the_digest_format(
    newsbot_with_news: NewsBot, alice: Person
) -> None:
    found = await alice.ask("/search EARTHQUAKE coastal")

    assert found.parse_mode == "HTML"
    assert found.plain_text.startswith("🔎 EARTHQUAKE coastal")
    assert "Earthquake shakes coastal city" in found.plain_text
    assert "Leaders meet" not in found.plain_text
    assert any(e.get("url") == "https://news.example/world/quake" for e in found.entities)


async def test_search_bad_and_empty_queries(newsbot_with_news: NewsBot, alice: Person) -> None:
    assert (await alice.ask("/search")).plain_text == texts.SEARCH_USAGE
    assert (await alice.ask("/search ?!")).plain_text == texts.SEARCH_USAGE
    none = await alice.ask("/search <b>zebra</b> 100%")
    assert none.plain_text == "No recent stories match '<b>zebra</b> 100%'."
    assert (await alice.ask("/search " + "long " * 100)).plain_text == texts.TOO_LONG_INPUT


async def test_search_in_a_forum_thread_answers_there(
    newsbot_with_news: NewsBot, tg: FakeTelegram
) -> None:
    tg.group(-100900, "Forum", admins={1}, members={2}, forum=True)
    member = Person(tg, -100900, 2, thread_id=7)

    found = await member.ask("/search summit")

    assert found.thread_id == 7
    assert "Leaders meet for climate summit" in found.plain_text
    assert await newsbot_with_news.store.chats.get(member.key) is None  # reading creates nothing


async def test_digest_in_a_forum_thread_goes_to_that_thread(
    newsbot_with_news: NewsBot, tg: FakeTelegram
) -> None:
    tg.group(-100901, "Forum", admins={1}, forum=True)
    thread7 = Person(tg, -100901, 1, thread_id=7)
    thread9 = thread7.in_thread(9)

    confirmation, welcome = await thread7.say("/subscribe world", replies=2)

    assert (confirmation.thread_id, welcome.thread_id) == (7, 7)
    assert WORLD_ITEMS[0].title in welcome.plain_text
    assert (await stored_chat(newsbot_with_news, thread7.key)).topics == ("world",)
    # Another thread of the same forum is another subscriber.
    assert (await thread9.ask("/mytopics")).plain_text == texts.NO_TOPICS_YET
    assert (await thread9.ask("/digest")).plain_text == texts.NO_TOPICS_YET
    assert tg.messages_to(-100901, None) == []  # nothing went to the General topic
