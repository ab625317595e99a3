"""classify_send_error on real PTB exceptions, built by hand and raised by a real Bot.

The real Bot talks to the fake Bot API over HTTP through PTB's HTTPXRequest, the
client the bot uses, so the httpx causes are the ones production sees.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import warnings
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from telegram import Bot
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
    TimedOut,
)
from telegram.request import HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.delivery.failures import (
    SENT,
    Outcome,
    OutcomeKind,
    classify_send_error,
    retry_after_seconds,
)
from tests.fakes.telegram import FakeTelegram

TOKEN = "123456:TEST-token"


def caused_by(err: BaseException, cause: BaseException) -> BaseException:
    """Raise `err from cause` and return it, so the chain is exactly as PTB builds it."""
    try:
        raise err from cause
    except BaseException as raised:
        return raised


def build_retry_after(seconds: int) -> RetryAfter:
    """RetryAfter as PTB builds it from a 429 (its constructor warns without PTB_TIMEDELTA)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        return RetryAfter(seconds)


def classify_without_warnings(err: BaseException) -> Outcome:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        outcome = classify_send_error(err)
    assert [str(w.message) for w in caught] == []
    return outcome


# --- flood wait ------------------------------------------------------------------------


def test_retry_after_reads_seconds_without_a_warning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PTB_TIMEDELTA", raising=False)

    outcome = classify_without_warnings(build_retry_after(7))

    assert outcome.kind is OutcomeKind.RETRY_AFTER
    assert outcome.retry_after_seconds == 7.0


def test_retry_after_with_ptb_timedelta_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")

    err = RetryAfter(timedelta(seconds=2.5))

    assert classify_without_warnings(err).retry_after_seconds == 2.5


