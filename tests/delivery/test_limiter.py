"""SendLimiter on virtual time.

Each test runs on an asyncio event loop whose clock is virtual: when every task
waits, the loop jumps its clock to the next timer instead of blocking. The
limiter gets ``loop.time`` as its clock and the real ``asyncio.sleep``, so all
asyncio behaviour (tasks, cancellation, timer order) is real and only the
passing of time is simulated; assertions are on the virtual schedule.
"""

from __future__ import annotations

import asyncio
import itertools
import selectors
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import pytest

from bot.delivery.limiter import PAUSE_MARGIN_SECONDS, SendLimiter
from bot.settings import DeliverySettings


class _JumpingSelector:
    """Wraps the loop's selector: instead of blocking for `timeout`, advance the clock."""

    def __init__(self, real: selectors.BaseSelector, loop: VirtualTimeLoop) -> None:
        self._real = real
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[Any]:
        events = self._real.select(0)
        if events or timeout == 0:
            return events
        if timeout is None:
            raise RuntimeError("deadlock: every task waits and no timer is pending")
        self._loop.advance(timeout)
        return []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose time only moves when all tasks wait on timers."""

    def __init__(self) -> None:
        super().__init__()
        self._virtual_now = 0.0
        self._selector = _JumpingSelector(self._selector, self)

    def time(self) -> float:
        return self._virtual_now

    def advance(self, seconds: float) -> None:
        self._virtual_now += seconds


def run_virtual(main: Callable[[], Awaitable[Any]]) -> Any:
    """Run `main()` to completion on a fresh virtual-time loop."""
    with asyncio.Runner(loop_factory=VirtualTimeLoop) as runner:
        return runner.run(main())


def make_limiter(**kwargs: Any) -> SendLimiter:
    """A limiter on the running (virtual) loop's clock."""
    return SendLimiter(clock=asyncio.get_running_loop().time, **kwargs)


def max_in_window(times: Iterable[float], window_seconds: float) -> int:
    """Most sends inside any closed window of `window_seconds` (stricter than Telegram's)."""
    ordered = sorted(times)
    best, start = 0, 0
    for end, at in enumerate(ordered):
        while at - ordered[start] > window_seconds + 1e-9:
            start += 1
        best = max(best, end - start + 1)
    return best


async def send_now(limiter: SendLimiter, chat_id: int, *, is_group: bool) -> None:
    """Take a slot and send, the answer coming back at once."""
    await limiter.acquire_slot(chat_id, is_group=is_group)
    async with limiter.sending():
        pass


async def send_sequentially(
    limiter: SendLimiter, chats: Iterable[int], *, is_group: bool = False
) -> list[float]:
    """Acquire for each chat in turn; return the clock time of each grant."""
    clock = asyncio.get_running_loop().time
    granted = []
    for chat_id in chats:
        await send_now(limiter, chat_id, is_group=is_group)
        granted.append(clock())
    return granted


def test_100_private_chats_take_about_3_3_seconds_and_never_31_in_a_second() -> None:
    async def main() -> list[float]:
        return await send_sequentially(make_limiter(per_second=30), range(1, 101))

    times = run_virtual(main)

    assert times[0] == 0.0
    assert 3.2 <= times[-1] <= 3.5
    assert max_in_window(times, 1.0) <= 30


def test_one_private_chat_gets_at_most_two_per_two_seconds() -> None:
    async def main() -> list[float]:
        return await send_sequentially(make_limiter(), [42] * 5)

    times = run_virtual(main)

    # Burst of 2 (digest parts back to back), then the third waits 2 s after the first.
    assert times[1] - times[0] < 0.1
    assert times[2] == pytest.approx(times[0] + 2.0)
    assert times[3] == pytest.approx(times[1] + 2.0)
    assert times[4] == pytest.approx(times[2] + 2.0)
    assert max_in_window(times, 1.0) <= 2


def test_burst_one_spaces_a_private_chat_by_the_interval() -> None:
    async def main() -> list[float]:
        return await send_sequentially(make_limiter(private_burst=1), [42] * 5)

    times = run_virtual(main)

    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert gaps == pytest.approx([1.0] * 4)


