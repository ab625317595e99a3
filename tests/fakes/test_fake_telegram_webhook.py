"""The fake Telegram's webhook delivery: posts, secret header, retries, per-chat order."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import telegram
from aiohttp import web
from telegram.error import BadRequest, Conflict

from .telegram import FakeTelegram

TOKEN = "123:ABC"
ALICE = 1001
BOB = 1002
SECRET = "s3cret_token-1"


class WebhookSite:
    """A web server standing in for the bot's webhook: records posts, answers as told."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, Any], str | None]] = []  # (update, secret header)
        self.statuses: list[int] = []  # answers to give, in order; then 200
        self.hold = asyncio.Event()
        self.hold.set()
        self.in_flight: set[int] = set()
        self.most_in_flight = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/hook"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        update = json.loads(await request.read())
        self.posts.append((update, request.headers.get("X-Telegram-Bot-Api-Secret-Token")))
        self.in_flight.add(update["update_id"])
        self.most_in_flight = max(self.most_in_flight, len(self.in_flight))
        try:
            await self.hold.wait()
        finally:
            self.in_flight.discard(update["update_id"])
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status)

    def ids(self) -> list[int]:
        return [update["update_id"] for update, _ in self.posts]


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(token=TOKEN, webhook_retry_seconds=0.05) as fake:
        fake.private_chat(ALICE, "Alice")
        fake.private_chat(BOB, "Bob")
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(TOKEN, base_url=tg.api_base_url) as client:
        yield client


@pytest.fixture
async def hook() -> AsyncIterator[WebhookSite]:
    site = WebhookSite()
    await site.start()
    yield site
    await site.stop()


async def test_updates_are_posted_with_the_secret_and_forgotten_once_answered_200(
    tg: FakeTelegram, bot: telegram.Bot, hook: WebhookSite
) -> None:
    await bot.set_webhook(hook.url, secret_token=SECRET)
    sent = await tg.send_text(ALICE, ALICE, "/start")

    await tg.wait_until(lambda: not tg.pending_updates)

    assert hook.posts == [(sent, SECRET)]
    assert [(a.update_id, a.status) for a in tg.webhook_attempts] == [(sent["update_id"], 200)]
    info = await bot.get_webhook_info()
    assert (info.url, info.pending_update_count) == (hook.url, 0)


async def test_a_failed_post_is_kept_and_posted_again(
    tg: FakeTelegram, bot: telegram.Bot, hook: WebhookSite
) -> None:
    hook.statuses = [500, 503]
    await bot.set_webhook(hook.url, secret_token=SECRET)
    sent = await tg.send_text(ALICE, ALICE, "/help")

    await tg.wait_until(lambda: not tg.pending_updates)

    assert hook.ids() == [sent["update_id"]] * 3
    assert [a.status for a in tg.webhook_attempts] == [500, 503, 200]


async def test_no_answer_at_all_is_retried_until_a_webhook_answers(
    tg: FakeTelegram, bot: telegram.Bot, hook: WebhookSite
) -> None:
    await bot.set_webhook(_closed_port_url(), secret_token=SECRET)
    sent = await tg.send_text(ALICE, ALICE, "/help")
    await tg.wait_until(lambda: len(tg.webhook_attempts) >= 2)
    assert tg.pending_updates == [sent]
    assert all(a.status is None and a.error for a in tg.webhook_attempts)
    assert (await bot.get_webhook_info()).last_error_message

    await bot.set_webhook(hook.url, secret_token=SECRET)
    await tg.wait_until(lambda: not tg.pending_updates)

    assert hook.ids() == [sent["update_id"]]


async def test_chats_are_delivered_side_by_side_and_each_chat_in_order(
    tg: FakeTelegram, bot: telegram.Bot, hook: WebhookSite
) -> None:
    hook.hold.clear()  # the webhook holds every post until released
    await bot.set_webhook(hook.url, secret_token=SECRET)
    first = await tg.send_text(ALICE, ALICE, "/subscribe world")
    second = await tg.send_text(ALICE, ALICE, "/digest")
    bobs = await tg.send_text(BOB, BOB, "/help")
    await _until(lambda: len(hook.in_flight) == 2)
    assert hook.in_flight == {first["update_id"], bobs["update_id"]}  # not Alice's second

    hook.hold.set()
    await tg.wait_until(lambda: not tg.pending_updates)

    alice_ids = [i for i in hook.ids() if i in (first["update_id"], second["update_id"])]
    assert alice_ids == [first["update_id"], second["update_id"]]
    assert hook.most_in_flight == 2


async def test_get_updates_is_refused_while_a_webhook_is_set_and_gets_what_is_left_after(
    tg: FakeTelegram, bot: telegram.Bot
) -> None:
    await bot.set_webhook(_closed_port_url(), secret_token=SECRET)
    sent = await tg.send_text(ALICE, ALICE, "/help")
    with pytest.raises(Conflict, match="webhook is active"):
        await bot.get_updates(timeout=0)

    await bot.delete_webhook()
    [update] = await bot.get_updates(timeout=0)

    assert update.update_id == sent["update_id"]


async def test_a_secret_telegram_would_refuse_is_refused(bot: telegram.Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)secret token"):
        await bot.set_webhook("https://bot.example.com/hook", secret_token="no spaces")


def _closed_port_url() -> str:
    """A URL on a port where nothing listens: every post fails to connect."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"


async def _until(condition: Any) -> None:
    for _ in range(500):
        if condition():
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met")
