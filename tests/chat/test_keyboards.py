"""Inline keyboards: layout, check marks, callback data and its 64-byte cap."""

from __future__ import annotations

import json

import pytest
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.chat.keyboards import (
    CALLBACK_DATA_MAX_BYTES,
    DONE,
    DONE_CALLBACK,
    TOPIC_ID_MAX_BYTES,
    parse_stop_callback,
    parse_topic_callback,
    stop_confirm_keyboard,
    topics_keyboard,
    validate_topic_ids,
)
from bot.errors import ConfigError
from bot.settings import TopicConfig

CATALOGUE = (
    TopicConfig(id="world", name="World news"),
    TopicConfig(id="sport", name="Sport"),
    TopicConfig(id="science-tech", name="Science & Tech"),
    TopicConfig(id="business", name="Business"),
    TopicConfig(id="india", name="🇮🇳 India"),
)


def labels(markup: InlineKeyboardMarkup) -> list[list[str]]:
    return [[button.text for button in row] for row in markup.inline_keyboard]


def all_buttons(markup: InlineKeyboardMarkup) -> list[InlineKeyboardButton]:
    return [button for row in markup.inline_keyboard for button in row]


def test_topics_keyboard_two_per_row_then_done() -> None:
    markup = topics_keyboard(CATALOGUE, subscribed=set())
    assert labels(markup) == [
        ["World news", "Sport"],
        ["Science & Tech", "Business"],
        ["🇮🇳 India"],
        ["Done"],
    ]
    assert markup.inline_keyboard[-1][0].callback_data == DONE_CALLBACK == "topic:done"


def test_topics_keyboard_marks_followed_topics() -> None:
    markup = topics_keyboard(CATALOGUE, subscribed={"world", "india", "not-in-catalogue"})
    assert labels(markup)[:3] == [
        ["✅ World news", "Sport"],
        ["Science & Tech", "Business"],
        ["✅ 🇮🇳 India"],
    ]


@pytest.mark.parametrize("subscribed", [(), ("sport",), ("world", "sport", "business")])
def test_topic_buttons_carry_their_id(subscribed: tuple[str, ...]) -> None:
    markup = topics_keyboard(CATALOGUE, subscribed)
    topic_buttons = all_buttons(markup)[:-1]
    assert [b.callback_data for b in topic_buttons] == [f"topic:{t.id}" for t in CATALOGUE]
    for button, topic in zip(topic_buttons, CATALOGUE, strict=True):
        assert parse_topic_callback(str(button.callback_data)) == topic.id
        assert button.text.startswith("✅ ") is (topic.id in subscribed)


def test_empty_catalogue_has_only_done() -> None:
    assert labels(topics_keyboard((), ())) == [["Done"]]


def test_long_names_are_shortened_on_buttons() -> None:
    topic = TopicConfig(id="long", name="A very long topic name that goes on and on and on")
    (button,) = topics_keyboard((topic,), ()).inline_keyboard[0]
    assert button.text.endswith("…")
    assert len(button.text) <= 32


def test_longest_allowed_topic_id_fits_callback_data() -> None:
    topics = [TopicConfig(id="a" * TOPIC_ID_MAX_BYTES, name="Long id"), *CATALOGUE]
    markup = topics_keyboard(topics, {topics[0].id})
    for button in all_buttons(markup):
        assert len(str(button.callback_data).encode()) <= CALLBACK_DATA_MAX_BYTES
    assert parse_topic_callback(str(markup.inline_keyboard[0][0].callback_data)) == topics[0].id


@pytest.mark.parametrize("length", [TOPIC_ID_MAX_BYTES + 1, 100, 500])
def test_too_long_topic_id_is_a_config_error(length: int) -> None:
    topics = [TopicConfig(id="b" * length, name="Too long")]
    with pytest.raises(ConfigError, match="shorter id"):
        validate_topic_ids(topics)
    with pytest.raises(ConfigError):
        topics_keyboard(topics, ())


def test_topic_id_done_is_reserved() -> None:
    with pytest.raises(ConfigError, match="reserved"):
        validate_topic_ids([TopicConfig(id="done", name="Done deals")])


def test_catalogue_validates() -> None:
    validate_topic_ids(CATALOGUE)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("topic:world", "world"),
        ("topic:science-tech", "science-tech"),
        ("topic:done", DONE),
        ("topic:", None),
        ("topics:world", None),
        ("stop:yes", None),
        ("world", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_topic_callback(data: str | None, expected: str | None) -> None:
    assert parse_topic_callback(data) == expected


def test_stop_confirm_keyboard() -> None:
    markup = stop_confirm_keyboard()
    assert labels(markup) == [["Yes, delete everything", "Cancel"]]
    assert [b.callback_data for b in all_buttons(markup)] == ["stop:yes", "stop:no"]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("stop:yes", True),
        ("stop:no", False),
        ("stop:maybe", None),
        ("topic:world", None),
        (None, None),
    ],
)
def test_parse_stop_callback(data: str | None, expected: bool | None) -> None:
    assert parse_stop_callback(data) is expected


def test_keyboards_serialize_for_the_bot_api() -> None:
    for markup in (topics_keyboard(CATALOGUE, {"world"}), stop_confirm_keyboard()):
        payload = json.loads(markup.to_json())
        rows = payload["inline_keyboard"]
        assert all(set(button) == {"text", "callback_data"} for row in rows for button in row)
