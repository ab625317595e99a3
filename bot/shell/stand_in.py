"""An in-process stand-in for the Telegram Bot API, for ``newsbot shell``.

:class:`ShellRequest` is a python-telegram-bot ``BaseRequest``: PTB hands it
every Bot API call, and instead of going over HTTP it answers from memory,
keeps the chat's messages (so edits and button presses work), records each
call in :attr:`ShellRequest.calls` and prints what a user would see through a
:class:`~bot.shell.terminal.Terminal`. Answers follow Telegram's shapes and
error texts (see docs field notes), so handlers behave as they do for real.
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from telegram.request import BaseRequest, RequestData

from bot.shell.terminal import Terminal, html_to_terminal

JsonDict = dict[str, Any]
MESSAGE_MAX_UTF16 = 4096
BOT_USER: JsonDict = {
    "id": 7_000_001,
    "is_bot": True,
    "first_name": "newsbot",
    "username": "newsbot_shell_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
_NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly "
    "the same as a content and reply markup of the current message"
)
_ADMIN_RIGHTS = (
    "can_manage_chat",
    "can_delete_messages",
    "can_manage_video_chats",
    "can_restrict_members",
    "can_promote_members",
    "can_change_info",
    "can_invite_users",
    "can_post_stories",
    "can_edit_stories",
    "can_delete_stories",
)
_GIFT_KINDS = (
    "unlimited_gifts",
    "limited_gifts",
    "unique_gifts",
    "premium_subscription",
    "gifts_from_channels",
)
_SILENTLY_TRUE = frozenset(
    {"deletewebhook", "setmycommands", "deletemycommands", "sendchataction", "close", "logout"}
    | {"setmydescription", "setmyshortdescription", "setchatmenubutton", "setmyname"}
)


class ApiError(Exception):
    """A Bot API error answer: ``error_code`` and Telegram's ``description``."""

    def __init__(self, error_code: int, description: str) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description


def bad_request(reason: str) -> ApiError:
    """Telegram's 400 answer, "Bad Request: <reason>"."""
    return ApiError(400, f"Bad Request: {reason}")


@dataclass(frozen=True, slots=True)
class BotCall:
    """One Bot API call the bot made: method name as sent and its parameters."""

    method: str
    params: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ShellMessage:
    """A message the bot has in the shell chat (HTML text as sent)."""

    chat_id: int
    message_id: int
    html_text: str
    reply_markup: JsonDict | None
    date: int

    def to_api(self) -> JsonDict:
        """The message as the Bot API returns it (text without markup)."""
        api: JsonDict = {
            "message_id": self.message_id,
            "date": self.date,
            "chat": private_chat(self.chat_id),
            "from": BOT_USER,
            "text": html_to_terminal(self.html_text, is_styled=False),
        }
        if self.reply_markup:
            api["reply_markup"] = self.reply_markup
        return api


def private_chat(chat_id: int) -> JsonDict:
    """The private chat of the shell's user, as the Bot API describes it."""
    return {"id": chat_id, "type": "private", "first_name": "You"}


