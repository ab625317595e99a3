"""The outbox Sender over real HTTP into the fake Telegram, on SQLite and PostgreSQL.

The real python-telegram-bot ``Bot`` talks to FakeTelegram; the store is real;
only the clock is ours (it runs with real time and can jump ahead).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
import telegram
from sqlalchemy import event
from telegram.ext import ExtBot
from telegram.request import HTTPXRequest

from bot.app import sender_bots
from bot.delivery.limiter import SendLimiter
from bot.delivery.ptb_limiter import SharedRateLimiter
from bot.delivery.sender import MAX_ATTEMPTS, Sender
from bot.settings import DeliverySettings
from bot.store import Store, open_store
from bot.store.records import ChatKey, DigestRequest, Part
from bot.store.state import SENDING_PAUSED_UNTIL
from tests.fakes.telegram import FakeTelegram

START = datetime(2030, 3, 2, 6, 0, tzinfo=UTC)
# Shaped like a real bot token, so an error text that quotes it would be caught.
TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw1"


class MovableClock:
    """Wall time that starts at ``start``, runs with real time, and can jump ahead."""

    def __init__(self, start: datetime) -> None:
        self._start = start
        self._t0 = time.monotonic()
        self._offset = timedelta()

    def __call__(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._t0) + self._offset

    def advance(self, delta: timedelta) -> None:
        self._offset += delta


@dataclass
class World:
    store: Store
    tg: FakeTelegram
    bot: telegram.Bot
    clock: MovableClock
    limiter: SendLimiter

    def sender(self, owner: str = "test", **overrides: object) -> Sender:
        settings = DeliverySettings(**{"concurrency": 4, "lease_seconds": 30, **overrides})
        return Sender(self.store, self.bot, self.limiter, settings, self.clock, owner)

    async def chat(self, telegram_id: int, kind: str = "private") -> int:
        if kind == "private":
            self.tg.private_chat(telegram_id)
        else:
            self.tg.group(telegram_id, f"Group {telegram_id}", admins={1}, supergroup=False)
        chat = await self.store.chats.ensure(
            ChatKey(telegram_id),
            kind=kind,
            title="t",
            timezone="UTC",
            digest_times=["08:00"],
            next_digest_at=None,
        )
        return chat.id

    async def digest(self, chat_id: int, *texts: str, slot: str = "s1") -> None:
        parts = tuple(Part(text) for text in texts)
        request = DigestRequest(chat_id, "scheduled", slot, parts, 0, None, None)
        await self.store.outbox.enqueue([request])

    async def statuses(self, chat_id: int) -> list[str]:
        return [d.status for d in await self.store.outbox.for_chat(chat_id)]


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    clock = MovableClock(START)
    store = await open_store(database_url, clock=clock)
    async with FakeTelegram(TOKEN, limits=True) as tg:
        bot = telegram.Bot(tg.token, base_url=tg.api_base_url)
        async with bot:
            yield World(store, tg, bot, clock, SendLimiter())
    await store.close()


def texts_to(tg: FakeTelegram, chat_id: int) -> list[str]:
    return [m.plain_text for m in tg.messages_to(chat_id)]


async def test_digest_of_three_parts_arrives_in_order(world: World) -> None:
    chat = await world.chat(101)
    await world.digest(chat, "<b>one</b>", "two", "three")

    report = await world.sender().drain()

    assert report.sent == 3
    assert texts_to(world.tg, 101) == ["one", "two", "three"]
    sent = world.tg.messages_to(101)
    assert sent[0].parse_mode == "HTML"
    assert sent[0].link_preview_options == {"is_disabled": True}
    assert await world.statuses(chat) == ["sent", "sent", "sent"]
    assert all(d.telegram_message_id for d in await world.store.outbox.for_chat(chat))
    assert world.tg.rejected_429 == 0


async def test_many_chats_under_limits_never_trip_a_429(world: World) -> None:
    chats = [await world.chat(1000 + n) for n in range(40)]
    for chat in chats:
        await world.digest(chat, "first", "second")

    report = await world.sender(concurrency=16).drain()

    assert report.sent == 80
    assert all(texts_to(world.tg, 1000 + n) == ["first", "second"] for n in range(40))
    assert world.tg.rejected_429 == 0


async def test_blocked_chat_is_deactivated_and_not_retried(world: World) -> None:
    chat = await world.chat(102)
    await world.digest(chat, "a", "b", "c")
    await world.digest(chat, "later", slot="s2")
    world.tg.faults.block(102)
    sender = world.sender()

    report = await sender.drain()
    again = await sender.drain()

    assert world.tg.calls["sendMessage"] == 1  # one attempt, no retry storm
    assert report.failed == 4 and again.sent == again.failed == again.retried == 0
    assert await world.statuses(chat) == ["failed"] * 4
    stored = await world.store.chats.get_by_id(chat)
    assert stored is not None and stored.is_active is False


async def test_bad_request_fails_that_part_and_the_next_goes(world: World) -> None:
    chat = await world.chat(103)
    await world.digest(chat, "<b>broken", "fine")

    report = await world.sender().drain()

    assert (report.sent, report.failed) == (1, 1)
    assert texts_to(world.tg, 103) == ["fine"]
    first, second = await world.store.outbox.for_chat(chat)
    assert first.status == "failed" and "can't parse entities" in (first.error or "").lower()
    assert second.status == "sent"


async def test_migrated_group_gets_the_message_under_its_new_id(world: World) -> None:
    chat = await world.chat(-104, kind="group")
    await world.tg.migrate_group(-104, -1000000000104)
    await world.digest(chat, "part 1", "part 2")

    report = await world.sender().drain()

    assert report.sent == 2 and report.retried == 1
    assert texts_to(world.tg, -1000000000104) == ["part 1", "part 2"]
    assert texts_to(world.tg, -104) == []
    moved = await world.store.chats.get(ChatKey(-1000000000104))
    assert moved is not None and moved.id == chat and moved.kind == "supergroup"


async def test_flood_wait_pauses_then_delivers_everything_once(world: World) -> None:
    chats = [await world.chat(200 + n) for n in range(5)]
    for chat in chats:
        await world.digest(chat, f"hello {chat}", "bye")
    world.tg.faults.force_429(None, retry_after=2)  # the first send, whatever the chat
    sender = world.sender()
    started = time.monotonic()

    report = await sender.drain()
    if report.paused:  # the drain may end before the pause does; the next one resumes
        await asyncio.sleep(2.2)
        await sender.drain()

    stored = await world.store.state.get_time(SENDING_PAUSED_UNTIL)
    assert stored is not None and stored > START
    assert world.tg.rejected_429 == 1
    assert all(m.sent_at >= started + 2.0 for m in world.tg.sent)  # nothing inside the pause
    for n, chat in enumerate(chats):
        assert texts_to(world.tg, 200 + n) == [f"hello {chat}", "bye"]
    assert len(world.tg.sent) == 10  # zero lost, no duplicates
    assert await world.store.outbox.counts() == {"sent": 10}


async def test_an_hour_long_flood_wait_holds_only_the_outbox(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    world.limiter = SendLimiter(clock=lambda: world.clock().timestamp())
    chats = [await world.chat(300 + n) for n in range(5)]
    for chat in chats:
        await world.digest(chat, "news", "more news")
    world.tg.faults.force_429(None, retry_after=3600)
    sender = world.sender(lease_seconds=9)  # waits for a slot at most 3 s

    first = await sender.drain()
    calls = world.tg.calls["sendMessage"]
    while_paused = await sender.drain()

    assert first.paused and while_paused.paused
    assert world.tg.calls["sendMessage"] == calls  # a paused sender claims nothing
    assert set((await world.store.outbox.counts()).keys()) <= {"pending", "sent"}
    world.clock.advance(timedelta(hours=1, seconds=1))
    after = await sender.drain()
    assert not after.paused
    assert len(world.tg.sent) == 10 and world.tg.rejected_429 == 1
    assert await world.store.outbox.counts() == {"sent": 10}
    warnings = [r for r in caplog.records if "flood wait" in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"


async def test_a_restart_honours_a_stored_flood_wait(world: World) -> None:
    chat = await world.chat(105)
    await world.digest(chat, "patience")
    await world.store.state.set_time(SENDING_PAUSED_UNTIL, world.clock() + timedelta(hours=3))

    fresh = Sender(
        world.store, world.bot, SendLimiter(), DeliverySettings(), world.clock, "restarted"
    )
    report = await fresh.drain()

    assert report.paused and report.sent == 0
    assert world.tg.calls["sendMessage"] == 0
    assert await world.statuses(chat) == ["pending"]


async def test_drop_before_send_is_unknown_and_not_resent_by_default(world: World) -> None:
    # A connection closed without an answer looks the same to the client whether or
    # not Telegram took the message, so it is 'unknown', not retried.
    chat = await world.chat(106)
    await world.digest(chat, "maybe")
    world.tg.faults.drop_connection(106, after_send=False)

    report = await world.sender().drain()

    assert report.unknown == 1 and report.retried == 0
    assert texts_to(world.tg, 106) == []
    assert await world.statuses(chat) == ["unknown"]


async def test_drop_before_send_with_resend_unknown_is_delivered_once(world: World) -> None:
    chat = await world.chat(107)
    await world.digest(chat, "again")
    world.tg.faults.drop_connection(107, after_send=False)
    sender = world.sender(resend_unknown=True)

    first = await sender.drain()
    world.clock.advance(timedelta(seconds=5))  # past the first backoff (2 s)
    second = await sender.drain()

    assert first.retried == 1 and second.sent == 1
    assert texts_to(world.tg, 107) == ["again"]
    assert await world.statuses(chat) == ["sent"]


async def test_drop_after_send_is_unknown_and_never_duplicated(world: World) -> None:
    chat = await world.chat(108)
    await world.digest(chat, "once", "next")
    world.tg.faults.drop_connection(108, after_send=True)
    sender = world.sender()

    report = await sender.drain()
    world.clock.advance(timedelta(minutes=10))
    await sender.drain()

    assert (report.unknown, report.sent) == (1, 1)
    assert texts_to(world.tg, 108) == ["once", "next"]  # delivered once, not resent
    assert await world.statuses(chat) == ["unknown", "sent"]


async def test_drop_after_send_with_resend_unknown_duplicates(world: World) -> None:
    # The price of resend_unknown: a message that did arrive is sent again.
    chat = await world.chat(109)
    await world.digest(chat, "twice")
    world.tg.faults.drop_connection(109, after_send=True)
    sender = world.sender(resend_unknown=True)

    await sender.drain()
    world.clock.advance(timedelta(seconds=5))
    await sender.drain()

    assert texts_to(world.tg, 109) == ["twice", "twice"]


async def test_telegram_unreachable_is_retried_with_backoff(world: World) -> None:
    chat = await world.chat(110)
    await world.digest(chat, "patient")
    await world.tg.stop()  # connection refused: nothing can have been sent
    sender = world.sender()

    first = await sender.drain()
    await world.tg.start()  # same port again
    too_early = await sender.drain()
    world.clock.advance(timedelta(seconds=3))
    later = await sender.drain()

    assert first.retried == 1 and too_early.sent == 0 and later.sent == 1
    assert texts_to(world.tg, 110) == ["patient"]
    [delivery] = await world.store.outbox.for_chat(chat)
    assert delivery.status == "sent" and delivery.attempts == 2


@pytest.mark.parametrize(("status", "html"), [(500, False), (502, True), (503, False)])
async def test_first_attempt_server_error_is_delivered_once_after_the_retry(
    world: World, status: int, html: bool
) -> None:
    chat = await world.chat(112)
    await world.digest(chat, "first", "second")
    world.tg.faults.server_error(112, status, html=html)
    sender = world.sender()

    first = await sender.drain()
    [held, _] = await world.store.outbox.for_chat(chat)
    world.clock.advance(timedelta(seconds=3))  # past the first backoff (2 s)
    second = await sender.drain()

    assert (first.retried, first.unknown, first.sent) == (1, 0, 0)
    assert held.status == "pending" and held.error  # Telegram's description or the page
    assert TOKEN not in (held.error or "")
    assert second.sent == 2
    assert texts_to(world.tg, 112) == ["first", "second"]  # each exactly once, in order
    assert await world.statuses(chat) == ["sent", "sent"]


async def test_error_page_quoting_the_token_is_stored_redacted(world: World) -> None:
    chat = await world.chat(113)
    await world.digest(chat, "x")
    world.tg.faults.server_error(113, 502, html=True)  # the page quotes POST /bot<token>/...

    await world.sender().drain()

    [delivery] = await world.store.outbox.for_chat(chat)
    assert "Bad Gateway (502)" in (delivery.error or "")
    assert "/bot***/sendMessage" in (delivery.error or "")
    assert TOKEN not in (delivery.error or "")


async def test_gateway_timeout_page_is_unknown_and_not_resent(world: World) -> None:
    chat = await world.chat(114)
    await world.digest(chat, "maybe")
    world.tg.faults.server_error(114, 504, html=True)
    sender = world.sender()

    report = await sender.drain()
    world.clock.advance(timedelta(minutes=10))
    await sender.drain()

    assert (report.unknown, report.retried) == (1, 0)
    assert world.tg.calls["sendMessage"] == 1
    assert await world.statuses(chat) == ["unknown"]


async def test_read_timeout_after_the_request_arrived_is_unknown_and_not_resent(
    world: World,
) -> None:
    chat = await world.chat(115)
    await world.digest(chat, "slow")
    world.tg.faults.slow(115, 1.0)  # recorded as sent, then the answer is late
    impatient = telegram.Bot(
        TOKEN, base_url=world.tg.api_base_url, request=HTTPXRequest(read_timeout=0.3)
    )
    settings = DeliverySettings(concurrency=1, lease_seconds=30)
    async with impatient:
        sender = Sender(world.store, impatient, world.limiter, settings, world.clock, "test")
        report = await sender.drain()
        world.tg.faults.clear(115)
        world.clock.advance(timedelta(minutes=10))
        again = await sender.drain()

    assert (report.unknown, report.sent, report.retried) == (1, 0, 0)
    assert again == type(again)()  # nothing left to send
    assert world.tg.calls["sendMessage"] == 1
    assert texts_to(world.tg, 115) == ["slow"]  # arrived once; never resent
    [unknown] = await world.store.outbox.for_chat(chat)
    assert unknown.status == "unknown" and "ReadTimeout" in (unknown.error or "")
    assert TOKEN not in (unknown.error or "")


async def test_server_errors_give_up_after_max_attempts_failing_the_digest(
    world: World,
) -> None:
    chat = await world.chat(116)
    await world.digest(chat, "one", "two")
    world.tg.faults.server_error(116, 500, times=MAX_ATTEMPTS + 5)
    sender = world.sender()

    reports = []
    for _ in range(MAX_ATTEMPTS + 2):
        reports.append(await sender.drain())
        world.clock.advance(timedelta(hours=1))

    assert world.tg.calls["sendMessage"] == MAX_ATTEMPTS
    assert sum(r.retried for r in reports) == MAX_ATTEMPTS - 1
    assert sum(r.failed for r in reports) == 2
    assert texts_to(world.tg, 116) == []
    first, second = await world.store.outbox.for_chat(chat)
    assert (first.status, second.status) == ("failed", "failed")
    assert first.attempts == MAX_ATTEMPTS and second.attempts == 0
    assert (first.error or "").startswith(f"gave up after {MAX_ATTEMPTS} attempts")


async def test_crash_mid_digest_resumes_and_marks_the_inflight_part_unknown(
    world: World,
) -> None:
    chat = await world.chat(111)
    await world.digest(chat, "p1", "p2", "p3")
    [[p1, _, _]] = await world.store.outbox.claim("crashed", now=world.clock(), lease_seconds=30)
    assert await world.store.outbox.mark_progress("crashed", sending=[p1.id]) == ({p1.id}, set())
    # ... and the process dies here, before (or after?) Telegram got p1.

    world.clock.advance(timedelta(seconds=31))
    survivor = world.sender("survivor")
    await survivor.reap()
    report = await survivor.drain()

    assert report.sent == 2
    assert texts_to(world.tg, 111) == ["p2", "p3"]
    assert await world.statuses(chat) == ["unknown", "sent", "sent"]


async def test_run_loop_wakes_on_new_work_and_stops_cleanly(world: World) -> None:
    chat = await world.chat(112)
    sender = world.sender()
    stop = asyncio.Event()
    task = asyncio.create_task(sender.run(stop))
    await asyncio.sleep(0.2)

    await world.digest(chat, "woken")
    sender.wake()
    await world.tg.wait_for_messages(112, 1, timeout=3)
    stop.set()
    await asyncio.wait_for(task, 3)

    assert texts_to(world.tg, 112) == ["woken"]


async def test_each_worker_sends_through_its_own_bot_until_aclose(world: World) -> None:
    make = sender_bots(world.tg.token, world.tg.base_url)
    made: list[telegram.Bot] = []

    def worker_bot() -> telegram.Bot:
        made.append(make())
        return made[-1]

    chats = [await world.chat(1100 + n) for n in range(8)]
    for chat in chats:
        await world.digest(chat, "first", "second")
    settings = DeliverySettings(concurrency=4, lease_seconds=30)
    sender = Sender(
        world.store, world.bot, world.limiter, settings, world.clock, "own", worker_bot=worker_bot
    )

    report = await sender.drain()
    await world.digest(chats[0], "third", slot="s2")
    again = await sender.drain()  # the same four bots, none new
    await sender.aclose()

    assert report.sent == 16 and again.sent == 1 and len(made) == 4
    assert all(texts_to(world.tg, 1100 + n)[:2] == ["first", "second"] for n in range(8))
    assert world.tg.rejected_429 == 0
    with pytest.raises(telegram.error.NetworkError, match="not initialized"):  # closed
        await made[0].send_message(1100, "after aclose")


async def test_shared_limiter_paces_replies_and_lets_sender_sends_through(
    world: World,
) -> None:
    ext_bot = ExtBot(
        world.tg.token,
        base_url=world.tg.api_base_url,
        rate_limiter=SharedRateLimiter(world.limiter),
    )
    chat = await world.chat(113)
    await world.digest(chat, "from the outbox", "and more")
    async with ext_bot:
        sender = Sender(world.store, ext_bot, world.limiter, DeliverySettings(), world.clock, "ext")
        replies = [ext_bot.send_message(113, f"reply {n}") for n in range(4)]
        results = await asyncio.gather(sender.drain(), *replies)

    assert results[0].sent == 2
    assert len(world.tg.messages_to(113)) == 6
    assert world.tg.rejected_429 == 0  # 6 messages to one chat, paced at ~1/s


async def test_a_reply_waits_out_a_flood_pause_then_goes(world: World) -> None:
    # Telegram would refuse it during the pause anyway; after it, the reply is sent.
    ext_bot = ExtBot(
        world.tg.token,
        base_url=world.tg.api_base_url,
        rate_limiter=SharedRateLimiter(world.limiter),
    )
    world.tg.private_chat(114)
    world.limiter.pause_all(1.0)
    async with ext_bot:
        started = time.monotonic()
        await ext_bot.send_message(114, "/help answer")
        assert time.monotonic() - started >= 1.0
        paused = time.monotonic()
        world.limiter.pause_all(3600)
        await ext_bot.get_me()  # not a message: never held back
        assert time.monotonic() - paused < 1.0

    assert texts_to(world.tg, 114) == ["/help answer"]


async def test_replies_go_on_while_digests_sit_in_a_flood_wait(world: World) -> None:
    ext_bot = ExtBot(
        world.tg.token,
        base_url=world.tg.api_base_url,
        rate_limiter=SharedRateLimiter(world.limiter),
    )
    world.tg.private_chat(116)
    world.limiter.pause_bulk(3600)  # a digest message got a 429: the outbox waits
    async with ext_bot:
        started = time.monotonic()
        await ext_bot.send_message(116, "/help answer")

    assert time.monotonic() - started < 1.0
    assert texts_to(world.tg, 116) == ["/help answer"]


async def test_a_reply_refused_with_429_is_sent_again_after_retry_after(world: World) -> None:
    rate_limiter = SharedRateLimiter(world.limiter)
    ext_bot = ExtBot(world.tg.token, base_url=world.tg.api_base_url, rate_limiter=rate_limiter)
    world.tg.private_chat(115)
    world.tg.faults.force_429(115, retry_after=1, times=2)
    async with ext_bot:
        started = time.monotonic()
        await ext_bot.send_message(115, "late but there")

    assert time.monotonic() - started >= 2.0  # two refusals, each waited out
    assert (world.tg.rejected_429, rate_limiter.retried) == (2, 2)
    assert texts_to(world.tg, 115) == ["late but there"]


async def test_marks_of_concurrent_workers_share_transactions(database_url: str) -> None:
    """Limits off, 16 workers: far fewer commits than the two marks per message."""
    store = await open_store(database_url)
    commits: list[int] = []
    event.listen(store.engine.sync_engine, "commit", lambda _conn: commits.append(1))
    settings = DeliverySettings(
        allow_paid_broadcast=True, private_chat_interval_seconds=0.0, concurrency=16
    )
    try:
        async with FakeTelegram(auto_create_chats=True) as tg:
            requests = []
            for n in range(60):
                chat = await store.chats.ensure(
                    ChatKey(5000 + n),
                    kind="private",
                    title="",
                    timezone="UTC",
                    digest_times=["08:00"],
                    next_digest_at=None,
                )
                parts = (Part(f"{n} one"), Part(f"{n} two"))
                requests.append(DigestRequest(chat.id, "scheduled", "s", parts, 0, None, None))
            await store.outbox.enqueue(requests)
            commits.clear()
            async with telegram.Bot(tg.token, base_url=tg.api_base_url) as bot:
                limiter = SendLimiter.from_settings(settings)
                sender = Sender(store, bot, limiter, settings, lambda: START, "fast")
                report = await sender.drain()
            counts = await store.outbox.counts()
    finally:
        await store.close()

    assert report.sent == 120 and counts == {"sent": 120}
    assert all(texts_to(tg, 5000 + n) == [f"{n} one", f"{n} two"] for n in range(60))
    assert len(commits) < 120  # one per message would already be half of the old 240
