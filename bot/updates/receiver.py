"""Long polling into the inbox: ``getUpdates``, store the batch, only then confirm it.

python-telegram-bot's own Updater confirms a batch (the next ``getUpdates``
offset) before its handlers finish, so a process killed meanwhile loses those
commands. Here the next offset moves past a batch only after the batch is
committed to the inbox; a batch that could not be stored is asked for again.

A chat that floods the bot is capped in the inbox (``per_chat_cap`` waiting
updates); the rest are stored as dropped and the chat is asked, at most once
per :data:`SLOW_DOWN_EVERY_SECONDS`, to slow down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot, Update
from telegram.error import Conflict, NetworkError, TelegramError

from bot.chat import texts
from bot.store.inbox import InboxRepository, IncomingUpdate

log = logging.getLogger(__name__)

LONG_POLL_SECONDS = 25
SLOW_DOWN_EVERY_SECONDS = 60.0
# Waits after a failed getUpdates or a failed write: doubling from the first to the last.
RETRY_FIRST_SECONDS = 1.0
RETRY_MAX_SECONDS = 60.0


class UpdateReceiver:
    """Fetches updates with long polling and writes them to the inbox."""

    def __init__(
        self,
        bot: Bot,
        inbox: InboxRepository,
        wake_dispatcher: Callable[[], None],
        *,
        per_chat_cap: int,
        long_poll_seconds: int = LONG_POLL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bot = bot
        self._inbox = inbox
        self._wake = wake_dispatcher
        self._cap = per_chat_cap
        self._long_poll_seconds = long_poll_seconds
        self._monotonic = monotonic
        self._offset: int | None = None
        self._told_to_slow_down: dict[int, float] = {}
        self._notices: set[asyncio.Task[None]] = set()
        self.dropped = 0  # updates refused by the per-chat cap since start

    async def run(self, stop: asyncio.Event) -> None:
        """Receive until ``stop`` is set (the caller may also cancel; nothing is lost)."""
        delay = RETRY_FIRST_SECONDS
        while not stop.is_set():
            try:
                await self.receive_once()
                delay = RETRY_FIRST_SECONDS
            except (TelegramError, SQLAlchemyError, OSError) as err:
                log.warning("receiving updates failed, retrying in %.0f s: %s", delay, _why(err))
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
        for task in list(self._notices):
            task.cancel()

    async def receive_once(self) -> int:
        """One ``getUpdates`` round: store what came, then move the offset. Returns updates."""
        updates = await self._bot.get_updates(
            offset=self._offset,
            timeout=self._long_poll_seconds,
            allowed_updates=Update.ALL_TYPES,
        )
        if not updates:
            return 0
        rows = [incoming(update) for update in updates]
        result = await self._inbox.add(rows, per_chat_cap=self._cap)
        self._offset = max(update.update_id for update in updates) + 1
        if result.stored:
            self._wake()
        self._handle_drops(result.dropped_by_chat)
        return len(updates)

    def _handle_drops(self, dropped_by_chat: dict[int, int]) -> None:
        for chat_id, count in dropped_by_chat.items():
            self.dropped += count
            log.warning("chat %s sends too fast: %d updates dropped", chat_id, count)
            if self._may_tell(chat_id):
                task = asyncio.create_task(self._tell_to_slow_down(chat_id))
                self._notices.add(task)
                task.add_done_callback(self._notices.discard)

    def _may_tell(self, chat_id: int) -> bool:
        now = self._monotonic()
        cutoff = now - SLOW_DOWN_EVERY_SECONDS
        self._told_to_slow_down = {c: t for c, t in self._told_to_slow_down.items() if t > cutoff}
        if chat_id in self._told_to_slow_down:
            return False
        self._told_to_slow_down[chat_id] = now
        return True

    async def _tell_to_slow_down(self, chat_id: int) -> None:
        try:
            await self._bot.send_message(chat_id, texts.SLOW_DOWN)
        except TelegramError as err:
            log.info("could not ask chat %s to slow down: %s", chat_id, err)


def incoming(update: Update) -> IncomingUpdate:
    """The inbox row of an update: its id, its chat (0 for none) and its JSON."""
    chat = update.effective_chat
    return IncomingUpdate(update.update_id, chat.id if chat else 0, update.to_json())


def _why(err: BaseException) -> str:
    if isinstance(err, Conflict):
        return "another process is polling with this token (stop it, or use one bot per token)"
    if isinstance(err, NetworkError):
        return f"Telegram is not reachable ({err.message})"
    return str(err) or type(err).__name__
