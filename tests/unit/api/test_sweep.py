"""``alphaforge.sweep``: each trial's metrics are those of a backtest with its parameters, on
either engine; the per-symbol table is the sweep service's aggregation; errors come first."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import alphaforge
from alphaforge.api.sweeps import plateau_of
from alphaforge.core.errors import AlphaforgeError, ConfigError, IdleSettingError, StrategyError
from alphaforge.optimize import analysis
from alphaforge.optimize.worker import METRIC_COLUMNS
from tests.limit_some import LimitSome

GRID = {"fast": [5, 10, 20], "slow": [20, 40]}  # (20, 20) is refused by sma_cross
SHARED = ("total_return", "cagr", "sharpe", "sortino", "max_drawdown", "num_trades",
          "final_equity")  # fmt: skip


@pytest.mark.parametrize("fast", [None, False])
def test_trials_equal_single_backtests(one: pd.DataFrame, fast: bool | None) -> None:
    s = alphaforge.sweep("sma_cross", one, GRID, fast=fast, workers=1, commission="0.1%")
    assert s.engine == ("batch" if fast is None else "full")
    assert s.invalid == [4]  # grid position of fast=20, slow=20
    assert list(s.trials["trial_id"]) == [0, 1, 2, 3, 5]
    for row in s.trials.itertuples(index=False):
        ref = alphaforge.backtest("sma_cross", one, params={"fast": row.fast, "slow": row.slow},
                                  commission="0.1%")  # fmt: skip
        for key in SHARED:
            assert getattr(row, key) == pytest.approx(ref.metrics[key], rel=1e-9, nan_ok=True)
    best = s.trials.iloc[int(s.trials["sharpe"].to_numpy().argmax())]
    assert s.best_params == {"fast": int(best["fast"]), "slow": int(best["slow"])}
    again = s.backtest()
    assert again.metrics["sharpe"] == pytest.approx(float(best["sharpe"]), rel=1e-9)


def test_batch_and_full_engines_agree_per_symbol(bars: pd.DataFrame) -> None:
    quick = alphaforge.sweep("sma_cross", bars, GRID, workers=1)
    full = alphaforge.sweep("sma_cross", bars, GRID, fast=False, workers=1)
    assert quick.per_symbol and full.per_symbol
    assert quick.engine == "batch" and full.engine == "full"
    cols = [*SHARED, "objective_mean", "share_positive", "n_symbols", "objective", "plateau"]
    pd.testing.assert_frame_equal(quick.trials[["trial_id", "fast", "slow", *cols]],
                                  full.trials[["trial_id", "fast", "slow", *cols]],
                                  check_dtype=False, rtol=1e-9)  # fmt: skip
    sym = quick.panel.symbols[1]
    one_sym = quick.backtest(symbol=sym)
    ref = alphaforge.backtest("sma_cross", bars, symbols=[sym], params=quick.best_params)
    assert one_sym.metrics["sharpe"] == pytest.approx(ref.metrics["sharpe"], rel=1e-12)
    with pytest.raises(ConfigError, match="symbol=None: this sweep ran each symbol"):
        quick.backtest()
    assert set(full.trials.columns) - set(quick.trials.columns) == {
        "annual_volatility",
        "calmar",
        "omega",
        "ulcer_index",
        "expectancy",
        "exposure_time",
        "turnover",
        "fees",
    }  # the batched kernel's table holds only what it computes


def test_per_symbol_table_is_the_service_aggregation(bars: pd.DataFrame) -> None:
    s = alphaforge.sweep("sma_cross", bars, GRID, constraints=["num_trades>=3"], workers=1)
    rows = s.symbol_trials
    assert len(rows) == len(s.trials) * bars["symbol"].nunique()
    rows = rows.assign(**{m: np.nan for m in METRIC_COLUMNS if m not in rows})  # not computed
    ref = analysis.trial_table(rows, ["fast", "slow"], "sharpe", s_rules := [
        analysis.parse_constraint("num_trades>=3")])  # fmt: skip
    assert s_rules[0].metric == "num_trades"
    for col in ("sharpe", "num_trades", "objective_mean", "share_positive", "feasible"):
        np.testing.assert_allclose(s.trials[col].to_numpy(dtype=float),
                                   ref[col].to_numpy(dtype=float), rtol=1e-12)  # fmt: skip
    # a symbol's own sweep gives the same per-symbol numbers
    sym = rows["symbol"].iloc[0]
    alone = alphaforge.sweep("sma_cross", bars, GRID, symbols=[sym], workers=1)
    mine = rows[rows["symbol"] == sym].set_index("trial_id")["sharpe"]
    np.testing.assert_allclose(alone.trials.set_index("trial_id")["sharpe"], mine, rtol=1e-12)


def test_plateau_matches_the_service_definition() -> None:
    rng = np.random.default_rng(3)
    table = pd.DataFrame({"a": rng.integers(0, 6, 60), "b": rng.choice(["x", "y", "z"], 60),
                          "objective": rng.normal(size=60)})  # fmt: skip
    table.loc[::7, "objective"] = np.nan
    table["b"] = table["b"].astype(object)
    got = plateau_of([table["a"].to_numpy(), table["b"].to_numpy()], table["objective"].to_numpy())
    np.testing.assert_allclose(got, analysis.plateau(table, ["a", "b"]), rtol=1e-12)


def test_random_search_and_explicit_sets(one: pd.DataFrame) -> None:
    s = alphaforge.sweep("sma_cross", one, space={"fast": (5, 30), "slow": [40, 60, 80]},
                         n_trials=7, seed=1)  # fmt: skip
    assert len(s.trials) == 7 and s.trials["fast"].between(5, 30).all()
    sets = [{"fast": 5, "slow": 40}, {"fast": 12, "slow": 33}]
    listed = alphaforge.sweep("sma_cross", one, sets)
    assert listed.trials[["fast", "slow"]].to_dict("records") == sets


def test_result_views(one: pd.DataFrame, tmp_path: Path) -> None:
    s = alphaforge.sweep("sma_cross", one, GRID)
    fig = s.plot()
    assert fig.data[0].type == "heatmap" and alphaforge.plot(s).data[0].type == "heatmap"
    assert np.nanmax(np.asarray(fig.data[0].z, dtype=float)) == pytest.approx(
        s.trials["objective"].max()
    )
    out = s.report(tmp_path / "best.html")
    assert out.exists() and "sma_cross" in out.read_text()
    assert "<table" in s._repr_html_()


class _Unreadable:
    """Data that fails if anything tries to read it."""

    def __getattr__(self, name: str) -> object:
        raise AssertionError(f"data was read ({name})")


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"grid": {"fsat": [5, 10]}}, ConfigError, "no parameter 'fsat'"),
        ({"grid": [{"fast": 5, "slwo": 20}]}, ConfigError, "no parameter 'slwo'"),
        ({"grid": GRID, "objective": "sharp"}, ConfigError, "sharp"),
        ({"grid": GRID, "constraints": ["trades>>3"]}, ConfigError, "trades>>3"),
        ({"grid": GRID, "comission": "0.1%"}, ConfigError, "comission"),
        ({"grid": GRID, "n_trials": 5}, ConfigError, "n_trials=5"),
        ({"grid": GRID, "seed": 3}, ConfigError, "seed=3"),
        ({"space": {"fast": (5, 9)}}, ConfigError, "n_trials=None"),
        ({"grid": GRID, "space": GRID}, ConfigError, "grid= and space="),
        ({"grid": GRID, "method": "bayes"}, ConfigError, "method='bayes'"),
        ({"grid": {"fast": [30], "slow": [10, 20]}}, ConfigError, "refuses every one"),
        ({"grid": None, "params": {"fats": 3}}, ConfigError, "fats"),
    ],
)
def test_bad_arguments_fail_before_the_data(kwargs: dict, error: type, words: str) -> None:
    with pytest.raises(error, match=None) as info:
        alphaforge.sweep("sma_cross", _Unreadable(), **kwargs)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_unknown_strategy_and_bad_data(bars: pd.DataFrame, one: pd.DataFrame) -> None:
    with pytest.raises(StrategyError, match="unknown strategy 'sma_crosss'"):
        alphaforge.sweep("sma_crosss", one, GRID)
    with pytest.raises(AlphaforgeError, match="symbols="):
        alphaforge.sweep("sma_cross", one, GRID, symbols=["NOPE"])
    with pytest.raises(ConfigError, match="objective='calmar' is not computed by fast=True"):
        alphaforge.sweep("sma_cross", one, GRID, fast=True, objective="calmar")
    with pytest.raises(ConfigError, match=r"fast=True: .*needs Signals"):
        alphaforge.sweep("momentum_rotation", bars, {"top_n": [1, 2]}, fast=True)
    weights = alphaforge.sweep("momentum_rotation", bars, {"top_n": [1, 2]}, params={"lookback": 60},
                               workers=1)  # fmt: skip
    assert weights.engine == "full" and len(weights.trials) == 2


@pytest.mark.parametrize(("min_trades", "constraints"), [(None, []), (4, ["sharpe>0"]), (0, [])])
def test_table_equals_the_sweep_service(
    one: pd.DataFrame, tmp_path: Path, min_trades: int | None, constraints: list[str]
) -> None:
    from alphaforge.api.inputs import run_config, run_spec
    from alphaforge.config.settings import load_settings
    from alphaforge.services.backtest import to_panel
    from alphaforge.services.optimize import SweepRequest, run_sweep

    grid = {"fast": [5, 10, 20], "slow": [40, 60]}
    s = alphaforge.sweep("sma_cross", one, grid, min_trades=min_trades, constraints=constraints,
                         fast=False, workers=1)  # fmt: skip
    req = SweepRequest(spec=run_spec(run_config(None, None), "sma_cross", {}),
                       grids=["fast=5,10,20", "slow=40,60"], constraints=constraints,
                       min_trades=min_trades, workers=1)  # fmt: skip
    ref = run_sweep(req, load_settings(tmp_path), panel=to_panel(one))
    cols = ["trial_id", "fast", "slow", "sharpe", "num_trades", "objective", "feasible", "plateau"]
    pd.testing.assert_frame_equal(s.trials[cols].reset_index(drop=True),
                                  ref.table[cols].reset_index(drop=True), check_dtype=False)  # fmt: skip
    assert s.guard_relaxed == ref.guard_relaxed
    assert s.best_params == ref.best["raw"]["params"]


def test_minimum_trades_guard(one: pd.DataFrame) -> None:
    s = alphaforge.sweep("sma_cross", one, GRID, min_trades=6)
    assert "num_trades>=6" in s.constraints and not s.guard_relaxed
    np.testing.assert_array_equal(s.trials["feasible"], s.trials["num_trades"] >= 6)
    default = alphaforge.sweep("sma_cross", one, GRID)  # three years: no trial reaches 30
    assert default.guard_relaxed and default.trials["feasible"].all()
    with pytest.raises(ConfigError, match="min_trades=-1"):
        alphaforge.sweep("sma_cross", _Unreadable(), GRID, min_trades=-1)


def test_trials_refused_as_their_backtest_are_named(one: pd.DataFrame) -> None:
    """time_in_force acts on the trials that give limit prices: the others are refused as their
    backtest would be, the sweep picks among the rest and says so; when every trial is
    refused, the error names the rule."""
    grid = {"fast": [5, 10], "slow": [40], "limit": [True, False]}
    s = alphaforge.sweep(LimitSome, one, grid, time_in_force="gtc", min_trades=0)
    assert len(s.warnings) == 1 and s.warnings[0].startswith("2 failed (first: time_in_force: ")
    refused = s.trials[~s.trials["limit"].astype(bool)]
    assert refused["objective"].isna().all() and not refused["feasible"].any()
    assert refused["error"].str.startswith("time_in_force: ").all()  # each one's own error
    assert (s.trials.loc[s.trials["limit"].astype(bool), "error"].fillna("") == "").all()
    assert bool(s.best["limit"])
    with pytest.raises(AlphaforgeError, match="time_in_force"):
        alphaforge.backtest(LimitSome, one, params={"limit": False}, time_in_force="gtc")
    clean = alphaforge.sweep("sma_cross", one, GRID, min_trades=0)
    assert clean.warnings == [] and "error" not in clean.trials  # no run failed
    market = {"fast": [5, 10], "slow": [40, 50]}  # every trial's entries are market orders
    with pytest.raises(ConfigError, match=r"; 4 failed \(first: time_in_force: "):
        alphaforge.sweep(LimitSome, one, market, time_in_force="gtc", min_trades=0, fast=False)
    with pytest.raises(IdleSettingError, match=r"^time_in_force: "):  # batched: before results
        alphaforge.sweep(LimitSome, one, market, time_in_force="gtc", min_trades=0)