def test_ptb_itself_warns_building_retry_after_unless_ptb_timedelta_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Why the process must set PTB_TIMEDELTA=1: with warnings as errors a 429 would
    surface as PTBDeprecationWarning raised out of send_message, not as RetryAfter."""
    monkeypatch.delenv("PTB_TIMEDELTA", raising=False)

    with pytest.warns(PTBDeprecationWarning):
        RetryAfter(3)


class _IntOnlyRetryAfter(RetryAfter):
    """RetryAfter shaped as PTB < 22.2 had it: a plain int attribute, no timedelta."""

    __slots__ = ("_seconds",)

    def __init__(self, seconds: int) -> None:
        TelegramError.__init__(self, f"Flood control exceeded. Retry in {seconds} seconds")
        self._seconds = seconds

    @property
    def retry_after(self) -> int:  # type: ignore[override]
        return self._seconds


def test_retry_after_falls_back_to_the_public_attribute() -> None:
    assert retry_after_seconds(_IntOnlyRetryAfter(11)) == 11.0


# --- chat state ------------------------------------------------------------------------


def test_chat_migrated_carries_the_new_chat_id() -> None:
    outcome = classify_send_error(ChatMigrated(-1001234567890))

    assert outcome.kind is OutcomeKind.MIGRATED
    assert outcome.new_chat_id == -1001234567890
    assert not outcome.subscriber_gone


@pytest.mark.parametrize(
    "text",
    [
        "Forbidden: bot was blocked by the user",
        "Forbidden: user is deactivated",
        "Forbidden: bot was kicked from the supergroup chat",
        "Forbidden: bot is not a member of the channel chat",
        "Forbidden: bot can't initiate conversation with a user",
    ],
)
def test_forbidden_means_blocked(text: str) -> None:
    outcome = classify_send_error(Forbidden(text))

    assert outcome.kind is OutcomeKind.BLOCKED
    assert outcome.reason == text
    assert outcome.subscriber_gone


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Bad Request: chat not found", OutcomeKind.CHAT_NOT_FOUND),
        ("Bad Request: PEER_ID_INVALID", OutcomeKind.CHAT_NOT_FOUND),
        ("Bad Request: not enough rights to send text messages to the chat", OutcomeKind.BLOCKED),
        ("Bad Request: group chat was deactivated", OutcomeKind.BLOCKED),
        ("Bad Request: message thread not found", OutcomeKind.THREAD_NOT_FOUND),
        ("Bad Request: TOPIC_DELETED", OutcomeKind.THREAD_NOT_FOUND),
        ("Bad Request: message is too long", OutcomeKind.BAD_REQUEST),
        ("Bad Request: can't parse entities: unclosed tag at byte 12", OutcomeKind.BAD_REQUEST),
    ],
)
def test_bad_request_texts(text: str, kind: OutcomeKind) -> None:
    outcome = classify_send_error(BadRequest(text))

    assert outcome.kind is kind
    assert outcome.reason.lower() == text.removeprefix("Bad Request: ").lower()


def test_chat_or_thread_not_found_means_the_subscriber_is_gone() -> None:
    assert classify_send_error(BadRequest("Bad Request: chat not found")).subscriber_gone
    assert classify_send_error(BadRequest("Bad Request: message thread not found")).subscriber_gone


@pytest.mark.parametrize(
    "err",
    [InvalidToken(), Conflict("terminated by other getUpdates request"), EndPointNotFound("x")],
)
def test_token_and_setup_errors_are_fatal(err: TelegramError) -> None:
    outcome = classify_send_error(err)

    assert outcome.kind is OutcomeKind.FATAL
    assert type(err).__name__ in outcome.reason


# --- transport -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cause",
    [
        httpx.ConnectTimeout("connect timed out"),
        httpx.PoolTimeout("pool timed out"),
    ],
)
def test_timed_out_before_sending_is_not_sent(cause: httpx.TimeoutException) -> None:
    outcome = classify_send_error(caused_by(TimedOut(), cause))

    assert outcome.kind is OutcomeKind.NOT_SENT
    assert type(cause).__name__ in outcome.reason


@pytest.mark.parametrize("cause", [httpx.ReadTimeout("read timed out")])
def test_timed_out_after_sending_is_ambiguous(cause: httpx.TimeoutException) -> None:
    outcome = classify_send_error(caused_by(TimedOut(), cause))

    assert outcome.kind is OutcomeKind.AMBIGUOUS


@pytest.mark.parametrize(
    ("err", "cause"),
    [
        (TimedOut(), httpx.WriteTimeout("write timed out")),
        (NetworkError("httpx.WriteError: broken pipe"), httpx.WriteError("broken pipe")),
    ],
)
def test_request_not_fully_written_is_not_sent(
    err: NetworkError, cause: httpx.TransportError
) -> None:
    outcome = classify_send_error(caused_by(err, cause))

    assert outcome.kind is OutcomeKind.NOT_SENT


def test_connection_refused_is_not_sent() -> None:
    cause = httpx.ConnectError("[Errno 111] Connection refused")
    err = caused_by(NetworkError(f"httpx.ConnectError: {cause}"), cause)

    assert classify_send_error(err).kind is OutcomeKind.NOT_SENT


@pytest.mark.parametrize(
    "cause",
    [
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
    ],
)
def test_dropped_connection_is_ambiguous(cause: httpx.TransportError) -> None:
    err = caused_by(NetworkError(f"httpx.{type(cause).__name__}: {cause}"), cause)

    assert classify_send_error(err).kind is OutcomeKind.AMBIGUOUS


def unparsed_answer(err: TelegramError) -> BaseException:
    """``err`` as PTB raises it for an error answer whose body is not JSON."""
    return caused_by(err, TelegramError("Invalid server response"))


def test_json_error_answer_without_a_class_is_a_server_error() -> None:
    # PTB raises a bare NetworkError(<description>) for a JSON 5xx: no status, no cause.
    outcome = classify_send_error(NetworkError("Internal Server Error"))

    assert outcome.kind is OutcomeKind.SERVER_ERROR
    assert outcome.reason == "Internal Server Error"


@pytest.mark.parametrize(
    "err",
    [
        NetworkError("Bad Gateway (502). Parsing the server response b'<html>' failed"),
        NetworkError("Service Unavailable (503). Parsing the server response b'' failed"),
        Forbidden("Forbidden (403). Parsing the server response b'<html>denied' failed"),
        BadRequest("Bad Request (400). Parsing the server response b'<html>' failed"),
    ],
)
def test_error_page_that_is_not_json_is_a_server_error(err: TelegramError) -> None:
    # A proxy's page is no verdict of Telegram's: it must not deactivate a chat.
    outcome = classify_send_error(unparsed_answer(err))

    assert outcome.kind is OutcomeKind.SERVER_ERROR
    assert not outcome.subscriber_gone


@pytest.mark.parametrize("status", [504, 524])
def test_gateway_timeout_page_is_ambiguous(status: int) -> None:
    err = NetworkError(f"Gateway Timeout ({status}). Parsing the server response b'' failed")

    assert classify_send_error(unparsed_answer(err)).kind is OutcomeKind.AMBIGUOUS


def test_long_error_page_is_cut_in_the_reason() -> None:
    page = "x" * 10_000
    err = NetworkError(f"Bad Gateway (502). Parsing the server response b'{page}' failed")

    assert len(classify_send_error(unparsed_answer(err)).reason) == 500


def test_timed_out_without_a_cause_is_ambiguous() -> None:
    assert classify_send_error(TimedOut()).kind is OutcomeKind.AMBIGUOUS


def test_cause_found_deeper_in_the_chain() -> None:
    inner = caused_by(RuntimeError("wrapper"), httpx.ConnectError("refused"))
    err = caused_by(NetworkError("Unknown error in HTTP implementation"), inner)

    assert classify_send_error(err).kind is OutcomeKind.NOT_SENT


@pytest.mark.parametrize(
    "err",
    [TelegramError("Invalid server response"), ValueError("boom"), asyncio.CancelledError()],
)
def test_unknown_errors_are_ambiguous(err: BaseException) -> None:
    assert classify_send_error(err).kind is OutcomeKind.AMBIGUOUS


def test_sent_outcome_constant() -> None:
    assert (SENT.kind, SENT.reason, SENT.new_chat_id) == (OutcomeKind.SENT, "", None)
    assert not SENT.subscriber_gone


# --- through a real Bot (PTB's HTTPXRequest) against the fake Bot API -------------------


@pytest.fixture
async def tg() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram(TOKEN, auto_create_chats=True) as fake:
        yield fake


def _bot(base_url: str, token: str = TOKEN, **options: float | int) -> Bot:
    return Bot(token, base_url=base_url, request=HTTPXRequest(**options))  # type: ignore[arg-type]


async def _send_error(bot: Bot, chat_id: int, text: str = "hello") -> BaseException:
    with pytest.raises(TelegramError) as caught:
        await bot.send_message(chat_id, text)
    return caught.value


async def test_real_bot_chat_errors(tg: FakeTelegram) -> None:
    tg.faults.block(2)
    tg.faults.not_found(3)
    async with _bot(tg.api_base_url) as bot:
        assert (await bot.send_message(100, "hello")).message_id
        blocked = classify_send_error(await _send_error(bot, 2))
        gone = classify_send_error(await _send_error(bot, 3))
        too_long = classify_send_error(await _send_error(bot, 100, "x" * 5000))

    assert blocked.kind is OutcomeKind.BLOCKED
    assert gone.kind is OutcomeKind.CHAT_NOT_FOUND
    assert too_long.kind is OutcomeKind.BAD_REQUEST
    assert "too long" in too_long.reason


async def test_real_bot_wrong_token_is_fatal(tg: FakeTelegram) -> None:
    bot = _bot(tg.api_base_url, token="999:WRONG")
    err = await _send_error(bot, 100)
    await bot.request.shutdown()

    assert classify_send_error(err).kind is OutcomeKind.FATAL


async def test_real_bot_retry_after_and_migration(tg: FakeTelegram) -> None:
    tg.group(-555, "Old group", admins={1}, supergroup=False)
    tg.faults.force_429(1, retry_after=7)
    await tg.migrate_group(-555, -100999)
    async with _bot(tg.api_base_url) as bot:
        flood = classify_send_error(await _send_error(bot, 1))
        moved = classify_send_error(await _send_error(bot, -555))

    assert (flood.kind, flood.retry_after_seconds) == (OutcomeKind.RETRY_AFTER, 7.0)
    assert (moved.kind, moved.new_chat_id) == (OutcomeKind.MIGRATED, -100999)


async def test_real_bot_dropped_connection_is_ambiguous(tg: FakeTelegram) -> None:
    tg.faults.drop_connection(20)
    async with _bot(tg.api_base_url) as bot:
        err = await _send_error(bot, 20)

    assert isinstance(err, NetworkError)
    assert isinstance(err.__cause__, httpx.RemoteProtocolError)
    assert classify_send_error(err).kind is OutcomeKind.AMBIGUOUS


async def test_real_bot_read_timeout_is_ambiguous(tg: FakeTelegram) -> None:
    tg.faults.slow(21, 1.0)
    async with _bot(tg.api_base_url, read_timeout=0.3) as bot:
        err = await _send_error(bot, 21)

    assert isinstance(err, TimedOut)
    assert isinstance(err.__cause__, httpx.ReadTimeout)
    assert classify_send_error(err).kind is OutcomeKind.AMBIGUOUS


async def test_real_bot_pool_timeout_is_not_sent(tg: FakeTelegram) -> None:
    tg.faults.slow(21, 1.0)
    async with _bot(tg.api_base_url, connection_pool_size=1, pool_timeout=0.2) as bot:
        slow = asyncio.create_task(bot.send_message(21, "occupies the only connection"))
        await asyncio.sleep(0.1)
        err = await _send_error(bot, 100)
        await slow

    assert isinstance(err, TimedOut)  # a timeout, yet nothing left this process
    assert isinstance(err.__cause__, httpx.PoolTimeout)
    assert classify_send_error(err).kind is OutcomeKind.NOT_SENT
    assert tg.messages_to(100) == []


async def test_real_bot_connection_refused_is_not_sent() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()  # the port is now closed: connecting is refused

    bot = _bot(f"http://127.0.0.1:{port}/bot")
    err = await _send_error(bot, 100)
    await bot.request.shutdown()

    assert isinstance(err.__cause__, httpx.ConnectError)
    assert classify_send_error(err).kind is OutcomeKind.NOT_SENT


@pytest.mark.parametrize(
    ("status", "html", "kind"),
    [
        (500, False, OutcomeKind.SERVER_ERROR),
        (502, False, OutcomeKind.SERVER_ERROR),
        (503, False, OutcomeKind.SERVER_ERROR),
        (500, True, OutcomeKind.SERVER_ERROR),
        (502, True, OutcomeKind.SERVER_ERROR),
        (503, True, OutcomeKind.SERVER_ERROR),
        (403, True, OutcomeKind.SERVER_ERROR),
        (504, True, OutcomeKind.AMBIGUOUS),
    ],
)
async def test_real_bot_error_answers(
    tg: FakeTelegram, status: int, html: bool, kind: OutcomeKind
) -> None:
    tg.faults.server_error(30, status, html=html)
    async with _bot(tg.api_base_url) as bot:
        err = await _send_error(bot, 30)
        assert (await bot.send_message(30, "next")).message_id  # the fault was used up

    assert classify_send_error(err).kind is kind
    assert [m.plain_text for m in tg.messages_to(30)] == ["next"]


async def test_real_bot_tls_handshake_reset_is_not_sent() -> None:
    """A reset before the request is written: connecting over TLS to a listener that resets."""
    contacted = asyncio.Event()

    async def reset(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        contacted.set()
        sock = writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.close()

    server = await asyncio.start_server(reset, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    bot = _bot(f"https://127.0.0.1:{port}/bot")
    err = await _send_error(bot, 100)
    await bot.request.shutdown()
    server.close()
    await server.wait_closed()

    assert contacted.is_set()
    assert isinstance(err.__cause__, httpx.ConnectError)
    assert classify_send_error(err).kind is OutcomeKind.NOT_SENT


async def test_real_bot_sends_text_intact(tg: FakeTelegram) -> None:
    text = 'A <b>digest</b> &amp; "quotes", émoji 🗞 and\nnew lines'
    async with _bot(tg.api_base_url) as bot:
        message = await bot.send_message(100, text, parse_mode="HTML")

    [sent] = tg.messages_to(100)
    assert (message.chat.id, sent.text) == (100, text)