def test_group_waits_for_the_minute_window_after_20() -> None:
    async def main() -> list[float]:
        return await send_sequentially(make_limiter(), [-100123] * 25, is_group=True)

    times = run_virtual(main)

    assert times[19] < 20.0
    assert times[20] >= times[0] + 60.0
    assert times[20] == pytest.approx(times[0] + 61.0)
    assert max_in_window(times, 60.0) <= 20
    assert max_in_window(times, 1.0) <= 2


def test_busy_chat_does_not_hold_back_other_chats() -> None:
    async def main() -> dict[int, float]:
        limiter = make_limiter(private_burst=1)
        clock = asyncio.get_running_loop().time
        granted: dict[int, float] = {}

        async def send(key: int, chat_id: int) -> None:
            await send_now(limiter, chat_id, is_group=False)
            granted[key] = clock()

        # Key 1 must wait 1 s for chat 7; keys 2..4 go to other chats meanwhile.
        await asyncio.gather(send(0, 7), send(1, 7), send(2, 8), send(3, 9), send(4, 10))
        return granted

    granted = run_virtual(main)

    assert granted[1] == pytest.approx(1.0)
    assert max(granted[2], granted[3], granted[4]) < 0.2


def test_pause_all_delays_waiters_and_new_callers() -> None:
    async def main() -> tuple[list[float], float | None, float | None]:
        limiter = make_limiter()
        waiters = [asyncio.create_task(send_sequentially(limiter, [c])) for c in range(10)]
        await asyncio.sleep(0.1)  # 3 of the 10 got through (0, 34 ms, 68 ms)
        limiter.pause_all(5.0)
        limiter.pause_all(1.0)  # a shorter pause must not shorten the first
        paused = limiter.paused_until()
        late = await send_sequentially(limiter, [99])
        done = [t for w in waiters for t in await w]
        await asyncio.sleep(1.0)
        return done + late, paused, limiter.paused_until()

    times, paused, after = run_virtual(main)

    pause_end = 0.1 + 5.0 + PAUSE_MARGIN_SECONDS
    assert paused == pytest.approx(pause_end)
    assert after is None
    assert len(times) == 11
    assert len([t for t in times if t <= 0.1]) == 3
    assert all(t >= pause_end - 1e-9 for t in times if t > 0.1)
    assert max_in_window(times, 1.0) <= 30


def test_a_digest_flood_wait_holds_back_digests_but_not_replies() -> None:
    async def main() -> tuple[float, float, float | None, float | None]:
        limiter = make_limiter()
        limiter.pause_bulk(5.0)
        loop = asyncio.get_running_loop()
        await limiter.acquire_slot(1, is_group=False, bulk=False)  # a reply: at once
        reply_at = loop.time()
        await limiter.acquire_slot(2, is_group=False)  # a digest part: after the pause
        return reply_at, loop.time(), limiter.paused_until(bulk=False), limiter.paused_until()

    reply_at, digest_at, replies_paused, digests_paused = run_virtual(main)

    assert reply_at == pytest.approx(0.0)
    assert digest_at == pytest.approx(5.0 + PAUSE_MARGIN_SECONDS)
    assert replies_paused is None and digests_paused is None  # both over by now


def test_pause_is_extended_by_a_longer_one() -> None:
    async def main() -> float:
        limiter = make_limiter()
        limiter.pause_all(2.0)
        await asyncio.sleep(1.0)
        limiter.pause_all(3.0)
        (granted,) = await send_sequentially(limiter, [1])
        return granted

    assert run_virtual(main) == pytest.approx(4.0 + PAUSE_MARGIN_SECONDS)


def test_paid_broadcast_raises_the_ceiling_to_1000_per_second() -> None:
    free = SendLimiter.from_settings(DeliverySettings(messages_per_second=50))
    paid = SendLimiter.from_settings(DeliverySettings(allow_paid_broadcast=True))
    assert free.per_second == 30.0
    assert paid.per_second == 1000.0

    async def main() -> list[float]:
        settings = DeliverySettings(allow_paid_broadcast=True)
        limiter = SendLimiter.from_settings(settings, clock=asyncio.get_running_loop().time)
        return await send_sequentially(limiter, range(1, 2001))

    times = run_virtual(main)

    assert 1.9 <= times[-1] <= 2.1
    assert max_in_window(times, 1.0) <= 1000


