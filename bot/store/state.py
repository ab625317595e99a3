"""Small durable facts shared by the whole bot, e.g. a Telegram flood wait."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.clock import Clock, utcnow
from bot.store.dialect import upsert
from bot.store.schema import bot_state

SENDING_PAUSED_UNTIL = "sending_paused_until"


class StateRepository:
    """Key/value rows in ``bot_state``."""

    def __init__(self, engine: AsyncEngine, clock: Clock = utcnow) -> None:
        self._engine = engine
        self._clock = clock

    async def get(self, key: str) -> str | None:
        """The value stored under ``key``, or None."""
        async with self._engine.connect() as conn:
            stmt = select(bot_state.c.value).where(bot_state.c.key == key)
            return (await conn.execute(stmt)).scalar()

    async def set(self, key: str, value: str) -> None:
        """Store ``value`` under ``key`` (insert or replace)."""
        stmt = upsert(self._engine.dialect, bot_state, ["key"], ["value", "updated_at"])
        async with self._engine.begin() as conn:
            await conn.execute(stmt.values(key=key, value=value, updated_at=self._clock()))

    async def get_time(self, key: str) -> datetime | None:
        """A stored ISO timestamp, or None."""
        value = await self.get(key)
        return datetime.fromisoformat(value) if value else None

    async def set_time(self, key: str, value: datetime) -> None:
        """Store an aware timestamp as ISO text."""
        await self.set(key, value.isoformat())
