"""The fake Telegram's world: chats, users acting in them, and what the bot did.

No HTTP here: `telegram.py` serves it, `telegram_methods.py` implements the Bot
API methods on top of it.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, Final

from .telegram_faults import Faults
from .telegram_files import SentDocument, StoredFile
from .telegram_html import utf16_len
from .telegram_limits import RateLimits, SlidingWindowLimiter
from .telegram_params import scope_key
from .telegram_records import (
    BOT_USERNAME,
    CallbackAnswer,
    DeletedMessage,
    EditedMessage,
    FakeChat,
    SentMessage,
    chat_member,
    make_bot_user,
    make_user,
)


class _AnyThread:
    def __repr__(self) -> str:
        return "ANY_THREAD"


ANY_THREAD: Final[Any] = _AnyThread()


class _Pulse:
    """Wakes every waiter when something happens (a fresh Event per happening)."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def fire(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_until(self, condition: Callable[[], bool], seconds: float) -> bool:
        """Wait until `condition()` holds; False if `seconds` pass first."""
        deadline = time.monotonic() + seconds
        while True:
            event = self._event
            if condition():
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            try:
                await asyncio.wait_for(event.wait(), remaining)
            except TimeoutError:
                return condition()


class FakeTelegramState:
    """Chats, users, pending updates and the record of every bot action."""

    def __init__(
        self,
        token: str = "123:ABC",
        *,
        limits: bool = False,
        rate_limits: RateLimits | None = None,
        auto_create_chats: bool = False,
    ) -> None:
        self.token = token
        self.limits = limits
        self.auto_create_chats = auto_create_chats
        self.limiter = SlidingWindowLimiter(rate_limits or RateLimits())
        self.faults = Faults()
        self.bot_user: dict[str, Any] = make_bot_user()
        self.chats: dict[int, FakeChat] = {}
        self.users: dict[int, dict[str, Any]] = {}
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}
        self.sent: list[SentMessage] = []
        self.edits: list[EditedMessage] = []
        self.deleted: list[DeletedMessage] = []
        self.callback_answers: list[CallbackAnswer] = []
        self.commands_by_scope: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.calls: Counter[str] = Counter()
        self.rejected_429 = 0
        self.poll_generation = 0  # each getUpdates call ends any older one held open
        self.closing = False
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_max_connections = 40
        self.webhook_attempts: list[Any] = []  # WebhookAttempt, see telegram_webhook.py
        self.webhook_last_error: tuple[int, str] | None = None  # (unix time, message)
        self.pending_updates: list[dict[str, Any]] = []
        self.open_callback_queries: dict[str, dict[str, Any]] = {}
        self.files: dict[str, StoredFile] = {}  # uploaded by users (telegram_files.py)
        self.documents: list[SentDocument] = []  # sent by the bot
        self._sent_by_chat: dict[int, list[SentMessage]] = {}
        self._update_ids = itertools.count(1)
        self._callback_ids = itertools.count(4_000_000_000_001)
        self.updates_pulse = _Pulse()
        self._activity_pulse = _Pulse()

    # ---- chats and users -------------------------------------------------

    def add_user(self, user_id: int, first_name: str, username: str | None = None) -> None:
        """Register (or rename) a human user."""
        self.users[user_id] = make_user(user_id, first_name, username)

    def private_chat(self, user_id: int, first_name: str = "Alice") -> int:
        """A private chat with `user_id`; its chat id equals the user id."""
        self.add_user(user_id, first_name)
        self.chats[user_id] = FakeChat(id=user_id, type="private", first_name=first_name)
        return user_id

    def group(
        self,
        chat_id: int,
        title: str,
        *,
        admins: set[int],
        members: Iterable[int] = (),
        supergroup: bool = True,
        forum: bool = False,
        creator: int | None = None,
    ) -> int:
        """A (super)group with the given admins and members (users get default names)."""
        people = {*admins, *members, *([creator] if creator is not None else [])}
        for user_id in people - self.users.keys():
            self.add_user(user_id, f"User{user_id}")
        chat_type = "supergroup" if supergroup else "group"
        self.chats[chat_id] = FakeChat(
            id=chat_id,
            type=chat_type,
            title=title,
            is_forum=forum,
            admins=set(admins),
            members=set(people),
            creator=creator,
        )
        return chat_id

    def channel(
        self, chat_id: int, title: str, *, admins: set[int], creator: int | None = None
    ) -> int:
        """A channel with these admins (the creator too); the bot is not in it yet."""
        for user_id in {*admins, *([creator] if creator is not None else [])} - self.users.keys():
            self.add_user(user_id, f"User{user_id}")
        self.chats[chat_id] = FakeChat(
            id=chat_id, type="channel", title=title, admins=set(admins), creator=creator
        )
        return chat_id

    async def set_bot_in_channel(
        self, chat_id: int, by_user: int, status: str, *, can_post: bool = True
    ) -> dict[str, Any]:
        """An admin adds the bot ("administrator"), changes its rights or removes it
        ("left", "kicked"); queues the ``my_chat_member`` update Telegram sends."""
        chat = self._known_chat(chat_id)
        old = chat_member(chat, self.bot_user)
        chat.bot_status = status
        chat.bot_can_post = can_post and status == "administrator"
        change = {
            "chat": chat.as_dict(),
            "from": self.user(by_user),
            "date": int(time.time()),
            "old_chat_member": old,
            "new_chat_member": chat_member(chat, self.bot_user),
        }
        return self._queue_update("my_chat_member", change)

    def chat(self, chat_id: int) -> FakeChat | None:
        """The chat with this id (created on the fly when `auto_create_chats`)."""
        chat = self.chats.get(chat_id)
        if chat is None and self.auto_create_chats:
            if chat_id > 0:
                self.private_chat(chat_id, f"User{chat_id}")
            else:
                self.group(chat_id, f"Group {chat_id}", admins=set())
            chat = self.chats[chat_id]
        return chat

    def user(self, user_id: int) -> dict[str, Any]:
        """The User object for `user_id` (a default one if the test never named it)."""
        if user_id == self.bot_user["id"]:
            return self.bot_user
        if user_id not in self.users:
            self.add_user(user_id, f"User{user_id}")
        return self.users[user_id]

    # ---- users acting ----------------------------------------------------

    async def send_text(
        self,
        chat_id: int,
        user_id: int,
        text: str,
        *,
        thread_id: int | None = None,
        reply_to: int | None = None,
    ) -> dict[str, Any]:
        """A user writes `text` in the chat (in reply to message `reply_to`, if given);
        returns the queued Update."""
        chat = self._known_chat(chat_id)
        message = self._user_message(chat, user_id)
        message["text"] = text
        if reply_to is not None:
            message["reply_to_message"] = self.messages[(chat.id, reply_to)]
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = chat.is_forum
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [
                {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
            ]
        self.messages[(chat.id, message["message_id"])] = message
        return self._queue_update("message", message)

    async def send_document(
        self,
        chat_id: int,
        user_id: int,
        file_name: str,
        data: bytes,
        *,
        caption: str | None = None,
        mime_type: str = "application/octet-stream",
    ) -> dict[str, Any]:
        """A user uploads a file as a document (``caption`` "/import" is a command)."""
        chat = self._known_chat(chat_id)
        message = self._user_message(chat, user_id)
        number = len(self.files) + 1
        stored = StoredFile(f"doc-{number}", f"udoc-{number}", file_name, mime_type, data)
        self.files[stored.file_id] = stored
        message["document"] = stored.as_document()
        if caption is not None:
            message["caption"] = caption
            if caption.startswith("/"):
                command = caption.split(maxsplit=1)[0]
                message["caption_entities"] = [
                    {"type": "bot_command", "offset": 0, "length": utf16_len(command)}
                ]
        self.messages[(chat.id, message["message_id"])] = message
        return self._queue_update("message", message)

    async def press_button(
        self, chat_id: int, user_id: int, message_id: int, data: str
    ) -> dict[str, Any]:
        """A user presses the inline button carrying `data` under a bot message."""
        message = self.messages.get((chat_id, message_id))
        if message is None or message["from"]["id"] != self.bot_user["id"]:
            raise ValueError(f"no bot message {message_id} in chat {chat_id}")
        if data not in _callback_data(message.get("reply_markup")):
            raise ValueError(f"message {message_id} in chat {chat_id} has no button {data!r}")
        query = {
            "id": str(next(self._callback_ids)),
            "from": self.user(user_id),
            "message": message,
            "chat_instance": str(abs(chat_id) * 7919),
            "data": data,
        }
        self.open_callback_queries[query["id"]] = query
        return self._queue_update("callback_query", query)

    async def migrate_group(self, old_id: int, new_id: int) -> None:
        """Upgrade a group to a supergroup with a new id, as Telegram does."""
        old = self._known_chat(old_id)
        self.group(
            new_id, old.title or "", admins=old.admins, members=old.members, creator=old.creator
        )
        old.migrated_to = new_id
        actor = old.creator or min(old.admins | old.members, default=self.bot_user["id"])
        to_message = self._user_message(old, actor)
        to_message["migrate_to_chat_id"] = new_id
        from_message = self._user_message(self.chats[new_id], actor)
        from_message["migrate_from_chat_id"] = old_id
        self._queue_update("message", to_message)
        self._queue_update("message", from_message)

    def _known_chat(self, chat_id: int) -> FakeChat:
        chat = self.chat(chat_id)
        if chat is None:
            raise ValueError(f"unknown chat {chat_id}: register it with private_chat()/group()")
        return chat

    def _user_message(self, chat: FakeChat, user_id: int) -> dict[str, Any]:
        return {
            "message_id": chat.next_message_id(),
            "from": self.user(user_id),
            "chat": chat.as_dict(),
            "date": int(time.time()),
        }

    def _queue_update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), kind: payload}
        self.pending_updates.append(update)
        self.updates_pulse.fire()
        return update

    # ---- what the bot did ------------------------------------------------

    @property
    def my_commands(self) -> list[dict[str, Any]]:
        """Commands set with setMyCommands for the default scope and no language."""
        return self.commands_by_scope.get(("default", ""), [])

    def commands_for_chat(self, chat_id: int) -> list[dict[str, Any]] | None:
        """Commands set for one chat (BotCommandScopeChat, no language); None if never set."""
        return self.commands_by_scope.get(
            scope_key({"scope": {"type": "chat", "chat_id": chat_id}})
        )

    def record_sent(self, sent: SentMessage) -> None:
        """Remember an accepted sendMessage and wake waiters."""
        self.sent.append(sent)
        self._sent_by_chat.setdefault(sent.chat_id, []).append(sent)

    def notify_activity(self) -> None:
        """Wake everyone waiting in wait_until / wait_for_messages."""
        self._activity_pulse.fire()

    def messages_to(self, chat_id: int, thread_id: int | None = ANY_THREAD) -> list[SentMessage]:
        """Messages sent to the chat, in order; pass thread_id to filter (None: no thread)."""
        sent = self._sent_by_chat.get(chat_id, [])
        if thread_id is ANY_THREAD:
            return list(sent)
        return [message for message in sent if message.thread_id == thread_id]

    async def wait_for_messages(
        self,
        chat_id: int,
        count: int = 1,
        timeout: float = 10.0,  # noqa: ASYNC109 - the public name tests use
        *,
        thread_id: int | None = ANY_THREAD,
    ) -> list[SentMessage]:
        """All messages sent to the chat once there are at least `count` of them."""
        if not await self._activity_pulse.wait_until(
            lambda: len(self.messages_to(chat_id, thread_id)) >= count, timeout
        ):
            got = self.messages_to(chat_id, thread_id)
            raise AssertionError(
                f"expected {count} message(s) to chat {chat_id} within {timeout}s, got "
                f"{len(got)}: {[m.plain_text[:60] for m in got]!r}"
            )
        return self.messages_to(chat_id, thread_id)

    async def wait_until(
        self,
        condition: Callable[[], bool],
        timeout: float = 10.0,  # noqa: ASYNC109 - same name as wait_for_messages
    ) -> None:
        """Wait until `condition()` holds after some bot request; AssertionError on timeout."""
        if not await self._activity_pulse.wait_until(condition, timeout):
            raise AssertionError(f"condition not met within {timeout}s: {condition!r}")


def _callback_data(markup: dict[str, Any] | None) -> set[str]:
    rows = (markup or {}).get("inline_keyboard", [])
    return {button["callback_data"] for row in rows for button in row if "callback_data" in button}


__all__ = ["ANY_THREAD", "BOT_USERNAME", "FakeTelegramState"]
