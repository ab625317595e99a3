"""A fake Telegram Bot API server that the unmodified python-telegram-bot talks to.

    async with FakeTelegram(token="123:ABC", limits=True) as tg:
        app = ApplicationBuilder().token(tg.token).base_url(tg.api_base_url).build()

Requests arrive as POST {base_url}/bot{token}/{method}. The world (chats, users,
records) lives in telegram_state.py, the methods in telegram_methods.py. Run it
standalone with `python -m tests.fakes.telegram --port 8081`, or in a thread with
its own event loop with `FakeTelegram.run_in_thread()`. See tests/fakes/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from types import TracebackType
from typing import Any, Self, TypeVar

from aiohttp import web

from .telegram_faults import SERVER_ERROR_TEXTS, ApiError, DropConnection, ErrorPage
from .telegram_files import FileMethods, SentDocument, file_download_handler
from .telegram_limits import RateLimits, Window
from .telegram_methods import BotApiMethods
from .telegram_params import decode_params
from .telegram_records import (
    BOT_USERNAME,
    CallbackAnswer,
    DeletedMessage,
    EditedMessage,
    FakeChat,
    SentMessage,
)
from .telegram_state import ANY_THREAD, FakeTelegramState
from .telegram_webhook import WebhookAttempt, WebhookDelivery, stop_task

T = TypeVar("T")

_UNAUTHORIZED = ApiError(401, "Unauthorized")
_NOT_FOUND = ApiError(404, "Not Found")


class FakeTelegram(FakeTelegramState):
    """The fake Bot API server; an async context manager that listens on 127.0.0.1."""

    def __init__(
        self,
        token: str = "123:ABC",
        *,
        limits: bool = False,
        rate_limits: RateLimits | None = None,
        auto_create_chats: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
        webhook_retry_seconds: float = 0.1,
    ) -> None:
        super().__init__(
            token, limits=limits, rate_limits=rate_limits, auto_create_chats=auto_create_chats
        )
        self.host = host
        self.port = port
        methods = BotApiMethods(self)
        self._handlers = methods.table() | FileMethods(methods).table()
        self._runner: web.AppRunner | None = None
        # Telegram waits 1 s, doubling to about a minute; tests want a short fixed wait.
        self.webhook = WebhookDelivery(self, retry_seconds=webhook_retry_seconds)
        self._webhook_task: asyncio.Task[None] | None = None

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT (the bot uses f"{base_url}/bot")."""
        return f"http://{self.host}:{self.port}"

    @property
    def api_base_url(self) -> str:
        """What to pass to ApplicationBuilder.base_url()."""
        return f"{self.base_url}/bot"

    @property
    def file_base_url(self) -> str:
        """What to pass to ApplicationBuilder.base_file_url() (serves uploaded files)."""
        return f"{self.base_url}/file/bot"

    async def start(self) -> None:
        """Bind and serve; with port 0 a free port is chosen and stored in `port`."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        app.router.add_get("/file/bot{token}/{path:.*}", file_download_handler(self))
        app.router.add_route("*", "/{tail:.*}", _not_found)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, reuse_address=True)
        await site.start()
        self.port = self._runner.addresses[0][1]
        self._webhook_task = asyncio.create_task(self.webhook.run())

    async def stop(self) -> None:
        """Release held long polls and shut the server down."""
        self.closing = True
        self.updates_pulse.fire()
        await stop_task(self._webhook_task)
        self._webhook_task = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return _error_response(_UNAUTHORIZED)
        method = request.match_info["method"]
        handler = self._handlers.get(method.lower())
        if handler is None:
            return _error_response(_NOT_FOUND)
        try:
            params = decode_params(await _raw_params(request))
            self.requests.append((method, params))
            self.calls[method] += 1
            result = await handler(params)
        except ApiError as error:
            self.rejected_429 += error.error_code == 429
            return _error_response(error)
        except DropConnection:
            return _drop(request)
        except ErrorPage as page:
            return _error_page(page.status, request)
        finally:
            self.notify_activity()
        return _json_response(200, {"ok": True, "result": result})

    @classmethod
    def run_in_thread(cls, **kwargs: Any) -> FakeTelegramThread:
        """Serve from a daemon thread with its own loop (for benchmarks); see FakeTelegramThread."""
        return FakeTelegramThread(cls, kwargs)


class FakeTelegramThread:
    """A FakeTelegram served by its own event loop in a background thread.

    Read `fake.sent` etc. from any thread; run coroutines of the fake (send_text,
    press_button, migrate_group) on its loop with `call(...)`.
    """

    def __init__(self, factory: type[FakeTelegram], kwargs: dict[str, Any]) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready: Future[FakeTelegram] = Future()
        self._stopped = asyncio.Event()
        self._thread = threading.Thread(
            target=self._run, args=(factory, kwargs), name="fake-telegram", daemon=True
        )
        self._thread.start()
        self.fake: FakeTelegram = self._ready.result(timeout=10)

    @property
    def base_url(self) -> str:
        """The served fake's base_url."""
        return self.fake.base_url

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        """Run a coroutine of the fake on its loop and return its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def stop(self) -> None:
        """Stop serving and join the thread."""
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stopped.set)
            self._thread.join(timeout=10)

    def _run(self, factory: type[FakeTelegram], kwargs: dict[str, Any]) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_until_complete(self._serve(factory, kwargs))
        finally:
            self._loop.close()

    async def _serve(self, factory: type[FakeTelegram], kwargs: dict[str, Any]) -> None:
        try:
            fake = factory(**kwargs)
            await fake.start()
        except BaseException as error:
            self._ready.set_exception(error)
            return
        self._ready.set_result(fake)
        await self._stopped.wait()
        await fake.stop()


async def _raw_params(request: web.Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.query)
    if not request.body_exists:
        return params
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise ApiError(400, "Bad Request: JSON object expected")
        params.update(body)
    else:  # urlencoded or multipart: aiohttp parses both
        params.update(await request.post())
    return params


def _json_response(status: int, body: dict[str, Any]) -> web.Response:
    return web.Response(
        status=status, body=json.dumps(body).encode(), content_type="application/json"
    )


def _error_response(error: ApiError) -> web.Response:
    return _json_response(error.error_code, error.body())


async def _not_found(request: web.Request) -> web.Response:
    return _error_response(_NOT_FOUND)


def _error_page(status: int, request: web.Request) -> web.Response:
    title = f"{status} {SERVER_ERROR_TEXTS.get(status, 'Server Error')}"
    body = (
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
        f"<p>{request.method} {request.path}</p><hr><center>nginx</center></body></html>"
    )
    return web.Response(status=status, text=body, content_type="text/html")


def _drop(request: web.Request) -> web.Response:
    # Closing the socket makes the response write fail; aiohttp treats that as a
    # client disconnect and stays quiet. The client sees no HTTP answer at all.
    if request.transport is not None:
        request.transport.close()
    return web.Response(status=204)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Serve the fake Telegram Bot API.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123:ABC")
    parser.add_argument("--limits", action="store_true", help="enforce flood limits")
    parser.add_argument(
        "--auto-chats",
        action="store_true",
        help="accept any chat id (positive: private chat, negative: supergroup)",
    )
    parser.add_argument(
        "--webhook-retry-seconds",
        type=float,
        default=1.0,
        help="wait before posting an update again after the webhook failed",
    )
    return parser.parse_args(argv)


async def _serve_forever(args: argparse.Namespace) -> None:
    fake = FakeTelegram(
        args.token,
        limits=args.limits,
        auto_create_chats=args.auto_chats,
        host=args.host,
        port=args.port,
        webhook_retry_seconds=args.webhook_retry_seconds,
    )
    async with fake:
        # One line on stdout so a parent process can learn the port (with --port 0).
        print(f"fake telegram listening on {fake.base_url}", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    """Entry point of `python -m tests.fakes.telegram`."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(_parse_args(argv)))


__all__ = [
    "ANY_THREAD",
    "BOT_USERNAME",
    "ApiError",
    "CallbackAnswer",
    "DeletedMessage",
    "EditedMessage",
    "FakeChat",
    "FakeTelegram",
    "FakeTelegramThread",
    "RateLimits",
    "SentDocument",
    "SentMessage",
    "WebhookAttempt",
    "Window",
]

if __name__ == "__main__":
    main()
