"""classify_send_error on real PTB exceptions, built by hand and produced by a real Bot."""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import httpx
import pytest
from aiohttp import web
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
from telegram.request import BaseRequest, HTTPXRequest
from telegram.warnings import PTBDeprecationWarning

from bot.delivery.failures import (
    SENT,
    Outcome,
    OutcomeKind,
    classify_send_error,
    retry_after_seconds,
)
from bot.delivery.telegram_http import AiohttpRequest, PoolTimeout

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
    assert outcome.is_retryable


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
    assert outcome.is_retryable
    assert not outcome.deactivates_chat


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
    assert outcome.deactivates_chat
    assert not outcome.is_retryable


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


def test_chat_not_found_deactivates_the_chat() -> None:
    assert classify_send_error(BadRequest("Bad Request: chat not found")).deactivates_chat


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
    assert outcome.is_retryable


@pytest.mark.parametrize(
    "cause",
    [httpx.ReadTimeout("read timed out"), httpx.WriteTimeout("write timed out")],
)
def test_timed_out_after_sending_is_ambiguous(cause: httpx.TimeoutException) -> None:
    outcome = classify_send_error(caused_by(TimedOut(), cause))

    assert outcome.kind is OutcomeKind.AMBIGUOUS
    assert not outcome.is_retryable


def test_connection_refused_is_not_sent() -> None:
    cause = httpx.ConnectError("[Errno 111] Connection refused")
    err = caused_by(NetworkError(f"httpx.ConnectError: {cause}"), cause)

    assert classify_send_error(err).kind is OutcomeKind.NOT_SENT


@pytest.mark.parametrize(
    "cause",
    [
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
        httpx.WriteError("broken pipe"),
    ],
)
def test_dropped_connection_is_ambiguous(cause: httpx.TransportError) -> None:
    err = caused_by(NetworkError(f"httpx.{type(cause).__name__}: {cause}"), cause)

    assert classify_send_error(err).kind is OutcomeKind.AMBIGUOUS


def test_server_error_answer_is_ambiguous() -> None:
    outcome = classify_send_error(NetworkError("Bad Gateway (502)"))

    assert outcome.kind is OutcomeKind.AMBIGUOUS
    assert "502" in outcome.reason


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
    assert not SENT.deactivates_chat


# --- through a real Bot against a tiny Bot API server -------------------------------------


def _error(status: int, description: str, **parameters: int) -> web.Response:
    body: dict[str, object] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return web.json_response(body, status=status)


_ME = {"id": 1, "is_bot": True, "first_name": "Newsbot", "username": "newsbot"}
_ANSWERS = {
    1: lambda: _error(429, "Too Many Requests: retry after 7", retry_after=7),
    2: lambda: _error(403, "Forbidden: bot was blocked by the user"),
    3: lambda: _error(400, "Bad Request: chat not found"),
    4: lambda: _error(400, "Bad Request: group chat was upgraded", migrate_to_chat_id=-100999),
    5: lambda: _error(400, "Bad Request: message is too long"),
    6: lambda: _error(400, "Bad Request: message thread not found"),
    7: lambda: _error(401, "Unauthorized"),
    8: lambda: _error(502, "Bad Gateway"),
}
_DROP_CHAT, _SLOW_CHAT = 20, 21
_CONTENT_TYPES: list[str] = []  # of every request with parameters, in arrival order


async def _bot_api(request: web.Request) -> web.StreamResponse:
    method = request.match_info["method"]
    if method == "getMe":
        return web.json_response({"ok": True, "result": _ME})
    _CONTENT_TYPES.append(request.content_type)
    is_json = request.content_type == "application/json"
    form = await request.json() if is_json else await request.post()
    chat_id = int(form["chat_id"])
    if method == "sendDocument":  # echo what arrived, so a test can check the upload
        upload = form["document"]
        assert isinstance(upload, web.FileField)
        text = f"{upload.filename}:{upload.content_type}:{upload.file.read().decode()}"
        message = {"message_id": 2, "date": 0, "chat": {"id": chat_id, "type": "private"}}
        return web.json_response({"ok": True, "result": {**message, "caption": text}})
    if chat_id == _DROP_CHAT:
        assert request.transport is not None
        request.transport.close()  # request received, connection dropped, no answer
        return web.Response()
    if chat_id == _SLOW_CHAT:
        await asyncio.sleep(1.0)
    if chat_id in _ANSWERS:
        return _ANSWERS[chat_id]()
    message = {"message_id": 1, "date": 1_700_000_000, "chat": {"id": chat_id, "type": "private"}}
    return web.json_response({"ok": True, "result": {**message, "text": form.get("text")}})


@pytest.fixture
async def bot_api_url() -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", _bot_api)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}"
    await runner.cleanup()


# The two HTTP layers the bot can use; each must raise so that the same outcomes follow.
TRANSPORTS = ("httpx", "aiohttp")
# The transport error each layer puts in the ``__cause__`` of PTB's exception.
_DROPPED = {"httpx": httpx.RemoteProtocolError, "aiohttp": aiohttp.ServerDisconnectedError}
_READ_TIMEOUT = {"httpx": httpx.ReadTimeout, "aiohttp": aiohttp.SocketTimeoutError}
_POOL_TIMEOUT = {"httpx": httpx.PoolTimeout, "aiohttp": PoolTimeout}
_REFUSED = {"httpx": httpx.ConnectError, "aiohttp": aiohttp.ClientConnectorError}


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _bot(base_url: str, transport: str, **options: float | int) -> Bot:
    request: BaseRequest
    if transport == "httpx":
        request = HTTPXRequest(**options)  # type: ignore[arg-type]
    else:
        pool_size = int(options.pop("connection_pool_size", 16))
        request = AiohttpRequest(pool_size, **options)
    return Bot(TOKEN, base_url=f"{base_url}/bot", request=request)


