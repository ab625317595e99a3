"""Deliver the outbox: claim digests, send their parts in order, record what happened.

Protocol per part (docs/design.md, "The outbox"):

1. ``claim`` leases whole digests and commits before any network call;
2. the shared :class:`SendLimiter` grants a slot, then 'sending' is
   committed, then ``sendMessage`` goes out. Marking after the wait (not
   before) keeps the ambiguous window to the parts actually on the wire: a
   crash leaves at most one 'sending' part per busy worker, not one per
   waiting worker. A commit slower than 10 ms takes a fresh slot, so the
   spacing Telegram sees stays within the limiter's headroom;
3. 'sent' stores Telegram's message id; any failure becomes an
   :class:`~bot.delivery.failures.Outcome` and is acted on in ONE place,
   :meth:`Sender._settle`.

Group commit: the 'sending' and 'sent' marks of all workers go through one
:class:`~bot.delivery.group_commit.GroupCommit`, which writes whatever is
queued in one transaction. A worker waits for its 'sending' commit before it
sends, but not for 'sent': that is committed with or before the worker's next
'sending', and before :meth:`Sender.drain` returns (see that module for the
budget line it serves and the ambiguous window it leaves).

Pacing: the Sender acquires the limiter itself (it needs to, to bound the wait
and to see pauses) and marks its own ``send_message`` calls with
:data:`~bot.delivery.ptb_limiter.ALREADY_PACED`, so a bot built with
:class:`~bot.delivery.ptb_limiter.SharedRateLimiter` does not count them twice.

Concurrency: ``settings.concurrency`` workers take digests from one queue; the
parts of a digest go strictly in order on one worker, and the digests of one
chat claimed together go on the same worker.

Per-worker bots, kept for the budget line "delivery: limits off, >= 1,000
msg/s in one process": given ``worker_bot`` (the running bot passes
:func:`bot.app.sender_bots`), each worker sends through its own ``Bot`` with a
one-connection pool, made on first use and closed by :meth:`Sender.aclose`
(``run`` does so when it ends). httpcore's pool does work per request that
grows with its connections; one shared pool for all workers halves the rate.
Replies keep the application's bot. Without ``worker_bot`` (the offline
shell, tests) every worker sends through ``bot``.

A flood wait (429) on a digest message pauses the limiter's digest traffic
(``pause_bulk``), is stored in ``bot_state`` (``SENDING_PAUSED_UNTIL``) for
``newsbot stats`` and for a restart, and stops this Sender from claiming until
it ends. Commands keep being answered at the paced rate: the pause only stops
the outbox (a 429 on a reply pauses replies too, see ``ptb_limiter``).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import telegram
from telegram.constants import ParseMode
from telegram.ext import ExtBot

from bot.clock import Clock, wait_any
from bot.delivery.failures import SENT, Outcome, OutcomeKind, classify_send_error
from bot.delivery.group_commit import GroupCommit
from bot.delivery.limiter import SendLimiter
from bot.delivery.ptb_limiter import ALREADY_PACED
from bot.settings import DeliverySettings
from bot.store import Store
from bot.store.engine import is_sqlite
from bot.store.records import Delivery
from bot.store.state import SENDING_PAUSED_UNTIL

log = logging.getLogger(__name__)

CLAIM_DIGESTS = 100
POLL_SECONDS = 5.0
FATAL_BACKOFF_SECONDS = 60.0
BACKOFF_BASE_SECONDS = 2.0
BACKOFF_MAX_SECONDS = 900.0
# Backed-off attempts (not sent, server error) before a part and the rest of its
# digest fail: 2 s doubling to 15 min is about 77 minutes of trying, longer than
# Telegram's usual outages, short enough that a digest does not arrive stale.
MAX_ATTEMPTS = 14
# A 'sending' commit slower than this makes the limiter's slot stale (see _mark_sending).
MAX_COMMIT_DELAY_SECONDS = 0.010

Digest = list[Delivery]


@dataclass(frozen=True, slots=True)
class SendReport:
    """What one :meth:`Sender.drain` did; ``retried`` counts parts put back for later."""

    sent: int = 0
    failed: int = 0
    unknown: int = 0
    retried: int = 0
    paused: bool = False
    fatal: bool = False


@dataclass(slots=True)
class _Tally:
    """The mutable counters behind a SendReport (one drain, all workers)."""

    sent: int = 0
    failed: int = 0
    unknown: int = 0
    retried: int = 0

    def freeze(self, *, paused: bool, fatal: bool) -> SendReport:
        return SendReport(self.sent, self.failed, self.unknown, self.retried, paused, fatal)


class Sender:
    """Sends outbox digests to Telegram through the one process-wide limiter."""

    def __init__(
        self,
        store: Store,
        bot: telegram.Bot,
        limiter: SendLimiter,
        settings: DeliverySettings,
        clock: Clock,
        owner: str,
        *,
        worker_bot: Callable[[], telegram.Bot] | None = None,
        on_outcome: Callable[[Delivery, Outcome], None] | None = None,  # metrics (bot.metrics)
    ) -> None:
        self._store = store
        self._bot = bot
        self._limiter = limiter
        self._settings = settings
        self._clock = clock
        self._owner = owner
        self._wake = asyncio.Event()
        self._pause_until: datetime | None = None
        self._pause_loaded = False
        self._until: asyncio.Event | None = None  # run()'s stop: no new claims once set
        self._fatal: Outcome | None = None
        # A claimed digest must go well within its lease; a part that would wait
        # longer for a slot (a flood pause can last hours) is given back instead.
        self._max_slot_wait = max(1.0, min(60.0, settings.lease_seconds / 3))
        self._send_message = _send_message_of(bot)
        self._worker_bot = worker_bot
        self._worker_bots: list[telegram.Bot] = []
        self._on_outcome = on_outcome
        # On SQLite the marks take the store's one write turn (Store.write_turn).
        self._write_turn: contextlib.AbstractAsyncContextManager[object] = (
            store.write_turn if is_sqlite(store.engine) else contextlib.nullcontext()
        )
        self._marks = GroupCommit(store.outbox, owner, self._write_turn)

    # ---- public ------------------------------------------------------------------------

    def wake(self) -> None:
        """New work was enqueued: start a drain now instead of at the next poll."""
        self._wake.set()

    async def drain(self) -> SendReport:
        """Claim and send until nothing is ready, a flood wait pauses sending, or a fatal error."""
        await self._load_pause()
        tally = _Tally()
        # Rounds until one claims nothing: parts that became ready during a round
        # (a migrated chat's part, a short pause that ended) go in the next one.
        while self._fatal is None and not self.is_paused() and not self._stopping():
            if not await self._run_workers(tally):
                break
        return tally.freeze(paused=self.is_paused(), fatal=self._fatal is not None)

    async def run(self, stop: asyncio.Event) -> None:
        """Drain, then wait for :meth:`wake`, the end of a pause or a short poll; until ``stop``.

        Expired leases (of a crashed process) are reaped at start and every half lease.
        """
        self._until = stop
        loop = asyncio.get_running_loop()
        next_reap = loop.time()
        try:
            while not stop.is_set():
                self._wake.clear()
                if loop.time() >= next_reap:
                    await self._guarded(self.reap())
                    next_reap = loop.time() + self._settings.lease_seconds / 2
                await self._guarded(self._drain_and_log())
                await wait_any(stop, self._wake, self._idle_seconds())
                self._fatal = None  # a fatal error (bad token) is retried after a long wait
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        """Close the workers' own HTTP pools; the next drain opens new ones."""
        bots, self._worker_bots = self._worker_bots, []
        await asyncio.gather(*(bot.request.shutdown() for bot in bots))

    async def _drain_and_log(self) -> None:
        report = await self.drain()
        if report.sent or report.failed or report.unknown:
            log.info(
                "delivery: %d sent, %d failed, %d unknown, %d retried",
                report.sent,
                report.failed,
                report.unknown,
                report.retried,
            )

    @staticmethod
    async def _guarded(step: Awaitable[None]) -> None:
        """Run one step of the loop; a database hiccup is logged, the loop goes on."""
        try:
            await step
        except Exception:
            log.exception("delivery loop step failed; retrying at the next poll")

    async def reap(self) -> None:
        """Expire stale leases (crashed or stuck senders): leased -> pending, sending -> unknown."""
        back, lost = await self._store.outbox.reap(
            self._clock(), resend_unknown=self._settings.resend_unknown
        )
        if back or lost:
            log.warning("reaped expired leases: %d back to pending, %d in flight", back, lost)

    def _stopping(self) -> bool:
        return self._until is not None and self._until.is_set()

    def is_paused(self) -> bool:
        """True while a flood wait holds sending back."""
        if self._limiter.paused_until() is not None:
            return True
        return self._pause_until is not None and self._pause_until > self._clock()

    # ---- workers -----------------------------------------------------------------------

    async def _run_workers(self, tally: _Tally) -> int:
        """One round: claim and send until a claim comes back empty; returns digests claimed."""
        queue: asyncio.Queue[list[Digest] | None] = asyncio.Queue(self._settings.concurrency * 2)
        workers = [asyncio.create_task(self._worker(queue, tally, send)) for send in self._sends()]
        try:
            return await self._feed(queue)
        finally:
            for _ in workers:
                await queue.put(None)
            await asyncio.gather(*workers)
            await self._marks.settled()

    def _sends(self) -> list[_SendMessage]:
        """One ``send_message`` per worker: its own bot's, or the shared bot's."""
        if self._worker_bot is None:
            return [self._send_message] * self._settings.concurrency
        while len(self._worker_bots) < self._settings.concurrency:
            self._worker_bots.append(self._worker_bot())
        return [_send_message_of(bot) for bot in self._worker_bots]

    async def _feed(self, queue: asyncio.Queue[list[Digest] | None]) -> int:
        """Claim batches while there is work and no pause; one queue item per chat."""
        claimed_count = 0
        # Stopping (or the sender lease lost): what is claimed is sent, nothing more is
        # claimed, so a standby taking over never sends beside this one for long.
        while self._fatal is None and not self.is_paused() and not self._stopping():
            async with self._write_turn:
                claimed = await self._store.outbox.claim(
                    self._owner,
                    now=self._clock(),
                    lease_seconds=self._settings.lease_seconds,
                    max_digests=CLAIM_DIGESTS,
                )
            if not claimed:
                break
            claimed_count += len(claimed)
            for chat_digests in _by_chat(claimed):
                await queue.put(chat_digests)
        return claimed_count

    async def _worker(
        self, queue: asyncio.Queue[list[Digest] | None], tally: _Tally, send: _SendMessage
    ) -> None:
        while (chat_digests := await queue.get()) is not None:
            for digest in chat_digests:
                try:
                    await self._send_digest(digest, tally, send)
                except Exception:
                    # The digest keeps its lease; the reaper returns it after expiry.
                    log.exception("delivery of digest %s failed", digest[0].digest_id)

    async def _send_digest(self, digest: Digest, tally: _Tally, send: _SendMessage) -> None:
        """Send the parts in order; stop (giving the rest back) when a part cannot go now."""
        for part in digest:
            if self._fatal is not None or self.is_paused() or not await self._take_slot(part):
                await self._give_back(part.digest_id, self._later())
                return
            is_ours, slot_is_stale = await self._mark_sending(part)
            if not is_ours:
                log.warning("lost the lease on delivery %s; skipping its digest", part.id)
                return
            outcome, message_id = await self._attempt(part, send, repace=slot_is_stale)
            if not await self._settle(part, outcome, message_id, tally):
                return

    async def _take_slot(self, part: Delivery) -> bool:
        """Wait for the limiter, at most ``_max_slot_wait`` (a flood pause can last hours)."""
        is_group = part.chat_kind != "private"
        try:
            async with asyncio.timeout(self._max_slot_wait):  # no extra task, unlike wait_for
                await self._limiter.acquire_slot(part.telegram_id, is_group=is_group)
        except TimeoutError:
            return False
        return True

    async def _mark_sending(self, part: Delivery) -> tuple[bool, bool]:
        """Commit 'sending' AFTER the slot is granted: only parts on the wire are ambiguous.

        Returns (still ours, slot is stale). A slow commit makes the granted slot
        stale: the caller takes another so the spacing Telegram sees stays
        within the limiter's headroom.
        """
        started = time.monotonic()
        is_ours = await self._marks.sending(part.id)
        return is_ours, time.monotonic() - started > MAX_COMMIT_DELAY_SECONDS

    async def _attempt(
        self, part: Delivery, send: _SendMessage, *, repace: bool
    ) -> tuple[Outcome, int | None]:
        """Send one part (taking a fresh slot first if told); failures become Outcomes."""
        if repace and not await self._take_slot(part):
            return Outcome(OutcomeKind.NOT_SENT, reason="no send slot in time"), None
        preview = telegram.LinkPreviewOptions(is_disabled=part.disable_preview)
        try:
            async with self._limiter.sending():  # counts in Telegram's window until answered
                message = await send(
                    part.telegram_id,
                    part.text,
                    parse_mode=ParseMode.HTML,
                    message_thread_id=part.thread_id or None,
                    link_preview_options=preview,
                    reply_markup=_keyboard(part.buttons),
                )
        except Exception as err:  # classify_send_error decides what each failure means
            return classify_send_error(err), None
        return SENT, message.message_id

    # ---- outcomes: the one place that acts on them --------------------------------------

    async def _settle(
        self, part: Delivery, outcome: Outcome, message_id: int | None, tally: _Tally
    ) -> bool:
        """Record the outcome of one attempt; True when the digest's next part may go."""
        if self._on_outcome is not None:
            self._on_outcome(part, outcome)
        outbox = self._store.outbox
        kind = outcome.kind
        if kind is OutcomeKind.SENT:
            self._marks.sent(part.id, message_id or 0)  # committed before its next 'sending'
            tally.sent += 1
            return True
        if kind is OutcomeKind.BAD_REQUEST:
            log.error(
                "delivery %s to chat %s rejected: %s",
                part.id,
                part.telegram_id,
                outcome.reason,
                extra=_log_ids(part),
            )
            await outbox.mark_failed(part.id, self._owner, outcome.reason)
            tally.failed += 1
            return True
        if kind is OutcomeKind.AMBIGUOUS and not self._settings.resend_unknown:
            log.warning(
                "delivery %s may or may not have arrived: %s",
                part.id,
                outcome.reason,
                extra=_log_ids(part),
            )
            await outbox.mark_unknown(part.id, self._owner, outcome.reason)
            tally.unknown += 1
            return True
        if outcome.subscriber_gone:
            tally.failed += await self._chat_gone(part, outcome)
            return False
        await self._retry(part, outcome, tally)
        return False

    async def _retry(self, part: Delivery, outcome: Outcome, tally: _Tally) -> None:
        """Put the part (and the rest of its digest, same time, so order holds) back."""
        if _backs_off(outcome) and part.attempts + 1 >= MAX_ATTEMPTS:  # this one included
            tally.failed += await self._give_up(part, outcome)
            return
        at = await self._retry_at(part, outcome)
        await self._store.outbox.retry_later(part.id, self._owner, at, outcome.reason)
        await self._give_back(part.digest_id, at)
        tally.retried += 1
        if at <= self._clock():
            self.wake()

    async def _retry_at(self, part: Delivery, outcome: Outcome) -> datetime:
        now = self._clock()
        kind = outcome.kind
        if kind is OutcomeKind.RETRY_AFTER:
            return await self._pause(outcome.retry_after_seconds, outcome.reason)
        if kind is OutcomeKind.MIGRATED and outcome.new_chat_id is not None:
            moved = await self._store.chats.migrate(part.telegram_id, outcome.new_chat_id)
            log.info(
                "chat %s migrated to %s (%d rows)", part.telegram_id, outcome.new_chat_id, moved
            )
            return now
        if kind is OutcomeKind.FATAL:
            self._fatal_error(outcome)
            return now + timedelta(seconds=FATAL_BACKOFF_SECONDS)
        # NOT_SENT, SERVER_ERROR, AMBIGUOUS with resend_unknown, or anything else: back off.
        attempts = part.attempts + 1
        delay = min(BACKOFF_BASE_SECONDS * 2 ** (attempts - 1), BACKOFF_MAX_SECONDS)
        log.info(
            "delivery %s retried in %.0f s: %s",
            part.id,
            delay,
            outcome.reason,
            extra=_log_ids(part),
        )
        return max(now + timedelta(seconds=delay), self._resume_at())

    async def _give_up(self, part: Delivery, outcome: Outcome) -> int:
        """Too many attempts: fail the part and the rest of its digest (order must hold)."""
        reason = f"gave up after {part.attempts + 1} attempts: {outcome.reason}"
        log.error(
            "delivery %s to chat %s failed: %s",
            part.id,
            part.telegram_id,
            reason,
            extra=_log_ids(part),
        )
        await self._store.outbox.mark_failed(part.id, self._owner, reason)
        return 1 + await self._store.outbox.fail_digest(self._owner, part.digest_id, reason)

    async def _chat_gone(self, part: Delivery, outcome: Outcome) -> int:
        """The bot cannot write there: deactivate the chat row and fail what it still has."""
        log.warning(
            "chat %s unreachable (%s): deactivated",
            part.telegram_id,
            outcome.reason,
            extra=_log_ids(part),
        )
        await self._store.outbox.mark_failed(part.id, self._owner, outcome.reason)
        await self._store.chats.update(part.chat_id, is_active=False)
        return 1 + await self._store.outbox.fail_chat(part.chat_id, outcome.reason)

    def _fatal_error(self, outcome: Outcome) -> None:
        if self._fatal is None:
            log.error("sending stopped: %s (check the token and that one bot runs)", outcome.reason)
        self._fatal = outcome

    # ---- flood waits ---------------------------------------------------------------------

    async def _pause(self, seconds: float, reason: str) -> datetime:
        """Pause all sending for ``seconds``; stored so stats and a restart see it."""
        until = self._clock() + timedelta(seconds=seconds)
        was_paused = self.is_paused()
        self._limiter.pause_bulk(seconds)
        if self._pause_until is None or until > self._pause_until:
            self._pause_until = until
            await self._store.state.set_time(SENDING_PAUSED_UNTIL, until)
        if not was_paused:
            log.warning("Telegram flood wait: sending paused until %s (%s)", until, reason)
        return self._pause_until

    async def _load_pause(self) -> None:
        """Honour a flood wait stored by an earlier run (once per Sender)."""
        if self._pause_loaded:
            return
        self._pause_loaded = True
        stored = await self._store.state.get_time(SENDING_PAUSED_UNTIL)
        remaining = (stored - self._clock()).total_seconds() if stored else 0.0
        if stored is not None and remaining > 0:
            self._pause_until = stored
            self._limiter.pause_bulk(remaining)
            log.warning("resuming a stored flood wait: sending paused until %s", stored)

    def _later(self) -> datetime:
        """When to retry parts that found no slot: when the pause ends, or a little later."""
        if self.is_paused():
            return self._resume_at()
        return self._clock() + timedelta(seconds=self._max_slot_wait)

    def _resume_at(self) -> datetime:
        now = self._clock()
        return max(self._pause_until, now) if self._pause_until else now

    def _idle_seconds(self) -> float:
        if self._fatal is not None:
            return FATAL_BACKOFF_SECONDS
        if self.is_paused():
            return max(0.05, (self._resume_at() - self._clock()).total_seconds())
        return POLL_SECONDS

    async def _give_back(self, digest_id: int, at: datetime) -> None:
        await self._store.outbox.release(self._owner, digest_id, at)


