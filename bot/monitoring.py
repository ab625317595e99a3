"""Watching the running bot: metrics, operator alerts and the /healthz and /metrics endpoint.

``bot.app`` builds one :class:`Monitoring` per bot and calls it after each poll
and plan job (:meth:`Monitoring.after_poll`, :meth:`Monitoring.after_plan`),
and around the bot's life (:meth:`Monitoring.start`, :meth:`Monitoring.stop`).
Monitoring never fails a job: a failure here is logged and the job's own work
stands.

``/healthz`` is healthy when the database answers (a read of ``bot_state``,
within :data:`DB_TIMEOUT_SECONDS`) and a scheduler job ran within
:func:`stale_after_seconds`; the JSON body says which check failed. Never the
database URL: only the error's type.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable

from telegram.ext import Application

from bot.alerts import OperatorAlerts
from bot.chat.operator import notify_operators
from bot.clock import Clock
from bot.digest.slots import slot_time
from bot.health_server import Health, HealthServer
from bot.metrics import BotMetrics
from bot.settings import Settings
from bot.sources.poll_results import CycleReport
from bot.store import Store
from bot.store.state import SENDING_PAUSED_UNTIL

log = logging.getLogger(__name__)

DB_TIMEOUT_SECONDS = 3.0
# A job is late when none ran for this many ticks, and never sooner than this many seconds
# (a poll may take the fetch timeout plus the parse budget).
STALE_TICKS = 10
STALE_MIN_SECONDS = 120.0


def stale_after_seconds(tick_seconds: float) -> float:
    """How long without a scheduler job before /healthz says the bot is stuck."""
    return max(STALE_MIN_SECONDS, STALE_TICKS * tick_seconds)


class Monitoring:
    """One bot's metrics, alerts and health endpoint."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        metrics: BotMetrics,
        alerts: OperatorAlerts,
        clock: Clock,
    ) -> None:
        self.metrics = metrics
        self.alerts = alerts
        self._store = store
        self._clock = clock
        self._stale_after = stale_after_seconds(settings.tick_seconds)
        self._started = self._last_tick = time.monotonic()
        listen = settings.metrics_listen
        self.server = HealthServer(listen, self.health, self.metrics_page) if listen else None

    @classmethod
    def build(
        cls, settings: Settings, store: Store, metrics: BotMetrics, application: Application
    ) -> Monitoring:
        """Monitoring whose alerts go to ``settings.admin_ids`` through the application's bot."""
        admin_ids = tuple(settings.admin_ids)

        async def notify(text: str) -> int:
            return await notify_operators(application.bot, admin_ids, text)

        clock = metrics.clock
        metrics.watch_updates(application)
        return cls(settings, store, metrics, OperatorAlerts(store, settings, clock, notify), clock)

    async def start(self) -> None:
        """Open the health endpoint, if ``metrics_listen`` asks for one."""
        if self.server is not None:
            await self.server.start()

    async def stop(self) -> None:
        """Close the health endpoint."""
        if self.server is not None:
            await self.server.close()

    async def after_heartbeat(self) -> None:
        """The heartbeat job ran (every role has it): the scheduler is alive, and the
        digests this process delivered give their lag (the sender may run alone)."""
        self._ticked()
        await _guarded("digest lag", self.observe_lag())

    async def after_poll(self, report: CycleReport, *, may_alert: bool) -> None:
        """A poll job ran: count its sources' outcomes; tell about failing sources if
        this process is the one that alerts (it holds the planner role)."""
        self._ticked()
        self.metrics.poll_cycle(report)
        if may_alert and report.results:  # error counts change only when a source is polled
            await _guarded("source alert", self.alerts.check_sources())

    async def after_plan(self, *, may_alert: bool) -> None:
        """A plan job ran: record digest lag; if this process alerts (it holds the
        planner role, one process at a time), tell about a long flood wait and
        failing sources polled by any poller."""
        self._ticked()
        if may_alert:
            await _guarded("flood wait alert", self.alerts.check_flood_wait())
            await _guarded("source alert", self.alerts.check_sources())
        await _guarded("digest lag", self.observe_lag())

    async def observe_lag(self) -> None:
        """Digests fully sent since last time: from their due time to their last part."""
        delivered = self.metrics.take_delivered()
        for digest in await self._store.outbox.digests(list(delivered)):
            due = slot_time(digest.slot_key) if digest.kind == "scheduled" else None
            lag = delivered[digest.id] - (due or digest.created_at)
            self.metrics.digest_lag.observe(max(0.0, lag.total_seconds()))

    async def health(self) -> Health:
        """The answer of /healthz."""
        tick_age = time.monotonic() - self._last_tick
        database = await self._database_state()
        is_healthy = database == "ok" and tick_age <= self._stale_after
        return Health(
            is_healthy,
            {
                "status": "ok" if is_healthy else "unhealthy",
                "database": database,
                "last_tick_age_seconds": round(tick_age, 1),
                "tick_stale_after_seconds": self._stale_after,
                "uptime_seconds": round(time.monotonic() - self._started, 1),
            },
        )

    async def metrics_page(self) -> tuple[bytes, str]:
        """The /metrics page, with what lives in the store read now."""
        await _guarded("metrics from the store", self._refresh_from_store())
        return self.metrics.page()

    async def _refresh_from_store(self) -> None:
        await self.observe_lag()
        now = self._clock()
        backlog = await self._store.outbox.backlog()
        oldest = backlog.oldest_queued_at
        self.metrics.outbox_depth.set(backlog.depth)
        self.metrics.outbox_oldest_age.set((now - oldest).total_seconds() if oldest else 0.0)
        until = await self._store.state.get_time(SENDING_PAUSED_UNTIL)
        self.metrics.flood_wait_remaining.set(
            max(0.0, (until - now).total_seconds()) if until else 0
        )
        self.metrics.articles.set(await self._store.articles.count())

    async def _database_state(self) -> str:
        try:
            async with asyncio.timeout(DB_TIMEOUT_SECONDS):
                await self._store.state.get(SENDING_PAUSED_UNTIL)
        except Exception as err:  # any failure means "not reachable"; the type says which
            log.warning("health: database check failed: %s", type(err).__name__)
            return f"unreachable ({type(err).__name__})"
        return "ok"

    def _ticked(self) -> None:
        self._last_tick = time.monotonic()
        self.metrics.tick()


async def _guarded(what: str, step: Awaitable[object]) -> None:
    try:
        await step
    except Exception:  # monitoring must never fail the job it watches
        log.exception("%s failed", what)
