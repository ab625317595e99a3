"""The one redaction rule, and the logging filter that applies it to every record."""

from __future__ import annotations

import logging

import pytest

from bot.redact import RedactingFilter, add_secret, install_redaction, redact

TOKEN = "123456789:AAH-secret_token_value_0123456789abcd"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f"POST https://api.telegram.org/bot{TOKEN}/sendMessage",
            "POST https://api.telegram.org/bot***/sendMessage",
        ),
        ("GET http://alice:s3cret@feeds.example/rss", "GET http://alice:***@feeds.example/rss"),
        ("https://bob:p%40ss:word@h:8080/x?y=1", "https://bob:***@h:8080/x?y=1"),
        ("http://bob@host/ stays", "http://bob@host/ stays"),
        ("a plain line: 12:30 at host:80", "a plain line: 12:30 at host:80"),
        # Passwords with "@", ":" or a space run to the last "@", as URL parsers read them.
        ("http://user:p@ssw0rd@h/feed", "http://user:***@h/feed"),
        ("http://us:er@x:hunter2@h/feed", "http://us:***@h/feed"),
        ("http://user:hunter 2@h/feed", "http://user:***@h/feed"),
        (f"/bot{TOKEN.replace(':', '%3A')}/getMe", "/bot***/getMe"),
        (f"/bot{TOKEN.replace(':', '%3a')}/getMe", "/bot***/getMe"),
    ],
)
def test_redact_masks_tokens_and_url_passwords(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_a_registered_secret_of_any_shape_is_masked() -> None:
    add_secret("short-but-secret")
    assert redact("token=short-but-secret;") == "token=***;"


def test_a_registered_token_is_masked_encoded_and_by_its_secret_half() -> None:
    odd = "42:not-token-shaped_but_secret_enough"  # a bot id under 5 digits
    add_secret(odd)
    assert redact(f"/bot{odd}/x") == "/bot***/x"
    assert redact("/bot42%3Anot-token-shaped_but_secret_enough/x") == "/bot***/x"
    assert redact("half: not-token-shaped_but_secret_enough") == "half: ***"


def test_the_filter_redacts_args_and_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(RedactingFilter())
    logger = logging.getLogger("telegram.ext.test")
    with caplog.at_level(logging.DEBUG):
        logger.debug("Set Bot API URL: %s", f"https://api.telegram.org/bot{TOKEN}")
        try:
            raise ValueError(f"url='http://u:pw@h/bot{TOKEN}/getMe'")
        except ValueError:
            logger.exception("failed %s", "http://u:pw@h/")
    assert TOKEN not in caplog.text and "pw@" not in caplog.text
    assert "bot***" in caplog.text and "u:***@h" in caplog.text


def test_install_covers_every_root_handler() -> None:
    handler = logging.NullHandler()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        install_redaction(TOKEN)
        install_redaction(TOKEN)
        assert sum(isinstance(f, RedactingFilter) for f in handler.filters) == 1
    finally:
        root.removeHandler(handler)
