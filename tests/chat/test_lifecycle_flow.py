"""/stop erasing a chat, settings surviving a restart, and the error handler."""

from __future__ import annotations

from sqlalchemy import text

from bot.app import NewsBot
from bot.chat import texts
from bot.chat.keyboards import STOP_NO_CALLBACK, STOP_YES_CALLBACK, topic_callback
from tests.chat.conftest import ALICE, Person, eventually, make_settings, start_bot, stored_chat
from tests.fakes.telegram import FakeTelegram


async def test_stop_asks_first_and_cancel_changes_nothing(
    newsbot: NewsBot, alice: Person, tg: FakeTelegram
) -> None:
    await alice.ask("/subscribe world")
    question = await alice.ask("/stop")
    assert question.plain_text == texts.STOP_CONFIRM

    await alice.press(question, STOP_NO_CALLBACK)
    await tg.wait_until(lambda: len(tg.edits) == 1)

    assert tg.edits[0].text == texts.STOP_CANCELLED
    assert tg.edits[0].reply_markup is None
    assert (await stored_chat(newsbot, alice.key)).topics == ("world",)


async def test_stop_yes_erases_everything_about_the_chat(
    tg: FakeTelegram, alice: Person, database_url: str
) -> None:
    async with start_bot(make_settings(tg, database_url)) as bot:
        await alice.ask("/subscribe world, sport")
        await alice.ask("/filter exclude football")
        question = await alice.ask("/stop")

        await alice.press(question, STOP_YES_CALLBACK)
        await tg.wait_until(lambda: len(tg.edits) == 1)

        assert tg.edits[0].text == texts.STOPPED
        assert await bot.store.chats.get(alice.key) is None
        assert await bot.store.chats.all() == []
        assert await bot.store.chats.count_by_topic() == {}
        assert (await alice.ask("/mytopics")).plain_text == texts.NO_TOPICS_YET


async def test_restart_keeps_every_setting(tg: FakeTelegram, database_url: str) -> None:
    tg.private_chat(ALICE, "Alice")
    alice = Person(tg, ALICE, ALICE)
    settings = make_settings(tg, database_url)
    async with start_bot(settings):
        await alice.ask("/subscribe world, science")
        await alice.ask("/schedule 06:30 21:15")
        await alice.ask("/timezone Europe/Berlin")
        await alice.ask('/filter include "solar power"')
        await alice.ask("/filter exclude gossip")
        await alice.ask("/pause")
        before = (await alice.ask("/mytopics")).text

    async with start_bot(settings) as bot:
        after = (await alice.ask("/mytopics")).text
        chat = await stored_chat(bot, alice.key)

    assert after == before
    assert "Science &amp; Tech" in after and "06:30 and 21:15" in after
    assert (chat.is_paused, chat.timezone, chat.exclude_words) == (
        True,
        "Europe/Berlin",
        ("gossip",),
    )


async def test_a_failing_command_gets_an_apology_not_silence(
    newsbot: NewsBot, alice: Person
) -> None:
    await alice.ask("/subscribe world")
    await eventually(lambda: handled(newsbot))  # the welcome step runs after the answer
    # Break the far end for real: the subscriptions table disappears.
    async with newsbot.store.engine.begin() as conn:
        await conn.execute(text("DROP TABLE subscriptions"))

    answer = await alice.ask("/mytopics")

    assert answer.plain_text == texts.SOMETHING_WENT_WRONG
    assert (await alice.ask("/help")).plain_text.startswith("What I can do")  # still serving


async def test_a_failing_button_gets_a_toast_and_an_apology(
    newsbot: NewsBot, alice: Person
) -> None:
    keyboard = await alice.ask("/topics")
    async with newsbot.store.engine.begin() as conn:
        await conn.execute(text("DROP TABLE subscriptions"))

    before = len(alice.inbox())
    answer = await alice.press(keyboard, topic_callback("world"))
    apology = (await alice.tg.wait_for_messages(ALICE, before + 1))[-1]

    assert answer.text == texts.SOMETHING_WENT_WRONG
    assert apology.plain_text == texts.SOMETHING_WENT_WRONG


async def handled(newsbot: NewsBot) -> bool:
    """True once no update waits in the inbox (every handler has finished)."""
    return not (await newsbot.store.inbox.counts()).get("pending")
