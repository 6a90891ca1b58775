"""Multi-symbol mode: per-symbol rows equal single-symbol backtests; aggregates by hand."""

from __future__ import annotations

import statistics

import pandas as pd
import pytest

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import load_run_spec
from alphaforge.core.panel import Panel
from alphaforge.optimize.store import SweepStore
from alphaforge.services.backtest import backtest
from alphaforge.services.optimize import SweepRequest, run_sweep

COMBOS = [(5, 20), (5, 40), (10, 20), (10, 40)]


def test_per_symbol_rows_and_aggregates(panel3: Panel, settings: AppSettings) -> None:
    spec = load_run_spec(None, {"strategy": "sma_cross"})
    # min_trades=0: the per-symbol picks below are the best Sharpe with no trade minimum
    req = SweepRequest(spec=spec, grids=["fast=5,10", "slow=20,40"], workers=1, min_trades=0)
    rep = run_sweep(req, settings, panel=panel3)  # several symbols -> per-symbol by default
    ref: dict[tuple[int, int], dict[str, float]] = {}
    for f, s in COMBOS:
        ref[(f, s)] = {
            sym: backtest(
                "sma_cross", panel3, params={"fast": f, "slow": s}, symbols=[sym]
            ).metrics["sharpe"]
            for sym in panel3.symbols
        }
    rows = SweepStore(rep.directory, {}).trials()
    assert len(rows) == len(COMBOS) * len(panel3.symbols)
    for row in rows.to_dict("records"):
        got = ref[(row["fast"], row["slow"])][row["symbol"]]
        assert row["sharpe"] == pytest.approx(got, rel=1e-12)
    for t in rep.table.to_dict("records"):
        vals = list(ref[(t["fast"], t["slow"])].values())
        assert t["objective"] == pytest.approx(statistics.median(vals), rel=1e-12)
        assert t["objective_mean"] == pytest.approx(statistics.fmean(vals), rel=1e-12)
        assert t["share_positive"] == pytest.approx(sum(v > 0 for v in vals) / len(vals))
        assert t["n_symbols"] == len(panel3.symbols)
    assert rep.per_symbol_best is not None
    best = rep.per_symbol_best.set_index("symbol")
    for sym in panel3.symbols:
        expect = max(COMBOS, key=lambda k: ref[k][sym])
        assert (best.loc[sym, "fast"], best.loc[sym, "slow"]) == expect


def test_portfolio_mode_is_one_backtest_over_the_universe(
    panel3: Panel, settings: AppSettings
) -> None:
    spec = load_run_spec(None, {"strategy": "sma_cross", "sizing": {"method": "fraction"}})
    req = SweepRequest(spec=spec, grids=["fast=5", "slow=20"], workers=1, per_symbol=False)
    rep = run_sweep(req, settings, panel=panel3)
    res = backtest(
        "sma_cross",
        panel3,
        params={"fast": 5, "slow": 20},
        config={"sizing": {"method": "fraction"}},
    )
    assert len(rep.table) == 1 and rep.per_symbol_best is None
    assert rep.table.loc[0, "sharpe"] == pytest.approx(res.metrics["sharpe"], rel=1e-12)
    assert isinstance(rep.table, pd.DataFrame)
