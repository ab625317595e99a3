"""Secrets out of every text people see: log lines, error columns, CLI messages.

One rule, :func:`redact`: the Telegram bot token (the one registered at
start-up, and anything shaped like a bot token) becomes ``***``, and the
password of a URL's userinfo (``http://user:pass@host/``) becomes ``***``.
:func:`install_redaction` puts a filter on the root logger's handlers, so every
logger that propagates to them (ours, python-telegram-bot, httpx, httpcore) is
covered at every level; the filter formats a record's message with its args
first and redacts the result, and redacts its traceback text too.
"""

from __future__ import annotations

import logging
import re

MASK = "***"
# Telegram bot tokens are "<bot id>:<35 characters>"; matched even when never
# registered (a test's token, a token pasted into a feed URL).
_TOKEN_RE = re.compile(r"(?<!\d)\d{5,}:[A-Za-z0-9_-]{30,}")
# scheme://user:password@ -> scheme://user:***@ (a user alone is kept: it names, not proves).
_USERINFO_RE = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:?#]*):[^\s/@?#]*@")

_secrets: set[str] = set()


def add_secret(secret: str) -> None:
    """Redact this exact text from now on (e.g. the configured bot token)."""
    if secret:
        _secrets.add(secret)


def redact(text: str) -> str:
    """``text`` with registered secrets, bot tokens and URL passwords replaced by ``***``."""
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _TOKEN_RE.sub(MASK, text)
    return _USERINFO_RE.sub(rf"\g<head>:{MASK}@", text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (args applied first) and traceback text, redacted."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message or record.args:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def install_redaction(*secrets: str) -> None:
    """Register ``secrets`` and put one RedactingFilter on every root handler (once each)."""
    for secret in secrets:
        add_secret(secret)
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