def test_from_settings_passes_the_chat_limits_through() -> None:
    settings = DeliverySettings(private_chat_interval_seconds=3.0, group_messages_per_minute=5)

    async def main() -> tuple[list[float], list[float]]:
        limiter = SendLimiter.from_settings(settings, clock=asyncio.get_running_loop().time)
        private = await send_sequentially(limiter, [5] * 3)
        group = await send_sequentially(limiter, [-5] * 6, is_group=True)
        return private, group

    private, group = run_virtual(main)

    assert private[2] - private[0] == pytest.approx(6.0)
    assert group[5] - group[0] >= 60.0


def test_concurrent_acquirers_are_served_in_arrival_order_at_the_overall_rate() -> None:
    async def main() -> list[tuple[float, int]]:
        limiter = make_limiter()
        clock = asyncio.get_running_loop().time
        order: list[tuple[float, int]] = []

        async def send(chat_id: int) -> None:
            await send_now(limiter, chat_id, is_group=False)
            order.append((clock(), chat_id))

        await asyncio.gather(*(send(chat_id) for chat_id in range(16)))
        return order

    order = run_virtual(main)

    assert [chat_id for _, chat_id in order] == list(range(16))
    times = [at for at, _ in order]
    gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
    assert min(gaps) == pytest.approx(1 / (30 * 0.98))


def test_16_workers_reach_97_percent_of_30_per_second_on_2000_messages() -> None:
    """1,000 chats get a two-part digest each; 16 workers send with 150 ms latency."""

    async def main() -> dict[int, list[float]]:
        limiter = make_limiter()
        clock = asyncio.get_running_loop().time
        queue: asyncio.Queue[int] = asyncio.Queue()
        for chat_id in range(1, 1001):
            queue.put_nowait(chat_id)
        sent: dict[int, list[float]] = defaultdict(list)

        async def worker() -> None:
            while not queue.empty():
                chat_id = queue.get_nowait()
                for _part in range(2):
                    await send_now(limiter, chat_id, is_group=False)
                    sent[chat_id].append(clock())
                    await asyncio.sleep(0.15)  # the HTTP round trip

        await asyncio.gather(*(worker() for _ in range(16)))
        return sent

    sent = run_virtual(main)

    times = sorted(t for chat_times in sent.values() for t in chat_times)
    assert len(times) == 2000
    rate = (len(times) - 1) / (times[-1] - times[0])
    print(f"2,000 messages in {times[-1] - times[0]:.2f} virtual s: {rate:.2f}/s")
    assert rate >= 0.97 * 30
    assert max_in_window(times, 1.0) <= 30
    assert max(max_in_window(chat_times, 1.0) for chat_times in sent.values()) <= 2


def test_cancelled_waiter_gives_its_slot_back() -> None:
    async def main() -> dict[str, float]:
        limiter = make_limiter(per_second=1.0)
        clock = asyncio.get_running_loop().time
        granted: dict[str, float] = {}

        async def send(name: str, chat_id: int) -> None:
            await send_now(limiter, chat_id, is_group=False)
            granted[name] = clock()

        first = asyncio.create_task(send("a", 1))
        second = asyncio.create_task(send("b", 2))
        third = asyncio.create_task(send("c", 3))
        await asyncio.sleep(0.5)
        second.cancel()
        await asyncio.sleep(0.1)
        await asyncio.gather(first, third, send("d", 4))
        assert second.cancelled()
        return granted

    granted = run_virtual(main)

    spacing = 1 / 0.98
    assert "b" not in granted
    assert granted["c"] == pytest.approx(2 * spacing)
    assert granted["d"] == pytest.approx(spacing)  # the slot b gave back


