"""The one settings object, loaded once in ``main()`` and passed down.

Order, highest first: environment ``NEWSBOT_*`` (nested keys with ``__``),
``.env``, then the TOML file named by ``NEWSBOT_CONFIG``
(default ``config/newsbot.toml``). Topics and sources live in the TOML.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from bot.errors import ConfigError
from bot.sources.fetch_guard import parse_allowed_host

DEFAULT_CONFIG_PATH = "config/newsbot.toml"
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_TOPIC_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def validate_timezone(name: str) -> str:
    """Return ``name`` if it is a known IANA zone, else raise ValueError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(
            f"unknown time zone {name!r}; use an IANA name like 'Asia/Kolkata'"
        ) from err
    return name


def validate_digest_time(value: str) -> str:
    """Return ``value`` if it is a 24-hour ``HH:MM`` time, else raise ValueError."""
    if not _TIME_RE.match(value):
        raise ValueError(f"malformed time {value!r}; write 24-hour HH:MM like '08:00'")
    return value


class TopicConfig(BaseModel):
    """A topic chats subscribe to, e.g. World news."""

    id: str
    name: str
    aliases: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    description: str = ""

    @field_validator("id")
    @classmethod
    def _check_id(cls, value: str) -> str:
        if not _TOPIC_ID_RE.match(value):
            raise ValueError(f"topic id {value!r} must be lower-case letters, digits, '-' or '_'")
        return value


class SourceConfig(BaseModel):
    """A news source: a feed URL, a list of article pages, or a folder of article files."""

    name: str
    url: str = ""
    kind: Literal["feed", "pages", "folder"] = "feed"
    path: str = ""
    pages: list[str] = Field(default_factory=list)
    topics: list[str] = Field(default_factory=list)
    timezone: str | None = None
    fetch_pages: bool = False
    poll_interval_seconds: int | None = Field(default=None, ge=30)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if value and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"bad URL {value!r}; it must start with http:// or https://")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, value: str | None) -> str | None:
        return validate_timezone(value) if value else None

    @model_validator(mode="after")
    def _check_kind(self) -> SourceConfig:
        if self.kind == "feed" and not self.url:
            raise ValueError(f"source {self.name!r} needs a url")
        if self.kind == "folder" and not self.path:
            raise ValueError(f"source {self.name!r} of kind 'folder' needs a path")
        if self.kind == "pages" and not self.pages:
            raise ValueError(f"source {self.name!r} of kind 'pages' needs a pages list")
        return self


class FetchSettings(BaseModel):
    """How politely the poller fetches."""

    timeout_seconds: float = Field(default=20.0, gt=0)
    max_bytes: int = Field(default=10_000_000, gt=0)
    max_connections: int = Field(default=20, gt=0)
    max_per_host: int = Field(default=4, gt=0)
    user_agent: str = "newsbot/0.1 (+https://github.com/newsbot/newsbot)"
    max_backoff_seconds: int = Field(default=6 * 3600, gt=0)
    # A feed's parse in a worker may take this long; then it is stopped and the poll fails.
    parse_timeout_seconds: float = Field(default=5.0, gt=0, le=300)
    # "host" or "host:port" entries a redirect or an item link may reach although they
    # resolve to a loopback/private/... address (local deployments, tests).
    allowed_hosts: list[str] = Field(default_factory=list, max_length=1000)

    @field_validator("allowed_hosts")
    @classmethod
    def _check_allowed_hosts(cls, value: list[str]) -> list[str]:
        for entry in value:
            parse_allowed_host(entry)  # raises ValueError naming the bad entry
        return value


class OwnFeedSettings(BaseModel):
    """Feeds chats add by URL (/add, /import): whether they may, how many, from where."""

    enabled: bool = True
    max_per_chat: int = Field(default=50, ge=1, le=10_000)
    # Hosts (a name also covers its subdomains) feeds may come from; empty = any host.
    only_hosts: list[str] = Field(default_factory=list, max_length=10_000)
    # Hosts (and their subdomains) feeds may never come from.
    blocked_hosts: list[str] = Field(default_factory=list, max_length=10_000)
    # /add and /import commands one chat may send per hour (each fetches strangers' URLs).
    adds_per_hour: int = Field(default=20, ge=1)
    # Largest OPML file /import reads.
    import_max_bytes: int = Field(default=1_000_000, gt=0, le=20_000_000)

    @field_validator("only_hosts", "blocked_hosts")
    @classmethod
    def _lower_hosts(cls, value: list[str]) -> list[str]:
        return [host.strip().lower().rstrip(".") for host in value if host.strip()]


