"""The dispatcher: a chat's updates in order, chats side by side, a killer update given up."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from telegram import Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.store import Store
from bot.store.inbox import IncomingUpdate
from bot.updates import UpdateDispatcher
from tests.fakes.telegram import FakeTelegram


def message_update(update_id: int, chat_id: int, text: str) -> IncomingUpdate:
    payload = {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": 1_700_000_000,
            "chat": {"id": chat_id, "type": "private", "first_name": "U"},
            "from": {"id": chat_id, "is_bot": False, "first_name": "U"},
            "text": text,
        },
    }
    return IncomingUpdate(update_id, chat_id, json.dumps(payload))


@pytest.fixture
async def application() -> AsyncIterator[Application]:
    async with FakeTelegram() as tg:
        app = ApplicationBuilder().token(tg.token).base_url(tg.api_base_url).updater(None).build()
        async with app:
            yield app


async def test_a_chats_updates_run_in_order_while_chats_run_side_by_side(
    store: Store, application: Application
) -> None:
    seen: list[tuple[int, str]] = []
    running_at_once = 0
    most_at_once = 0

    async def record(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        nonlocal running_at_once, most_at_once
        running_at_once += 1
        most_at_once = max(most_at_once, running_at_once)
        assert update.effective_chat is not None and update.message is not None
        await asyncio.sleep(0.01)  # a handler that waits, as replies do
        seen.append((update.effective_chat.id, update.message.text or ""))
        running_at_once -= 1

    application.add_handler(TypeHandler(Update, record))
    updates = [message_update(10 * n + chat, chat, f"m{n}") for n in range(5) for chat in (1, 2, 3)]
    await store.inbox.add(updates, per_chat_cap=50)
    dispatcher = UpdateDispatcher(application, store.inbox, concurrency=8)

    await dispatcher.drain()

    for chat in (1, 2, 3):
        assert [text for c, text in seen if c == chat] == [f"m{n}" for n in range(5)]
    assert most_at_once == 3  # one per chat: never two of one chat at once
    assert await store.inbox.counts() == {"done": 15}
    assert (dispatcher.handled, dispatcher.repeated) == (15, 0)


async def test_an_update_interrupted_again_and_again_is_given_up(
    store: Store, application: Application
) -> None:
    handled: list[int] = []

    async def record(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        handled.append(update.update_id)

    application.add_handler(TypeHandler(Update, record))
    await store.inbox.add(
        [message_update(1, 7, "/boom"), message_update(2, 7, "/help")], per_chat_cap=50
    )
    for _ in range(3):  # three runs began and never finished: the process died each time
        await store.inbox.begin(1)
    await store.inbox.begin(2)  # one interrupted run: it runs again, and it is counted
    dispatcher = UpdateDispatcher(application, store.inbox)

    await dispatcher.drain()

    assert handled == [2]
    assert await store.inbox.counts() == {"failed": 1, "done": 1}
    assert dispatcher.repeated == 1


async def test_an_update_this_ptb_cannot_read_is_given_up_and_others_go_on(
    store: Store, application: Application
) -> None:
    handled: list[int] = []

    async def record(update: Update, _context: ContextTypes.DEFAULT_TYPE) -> None:
        handled.append(update.update_id)

    application.add_handler(TypeHandler(Update, record))
    unreadable = IncomingUpdate(1, 7, '{"update_id": 1, "message": {"text": "no chat"}}')
    await store.inbox.add([unreadable, message_update(2, 7, "/help")], per_chat_cap=50)

    await UpdateDispatcher(application, store.inbox).drain()

    assert handled == [2]
    assert await store.inbox.counts() == {"failed": 1, "done": 1}
