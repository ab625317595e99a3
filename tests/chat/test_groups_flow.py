"""Groups: only admins change settings, forum threads are separate subscribers,
and a group upgraded to a supergroup keeps its settings."""

from __future__ import annotations

import pytest

from bot.app import NewsBot
from bot.chat import texts
from bot.chat.keyboards import STOP_YES_CALLBACK, topic_callback
from bot.store.records import ChatKey
from tests.chat.conftest import (
    ADMIN,
    MEMBER,
    Person,
    eventually,
    make_settings,
    start_bot,
    stored_chat,
)
from tests.fakes.telegram import FakeTelegram

GROUP = -100200


@pytest.fixture
def group(tg: FakeTelegram) -> tuple[Person, Person]:
    """(admin, member) of a supergroup."""
    tg.group(GROUP, "Newsroom", admins={ADMIN}, members={MEMBER})
    return Person(tg, GROUP, ADMIN), Person(tg, GROUP, MEMBER)


@pytest.mark.parametrize(
    "command",
    [
        "/start",
        "/subscribe world",
        "/unsubscribe all",
        "/schedule 09:00",
        "/timezone Tokyo",
        "/filter include rain",
        "/digest",
        "/pause",
        "/resume",
        "/stop",
    ],
)
async def test_members_may_not_change_group_settings(
    newsbot: NewsBot, group: tuple[Person, Person], command: str
) -> None:
    _, member = group

    answer = await member.ask(command)

    assert answer.plain_text == texts.ADMINS_ONLY
    assert await newsbot.store.chats.get(member.key) is None


@pytest.mark.parametrize("command", ["/help", "/mytopics", "/search rain", "/topics"])
async def test_members_may_read(
    newsbot: NewsBot, group: tuple[Person, Person], command: str
) -> None:
    _, member = group

    answer = await member.ask(command)

    assert answer.plain_text != texts.ADMINS_ONLY


async def test_admin_changes_and_members_read(
    newsbot: NewsBot, group: tuple[Person, Person], tg: FakeTelegram
) -> None:
    admin, member = group

    assert (await admin.ask("/subscribe world")).plain_text == "✅ You now follow World news."
    assert (await admin.ask("/schedule 09:00")).plain_text.startswith("🕗 Digests at 09:00")
    assert "Topics: World news" in (await member.ask("/mytopics")).plain_text

    # Admin status is cached: two commands, one getChatMember for the admin.
    asked = [p["user_id"] for m, p in tg.requests if m == "getChatMember"]
    assert asked.count(ADMIN) == 1


async def test_member_pressing_a_topic_button_gets_a_refusal(
    newsbot: NewsBot, group: tuple[Person, Person], tg: FakeTelegram
) -> None:
    admin, member = group
    keyboard = await admin.ask("/topics")

    refused = await member.press(keyboard, topic_callback("sport"))
    allowed = await admin.press(keyboard, topic_callback("sport"))

    assert (refused.text, refused.show_alert) == (texts.ADMINS_ONLY, True)
    assert allowed.text == "Following Sport"
    assert (await stored_chat(newsbot, admin.key)).topics == ("sport",)


async def test_member_cannot_confirm_stop(newsbot: NewsBot, group: tuple[Person, Person]) -> None:
    admin, member = group
    await admin.ask("/subscribe world")
    question = await admin.ask("/stop")

    refused = await member.press(question, STOP_YES_CALLBACK)

    assert refused.text == texts.ADMINS_ONLY
    assert await newsbot.store.chats.get(admin.key) is not None


async def test_group_creator_is_an_admin(newsbot: NewsBot, tg: FakeTelegram) -> None:
    tg.group(-100201, "Owned", admins=set(), members={MEMBER}, creator=3001)

    answer = await Person(tg, -100201, 3001).ask("/subscribe sport")

    assert answer.plain_text == "✅ You now follow Sport."


async def test_forum_threads_are_separate_subscribers(newsbot: NewsBot, tg: FakeTelegram) -> None:
    tg.group(-100300, "Forum", admins={ADMIN}, forum=True)
    thread7 = Person(tg, -100300, ADMIN, thread_id=7)
    thread9 = thread7.in_thread(9)
    general = thread7.in_thread(None)

    assert (await thread7.ask("/subscribe world")).thread_id == 7
    keyboard = await thread9.ask("/topics")
    await thread9.press(keyboard, topic_callback("sport"))
    await tg.wait_until(lambda: len(tg.edits) == 1)

    assert (await stored_chat(newsbot, ChatKey(-100300, 7))).topics == ("world",)
    assert (await stored_chat(newsbot, ChatKey(-100300, 9))).topics == ("sport",)
    assert (await general.ask("/mytopics")).plain_text == texts.NO_TOPICS_YET
    assert "Topics: Sport" in (await thread9.ask("/mytopics")).plain_text


async def test_reply_threads_of_a_normal_group_are_not_forum_topics(
    newsbot: NewsBot, group: tuple[Person, Person], tg: FakeTelegram
) -> None:
    admin, _ = group
    # A reply chain in a non-forum group carries message_thread_id without is_topic_message.
    await tg.send_text(GROUP, ADMIN, "/subscribe world", thread_id=55)

    replies = await tg.wait_for_messages(GROUP, 1)

    assert replies[0].thread_id is None
    assert (await stored_chat(newsbot, admin.key)).topics == ("world",)


async def test_migration_keeps_the_settings_under_the_new_id(
    tg: FakeTelegram, database_url: str
) -> None:
    tg.group(-4001, "Small group", admins={ADMIN}, supergroup=False)
    admin = Person(tg, -4001, ADMIN)
    async with start_bot(make_settings(tg, database_url)) as bot:
        await admin.ask("/subscribe world, sport")
        await admin.ask("/schedule 09:00")
        await admin.ask("/timezone Asia/Tokyo")
        before = await stored_chat(bot, admin.key)

        await tg.migrate_group(-4001, -100400)

        async def moved() -> bool:
            return await bot.store.chats.get(ChatKey(-100400)) is not None

        await eventually(moved)
        after = await stored_chat(bot, ChatKey(-100400))
        assert await bot.store.chats.get(ChatKey(-4001)) is None
        assert (after.id, after.kind) == (before.id, "supergroup")
        assert (after.topics, after.digest_times, after.timezone) == (
            before.topics,
            ("09:00",),
            "Asia/Tokyo",
        )
        mine = await Person(tg, -100400, ADMIN).ask("/mytopics")
        assert "Topics: World news and Sport" in mine.plain_text
