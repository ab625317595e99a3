"""python-telegram-bot's rate-limiter hook, wired to the process-wide :class:`SendLimiter`.

Telegram's limits are per bot token, so the replies to commands and the outbox
sender share one budget. Build the application with
``ApplicationBuilder().rate_limiter(SharedRateLimiter(limiter))`` and give the
Sender the same ``limiter``.

Who acquires: the Sender acquires the limiter itself before each part and
passes ``rate_limit_args=ALREADY_PACED``; this adapter lets such calls straight
through, so no message is counted twice. Every other message-producing call
that names a numeric ``chat_id`` (sendMessage, editMessageText, copyMessage, ...)
is a reply and is paced here. Calls without a chat id (answerCallbackQuery,
getUpdates), chat actions and reads pass straight through: they are not
messages, and a button's spinner must stop at once.

Replies are never dropped. A reply waits for its slot however long that takes,
and a 429 on a reply pauses everything (``pause_all``) for ``retry_after``
(never less) and sends again, up to :data:`MAX_REPLY_ATTEMPTS` times. A 429 on
a digest message pauses only digest traffic (``pause_bulk``): replies go on at
the paced rate as long as Telegram accepts them, and the first reply it
refuses pauses them too. Replies come before digest traffic because
the limiter serves reservations in order and the Sender holds at most one
reservation per worker: a reply waits behind at most ``delivery.concurrency``
digest messages (about half a second at 30/s), never behind the whole queue.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any, Final

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

from bot.delivery.failures import retry_after_seconds
from bot.delivery.limiter import SendLimiter

log = logging.getLogger(__name__)

ALREADY_PACED: Final = "newsbot:already-paced"
# Each attempt first waits out the previous 429's retry_after; past this the
# handler's error reply takes over (which is itself paced the same way).
MAX_REPLY_ATTEMPTS = 8
_PACED_PREFIXES = ("send", "edit", "copy", "forward")
_UNPACED = frozenset({"sendChatAction"})

ApiResult = bool | dict[str, Any] | list[dict[str, Any]]


class SharedRateLimiter(BaseRateLimiter[str]):
    """Paces the bot's own API calls with the same limiter the outbox Sender uses."""

    def __init__(self, limiter: SendLimiter, *, max_attempts: int = MAX_REPLY_ATTEMPTS) -> None:
        self._limiter = limiter
        self._max_attempts = max_attempts
        self.retried = 0  # replies sent again after a 429

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
        """Wait for a slot when the call sends to a chat, then make it; resend after a 429."""
        chat_id = _paced_chat_id(endpoint, data.get("chat_id"))
        if rate_limit_args == ALREADY_PACED or chat_id is None:
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as err:  # the Sender's own part: it pauses digest traffic
                self._limiter.pause_bulk(retry_after_seconds(err))
                raise
        return await self._send_paced(callback, args, kwargs, endpoint, chat_id)

    async def _send_paced(
        self,
        callback: Callable[..., Coroutine[Any, Any, ApiResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        chat_id: int,
    ) -> ApiResult:
        for attempt in range(1, self._max_attempts + 1):
            await self._limiter.acquire_slot(chat_id, is_group=chat_id < 0, bulk=False)
            try:
                async with self._limiter.sending():
                    return await callback(*args, **kwargs)
            except RetryAfter as err:
                # The pause moves every reservation, this reply's next one included.
                self._limiter.pause_all(retry_after_seconds(err))
                if attempt == self._max_attempts:
                    raise
                self.retried += 1
                log.warning("%s to chat %s hit a flood wait; sending again", endpoint, chat_id)
        raise AssertionError("unreachable: the last attempt returns or raises")


def _paced_chat_id(endpoint: str, chat_id: object) -> int | None:
    """The numeric chat id of a message-producing call; None for calls not paced here."""
    if endpoint in _UNPACED or not endpoint.startswith(_PACED_PREFIXES):
        return None
    if isinstance(chat_id, int):
        return chat_id
    if isinstance(chat_id, str) and chat_id.lstrip("-").isdigit():
        return int(chat_id)
    return None
