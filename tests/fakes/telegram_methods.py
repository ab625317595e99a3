"""Bot API methods of the fake, implemented on FakeTelegramState.

Each handler takes the decoded parameters and returns the `result` value, or
raises ApiError (an error answer) or DropConnection (no answer at all).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .telegram_faults import (
    CHAT_NOT_FOUND,
    ApiError,
    DropConnection,
    Faults,
    bad_request,
    too_many_requests,
)
from .telegram_html import ParsedText
from .telegram_params import check_command, checked_markup, parse_text, scope_key
from .telegram_records import (
    CallbackAnswer,
    DeletedMessage,
    EditedMessage,
    FakeChat,
    SentMessage,
    chat_full_info,
    chat_member,
)
from .telegram_state import FakeTelegramState

Handler = Callable[[dict[str, Any]], Awaitable[Any]]

# BotCommandScope types, and those that name a chat.
COMMAND_SCOPES = frozenset(
    {"default", "all_private_chats", "all_group_chats", "all_chat_administrators"}
    | {"chat", "chat_administrators", "chat_member"}
)
CHAT_SCOPES = frozenset({"chat", "chat_administrators", "chat_member"})

# What Telegram accepts as setWebhook's secret_token.
_SECRET_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a content and reply markup of the current message"
)


class BotApiMethods:
    """The Bot API surface: `table()` maps lower-case method names to handlers."""

    def __init__(self, state: FakeTelegramState) -> None:
        self.state = state

    def table(self) -> dict[str, Handler]:
        """Handlers by lower-case method name (Telegram's names are case-insensitive)."""
        handlers: dict[str, Handler] = {
            "getme": self.get_me,
            "getupdates": self.get_updates,
            "sendmessage": self.send_message,
            "editmessagetext": self.edit_message_text,
            "editmessagereplymarkup": self.edit_message_reply_markup,
            "answercallbackquery": self.answer_callback_query,
            "deletemessage": self.delete_message,
            "setmycommands": self.set_my_commands,
            "getmycommands": self.get_my_commands,
            "deletemycommands": self.delete_my_commands,
            "getchatmember": self.get_chat_member,
            "getchat": self.get_chat,
            "sendchataction": self.send_chat_action,
            "setwebhook": self.set_webhook,
            "deletewebhook": self.delete_webhook,
            "getwebhookinfo": self.get_webhook_info,
            "close": self.harmless,
            "logout": self.harmless,
        }
        return handlers

    # ---- bot and updates -------------------------------------------------

    async def get_me(self, params: dict[str, Any]) -> dict[str, Any]:
        return self.state.bot_user

    async def harmless(self, params: dict[str, Any]) -> bool:
        return True

    async def get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """Long polling: hold until an update is pending or `timeout` seconds pass."""
        state = self.state
        if state.webhook_url:
            raise ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        _confirm(state, params.get("offset"))
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = min(float(params.get("timeout") or 0), 50.0)
        state.poll_generation += 1
        generation = state.poll_generation
        state.updates_pulse.fire()  # a newer poll ends the older one, as on Telegram
        await state.updates_pulse.wait_until(
            lambda: (
                bool(state.pending_updates) or state.poll_generation != generation or state.closing
            ),
            timeout,
        )
        if state.poll_generation != generation:
            raise ApiError(
                409,
                "Conflict: terminated by other getUpdates request; "
                "make sure that only one bot instance is running",
            )
        return state.pending_updates[:limit]

    async def set_webhook(self, params: dict[str, Any]) -> bool:
        """setWebhook: updates are POSTed to `url` from now on (telegram_webhook.py)."""
        state = self.state
        url = str(params.get("url") or "")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET_TOKEN_RE.fullmatch(str(secret)):
            raise bad_request("secret token contains unallowed characters")
        if url and not url.startswith(("https://", "http://")):
            raise bad_request("bad webhook: Wrong URL host")
        state.webhook_url = url
        state.webhook_secret = str(secret or "")
        state.webhook_max_connections = min(max(int(params.get("max_connections") or 40), 1), 100)
        state.webhook_last_error = None
        if params.get("drop_pending_updates"):
            state.pending_updates.clear()
        state.updates_pulse.fire()
        return True

    async def delete_webhook(self, params: dict[str, Any]) -> bool:
        self.state.webhook_url = ""
        self.state.webhook_secret = ""
        if params.get("drop_pending_updates"):
            self.state.pending_updates.clear()
        self.state.updates_pulse.fire()
        return True

    async def get_webhook_info(self, params: dict[str, Any]) -> dict[str, Any]:
        state = self.state
        info: dict[str, Any] = {
            "url": state.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(state.pending_updates),
        }
        if state.webhook_url:
            info["max_connections"] = state.webhook_max_connections
        if state.webhook_url and state.webhook_last_error is not None:
            info["last_error_date"], info["last_error_message"] = state.webhook_last_error
        return info

    # ---- messages --------------------------------------------------------

    async def send_message(self, params: dict[str, Any]) -> dict[str, Any]:
        """sendMessage with Telegram's checks, flood limits and injected faults."""
        state = self.state
        chat_id = params.get("chat_id")
        faults = None if state.faults.is_empty() else state.faults
        if faults is not None and isinstance(chat_id, int):
            faults.raise_server_error(chat_id)
            faults.raise_terminal(chat_id)
        chat = self._writable_chat(chat_id)
        self.check_can_post(chat)
        parsed = parse_text(params.get("text"), params.get("parse_mode"))
        markup = checked_markup(params.get("reply_markup"))
        self._check_reply_target(chat, params.get("reply_parameters"))
        if faults is not None:
            faults.raise_forced_429(chat.id)
        self._check_flood(chat)
        if faults is not None and faults.should_drop(chat.id, after_send=False):
            raise DropConnection
        message = self._record_sent(chat, params, parsed, markup)
        if faults is not None:
            await _after_send(faults, chat.id)
        return message

    def _writable_chat(self, chat_id: Any) -> FakeChat:
        chat = self.state.chat(chat_id) if isinstance(chat_id, int) else None
        if chat is None:
            raise CHAT_NOT_FOUND
        if chat.migrated_to is not None:
            raise bad_request(
                "group chat was upgraded to a supergroup chat",
                {"migrate_to_chat_id": chat.migrated_to},
            )
        return chat

    def check_can_post(self, chat: FakeChat) -> None:
        """In a channel the bot posts only as an admin with the right to post."""
        if chat.type != "channel":
            return
        if chat.bot_status not in ("administrator", "creator"):
            raise ApiError(403, "Forbidden: bot is not a member of the channel chat")
        if not chat.bot_can_post:
            raise bad_request("need administrator rights in the channel chat")

    def _check_reply_target(self, chat: FakeChat, reply: Any) -> None:
        if not isinstance(reply, dict) or reply.get("allow_sending_without_reply"):
            return
        if reply.get("chat_id", chat.id) != chat.id:
            return  # replies into other chats are not modelled
        if (chat.id, reply.get("message_id")) not in self.state.messages:
            raise bad_request("message to be replied not found")

    def _check_flood(self, chat: FakeChat) -> None:
        if not self.state.limits:
            return
        wait = self.state.limiter.retry_after(chat.id, is_group=chat.is_group)
        if wait is not None:
            raise too_many_requests(wait)
        self.state.limiter.record(chat.id)

    def _record_sent(
        self,
        chat: FakeChat,
        params: dict[str, Any],
        parsed: ParsedText,
        markup: dict[str, Any] | None,
    ) -> dict[str, Any]:
        thread_id = params.get("message_thread_id")
        message = {
            "message_id": chat.next_message_id(),
            "from": self.state.bot_user,
            "chat": chat.as_dict(),
            "date": int(time.time()),
            "text": parsed.text,
        }
        if parsed.entities:
            message["entities"] = list(parsed.entities)
        if thread_id is not None:
            message["message_thread_id"] = thread_id
            message["is_topic_message"] = chat.is_forum
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # Telegram echoes inline keyboards only
        self.state.messages[(chat.id, message["message_id"])] = message
        self.state.record_sent(_sent_record(message, params, parsed, markup))
        return message

    async def edit_message_text(self, params: dict[str, Any]) -> dict[str, Any]:
        """editMessageText on a bot message (faults apply if faults.include_edits)."""
        chat, message = await self._editable(params)
        parsed = parse_text(params.get("text"), params.get("parse_mode"))
        markup = checked_markup(params.get("reply_markup"))
        new_entities = list(parsed.entities) or None
        unchanged = (
            message["text"] == parsed.text
            and message.get("entities") == new_entities
            and message.get("reply_markup") == markup
        )
        if unchanged:
            raise bad_request(_NOT_MODIFIED)
        message["text"] = parsed.text
        _set_or_drop(message, "entities", new_entities)
        return self._finish_edit("editMessageText", chat, message, params, markup)

    async def edit_message_reply_markup(self, params: dict[str, Any]) -> dict[str, Any]:
        """editMessageReplyMarkup on a bot message; no reply_markup removes the keyboard."""
        chat, message = await self._editable(params)
        markup = checked_markup(params.get("reply_markup"))
        if message.get("reply_markup") == markup:
            raise bad_request(_NOT_MODIFIED)
        return self._finish_edit("editMessageReplyMarkup", chat, message, params, markup)

    async def _editable(self, params: dict[str, Any]) -> tuple[FakeChat, dict[str, Any]]:
        if "inline_message_id" in params:
            raise bad_request("inline messages are not supported by the fake")
        chat_id = params.get("chat_id")
        faults = self.state.faults
        if faults.include_edits and isinstance(chat_id, int):
            faults.raise_terminal(chat_id)
            faults.raise_forced_429(chat_id)
        chat = self._writable_chat(chat_id)
        message = self.state.messages.get((chat.id, params.get("message_id", 0)))
        if message is None:
            raise bad_request("message to edit not found")
        if message["from"]["id"] != self.state.bot_user["id"]:
            raise bad_request("message can't be edited")
        return chat, message

    def _finish_edit(
        self,
        method: str,
        chat: FakeChat,
        message: dict[str, Any],
        params: dict[str, Any],
        markup: dict[str, Any] | None,
    ) -> dict[str, Any]:
        _set_or_drop(message, "reply_markup", markup)
        message["edit_date"] = int(time.time())
        edit = EditedMessage(
            method=method,
            chat_id=chat.id,
            message_id=message["message_id"],
            text=params.get("text"),
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            edited_at=time.monotonic(),
        )
        self.state.edits.append(edit)
        return message

    async def delete_message(self, params: dict[str, Any]) -> bool:
        chat = self._writable_chat(params.get("chat_id"))
        key = (chat.id, params.get("message_id", 0))
        if self.state.messages.pop(key, None) is None:
            raise bad_request("message to delete not found")
        self.state.deleted.append(DeletedMessage(chat.id, key[1]))
        return True

    async def answer_callback_query(self, params: dict[str, Any]) -> bool:
        query_id = str(params.get("callback_query_id", ""))
        if self.state.open_callback_queries.pop(query_id, None) is None:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        answer = CallbackAnswer(
            callback_query_id=query_id,
            text=params.get("text"),
            show_alert=bool(params.get("show_alert", False)),
            url=params.get("url"),
            cache_time=params.get("cache_time"),
        )
        self.state.callback_answers.append(answer)
        return True

    # ---- commands and chats ----------------------------------------------

    async def set_my_commands(self, params: dict[str, Any]) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("commands must be a list of at most 100 BotCommand")
        for command in commands:
            check_command(command)
        self._check_scope(params.get("scope"))
        self.state.commands_by_scope[scope_key(params)] = commands
        return True

    async def get_my_commands(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        self._check_scope(params.get("scope"))
        return self.state.commands_by_scope.get(scope_key(params), [])

    async def delete_my_commands(self, params: dict[str, Any]) -> bool:
        self._check_scope(params.get("scope"))
        self.state.commands_by_scope.pop(scope_key(params), None)
        return True

    def _check_scope(self, scope: Any) -> None:
        """Telegram's checks on a BotCommandScope: a known type; a chat scope names a chat
        the bot knows (else "chat not found"), chat_member also a user id."""
        if scope is None:
            return
        kind = scope.get("type") if isinstance(scope, dict) else None
        if kind not in COMMAND_SCOPES:
            raise bad_request("unsupported bot command scope type")
        if kind in CHAT_SCOPES:
            self._writable_chat(scope.get("chat_id"))
        if kind == "chat_member" and not isinstance(scope.get("user_id"), int):
            raise bad_request("invalid user_id specified")

    async def get_chat_member(self, params: dict[str, Any]) -> dict[str, Any]:
        chat = self._writable_chat(params.get("chat_id"))
        user_id = params.get("user_id")
        if not isinstance(user_id, int):
            raise bad_request("invalid user_id specified")
        return chat_member(chat, self.state.user(user_id))

    async def get_chat(self, params: dict[str, Any]) -> dict[str, Any]:
        return chat_full_info(self._writable_chat(params.get("chat_id")))

    async def send_chat_action(self, params: dict[str, Any]) -> bool:
        self._writable_chat(params.get("chat_id"))
        return True


def _confirm(state: FakeTelegramState, offset: Any) -> None:
    """Forget updates confirmed by `offset` (negative: keep only the last -offset)."""
    if not isinstance(offset, int) or offset == 0:
        return
    if offset < 0:
        del state.pending_updates[:offset]
        return
    state.pending_updates[:] = [u for u in state.pending_updates if u["update_id"] >= offset]


def _set_or_drop(message: dict[str, Any], key: str, value: Any) -> None:
    if value:
        message[key] = value
    else:
        message.pop(key, None)


async def _after_send(faults: Faults, chat_id: int) -> None:
    delay = faults.delay_seconds(chat_id)
    if delay > 0:
        await asyncio.sleep(delay)
    if faults.should_drop(chat_id, after_send=True):
        raise DropConnection


def _sent_record(
    message: dict[str, Any],
    params: dict[str, Any],
    parsed: ParsedText,
    markup: dict[str, Any] | None,
) -> SentMessage:
    return SentMessage(
        chat_id=message["chat"]["id"],
        message_id=message["message_id"],
        thread_id=params.get("message_thread_id"),
        text=params["text"],
        plain_text=parsed.text,
        entities=parsed.entities,
        parse_mode=params.get("parse_mode"),
        reply_markup=markup,
        link_preview_options=params.get("link_preview_options"),
        disable_web_page_preview=params.get("disable_web_page_preview"),
        disable_notification=params.get("disable_notification"),
        sent_at=time.monotonic(),
        date=message["date"],
    )