class _SendMessage(Protocol):
    """The part of ``Bot.send_message`` the Sender uses."""

    def __call__(
        self,
        chat_id: int,
        text: str,
        *,
        parse_mode: str,
        message_thread_id: int | None,
        link_preview_options: telegram.LinkPreviewOptions,
        reply_markup: telegram.InlineKeyboardMarkup | None,
    ) -> Awaitable[telegram.Message]: ...


def _keyboard(buttons: str | None) -> telegram.InlineKeyboardMarkup | None:
    """A part's stored inline keyboard (Bot API JSON, see ``Part.buttons``), or None."""
    if not buttons:
        return None
    rows = json.loads(buttons)["inline_keyboard"]
    return telegram.InlineKeyboardMarkup(
        [[telegram.InlineKeyboardButton(**button) for button in row] for row in rows]
    )


def _send_message_of(bot: telegram.Bot) -> _SendMessage:
    """``bot.send_message``, marked as already paced when the bot has a rate limiter.

    The Sender takes its limiter slot itself; a bot built with
    :class:`~bot.delivery.ptb_limiter.SharedRateLimiter` must not count the part again
    (and an ExtBot without a rate limiter refuses ``rate_limit_args``).
    """
    if isinstance(bot, ExtBot) and bot.rate_limiter is not None:
        return functools.partial(bot.send_message, rate_limit_args=ALREADY_PACED)
    return bot.send_message


def _backs_off(outcome: Outcome) -> bool:
    """True for outcomes retried with growing backoff (they count towards MAX_ATTEMPTS)."""
    return outcome.kind not in (
        OutcomeKind.RETRY_AFTER,
        OutcomeKind.MIGRATED,
        OutcomeKind.FATAL,
    )


def _by_chat(digests: Sequence[Digest]) -> list[list[Digest]]:
    """Group claimed digests by chat, keeping claim order (one worker per chat)."""
    grouped: dict[int, list[Digest]] = {}
    for digest in digests:
        if digest:
            grouped.setdefault(digest[0].chat_id, []).append(digest)
    return list(grouped.values())


def _log_ids(part: Delivery) -> dict[str, int]:
    """The ids a JSON log line carries for one outbox part (Telegram's chat id)."""
    return {"chat_id": part.telegram_id, "delivery_id": part.id, "digest_id": part.digest_id}
