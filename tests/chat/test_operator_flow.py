"""The operator's commands (/admin, /sources, /announce) and alerts, through the fake Telegram.

An operator is a Telegram user listed in ``admin_ids``; in a private chat with
the bot they get three more commands and the alerts. For everyone else the
commands do not exist.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.app import NewsBot
from bot.chat import operator_texts, texts
from bot.chat.operator import ANNOUNCE_PREFIX, enqueue_announcement
from bot.chat.routes import set_bot_commands
from bot.services import SERVICES_KEY
from bot.settings import Settings, SourceConfig
from bot.store.state import SENDING_PAUSED_UNTIL
from tests.chat.conftest import (
    ALICE,
    NOW,
    Person,
    button_labels,
    eventually,
    make_settings,
    start_bot,
    stored_chat,
)
from tests.fakes.news_site import FakeNewsSite
from tests.fakes.telegram import FakeTelegram, SentMessage
from tests.fakes.telegram_params import scope_key

OPERATOR = 3001
BOB = 1002
CAROL = 1003


def operator_settings(
    tg: FakeTelegram,
    database_url: str,
    sources: list[SourceConfig] | None = None,
    **changes: object,
) -> Settings:
    """The chat tests' settings, with one operator."""
    settings = make_settings(tg, database_url, sources)
    return settings.model_copy(update={"admin_ids": [OPERATOR], **changes})


@pytest.fixture
def operator(tg: FakeTelegram) -> Person:
    """The bot's operator, in a private chat with the bot."""
    tg.private_chat(OPERATOR, "Olga")
    return Person(tg, OPERATOR, OPERATOR)


@pytest.fixture
async def operated_bot(
    tg: FakeTelegram, database_url: str, operator: Person
) -> AsyncIterator[NewsBot]:
    """The running bot with one operator and no sources."""
    async with start_bot(operator_settings(tg, database_url)) as bot:
        yield bot


def person(tg: FakeTelegram, user_id: int, name: str) -> Person:
    tg.private_chat(user_id, name)
    return Person(tg, user_id, user_id)


async def test_operators_menu_has_the_operator_commands_nobody_elses_does(
    operated_bot: NewsBot, tg: FakeTelegram, alice: Person
) -> None:
    everyone = [c["command"] for c in tg.my_commands]
    operators = [c["command"] for c in tg.commands_for_chat(OPERATOR) or []]

    assert operators == [*everyone, "admin", "sources", "announce"]
    assert not {"admin", "sources", "announce"} & set(everyone)
    assert tg.commands_for_chat(ALICE) is None
    in_russian = {"scope": {"type": "chat", "chat_id": OPERATOR}, "language_code": "ru"}
    russian = tg.commands_by_scope[scope_key(in_russian)]
    assert [c["command"] for c in russian] == operators
    assert (
        russian[-1]["description"] == "Оператор: сообщение всем активным чатам, после предпросмотра"
    )


async def test_a_former_operator_loses_the_menu_on_the_next_start(
    tg: FakeTelegram, database_url: str, operator: Person, alice: Person
) -> None:
    settings = operator_settings(tg, database_url)
    async with start_bot(settings.model_copy(update={"admin_ids": [OPERATOR, ALICE]})):
        assert tg.commands_for_chat(ALICE) is not None

    async with start_bot(settings):  # Alice is no operator any more
        assert tg.commands_for_chat(ALICE) is None
        assert tg.commands_for_chat(OPERATOR) is not None
        assert (await alice.ask("/admin")).plain_text == texts.UNKNOWN_COMMAND


async def test_an_operator_nobody_can_reach_does_not_stop_the_others(
    operated_bot: NewsBot, tg: FakeTelegram
) -> None:
    # 4242 never opened a chat with the bot: Telegram answers "chat not found" for it.
    await set_bot_commands(operated_bot.application.bot, [4242, OPERATOR])

    assert tg.commands_for_chat(4242) is None
    assert tg.commands_for_chat(OPERATOR) is not None


async def test_non_operators_get_the_unknown_command_answer(
    operated_bot: NewsBot, alice: Person
) -> None:
    for command in ("/admin", "/sources", "/announce Free pizza"):
        assert (await alice.ask(command)).plain_text == texts.UNKNOWN_COMMAND
    assert (await operated_bot.store.outbox.backlog()).depth == 0


async def test_without_admin_ids_nobody_is_an_operator(
    newsbot: NewsBot, alice: Person, tg: FakeTelegram
) -> None:
    assert newsbot.settings.admin_ids == []
    assert (await alice.ask("/admin")).plain_text == texts.UNKNOWN_COMMAND
    assert tg.commands_for_chat(ALICE) is None


