"""python-telegram-bot's rate-limiter hook, wired to the process-wide :class:`SendLimiter`.

Telegram's limits are per bot token, so the replies to commands and the outbox
sender must share one budget. Build the application with
``ApplicationBuilder().rate_limiter(SharedRateLimiter(limiter))`` and give the
Sender the same ``limiter``.

Who acquires: the Sender acquires the limiter itself before each part (it bounds
the wait and watches for flood pauses) and passes
``rate_limit_args=ALREADY_PACED``; this adapter lets such calls straight
through, so no message is counted twice. Every other message-producing call
that names a numeric ``chat_id`` (sendMessage, editMessageText, copyMessage, ...)
is paced here. Calls without a chat id, chat actions and reads pass straight
through.

Flood waits: while the limiter is paused (the Sender got a 429), replies are
NOT held back: the pause stops the outbox, and a user who sends /help during an
hour-long flood wait still gets an answer if Telegram accepts it. A 429 on a
reply pauses the shared limiter (so the outbox backs off) and is re-raised to
the handler.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from typing import Any, Final

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.delivery.failures import retry_after_seconds
from bot.delivery.limiter import SendLimiter

ALREADY_PACED: Final = "newsbot:already-paced"
# A reply waits at most this long for a slot, then goes anyway: answering late
# beats not answering, and the limiter keeps the bulk traffic in check.
MAX_REPLY_WAIT_SECONDS = 5.0
_PACED_PREFIXES = ("send", "edit", "copy", "forward")
_UNPACED = frozenset({"sendChatAction"})

ApiResult = bool | dict[str, Any] | list[dict[str, Any]]


class SharedRateLimiter(BaseRateLimiter[str]):
    """Paces the bot's own API calls with the same limiter the outbox Sender uses."""

    def __init__(
        self, limiter: SendLimiter, *, max_wait_seconds: float = MAX_REPLY_WAIT_SECONDS
    ) -> None:
        self._limiter = limiter
        self._max_wait_seconds = max_wait_seconds

    async def initialize(self) -> None:
        """Nothing to set up: the limiter lives as long as the process."""

    async def shutdown(self) -> None:
        """Nothing to release."""

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, ApiResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: str | None,
    ) -> ApiResult:
        """Wait for a slot when the call sends to a chat, then make it."""
        chat_id = _paced_chat_id(endpoint, data.get("chat_id"))
        try:
            if rate_limit_args == ALREADY_PACED or chat_id is None:
                return await callback(*args, **kwargs)
            await self._wait_for_slot(chat_id)
            async with self._limiter.sending():
                return await callback(*args, **kwargs)
        except RetryAfter as err:
            self._limiter.pause_all(retry_after_seconds(err))
            raise

    async def _wait_for_slot(self, chat_id: int) -> None:
        if self._limiter.paused_until() is not None:
            return  # the flood wait holds the outbox back, not the answers to users
        with contextlib.suppress(TimeoutError):  # see MAX_REPLY_WAIT_SECONDS
            await asyncio.wait_for(
                self._limiter.acquire_slot(chat_id, is_group=chat_id < 0), self._max_wait_seconds
            )


def _paced_chat_id(endpoint: str, chat_id: object) -> int | None:
    """The numeric chat id of a message-producing call; None for calls not paced here."""
    if endpoint in _UNPACED or not endpoint.startswith(_PACED_PREFIXES):
        return None
    if isinstance(chat_id, int):
        return chat_id
    if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
        return int(chat_id)
    return None
