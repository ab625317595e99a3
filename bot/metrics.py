"""The bot's Prometheus metrics, and the small hooks that feed them.

One :class:`BotMetrics` per bot, on its own ``CollectorRegistry`` (built by
``bot.app``), never prometheus_client's global default registry: a test (or
the shell) may build several bots in one process. Everything is counted where
its outcome is decided, through one call each:

- updates handled: a handler in group -1 of the application (:meth:`BotMetrics.watch_updates`);
- replies by outcome: :class:`CountingRateLimiter` around the application's rate
  limiter, which every reply passes (the outcome named as the outbox names it);
- digest messages by outcome, 429s, flood-wait seconds, digest lag: the Sender's
  ``on_outcome`` hook (:meth:`BotMetrics.digest_outcome`);
- source fetches by outcome and duration, articles stored: each poll cycle's report.

What lives in the store (outbox depth and oldest age, the flood wait now, the
articles kept) is read when /metrics is asked for (``bot.monitoring``).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from telegram import Update
from telegram.ext import Application, BaseRateLimiter, ContextTypes, TypeHandler

from bot.clock import Clock
from bot.delivery.failures import SENT, Outcome, OutcomeKind, classify_send_error
from bot.delivery.ptb_limiter import ALREADY_PACED
from bot.sources.poll_results import CycleReport
from bot.store.records import Delivery

# The Bot API methods that write a message or change one: what "a reply" is.
REPLY_METHODS = frozenset({"sendMessage", "editMessageText", "editMessageReplyMarkup"})
_FETCH_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0)
_LAG_BUCKETS = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 4 * 3600.0)

ApiResult = bool | dict[str, Any] | list[dict[str, Any]]


class BotMetrics:
    """Every series of ``/metrics``, registered on ``registry``."""

    def __init__(self, registry: CollectorRegistry, clock: Clock) -> None:
        self.registry = registry
        self.clock = clock
        self._delivered: dict[int, datetime] = {}  # digest id -> when its last part was sent
        r = registry
        self.updates = Counter("newsbot_updates", "Telegram updates handled", registry=r)
        self.replies = Counter(
            "newsbot_replies", "Replies sent to chats, by outcome", ["outcome"], registry=r
        )
        self.digest_messages = Counter(
            "newsbot_digest_messages",
            "Digest messages (outbox parts) sent to Telegram, by outcome",
            ["outcome"],
            registry=r,
        )
        self.flood_waits = Counter(
            "newsbot_flood_waits",
            "429 Too Many Requests answers, by what was being sent (digest or reply)",
            ["origin"],
            registry=r,
        )
        self.flood_wait_seconds = Counter(
            "newsbot_flood_wait_seconds", "Seconds of flood wait Telegram asked for", registry=r
        )
        self.flood_wait_remaining = Gauge(
            "newsbot_flood_wait_remaining_seconds",
            "How long sending stays paused by a flood wait (0: not paused)",
            registry=r,
        )
        self.outbox_depth = Gauge(
            "newsbot_outbox_depth", "Messages waiting for delivery", registry=r
        )
        self.outbox_oldest_age = Gauge(
            "newsbot_outbox_oldest_age_seconds",
            "Age of the oldest message waiting for delivery (0: none waits)",
            registry=r,
        )
        self.source_fetches = Counter(
            "newsbot_source_fetches",
            "Source polls by outcome (new, updated, unchanged, not_modified, failed)",
            ["outcome"],
            registry=r,
        )
        self.source_fetch_duration = Histogram(
            "newsbot_source_fetch_duration_seconds",
            "How long polling one source took",
            buckets=_FETCH_BUCKETS,
            registry=r,
        )
        self.articles_stored = Counter("newsbot_articles_stored", "New articles stored", registry=r)
        self.articles = Gauge("newsbot_articles", "Articles kept in the store", registry=r)
        self.digest_lag = Histogram(
            "newsbot_digest_lag_seconds",
            "From a digest's due time (its slot, else when it was planned) to its last part sent",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.last_tick = Gauge(
            "newsbot_last_tick_timestamp_seconds", "When a scheduler job last ran", registry=r
        )

    # ---- hooks -------------------------------------------------------------------------

    def watch_updates(self, application: Application) -> None:
        """Count every update the application handles (group -1 runs before all others)."""

        async def count(_update: object, _context: ContextTypes.DEFAULT_TYPE) -> None:
            self.updates.inc()

        application.add_handler(TypeHandler(Update, count), group=-1)

    def digest_outcome(self, part: Delivery, outcome: Outcome) -> None:
        """The Sender's hook: one attempt to send one digest part, and what came of it."""
        self.digest_messages.labels(outcome.kind.value).inc()
        if outcome.kind is OutcomeKind.RETRY_AFTER:
            self.flood_wait(outcome, origin="digest")
        elif outcome.kind is OutcomeKind.SENT and part.part_no == part.part_count:
            self._delivered[part.digest_id] = self.clock()

    def reply_outcome(self, outcome: Outcome) -> None:
        """One reply (or edit) to a chat, and what came of it."""
        self.replies.labels(outcome.kind.value).inc()
        if outcome.kind is OutcomeKind.RETRY_AFTER:
            self.flood_wait(outcome, origin="reply")

    def flood_wait(self, outcome: Outcome, *, origin: str) -> None:
        """A 429: count it and the seconds Telegram asked for."""
        self.flood_waits.labels(origin).inc()
        self.flood_wait_seconds.inc(outcome.retry_after_seconds)

    def poll_cycle(self, report: CycleReport) -> None:
        """A poll cycle's results: each source's outcome and duration, the new articles."""
        for result in report.results:
            self.source_fetches.labels(result.status).inc()
            self.source_fetch_duration.observe(result.seconds)
            self.articles_stored.inc(result.new)

    def tick(self) -> None:
        """A scheduler job ran."""
        self.last_tick.set(self.clock().timestamp())

    def take_delivered(self) -> dict[int, datetime]:
        """Digests fully sent since the last call (id -> when), for the lag histogram."""
        delivered, self._delivered = self._delivered, {}
        return delivered

    def page(self) -> tuple[bytes, str]:
        """The Prometheus text page and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class CountingRateLimiter(BaseRateLimiter[str]):
    """The application's rate limiter, wrapped: every reply's outcome is counted.

    The outbox Sender's own sends (``ALREADY_PACED``) are digest messages, counted by
    the Sender; reads and other calls are not replies. Failures are named by
    :func:`~bot.delivery.failures.classify_send_error`, as the outbox names them.
    """

    def __init__(self, inner: BaseRateLimiter[str], metrics: BotMetrics) -> None:
        self._inner = inner
        self._metrics = metrics

    async def initialize(self) -> None:
        """Set up the wrapped limiter."""
        await self._inner.initialize()

    async def shutdown(self) -> None:
        """Shut down the wrapped limiter."""
        await self._inner.shutdown()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, ApiResult]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: str | None,
    ) -> ApiResult:
        """Make the call through the wrapped limiter; count it when it is a reply."""
        request = self._inner.process_request(
            callback, args, kwargs, endpoint, data, rate_limit_args
        )
        if endpoint not in REPLY_METHODS or rate_limit_args == ALREADY_PACED:
            return await request
        try:
            result = await request
        except Exception as err:
            self._metrics.reply_outcome(classify_send_error(err))
            raise
        self._metrics.reply_outcome(SENT)
        return result
