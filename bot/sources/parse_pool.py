"""Feed parsing in worker processes: the cold cycle's second core.

Parsing, cleaning and signing a feed (:func:`bot.sources.prepare.prepare_feed`)
is pure Python and holds the GIL, so in threads a cold cycle uses one core and
stays below the capacity budget line "cold ingest >= 50 feeds/s"
(docs/capacity.md). That line is what this pool serves: one
``ProcessPoolExecutor`` with a worker per core, and nothing else.

- Started lazily, with the "spawn" method: the bot has threads, and a forked
  child could inherit a lock one of them held.
- Workers are started from the event-loop thread (``submit`` launches them in
  the calling thread, and ``run`` submits from the loop), because Linux's
  PR_SET_PDEATHSIG, which each worker sets, fires when the *thread* that
  started it exits. So workers die with the bot, even on ``kill -9``.
- A worker that dies breaks the pool: the sources parsing on it fail (recorded
  on the source, retried at its next poll) and the next one gets a fresh pool.
- Each run has a time budget. In the worker a timer signal (the job runs on
  the worker's main thread) stops the work between two Python steps: the CPU
  burn ends, the worker stays, the run raises ParseError. Work stuck inside one
  C call would not see it, so the awaiting side waits ``KILL_GRACE`` more and
  then kills the workers; the other runs on that pool are run again on a fresh
  one. At most one run per worker is submitted, so a budget starts when its
  run does, not behind another feed.
- ``aclose`` gives the runs under way ``KILL_GRACE`` to end, then kills them:
  shutdown never waits for a runaway parse.
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from bot.errors import ParseError

_R = TypeVar("_R")
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>
KILL_GRACE = 2.0  # seconds past a budget (or at shutdown) before workers are killed
WORKER_START = 5.0  # more on a new pool's first runs: a worker takes ~1 s to start (spawn)


class ParsePool:
    """Runs pure functions in worker processes, each within a time budget; ``aclose`` stops them.

    ``budget_seconds``: how long one run may take (``fetch.parse_timeout_seconds``).
    """

    def __init__(self, workers: int | None = None, *, budget_seconds: float = 5.0) -> None:
        self._workers = workers or os.cpu_count() or 1
        self._budget = budget_seconds
        self._pool: ProcessPoolExecutor | None = None
        self._finished = 0  # runs the current pool finished: below ``workers``, some may start
        self._killed: weakref.WeakSet[ProcessPoolExecutor] = weakref.WeakSet()
        self._free = asyncio.Semaphore(self._workers)

    async def run(self, work: Callable[[], _R]) -> _R:
        """``work()`` in a worker (``work`` must pickle: a module-level function or
        a partial of one); raises ParseError when it ran over the budget or the worker died.
        """
        async with self._free:
            for _attempt in range(2):
                try:
                    return await self._run_once(work)
                except _Collateral:
                    continue  # another run's runaway killed its pool: once more on a fresh one
            raise ParseError("parse workers were stopped twice for other feeds' runaway parses")

    async def _run_once(self, work: Callable[[], _R]) -> _R:
        pool = self._started()
        limit = self._budget + KILL_GRACE
        if self._finished < self._workers:
            limit += WORKER_START
        bounded = partial(run_within, work, self._budget)
        future = asyncio.get_running_loop().run_in_executor(pool, bounded)
        try:
            return await asyncio.wait_for(future, limit)
        except TimeoutError:
            self._discard(pool, kill=True)
            raise ParseError(over_budget(self._budget)) from None
        except BrokenProcessPool as err:
            if pool in self._killed:
                raise _Collateral from err
            self._discard(pool, kill=False)
            raise ParseError(f"parse worker died: {err}") from err
        finally:
            if pool is self._pool:
                self._finished += 1

    async def aclose(self) -> None:
        """Stop the workers: the runs under way get ``KILL_GRACE`` seconds, then are killed."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(_stop, pool, KILL_GRACE, cancel_waiting=True)

    def _discard(self, pool: ProcessPoolExecutor, *, kill: bool) -> None:
        """Never hand ``pool`` out again (the next run starts a fresh one); kill its workers."""
        if self._pool is pool:
            self._pool = None
        if kill:
            self._killed.add(pool)
            # Runs waiting on it fail (BrokenProcessPool), which tells them to run again.
            _stop(pool, 0.0, cancel_waiting=False)
        else:
            pool.shutdown(wait=False)

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._finished = 0
            self._pool = ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=die_with_parent,
                initargs=(os.getpid(),),
            )
        return self._pool


class _Collateral(Exception):
    """A run's pool was killed for another run's runaway: this run did nothing wrong."""


class _OverBudget(BaseException):
    """Raised in a worker by its timer; a BaseException, so no ``except Exception`` swallows it."""


def over_budget(seconds: float) -> str:
    """The reason recorded on a source whose parse ran over its budget."""
    return f"parsing took longer than {seconds:g} s; the feed is skipped until its next poll"


def run_within(work: Callable[[], _R], seconds: float) -> _R:
    """In a worker: ``work()``, stopped by ParseError once it has run ``seconds``."""
    previous = signal.signal(signal.SIGALRM, _raise_over_budget)
    try:
        signal.setitimer(signal.ITIMER_REAL, seconds)
        try:
            return work()
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
    except _OverBudget:
        raise ParseError(over_budget(seconds)) from None
    finally:
        signal.signal(signal.SIGALRM, previous)


def _raise_over_budget(_signum: int, _frame: Any) -> None:
    raise _OverBudget


def _stop(pool: ProcessPoolExecutor, grace: float, *, cancel_waiting: bool) -> None:
    """Shut ``pool`` down, letting its workers finish for ``grace`` seconds, then kill them;
    ``cancel_waiting`` cancels the runs not started yet.
    """
    # ProcessPoolExecutor has no public way to kill its workers before Python 3.14.
    processes: list[BaseProcess] = list((pool._processes or {}).values())
    pool.shutdown(wait=False, cancel_futures=cancel_waiting)
    deadline = time.monotonic() + grace
    for process in processes:
        process.join(max(0.0, deadline - time.monotonic()))
    for process in processes:
        if process.is_alive():
            process.kill()
    for process in processes:
        process.join()


def die_with_parent(parent_pid: int) -> None:
    """In a worker: ask Linux to SIGKILL this process when its parent dies (no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the request was made
