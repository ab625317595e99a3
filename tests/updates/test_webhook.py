"""The webhook receiver: the fake Telegram posts updates over HTTP, they land in the inbox.

On SQLite and PostgreSQL. The fake Telegram delivers as Telegram does (a post
answered with anything but 2xx, or not at all, is posted again), so "handled
once" and "200 only once stored" are seen from Telegram's side.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import telegram
from sqlalchemy import text

from bot.app import build_bot
from bot.chat import texts
from bot.errors import ConfigError, NewsbotError
from bot.settings import Settings, WebhookSettings
from bot.store import Store, open_store
from bot.store.engine import make_engine
from bot.updates import UpdateReceiver, WebhookReceiver
from bot.updates.intake import ALLOWED_UPDATES
from bot.updates.webhook import SECRET_HEADER
from tests.chat.conftest import fixed_clock, make_settings
from tests.fakes.telegram import FakeTelegram

SECRET = "webhook_Secret-42"
ALICE = 1001
BOB = 1002


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(webhook_retry_seconds=0.05) as fake:
        fake.private_chat(ALICE, "Alice")
        fake.private_chat(BOB, "Bob")
        yield fake


@pytest.fixture
async def bot(tg: FakeTelegram) -> AsyncIterator[telegram.Bot]:
    async with telegram.Bot(tg.token, base_url=tg.api_base_url) as client:
        yield client


def webhook_settings(path: str = "/telegram/hook") -> WebhookSettings:
    """Settings of a receiver on a free port of 127.0.0.1, its URL on that port."""
    port = _free_port()
    return WebhookSettings(url=f"http://127.0.0.1:{port}{path}", secret=SECRET, port=port)


@asynccontextmanager
async def receiving(
    store: Store, bot: telegram.Bot, *, per_chat_cap: int = 20, **kwargs: Any
) -> AsyncIterator[WebhookReceiver]:
    """A started webhook receiver that has called setWebhook."""
    receiver = WebhookReceiver(
        webhook_settings(), bot, store.inbox, per_chat_cap=per_chat_cap, **kwargs
    )
    async with receiver:
        yield receiver


async def post(
    url: str, body: bytes | str | AsyncIterator[bytes], secret: str | None = SECRET
) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    async with httpx.AsyncClient() as client:
        return await client.post(url, content=body, headers=headers)


def update_body(update_id: int, chat_id: int = ALICE, text_: str = "/help") -> str:
    return json.dumps(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 1_700_000_000,
                "chat": {"id": chat_id, "type": "private", "first_name": "U"},
                "from": {"id": chat_id, "is_bot": False, "first_name": "U"},
                "text": text_,
            },
        }
    )


async def test_start_sets_the_webhook_with_the_secret_for_every_kind_of_update(
    store: Store, tg: FakeTelegram, bot: telegram.Bot
) -> None:
    async with receiving(store, bot) as receiver:
        assert tg.webhook_url == receiver.local_url
        assert tg.webhook_secret == SECRET

    [(_, params)] = [r for r in tg.requests if r[0] == "setWebhook"]
    assert params["allowed_updates"] == list(ALLOWED_UPDATES)
    assert params["drop_pending_updates"] is False


async def test_a_wrong_or_missing_secret_is_refused_and_nothing_is_stored(
    store: Store, tg: FakeTelegram, bot: telegram.Bot
) -> None:
    async with receiving(store, bot) as receiver:
        wrong = await post(receiver.local_url, update_body(1), secret="webhook_Secret-43")
        missing = await post(receiver.local_url, update_body(2), secret=None)
        almost = await post(receiver.local_url, update_body(3), secret=SECRET[:-1])

    assert (wrong.status_code, missing.status_code, almost.status_code) == (403, 403, 403)
    assert await store.inbox.counts() == {}


async def test_telegram_posting_with_an_old_secret_is_refused_until_it_has_the_new_one(
    store: Store, tg: FakeTelegram, bot: telegram.Bot
) -> None:
    async with receiving(store, bot) as receiver:
        tg.webhook_secret = "an_old_secret"  # as if set by an earlier deployment
        await tg.send_text(ALICE, ALICE, "/help")
        await tg.wait_until(lambda: len(tg.webhook_attempts) >= 2)
        assert {a.status for a in tg.webhook_attempts} == {403}
        assert await store.inbox.counts() == {}

        tg.webhook_secret = SECRET
        await tg.wait_until(lambda: not tg.pending_updates)

    assert await store.inbox.counts() == {"pending": 1}
    assert receiver.answers[403] >= 2 and receiver.answers[200] == 1


async def test_oversize_and_malformed_bodies_are_refused_and_nothing_is_stored(
    store: Store, tg: FakeTelegram, bot: telegram.Bot
) -> None:
    async with receiving(store, bot, max_body_bytes=2_000) as receiver:
        url = receiver.local_url
        too_big = await post(url, update_body(1, text_="x" * 3_000))
        too_big_chunked = await post(url, _chunked(update_body(2, text_="x" * 3_000)))
        malformed = [
            await post(url, body)
            for body in (
                b"not json",
                b"\xff\xfe\x00 not utf-8",
                b"[1, 2, 3]",
                b'{"message": {}}',
                b'{"update_id": "7"}',
                b'{"update_id": true}',
                b"[" * 990 + b"]" * 990,
            )
        ]
        fits = await post(url, update_body(9))
        # An update, though not one this PTB can read: kept (Telegram would resend a 400
        # for ever) and given up by the dispatcher, which tells nobody (it has no chat).
        unreadable = await post(url, b'{"update_id": 8, "message": {"text": "no chat"}}')

    assert (too_big.status_code, too_big_chunked.status_code) == (413, 413)
    assert [r.status_code for r in malformed] == [400] * len(malformed)
    assert (fits.status_code, unreadable.status_code) == (200, 200)
    assert await store.inbox.counts() == {"pending": 2}


async def test_an_update_posted_twice_is_stored_and_handled_once(
    store: Store, tg: FakeTelegram, bot: telegram.Bot
) -> None:
    async with receiving(store, bot) as receiver:
        first = await post(receiver.local_url, update_body(5))
        again = await post(receiver.local_url, update_body(5))

    assert (first.status_code, again.status_code) == (200, 200)
    assert await store.inbox.counts() == {"pending": 1}
    [waiting] = await store.inbox.waiting_for_chat(ALICE, limit=10)
    assert waiting.update_id == 5


async def test_a_failed_write_is_answered_500_and_telegram_posts_it_again(
    store: Store, tg: FakeTelegram, bot: telegram.Bot
) -> None:
    async with receiving(store, bot) as receiver:
        async with inbox_moved_away(store):
            sent = await tg.send_text(ALICE, ALICE, "/help")
            await tg.wait_until(lambda: len(tg.webhook_attempts) >= 2)
            assert {a.status for a in tg.webhook_attempts} == {500}
            assert tg.pending_updates == [sent]  # Telegram still holds it
        await tg.wait_until(lambda: not tg.pending_updates)

    statuses = [a.status for a in tg.webhook_attempts]
    assert statuses[-1] == 200 and set(statuses[:-1]) == {500}
    assert receiver.answers[500] == len(statuses) - 1
    [waiting] = await store.inbox.waiting_for_chat(ALICE, limit=10)
    assert waiting.update_id == sent["update_id"]


async def test_health_check_answers_while_the_database_does(
    store: Store, tg: FakeTelegram, bot: telegram.Bot
) -> None:
    async with receiving(store, bot) as receiver:
        health = f"http://127.0.0.1:{receiver.port}/healthz"
        async with httpx.AsyncClient() as client:
            up = await client.get(health)
            async with inbox_moved_away(store):
                down = await client.get(health)
            up_again = await client.get(health)

    assert (up.status_code, up.json()) == (200, {"status": "ok"})
    assert (down.status_code, down.json()) == (503, {"status": "unavailable"})
    assert up_again.status_code == 200


async def test_a_flooding_chat_is_capped_and_asked_once_to_slow_down(
    store: Store, tg: FakeTelegram, bot: telegram.Bot
) -> None:
    async with receiving(store, bot, per_chat_cap=2) as receiver:
        answers = [await post(receiver.local_url, update_body(n)) for n in range(1, 6)]
        await tg.wait_for_messages(ALICE, count=1)

    assert [a.status_code for a in answers] == [200] * 5  # dropped ones are answered too
    assert await store.inbox.counts() == {"pending": 2, "dropped": 3}
    assert receiver.dropped == 3
    assert [m.plain_text for m in tg.messages_to(ALICE)] == [texts.SLOW_DOWN]


async def test_two_receivers_sharing_only_the_database_store_every_update_once(
    store: Store, database_url: str, tg: FakeTelegram, bot: telegram.Bot
) -> None:
    other = await open_store(database_url)  # as another process would: its own engine
    try:
        async with (
            receiving(store, bot, register=False) as one,
            receiving(other, bot, register=False) as two,
        ):
            assert one.port != two.port
            to_one = await post(one.local_url, update_body(1, ALICE))
            to_two = await post(two.local_url, update_body(2, BOB))
            # Telegram retried through the balancer: each update reaches both, at once.
            both = await asyncio.gather(
                *(
                    post(receiver.local_url, update_body(n, 5000 + n % 7))
                    for n in range(3, 43)
                    for receiver in (one, two)
                )
            )
    finally:
        await other.close()

    assert (to_one.status_code, to_two.status_code) == (200, 200)
    assert {r.status_code for r in both} == {200}
    assert await store.inbox.counts() == {"pending": 42}
    assert [w.update_id for w in await store.inbox.waiting_for_chat(ALICE, 10)] == [1]
    assert [w.update_id for w in await store.inbox.waiting_for_chat(BOB, 10)] == [2]


async def test_start_posted_to_the_webhook_is_answered_by_the_bot(
    tg: FakeTelegram, database_url: str
) -> None:
    settings = make_settings(tg, database_url).model_copy(update={"webhook": webhook_settings()})
    async with webhook_bot(settings) as receiver:
        await tg.send_text(ALICE, ALICE, "/start")
        await tg.send_text(ALICE, ALICE, "/help")
        start_reply, help_reply = await tg.wait_for_messages(ALICE, count=2)

    assert texts.WELCOME in start_reply.plain_text
    assert help_reply.plain_text.startswith("What I can do")
    assert tg.pending_updates == []
    assert [a.status for a in tg.webhook_attempts] == [200, 200]
    assert receiver.answers[200] == 2


async def test_the_polling_receiver_deletes_a_leftover_webhook_before_polling(
    store: Store, tg: FakeTelegram, bot: telegram.Bot
) -> None:
    await bot.set_webhook(f"http://127.0.0.1:{_free_port()}/gone", secret_token=SECRET)
    sent = await tg.send_text(ALICE, ALICE, "/help")  # still held: that webhook never answers
    woken: list[bool] = []
    receiver = UpdateReceiver(bot, store.inbox, lambda: woken.append(True), per_chat_cap=20)

    assert await receiver.receive_once() == 1

    assert tg.webhook_url == ""
    methods = [method.lower() for method, _ in tg.requests]  # Bot API names: any case
    assert methods.index("deletewebhook") < methods.index("getupdates")
    [waiting] = await store.inbox.waiting_for_chat(ALICE, limit=10)
    assert waiting.update_id == sent["update_id"]
    assert woken == [True]


async def test_the_polling_receiver_leaves_telegram_alone_when_no_webhook_is_set(
    store: Store, tg: FakeTelegram, bot: telegram.Bot
) -> None:
    receiver = UpdateReceiver(bot, store.inbox, lambda: None, per_chat_cap=20)
    await tg.send_text(ALICE, ALICE, "/help")

    assert await receiver.receive_once() == 1

    assert tg.calls["deleteWebhook"] == 0
    assert tg.calls["getWebhookInfo"] == 1


@asynccontextmanager
async def webhook_bot(settings: Settings) -> AsyncIterator[WebhookReceiver]:
    """The real bot's handlers and dispatcher, its updates coming through the webhook."""
    assert settings.webhook is not None
    newsbot = await build_bot(settings, clock=fixed_clock)
    stop = asyncio.Event()
    try:
        async with newsbot.application:
            await newsbot.application.start()
            dispatching = asyncio.create_task(newsbot.dispatcher.run(stop))
            receiver = WebhookReceiver(
                settings.webhook,
                newsbot.application.bot,
                newsbot.store.inbox,
                wake=newsbot.dispatcher.wake,
                per_chat_cap=settings.updates.per_chat_waiting_cap,
            )
            try:
                async with receiver:
                    yield receiver
            finally:
                stop.set()
                await dispatching
                await newsbot.application.stop()
    finally:
        await newsbot.close()


