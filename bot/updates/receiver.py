"""Long polling into the inbox: ``getUpdates``, store the batch, only then confirm it.

python-telegram-bot's own Updater confirms a batch (the next ``getUpdates``
offset) before its handlers finish, so a process killed meanwhile loses those
commands. Here the next offset moves past a batch only after the batch is
committed to the inbox; a batch that could not be stored is asked for again.

Storing, and the per-chat cap on a flooding chat, are
:class:`~bot.updates.intake.UpdateIntake`'s, shared with the webhook receiver.
Telegram refuses ``getUpdates`` (409) while a webhook is set, so before its
first poll the receiver deletes a webhook left from a webhook deployment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any

from telegram import Bot
from telegram.error import Conflict, NetworkError

from bot.store.inbox import InboxRepository
from bot.updates.intake import ALLOWED_UPDATES, RawUpdate, UpdateIntake, has_update_id
from bot.updates.webhook import delete_webhook

log = logging.getLogger(__name__)

LONG_POLL_SECONDS = 25
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
        self._intake = UpdateIntake(
            bot, inbox, per_chat_cap=per_chat_cap, wake=wake_dispatcher, monotonic=monotonic
        )
        self._long_poll_seconds = long_poll_seconds
        self._offset: int | None = None
        self._webhook_checked = False

    @property
    def dropped(self) -> int:
        """Updates refused by the per-chat cap since start."""
        return self._intake.dropped

    async def run(self, stop: asyncio.Event) -> None:
        """Receive until ``stop`` is set (the caller may also cancel; nothing is lost)."""
        delay = RETRY_FIRST_SECONDS
        while not stop.is_set():
            try:
                await self.receive_once()
                delay = RETRY_FIRST_SECONDS
            except Exception as err:  # a bad round must never end receiving
                log.warning("receiving updates failed, retrying in %.0f s: %s", delay, _why(err))
                log.debug("receiving updates failed", exc_info=err)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)
        self._intake.close()

    async def receive_once(self) -> int:
        """One ``getUpdates`` round: store what came, then move the offset. Returns updates."""
        if not self._webhook_checked:
            await delete_webhook(self._bot)
            self._webhook_checked = True
        updates = await self._get_updates()
        if not updates:
            return 0
        await self._intake.store(updates)
        self._offset = max(int(update["update_id"]) for update in updates) + 1
        return len(updates)

    async def _get_updates(self) -> list[RawUpdate]:
        """The raw updates of one long poll (Telegram's JSON, unparsed: see intake)."""
        params: dict[str, Any] = {
            "timeout": self._long_poll_seconds,
            "allowed_updates": list(ALLOWED_UPDATES),
        }
        if self._offset is not None:
            params["offset"] = self._offset
        # Bot API method names are case-insensitive: "getupdates" is getUpdates, asked
        # through PTB's generic call (which returns the JSON) without the warning it
        # gives for a method it has a parsing wrapper for.
        result = await self._bot.do_api_request(
            "getupdates", api_kwargs=params, read_timeout=self._long_poll_seconds + 10
        )
        updates = [item for item in result or () if has_update_id(item)]
        if len(updates) < len(result or ()):
            log.warning("ignored %d items without an update_id", len(result) - len(updates))
        return updates


def _why(err: BaseException) -> str:
    if isinstance(err, Conflict) and "webhook" in err.message:
        return "a webhook receiver has set a webhook for this token (run one kind of receiver)"
    if isinstance(err, Conflict):
        return "another process is polling with this token (stop it, or use one bot per token)"
    if isinstance(err, NetworkError):
        return f"Telegram is not reachable ({err.message})"
    return str(err) or type(err).__name__
