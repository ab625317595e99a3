"""Updates into the inbox: the one path both receivers take (long polling and webhook).

:meth:`UpdateIntake.store` writes updates in one inbox transaction and returns
only once it committed; a caller confirms the updates to Telegram after that
(the next ``getUpdates`` offset, or the webhook's 200). Then it wakes the local
dispatcher, if there is one, and handles the per-chat cap: the updates refused
are counted and their chat is asked, at most once per
:data:`SLOW_DOWN_EVERY_SECONDS`, to slow down.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence

from telegram import Bot, Update
from telegram.error import TelegramError

from bot.chat import texts
from bot.store.inbox import AddResult, InboxRepository, IncomingUpdate

log = logging.getLogger(__name__)

SLOW_DOWN_EVERY_SECONDS = 60.0


def incoming(update: Update) -> IncomingUpdate:
    """The inbox row of an update: its id, its chat (0 for none) and its JSON."""
    chat = update.effective_chat
    return IncomingUpdate(update.update_id, chat.id if chat else 0, update.to_json())


class UpdateIntake:
    """Stores updates in the inbox and deals with chats over the per-chat cap."""

    def __init__(
        self,
        bot: Bot,
        inbox: InboxRepository,
        *,
        per_chat_cap: int,
        wake: Callable[[], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bot = bot
        self._inbox = inbox
        self._cap = per_chat_cap
        self._wake = wake
        self._monotonic = monotonic
        self._told_to_slow_down: dict[int, float] = {}
        self._notices: set[asyncio.Task[None]] = set()
        self.dropped = 0  # updates refused by the per-chat cap since start

    async def store(self, updates: Sequence[Update]) -> AddResult:
        """Write ``updates`` to the inbox (committed on return); raises if the write failed."""
        result = await self._inbox.add([incoming(u) for u in updates], per_chat_cap=self._cap)
        if result.stored and self._wake is not None:
            self._wake()
        self._handle_drops(result.dropped_by_chat)
        return result

    def close(self) -> None:
        """Cancel slow-down notices still being sent."""
        for task in list(self._notices):
            task.cancel()

    def _handle_drops(self, dropped_by_chat: dict[int, int]) -> None:
        for chat_id, count in dropped_by_chat.items():
            self.dropped += count
            log.warning("chat %s sends too fast: %d updates dropped", chat_id, count)
            if self._may_tell(chat_id):
                # Not awaited: the caller confirms the updates now, whatever the notice does.
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