@asynccontextmanager
async def inbox_moved_away(store: Store) -> AsyncIterator[None]:
    """The inbox table renamed for the block: the database fails the receiver's statements."""
    await _rename_table(store, "inbox", "inbox_away")
    try:
        yield
    finally:
        await _rename_table(store, "inbox_away", "inbox")


async def _rename_table(store: Store, old: str, new: str) -> None:
    async with store.engine.begin() as conn:
        await conn.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))


async def _chunked(body: str) -> AsyncIterator[bytes]:
    """The body sent in pieces with no Content-Length (chunked transfer encoding)."""
    data = body.encode()
    for start in range(0, len(data), 500):
        yield data[start : start + 500]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_a_port_in_use_is_one_clear_line(store: Store, bot: telegram.Bot) -> None:
    async with receiving(store, bot, register=False) as running:
        settings = WebhookSettings(
            url=running.local_url, secret=SECRET, listen="127.0.0.1", port=running.port
        )
        with pytest.raises(ConfigError) as caught:
            await WebhookReceiver(settings, bot, store.inbox, per_chat_cap=20).start()

    assert caught.value.key == "webhook.port"
    assert f"127.0.0.1:{running.port}" in str(caught.value)


async def test_a_receiver_telegram_cannot_be_told_about_stops_listening(store: Store) -> None:
    settings = webhook_settings()
    unreachable = f"http://127.0.0.1:{_free_port()}/bot"
    offline = telegram.Bot("123:ABC", base_url=unreachable)  # Telegram is not reachable
    receiver = WebhookReceiver(settings, offline, store.inbox, per_chat_cap=20)
    with pytest.raises(NewsbotError, match="could not set the webhook"):
        await receiver.start()

    with socket.socket() as sock:  # the port is free again
        sock.bind(("127.0.0.1", settings.port))


