"""Inline keyboards and the callback data their buttons carry.

Callback data is ``topic:<id>``, ``topic:done``, ``stop:yes`` and ``stop:no``.
Telegram caps callback data at 64 bytes, so topic ids are checked to fit
(:func:`validate_topic_ids`; call it at start-up).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.chat import texts
from bot.errors import ConfigError
from bot.language import DEFAULT_LANGUAGE, LANGUAGE_NAMES, LANGUAGES, tr
from bot.settings import TopicConfig

CALLBACK_DATA_MAX_BYTES = 64
TOPIC_PREFIX = "topic:"
LANGUAGE_PREFIX = "lang:"
DONE = "done"
DONE_CALLBACK = TOPIC_PREFIX + DONE
STOP_YES_CALLBACK = "stop:yes"
STOP_NO_CALLBACK = "stop:no"
CHECK_MARK = "✅ "
BUTTON_NAME_MAX_CHARS = 32
TOPIC_ID_MAX_BYTES = CALLBACK_DATA_MAX_BYTES - len(TOPIC_PREFIX.encode())


def validate_topic_ids(topics: Sequence[TopicConfig]) -> None:
    """Raise ConfigError if a topic id is too long for callback data or is the reserved "done"."""
    for topic in topics:
        if len(topic_callback(topic.id).encode()) > CALLBACK_DATA_MAX_BYTES:
            raise ConfigError(
                f"topics.{topic.id}",
                f"id is longer than {TOPIC_ID_MAX_BYTES} characters",
                "Telegram buttons carry at most 64 bytes; use a shorter id",
            )
        if topic.id == DONE:
            raise ConfigError("topics.done", "the id 'done' is reserved", "pick another id")


def topic_callback(topic_id: str) -> str:
    """The callback data of a topic's button."""
    return TOPIC_PREFIX + topic_id


def topics_keyboard(
    topics: Sequence[TopicConfig], subscribed: Collection[str], lang: str = DEFAULT_LANGUAGE
) -> InlineKeyboardMarkup:
    """The catalogue, two buttons a row, followed topics marked ✅, then a Done row."""
    validate_topic_ids(topics)
    buttons = [_topic_button(topic, topic.id in subscribed) for topic in topics]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    done = InlineKeyboardButton(tr(lang, texts.DONE_BUTTON), callback_data=DONE_CALLBACK)
    rows.append([done])
    return InlineKeyboardMarkup(rows)


def parse_topic_callback(data: str | None) -> str | None:
    """The topic id a button press carries, :data:`DONE` for the Done button, else None."""
    if not data or not data.startswith(TOPIC_PREFIX):
        return None
    topic_id = data.removeprefix(TOPIC_PREFIX)
    return topic_id or None


def stop_confirm_keyboard(lang: str = DEFAULT_LANGUAGE) -> InlineKeyboardMarkup:
    """Yes / Cancel buttons under the /stop question."""
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    tr(lang, texts.STOP_BUTTON_YES), callback_data=STOP_YES_CALLBACK
                ),
                InlineKeyboardButton(
                    tr(lang, texts.STOP_BUTTON_NO), callback_data=STOP_NO_CALLBACK
                ),
            ]
        ]
    )


def language_keyboard() -> InlineKeyboardMarkup:
    """One button per language the bot speaks, each named in itself."""
    buttons = [
        InlineKeyboardButton(LANGUAGE_NAMES[code], callback_data=LANGUAGE_PREFIX + code)
        for code in LANGUAGES
    ]
    return InlineKeyboardMarkup([buttons])


def parse_language_callback(data: str | None) -> str | None:
    """The language a /language button carries, None for other data."""
    code = (data or "").removeprefix(LANGUAGE_PREFIX)
    return code if data and data.startswith(LANGUAGE_PREFIX) and code in LANGUAGES else None


def parse_stop_callback(data: str | None) -> bool | None:
    """True for "Yes, delete everything", False for "Cancel", None for other data."""
    return {STOP_YES_CALLBACK: True, STOP_NO_CALLBACK: False}.get(data or "")


def _topic_button(topic: TopicConfig, is_subscribed: bool) -> InlineKeyboardButton:
    name = topic.name if len(topic.name) <= BUTTON_NAME_MAX_CHARS else _shorten(topic.name)
    label = f"{CHECK_MARK}{name}" if is_subscribed else name
    return InlineKeyboardButton(label, callback_data=topic_callback(topic.id))


def _shorten(name: str) -> str:
    return name[: BUTTON_NAME_MAX_CHARS - 1].rstrip() + "…"