async def test_operator_commands_in_a_group_are_ignored(
    operated_bot: NewsBot, tg: FakeTelegram
) -> None:
    tg.group(-100900, "Ops room", admins={OPERATOR})
    in_group = Person(tg, -100900, OPERATOR)

    await tg.send_text(in_group.chat_id, OPERATOR, "/admin")
    await in_group.silence()


async def test_admin_counts_chats_subscriptions_queue_and_flood_wait(
    operated_bot: NewsBot, operator: Person, alice: Person, tg: FakeTelegram
) -> None:
    bob, carol = person(tg, BOB, "Bob"), person(tg, CAROL, "Carol")
    await alice.ask("/subscribe world, sport")
    await bob.ask("/subscribe world")
    await carol.ask("/pause")
    gone = person(tg, 1004, "Dan")
    await gone.ask("/start")
    await operated_bot.store.chats.update(
        (await stored_chat(operated_bot, gone.key)).id, is_active=False
    )
    await operated_bot.store.state.set_time(SENDING_PAUSED_UNTIL, NOW + timedelta(minutes=30))

    status = (await operator.ask("/admin")).plain_text

    assert "Chats: 2 active, 1 paused, 1 blocked" in status
    assert "Subscriptions: Sport 1, World news 2" in status
    assert "Articles: 0" in status
    assert "Queue: empty" in status
    assert "Flood wait: sending paused until 2024-05-15 06:30 UTC (in 30 min)" in status
    assert "Last poll: never" in status


async def test_sources_lists_failing_sources_first_with_their_error(
    tg: FakeTelegram, database_url: str, operator: Person, news_site: FakeNewsSite
) -> None:
    news_site.fail("/broken.xml", status=503)
    sources = [
        SourceConfig(name="A Working Wire", url=news_site.url("/world.xml"), topics=["world"]),
        SourceConfig(name="Broken Wire", url=news_site.url("/broken.xml"), topics=["world"]),
    ]
    async with start_bot(operator_settings(tg, database_url, sources=sources)) as bot:
        await eventually(lambda: _failed_polls(bot, "Broken Wire", 1), within_seconds=60)

        lines = (await operator.ask("/sources")).plain_text.splitlines()

    assert lines[0] == "Sources: 2, 1 failing"
    assert lines[1].startswith("❌ Broken Wire: 1 failed in a row, last success never: ")
    assert "503" in lines[1]
    assert lines[2] == "✅ A Working Wire: ok, polled just now"


async def test_announce_previews_then_reaches_every_active_chat_once(
    operated_bot: NewsBot, operator: Person, alice: Person, tg: FakeTelegram
) -> None:
    bob, carol = person(tg, BOB, "Bob"), person(tg, CAROL, "Carol")
    await alice.ask("/subscribe world")
    await bob.ask("/start")
    await carol.ask("/pause")
    text = "Digests pause tonight <02:00-03:00 UTC> for an upgrade.\nSorry & thanks!"

    preview = await operator.ask(f"/announce {text}")

    assert preview.plain_text == f"Preview: this goes to 2 chats.\n\n{text}"
    assert button_labels(preview) == [
        operator_texts.ANNOUNCE_SEND_BUTTON,
        operator_texts.ANNOUNCE_CANCEL_BUTTON,
    ]
    await alice.silence(0.1)  # nothing goes out before Send

    await operator.press(preview, _button_data(preview, "send"))
    await tg.wait_until(lambda: len(tg.edits) == 1)
    assert tg.edits[0].text == operator_texts.announce_queued(2)
    for reader in (alice, bob):
        await tg.wait_until(lambda reader=reader: _got(reader, text))

    # Sending the same announcement again (a second press, another operator) adds nothing.
    services = operated_bot.application.bot_data[SERVICES_KEY]
    token = _button_data(preview, "send").rsplit(":", 1)[1]
    await enqueue_announcement(services, token, operator_texts.announcement(text))
    await operated_bot.sender.drain()
    assert [m.plain_text for m in alice.inbox()].count(text) == 1
    assert [m.plain_text for m in bob.inbox()].count(text) == 1
    assert not any(m.plain_text == text for m in carol.inbox())  # paused: not reached
    assert not any(m.plain_text == text for m in operator.inbox()[1:])


async def test_announce_cancel_sends_nothing_and_the_preview_expires(
    operated_bot: NewsBot, operator: Person, alice: Person, tg: FakeTelegram
) -> None:
    await alice.ask("/start")
    preview = await operator.ask("/announce Hello everyone")

    await operator.press(preview, _button_data(preview, "cancel"))
    await tg.wait_until(lambda: len(tg.edits) == 1)

    assert tg.edits[0].text == operator_texts.ANNOUNCE_CANCELLED
    assert (await operated_bot.store.outbox.backlog()).depth == 0
    await alice.silence()


