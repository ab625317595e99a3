"""Digests to a channel are paced like a group's: at most N a minute (N = 20 by default)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import telegram

from bot.delivery.limiter import SendLimiter
from bot.delivery.sender import Sender
from bot.settings import DeliverySettings
from bot.store import Store, open_store
from bot.store.records import ChatKey, DigestRequest, Part
from tests.fakes.telegram import FakeTelegram

NOW = datetime(2030, 3, 2, 6, 0, tzinfo=UTC)
CHANNEL = -1005000
ADMIN = 77


class LimiterTime:
    """The limiter's clock; its sleeps move it on at once (no test waits for real)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(seconds, 0.0)
        await asyncio.sleep(0)


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[Store]:
    opened = await open_store(database_url, clock=lambda: NOW)
    yield opened
    await opened.close()


async def test_a_channel_gets_at_most_the_group_rate(store: Store) -> None:
    time = LimiterTime()
    limiter = SendLimiter(group_per_minute=2, clock=time, sleep=time.sleep)
    async with FakeTelegram() as tg:
        tg.channel(CHANNEL, "Garden News", admins={ADMIN})
        await tg.set_bot_in_channel(CHANNEL, ADMIN, "administrator")
        chat = await store.chats.ensure(
            ChatKey(CHANNEL),
            kind="channel",
            title="Garden News",
            timezone="UTC",
            digest_times=["08:00"],
            next_digest_at=None,
        )
        parts = tuple(Part(f"part {n}") for n in range(3))
        await store.outbox.enqueue([DigestRequest(chat.id, "manual", "m1", parts, 0, None, None)])
        async with telegram.Bot(tg.token, base_url=tg.api_base_url) as bot:
            sender = Sender(store, bot, limiter, DeliverySettings(), lambda: NOW, "test")
            report = await sender.drain()

        assert report.sent == 3
        assert [m.plain_text for m in tg.messages_to(CHANNEL)] == ["part 0", "part 1", "part 2"]
        assert time.now - 1000.0 >= 60  # the third part waited for the group's minute