def test_cancelled_waiter_frees_its_chat_reservation() -> None:
    async def main() -> float:
        limiter = make_limiter(private_burst=1, private_interval_seconds=10.0)
        await send_now(limiter, 5, is_group=False)
        waiter = asyncio.create_task(send_now(limiter, 5, is_group=False))
        await asyncio.sleep(1.0)
        waiter.cancel()
        await asyncio.sleep(0)
        return limiter.next_ready_at(5, is_group=False)

    assert run_virtual(main) == pytest.approx(10.0)


def test_next_ready_at_reports_chat_and_overall_limits_without_reserving() -> None:
    async def main() -> tuple[float, float, float, float]:
        limiter = make_limiter()
        await send_sequentially(limiter, [1, 1])
        busy = limiter.next_ready_at(1, is_group=False)
        free = limiter.next_ready_at(2, is_group=False)
        again = limiter.next_ready_at(2, is_group=False)
        (granted,) = await send_sequentially(limiter, [2])
        return busy, free, again, granted

    busy, free, again, granted = run_virtual(main)

    assert busy == pytest.approx(2.0)
    assert free == again == granted
    assert free == pytest.approx(2 / (30 * 0.98))


def test_each_acquire_sleeps_at_most_once() -> None:
    sleeps: list[float] = []

    async def counting_sleep(seconds: float) -> None:
        sleeps.append(seconds)
        await asyncio.sleep(seconds)

    async def main() -> None:
        limiter = SendLimiter(clock=asyncio.get_running_loop().time, sleep=counting_sleep)
        await asyncio.gather(*(send_now(limiter, c % 50, is_group=False) for c in range(200)))

    run_virtual(main)

    assert len(sleeps) <= 200


def test_state_stays_bounded_over_100_000_private_chats() -> None:
    async def main() -> list[int]:
        limiter = make_limiter(per_second=1000.0)
        counts = []
        for chat_id in range(1, 100_001):
            await send_now(limiter, chat_id, is_group=False)
            if chat_id % 10_000 == 0:
                counts.append(limiter.tracked_chat_count())
        return counts

    counts = run_virtual(main)

    # Private state lives 2 s (burst 2 x 1 s): at ~980/s that is about 1,960 chats.
    assert max(counts) <= 2_100


def test_state_stays_bounded_over_many_groups() -> None:
    async def main() -> int:
        limiter = make_limiter()
        for chat_id in range(1, 5_001):
            await send_now(limiter, -chat_id, is_group=True)
        return limiter.tracked_chat_count()

    # Group state lives 61 s: at ~29.4/s that is about 1,800 groups, not 5,000.
    assert run_virtual(main) <= 1_850