async def _send_error(bot: Bot, chat_id: int) -> BaseException:
    with pytest.raises(TelegramError) as caught:
        await bot.send_message(chat_id, "hello")
    return caught.value


@pytest.mark.parametrize(
    ("chat_id", "kind"),
    [
        (2, OutcomeKind.BLOCKED),
        (3, OutcomeKind.CHAT_NOT_FOUND),
        (5, OutcomeKind.BAD_REQUEST),
        (6, OutcomeKind.THREAD_NOT_FOUND),
        (7, OutcomeKind.FATAL),
        (8, OutcomeKind.AMBIGUOUS),
    ],
)
async def test_real_bot_errors(
    bot_api_url: str, transport: str, chat_id: int, kind: OutcomeKind
) -> None:
    async with _bot(bot_api_url, transport) as bot:
        assert (await bot.send_message(100, "hello")).message_id == 1
        err = await _send_error(bot, chat_id)

    assert classify_send_error(err).kind is kind


async def test_real_bot_retry_after_and_migration(
    bot_api_url: str, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PTB_TIMEDELTA", "1")  # else PTB warns while building RetryAfter
    async with _bot(bot_api_url, transport) as bot:
        flood = classify_send_error(await _send_error(bot, 1))
        moved = classify_send_error(await _send_error(bot, 4))

    assert (flood.kind, flood.retry_after_seconds) == (OutcomeKind.RETRY_AFTER, 7.0)
    assert (moved.kind, moved.new_chat_id) == (OutcomeKind.MIGRATED, -100999)


async def test_real_bot_dropped_connection_is_ambiguous(bot_api_url: str, transport: str) -> None:
    async with _bot(bot_api_url, transport) as bot:
        err = await _send_error(bot, _DROP_CHAT)

    assert isinstance(err, NetworkError)
    assert isinstance(err.__cause__, _DROPPED[transport])
    assert classify_send_error(err).kind is OutcomeKind.AMBIGUOUS


async def test_real_bot_read_timeout_is_ambiguous(bot_api_url: str, transport: str) -> None:
    async with _bot(bot_api_url, transport, read_timeout=0.3) as bot:
        err = await _send_error(bot, _SLOW_CHAT)

    assert isinstance(err, TimedOut)
    assert isinstance(err.__cause__, _READ_TIMEOUT[transport])
    assert classify_send_error(err).kind is OutcomeKind.AMBIGUOUS


async def test_real_bot_pool_timeout_is_not_sent(bot_api_url: str, transport: str) -> None:
    async with _bot(bot_api_url, transport, connection_pool_size=1, pool_timeout=0.2) as bot:
        slow = asyncio.create_task(bot.send_message(_SLOW_CHAT, "occupies the only connection"))
        await asyncio.sleep(0.1)
        err = await _send_error(bot, 100)
        await slow

    assert isinstance(err, TimedOut)
    assert isinstance(err.__cause__, _POOL_TIMEOUT[transport])
    assert classify_send_error(err).kind is OutcomeKind.NOT_SENT


async def test_real_bot_connection_refused_is_not_sent(transport: str) -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()  # the port is now closed: connecting is refused

    bot = _bot(f"http://127.0.0.1:{port}", transport)
    err = await _send_error(bot, 100)
    await bot.request.shutdown()

    assert isinstance(err.__cause__, _REFUSED[transport])
    assert classify_send_error(err).kind is OutcomeKind.NOT_SENT


async def test_real_bot_uploads_a_file(bot_api_url: str, transport: str) -> None:
    async with _bot(bot_api_url, transport) as bot:
        message = await bot.send_document(100, b"digest body", filename="digest.txt")

    assert message.caption == "digest.txt:text/plain:digest body"


@pytest.mark.parametrize(
    ("transport", "content_type"),
    [("httpx", "application/x-www-form-urlencoded"), ("aiohttp", "application/json")],
)
async def test_real_bot_sends_text_intact_as_form_or_json(
    bot_api_url: str, transport: str, content_type: str
) -> None:
    text = 'A <b>digest</b> & "quotes", émoji 🗞 and\nnew lines'
    _CONTENT_TYPES.clear()
    async with _bot(bot_api_url, transport) as bot:
        message = await bot.send_message(100, text, parse_mode="HTML")

    assert (message.chat.id, message.text) == (100, text)  # the server got the text intact
    assert [content_type] == _CONTENT_TYPES


async def test_aiohttp_request_reopens_after_shutdown(bot_api_url: str) -> None:
    request = AiohttpRequest(2)
    url = f"{bot_api_url}/bot{TOKEN}/getMe"
    first = await request.do_request(url, "POST")
    await request.shutdown()
    second = await request.do_request(url, "POST")
    await request.shutdown()

    assert first[0] == second[0] == 200
    assert b'"username": "newsbot"' in second[1]
