"""No user's command is dropped: bursts of users, a flood wait on a reply, a flooding chat.

The real bot runs against the fake Telegram with Telegram's limits on (30
messages/s, 2 per second per private chat) and production pacing, on SQLite
and PostgreSQL. Every update goes through the durable inbox.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from bot.app import NewsBot, running_bot
from bot.chat import texts
from bot.settings import DeliverySettings, Settings
from tests.chat.conftest import TOPICS, fixed_clock
from tests.fakes.telegram import FakeTelegram

USERS = 300
FIRST_USER = 60_000


@pytest.fixture
async def limited_tg() -> AsyncIterator[FakeTelegram]:
    """The fake Telegram enforcing Telegram's flood limits."""
    async with FakeTelegram(limits=True) as fake:
        yield fake


def burst_settings(tg: FakeTelegram, database_url: str) -> Settings:
    """Production pacing (1 message/s per private chat), four topics, no sources."""
    return Settings(
        telegram_token="123:ABC",
        telegram_api_url=tg.base_url,
        database_url=database_url,
        tick_seconds=3600,
        topics=TOPICS,
        sources=[],
        delivery=DeliverySettings(),
    )


def answered(tg: FakeTelegram, users: list[int], replies: int) -> bool:
    return all(len(tg.messages_to(user)) >= replies for user in users)


async def test_300_users_starting_at_once_are_all_answered_without_a_429(
    limited_tg: FakeTelegram, database_url: str
) -> None:
    users = [FIRST_USER + n for n in range(USERS)]
    for user in users:
        limited_tg.private_chat(user, f"User {user}")
    async with running_bot(burst_settings(limited_tg, database_url), clock=fixed_clock):
        for user in users:  # all within well under 2 s: the fake queues them at once
            await limited_tg.send_text(user, user, "/start")
        await limited_tg.wait_until(lambda: answered(limited_tg, users, 1), timeout=120)
        for user in users:
            await limited_tg.send_text(user, user, "/subscribe world")
        await limited_tg.wait_until(lambda: answered(limited_tg, users, 2), timeout=120)

    for user in users:
        start_reply, subscribe_reply = limited_tg.messages_to(user)
        assert "World news" in subscribe_reply.plain_text, subscribe_reply.plain_text
        assert start_reply.sent_at < subscribe_reply.sent_at
    assert limited_tg.rejected_429 == 0


async def test_a_reply_refused_with_a_flood_wait_is_sent_after_it(
    limited_tg: FakeTelegram, database_url: str
) -> None:
    user = FIRST_USER
    limited_tg.private_chat(user, "Alice")
    limited_tg.faults.force_429(user, retry_after=2)
    async with running_bot(burst_settings(limited_tg, database_url), clock=fixed_clock):
        asked_at = time.monotonic()
        await limited_tg.send_text(user, user, "/help")
        [reply] = await limited_tg.wait_for_messages(user, count=1, timeout=30)

    assert limited_tg.rejected_429 == 1
    assert reply.sent_at - asked_at >= 2.0  # never before retry_after ran out
    assert "/subscribe" in reply.plain_text


async def test_a_flooding_chat_is_capped_and_others_are_answered_first(
    limited_tg: FakeTelegram, database_url: str
) -> None:
    flooder, others = FIRST_USER, [FIRST_USER + 1 + n for n in range(50)]
    for user in [flooder, *others]:
        limited_tg.private_chat(user, f"User {user}")
    settings = burst_settings(limited_tg, database_url)
    async with running_bot(settings, clock=fixed_clock) as newsbot:
        for _ in range(2_000):
            await limited_tg.send_text(flooder, flooder, "/help")
        for user in others:
            await limited_tg.send_text(user, user, "/help")
        await limited_tg.wait_until(lambda: answered(limited_tg, others, 1), timeout=60)
        flooder_replies_then = len(limited_tg.messages_to(flooder))
        await _until_inbox_settles(newsbot)
        counts = await newsbot.store.inbox.counts()
        dropped = newsbot.receiver.dropped

    cap = settings.updates.per_chat_waiting_cap
    flooder_texts = [m.plain_text for m in limited_tg.messages_to(flooder)]
    # The 50 were not queued behind the flood: the flooder, paced at ~1 reply/s, had
    # not had even its capped share answered when they all were.
    assert flooder_replies_then < cap
    assert flooder_texts.count(texts.SLOW_DOWN) == 1
    assert counts.get("pending", 0) == 0
    assert counts["dropped"] == dropped > 0
    assert counts["done"] == 2_000 + len(others) - dropped
    assert limited_tg.rejected_429 == 0


async def _until_inbox_settles(newsbot: NewsBot) -> None:
    """Wait until the inbox holds no waiting update (the flooder's share takes ~cap s)."""
    deadline = time.monotonic() + 120
    while (await newsbot.store.inbox.counts()).get("pending", 0):
        assert time.monotonic() < deadline, "the inbox never emptied"
        await asyncio.sleep(0.2)