class DeliverySettings(BaseModel):
    """Telegram sending limits and outbox behaviour."""

    messages_per_second: float = Field(default=30.0, gt=0)
    allow_paid_broadcast: bool = False
    private_chat_interval_seconds: float = Field(default=1.0, ge=0)
    group_messages_per_minute: int = Field(default=20, gt=0)
    lease_seconds: int = Field(default=120, gt=0)
    resend_unknown: bool = False
    link_preview: Literal["off", "top"] = "off"
    concurrency: int = Field(default=16, gt=0)


class Settings(BaseSettings):
    """Every setting of newsbot. Build it with :func:`load_settings`."""

    model_config = SettingsConfigDict(
        env_prefix="NEWSBOT_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    telegram_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = "sqlite:///data/newsbot.db"
    poll_interval_seconds: int = Field(default=300, ge=10)
    timezone: str = "UTC"
    digest_times: list[str] = Field(default_factory=lambda: ["08:00"])
    stories_per_topic: int = Field(default=5, ge=1, le=50)
    retention_days: int = Field(default=30, ge=1)
    # Intake caps: the newest items kept from one poll of a source, and the articles kept per
    # source (oldest stored first pruned). The bounds keep the second above the first.
    max_items_per_poll: int = Field(default=200, ge=1, le=1000)
    max_articles_per_source: int = Field(default=1000, ge=1000)
    tick_seconds: float = Field(default=5.0, gt=0)
    log_level: str = "INFO"
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    own_feeds: OwnFeedSettings = Field(default_factory=OwnFeedSettings)
    topics: list[TopicConfig] = Field(default_factory=list)
    sources: list[SourceConfig] = Field(default_factory=list)

    @field_validator("telegram_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"bad URL {value!r}; it must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _check_db_url(cls, value: str) -> str:
        if not value.startswith(("sqlite", "postgresql", "postgres://")):
            raise ValueError("use sqlite:///path/to/file.db or postgresql://user@host/db")
        return value

    @field_validator("timezone")
    @classmethod
    def _check_tz(cls, value: str) -> str:
        return validate_timezone(value)

    @field_validator("digest_times")
    @classmethod
    def _check_times(cls, value: list[str]) -> list[str]:
        return [validate_digest_time(v) for v in value]

    @model_validator(mode="after")
    def _check_catalogue(self) -> Settings:
        ids = [t.id for t in self.topics]
        if len(ids) != len(set(ids)):
            raise ValueError("topic ids must be unique")
        names = [s.name for s in self.sources]
        if len(names) != len(set(names)):
            raise ValueError("source names must be unique")
        for source in self.sources:
            unknown = sorted(set(source.topics) - set(ids))
            if unknown:
                raise ValueError(
                    f"source {source.name!r} names unknown topic {unknown[0]!r}; "
                    f"known topics: {', '.join(ids) or 'none'}"
                )
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml_path = Path(os.environ.get("NEWSBOT_CONFIG", DEFAULT_CONFIG_PATH))
        toml = TomlConfigSettingsSource(settings_cls, toml_file=toml_path)
        return (init_settings, env_settings, dotenv_settings, toml)

    def topic(self, topic_id: str) -> TopicConfig | None:
        """The topic with this id, or None."""
        return next((t for t in self.topics if t.id == topic_id), None)

    def require_token(self) -> str:
        """The Telegram token, or a ConfigError saying how to set it."""
        if self.telegram_token is None or not self.telegram_token.get_secret_value():
            raise ConfigError(
                "telegram_token",
                "missing",
                "get one from @BotFather and set NEWSBOT_TELEGRAM_TOKEN or put it in .env",
            )
        return self.telegram_token.get_secret_value()


def load_settings(**overrides: Any) -> Settings:
    """Load settings from env, .env and TOML; raise ConfigError with one clear line."""
    config_path = os.environ.get("NEWSBOT_CONFIG")
    if config_path and not Path(config_path).is_file():
        raise ConfigError(
            "NEWSBOT_CONFIG", f"file {config_path!r} not found", "point it at a TOML file"
        )
    try:
        return Settings(**overrides)
    except ValidationError as err:
        raise _config_error(err) from None


def _config_error(err: ValidationError) -> ConfigError:
    first = err.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "settings"
    message = str(first["msg"]).removeprefix("Value error, ")
    return ConfigError(key, message, "fix it in config/newsbot.toml, .env or NEWSBOT_* variables")
