"""Webhook settings: from the environment, and one clear line for every bad value."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import load_settings


@pytest.fixture
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No stray NEWSBOT_* variables, no .env, an empty TOML (a config file is required)."""
    for name in list(os.environ):
        if name.startswith("NEWSBOT_"):
            monkeypatch.delenv(name)
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "newsbot.toml").write_text("")
    monkeypatch.chdir(tmp_path)


def test_no_webhook_unless_configured(clean_env: None) -> None:
    assert load_settings().webhook is None


def test_webhook_from_the_environment(clean_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_WEBHOOK__URL", "https://bot.example.com/tg/updates?x=1")
    monkeypatch.setenv("NEWSBOT_WEBHOOK__SECRET", "A-z_09")
    monkeypatch.setenv("NEWSBOT_WEBHOOK__PORT", "8080")

    webhook = load_settings().webhook

    assert webhook is not None
    assert (webhook.listen, webhook.port, webhook.path) == ("127.0.0.1", 8080, "/tg/updates")
    assert webhook.secret.get_secret_value() == "A-z_09"
    assert "A-z_09" not in repr(webhook)


def test_a_url_without_a_path_serves_the_root(clean_env: None) -> None:
    webhook = load_settings(webhook={"url": "https://bot.example.com", "secret": "s"}).webhook
    assert webhook is not None and webhook.path == "/"


@pytest.mark.parametrize(
    ("webhook", "key", "words"),
    [
        ({"url": "https://bot.example.com/hook"}, "webhook.secret", "Field required"),
        ({"secret": "abc"}, "webhook.url", "Field required"),
        ({"url": "https://bot.example.com/hook", "secret": ""}, "webhook.secret", "1-256"),
        ({"url": "https://bot.example.com/h", "secret": "has space"}, "webhook.secret", "A-Z"),
        ({"url": "https://bot.example.com/h", "secret": "x" * 257}, "webhook.secret", "1-256"),
        ({"url": "https://bot.example.com/h", "secret": "fine\n"}, "webhook.secret", "A-Z"),
        ({"url": "ftp://bot.example.com/hook", "secret": "abc"}, "webhook.url", "https://"),
        ({"url": "https:///hook", "secret": "abc"}, "webhook.url", "https://"),
        ({"url": "https://u:p@bot.example.com/h", "secret": "abc"}, "webhook.url", "user"),
        ({"url": "https://bot.example.com/healthz", "secret": "abc"}, "webhook.url", "health"),
        (
            {"url": "https://bot.example.com/h", "secret": "abc", "port": 70000},
            "webhook.port",
            "65535",
        ),
    ],
)
def test_bad_webhook_settings_are_one_clear_line(
    clean_env: None, webhook: dict[str, object], key: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(webhook=webhook)

    assert caught.value.key == key
    assert words in str(caught.value)
    assert "\n" not in str(caught.value)
    secret = str(webhook.get("secret", "")).strip()
    assert not secret or secret not in str(caught.value).replace(key, "")