class ShellRequest(BaseRequest):
    """Answers Bot API calls in-process and prints what the bot sends."""

    def __init__(self, terminal: Terminal, *, clock: Callable[[], float] = time.time) -> None:
        self._terminal = terminal
        self._clock = clock
        self._next_message_id = 1
        self.calls: list[BotCall] = []
        self.messages: dict[tuple[int, int], ShellMessage] = {}
        self.commands: list[JsonDict] = []
        self.last_keyboard: ShellMessage | None = None
        self._methods: dict[str, Callable[[JsonDict], Any]] = {
            "getme": lambda _p: BOT_USER,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_text,
            "editmessagereplymarkup": self._edit_markup,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback,
            "setmycommands": self._set_commands,
            "getmycommands": lambda _p: self.commands,
            "getchatmember": self._chat_member,
            "getchat": self._chat,
            "getupdates": lambda _p: [],
        }

    @property
    def read_timeout(self) -> float | None:
        """No network, so no timeout."""
        return None

    async def initialize(self) -> None:
        """Nothing to open."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        """Answer one Bot API call: ``(HTTP status, JSON body)`` as Telegram would."""
        name = url.rsplit("/", 1)[-1]
        params = dict(request_data.parameters) if request_data else {}
        self.calls.append(BotCall(name, params))
        try:
            if name.lower() == "senddocument":
                files = request_data.multipart_data if request_data else None
                return 200, json.dumps(
                    {"ok": True, "result": self._send_document(params, files)}
                ).encode()
            result = self._answer(name, params)
        except ApiError as err:
            body = {"ok": False, "error_code": err.error_code, "description": err.description}
            return err.error_code, json.dumps(body).encode()
        return 200, json.dumps({"ok": True, "result": result}).encode()

    def calls_to(self, method: str) -> list[BotCall]:
        """The recorded calls of one method (case-insensitive), oldest first."""
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def _answer(self, name: str, params: JsonDict) -> Any:
        key = name.lower()
        if key in self._methods:
            return self._methods[key](params)
        if key in _SILENTLY_TRUE:
            return True
        raise bad_request(f"method {name} is not available in newsbot shell")

    def _send_message(self, params: JsonDict) -> JsonDict:
        html_text = _checked_text(params)
        message = ShellMessage(
            chat_id=_int(params.get("chat_id")),
            message_id=self._next_message_id,
            html_text=html_text,
            reply_markup=_markup(params),
            date=int(self._clock()),
        )
        self._next_message_id += 1
        self._keep(message)
        self._terminal.bot_message(html_text, message.reply_markup)
        return message.to_api()

    def _send_document(self, params: JsonDict, files: Mapping[str, Any] | None) -> JsonDict:
        """A file the bot sends (/export): its name, size and caption, then its text."""
        upload = (files or {}).get("document")
        if not isinstance(upload, tuple) or len(upload) < 2:
            raise bad_request("there is no document in the request")
        file_name, data = str(upload[0]), bytes(upload[1])
        caption = str(params.get("caption") or "")
        message = ShellMessage(
            chat_id=_int(params.get("chat_id")),
            message_id=self._next_message_id,
            html_text=html.escape(
                f"📎 {file_name} ({len(data)} bytes) {caption}".strip(), quote=False
            ),
            reply_markup=None,
            date=int(self._clock()),
        )
        self._next_message_id += 1
        self._terminal.bot_message(message.html_text, None)
        for line in data.decode("utf-8", "replace").splitlines():
            self._terminal.note(line)
        return {**message.to_api(), "document": {"file_id": "shell", "file_unique_id": "shell"}}

    def _edit_text(self, params: JsonDict) -> JsonDict:
        old = self._find(params)
        new = replace(old, html_text=_checked_text(params), reply_markup=_markup(params))
        if new == old:
            raise bad_request(_NOT_MODIFIED)
        self._keep(new)
        self._terminal.bot_message(new.html_text, new.reply_markup, note="edited")
        return new.to_api()

    def _edit_markup(self, params: JsonDict) -> JsonDict:
        old = self._find(params)
        new = replace(old, reply_markup=_markup(params))
        if new == old:
            raise bad_request(_NOT_MODIFIED)
        self._keep(new)
        self._terminal.keyboard_changed(new.reply_markup)
        return new.to_api()

    def _delete_message(self, params: JsonDict) -> bool:
        message = self._find(params, not_found="message to delete not found")
        del self.messages[(message.chat_id, message.message_id)]
        if self.last_keyboard is not None and self.last_keyboard.message_id == message.message_id:
            self.last_keyboard = None
        self._terminal.note("(the bot deleted a message)")
        return True

    def _answer_callback(self, params: JsonDict) -> bool:
        if params.get("text"):
            self._terminal.toast(str(params["text"]), is_alert=bool(params.get("show_alert")))
        return True

    def _set_commands(self, params: JsonDict) -> bool:
        self.commands = list(params.get("commands") or [])
        return True

    def _chat_member(self, params: JsonDict) -> JsonDict:
        user = {"id": _int(params.get("user_id")), "is_bot": False, "first_name": "You"}
        rights = _ADMIN_RIGHTS
        return {
            "status": "administrator",
            "user": user,
            "can_be_edited": False,
            "is_anonymous": False,
            **dict.fromkeys(rights, True),
        }

    def _chat(self, params: JsonDict) -> JsonDict:
        return {
            **private_chat(_int(params.get("chat_id"))),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(_GIFT_KINDS, False),
        }

    def _find(
        self, params: JsonDict, *, not_found: str = "message to edit not found"
    ) -> ShellMessage:
        key = (_int(params.get("chat_id")), _int(params.get("message_id")))
        if key not in self.messages:
            raise bad_request(not_found)
        return self.messages[key]

    def _keep(self, message: ShellMessage) -> None:
        self.messages[(message.chat_id, message.message_id)] = message
        if message.reply_markup:
            self.last_keyboard = message
        elif self.last_keyboard is not None and self.last_keyboard.message_id == message.message_id:
            self.last_keyboard = None


def _checked_text(params: JsonDict) -> str:
    """The message text, refused as Telegram refuses it when empty or too long."""
    html_text = str(params.get("text") or "")
    visible = (
        html_to_terminal(html_text, is_styled=False) if params.get("parse_mode") else html_text
    )
    if not visible.strip():
        raise bad_request("message text is empty")
    if len(visible.encode("utf-16-le")) // 2 > MESSAGE_MAX_UTF16:
        raise bad_request("message is too long")
    return html_text if params.get("parse_mode") else _escaped(html_text)


def _escaped(text: str) -> str:
    # Plain-text messages are kept as HTML too, so printing is one code path.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _markup(params: JsonDict) -> JsonDict | None:
    markup = params.get("reply_markup")
    if isinstance(markup, str):
        markup = json.loads(markup)
    if isinstance(markup, dict) and markup.get("inline_keyboard"):
        return markup
    return None


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request("chat not found") from None
