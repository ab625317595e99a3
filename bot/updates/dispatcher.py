"""Runs the handlers from the inbox: one chat's updates in order, chats in parallel.

Each chat with waiting updates gets one task (at most ``concurrency`` run at
once); it handles the chat's updates one after the other in ``update_id``
order, so "/subscribe world" then "/digest" never swap. A handler run is
counted before it starts and the update marked done when it returns; an update
whose runs were all interrupted :data:`MAX_RUNS` times (it may be what kills
the process) is given up, logged, never retried again.

What a crash can repeat: the effects of a handler are idempotent (subscribing
twice is subscribing once; /digest is keyed by its update id), but a reply
sent just before the crash is sent again by the second run. Such repeats are
counted (``repeated``, and ``inbox.attempts`` above 1).
"""

from __future__ import annotations

import asyncio
import json
import logging

from telegram import Update
from telegram.ext import Application

from bot.clock import wait_any
from bot.store.inbox import InboxRepository, WaitingUpdate

log = logging.getLogger(__name__)

DEFAULT_CONCURRENCY = 64
# Updates of one chat read per query; the inbox keeps at most the per-chat cap waiting.
CHAT_BATCH = 50
MAX_RUNS = 3
IDLE_RECHECK_SECONDS = 1.0
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
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._woken = asyncio.Event()
        self._chats: dict[int, asyncio.Task[None]] = {}
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
                try:
                    await self.dispatch_waiting()
                except Exception:  # a database hiccup must not end dispatching
                    log.exception("reading the inbox failed")
                await wait_any(stop, self._woken, IDLE_RECHECK_SECONDS)
        finally:
            await self._finish_running()

    async def dispatch_waiting(self) -> int:
        """Start a task for every chat with waiting updates not already running; returns starts."""
        # Asking for more chats than run at once: running ones are skipped below.
        chats = await self._inbox.waiting_chats(limit=self._concurrency + len(self._chats))
        started = 0
        for chat_id in chats:
            if chat_id not in self._chats:
                self._chats[chat_id] = asyncio.create_task(self._drain(chat_id))
                started += 1
        return started

    async def drain(self) -> None:
        """Handle everything waiting now, to the end (the shell and tests use this)."""
        while await self.dispatch_waiting() or self._chats:
            await asyncio.gather(*self._chats.values(), return_exceptions=True)

    async def _drain(self, chat_id: int) -> None:
        try:
            async with self._slots:
                while batch := await self._inbox.waiting_for_chat(chat_id, CHAT_BATCH):
                    for waiting in batch:
                        await self._handle(waiting)
        except Exception:
            log.exception("handling the updates of chat %s failed", chat_id)
        finally:
            self._chats.pop(chat_id, None)
            self._woken.set()  # more may have arrived for this chat meanwhile

    async def _handle(self, waiting: WaitingUpdate) -> None:
        if waiting.attempts >= MAX_RUNS:
            log.error(
                "update %s was interrupted %d times; giving it up",
                waiting.update_id,
                waiting.attempts,
            )
            await self._inbox.finish(waiting.update_id, status="failed")
            return
        runs = await self._inbox.begin(waiting.update_id)
        if runs > 1:
            self.repeated += 1
            log.warning("update %s runs again after an interruption", waiting.update_id)
        bot = self._application.bot
        update = Update.de_json(json.loads(waiting.payload), bot)
        # Handler failures are PTB's to report (bot.chat.error_reply); they end the run.
        await self._application.process_update(update)
        await self._inbox.finish(waiting.update_id)
        self.handled += 1

    async def _finish_running(self) -> None:
        running = list(self._chats.values())
        if not running:
            return
        _, late = await asyncio.wait(running, timeout=STOP_GRACE_SECONDS)
        for task in late:  # their updates stay waiting: the next start handles them
            task.cancel()
        await asyncio.gather(*late, return_exceptions=True)
