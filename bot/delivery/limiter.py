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
* **Sliding window at the moment of sending**: at most ``floor(per_second)``
  messages (30 at 30/s) in any 1.02 s window of *send* times, Telegram's own
  rule plus 20 ms for the jitter between our send and its arrival. Even
  spacing alone assumes every message leaves on time. When one leaves late (a
  slow commit, a busy event loop) it and the on-time ones after it crowd into
  one second, and Telegram, which counts arrivals, answers 429 to the 31st.
  On time, sends ``n`` and ``n + 30`` are 30 spacings (1.0204 s) apart, so
  the window holds no one; after a delay it holds the one send that would be
  the 31st. :meth:`SendLimiter.acquire` applies it at once; a caller that does
  work between its slot and the send (the outbox Sender commits first) takes
  the slot with :meth:`SendLimiter.acquire_slot` and calls
  :meth:`SendLimiter.clear_to_send` right before the send.

How waiting works: ``acquire`` *reserves* the earliest slot that satisfies all
limits and sleeps until it, so callers are served first come, first served, a
waiter sleeps exactly once (no polling), and a caller held back by its own chat
never holds back other chats (they take the free slots before it). A cancelled
waiter gives its slot back. ``pause_all`` (after a 429) moves every reservation
behind the pause: a waiter that wakes inside a pause reserves again.

One limiter per process and per event loop; it is not thread-safe. Per-chat
state is forgotten once a chat's longest window has passed, so memory follows
the number of chats written to in the last minute, not the number of chats.
"""

from __future__ import annotations

import asyncio
import bisect
import math
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.settings import DeliverySettings

FREE_PER_SECOND_CEILING = 30.0
PAID_BROADCAST_PER_SECOND = 1000.0
# Fraction of the configured rate actually used: room for network jitter.
_OVERALL_HEADROOM = 0.98
_GROUP_WINDOW_SECONDS = 60.0
_GROUP_WINDOW_MARGIN_SECONDS = 1.0
# The send window: Telegram's 1 s plus 20 ms for jitter between our send and its arrival
# (10 ms let a 429 through in 2 of 3 benchmark runs on a slower, loaded 2-core machine).
# Shorter than 30 spacings (1.0204 s): messages that leave on time are never held.
_SEND_WINDOW_SECONDS = 1.02
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
        self._pause_until = -math.inf
        # The last sends, as many as the send window allows (oldest first).
        self._sent: deque[float] = deque(maxlen=max(1, math.floor(per_second)))

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

    async def acquire(self, chat_id: int, *, is_group: bool) -> None:
        """Wait until a message to ``chat_id`` may go now; the caller sends right after.

        Cancellation-safe: a cancelled waiter releases its reserved slot.
        """
        await self.acquire_slot(chat_id, is_group=is_group)
        await self.clear_to_send()

    async def acquire_slot(self, chat_id: int, *, is_group: bool) -> None:
        """Wait for a paced slot (overall spacing, chat limits, pauses) without sending yet.

        The caller must call :meth:`clear_to_send` right before the message goes
        out. Cancellation-safe: a cancelled waiter releases its reserved slot.
        """
        while True:
            slot = self._reserve(chat_id, is_group)
            try:
                await self._sleep_until(slot)
            except BaseException:
                self._release(chat_id, is_group, slot)
                raise
            if self._pause_until <= slot:
                return
            # A pause began while we slept and covers our slot: queue again behind it.
            self._release(chat_id, is_group, slot)

    async def clear_to_send(self) -> None:
        """Hold while the last sends fill the send window, then count this send (now)."""
        while True:
            now = self._clock()
            full = len(self._sent) == self._sent.maxlen
            ready_at = self._sent[0] + _SEND_WINDOW_SECONDS if full else -math.inf
            if ready_at <= now:
                self._sent.append(now)
                return
            await self._sleep(ready_at - now)

    def pause_all(self, seconds: float) -> None:
        """Stop all sending for ``seconds`` (plus a small margin); extends, never shortens."""
        until = self._clock() + max(0.0, seconds) + PAUSE_MARGIN_SECONDS
        self._pause_until = max(self._pause_until, until)

    def paused_until(self) -> float | None:
        """The clock time the current pause ends, or None when not paused."""
        return self._pause_until if self._pause_until > self._clock() else None

    def next_ready_at(self, chat_id: int, *, is_group: bool) -> float:
        """Clock time a message to this chat could go if acquired now (reserves nothing)."""
        return self._free_slot(self._earliest_for_chat(chat_id, is_group, self._clock()))

    def tracked_chat_count(self) -> int:
        """How many chats the limiter holds state for (bounded by recent activity)."""
        return len(self._private) + len(self._groups)

    def _book(self, is_group: bool) -> ChatBook:
        return self._groups if is_group else self._private

    def _earliest_for_chat(self, chat_id: int, is_group: bool, now: float) -> float:
        return max(now, self._pause_until, self._book(is_group).earliest(chat_id))

    def _reserve(self, chat_id: int, is_group: bool) -> float:
        now = self._clock()
        self._prune(now)
        slot = self._free_slot(self._earliest_for_chat(chat_id, is_group, now))
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
