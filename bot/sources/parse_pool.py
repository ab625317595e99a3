"""Parsing feeds in a pool of processes, several feeds to a pool task while it is busy.

Parsing is the CPU-heavy part of ingestion; the Poller's event loop hands each
feed's parse job here (docs/performance.md, "Ingestion"). The pool's workers
come from a fork server; a job's own error comes back as that job's error.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import pickle
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor
from functools import cache, partial
from typing import Any, TypeVar

_Parsed = TypeVar("_Parsed")

MAX_PARSE_PROCESSES = 4  # the default parse pool: one process a CPU, at most this many
PARSE_TASKS_PER_PROCESS = 2  # pool tasks in flight a process: one running, one queued
PARSE_BATCH = 8  # feeds in one pool task at most (only while the pool is busy)
# What every parse job imports, loaded once in the fork server: each worker is then a
# fork of it, ready to parse, instead of importing lxml, feedparser, trafilatura and
# the store on its first job (~1.5 CPU s a worker, paid inside the first cycle).
PRELOADED_MODULES = ("bot.sources.ingest",)
# Parse workers run at a lower CPU priority than the process that starts them. On a
# busy machine the event loop (the batch writer, chat replies, delivery) then gets
# the CPU it asks for and parsing takes the rest: the writer no longer falls behind
# and leaves a backlog to drain after the last parse (docs/performance.md, round 6).
PARSE_NICENESS = 10


def default_parse_processes() -> int:
    """Parse processes used when the Poller is given none: one a CPU (at most
    MAX_PARSE_PROCESSES) when there is more than one CPU, else 0 (a worker thread).
    """
    cpus = os.cpu_count() or 1
    return min(cpus, MAX_PARSE_PROCESSES) if cpus > 1 else 0


@cache
def shared_parse_pool(processes: int) -> ProcessPoolExecutor:
    """The process's one pool of ``processes`` parse workers, started on first use.

    Workers come from a fork server, never from a fork of this (threaded)
    process; concurrent.futures shuts them down when the interpreter exits.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(PRELOADED_MODULES))  # if the server is not up yet
    return ProcessPoolExecutor(processes, mp_context=context, initializer=lower_priority)


def lower_priority() -> None:
    """A parse worker's start: PARSE_NICENESS below its parent (where the OS allows it)."""
    with contextlib.suppress(OSError, AttributeError):  # no os.nice on Windows
        os.nice(PARSE_NICENESS)


async def start_workers(executor: Executor, processes: int) -> None:
    """Have the pool start its ``processes`` workers now, not on the first parse job."""
    loop = asyncio.get_running_loop()
    # concurrent.futures starts a worker for each task submitted while none is idle.
    await asyncio.gather(*(loop.run_in_executor(executor, os.getpid) for _ in range(processes)))


_JobOutcome = tuple[bool, Any]  # (True, result) or (False, exception)


def run_parse_jobs(jobs: Sequence[Callable[[], Any]]) -> list[_JobOutcome]:
    """Run several parse jobs in one process-pool task; each one's result or error.

    One job's failure is its own: it comes back as that job's exception. An
    exception that cannot be pickled (or read back) is replaced by that error,
    as concurrent.futures does for a single task's unpicklable exception: one
    that failed to unpickle in this process would break the whole pool.
    """
    outcomes: list[_JobOutcome] = []
    for job in jobs:
        try:
            outcomes.append((True, job()))
        except Exception as err:  # the job's own failure, sent back as its result
            outcomes.append((False, _picklable(err)))
    return outcomes


def _picklable(err: Exception) -> Exception:
    try:
        pickle.loads(pickle.dumps(err))
    except Exception as pickling_error:  # sent back instead, as concurrent.futures would
        return pickling_error
    return err


class ParseBatcher:
    """Hands parse jobs to a process pool, several to a task while the pool is busy.

    At most ``in_flight`` tasks are in the pool; jobs that arrive meanwhile wait
    and leave together (up to ``max_batch``) when a task comes back. An idle
    pool gets a job at once, so batching adds no delay; a busy one gets fewer,
    larger tasks: fewer pickles, futures, pipe writes and wake-ups in this
    process, which is the ingest cycle's critical path (docs/performance.md).
    """

    def __init__(self, executor: Executor, in_flight: int, max_batch: int) -> None:
        self.executor = executor
        self._in_flight = in_flight
        self._max_batch = max_batch
        self._busy = 0
        self._waiting: list[tuple[Callable[[], Any], asyncio.Future[Any]]] = []

    async def run(self, job: Callable[[], _Parsed]) -> _Parsed:
        """The job's result, computed in the pool; raises what the job raised."""
        future: asyncio.Future[_Parsed] = asyncio.get_running_loop().create_future()
        self._waiting.append((job, future))
        self._dispatch()
        return await future

    def _dispatch(self) -> None:
        self._waiting = [(job, future) for job, future in self._waiting if not future.done()]
        while self._waiting and self._busy < self._in_flight:
            batch = self._waiting[: self._max_batch]
            del self._waiting[: len(batch)]
            jobs = [job for job, _ in batch]
            loop = asyncio.get_running_loop()
            try:
                task = loop.run_in_executor(self.executor, run_parse_jobs, jobs)
            except Exception as err:  # a broken or shut-down pool: these jobs fail with it
                _fail(batch, err)
                continue
            self._busy += 1
            task.add_done_callback(partial(self._settle, batch))

    def _settle(
        self, batch: list[tuple[Callable[[], Any], asyncio.Future[Any]]], task: asyncio.Future[Any]
    ) -> None:
        self._busy -= 1
        if task.cancelled():  # the pool cancelled the task (shut down with cancel_futures)
            for _, future in batch:
                future.cancel()
        elif (error := task.exception()) is not None:
            _fail(batch, error)
        else:
            for (_, future), (ok, value) in zip(batch, task.result(), strict=True):
                if future.done():
                    continue  # its source gave up waiting (cancelled)
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)
        self._dispatch()


def _fail(batch: list[tuple[Callable[[], Any], asyncio.Future[Any]]], error: BaseException) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(error)
