"""The one send limiter of the process: paces messages to stay under Telegram's flood limits.

Four limits hold at once (Telegram's Bots FAQ):

* **Overall**: messages are spaced by at least ``1 / (per_second * 0.98)`` seconds.
  Even spacing, no burst: any 1 s window holds at most ``ceil(0.98 * per_second)``
  sends (30 at 30/s), and 2 % headroom leaves ~20 ms for network jitter, while the
  throughput stays at 98 % of ``per_second``.
* **Per chat** (private and group): at most ``private_burst`` messages in any
  ``private_burst * private_interval_seconds`` window. The default burst of 2 lets
  the two parts of a typical digest go back to back, averages 1 message/s, and can
  never put 3 messages into any 1 s window (a third one waits 2 s after the first).
* **Per group** (also): at most ``group_per_minute`` messages in any 61 s window
  (60 s plus a 1 s margin against clock skew between us and Telegram).
* **Telegram's window, counted until the answer**: a message may go only while
  fewer than ``floor(per_second)`` messages (30 at 30/s) are unanswered or were
  answered less than 1 s ago. Telegram counts *arrivals* in any 1 s, and a
  message arrives somewhere between our send and its answer, so a send that
  starts 1 s after the 30th-last answer can never be the 31st in any of
  Telegram's windows, however late a request leaves us or however long it
  waits in a queue on the way. (Counting send times instead, even with a
  20 ms margin, let a 429 through when one request was delayed more than the
  margin on a loaded machine.) Even spacing alone also assumes every message
  leaves on time; this window catches the ones that crowd together after a
  delay. While the round trip is under the spacing headroom (20 ms at 30/s)
  it never holds an on-time send. The send itself goes inside
  ``async with limiter.sending():``, after :meth:`SendLimiter.acquire_slot`.

How waiting works: ``acquire_slot`` *reserves* the earliest slot that satisfies all
limits and sleeps until it, so callers are served first come, first served, a
waiter sleeps exactly once (no polling), and a caller held back by its own chat
never holds back other chats (they take the free slots before it). A cancelled
waiter gives its slot back. A pause moves the reservations it covers behind it:
a waiter that wakes inside a pause reserves again. Two kinds: ``pause_bulk``
(a 429 on a digest message) holds back only bulk traffic (``bulk=True``), so
replies keep flowing at the paced rate while Telegram accepts them;
``pause_all`` (a 429 on a reply) holds back everything.

One limiter per process and per event loop; it is not thread-safe. Per-chat
state is forgotten once a chat's longest window has passed, so memory follows
the number of chats written to in the last minute, not the number of chats.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import math
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from bot.settings import DeliverySettings

FREE_PER_SECOND_CEILING = 30.0
PAID_BROADCAST_PER_SECOND = 1000.0
# Fraction of the configured rate actually used: room for network jitter.
_OVERALL_HEADROOM = 0.98
_GROUP_WINDOW_SECONDS = 60.0
_GROUP_WINDOW_MARGIN_SECONDS = 1.0
# Telegram's window, counted from each message's answer (see the module docstring), plus
# 5 ms so a send exactly 1 s after is not counted as inside by a closed window.
_SEND_WINDOW_SECONDS = 1.005
# Added to every pause: Telegram rounds retry_after, our clock is not its clock.
PAUSE_MARGIN_SECONDS = 0.1
_EPSILON = 1e-9


@dataclass(frozen=True)
class WindowRule:
    """At most ``limit`` sends within any ``window_seconds``-long window."""

    limit: int
    window_seconds: float

    def earliest_after(self, history: deque[float]) -> float:
        """Earliest time a new send may go, given the ascending send times ``history``."""
        if self.window_seconds <= 0 or len(history) < self.limit:
            return -math.inf
        return history[-self.limit] + self.window_seconds


class ChatBook:
    """Reserved and past send times per chat, under the same rules for every chat.

    Chats are kept in order of their last reservation, so idle ones are dropped
    from the front in amortised O(1).
    """

    def __init__(self, rules: tuple[WindowRule, ...]) -> None:
        self._rules = rules
        self._horizon_seconds = max(rule.window_seconds for rule in rules)
        self._times: OrderedDict[int, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._times)

    def earliest(self, chat_id: int) -> float:
        """Earliest time the next message to ``chat_id`` may go (never before its last one)."""
        history = self._times.get(chat_id)
        if not history:
            return -math.inf
        return max(history[-1], *(rule.earliest_after(history) for rule in self._rules))

    def record(self, chat_id: int, at: float, now: float) -> None:
        """Reserve ``at`` for ``chat_id``; ``at`` is never before the chat's last time."""
        history = self._times.pop(chat_id, None) or deque()
        history.append(at)
        while len(history) > 1 and history[0] <= now - self._horizon_seconds:
            history.popleft()
        self._times[chat_id] = history

    def release(self, chat_id: int, at: float) -> None:
        """Give back a reservation made with :meth:`record`."""
        history = self._times.get(chat_id)
        if history is None or at not in history:
            return
        history.remove(at)
        if not history:
            del self._times[chat_id]

    def prune(self, now: float) -> None:
        """Forget chats whose last send is older than the longest window."""
        cutoff = now - self._horizon_seconds
        while self._times:
            chat_id, history = next(iter(self._times.items()))
            if history[-1] > cutoff:
                return
            del self._times[chat_id]


