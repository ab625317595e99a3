"""Log set-up for every command: level, text or JSON lines, and the redacting filter.

``log_format = "json"`` writes one JSON object per line: ``time`` (UTC, ISO 8601),
``level``, ``logger``, ``message``, then whatever the call passed in ``extra``
(``chat_id``, ``source``, ``delivery_id``...) and ``exception`` (the traceback text)
when there is one. Every string in it goes through :func:`bot.redact.redact`, so
a token or password in an ``extra`` value is masked like one in the message.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from bot.redact import install_redaction, redact

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Every HTTP request at INFO (every SQLite call at DEBUG) would drown the bot's own lines.
_QUIET_AT_WARNING = ("httpx", "httpcore", "alembic", "aiosqlite", "apscheduler.executors.default")
# The attributes every LogRecord has; anything else on a record came from ``extra``.
_RECORD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, value in vars(record).items():
            if name not in _RECORD_ATTRIBUTES and not name.startswith("_"):
                entry[name] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(_redacted(entry), ensure_ascii=False, default=str)


def _redacted(value: Any) -> Any:
    """``value`` with every string in it redacted (dicts and lists walked)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_redacted(item) for item in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact(str(value))


def configure_logging(
    level: str,
    log_format: Literal["text", "json"] = "text",
    secrets: tuple[str, ...] = (),
    stream: TextIO | None = None,
) -> None:
    """One handler on the root logger (stderr), in the chosen format, redacting ``secrets``.

    Replaces handlers an earlier call put there, so calling it twice (tests) does not
    print every line twice.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    formatter = JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in _QUIET_AT_WARNING:
        logging.getLogger(name).setLevel(logging.WARNING)
    # A job run skipped because the previous one still runs is harmless by design
    # (APScheduler says so at WARNING).
    logging.getLogger("apscheduler.scheduler").setLevel(logging.ERROR)
    install_redaction(*secrets)
