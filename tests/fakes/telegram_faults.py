"""Errors the fake Bot API answers with, and faults a test injects per chat.

A fault registered for chat id `None` applies to every chat (checked after the
chat's own faults).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


class ApiError(Exception):
    """A Bot API error answer: HTTP status == error_code, Telegram's description."""

    def __init__(
        self, error_code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.error_code = error_code
        self.description = description
        self.parameters = parameters

    def body(self) -> dict[str, Any]:
        """The JSON body Telegram sends for this error."""
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.error_code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class DropConnection(Exception):
    """Close the client's TCP connection without any HTTP response."""


class ErrorPage(Exception):
    """Answer with this HTTP status and an HTML page, as a proxy in front of Telegram does.

    The page quotes the request line, token included, as some proxies' pages do.
    """

    def __init__(self, status: int) -> None:
        super().__init__(f"error page {status}")
        self.status = status


SERVER_ERROR_TEXTS = {
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def bad_request(reason: str, parameters: dict[str, Any] | None = None) -> ApiError:
    """A 400 "Bad Request: <reason>" error."""
    return ApiError(400, f"Bad Request: {reason}", parameters)


def too_many_requests(retry_after: int) -> ApiError:
    """A 429 flood-wait error as Telegram sends it."""
    return ApiError(
        429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
    )


BLOCKED = ApiError(403, "Forbidden: bot was blocked by the user")
DEACTIVATED = ApiError(403, "Forbidden: user is deactivated")
CHAT_NOT_FOUND = bad_request("chat not found")


@dataclass(slots=True)
class _Countdown:
    times: int
    value: Any


class Faults:
    """Injectable failures of sendMessage (and editMessageText if `include_edits`)."""

    def __init__(self) -> None:
        self.include_edits = False
        self._terminal: dict[int | None, ApiError] = {}
        self._forced_429: dict[int | None, _Countdown] = {}
        self._slow: dict[int | None, float] = {}
        self._drops: dict[int | None, _Countdown] = {}
        self._server_errors: dict[int | None, _Countdown] = {}

    def block(self, chat_id: int | None) -> None:
        """The user blocked the bot: 403 "Forbidden: bot was blocked by the user"."""
        self._terminal[chat_id] = BLOCKED

    def deactivated(self, chat_id: int | None) -> None:
        """The account was deleted: 403 "Forbidden: user is deactivated"."""
        self._terminal[chat_id] = DEACTIVATED

    def not_found(self, chat_id: int | None) -> None:
        """The chat is gone: 400 "Bad Request: chat not found"."""
        self._terminal[chat_id] = CHAT_NOT_FOUND

    def force_429(self, chat_id: int | None, retry_after: int, times: int = 1) -> None:
        """Answer the next `times` sends with 429 retry_after (chat None = any chat)."""
        self._forced_429[chat_id] = _Countdown(times, retry_after)

    def slow(self, chat_id: int | None, seconds: float) -> None:
        """Delay the answer by `seconds`; the message is recorded as sent before the delay."""
        self._slow[chat_id] = seconds

    def drop_connection(
        self, chat_id: int | None, times: int = 1, after_send: bool = False
    ) -> None:
        """Close the connection without answering; with after_send the message is recorded."""
        self._drops[chat_id] = _Countdown(times, after_send)

    def server_error(
        self, chat_id: int | None, status: int = 500, times: int = 1, html: bool = False
    ) -> None:
        """Answer the next `times` sends with HTTP `status`, nothing sent (chat None = any).

        Telegram's JSON error (`{"ok": false, "error_code": 500, "description":
        "Internal Server Error"}`), or with `html` a proxy's HTML error page.
        """
        self._server_errors[chat_id] = _Countdown(times, (status, html))

    def clear(self, chat_id: int | None) -> None:
        """Remove every fault registered for `chat_id` (None: the any-chat faults)."""
        for rules in self._rules():
            rules.pop(chat_id, None)

    def is_empty(self) -> bool:
        """True when no fault is registered (lets the hot path skip the checks)."""
        return not any(self._rules())

    def _rules(self) -> tuple[dict[int | None, Any], ...]:
        return (
            self._terminal,
            self._forced_429,
            self._slow,
            self._drops,
            self._server_errors,
        )

    def raise_server_error(self, chat_id: int) -> None:
        """Raise the registered 5xx answer for the chat and count it down, if any."""
        key = chat_id if chat_id in self._server_errors else None
        countdown = self._server_errors.get(key)
        if countdown is None:
            return
        countdown.times -= 1
        if countdown.times <= 0:
            del self._server_errors[key]
        status, html = countdown.value
        if html:
            raise ErrorPage(status)
        raise ApiError(status, SERVER_ERROR_TEXTS.get(status, "Server Error"))

    def raise_terminal(self, chat_id: int) -> None:
        """Raise the blocked/deactivated/not-found error registered for the chat, if any."""
        error = self._terminal.get(chat_id) or self._terminal.get(None)
        if error is not None:
            raise ApiError(error.error_code, error.description, error.parameters)

    def raise_forced_429(self, chat_id: int) -> None:
        """Raise a forced 429 for the chat and count it down, if one is registered."""
        key = chat_id if chat_id in self._forced_429 else None
        countdown = self._forced_429.get(key)
        if countdown is None:
            return
        countdown.times -= 1
        if countdown.times <= 0:
            del self._forced_429[key]
        raise too_many_requests(countdown.value)

    def should_drop(self, chat_id: int, *, after_send: bool) -> bool:
        """True (and counted down) if the connection is to be dropped at this point."""
        key = chat_id if chat_id in self._drops else None
        countdown = self._drops.get(key)
        if countdown is None or countdown.value != after_send:
            return False
        countdown.times -= 1
        if countdown.times <= 0:
            del self._drops[key]
        return True

    def delay_seconds(self, chat_id: int) -> float:
        """How long to hold the answer for this chat."""
        return self._slow.get(chat_id, self._slow.get(None, 0.0))
