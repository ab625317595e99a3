"""Flood limits of the fake Bot API: sliding windows over accepted messages.

Defaults follow the Bots FAQ: about 30 messages/s per bot, about 1 message/s per
private chat (a burst of 2 within any 1 s window is tolerated, so a sender pacing
at 1 msg/s with jitter never trips it), 20 messages per 60 s per group.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Window:
    """At most `max_count` accepted messages within any `seconds`-long window."""

    max_count: int
    seconds: float


@dataclass(frozen=True, slots=True)
class RateLimits:
    """The windows the fake enforces when limits are on."""

    overall: Window = field(default_factory=lambda: Window(30, 1.0))
    private_chat: Window = field(default_factory=lambda: Window(2, 1.0))
    group_chat: Window = field(default_factory=lambda: Window(20, 60.0))


class SlidingWindowLimiter:
    """Counts accepted sends per bot and per chat; tells how long to wait when full."""

    def __init__(self, limits: RateLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits
        self._clock = clock
        self._overall: deque[float] = deque()
        self._per_chat: dict[int, deque[float]] = {}

    def retry_after(self, chat_id: int, *, is_group: bool) -> int | None:
        """Seconds to wait before this chat may get another message, or None if allowed now."""
        now = self._clock()
        chat_window = self.limits.group_chat if is_group else self.limits.private_chat
        chat_times = self._per_chat.setdefault(chat_id, deque())
        waits = [
            _wait(self._overall, self.limits.overall, now),
            _wait(chat_times, chat_window, now),
        ]
        longest = max(waits)
        return longest if longest > 0 else None

    def record(self, chat_id: int) -> None:
        """Count one accepted message to `chat_id`."""
        now = self._clock()
        self._overall.append(now)
        self._per_chat.setdefault(chat_id, deque()).append(now)


def _wait(times: deque[float], window: Window, now: float) -> int:
    while times and times[0] <= now - window.seconds:
        times.popleft()
    if len(times) < window.max_count:
        return 0
    # The oldest message that keeps the window full must leave it first.
    oldest_blocking = times[len(times) - window.max_count]
    return max(1, math.ceil(oldest_blocking + window.seconds - now))
