"""Updates into the inbox: the one path both receivers take (long polling and webhook).

:meth:`UpdateIntake.store` writes updates in one inbox transaction and returns
only once it committed; a caller confirms the updates to Telegram after that
(the next ``getUpdates`` offset, or the webhook's 200). Then it wakes the local
dispatcher, if there is one, and handles the per-chat cap: the updates refused
are counted and a private chat is asked, at most once per
:data:`SLOW_DOWN_EVERY_SECONDS`, to slow down (groups and channels are not
written to: a busy group is not one person to ask).

Updates are stored as Telegram sent them (JSON), not parsed: one update this
python-telegram-bot version cannot read must not hold back the others (the
dispatcher gives such an update up on its own). Each is filed under its lane:
its chat, else its user (inline queries), else 0; a lane's updates are handled
in order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from telegram import Bot

from bot.chat import texts
from bot.language import DEFAULT_LANGUAGE, language_of, tr
from bot.store.inbox import AddResult, InboxRepository, IncomingUpdate

log = logging.getLogger(__name__)

SLOW_DOWN_EVERY_SECONDS = 60.0
# The update types some handler takes: others (reactions, edits, member lists of
# big groups) would only fill the inbox. my_chat_member tells when the bot is
# added to, or removed from, a chat or channel.
ALLOWED_UPDATES = ("message", "callback_query", "my_chat_member", "channel_post")

RawUpdate = Mapping[str, Any]


def incoming(raw: RawUpdate) -> IncomingUpdate:
    """The inbox row of one update as Telegram sent it: its id, its lane and its JSON."""
    return IncomingUpdate(int(raw["update_id"]), lane_of(raw), json.dumps(raw))


def lane_of(raw: RawUpdate) -> int:
    """The chat an update belongs to, else its user, else 0 (its order is kept per lane)."""
    for kind, body in raw.items():
        if kind == "update_id" or not isinstance(body, Mapping):
            continue
        chat = _chat_of(body)
        if chat is not None:
            return int(chat["id"])
        for user_key in ("from", "user"):
            user = body.get(user_key)
            if isinstance(user, Mapping) and isinstance(user.get("id"), int):
                return int(user["id"])
    return 0


def sender_language(raw: RawUpdate) -> str:
    """The language the bot speaks to an update's sender (their Telegram
    ``language_code``; English when there is none it speaks). The chat's own choice
    is in the store, which the replies here (sent before any handler) do not read."""
    for kind, body in raw.items():
        user = body.get("from") if kind != "update_id" and isinstance(body, Mapping) else None
        if isinstance(user, Mapping) and isinstance(user.get("language_code"), str):
            return language_of(user["language_code"])
    return DEFAULT_LANGUAGE


def has_update_id(item: object) -> bool:
    """True for a JSON object with an integer ``update_id`` (anything else is not an update)."""
    update_id = item.get("update_id") if isinstance(item, Mapping) else None
    return isinstance(update_id, int) and not isinstance(update_id, bool)


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

    async def store(self, updates: Sequence[RawUpdate]) -> AddResult:
        """Write ``updates`` to the inbox (committed on return); raises if the write failed."""
        result = await self._inbox.add([incoming(u) for u in updates], per_chat_cap=self._cap)
        if result.stored and self._wake is not None:
            self._wake()
        self._handle_drops(result.dropped_by_chat, _private_lanes(updates))
        return result

    def close(self) -> None:
        """Cancel slow-down notices still being sent."""
        for task in list(self._notices):
            task.cancel()

    def _handle_drops(self, dropped_by_chat: dict[int, int], private: dict[int, str]) -> None:
        for chat_id, count in dropped_by_chat.items():
            self.dropped += count
            log.warning("chat %s sends too fast: %d updates dropped", chat_id, count)
            if chat_id in private and self._may_tell(chat_id):
                # Not awaited: the caller confirms the updates now, whatever the notice does.
                task = asyncio.create_task(self._tell_to_slow_down(chat_id, private[chat_id]))
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

    async def _tell_to_slow_down(self, chat_id: int, lang: str) -> None:
        try:
            await self._bot.send_message(chat_id, tr(lang, texts.SLOW_DOWN))
        except Exception as err:  # the chat may be gone; the drop is logged either way
            log.info("could not ask chat %s to slow down: %s", chat_id, err)


def _chat_of(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The chat of an update's body (a callback query's is in its message)."""
    for holder in (body, body.get("message")):
        chat = holder.get("chat") if isinstance(holder, Mapping) else None
        if isinstance(chat, Mapping) and isinstance(chat.get("id"), int):
            return chat
    return None


def _private_lanes(updates: Sequence[RawUpdate]) -> dict[int, str]:
    """The private chats among ``updates``, each with its sender's language."""
    private = {}
    for raw in updates:
        for body in raw.values():
            chat = _chat_of(body) if isinstance(body, Mapping) else None
            if chat is not None and chat.get("type") == "private":
                private[int(chat["id"])] = sender_language(raw)
    return private
