"""The one settings object, loaded once in ``main()`` and passed down.

Order, highest first: environment ``NEWSBOT_*`` (nested keys with ``__``),
``.env``, then the TOML file named by ``NEWSBOT_CONFIG``
(default ``config/newsbot.toml`` under the working directory). Topics and
sources live in the TOML.

:func:`load_settings` insists on that file: without it newsbot would run with
no topics and put its SQLite file under whatever folder it was started in. It
reads the file itself first, so a TOML syntax error names the line and column
and an unknown key (a typo) stops start-up with a "did you mean".
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from bot.errors import ConfigError
from bot.health_server import parse_listen_address
from bot.redact import redact
from bot.sources.fetch_guard import parse_allowed_host

DEFAULT_CONFIG_PATH = "config/newsbot.toml"
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_TOPIC_ID_RE = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
_TOML_POSITION_RE = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_SETTINGS_ERROR_FIELD_RE = re.compile(r'field "([^"]+)"')
# What Telegram accepts as a webhook's secret_token.
_WEBHOOK_SECRET_RE = re.compile(r"[A-Za-z0-9_-]{1,256}")
WEBHOOK_HEALTH_PATH = "/healthz"


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


class UpdatesSettings(BaseModel):
    """How Telegram's updates are taken in and handled (see bot.updates)."""

    # Updates of one chat waiting in the inbox; more are dropped and the chat is
    # asked to slow down (one chat must not starve the others).
    per_chat_waiting_cap: int = Field(default=20, gt=0)
    # Chats whose updates are handled at the same time (one chat's updates in order).
    handler_concurrency: int = Field(default=64, gt=0)


class WebhookSettings(BaseModel):
    """Telegram posts updates to ``url``; the webhook receiver listens on ``listen``:``port``.

    ``url`` is the public address (a load balancer's, or this host's); Telegram's
    cloud takes https on ports 443, 80, 88 or 8443 (a self-hosted Bot API server
    also takes http). The receiver serves the URL's path.
    """

    url: str
    # Telegram sends it in X-Telegram-Bot-Api-Secret-Token with every update.
    secret: SecretStr
    listen: str = "127.0.0.1"
    port: int = Field(default=8443, ge=0, le=65535)  # 0: any free port (tests)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"bad URL {value!r}; write the public https:// URL Telegram posts to")
        if parts.fragment or parts.username or parts.password:
            raise ValueError("the webhook URL may have no #fragment and no user:password@")
        if (parts.path or "/") == WEBHOOK_HEALTH_PATH:
            raise ValueError(f"the path {WEBHOOK_HEALTH_PATH} is the health check's; use another")
        return value

    @field_validator("secret")
    @classmethod
    def _check_secret(cls, value: SecretStr) -> SecretStr:
        if not _WEBHOOK_SECRET_RE.fullmatch(value.get_secret_value()):
            raise ValueError("the secret must be 1-256 characters of A-Z, a-z, 0-9, _ and -")
        return value

    @property
    def path(self) -> str:
        """The path the receiver serves: the URL's."""
        return urlsplit(self.url).path or "/"


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
    # The language of a new chat whose user's Telegram language is none the bot speaks
    # ("en", "ru" or "es"); a chat changes its own with /language.
    default_language: Literal["en", "ru", "es"] = "en"
    stories_per_topic: int = Field(default=5, ge=1, le=50)
    retention_days: int = Field(default=30, ge=1)
    # Intake caps: the newest items kept from one poll of a source, and the articles kept per
    # source (oldest stored first pruned). The bounds keep the second above the first.
    max_items_per_poll: int = Field(default=200, ge=1, le=1000)
    max_articles_per_source: int = Field(default=1000, ge=1000)
    tick_seconds: float = Field(default=5.0, gt=0)
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"
    fetch: FetchSettings = Field(default_factory=FetchSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    updates: UpdatesSettings = Field(default_factory=UpdatesSettings)
    # How long a one-at-a-time role (planner, sender, long polling) stays with a
    # process that stopped renewing it: a standby takes over after this (bot.roles).
    role_lease_seconds: int = Field(default=30, ge=3)
    webhook: WebhookSettings | None = None  # None: long polling
    own_feeds: OwnFeedSettings = Field(default_factory=OwnFeedSettings)
    topics: list[TopicConfig] = Field(default_factory=list)
    sources: list[SourceConfig] = Field(default_factory=list)

    # --- Operation (issue 16): operator commands, alerts, health and metrics ---------
    # Telegram user ids of the bot's operators: /admin, /sources and /announce in a private
    # chat with the bot, and the alerts below. Environment: a JSON list, e.g. [123456789].
    admin_ids: list[int] = Field(default_factory=list, max_length=100)
    # Operators are told once when a source has failed this many polls in a row.
    alert_failed_polls: int = Field(default=5, ge=1)
    # ... and once when sending has sat in a Telegram flood wait longer than this.
    alert_flood_wait_minutes: float = Field(default=10.0, gt=0)
    # "host:port" of the /healthz and /metrics HTTP endpoint; None (the default) serves
    # none. The Docker image sets it to "0.0.0.0:9464".
    metrics_listen: str | None = None

    @field_validator("metrics_listen")
    @classmethod
    def _check_metrics_listen(cls, value: str | None) -> str | None:
        if value:
            parse_listen_address(value)  # raises ValueError naming the fix
        return value or None

    # --- end of Operation ------------------------------------------------------------

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

    @field_validator("log_level")
    @classmethod
    def _check_log_level(cls, value: str) -> str:
        level = value.strip().upper()
        if level not in LOG_LEVELS:
            raise ValueError(f"unknown log level {value!r}; use one of {', '.join(LOG_LEVELS)}")
        return level

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
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_path())
        return (
            init_settings,
            _ListFriendlyEnv(settings_cls),
            _ListFriendlyDotEnv(settings_cls),
            toml,
        )

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

    def require_topics(self) -> None:
        """Raise a ConfigError unless the catalogue has a topic (a bot without any is useless)."""
        if not self.topics:
            raise ConfigError(
                "topics",
                f"none in {config_path().resolve()}",
                "add a [[topics]] table with id and name; the README shows one",
            )


