"""Settings: precedence env > .env > TOML, and one clear line for every bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.errors import ConfigError
from bot.settings import Settings, load_settings

CATALOGUE = """
poll_interval_seconds = 120
digest_times = ["07:30"]
[[topics]]
id = "world"
name = "World news"
aliases = ["world", "international"]
[[sources]]
name = "The New Indian Express"
url = "https://www.newindianexpress.com/World/rssfeed/?id=171&getXmlFeed=true"
topics = ["world"]
"""


@pytest.fixture
def config_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory with its own TOML, no stray NEWSBOT_* variables."""
    for name in list(__import__("os").environ):
        if name.startswith("NEWSBOT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config").mkdir()
    return tmp_path


def write_toml(config_dir: Path, text: str) -> None:
    (config_dir / "config" / "newsbot.toml").write_text(text)


def test_defaults_from_an_empty_file(config_dir: Path) -> None:
    write_toml(config_dir, "")
    settings = load_settings()
    assert settings.telegram_api_url == "https://api.telegram.org"
    assert settings.database_url == "sqlite:///data/newsbot.db"
    assert settings.poll_interval_seconds == 300
    assert settings.timezone == "UTC"
    assert settings.digest_times == ["08:00"]
    assert settings.telegram_token is None


def test_toml_catalogue_is_loaded(config_dir: Path) -> None:
    write_toml(config_dir, CATALOGUE)
    settings = load_settings()
    assert [t.id for t in settings.topics] == ["world"]
    assert settings.sources[0].topics == ["world"]
    assert settings.poll_interval_seconds == 120
    assert settings.digest_times == ["07:30"]


def test_env_beats_dotenv_beats_toml(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_toml(config_dir, CATALOGUE)
    (config_dir / ".env").write_text(
        "NEWSBOT_POLL_INTERVAL_SECONDS=90\nNEWSBOT_TIMEZONE=Asia/Kolkata\nNEWSBOT_TELEGRAM_TOKEN=1:x\n"
    )
    monkeypatch.setenv("NEWSBOT_POLL_INTERVAL_SECONDS", "60")
    monkeypatch.setenv("NEWSBOT_DELIVERY__LEASE_SECONDS", "45")
    settings = load_settings()
    assert settings.poll_interval_seconds == 60  # env
    assert settings.timezone == "Asia/Kolkata"  # .env
    assert settings.digest_times == ["07:30"]  # TOML
    assert settings.delivery.lease_seconds == 45  # nested key with __
    assert settings.require_token() == "1:x"
    assert "1:x" not in repr(settings)  # the token is a secret


def test_config_file_named_by_env(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = config_dir / "other.toml"
    other.write_text('timezone = "Europe/Berlin"\n')
    monkeypatch.setenv("NEWSBOT_CONFIG", str(other))
    assert load_settings().timezone == "Europe/Berlin"


@pytest.mark.parametrize(
    ("toml", "key", "words"),
    [
        (
            CATALOGUE.replace('topics = ["world"]', 'topics = ["nope"]'),
            "settings",
            "unknown topic 'nope'",
        ),
        ('digest_times = ["8 o\'clock"]', "digest_times", "HH:MM"),
        ('digest_times = ["25:00"]', "digest_times", "HH:MM"),
        ('timezone = "Mars/Olympus"', "timezone", "unknown time zone"),
        ('default_language = "de"', "default_language", "'ru'"),
        ('telegram_api_url = "ftp://x"', "telegram_api_url", "http"),
        ('database_url = "mysql://x"', "database_url", "sqlite"),
        ('[[sources]]\nname = "x"\nurl = "not a url"', "sources.0.url", "bad URL"),
        ('[[topics]]\nid = "World News"\nname = "x"', "topics.0.id", "lower-case"),
    ],
)
def test_bad_settings_give_one_clear_line(
    config_dir: Path, toml: str, key: str, words: str
) -> None:
    write_toml(config_dir, toml)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert "\n" not in message
    assert caught.value.key == key
    assert words in message


def test_no_config_file_names_the_path_looked_for(config_dir: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings()
    assert str(config_dir / "config" / "newsbot.toml") in str(caught.value)
    assert "NEWSBOT_CONFIG" in str(caught.value)


@pytest.mark.parametrize(
    ("value", "times"),
    [
        ("08:00", ["08:00"]),
        ("08:00,18:30", ["08:00", "18:30"]),
        ("08:00, 18:30", ["08:00", "18:30"]),
        ("08:00 18:30", ["08:00", "18:30"]),
        ('["07:15"]', ["07:15"]),
    ],
)
def test_a_list_from_the_environment_as_words_or_json(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch, value: str, times: list[str]
) -> None:
    write_toml(config_dir, "")
    monkeypatch.setenv("NEWSBOT_DIGEST_TIMES", value)
    monkeypatch.setenv("NEWSBOT_FETCH__ALLOWED_HOSTS", "127.0.0.1:8080")
    settings = load_settings()
    assert settings.digest_times == times
    assert settings.fetch.allowed_hosts == ["127.0.0.1:8080"]


def test_log_level_in_any_case(config_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_toml(config_dir, 'log_format = "json"\n')
    monkeypatch.setenv("NEWSBOT_LOG_LEVEL", "debug")
    settings = load_settings()
    assert (settings.log_level, settings.log_format) == ("DEBUG", "json")


def test_missing_token_says_how_to_fix(config_dir: Path) -> None:
    with pytest.raises(ConfigError, match="BotFather"):
        Settings().require_token()


def test_missing_config_file_named_by_env(
    config_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSBOT_CONFIG", str(config_dir / "missing.toml"))
    with pytest.raises(ConfigError, match=r"no file at .*missing\.toml"):
        load_settings()


def test_shipped_catalogue_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = Path(__file__).resolve().parent.parent / "config" / "newsbot.toml"
    monkeypatch.setenv("NEWSBOT_CONFIG", str(shipped))
    settings = load_settings()
    ids = {t.id for t in settings.topics}
    assert {"world", "india", "business", "technology", "science", "sport"} <= ids
    assert all(s.topics for s in settings.sources)
    assert any("newindianexpress.com" in s.url for s in settings.sources)
    for topic in ids:  # every topic is fed by at least two sources
        assert sum(topic in s.topics for s in settings.sources) >= 2
