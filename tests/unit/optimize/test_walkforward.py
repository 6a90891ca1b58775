"""Walk-forward: fold geometry, what data each run sees, trades inside test windows, leakage."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import load_run_spec
from alphaforge.core.errors import ConfigError
from alphaforge.core.panel import Panel
from alphaforge.core.rules import BacktestConfig
from alphaforge.optimize.walkforward import make_folds, run_test_window
from alphaforge.services.optimize import WalkForwardRequest, run_walkforward
from alphaforge.strategy.base import Signals, Strategy, StrategyData, StrategyParams, param
from alphaforge.strategy.library.sma_cross import SmaCross


def test_fold_geometry_by_hand() -> None:
    # 20 bars, train 8, test 4, stride 4: folds start at bars 0, 4, 8 (8 + 12 = 20 fits; 12 not)
    folds = make_folds(20, 8, 4, 4)
    assert [(f.train, f.test) for f in folds] == [
        ((0, 8), (8, 12)), ((4, 12), (12, 16)), ((8, 16), (16, 20))
    ]  # fmt: skip
    anchored = make_folds(20, 8, 4, 4, anchored=True)
    assert [f.train for f in anchored] == [(0, 8), (0, 12), (0, 16)]
    for f in folds + anchored:
        assert f.train[1] <= f.test[0]  # no train/test overlap
    with pytest.raises(ConfigError, match="overlap"):
        make_folds(20, 8, 4, 2)
    with pytest.raises(ConfigError, match="too few"):
        make_folds(10, 8, 4)


class SpySma(SmaCross):
    """sma_cross that records the first/last timestamp of every data window it is given."""

    name = "spy_sma"
    seen: ClassVar[list[tuple[pd.Timestamp, pd.Timestamp]]] = []

    def signals(self, data: StrategyData) -> Signals:
        SpySma.seen.append((data.index[0], data.index[-1]))
        return super().signals(data)


def _wf(panel: Panel, settings: AppSettings, strategy: type[Strategy], **kw: Any) -> Any:
    spec = load_run_spec(None, {"strategy": "sma_cross"})
    req = WalkForwardRequest(spec=spec, workers=1, train_len=200, test_len=60, **kw)
    return run_walkforward(req, settings, panel=panel, strategy=strategy)


def test_each_run_sees_only_its_window(panel1: Panel, settings: AppSettings) -> None:
    SpySma.seen.clear()
    wf = _wf(panel1, settings, SpySma, grids=["fast=5,10", "slow=20,30"])
    ix = panel1.index
    folds = make_folds(len(ix), 200, 60)
    calls = iter(SpySma.seen)
    for fold, row in zip(folds, wf.folds.itertuples(), strict=True):
        for _ in range(4):  # four valid combos trained on the train window only
            assert next(calls) == (ix[fold.train[0]], ix[fold.train[1] - 1])
        # the test run: warm-up (slow + 1 bars) before the window, nothing after it
        first, last = next(calls)
        assert last == ix[fold.test[1] - 1]
        assert first == ix[fold.test[0] - row.slow - 1]
    assert next(calls, None) is None


def test_trades_only_inside_test_windows_and_equity_chains(
    panel1: Panel, settings: AppSettings
) -> None:
    wf = _wf(panel1, settings, SmaCross, grids=["fast=3,5", "slow=10,15"])
    res = wf.result
    folds = make_folds(len(panel1.index), 200, 60)
    expect_index = np.concatenate([np.arange(*f.test) for f in folds])
    assert res.index.equals(panel1.index[expect_index])
    trades = res.trades
    assert len(trades) > 0
    for f in folds:
        lo, hi = panel1.index[f.test[0]], panel1.index[f.test[1] - 1]
        inside = (trades["entry_time"] >= lo) & (trades["entry_time"] <= hi)
        # a trade entered in this window also ends in it (forced exit at the last bar's open)
        assert (trades.loc[inside, "exit_time"] <= hi).all()
        assert (trades.loc[inside, "entry_time"] > lo).all()  # first signal bar fills next open
    # the OOS curve never jumps at fold boundaries: flat at the first test bar (no position)
    starts = np.cumsum([0] + [f.test[1] - f.test[0] for f in folds[:-1]])
    for s in starts[1:]:
        assert res.equity_values[s] == res.equity_values[s - 1]
    assert res.equity_values[0] == BacktestConfig.build().cash
    assert wf.folds["oos_num_trades"].sum() == len(trades)


def test_test_window_ignores_signals_before_its_start(panel1: Panel) -> None:
    strat = SmaCross({"fast": 3, "slow": 10})
    res, first = run_test_window(strat, panel1, BacktestConfig.build(), (300, 360), 50_000.0)
    assert first == 11 and len(res.index) == 60 + 11
    assert (res.equity_values[: first + 1] == 50_000.0).all()
    assert (res.trades["entry_time"] > panel1.index[300]).all()


class Noise(Strategy):
    """Pure noise, causal: long or flat per ISO week from a hash of (seed, week)."""

    name = "noise"

    class Params(StrategyParams):
        seed: int = param(0, ge=0, le=1000, description="noise stream")

    def signals(self, data: StrategyData) -> Signals:
        week = data.index.asi8 // (7 * 86_400 * 10**9)
        h = (week * 2654435761 + (self.params.seed + 1) * 40503) % 1_000_003
        long = (h % 2 == 1).reshape(-1, 1)
        return Signals(entries=long.copy(), exits=~long)


def test_selection_does_not_leak_test_data(panel1: Panel, settings: AppSettings) -> None:
    """Choosing among 40 noise streams on the train window: the chosen stream ranks first
    in-sample by construction; if test data leaked into the choice it would also rank first
    out-of-sample. Without leakage its OOS rank is uniform: mean percentile ~0.5."""
    wf = _wf(panel1, settings, Noise, grids=["seed=0:39"], objective="total_return")
    folds = make_folds(len(panel1.index), 200, 60)
    pct = []
    for k, (fold, row) in enumerate(zip(folds, wf.folds.itertuples(), strict=True)):
        cash = float(wf.result.equity_values[k * 60])  # each fold starts with the chained equity
        oos = {}
        for s in range(40):
            res, first = run_test_window(Noise({"seed": s}), panel1, BacktestConfig.build(),
                                         fold.test, cash)  # fmt: skip
            oos[s] = res.equity_values[-1] / res.equity_values[first] - 1
        chosen = oos[row.seed]
        assert row.oos_objective == pytest.approx(chosen, rel=1e-9, abs=1e-12)
        pct.append(np.mean([v <= chosen for v in oos.values()]))
    assert len(pct) >= 8 and np.mean(pct) < 0.85


def test_stitched_result_names_every_folds_parameters() -> None:
    from alphaforge.optimize.walkforward import fold_params

    per_fold = [{"fast": 10, "slow": 50}, {"fast": 20, "slow": 50}, {"fast": 20, "slow": 90}]
    assert fold_params(per_fold) == {
        "fast": "per fold: 10, 20, 20",
        "slow": "per fold: 50, 50, 90",
    }
    assert fold_params([]) == {}
    many = [{"fast": 5}] * 3 + [{"fast": 10}] * 7
    assert fold_params(many) == {"fast": "per fold: 10 (7 folds), 5 (3 folds)"}


def test_folds_without_an_oos_objective_are_explained() -> None:
    import pandas as pd

    from alphaforge.cli.optimize import nan_fold_notes

    folds = pd.DataFrame({
        "fold": [0, 1, 2, 3],
        "oos_objective": [0.5, float("nan"), float("nan"), 1.2],
        "oos_num_trades": [3, 0, 2, 1],
    })  # fmt: skip
    notes = nan_fold_notes(folds, "sortino")
    assert notes[0].startswith("1 of 4 folds have no out-of-sample sortino")
    assert notes[1].startswith("folds 2: sortino is undefined")
    assert nan_fold_notes(folds.iloc[[0, 3]], "sharpe") == []


def test_a_best_on_few_trades_is_warned() -> None:
    from types import SimpleNamespace

    import pandas as pd

    from alphaforge.cli.optimize import few_trades_notes, guard_lines
    from alphaforge.optimize.analysis import TradeGuard

    table = pd.DataFrame({"trial_id": [0, 1], "num_trades": [2.0, 45.0]})
    best = {"raw": {"trial_id": 0, "params": {"fast": 5}},
            "plateau": {"trial_id": 1, "params": {"fast": 10}}}  # fmt: skip
    notes = few_trades_notes(SimpleNamespace(table=table, best=best), "sharpe")
    assert len(notes) == 1 and "rests on 2 trades" in notes[0] and "--min-trades 30" in notes[0]
    relaxed = SimpleNamespace(table=table, best=best, guard_relaxed=True)
    assert "no trial reached 30 trades" in few_trades_notes(relaxed, "sharpe")[0]
    header = guard_lines(TradeGuard(), True)
    assert header[0] == "constraint: trades >= 30 (default; --min-trades 0 to disable)"
    assert "relaxed" in header[1]