class _ListFriendlyDecoding(EnvSettingsSource):
    """A list setting from the environment may be JSON or plain words: ``08:00`` or
    ``08:00,18:00`` or ``08:00 18:00`` (JSON is what pydantic-settings alone accepts, and
    ``NEWSBOT_DIGEST_TIMES=08:00`` is what people write)."""

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        try:
            decoded = super().decode_complex_value(field_name, field, value)
        except ValueError:
            if not (_is_word_list(field.annotation) and isinstance(value, str)):
                raise
            decoded = None
        if _is_word_list(field.annotation) and not isinstance(decoded, list):
            return [word for word in re.split(r"[,\s]+", str(value)) if word]
        return decoded


class _ListFriendlyEnv(_ListFriendlyDecoding):
    """The environment's NEWSBOT_* variables."""


class _ListFriendlyDotEnv(_ListFriendlyDecoding, DotEnvSettingsSource):
    """The .env file's NEWSBOT_* lines."""


def _is_word_list(annotation: Any) -> bool:
    """A list of plain values (times, ids, hosts), which words can spell; not of tables."""
    return get_origin(annotation) is list and _model_of(annotation) is None


def config_path() -> Path:
    """The TOML file: ``NEWSBOT_CONFIG``, or ``config/newsbot.toml`` in the working directory."""
    return Path(os.environ.get("NEWSBOT_CONFIG") or DEFAULT_CONFIG_PATH)


def load_settings(**overrides: Any) -> Settings:
    """Load settings from env, .env and TOML; raise ConfigError with one clear line."""
    check_config_file(config_path())
    try:
        return Settings(**overrides)
    except ValidationError as err:
        raise _config_error(err) from None
    except SettingsError as err:  # a value pydantic-settings could not decode (bad JSON)
        raise _decoding_error(err) from None


def check_config_file(path: Path) -> None:
    """Raise ConfigError if the TOML file is missing, unreadable, not TOML, or has a key
    newsbot does not know (with the nearest known key as the likely fix)."""
    where = path.resolve()
    if not path.is_file():
        if os.environ.get("NEWSBOT_CONFIG"):
            raise ConfigError(
                "NEWSBOT_CONFIG", f"no file at {where}", "point it at your newsbot.toml"
            )
        raise ConfigError(
            str(where),
            "no config file there (NEWSBOT_CONFIG is not set)",
            "start newsbot in the folder that holds config/newsbot.toml, "
            "or set NEWSBOT_CONFIG=/path/to/newsbot.toml",
        )
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        problem = f"cannot read it: {err.strerror}"
        raise ConfigError(str(where), problem, "check its permissions") from None
    except UnicodeDecodeError:
        raise ConfigError(str(where), "not UTF-8 text", "save it as UTF-8") from None
    except tomllib.TOMLDecodeError as err:
        raise _toml_syntax_error(where, str(err)) from None
    unknown = _first_unknown_key(data, Settings, "")
    if unknown is not None:
        key, known = unknown
        raise ConfigError(key, f"unknown key in {where}", _unknown_key_hint(key, known))