class SendLimiter:
    """Paces Telegram sends: overall rate, per-chat spacing, per-group minute cap, pauses."""

    def __init__(
        self,
        *,
        per_second: float = FREE_PER_SECOND_CEILING,
        private_interval_seconds: float = 1.0,
        private_burst: int = 2,
        group_per_minute: int = 20,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        _check_limits(per_second, private_interval_seconds, private_burst, group_per_minute)
        self.per_second = per_second
        self._spacing_seconds = 1.0 / (per_second * _OVERALL_HEADROOM)
        self._clock = clock
        self._sleep = sleep
        chat_rule = WindowRule(private_burst, private_burst * private_interval_seconds)
        group_rule = WindowRule(
            group_per_minute, _GROUP_WINDOW_SECONDS + _GROUP_WINDOW_MARGIN_SECONDS
        )
        self._private = ChatBook((chat_rule,))
        self._groups = ChatBook((chat_rule, group_rule))
        self._slots: list[float] = []  # reserved/recent overall send times, ascending
        self._pause_until = -math.inf  # everything waits (a reply was refused)
        self._bulk_pause_until = -math.inf  # digest traffic waits (a digest was refused)
        # The send window: how many it holds, answer times (ascending), sends unanswered.
        self._window_limit = max(1, math.floor(per_second))
        self._answers: deque[float] = deque()
        self._in_flight = 0
        self._answered = asyncio.Event()  # set (and replaced) whenever an answer comes

    @classmethod
    def from_settings(
        cls,
        settings: DeliverySettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> SendLimiter:
        """Build the limiter from settings.

        Without paid broadcast the rate is ``messages_per_second`` capped at 30/s
        (Telegram's free limit); with ``allow_paid_broadcast`` it is 1000/s, the
        paid ceiling (Telegram bills per message, so there is no reason to go slower).
        """
        if settings.allow_paid_broadcast:
            per_second = PAID_BROADCAST_PER_SECOND
        else:
            per_second = min(settings.messages_per_second, FREE_PER_SECOND_CEILING)
        return cls(
            per_second=per_second,
            private_interval_seconds=settings.private_chat_interval_seconds,
            group_per_minute=settings.group_messages_per_minute,
            clock=clock,
            sleep=sleep,
        )

    async def acquire_slot(self, chat_id: int, *, is_group: bool, bulk: bool = True) -> None:
        """Wait for a paced slot (overall spacing, chat limits, pauses) without sending yet.

        ``bulk``: digest traffic, held back by :meth:`pause_bulk` too; a reply passes
        False. The caller then sends inside :meth:`sending`. Cancellation-safe: a
        cancelled waiter releases its reserved slot.
        """
        while True:
            slot = self._reserve(chat_id, is_group, bulk)
            try:
                await self._sleep_until(slot)
            except BaseException:
                self._release(chat_id, is_group, slot)
                raise
            if self._pause_end(bulk) <= slot:
                return
            # A pause began while we slept and covers our slot: queue again behind it.
            self._release(chat_id, is_group, slot)

    @contextlib.asynccontextmanager
    async def sending(self) -> AsyncIterator[None]:
        """Wrap one send: hold while the send window is full; the message counts until
        1 s after its answer (or its failure) comes back."""
        await self._window_room()
        self._in_flight += 1
        try:
            yield
        finally:
            self._in_flight -= 1
            self._answers.append(self._clock())
            self._answered.set()
            self._answered = asyncio.Event()

    async def _window_room(self) -> None:
        """Return once fewer than ``_window_limit`` sends are unanswered or recently answered."""
        answers = self._answers
        while True:
            now = self._clock()
            while answers and answers[0] <= now - _SEND_WINDOW_SECONDS + _EPSILON:
                answers.popleft()
            excess = len(answers) + self._in_flight - self._window_limit
            if excess < 0:
                return
            if excess < len(answers):  # room once the (excess + 1)-th oldest answer is 1 s old
                await self._sleep(answers[excess] + _SEND_WINDOW_SECONDS - now)
            else:  # every send in the window is still unanswered
                await self._answered.wait()

    def pause_all(self, seconds: float) -> None:
        """Stop all sending for ``seconds`` (plus a small margin); extends, never shortens."""
        until = self._clock() + max(0.0, seconds) + PAUSE_MARGIN_SECONDS
        self._pause_until = max(self._pause_until, until)

    def pause_bulk(self, seconds: float) -> None:
        """Stop digest traffic for ``seconds`` (plus a margin); replies go on being paced."""
        until = self._clock() + max(0.0, seconds) + PAUSE_MARGIN_SECONDS
        self._bulk_pause_until = max(self._bulk_pause_until, until)

    def paused_until(self, *, bulk: bool = True) -> float | None:
        """The clock time the pause that holds this traffic back ends, or None."""
        end = self._pause_end(bulk)
        return end if end > self._clock() else None

    def next_ready_at(self, chat_id: int, *, is_group: bool) -> float:
        """Clock time a digest message to this chat could go if acquired now (reserves nothing)."""
        return self._free_slot(self._earliest_for_chat(chat_id, is_group, self._clock(), True))

    def tracked_chat_count(self) -> int:
        """How many chats the limiter holds state for (bounded by recent activity)."""
        return len(self._private) + len(self._groups)

    def _book(self, is_group: bool) -> ChatBook:
        return self._groups if is_group else self._private

    def _pause_end(self, bulk: bool) -> float:
        return max(self._pause_until, self._bulk_pause_until) if bulk else self._pause_until

    def _earliest_for_chat(self, chat_id: int, is_group: bool, now: float, bulk: bool) -> float:
        return max(now, self._pause_end(bulk), self._book(is_group).earliest(chat_id))

    def _reserve(self, chat_id: int, is_group: bool, bulk: bool) -> float:
        now = self._clock()
        self._prune(now)
        slot = self._free_slot(self._earliest_for_chat(chat_id, is_group, now, bulk))
        bisect.insort(self._slots, slot)
        self._book(is_group).record(chat_id, slot, now)
        return slot

    def _release(self, chat_id: int, is_group: bool, slot: float) -> None:
        index = bisect.bisect_left(self._slots, slot)
        if index < len(self._slots) and self._slots[index] == slot:
            del self._slots[index]
        self._book(is_group).release(chat_id, slot)

    def _free_slot(self, earliest: float) -> float:
        """First time >= ``earliest`` at least one spacing away from every reserved slot."""
        candidate = earliest
        spacing = self._spacing_seconds - _EPSILON
        start = bisect.bisect_left(self._slots, candidate - spacing)
        for reserved in self._slots[start:]:
            if reserved - spacing >= candidate:
                break
            candidate = max(candidate, reserved + self._spacing_seconds)
        return candidate

    def _prune(self, now: float) -> None:
        cutoff = bisect.bisect_right(self._slots, now - self._spacing_seconds)
        del self._slots[:cutoff]
        self._private.prune(now)
        self._groups.prune(now)

    async def _sleep_until(self, at: float) -> None:
        delay = at - self._clock()
        if delay > 0:
            await self._sleep(delay)


def _check_limits(
    per_second: float, interval_seconds: float, burst: int, group_per_minute: int
) -> None:
    if per_second <= 0:
        raise ValueError("per_second must be > 0")
    if interval_seconds < 0:
        raise ValueError("private_interval_seconds must be >= 0")
    if burst < 1 or group_per_minute < 1:
        raise ValueError("private_burst and group_per_minute must be >= 1")
