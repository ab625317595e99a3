"""The composition root: builds and wires everything, and runs it.

Data flows one way: sources -> store -> digest -> delivery -> Telegram; the
chat handlers write subscriptions. Telegram's updates come in through the
durable inbox (``bot.updates``): the receiver stores them, the dispatcher runs
the handlers from the table. Polling, planning and sending are
independent: the poll and plan jobs each run as their own JobQueue task and the
sender has its own loop, so a source that hangs holds back neither a due digest
nor a reply. The jobs only tick; every due time lives in the store, so a
restart resumes the plan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import secrets
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TextIO

import httpx
from prometheus_client import CollectorRegistry
from telegram import Bot
from telegram.ext import Application, ApplicationBuilder, ContextTypes, JobQueue
from telegram.request import BaseRequest, HTTPXRequest

from bot.chat.feed_adder import FeedAdder
from bot.chat.routes import register_handlers, set_bot_commands
from bot.clock import Clock, utcnow
from bot.delivery.limiter import SendLimiter
from bot.delivery.ptb_limiter import SharedRateLimiter
from bot.delivery.sender import Sender
from bot.digest.planner import DigestPlanner
from bot.metrics import BotMetrics, CountingRateLimiter
from bot.monitoring import Monitoring
from bot.roles import ROLES, RoleLease
from bot.services import SERVICES_KEY, Services
from bot.settings import Settings
from bot.sources.fetcher import Fetcher, Resolver
from bot.sources.poller import Poller, fetch_limits
from bot.store import Store, open_store
from bot.store.engine import is_sqlite
from bot.updates import UpdateDispatcher, UpdateReceiver
from bot.updates.webhook import WebhookReceiver
from bot.wording import counted

log = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 3600.0
# Handled updates are kept longer than Telegram keeps unconfirmed ones (24 h), so an
# update it sends again is always recognised.
INBOX_KEEP = timedelta(days=2)
HEARTBEAT_SECONDS = 10.0
HEARTBEATS_KEEP = timedelta(days=1)  # a crashed process's row, for `newsbot stats`
STOP_SECONDS = 15.0


@dataclass(slots=True)
class NewsBot:
    """Everything the running bot is made of."""

    settings: Settings
    store: Store
    application: Application
    poller: Poller
    planner: DigestPlanner
    sender: Sender
    fetcher: Fetcher
    receiver: UpdateReceiver
    dispatcher: UpdateDispatcher
    monitoring: Monitoring  # metrics, operator alerts, /healthz
    clock: Clock = utcnow
    owner: str = "newsbot"  # this process in leases, heartbeats and outbox claims
    roles: frozenset[str] = frozenset(ROLES)
    webhook: WebhookReceiver | None = None
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    _leases: dict[str, RoleLease] = field(default_factory=dict)
    _started_at: datetime = field(default_factory=utcnow)

    async def poll(self) -> None:
        """The poll job: poll due sources, give instant chats the new stories, wake the sender."""
        report = await self.poller.tick()
        if report.new_article_ids and await self.planner.plan_instant(report.new_article_ids):
            self.sender.wake()
        await self.monitoring.after_poll(report, may_alert=self._holds("planner"))

    async def plan(self) -> None:
        """The plan job: plan the scheduled digests that are due, wake the sender."""
        if self._holds("planner") and await self.planner.plan_due():
            self.sender.wake()
        await self.monitoring.after_plan(may_alert=self._holds("planner"))

    async def prune(self) -> None:
        """The prune job: old articles and sources' leftovers, and handled updates."""
        if self._holds("planner"):
            await self.poller.prune()
            await self.store.inbox.prune(self.clock() - INBOX_KEEP)
            await self.store.leases.prune(utcnow() - HEARTBEATS_KEEP)

    async def beat(self) -> None:
        """The heartbeat job: this process and its roles are alive (``newsbot stats``)."""
        roles = ",".join(sorted(self.roles))
        await self.store.leases.beat(self.owner, roles, utcnow(), self._started_at)
        await self.monitoring.after_heartbeat()  # /healthz: a sender-only process ticks too

    async def tick(self) -> None:
        """Each job once, one after the other (tests drive the bot so)."""
        await self.poll()
        await self.plan()

    async def start(self, roles: frozenset[str] = frozenset(ROLES)) -> None:
        """Start the given roles: their jobs, leases and loops (application initialised)."""
        self.roles = roles
        if "poller" in roles:
            await self.poller.sync_sources()
        if "sender" in roles:
            await set_bot_commands(self.application.bot, self.settings.admin_ids, self.store.state)
        await self.monitoring.start()
        self._schedule_jobs(roles)
        await self.application.start()
        await self._start_leases(roles)
        log.info(
            "newsbot is running (%s): %s, %s",
            ", ".join(sorted(roles)),
            counted(len(self.settings.topics), "topic"),
            counted(len(self.settings.sources), "source"),
        )

    def _schedule_jobs(self, roles: frozenset[str]) -> None:
        jobs = self.application.job_queue
        assert jobs is not None, "python-telegram-bot[job-queue] is required"
        # Each job runs as its own task: a slow poll never holds back planning. A job
        # still running when its next run comes is skipped, not stacked (max_instances);
        # a run the busy loop made late still runs, once (coalesce, no misfire grace).
        # Skipped runs are harmless because due times live in the store.
        every = self.settings.tick_seconds
        if "poller" in roles:
            self._repeat(jobs, self.poll, every, first=0.1)
        if "planner" in roles:
            self._repeat(jobs, self.plan, every, first=0.1)
            self._repeat(jobs, self.prune, PRUNE_EVERY_SECONDS, first=60)
        self._repeat(jobs, self.beat, HEARTBEAT_SECONDS, first=0)  # stats: seen in a minute

    async def _start_leases(self, roles: frozenset[str]) -> None:
        """Take (or wait for) the one-at-a-time roles, and run their loops while held."""
        stop = self.stop_event
        leases = None if is_sqlite(self.store.engine) else self.store.leases
        names: list[str] = [name for name in ("planner", "sender") if name in roles]
        polls_telegram = "receiver" in roles and self.settings.webhook is None
        if polls_telegram:
            names.append("updates")  # long polling admits one consumer per token
        for name in names:
            duration = timedelta(seconds=self.settings.role_lease_seconds)
            lease = RoleLease(leases, name, self.owner, duration)
            await lease.try_once()  # held at once when free: jobs due now need not wait
            self._leases[name] = lease
            self._tasks[f"{name}-lease"] = asyncio.create_task(lease.keep(stop))
        if "sender" in roles:
            work = self._leases["sender"].run_while_held(stop, self._send_and_handle)
            self._tasks["sender"] = asyncio.create_task(work)
        if polls_telegram:
            work = self._leases["updates"].run_while_held(stop, self.receiver.run)
            self._tasks["receiver"] = asyncio.create_task(work)
        elif "receiver" in roles:
            await self._start_webhook(roles)

    async def _start_webhook(self, roles: frozenset[str]) -> None:
        """Webhook mode: serve Telegram's posts (any number of receivers, no lease)."""
        assert self.settings.webhook is not None
        wake = self.dispatcher.wake if "sender" in roles else None  # else the sender polls
        self.webhook = WebhookReceiver(
            self.settings.webhook,
            self.application.bot,
            self.store.inbox,
            per_chat_cap=self.settings.updates.per_chat_waiting_cap,
            wake=wake,
        )
        await self.webhook.start()

    async def _send_and_handle(self, until: asyncio.Event) -> None:
        """The sender role: handle the inbox's updates and send the outbox, one limiter."""
        await asyncio.gather(self.sender.run(until), self.dispatcher.run(until))

    def _holds(self, name: str) -> bool:
        lease = self._leases.get(name)
        return lease is None or lease.is_held  # no lease: driven by hand (tests, tools)

    async def stop(self) -> None:
        """Stop everything started by :meth:`start`, in reverse order."""
        self.stop_event.set()
        await self.monitoring.stop()
        if self.webhook is not None:  # requests in progress commit and answer first
            await self.webhook.stop()
        receiver = self._tasks.pop("receiver", None)
        if receiver is not None:  # it may sit in a long poll; what it stored stays stored
            receiver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await receiver
        for task in self._tasks.values():  # the dispatcher lets running handlers finish
            with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                await asyncio.wait_for(task, timeout=STOP_SECONDS)
        self._tasks.clear()
        if self.application.running:
            await self.application.stop()
        with contextlib.suppress(Exception):  # a clean stop leaves no stale heartbeat
            await self.store.leases.forget(self.owner)

    async def close(self) -> None:
        """Stop the parse workers, release the HTTP client and the database."""
        await self.poller.aclose()
        await self.fetcher.aclose()
        await self.store.close()

    @staticmethod
    def _repeat(
        jobs: JobQueue[ContextTypes.DEFAULT_TYPE],
        step: Callable[[], Awaitable[object]],
        seconds: float,
        *,
        first: float,
    ) -> None:
        async def callback(_context: ContextTypes.DEFAULT_TYPE) -> None:
            try:
                await step()
            except Exception:  # a failed run must never stop the next one
                log.exception("job %s failed", step.__qualname__)

        jobs.run_repeating(
            callback,
            interval=seconds,
            first=first,
            name=step.__qualname__,
            job_kwargs={"max_instances": 1, "coalesce": True, "misfire_grace_time": None},
        )


