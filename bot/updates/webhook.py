"""The webhook receiver: Telegram posts each update; 200 only once it is in the inbox.

Telegram delivers an update again until the webhook answers 2xx (any other
status, or a broken connection, and it retries later), so the receiver answers
200 only after the inbox transaction committed:

- ``X-Telegram-Bot-Api-Secret-Token`` must equal the configured secret
  (compared in constant time); wrong or missing -> 403, the body is not read;
- a body over ``max_body_bytes`` -> 413; one that is not a JSON object with an
  integer ``update_id``, or not an Update -> 400; nothing is stored for either;
- the update is stored by :class:`~bot.updates.intake.UpdateIntake`, the
  long-polling receiver's path (per-chat cap and slow-down notice included);
  the write failed -> 500 and Telegram sends it again. The inbox is keyed by
  ``update_id``: an update posted twice is stored, and handled, once.

Handlers run elsewhere (the dispatcher of this process, woken by ``wake``, or
of any process reading the same inbox), so the answer is one short
transaction away. Receivers share nothing but the database: several can stand
behind a load balancer, which checks ``GET /healthz`` on the same port (200
while the inbox answers, 503 otherwise and while the receiver stops).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import re
from collections import Counter
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

from telegram import Bot
from telegram.error import BadRequest, NetworkError
from tornado.http1connection import HTTP1Connection
from tornado.httpserver import HTTPServer
from tornado.httputil import HTTPHeaders
from tornado.netutil import bind_sockets
from tornado.web import Application, RequestHandler, stream_request_body

from bot.errors import ConfigError, NewsbotError
from bot.settings import WEBHOOK_HEALTH_PATH, WebhookSettings
from bot.store.inbox import InboxRepository
from bot.updates.intake import ALLOWED_UPDATES, UpdateIntake, has_update_id

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Telegram's updates are a few kB (4096 characters of text, entities, a replied-to message).
MAX_BODY_BYTES = 1_000_000
PING_TIMEOUT_SECONDS = 5.0
# Requests in progress at stop get this long to commit and answer; the rest Telegram resends.
STOP_GRACE_SECONDS = 10.0
BODY_TIMEOUT_SECONDS = 30.0


async def set_webhook(bot: Bot, settings: WebhookSettings) -> None:
    """Tell Telegram to post every kind of update to ``settings.url`` with the secret.

    Updates Telegram still holds are kept (``drop_pending_updates=False``).
    """
    try:
        await bot.set_webhook(
            url=settings.url,
            secret_token=settings.secret.get_secret_value(),
            allowed_updates=list(ALLOWED_UPDATES),
            drop_pending_updates=False,
        )
    except BadRequest as err:
        raise ConfigError(
            "webhook.url",
            f"Telegram refused the webhook {_origin(settings.url)}: {err.message}",
            "use a public https URL on port 443, 80, 88 or 8443",
        ) from err
    except NetworkError as err:
        raise NewsbotError(
            f"could not set the webhook: Telegram is not reachable ({err.message})"
        ) from err
    log.info("Telegram posts updates to %s", _origin(settings.url))


async def delete_webhook(bot: Bot) -> bool:
    """Delete the webhook if one is set (long polling gets 409 while it is); True if one was.

    Updates Telegram still holds are kept: ``getUpdates`` hands them out next.
    """
    info = await bot.get_webhook_info()
    if not info.url:
        return False
    await bot.delete_webhook(drop_pending_updates=False)
    log.info("deleted the webhook to %s: updates come by long polling now", _origin(info.url))
    return True


class WebhookReceiver:
    """Serves the webhook and the health check; an async context manager (or start/stop).

    ``register`` calls setWebhook once listening; several receivers behind one
    balancer each register the same public URL, which is harmless.
    """

    def __init__(
        self,
        settings: WebhookSettings,
        bot: Bot,
        inbox: InboxRepository,
        *,
        per_chat_cap: int,
        wake: Callable[[], None] | None = None,
        register: bool = True,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._settings = settings
        self._secret = settings.secret.get_secret_value().encode()
        self._bot = bot
        self._inbox = inbox
        self._intake = UpdateIntake(bot, inbox, per_chat_cap=per_chat_cap, wake=wake)
        self._register = register
        self.max_body_bytes = max_body_bytes
        self._server: HTTPServer | None = None
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False
        self.port = settings.port
        self.answers: Counter[int] = Counter()  # webhook answers by HTTP status

    @property
    def dropped(self) -> int:
        """Updates refused by the per-chat cap since start."""
        return self._intake.dropped

    @property
    def in_flight(self) -> int:
        """Webhook requests being answered now."""
        return self._in_flight

    @property
    def local_url(self) -> str:
        """Where this receiver serves the webhook path (tests post here)."""
        return f"http://{self._settings.listen}:{self.port}{self._settings.path}"

    async def start(self) -> None:
        """Listen on ``listen``:``port``, then (with ``register``) call setWebhook."""
        app = Application(
            [
                (WEBHOOK_HEALTH_PATH, _HealthHandler, {"receiver": self}),
                (_route(self._settings.path), _UpdateHandler, {"receiver": self}),
            ],
            log_function=_log_request,
        )
        listen, port = self._settings.listen, self._settings.port
        self._stopping = False
        try:
            sockets = bind_sockets(port, address=listen)
        except OSError as err:
            raise ConfigError(
                "webhook.port",
                f"cannot listen on {listen}:{port}: {err.strerror}",
                "stop what uses it or choose another port",
            ) from err
        # A body over the cap without a Content-Length is read up to twice the cap to be
        # answered 413; beyond that tornado closes the connection with a bare 400.
        self._server = HTTPServer(
            app, max_body_size=2 * self.max_body_bytes, body_timeout=BODY_TIMEOUT_SECONDS
        )
        self._server.add_sockets(sockets)
        self.port = sockets[0].getsockname()[1]
        log.info("webhook receiver listening on %s:%d", listen, self.port)
        if self._register:
            try:
                await set_webhook(self._bot, self._settings)
            except BaseException:
                await self.stop()  # nothing left listening when start fails
                raise

    async def stop(self) -> None:
        """Stop accepting, let requests in progress finish (bounded), close connections."""
        if self._server is None:
            return
        self._stopping = True
        self._server.stop()
        try:
            await asyncio.wait_for(self._idle.wait(), STOP_GRACE_SECONDS)
        except TimeoutError:
            log.warning(
                "%d webhook requests unfinished at stop: Telegram resends them", self._in_flight
            )
        await self._server.close_all_connections()
        self._server = None
        self._intake.close()

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

    def refusal(self, headers: HTTPHeaders) -> int | None:
        """403 for a wrong or missing secret, 413 for a declared body over the cap; else None."""
        given = headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, self._secret):
            return 403
        declared = headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_body_bytes:
            return 413
        return None

    async def accept(self, body: bytes) -> int:
        """Store the update in ``body``; the HTTP status to answer."""
        data = _update_data(body)
        if data is None:
            return 400
        try:
            # Stored as sent: an update PTB cannot read is given up by the dispatcher,
            # not refused here (Telegram would resend it for ever).
            await self._intake.store([data])
        except Exception as err:  # 500: Telegram keeps the update and sends it again
            log.warning(
                "could not store update %s, Telegram will resend it: %s",
                data["update_id"],
                _first_line(err),
            )
            return 500
        return 200

    async def healthy(self) -> bool:
        """True while the inbox answers and the receiver is not stopping."""
        if self._stopping:
            return False
        try:
            await asyncio.wait_for(self._inbox.ping(), PING_TIMEOUT_SECONDS)
        except Exception as err:  # any failure of the database is "unhealthy"
            log.warning("health check: the database does not answer: %s", _first_line(err))
            return False
        return True

    def request_started(self) -> None:
        """A webhook request arrived (its handler calls this; stop waits for it)."""
        self._in_flight += 1
        self._idle.clear()

    def request_finished(self, status: int | None) -> None:
        """A webhook request was answered with ``status``, or (None) its connection closed."""
        if status is not None:
            self.answers[status] += 1
        self._in_flight -= 1
        if self._in_flight == 0:
            self._idle.set()


@stream_request_body
class _UpdateHandler(RequestHandler):
    """POST of one update. The body streams in, so a refusal is sent before reading it."""

    SUPPORTED_METHODS = ("POST",)

    def initialize(self, receiver: WebhookReceiver) -> None:
        self._receiver = receiver
        self._body = bytearray()
        self._too_large = False
        self._counted = False

    def prepare(self) -> None:
        self._receiver.request_started()
        self._counted = True
        refusal = self._receiver.refusal(self.request.headers)
        if refusal is not None:
            # Answered now; tornado then closes the connection instead of reading the body.
            _skip_body_check(self)
            self._answer(refusal)

    def data_received(self, chunk: bytes) -> None:
        if len(self._body) + len(chunk) > self._receiver.max_body_bytes:
            self._too_large = True  # a body sent without Content-Length
            return
        self._body.extend(chunk)

    async def post(self) -> None:
        status = 413 if self._too_large else await self._receiver.accept(bytes(self._body))
        self._answer(status)

    def on_finish(self) -> None:
        self._release(self.get_status())

    def on_connection_close(self) -> None:
        super().on_connection_close()  # ends the wait for a body that will never come
        self._release(None)

    def _answer(self, status: int) -> None:
        # No body: a JSON body naming a "method" would be run by Telegram as a Bot API call.
        self.set_status(status)
        self.finish()

    def _release(self, status: int | None) -> None:
        if self._counted:
            self._counted = False
            self._receiver.request_finished(status)


class _HealthHandler(RequestHandler):
    """GET /healthz for a load balancer."""

    SUPPORTED_METHODS = ("GET",)

    def initialize(self, receiver: WebhookReceiver) -> None:
        self._receiver = receiver

    async def get(self) -> None:
        ok = await self._receiver.healthy()
        self.set_status(200 if ok else 503)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps({"status": "ok" if ok else "unavailable"}))


def _update_data(body: bytes) -> dict[str, Any] | None:
    """The JSON object of an update, or None when the body is not one."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return None
    return data if isinstance(data, dict) and has_update_id(data) else None


def _skip_body_check(handler: RequestHandler) -> None:
    # Without this, tornado's own Content-Length check would append a bare 400 to the answer.
    connection = handler.request.connection
    declared = handler.request.headers.get("Content-Length", "")
    if declared.isdigit() and isinstance(connection, HTTP1Connection):
        connection.set_max_body_size(int(declared))


def _route(path: str) -> str:
    return re.escape(path)  # tornado routes are regular expressions


def _first_line(err: BaseException) -> str:
    """An error in one log line (SQLAlchemy's texts go on with the statement)."""
    lines = str(err).strip().splitlines()
    return f"{type(err).__name__}: {lines[0]}" if lines else type(err).__name__


def _origin(url: str) -> str:
    """scheme://host[:port] of a URL: its path may hold a secret, so logs show only this."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"


def _log_request(handler: RequestHandler) -> None:
    # tornado logs every request at INFO with its path; the path may be secret, and a
    # flood of refused posts must not flood the log.
    log.debug("webhook %s answered %d", handler.request.method, handler.get_status())
