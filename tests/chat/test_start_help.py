"""/start, deep links, /help, the command menu, unknown commands and @botname suffixes."""

from __future__ import annotations

from bot.app import NewsBot
from bot.chat import texts
from bot.chat.keyboards import CHECK_MARK
from tests.chat.conftest import ADMIN, MEMBER, Person, button_labels, stored_chat
from tests.fakes.telegram import BOT_USERNAME, FakeTelegram


async def test_start_greets_explains_and_shows_the_topic_keyboard(
    newsbot: NewsBot, alice: Person
) -> None:
    reply = await alice.ask("/start")

    assert reply.parse_mode == "HTML"
    assert reply.plain_text.startswith("👋 Hi!")
    assert len(reply.plain_text.splitlines()) == 2
    assert button_labels(reply) == ["World news", "Sport", "Science & Tech", "Business", "Done"]
    chat = await stored_chat(newsbot, alice.key)
    assert (chat.timezone, chat.digest_times, chat.mode) == ("UTC", ("08:00",), "scheduled")
    assert chat.next_digest_at is not None and chat.next_digest_at.isoformat() == (
        "2024-05-15T08:00:00+00:00"
    )


async def test_deep_link_subscribes_and_checks_the_topic(newsbot: NewsBot, alice: Person) -> None:
    reply = await alice.ask("/start world")

    assert "You now follow World news" in reply.plain_text
    assert f"{CHECK_MARK}World news" in button_labels(reply)
    assert (await stored_chat(newsbot, alice.key)).topics == ("world",)


async def test_deep_link_to_an_unknown_topic_still_greets(newsbot: NewsBot, alice: Person) -> None:
    reply = await alice.ask("/start wrold")

    assert reply.plain_text.startswith("👋 Hi!")
    assert "No topic 'wrold'. Did you mean World news?" in reply.plain_text
    assert (await stored_chat(newsbot, alice.key)).topics == ()


async def test_start_reactivates_a_paused_and_blocked_chat(newsbot: NewsBot, alice: Person) -> None:
    await alice.ask("/subscribe world")
    chat = await stored_chat(newsbot, alice.key)
    # What the sender does when the user blocks the bot, plus an earlier /pause.
    await newsbot.store.chats.update(chat.id, is_active=False, is_paused=True, next_digest_at=None)

    await alice.ask("/start")

    chat = await stored_chat(newsbot, alice.key)
    assert chat.is_active and not chat.is_paused
    assert chat.topics == ("world",)
    assert chat.next_digest_at is not None and chat.next_digest_at.isoformat() == (
        "2024-05-15T08:00:00+00:00"
    )


async def test_help_lists_every_command_with_one_line(newsbot: NewsBot, alice: Person) -> None:
    reply = await alice.ask("/help")

    lines = reply.plain_text.splitlines()[1:]
    assert [line.split(" — ")[0] for line in lines] == [f"/{name}" for name, _ in texts.COMMANDS]


async def test_command_menu_is_published_at_start(newsbot: NewsBot, tg: FakeTelegram) -> None:
    assert [c["command"] for c in tg.my_commands] == [name for name, _ in texts.COMMANDS]
    assert all(c["description"] for c in tg.my_commands)


async def test_unknown_command_in_private_points_to_help(newsbot: NewsBot, alice: Person) -> None:
    reply = await alice.ask("/frobnicate now")

    assert reply.plain_text == texts.UNKNOWN_COMMAND


async def test_unknown_command_in_a_group_is_ignored(newsbot: NewsBot, tg: FakeTelegram) -> None:
    tg.group(-100777, "Friends", admins={ADMIN}, members={MEMBER})
    admin = Person(tg, -100777, ADMIN)

    await tg.send_text(-100777, ADMIN, "/otherbotcommand")
    await tg.send_text(-100777, ADMIN, f"/help@{BOT_USERNAME}")

    await tg.wait_for_messages(-100777, 1)
    await admin.silence()
    assert [m.plain_text.splitlines()[0] for m in admin.inbox()] == ["What I can do"]


async def test_commands_with_the_bot_suffix_work(newsbot: NewsBot, tg: FakeTelegram) -> None:
    tg.group(-100778, "Friends", admins={ADMIN})
    admin = Person(tg, -100778, ADMIN)

    reply = await admin.ask(f"/subscribe@{BOT_USERNAME} sport")

    assert reply.plain_text == "✅ You now follow Sport."
    mine = await admin.ask(f"/mytopics@{BOT_USERNAME}")
    assert "Topics: Sport" in mine.plain_text


async def test_commands_for_another_bot_are_not_ours(newsbot: NewsBot, tg: FakeTelegram) -> None:
    tg.group(-100779, "Friends", admins={ADMIN})
    admin = Person(tg, -100779, ADMIN)

    await tg.send_text(-100779, ADMIN, "/subscribe@some_other_bot sport")
    await admin.silence()

    assert admin.inbox() == []
    assert await newsbot.store.chats.get(admin.key) is None
