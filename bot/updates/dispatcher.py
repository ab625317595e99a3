"""Runs the handlers from the inbox: one chat's updates in order, chats in parallel.

A round looks at the lanes (chats) with waiting updates, the longest-waiting
first, and starts a task for each lane not already running while a slot is
free (at most ``concurrency``). A task handles its lane's OLDEST waiting
update and ends; the next round takes the lane's next one. So a lane never
has two updates in flight (order kept), and a busy chat gets one turn per
round like every other chat: it cannot hold a slot for as long as it keeps
writing.

A handler run is counted before it starts and the update marked done when it
returns. An update whose runs were interrupted :data:`MAX_RUNS` times (it may
be what kills the process) is given up: marked failed, the chat told, never
run again. So is an update this python-telegram-bot cannot read. A run cut
short by a clean stop is not counted.

What a crash can repeat: handlers' effects are idempotent (subscribing twice
is subscribing once; a topic button asks for a state; /digest is keyed by its
update id), but a reply sent just before the crash is sent again by the second
run. Such runs are counted (``repeated``, and ``inbox.attempts`` above 1).
"""

from __future__ import annotations

import asyncio
import json
import logging

from telegram import Update
from telegram.ext import Application

from bot.chat import texts
from bot.clock import wait_any
from bot.language import tr
from bot.store.inbox import InboxRepository, WaitingUpdate
from bot.updates.intake import lane_of, sender_language

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 64
MAX_RUNS = 3
IDLE_RECHECK_SECONDS = 1.0
ERROR_BACKOFF_SECONDS = 5.0
STOP_GRACE_SECONDS = 10.0


class UpdateDispatcher:
    """Hands the inbox's waiting updates to the python-telegram-bot Application."""

    def __init__(
        self,
        application: Application,
        inbox: InboxRepository,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
    ) -> None:
        self._application = application
        self._inbox = inbox
        self._concurrency = concurrency
        self._woken = asyncio.Event()
        self._lanes: dict[int, asyncio.Task[None]] = {}
        self.handled = 0
        self.repeated = 0  # runs that repeat an interrupted one (a reply may repeat)

    def wake(self) -> None:
        """New updates are in the inbox."""
        self._woken.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatch until ``stop`` is set, then let running handlers finish (bounded)."""
        try:
            while not stop.is_set():
                self._woken.clear()
                pause = IDLE_RECHECK_SECONDS
                try:
                    await self.dispatch_waiting()
                except Exception as err:  # a database hiccup must not end dispatching
                    log.warning("reading the inbox failed: %s", err)
                    pause = ERROR_BACKOFF_SECONDS
                    self._woken.clear()  # a lane ending meanwhile must not retry at once
                await wait_any(stop, self._woken, pause)
        finally:
            await self._finish_running()

    async def dispatch_waiting(self) -> int:
        """Start a task for each waiting lane not running, while slots are free; returns starts."""
        free = self._concurrency - len(self._lanes)
        if free <= 0:
            return 0
        # Asking for more lanes than are free: running ones are skipped below.
        lanes = await self._inbox.waiting_chats(limit=free + len(self._lanes))
        started = 0
        for lane in lanes:
            if lane in self._lanes or started == free:
                continue
            self._lanes[lane] = asyncio.create_task(self._handle_next(lane))
            started += 1
        return started

    async def drain(self) -> None:
        """Handle everything waiting now, to the end (the shell and tests use this)."""
        while await self.dispatch_waiting() or self._lanes:
            await asyncio.gather(*self._lanes.values(), return_exceptions=True)

    async def _handle_next(self, lane: int) -> None:
        try:
            for waiting in await self._inbox.waiting_for_chat(lane, 1):
                await self._handle(waiting)
        except Exception:
            log.exception("handling an update of chat %s failed", lane)
        finally:
            self._lanes.pop(lane, None)
            self._woken.set()  # the lane's next update, or another lane's, may go now

    async def _handle(self, waiting: WaitingUpdate) -> None:
        if waiting.attempts >= MAX_RUNS:
            log.error("update %s was interrupted %d times", waiting.update_id, waiting.attempts)
            await self._give_up(waiting)
            return
        try:
            update = Update.de_json(json.loads(waiting.payload), self._application.bot)
        except Exception as err:  # sent by Telegram, but not readable by this PTB
            log.error("update %s cannot be read: %s", waiting.update_id, err)
            await self._give_up(waiting)
            return
        await self._run_handlers(waiting, update)

    async def _run_handlers(self, waiting: WaitingUpdate, update: Update) -> None:
        runs = await self._inbox.begin(waiting.update_id)
        if runs > 1:
            self.repeated += 1
            log.warning("update %s runs again after an interruption", waiting.update_id)
        try:
            # Handler failures are PTB's to report (bot.chat.error_reply); they end the run.
            await self._application.process_update(update)
        except asyncio.CancelledError:
            # A clean stop cut the run short: not an interruption to count against it.
            await asyncio.shield(self._inbox.unbegin(waiting.update_id))
            raise
        await self._inbox.finish(waiting.update_id)
        self.handled += 1

    async def _give_up(self, waiting: WaitingUpdate) -> None:
        await self._inbox.finish(waiting.update_id, status="failed")
        raw = json.loads(waiting.payload)
        chat_id = lane_of(raw)
        if not chat_id:
            return
        sorry = tr(sender_language(raw), texts.SOMETHING_WENT_WRONG)
        try:
            await self._application.bot.send_message(chat_id, sorry)
        except Exception as err:  # the chat may be gone; the failure is logged above
            log.info("could not tell chat %s its update was given up: %s", chat_id, err)

    async def _finish_running(self) -> None:
        running = list(self._lanes.values())
        if not running:
            return
        _, late = await asyncio.wait(running, timeout=STOP_GRACE_SECONDS)
        for task in late:  # their updates stay waiting: the next start handles them
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
