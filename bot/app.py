"""The composition root: builds and wires everything, and runs it.

Data flows one way: sources -> store -> digest -> delivery -> Telegram; the
chat handlers write subscriptions. Polling, planning and sending are
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
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TextIO

import httpx
from telegram import Bot, Update
from telegram.ext import Application, ApplicationBuilder, ContextTypes, JobQueue
from telegram.request import BaseRequest, HTTPXRequest

from bot.chat.feed_adder import FeedAdder
from bot.chat.routes import register_handlers, set_bot_commands
from bot.clock import Clock, utcnow
from bot.delivery.limiter import SendLimiter
from bot.delivery.ptb_limiter import SharedRateLimiter
from bot.delivery.sender import Sender
from bot.digest.planner import DigestPlanner
from bot.services import SERVICES_KEY, Services
from bot.settings import Settings
from bot.sources.fetcher import Fetcher, Resolver
from bot.sources.poller import Poller, fetch_limits
from bot.store import Store, open_store

log = logging.getLogger(__name__)

PRUNE_EVERY_SECONDS = 3600.0


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
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    _sender_task: asyncio.Task[None] | None = None

    async def poll(self) -> None:
        """The poll job: poll due sources, give instant chats the new stories, wake the sender."""
        report = await self.poller.tick()
        if report.new_article_ids and await self.planner.plan_instant(report.new_article_ids):
            self.sender.wake()

    async def plan(self) -> None:
        """The plan job: plan the scheduled digests that are due, wake the sender."""
        if await self.planner.plan_due():
            self.sender.wake()

    async def tick(self) -> None:
        """Each job once, one after the other (tests drive the bot so)."""
        await self.poll()
        await self.plan()

    async def start(self) -> None:
        """Start polling Telegram, the ticks and the sender (application initialised)."""
        await self.poller.sync_sources()
        await set_bot_commands(self.application.bot)
        jobs = self.application.job_queue
        assert jobs is not None, "python-telegram-bot[job-queue] is required"
        # Each job runs as its own task: a slow poll never holds back planning. A job
        # still running when its next run comes is skipped, not stacked (max_instances);
        # a run the busy loop made late still runs, once (coalesce, no misfire grace).
        # Skipped runs are harmless because due times live in the store.
        every = self.settings.tick_seconds
        self._repeat(jobs, self.poll, every, first=0.1)
        self._repeat(jobs, self.plan, every, first=0.1)
        self._repeat(jobs, self.poller.prune, PRUNE_EVERY_SECONDS, first=60)
        self._sender_task = asyncio.create_task(self.sender.run(self.stop_event))
        assert self.application.updater is not None
        await self.application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
        await self.application.start()
        log.info(
            "newsbot is running: %d topics, %d sources",
            len(self.settings.topics),
            len(self.settings.sources),
        )

    async def stop(self) -> None:
        """Stop everything started by :meth:`start`, in reverse order."""
        self.stop_event.set()
        assert self.application.updater is not None
        if self.application.updater.running:
            await self.application.updater.stop()
        if self.application.running:
            await self.application.stop()
        if self._sender_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._sender_task, timeout=10)

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
    settings: Settings, limiter: SendLimiter, request: BaseRequest | None = None
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
        .rate_limiter(SharedRateLimiter(limiter))
        .concurrent_updates(True)
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
    application = build_application(settings, limiter, request)
    limits = fetch_limits(settings.fetch)
    fetcher = Fetcher.create(limits, resolve)
    poller = Poller(store, fetcher, settings, clock, random.Random())
    planner = DigestPlanner(store, settings, clock)
    owner = f"{socket.gethostname()}:{os.getpid()}"
    # The offline shell answers in-process: there the outbox goes through the application's bot.
    worker_bot = (
        None if request else sender_bots(settings.require_token(), settings.telegram_api_url)
    )
    sender = Sender(
        store, application.bot, limiter, settings.delivery, clock, owner, worker_bot=worker_bot
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
    return NewsBot(settings, store, application, poller, planner, sender, fetcher)


@contextlib.asynccontextmanager
async def running_bot(
    settings: Settings, *, clock: Clock = utcnow, resolve: Resolver | None = None
) -> AsyncIterator[NewsBot]:
    """Build, start, and on exit stop and close the bot (used by ``run`` and tests)."""
    newsbot = await build_bot(settings, clock=clock, resolve=resolve)
    try:
        async with newsbot.application:
            await newsbot.start()
            try:
                yield newsbot
            finally:
                await newsbot.stop()
    finally:
        await newsbot.close()


async def run_until_stopped(settings: Settings) -> None:
    """``newsbot run``: run until Ctrl-C or SIGTERM, then stop cleanly."""
    async with running_bot(settings) as newsbot:
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
) -> int:
    """``newsbot shell``: the same wiring as ``run``, with the console as Telegram.

    Nothing starts in the background: after each input the console plans and
    sends once, so every step happens in the order the user typed.
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
                    ShellBot(newsbot.application, newsbot.store, topic_ids, deliver)
                )
        finally:
            await newsbot.close()