def _unknown_key_hint(key: str, known: list[str]) -> str:
    name = key.rsplit(".", 1)[-1]
    close = difflib.get_close_matches(name, known, n=1)
    if close:
        return f"did you mean {close[0]!r}?"
    top_level = difflib.get_close_matches(name, list(Settings.model_fields), n=1)
    if "." in key and top_level:
        # TOML puts a key written below [fetch] or [[topics]] into that table.
        return (
            f"if you meant the setting {top_level[0]!r}, move it above the first [section]: "
            "TOML puts a key into the table above it"
        )
    return f"known keys: {', '.join(known)}"


def _toml_syntax_error(where: Path, message: str) -> ConfigError:
    position = _TOML_POSITION_RE.search(message)
    problem = _TOML_POSITION_RE.sub("", message)
    place = f"{where}, line {position[1]}, column {position[2]}" if position else str(where)
    return ConfigError(
        place,
        f"not valid TOML: {problem}",
        'fix the file: text needs quotes (timezone = "UTC"), lists brackets (["08:00"])',
    )


def _first_unknown_key(
    data: dict[str, Any], model: type[BaseModel], prefix: str
) -> tuple[str, list[str]] | None:
    """The first key of ``data`` (dotted, list items by index) ``model`` has no field for,
    with the keys it does know; None when every key is known (nested tables too)."""
    fields = model.model_fields
    for name, value in data.items():
        if name not in fields:
            return f"{prefix}{name}", sorted(fields)
        nested = _model_of(fields[name].annotation)
        if nested is None:
            continue
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                continue  # a wrong type: validation names it
            where = f"{prefix}{name}.{index}." if isinstance(value, list) else f"{prefix}{name}."
            found = _first_unknown_key(item, nested, where)
            if found is not None:
                return found
    return None


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside ``annotation`` (``M``, ``list[M]``, ``M | None``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = get_origin(annotation)
    if origin in (list, Union, UnionType, Annotated):
        for arg in get_args(annotation):
            found = _model_of(arg)
            if found is not None:
                return found
    return None


def _config_error(err: ValidationError) -> ConfigError:
    first = err.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or "settings"
    message = str(first["msg"]).removeprefix("Value error, ")
    given = first.get("input")
    shown = isinstance(given, str | int | float) and repr(given) not in message
    # A secret's value (the token, the webhook secret, a password) is never shown.
    is_secret = any(word in key for word in ("token", "secret", "password"))
    if shown and key != "settings" and not is_secret:
        message = f"{message}, got {redact(repr(given))[:80]}"
    return ConfigError(key, message, f"fix it in {_where_set(key)}")


def _decoding_error(err: SettingsError) -> ConfigError:
    found = _SETTINGS_ERROR_FIELD_RE.search(str(err))
    name = found[1] if found else "settings"
    variable = f"NEWSBOT_{name.upper()}"
    field = Settings.model_fields.get(name)
    if field is not None and get_origin(field.annotation) is list:
        fix = f"give a JSON list of tables, or set {name} in {config_path().resolve()}"
    else:
        fix = (
            f"set one nested key instead (e.g. {variable}__<KEY>=value), "
            f"or set it in {config_path().resolve()}"
        )
    return ConfigError(variable, "not valid JSON", fix)


def _where_set(key: str) -> str:
    """Where the value of ``key`` came from: its environment variable, .env, or the TOML."""
    top = key.split(".", 1)[0].upper()
    variable = f"NEWSBOT_{top}"

    def matching(names: list[str]) -> str | None:
        return next(
            (n for n in names if n.upper() == variable or n.upper().startswith(f"{variable}__")),
            None,
        )

    found = matching(list(os.environ))
    if found:
        return f"the environment variable {found}"
    dotenv = Path(".env")
    if dotenv.is_file() and (found := matching(list(dotenv_values(dotenv)))):
        return f"{found} in {dotenv.resolve()}"
    return str(config_path().resolve())
