"""A sweep on a Dask LocalCluster (real worker processes) equals the in-process run."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import load_run_spec
from alphaforge.data.sample import generate_daily
from alphaforge.optimize.store import SweepStore
from alphaforge.services.backtest import to_panel
from alphaforge.services.optimize import SweepRequest, run_sweep

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_dask_local_cluster_equals_local_run(settings: AppSettings) -> None:
    bars = generate_daily(seed=5, n_symbols=3, years=3)
    panel = to_panel(bars[bars["symbol"] != "SYNIDX"], "1d")
    spec = load_run_spec(None, {"strategy": "sma_cross"})

    def req(**kw: object) -> SweepRequest:
        return SweepRequest(spec=spec, grids=["fast=3:12:3", "slow=15:45:15"], chunk_size=3,
                            **kw)  # type: ignore[arg-type]  # fmt: skip

    local = run_sweep(req(workers=1), AppSettings(home=settings.home / "l"), panel=panel)
    dask = run_sweep(req(dask="local", workers=2), AppSettings(home=settings.home / "d"),
                     panel=panel)  # fmt: skip
    assert dask.job_id == local.job_id and dask.outcome.ran == local.outcome.ran == 12
    pd.testing.assert_frame_equal(local.table, dask.table, check_exact=True)
    a = SweepStore(local.directory, {}).returns_matrix()
    b = SweepStore(dask.directory, {}).returns_matrix()
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])


def test_existing_scheduler_address(settings: AppSettings) -> None:
    from dask.distributed import LocalCluster

    bars = generate_daily(seed=5, n_symbols=2, years=2)
    panel = to_panel(bars[bars["symbol"] != "SYNIDX"], "1d")
    spec = load_run_spec(None, {"strategy": "sma_cross"})
    req = SweepRequest(spec=spec, grids=["fast=3,6", "slow=15,30"], workers=1)
    local = run_sweep(req, AppSettings(home=settings.home / "l"), panel=panel)
    with LocalCluster(
        n_workers=1, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        req.dask = cluster.scheduler_address
        remote = run_sweep(req, AppSettings(home=settings.home / "r"), panel=panel)
    pd.testing.assert_frame_equal(local.table, remote.table, check_exact=True)
