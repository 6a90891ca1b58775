"""Sweeps against brute force over alphaforge.backtest, constraints, random and Optuna search."""

from __future__ import annotations

import itertools

import duckdb
import numpy as np
import pandas as pd
import pytest

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec, load_run_spec
from alphaforge.core.errors import ConfigError
from alphaforge.core.panel import Panel
from alphaforge.optimize.analysis import parse_constraint
from alphaforge.services.backtest import backtest
from alphaforge.services.optimize import SweepRequest, run_sweep

FAST, SLOW = (5, 10, 20), (10, 20, 40)
GRID = ["fast=5,10,20", "slow=10,20,40"]


def _spec(**kw: object) -> RunSpec:
    return load_run_spec(None, {"strategy": "sma_cross", **kw})


def _brute(panel: Panel) -> dict[tuple[int, int], dict[str, float]]:
    """Every valid combo backtested on its own through the public API."""
    out = {}
    for f, s in itertools.product(FAST, SLOW):
        if f < s:
            res = backtest("sma_cross", panel, params={"fast": f, "slow": s})
            out[(f, s)] = res.metrics
    return out


def test_grid_equals_brute_force(panel1: Panel, settings: AppSettings) -> None:
    rep = run_sweep(SweepRequest(spec=_spec(), grids=GRID, workers=1), settings, panel=panel1)
    brute = _brute(panel1)
    # 9 combos, 3 have fast >= slow and are rejected by SmaCrossParams: (10,10), (20,10), (20,20)
    assert rep.invalid == 3 and len(rep.table) == 6
    for _, row in rep.table.iterrows():
        ref = brute[(row["fast"], row["slow"])]
        for m in ("sharpe", "cagr", "max_drawdown", "num_trades", "final_equity"):
            assert row[m] == pytest.approx(ref[m], rel=1e-12, nan_ok=True)
    # the default guard: the best Sharpe among combos with >= 30 trades (all when none has)
    pool = {k: m for k, m in brute.items() if m["num_trades"] >= 30} or brute
    best = max(pool, key=lambda k: pool[k]["sharpe"])
    assert tuple(rep.best["raw"]["params"].values()) == best
    assert rep.best["raw"]["objective"] == pytest.approx(brute[best]["sharpe"], rel=1e-12)


def test_store_is_parquet_queryable_with_duckdb(panel1: Panel, settings: AppSettings) -> None:
    req = SweepRequest(spec=_spec(), grids=GRID, workers=1, min_trades=0)  # best over all trials
    rep = run_sweep(req, settings, panel=panel1)
    pattern = str(rep.directory / "trials" / "*.parquet")
    rel = duckdb.sql(f"select count(*), max(sharpe) from read_parquet('{pattern}')")
    assert rel is not None
    ((n, top),) = rel.fetchall()
    assert n == 6 and top == pytest.approx(rep.best["raw"]["objective"], rel=1e-12)
    assert (rep.directory / "heatmap.html").read_text().count("plotly") > 0
    assert (rep.directory / "parallel.html").exists()
    assert rep.outcome.complete and rep.outcome.ran == 9


def test_constraints_filter_best(panel1: Panel, settings: AppSettings) -> None:
    brute = _brute(panel1)
    # keep only combos with at least the median trade count; best must come from those
    trades = sorted(m["num_trades"] for m in brute.values())
    cut = trades[len(trades) // 2]
    req = SweepRequest(spec=_spec(), grids=GRID, workers=1, constraints=[f"num_trades>={cut}"])
    rep = run_sweep(req, settings, panel=panel1)
    ok = {k: m for k, m in brute.items() if m["num_trades"] >= cut}
    expect = max(ok, key=lambda k: ok[k]["sharpe"])
    assert tuple(rep.best["raw"]["params"].values()) == expect
    feasible = {(r.fast, r.slow) for r in rep.table.itertuples() if r.feasible}
    assert feasible == set(ok)


def test_constraint_parsing_and_drawdown_sign() -> None:
    c = parse_constraint("max_drawdown>-0.2")
    df = pd.DataFrame({"max_drawdown": [-0.1, -0.25, np.nan]})
    # -0.1 (10% drawdown) passes, -0.25 (25%) fails, NaN fails
    assert c.mask(df).tolist() == [True, False, False]
    assert c.slack(-0.1) <= 0 < c.slack(-0.25)
    assert parse_constraint("n_trades >= 30").metric == "num_trades"
    for bad in ("sharpe", "sharpe>>1", "nope>1", "sharpe>x"):
        with pytest.raises(ConfigError, match="--constraint"):
            parse_constraint(bad)


def test_random_search_is_seeded_and_subset_of_grid(panel1: Panel, settings: AppSettings) -> None:
    req = SweepRequest(spec=_spec(), grids=GRID, method="random", n_trials=5, seed=3, workers=1)
    a = run_sweep(req, settings, panel=panel1)
    req2 = SweepRequest(spec=_spec(), grids=GRID, method="random", n_trials=5, seed=3, workers=1)
    b = run_sweep(req2, AppSettings(home=settings.home / "other"), panel=panel1)
    pd.testing.assert_frame_equal(a.table, b.table)
    assert {(r.fast, r.slow) for r in a.table.itertuples()} <= set(_brute(panel1))


def test_optuna_reproducible_with_seed(panel1: Panel, settings: AppSettings) -> None:
    grids = ["fast=2:30", "slow=10:80:5"]

    def run(home: str, seed: int) -> pd.DataFrame:
        req = SweepRequest(spec=_spec(), grids=grids, method="optuna", n_trials=20, seed=seed,
                           workers=1, batch=8)  # fmt: skip
        return run_sweep(req, AppSettings(home=settings.home / home), panel=panel1).table

    a, b, c = run("a", 11), run("b", 11), run("c", 12)
    pd.testing.assert_frame_equal(a, b)
    assert not a[["fast", "slow"]].equals(c[["fast", "slow"]])
    assert ((a["fast"] >= 2) & (a["fast"] <= 30) & (a["slow"] % 5 == 0)).all()


def test_strategy_bug_stops_the_sweep_naming_the_trial(
    panel1: Panel, settings: AppSettings
) -> None:
    from alphaforge.core.errors import StrategyError
    from alphaforge.strategy.base import Signals, StrategyData
    from alphaforge.strategy.library.sma_cross import SmaCross

    class Buggy(SmaCross):
        name = "buggy"

        def signals(self, data: StrategyData) -> Signals:
            if self.params.fast == 10:
                raise ZeroDivisionError("oops")
            return super().signals(data)

    with pytest.raises(StrategyError, match=r"buggy \{'fast': 10, 'slow': 20\}.*ZeroDivisionError"):
        run_sweep(SweepRequest(spec=_spec(), grids=GRID, workers=1), settings, panel=panel1,
                  strategy=Buggy)  # fmt: skip