def build_application(
    settings: Settings,
    limiter: SendLimiter,
    request: BaseRequest | None = None,
    *,
    metrics: BotMetrics,
) -> Application:
    """The python-telegram-bot Application, pointed at ``telegram_api_url``.

    ``request`` replaces the HTTP layer (the offline shell answers in-process).
    """
    api = settings.telegram_api_url
    builder = (
        ApplicationBuilder()
        .token(settings.require_token())
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .rate_limiter(CountingRateLimiter(SharedRateLimiter(limiter), metrics))
        .updater(None)  # updates come through the inbox (bot.updates), not PTB's Updater
    )
    if request is not None:
        return builder.request(request).get_updates_request(request).build()
    return builder.build()  # replies only: the outbox workers have their own bots


def sender_bots(token: str, api_url: str) -> Callable[[], Bot]:
    """Makes each outbox worker's bot: PTB's HTTPXRequest with ONE connection (see Sender).

    The bots share one TLS context (each would load the CA bundle again, ~20 ms of CPU),
    and a bot's one request also serves getUpdates (never called): one client, not two.
    """
    tls = httpx.create_ssl_context()

    def worker_bot() -> Bot:
        request = HTTPXRequest(connection_pool_size=1, httpx_kwargs={"verify": tls})
        return Bot(token, base_url=f"{api_url}/bot", request=request, get_updates_request=request)

    return worker_bot


