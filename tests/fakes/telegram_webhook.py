"""Webhook delivery of the fake Telegram, the way Telegram's Bot API server does it.

After setWebhook(url, secret_token) every pending update is POSTed as JSON to
the URL with `X-Telegram-Bot-Api-Secret-Token`. Updates are queued per chat
(per user when there is no chat): a queue's first update is in flight at a
time, so a chat's updates arrive in order, while up to `max_connections`
queues are delivered at once. A 2xx answer removes the update; any other
status, or no answer (connection refused or broken, timeout), keeps it at the
head of its queue and it is posted again after `retry_seconds`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from .telegram_state import FakeTelegramState

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
IDLE_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class WebhookAttempt:
    """One POST of an update to the webhook: its answer's status, or None for no answer."""

    update_id: int
    url: str
    status: int | None
    error: str
    at: float  # time.monotonic()

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class WebhookDelivery:
    """Posts the state's pending updates to its webhook while one is set."""

    def __init__(
        self, state: FakeTelegramState, *, retry_seconds: float, timeout_seconds: float = 10.0
    ) -> None:
        self.state = state
        self.retry_seconds = retry_seconds
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._retry_at: dict[int, float] = {}
        self._settled = 0  # posts answered or failed so far

    async def run(self) -> None:
        """Deliver until the fake closes."""
        async with aiohttp.ClientSession(timeout=self._timeout) as session:
            try:
                while not self.state.closing:
                    for update in self._ready():
                        task = asyncio.create_task(self._post(session, update))
                        self._in_flight[update["update_id"]] = task
                    await self.state.updates_pulse.wait_until(
                        self._something_to_do(), self._next_retry_in()
                    )
            finally:
                for task in self._in_flight.values():
                    task.cancel()
                await asyncio.gather(*self._in_flight.values(), return_exceptions=True)

    def _something_to_do(self) -> Callable[[], bool]:
        settled = self._settled

        def check() -> bool:
            # A post settled: the next retry may come before the wait's end; look again.
            return self.state.closing or self._settled != settled or bool(self._ready())

        return check

    def _heads(self) -> list[dict[str, Any]]:
        """The first pending update of each queue, in update order."""
        seen: set[object] = set()
        heads = []
        for update in self.state.pending_updates:
            key = queue_key(update)
            if key not in seen:
                seen.add(key)
                heads.append(update)
        return heads

    def _ready(self) -> list[dict[str, Any]]:
        if not self.state.webhook_url:
            return []
        room = self.state.webhook_max_connections - len(self._in_flight)
        now = time.monotonic()
        ready = [
            update
            for update in self._heads()
            if update["update_id"] not in self._in_flight
            and self._retry_at.get(update["update_id"], 0.0) <= now
        ]
        return ready[: max(room, 0)]

    def _next_retry_in(self) -> float:
        """Seconds until a waiting head may be posted again (anything else fires the pulse)."""
        now = time.monotonic()
        retry_at = [self._retry_at.get(u["update_id"], 0.0) for u in self._heads()]
        return min((at - now for at in retry_at if at > now), default=IDLE_SECONDS)

    async def _post(self, session: aiohttp.ClientSession, update: dict[str, Any]) -> None:
        state = self.state
        url, update_id = state.webhook_url, update["update_id"]
        headers = {"Content-Type": "application/json"}
        if state.webhook_secret:
            headers[SECRET_HEADER] = state.webhook_secret
        status: int | None = None
        error = ""
        try:
            async with session.post(url, data=json.dumps(update), headers=headers) as answer:
                status = answer.status
                await answer.read()
        except (aiohttp.ClientError, OSError, TimeoutError) as failure:
            error = str(failure) or type(failure).__name__
        attempt = WebhookAttempt(update_id, url, status, error, time.monotonic())
        self._settle(attempt)

    def _settle(self, attempt: WebhookAttempt) -> None:
        state = self.state
        state.webhook_attempts.append(attempt)
        self._settled += 1
        self._in_flight.pop(attempt.update_id, None)
        if attempt.delivered:
            self._retry_at.pop(attempt.update_id, None)
            state.pending_updates[:] = [
                u for u in state.pending_updates if u["update_id"] != attempt.update_id
            ]
        else:
            self._retry_at[attempt.update_id] = time.monotonic() + self.retry_seconds
            state.webhook_last_error = (
                int(time.time()),
                f"Wrong response from the webhook: {attempt.status}"
                if attempt.status is not None
                else attempt.error,
            )
        state.updates_pulse.fire()
        state.notify_activity()


def queue_key(update: dict[str, Any]) -> object:
    """Telegram's delivery queue of an update: its chat, else its user, else its own."""
    for kind, payload in update.items():
        if kind == "update_id" or not isinstance(payload, dict):
            continue
        chat = payload.get("chat") or (payload.get("message") or {}).get("chat")
        if chat:
            return ("chat", chat["id"])
        user = payload.get("from") or payload.get("user")
        if user:
            return ("user", user["id"])
    return ("update", update["update_id"])


async def stop_task(task: asyncio.Task[None] | None) -> None:
    """Cancel the delivery task and wait for it."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