async def test_stopping_lets_a_request_in_progress_commit_and_answer(
    store: Store, database_url: str, bot: telegram.Bot
) -> None:
    receiver = WebhookReceiver(
        webhook_settings(), bot, store.inbox, per_chat_cap=20, register=False
    )
    await receiver.start()
    async with inbox_writes_held(database_url):
        posting = asyncio.create_task(post(receiver.local_url, update_body(7)))
        for _ in range(1_000):  # until the post waits for the database
            if receiver.in_flight:
                break
            await asyncio.sleep(0.01)
        assert receiver.in_flight == 1
        stopping = asyncio.create_task(receiver.stop())
        for _ in range(20):
            await asyncio.sleep(0.01)
        assert not stopping.done()
    answer = await posting
    await stopping

    assert answer.status_code == 200
    assert [w.update_id for w in await store.inbox.waiting_for_chat(ALICE, 10)] == [7]


@asynccontextmanager
async def inbox_writes_held(database_url: str) -> AsyncIterator[None]:
    """Another connection holds writes to the inbox for the block (as a long transaction)."""
    engine = make_engine(database_url)
    try:
        async with engine.begin() as conn:  # on SQLite: BEGIN IMMEDIATE, the write lock
            if conn.dialect.name == "postgresql":
                await conn.execute(text("LOCK TABLE inbox IN EXCLUSIVE MODE"))
            yield
    finally:
        await engine.dispose()
