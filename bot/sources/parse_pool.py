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
"""

from __future__ import annotations

import asyncio
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from bot.errors import ParseError

_R = TypeVar("_R")
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class ParsePool:
    """Runs pure functions in worker processes; ``aclose`` stops them."""

    def __init__(self, workers: int | None = None) -> None:
        self._workers = workers or os.cpu_count() or 1
        self._pool: ProcessPoolExecutor | None = None

    async def run(self, work: Callable[[], _R]) -> _R:
        """``work()`` in a worker (``work`` must pickle: a module-level function or
        a partial of one); raises ParseError when the worker died.
        """
        pool = self._started()
        try:
            return await asyncio.get_running_loop().run_in_executor(pool, work)
        except BrokenProcessPool as err:
            if self._pool is pool:
                self._pool = None  # the next source starts a fresh pool
                pool.shutdown(wait=False)
            raise ParseError(f"parse worker died: {err}") from err

    async def aclose(self) -> None:
        """Stop the workers (waits for the parses under way)."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)

    def _started(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                max_workers=self._workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=die_with_parent,
                initargs=(os.getpid(),),
            )
        return self._pool


def die_with_parent(parent_pid: int) -> None:
    """In a worker: ask Linux to SIGKILL this process when its parent dies (no-op elsewhere)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:
        os._exit(1)  # the parent died before the request was made