@pytest.mark.parametrize(
    "kwargs",
    [
        {"per_second": 0},
        {"private_interval_seconds": -1},
        {"private_burst": 0},
        {"group_per_minute": 0},
    ],
)
def test_rejects_impossible_limits(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        SendLimiter(**kwargs)  # type: ignore[arg-type]


def test_zero_private_interval_leaves_only_the_overall_rate() -> None:
    async def main() -> list[float]:
        return await send_sequentially(make_limiter(private_interval_seconds=0.0), [3] * 10)

    times = run_virtual(main)

    assert times[-1] == pytest.approx(9 / (30 * 0.98))


def test_a_late_wakeup_never_puts_31_grants_into_one_second() -> None:
    """A waiter that wakes 60 ms late (a stalled process) must not crowd the next second."""

    calls = itertools.count(1)

    async def late_once(seconds: float) -> None:
        await asyncio.sleep(seconds + (0.06 if next(calls) == 10 else 0.0))

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        limiter = SendLimiter(clock=loop.time, sleep=late_once)
        granted: list[float] = []

        async def send(chat_id: int) -> None:
            await send_now(limiter, chat_id, is_group=False)
            granted.append(loop.time())

        await asyncio.gather(*(send(chat_id) for chat_id in range(300)))
        return granted

    granted = run_virtual(main)

    assert max_in_window(granted, 1.0) <= 30
    rate = (len(granted) - 1) / (max(granted) - min(granted))
    assert rate >= 0.97 * 30  # the guard costs about the lateness, once


def test_the_grant_window_holds_no_one_when_every_waiter_is_on_time() -> None:
    holds: list[float] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()

        async def sleep(seconds: float) -> None:
            holds.append(loop.time())
            await asyncio.sleep(seconds)

        limiter = SendLimiter(per_second=1000.0, clock=loop.time, sleep=sleep)
        await asyncio.gather(*(send_now(limiter, c, is_group=False) for c in range(3000)))

    run_virtual(main)

    assert len(holds) <= 3000  # one sleep per waiter: the stall guard never added one


def test_ordinary_lateness_does_not_slow_the_rate_down() -> None:
    """Every other waiter wakes 12 ms late: the stall guard must not add that up."""
    calls = itertools.count()

    async def jittery(seconds: float) -> None:
        await asyncio.sleep(seconds + (0.012 if next(calls) % 2 else 0.0))

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        limiter = SendLimiter(clock=loop.time, sleep=jittery)
        granted: list[float] = []

        async def worker(chats: range) -> None:
            for chat_id in chats:
                await send_now(limiter, chat_id, is_group=False)
                granted.append(loop.time())

        await asyncio.gather(*(worker(range(n, 1200, 16)) for n in range(16)))
        return granted

    granted = run_virtual(main)

    rate = (len(granted) - 1) / (max(granted) - min(granted))
    assert rate >= 0.97 * 30


def sends_with_one_slow_commit() -> list[float]:
    """300 sends like the Sender's: slot, commit, send; the 10th commit takes 60 ms."""
    order = itertools.count(1)

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        limiter = make_limiter()
        sent: list[float] = []

        async def send(chat_id: int) -> None:
            await limiter.acquire_slot(chat_id, is_group=False)
            await asyncio.sleep(0.06 if next(order) == 10 else 0.001)  # the commit
            async with limiter.sending():
                sent.append(loop.time())

        await asyncio.gather(*(send(chat_id) for chat_id in range(300)))
        return sent

    return run_virtual(main)


def test_work_between_slot_and_send_never_puts_31_sends_into_one_second() -> None:
    """The Sender commits between its slot and its send; one commit takes 60 ms."""
    sent = sends_with_one_slow_commit()

    assert max_in_window(sent, 1.0) <= 30
    rate = (len(sent) - 1) / (max(sent) - min(sent))
    assert rate >= 0.97 * 30


def test_a_request_delayed_on_the_way_never_makes_31_arrivals_in_one_second() -> None:
    """Telegram counts arrivals. The 10th request takes 200 ms to arrive (a stalled
    process, a queue on the way): with the window counted from send times it
    arrived among the 30 after it; counted until answers, no second holds 31."""
    order = itertools.count(1)

    async def main() -> list[float]:
        loop = asyncio.get_running_loop()
        limiter = make_limiter()
        arrivals: list[float] = []

        async def send(chat_id: int) -> None:
            await limiter.acquire_slot(chat_id, is_group=False)
            async with limiter.sending():
                await asyncio.sleep(0.2 if next(order) == 10 else 0.002)  # on the way
                arrivals.append(loop.time())
                await asyncio.sleep(0.002)  # the answer coming back

        await asyncio.gather(*(send(chat_id) for chat_id in range(300)))
        return arrivals

    arrivals = run_virtual(main)

    assert max_in_window(arrivals, 0.9999) <= 30  # Telegram's window: (t - 1 s, t]
    rate = (len(arrivals) - 1) / (max(arrivals) - min(arrivals))
    assert rate >= 0.97 * 30


def test_a_full_window_of_unanswered_sends_waits_for_an_answer() -> None:
    """30 sends still on the way: the 31st waits for an answer, then 1 s more."""

    async def main() -> float:
        loop = asyncio.get_running_loop()
        limiter = make_limiter(per_second=1000.0, private_interval_seconds=0.0)
        answered = asyncio.Event()

        async def slow_send(chat_id: int) -> None:
            await limiter.acquire_slot(chat_id, is_group=False)
            async with limiter.sending():
                await answered.wait()

        first = [asyncio.create_task(slow_send(c)) for c in range(1000)]
        await asyncio.sleep(2.0)
        answered.set()
        await asyncio.gather(*first)
        await send_now(limiter, 5000, is_group=False)
        return loop.time()

    assert run_virtual(main) >= 3.0
