"""Run sweep chunks on Dask: a fresh ``LocalCluster`` or an existing scheduler.

This is the only module of alphaforge that imports Dask. The context is scattered once to
every worker (``broadcast=True``); each task then references it, so a worker deserializes it
once and keeps its indicator cache across the chunks it runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from alphaforge.core.errors import ConfigError
from alphaforge.optimize.worker import ChunkResult, SweepContext, Task, run_task


class DaskExecutor:
    """Chunks as Dask tasks; ``address`` is ``"local"`` or ``tcp://HOST:PORT``."""

    def __init__(self, ctx: SweepContext, address: str, workers: int | None = None) -> None:
        from dask.distributed import Client, LocalCluster

        from alphaforge.optimize.runner import default_workers

        self._cluster: Any = None
        if address == "local":
            n = workers or default_workers()
            self._cluster = LocalCluster(
                n_workers=n, processes=True, threads_per_worker=1, dashboard_address=None
            )
            self.client = Client(self._cluster)
        else:
            if not address.startswith(("tcp://", "tls://", "inproc://")):
                raise ConfigError(f"--scheduler {address!r}: expected tcp://HOST:PORT")
            try:
                self.client = Client(address, timeout="10s")
            except OSError as exc:
                raise ConfigError(f"--scheduler {address}: cannot connect ({exc})") from None
        self.workers = max(1, len(self.client.scheduler_info().get("workers", {})))
        self._ctx = self.client.scatter(ctx, broadcast=True)

    def run(self, tasks: Iterable[Task]) -> Iterator[ChunkResult]:
        from dask.distributed import as_completed

        futures = [self.client.submit(run_task, self._ctx, t, pure=False) for t in tasks]
        if not futures:
            return
        try:
            for fut in as_completed(futures):
                result = fut.result()
                fut.release()  # the cluster may forget it: memory stays bounded
                yield result
        finally:
            self.client.cancel(futures)

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()
