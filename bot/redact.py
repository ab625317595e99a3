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
from urllib.parse import quote

MASK = "***"
# Telegram bot tokens are "<bot id>:<35 characters>"; matched even when never
# registered (a test's token, a token pasted into a feed URL), and with the colon
# percent-encoded (a token quoted into a URL).
_TOKEN_RE = re.compile(r"(?<!\d)\d{5,}(?::|%3[aA])[A-Za-z0-9_-]{30,}")
# scheme://user:password@ -> scheme://user:***@ (a user alone is kept: it names, not
# proves). The password runs to the LAST "@" before the path, as URL parsers read it
# ("p@ss word" included); masking too much is the safe way to be wrong.
_USERINFO_RE = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:?#]*):[^/?#\r\n]*@")
# A registered token's secret half is masked on its own too (it is what grants access).
_MIN_SECRET_PART = 20

_secrets: set[str] = set()


def add_secret(secret: str) -> None:
    """Redact this text from now on (e.g. the configured bot token): as it is, percent-
    encoded, and, for a token, its part after the colon."""
    if not secret:
        return
    forms = {secret, quote(secret, safe=""), quote(secret, safe="").replace("%3A", "%3a")}
    _, _, after_colon = secret.partition(":")
    if len(after_colon) >= _MIN_SECRET_PART:
        forms.add(after_colon)
    _secrets.update(forms)


def redact(text: str) -> str:
    """``text`` with registered secrets, bot tokens and URL passwords replaced by ``***``."""
    for secret in sorted(_secrets, key=len, reverse=True):  # the whole before its parts
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
