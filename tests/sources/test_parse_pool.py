"""Parse jobs go to the process pool several to a task while the pool is busy."""

from __future__ import annotations

import asyncio
import multiprocessing
import pickle
import subprocess
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial
from typing import Any

import pytest

from bot.sources.parse_pool import (
    ParseBatcher,
    run_parse_jobs,
    start_workers,
)


class _Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("holds a lock")
        self.lock = threading.Lock()


def _raise_unpicklable() -> None:
    raise _Unpicklable


class _Unreadable(Exception):
    """Pickles, but cannot be unpickled: its __init__ wants two arguments."""

    def __init__(self, code: int, url: str) -> None:
        super().__init__(f"{code} from {url}")


def _raise_unreadable() -> None:
    raise _Unreadable(500, "http://x")


class RecordingExecutor(ThreadPoolExecutor):
    """A one-thread pool that remembers how many jobs each task carried."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.task_sizes: list[int] = []
        self.gate = threading.Event()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.task_sizes.append(len(args[0]))

        def gated() -> Any:
            self.gate.wait(5)
            return fn(*args, **kwargs)

        return super().submit(gated)


def test_run_parse_jobs_gives_each_job_its_result_or_error():
    jobs = [partial(int, "12"), partial(int, "x"), _raise_unpicklable, _raise_unreadable]
    outcomes = run_parse_jobs(jobs)

    assert outcomes[0] == (True, 12)
    assert outcomes[1][0] is False and isinstance(outcomes[1][1], ValueError)
    ok, error = outcomes[2]
    assert ok is False and not isinstance(error, _Unpicklable)
    with pytest.raises(type(error)):
        pickle.dumps(_Unpicklable())
    ok, error = outcomes[3]
    assert ok is False and isinstance(error, TypeError)
    assert pickle.loads(pickle.dumps(outcomes))  # what goes back through the pool pipe


async def test_an_idle_pool_gets_a_job_at_once_a_busy_one_gets_batches():
    executor = RecordingExecutor()
    batcher = ParseBatcher(executor, in_flight=1, max_batch=3)
    try:
        first = asyncio.ensure_future(batcher.run(partial(str, 0)))
        await asyncio.sleep(0)
        rest = [asyncio.ensure_future(batcher.run(partial(str, n))) for n in range(1, 8)]
        await asyncio.sleep(0)
        assert executor.task_sizes == [1]  # the pool is busy: the others wait
        executor.gate.set()
        results = await asyncio.gather(first, *rest)
    finally:
        executor.shutdown()

    assert results == [str(n) for n in range(8)]
    assert executor.task_sizes == [1, 3, 3, 1]


async def test_a_failing_job_fails_alone():
    with ProcessPoolExecutor(1) as executor:
        batcher = ParseBatcher(executor, in_flight=1, max_batch=8)
        jobs = [partial(int, "1"), partial(int, "not a number"), partial(int, "3")]
        results = await asyncio.gather(*(batcher.run(j) for j in jobs), return_exceptions=True)

    assert results[0] == 1 and results[2] == 3
    assert isinstance(results[1], ValueError)
    assert "not a number" in str(results[1])


async def test_a_shut_down_pool_fails_every_waiting_job():
    executor = ProcessPoolExecutor(1)
    executor.shutdown()
    batcher = ParseBatcher(executor, in_flight=2, max_batch=8)

    results = await asyncio.gather(
        *(batcher.run(partial(int, "1")) for _ in range(3)), return_exceptions=True
    )

    assert all(isinstance(r, RuntimeError) for r in results)


async def test_a_cancelled_wait_is_skipped_and_the_others_still_run():
    executor = RecordingExecutor()
    batcher = ParseBatcher(executor, in_flight=1, max_batch=8)
    try:
        first = asyncio.ensure_future(batcher.run(partial(str, "a")))
        await asyncio.sleep(0)
        gone = asyncio.ensure_future(batcher.run(partial(str, "b")))
        kept = asyncio.ensure_future(batcher.run(partial(str, "c")))
        await asyncio.sleep(0)
        gone.cancel()
        executor.gate.set()
        assert await first == "a"
        assert await kept == "c"
    finally:
        executor.shutdown()

    assert gone.cancelled()
    assert executor.task_sizes == [1, 1]


class CancellingExecutor(Executor):
    """A pool that cancels every task it is given (as shutdown(cancel_futures=True) does)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        future.cancel()
        return future


async def test_a_task_the_pool_cancels_cancels_its_jobs():
    batcher = ParseBatcher(CancellingExecutor(), in_flight=1, max_batch=8)

    with pytest.raises(asyncio.CancelledError):
        await batcher.run(partial(int, "1"))


async def test_start_workers_starts_every_process_before_any_job():
    pool = ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("forkserver"))
    try:
        await start_workers(pool, 2)
        started = {p.pid for p in pool._processes.values()}  # the pool's own record
        assert len(started) == 2
        assert all(p.is_alive() for p in pool._processes.values())
    finally:
        pool.shutdown()


def test_shared_pool_workers_come_with_the_parsing_modules_loaded():
    # A fresh interpreter: the fork server must not have started before the pool.
    check = (
        "import functools, sys\n"
        "from bot.sources.parse_pool import PRELOADED_MODULES, shared_parse_pool\n"
        "assert not set(PRELOADED_MODULES) & set(sys.modules)\n"
        "query = f'set({list(PRELOADED_MODULES)!r}) <= set(__import__(\"sys\").modules)'\n"
        "print(shared_parse_pool(1).submit(functools.partial(eval, query)).result(60))\n"
    )
    assert _printed_by_fresh_interpreter(check) == "True"


def test_shared_pool_workers_run_at_a_lower_priority_than_their_parent():
    # Parsing yields the CPU to the event loop (the batch writer, chat replies, delivery).
    check = (
        "import os\n"
        "from bot.sources.parse_pool import PARSE_NICENESS, shared_parse_pool\n"
        "parent = os.getpriority(os.PRIO_PROCESS, 0)\n"
        "worker = shared_parse_pool(1).submit(os.getpriority, os.PRIO_PROCESS, 0).result(60)\n"
        "print(parent, worker, PARSE_NICENESS)\n"
    )
    parent, worker, niceness = map(int, _printed_by_fresh_interpreter(check).split())
    assert niceness > 0
    assert worker == min(parent + niceness, 19)  # 19: the lowest priority there is


def _printed_by_fresh_interpreter(code: str) -> str:
    """What ``code`` prints in a new Python process (its own fork server and pool)."""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()
