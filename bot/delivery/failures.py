"""Turn the exception of one Telegram send attempt into a delivery outcome.

This is the ONE place that knows python-telegram-bot's exception classes and
Telegram's error texts; the sender and the outbox act on :class:`Outcome` only.

    RetryAfter                        -> RETRY_AFTER (pause all sending, resend later)
    ChatMigrated                      -> MIGRATED (move the chat id, resend)
    InvalidToken / Conflict /
    EndPointNotFound                  -> FATAL (stop the sender; no chat is at fault)
    an error page that is not JSON (a proxy's), any status but 401/404/409,
    or a JSON error PTB has no class for (plain NetworkError, no cause; e.g.
    Telegram's 500 "Internal Server Error")
                                      -> SERVER_ERROR (not accepted: retry with backoff),
                                         except a non-JSON 504 / 524 -> AMBIGUOUS (a
                                         gateway gave up waiting; Telegram may have sent it)
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
        httpx ConnectError (refused, reset or closed during the TLS handshake),
        ConnectTimeout, PoolTimeout, ProxyError, UnsupportedProtocol,
        LocalProtocolError, WriteTimeout, WriteError; ConnectionRefusedError
                                      -> NOT_SENT (the request was never fully
                                         written: retry with backoff)
        anything else (ReadTimeout, ReadError, RemoteProtocolError,
        a TimedOut with no cause)
                                      -> AMBIGUOUS
    anything else (a 200 that is not JSON, ...) -> AMBIGUOUS

How PTB 22 reports an error answer (``BaseRequest._request_wrapper``): a JSON
body gives ``NetworkError(<description>)`` with no cause and no status code; a
body that is not JSON gives ``NetworkError("Bad Gateway (502). Parsing the
server response b'...' failed")`` raised from ``TelegramError("Invalid server
response")``. Transport failures are always raised ``from`` an httpx error.

Why AMBIGUOUS is the default: sendMessage has no idempotency key, so once the
request may have reached Telegram and no answer says it was refused, the
message may have been delivered. The outbox records such a delivery as
'unknown' instead of risking a duplicate. A connection reset after connecting
is AMBIGUOUS too: httpcore reads on after a failed write, so the client cannot
tell a reset before the request went out from one while waiting for the answer.
"""

from __future__ import annotations

import re
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
    TelegramError,
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
    SERVER_ERROR = "server_error"
    AMBIGUOUS = "ambiguous"
    FATAL = "fatal"


# The subscriber (chat, or forum thread) can no longer receive this bot's messages.
_SUBSCRIBER_GONE = frozenset(
    {OutcomeKind.BLOCKED, OutcomeKind.CHAT_NOT_FOUND, OutcomeKind.THREAD_NOT_FOUND}
)


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
    def subscriber_gone(self) -> bool:
        """True when the chat (or its forum thread) can no longer receive this bot's messages."""
        return self.kind in _SUBSCRIBER_GONE


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

# Transport errors raised before the whole request was written: Telegram cannot
# act on a request it did not receive in full (the body has a Content-Length).
_NOT_SENT_ERRORS: tuple[type[BaseException], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
    httpx.LocalProtocolError,
    httpx.WriteTimeout,
    httpx.WriteError,
    ConnectionRefusedError,
)
_TRANSPORT_ERRORS = (httpx.TransportError, OSError)

# PTB's text for an error answer whose body is not JSON: "<phrase> (<status>). Parsing ...".
_UNPARSED_ANSWER_RE = re.compile(r"\((\d{3})\)\. Parsing the server response")
_UNPARSED_ANSWER_CAUSE = "Invalid server response"
# A gateway that timed out waiting for Telegram: the request may have been acted on.
_GATEWAY_TIMEOUTS = frozenset({504, 524})
# An error page can be long; the reason keeps its start.
_MAX_REASON_CHARS = 500


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
    if _is_error_answer(err):
        return _classify_error_answer(str(err))
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


def _is_error_answer(err: BaseException) -> bool:
    """True for an HTTP error answer that is not Telegram's verdict on this message.

    That is a JSON error PTB has no class for (a plain NetworkError with no
    cause: TimedOut and the transport errors always have one), or any error
    page that is not JSON (raised from "Invalid server response"): a proxy's
    403 or 400 page must not deactivate a chat or fail a message. Exact types
    are checked because TimedOut and BadRequest subclass NetworkError.
    """
    if type(err) is NetworkError and err.__cause__ is None and err.__context__ is None:
        return True
    cause = err.__cause__
    return (
        type(err) in (NetworkError, Forbidden, BadRequest)
        and type(cause) is TelegramError
        and str(cause) == _UNPARSED_ANSWER_CAUSE
    )


def _classify_error_answer(message: str) -> Outcome:
    reason = message[:_MAX_REASON_CHARS]
    status = _UNPARSED_ANSWER_RE.search(message)
    if status is not None and int(status.group(1)) in _GATEWAY_TIMEOUTS:
        return Outcome(OutcomeKind.AMBIGUOUS, reason=reason)
    return Outcome(OutcomeKind.SERVER_ERROR, reason=reason)


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
