"""Parameters of Bot API calls: decoding PTB's form fields, and Telegram's checks on them."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .telegram_faults import bad_request
from .telegram_html import EntityParseError, ParsedText, parse_html, utf16_len

MAX_TEXT_UTF16 = 4096
JSON_KEYS = frozenset(
    {"reply_markup", "link_preview_options", "entities", "commands", "scope", "allowed_updates"}
    | {"reply_parameters"}
)
INT_KEYS = frozenset(
    {"chat_id", "message_id", "message_thread_id", "offset", "limit", "timeout", "user_id"}
    | {"cache_time", "max_connections"}
)


def decode_params(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Form fields as PTB sends them (JSON-encoded values) to Python values."""
    return {key: _decode_value(key, value) for key, value in raw.items()}


# Free text that must stay a string even when it reads "true" or "42".
STRING_KEYS = frozenset({"url", "secret_token"})


def _decode_value(key: str, value: Any) -> Any:
    if not isinstance(value, str) or key in STRING_KEYS:
        return value
    if key in JSON_KEYS:
        try:
            return json.loads(value)
        except ValueError:
            raise bad_request(f"can't parse {key} JSON object") from None
    if key in INT_KEYS:
        try:
            return int(value)
        except ValueError:
            return value  # "@channelusername" stays a string
    if value in ("true", "false"):
        return value == "true"
    return value


def parse_text(text: Any, parse_mode: Any) -> ParsedText:
    if not isinstance(text, str) or not text.strip():
        raise bad_request("message text is empty")
    parsed = ParsedText(text)
    if isinstance(parse_mode, str) and parse_mode.lower() == "html":
        try:
            parsed = parse_html(text)
        except EntityParseError as error:
            raise bad_request(f"can't parse entities: {error}") from None
    if not parsed.text.strip():
        raise bad_request("message text is empty")
    if utf16_len(parsed.text) > MAX_TEXT_UTF16:
        raise bad_request("message is too long")
    return parsed


def checked_markup(markup: Any) -> dict[str, Any] | None:
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(data.encode()) <= 64:
                raise bad_request("BUTTON_DATA_INVALID")
    return markup


def check_command(command: Any) -> None:
    name = command.get("command", "") if isinstance(command, dict) else ""
    description = command.get("description", "") if isinstance(command, dict) else ""
    valid_name = 1 <= len(name) <= 32 and all(c.islower() or c.isdigit() or c == "_" for c in name)
    if not valid_name:
        raise bad_request("BOT_COMMAND_INVALID")
    if not 1 <= len(description) <= 256:
        raise bad_request("command description must be 1-256 characters")


def scope_key(params: dict[str, Any]) -> tuple[str, str]:
    scope = params.get("scope") or {"type": "default"}
    key = "default" if scope == {"type": "default"} else json.dumps(scope, sort_keys=True)
    return key, str(params.get("language_code") or "")
