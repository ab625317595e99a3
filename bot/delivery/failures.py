"""Turn the exception of one Telegram send attempt into a delivery outcome.

This is the ONE place that knows python-telegram-bot's exception classes and
Telegram's error texts; the sender and the outbox act on :class:`Outcome` only.

    RetryAfter                        -> RETRY_AFTER (pause all sending, resend later)
    ChatMigrated                      -> MIGRATED (move the chat id, resend)
    InvalidToken / Conflict /
    EndPointNotFound                  -> FATAL (stop the sender; no chat is at fault)
    Forbidden (any text)              -> BLOCKED (deactivate the chat)
    BadRequest "chat not found"       -> CHAT_NOT_FOUND (deactivate the chat)
    BadRequest "not enough rights" /
    "group chat was deactivated"      -> BLOCKED (the bot cannot write there)
    BadRequest "message thread not
    found" / TOPIC_DELETED            -> THREAD_NOT_FOUND (drop the thread, keep the chat)
    other BadRequest                  -> BAD_REQUEST (our message is wrong: failed, logged;
                                         "message is too long" lands here, reason says so)
    TimedOut / NetworkError           -> by the httpx error in the ``__cause__`` chain
                                         (PTB's HTTPXRequest raises them ``from`` it):
        httpx ConnectError, ConnectTimeout, PoolTimeout, ProxyError,
        UnsupportedProtocol, LocalProtocolError; ConnectionRefusedError
                                      -> NOT_SENT (nothing reached Telegram: retry with backoff)
        anything else (ReadTimeout, WriteTimeout, ReadError, WriteError,
        RemoteProtocolError, an HTTP 5xx answer, no cause at all)
                                      -> AMBIGUOUS
    anything else                     -> AMBIGUOUS

Why AMBIGUOUS is the default: sendMessage has no idempotency key, so once the
request may have left this process, the message may have been delivered. The
outbox records such a delivery as 'unknown' instead of risking a duplicate.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

import httpx
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
)


class OutcomeKind(StrEnum):
    """What happened to one send attempt, as far as delivery cares."""

    SENT = "sent"
    RETRY_AFTER = "retry_after"
    BLOCKED = "blocked"
    CHAT_NOT_FOUND = "chat_not_found"
    MIGRATED = "migrated"
    THREAD_NOT_FOUND = "thread_not_found"
    BAD_REQUEST = "bad_request"
    NOT_SENT = "not_sent"
    AMBIGUOUS = "ambiguous"
    FATAL = "fatal"


_CHAT_GONE = frozenset({OutcomeKind.BLOCKED, OutcomeKind.CHAT_NOT_FOUND})
_RETRYABLE = frozenset({OutcomeKind.RETRY_AFTER, OutcomeKind.NOT_SENT, OutcomeKind.MIGRATED})


@dataclass(frozen=True)
class Outcome:
    """The classified result of one send attempt.

    ``retry_after_seconds`` is set for RETRY_AFTER, ``new_chat_id`` for MIGRATED;
    ``reason`` is Telegram's description or the transport error, for the log.
    """

    kind: OutcomeKind
    retry_after_seconds: float = 0.0
    new_chat_id: int | None = None
    reason: str = ""

    @property
    def deactivates_chat(self) -> bool:
        """True when the chat can no longer receive messages from this bot."""
        return self.kind in _CHAT_GONE

    @property
    def is_retryable(self) -> bool:
        """True when sending the same message again is safe and may succeed."""
        return self.kind in _RETRYABLE


SENT = Outcome(OutcomeKind.SENT)

# Lower-case fragments of Telegram error descriptions (as the Bot API sends them).
_CHAT_NOT_FOUND_TEXTS = ("chat not found", "peer_id_invalid")
_NO_RIGHTS_TEXTS = (
    "not enough rights",
    "have no rights",
    "need administrator rights",
    "chat_write_forbidden",
    "group chat was deactivated",
)
_THREAD_GONE_TEXTS = ("message thread not found", "topic_deleted", "topic_id_invalid")

# Transport errors raised before any byte of the request could reach Telegram.
_NOT_SENT_ERRORS: tuple[type[BaseException], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
    ConnectionRefusedError,
)
_TRANSPORT_ERRORS = (httpx.TransportError, OSError)


def classify_send_error(err: BaseException) -> Outcome:
    """Map the exception of a Telegram send attempt to an :class:`Outcome`.

    Never raises. Specific PTB classes are tested before NetworkError, because
    BadRequest and TimedOut subclass it.
    """
    if isinstance(err, RetryAfter):
        return Outcome(
            OutcomeKind.RETRY_AFTER, retry_after_seconds=retry_after_seconds(err), reason=str(err)
        )
    if isinstance(err, ChatMigrated):
        return Outcome(OutcomeKind.MIGRATED, new_chat_id=int(err.new_chat_id), reason=str(err))
    if isinstance(err, InvalidToken | Conflict | EndPointNotFound):
        return Outcome(OutcomeKind.FATAL, reason=f"{type(err).__name__}: {err}")
    if isinstance(err, Forbidden):
        return Outcome(OutcomeKind.BLOCKED, reason=str(err))
    if isinstance(err, BadRequest):
        return _classify_bad_request(str(err))
    if isinstance(err, (NetworkError, *_TRANSPORT_ERRORS)):
        return _classify_transport_failure(err)
    return Outcome(OutcomeKind.AMBIGUOUS, reason=_describe(err))


def retry_after_seconds(err: RetryAfter) -> float:
    """The flood wait of ``err`` in seconds, whatever PTB's ``PTB_TIMEDELTA`` setting.

    PTB >= 22.2 stores a timedelta in ``_retry_after``; its public ``retry_after``
    returns an int plus a PTBDeprecationWarning unless ``PTB_TIMEDELTA`` is set,
    and a timedelta when it is. Read the stored timedelta when it is there (no
    warning); otherwise read the property with that warning silenced.
    """
    raw = getattr(err, "_retry_after", None)
    if not isinstance(raw, timedelta | int | float):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            raw = err.retry_after
    seconds = raw.total_seconds() if isinstance(raw, timedelta) else float(raw)
    return max(0.0, seconds)


def _classify_bad_request(description: str) -> Outcome:
    text = description.lower()
    if any(fragment in text for fragment in _CHAT_NOT_FOUND_TEXTS):
        return Outcome(OutcomeKind.CHAT_NOT_FOUND, reason=description)
    if any(fragment in text for fragment in _NO_RIGHTS_TEXTS):
        return Outcome(OutcomeKind.BLOCKED, reason=description)
    if any(fragment in text for fragment in _THREAD_GONE_TEXTS):
        return Outcome(OutcomeKind.THREAD_NOT_FOUND, reason=description)
    return Outcome(OutcomeKind.BAD_REQUEST, reason=description)


def _classify_transport_failure(err: BaseException) -> Outcome:
    cause = _first_transport_cause(err)
    reason = _describe(err) if cause is None or cause is err else f"{err} <- {_describe(cause)}"
    if cause is not None and isinstance(cause, _NOT_SENT_ERRORS):
        return Outcome(OutcomeKind.NOT_SENT, reason=reason)
    return Outcome(OutcomeKind.AMBIGUOUS, reason=reason)


def _first_transport_cause(err: BaseException) -> BaseException | None:
    """The first httpx or OS error in ``err`` and its cause/context chain, if any."""
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        if isinstance(current, _TRANSPORT_ERRORS):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _describe(err: BaseException) -> str:
    text = str(err)
    return f"{type(err).__name__}: {text}" if text else type(err).__name__