async def build_bot(
    settings: Settings,
    *,
    clock: Clock = utcnow,
    request: BaseRequest | None = None,
    resolve: Resolver | None = None,
) -> NewsBot:
    """Create the store, HTTP client, poller, planner, sender and PTB application.

    ``resolve`` replaces DNS for the fetcher (tests).
    """
    store = await open_store(settings.database_url, clock=clock)
    limiter = SendLimiter.from_settings(settings.delivery)
    metrics = BotMetrics(CollectorRegistry(), clock)  # one registry per bot, never the global one
    application = build_application(settings, limiter, request, metrics=metrics)
    limits = fetch_limits(settings.fetch)
    fetcher = Fetcher.create(limits, resolve)
    poller = Poller(store, fetcher, settings, clock, random.Random())
    planner = DigestPlanner(store, settings, clock)
    # host:pid:random: a container restarted keeps its host name and pid 1, and must not
    # pass for the process that held a lease or claimed messages before it.
    owner = f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"  # <= 64
    # The offline shell answers in-process: there the outbox goes through the application's bot.
    worker_bot = (
        None if request else sender_bots(settings.require_token(), settings.telegram_api_url)
    )
    sender = Sender(
        store,
        application.bot,
        limiter,
        settings.delivery,
        clock,
        owner,
        worker_bot=worker_bot,
        on_outcome=metrics.digest_outcome,
    )
    application.bot_data[SERVICES_KEY] = Services(
        settings=settings,
        store=store,
        clock=clock,
        planner=planner,
        wake_sender=sender.wake,
        feed_adder=FeedAdder(store, fetcher, poller, settings, clock),
    )
    register_handlers(application)
    monitoring = Monitoring.build(settings, store, metrics, application)
    dispatcher = UpdateDispatcher(
        application, store.inbox, concurrency=settings.updates.handler_concurrency
    )
    receiver = UpdateReceiver(
        application.bot,
        store.inbox,
        dispatcher.wake,
        per_chat_cap=settings.updates.per_chat_waiting_cap,
    )
    return NewsBot(
        settings,
        store,
        application,
        poller,
        planner,
        sender,
        fetcher,
        receiver,
        dispatcher,
        monitoring,
        clock,
        owner,
    )


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings,
    *,
    clock: Clock = utcnow,
    roles: frozenset[str] = frozenset(ROLES),
    resolve: Resolver | None = None,
) -> AsyncIterator[NewsBot]:
    """Build, start (the given roles), and on exit stop and close the bot (``run``, tests)."""
    newsbot = await build_bot(settings, clock=clock, resolve=resolve)
    try:
        async with newsbot.application:
            await newsbot.start(roles)
            try:
                yield newsbot
            finally:
                await newsbot.stop()
    finally:
        await newsbot.close()


async def run_until_stopped(settings: Settings, roles: frozenset[str] = frozenset(ROLES)) -> None:
    """``newsbot run``: run until Ctrl-C or SIGTERM, then stop cleanly."""
    async with running_bot(settings, roles=roles) as newsbot:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, newsbot.stop_event.set)
        await newsbot.stop_event.wait()
        log.info("stopping")


async def run_shell(
    settings: Settings,
    *,
    stdin: TextIO | None = None,
    stdout: TextIO | None = None,
    clock: Clock = utcnow,
    samples: bool = False,
) -> int:
    """``newsbot shell``: the same wiring as ``run``, with the console as Telegram.

    Nothing starts in the background: after each input the console plans and
    sends once, so every step happens in the order the user typed. The stories
    are the configured database's recent ones (copied, never written back), or
    the bundled samples when it has none or ``samples`` is set.
    """
    from bot.shell import Console, ShellBot  # only the shell command needs the console

    console = Console(stdin, stdout, clock)
    with console.offline(settings) as offline:
        newsbot = await build_bot(offline, clock=clock, request=console.request)

        async def deliver() -> None:
            await newsbot.planner.plan_due()
            await newsbot.sender.drain()

        topic_ids = [topic.id for topic in offline.topics]
        try:
            async with newsbot.application:
                return await console.run(
                    ShellBot(
                        newsbot.application,
                        newsbot.store,
                        topic_ids,
                        deliver,
                        database_url=None if samples else settings.database_url,
                    )
                )
        finally:
            await newsbot.close()
