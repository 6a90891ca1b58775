"""``--fast``: the batched kernel gives the loop's numbers for the metrics it computes."""

from __future__ import annotations

import numpy as np
import pytest

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import load_run_spec
from alphaforge.core.errors import ConfigError
from alphaforge.core.panel import Panel
from alphaforge.optimize.analysis import FAST_METRICS
from alphaforge.services.optimize import SweepRequest, run_sweep
from alphaforge.strategy.base import StrategyData, TargetWeights
from alphaforge.strategy.library.sma_cross import SmaCross

GRID = ["fast=3:12:3", "slow=15:45:15"]


def _req(**kw: object) -> SweepRequest:
    spec = load_run_spec(None, {"strategy": "sma_cross"})
    return SweepRequest(spec=spec, grids=GRID, workers=1, **kw)  # type: ignore[arg-type]


def test_fast_matches_loop_on_its_metrics(panel3: Panel, settings: AppSettings) -> None:
    loop = run_sweep(_req(), AppSettings(home=settings.home / "l"), panel=panel3)
    fast = run_sweep(_req(fast=True), AppSettings(home=settings.home / "f"), panel=panel3)
    assert fast.job_id != loop.job_id  # different numbers -> different job
    assert fast.invalid == loop.invalid
    for m in FAST_METRICS:
        a, b = loop.table[m].to_numpy(float), fast.table[m].to_numpy(float)
        np.testing.assert_allclose(b, a, rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=m)
    assert fast.table["calmar"].isna().all()
    assert not any((fast.directory / "returns").glob("*.npy"))


def test_fast_rejects_objectives_it_does_not_compute(panel3: Panel, settings: AppSettings) -> None:
    with pytest.raises(ConfigError, match="--fast"):
        run_sweep(_req(fast=True, objective="calmar"), settings, panel=panel3)
    with pytest.raises(ConfigError, match="--fast"):
        run_sweep(_req(fast=True, constraints=["fees<100"]), settings, panel=panel3)


class Weights(SmaCross):
    """Target weights (not taken by the batched kernel): 1 while fast > slow."""

    name = "sma_weights"

    def signals(self, data: StrategyData) -> TargetWeights:  # type: ignore[override]
        p = self.params
        with np.errstate(invalid="ignore"):
            w = (data.sma(p.fast) > data.sma(p.slow)).astype(float)
        return TargetWeights(weights=w / data.shape[1], rebalance=np.ones(data.shape[0], bool))


def test_fast_falls_back_to_the_loop(panel3: Panel, settings: AppSettings) -> None:
    loop = run_sweep(_req(), AppSettings(home=settings.home / "l"), panel=panel3, strategy=Weights)
    fast = run_sweep(
        _req(fast=True), AppSettings(home=settings.home / "f"), panel=panel3, strategy=Weights
    )
    np.testing.assert_array_equal(fast.table["sharpe"], loop.table["sharpe"])
    assert fast.table["calmar"].notna().any()  # the loop computed everything