async def test_announce_without_text_explains_itself(
    operator: Person, operated_bot: NewsBot
) -> None:
    assert (await operator.ask("/announce")).plain_text == operator_texts.ANNOUNCE_USAGE


async def test_failing_source_alert_once_per_incident(
    tg: FakeTelegram, database_url: str, operator: Person, news_site: FakeNewsSite
) -> None:
    news_site.fail("/world.xml")
    source = SourceConfig(name="World Wire", url=news_site.url("/world.xml"), topics=["world"])
    settings = operator_settings(tg, database_url, sources=[source], alert_failed_polls=2)
    async with start_bot(settings) as bot:
        await eventually(lambda: _failed_polls(bot, "World Wire", 1), within_seconds=60)
        await operator.silence(0.1)  # one failure: below the threshold

        await _poll_again(bot)  # 2 in a row: told
        [alert] = await tg.wait_for_messages(OPERATOR)
        assert alert.plain_text.startswith("⚠️ Source failing (2+ polls in a row):")
        assert "World Wire: 2 failed in a row" in alert.plain_text

        await _poll_again(bot)  # 3 in a row: the same incident
        await operator.silence(0.1)

    async with start_bot(settings) as bot:  # a restart remembers it told
        await _poll_again(bot)  # 4 in a row
        await operator.silence(0.1)

        news_site.clear("/world.xml")
        await _poll_again(bot)  # recovered: the next incident is a new one
        news_site.fail("/world.xml")
        await _poll_again(bot)
        await operator.silence(0.1)
        await _poll_again(bot)

        alerts = await tg.wait_for_messages(OPERATOR, count=2)
    assert "World Wire: 2 failed in a row" in alerts[1].plain_text


async def test_long_flood_wait_alert_once_per_incident(
    operated_bot: NewsBot, operator: Person, tg: FakeTelegram
) -> None:
    state = operated_bot.store.state
    await state.set_time(SENDING_PAUSED_UNTIL, NOW + timedelta(minutes=5))
    await operated_bot.plan()
    await operator.silence(0.1)  # 5 minutes: below the 10-minute threshold

    await state.set_time(SENDING_PAUSED_UNTIL, NOW + timedelta(minutes=45))
    await operated_bot.plan()
    [alert] = await tg.wait_for_messages(OPERATOR)
    assert alert.plain_text.startswith("⏳ Flood wait: Telegram holds sending back until 06:45 UTC")

    await operated_bot.plan()  # still the same wait
    await operator.silence(0.1)

    await state.set_time(SENDING_PAUSED_UNTIL, NOW - timedelta(seconds=1))  # over
    await operated_bot.plan()
    await state.set_time(SENDING_PAUSED_UNTIL, NOW + timedelta(hours=2))  # a new one
    await operated_bot.plan()
    alerts = await tg.wait_for_messages(OPERATOR, count=2)
    assert "until 08:00 UTC" in alerts[1].plain_text


async def test_a_real_flood_wait_reaches_the_operator(
    operated_bot: NewsBot, operator: Person, alice: Person, tg: FakeTelegram
) -> None:
    await alice.ask("/start")
    tg.faults.force_429(ALICE, retry_after=20 * 60)  # the next message to Alice: 20 minutes
    preview = await operator.ask("/announce Maintenance tonight")
    await operator.press(preview, _button_data(preview, "send"))
    await eventually(lambda: _paused_until(operated_bot))  # the Sender took the 429 in

    await operated_bot.plan()  # what the plan job does every tick

    alert = (await tg.wait_for_messages(OPERATOR, count=2))[-1]  # after the preview
    assert alert.plain_text.startswith("⏳ Flood wait: Telegram holds sending back until 06:20 UTC")
    assert "20 min in all" in alert.plain_text


async def _paused_until(bot: NewsBot) -> bool:
    return await bot.store.state.get_time(SENDING_PAUSED_UNTIL) is not None


async def _failed_polls(bot: NewsBot, name: str, count: int) -> bool:
    sources = {s.name: s for s in await bot.store.sources.all()}
    return name in sources and sources[name].error_count >= count


async def _poll_again(bot: NewsBot) -> None:
    await bot.store.sources.make_due()
    await bot.poll()


def _button_data(message: SentMessage, action: str) -> str:
    rows = (message.reply_markup or {}).get("inline_keyboard", [])
    data = [b["callback_data"] for row in rows for b in row]
    return next(d for d in data if d.startswith(f"{ANNOUNCE_PREFIX}{action}:"))


def _got(reader: Person, text: str) -> bool:
    return any(m.plain_text == text for m in reader.inbox())
