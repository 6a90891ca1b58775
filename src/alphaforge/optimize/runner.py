"""Local executors: in-process (one worker) and a process pool (``--workers N``).

Every executor has the same two methods: ``run(tasks)`` yields :class:`ChunkResult` objects
as chunks finish (any order) and ``close()``. The context is shipped once per worker process
(pool initializer); tasks carry only trial parameters.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from typing import Protocol

from alphaforge.optimize.worker import ChunkResult, SweepContext, Task, run_task


class Executor(Protocol):
    """Runs chunks of trials somewhere and hands back their results as they finish."""

    workers: int

    def run(self, tasks: Iterable[Task]) -> Iterator[ChunkResult]: ...

    def close(self) -> None: ...


def default_workers() -> int:
    """Cores available to this process."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


class SerialExecutor:
    """Runs chunks in this process (``--workers 1``)."""

    workers = 1

    def __init__(self, ctx: SweepContext) -> None:
        self.ctx = ctx

    def run(self, tasks: Iterable[Task]) -> Iterator[ChunkResult]:
        for task in tasks:
            yield run_task(self.ctx, task)

    def close(self) -> None:
        return None


# The worker process's copy of the context, set once by the pool initializer. It lives only in
# worker processes (never in the parent), which is why a module global is acceptable here.
_WORKER_CTX: SweepContext | None = None


def _init_worker(ctx: SweepContext) -> None:
    global _WORKER_CTX
    # Ctrl-C goes to the whole process group: the parent alone handles it and stops the pool.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _WORKER_CTX = ctx


def _run_in_worker(task: Task) -> ChunkResult:
    assert _WORKER_CTX is not None, "worker not initialised"
    return run_task(_WORKER_CTX, task)


def _mp_context() -> mp.context.BaseContext:
    """Fork workers from a server that has imported alphaforge once (fast and fork-safe:
    the server has no threads); spawn where forkserver does not exist."""
    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["alphaforge.optimize.worker"])
        return ctx
    return mp.get_context("spawn")  # pragma: no cover - Windows


class ProcessExecutor:
    """A pool of ``workers`` processes; at most ``2 * workers`` chunks in flight."""

    def __init__(self, ctx: SweepContext, workers: int) -> None:
        self.workers = workers
        self._pool = ProcessPoolExecutor(
            max_workers=workers,
            mp_context=_mp_context(),
            initializer=_init_worker,
            initargs=(ctx,),
        )

    def run(self, tasks: Iterable[Task]) -> Iterator[ChunkResult]:
        pending: set[Future[ChunkResult]] = set()
        it = iter(tasks)
        try:
            while True:
                while len(pending) < 2 * self.workers:
                    task = next(it, None)
                    if task is None:
                        break
                    pending.add(self._pool.submit(_run_in_worker, task))
                if not pending:
                    return
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in done:
                    yield fut.result()
        finally:
            for fut in pending:
                fut.cancel()

    def close(self) -> None:
        """Cancel queued chunks and wait for the running ones (a chunk is short)."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def make_executor(
    ctx: SweepContext, workers: int | None = None, dask: str | None = None
) -> Executor:
    """The executor asked for: ``dask`` = ``"local"`` or a ``tcp://`` scheduler address."""
    if dask:
        from alphaforge.optimize.dask_runner import DaskExecutor

        return DaskExecutor(ctx, dask, workers)
    n = workers or default_workers()
    return SerialExecutor(ctx) if n <= 1 else ProcessExecutor(ctx, n)
