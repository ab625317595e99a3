"""Alerts to the operators (``admin_ids``), once per incident.

Two incidents: a source that has failed ``alert_failed_polls`` polls in a row,
and a Telegram flood wait that holds sending back longer than
``alert_flood_wait_minutes``. An incident is told once; it is over, and the
alert re-armed, when the source has a successful poll again (its error count
is back to 0), or when sending is no longer paused.

"Once" survives a restart because it is cheap to: the told sources are one
JSON list in ``bot_state`` (``ALERTED_SOURCES``), the told flood wait one row
(``ALERTED_FLOOD_WAIT``), each read once per process and written only when it
changes. The mark is written before the message goes out: a crash in between
loses an alert rather than repeating it, and an operator who cannot be reached
(never started the bot) is logged, not retried each tick.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.chat import operator_texts
from bot.clock import Clock
from bot.settings import Settings
from bot.store import Store
from bot.store.state import SENDING_PAUSED_UNTIL

log = logging.getLogger(__name__)

ALERTED_SOURCES = "alerted_sources"
ALERTED_FLOOD_WAIT = "alerted_flood_wait"

Notify = Callable[[str], Awaitable[object]]


class OperatorAlerts:
    """Watches the store after each poll and each plan tick; tells the operators."""

    def __init__(self, store: Store, settings: Settings, clock: Clock, notify: Notify) -> None:
        self._store = store
        self._failed_polls = settings.alert_failed_polls
        self._lang = settings.default_language
        self._flood_wait = timedelta(minutes=settings.alert_flood_wait_minutes)
        self._clock = clock
        self._notify = notify
        self._flood_started: datetime | None = None
        # One check at a time: two overlapping checks would both see a source as new.
        self._turn = asyncio.Lock()

    async def check_sources(self) -> list[int]:
        """Tell about sources newly past the threshold; returns their ids."""
        async with self._turn:
            return await self._check_sources()

    async def check_flood_wait(self) -> bool:
        """Tell about a flood wait longer than the threshold; True when told now."""
        async with self._turn:
            return await self._check_flood_wait()

    async def _check_sources(self) -> list[int]:
        told = await self._sources_told()
        sources = await self._store.sources.all()
        new = [s for s in sources if s.error_count >= self._failed_polls and s.id not in told]
        # Recovered (or removed) sources leave the set: their next incident is told again.
        still_failing = {s.id for s in sources if s.error_count > 0}
        now_told = (told & still_failing) | {s.id for s in new}
        if now_told != told:
            await self._store.state.set(ALERTED_SOURCES, json.dumps(sorted(now_told)))
        if new:
            log.warning("alert: %d source(s) failing", len(new))
            text = operator_texts.sources_failing_alert(
                new, self._failed_polls, self._clock(), self._lang
            )
            await self._notify(text)
        return [s.id for s in new]

    async def _check_flood_wait(self) -> bool:
        now = self._clock()
        until = await self._store.state.get_time(SENDING_PAUSED_UNTIL)
        if until is None or until <= now:
            self._flood_started = None
            if await self._flood_told():
                await self._set_flood_told(False)
            return False
        started = self._flood_started = self._flood_started or now
        if until - started <= self._flood_wait or await self._flood_told():
            return False
        await self._set_flood_told(True)
        log.warning("alert: flood wait until %s", until.isoformat())
        await self._notify(operator_texts.flood_wait_alert(started, until, now, self._lang))
        return True

    # Read from the store every time, not cached: the process that alerts (the planner
    # lease holder) may change, and the next one must know what was told.
    async def _sources_told(self) -> set[int]:
        stored = await self._store.state.get(ALERTED_SOURCES)
        return set(json.loads(stored)) if stored else set()

    async def _flood_told(self) -> bool:
        return bool(await self._store.state.get(ALERTED_FLOOD_WAIT))

    async def _set_flood_told(self, told: bool) -> None:
        # bot_state has no delete: an empty value means "not told".
        await self._store.state.set(ALERTED_FLOOD_WAIT, "yes" if told else "")
