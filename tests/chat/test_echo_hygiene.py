"""User text the bot quotes back carries no control characters or bidi overrides."""

from __future__ import annotations

from bot.chat import texts


def test_echoed_user_text_drops_bidi_overrides_and_controls() -> None:
    reply = texts.bad_timezone("Asia/\u202eTokyo\x00\x1b[31m", None)
    assert "I don't know the time zone 'Asia/Tokyo[31m'." in reply
    assert not any(char in reply for char in "\u202e\x00\x1b")


def test_echoed_filter_words_are_clean_too() -> None:
    line = texts.filters_text(["\u2066election\u2069"], ["sp\x07ort"])
    assert line.startswith("Filters: only stories with election; never sport")
