"""run_batch gives the same metrics as alphaforge.backtest for the same parameter sets.

The reference is the single-backtest path (``alphaforge.backtest`` -> ``run_backtest`` ->
``summary_metrics``, whose metric definitions are themselves checked against empyrical); the
batch path shares only the simulation kernel with it, so any drift in fills, sizing or the
metric reducer shows up here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import pytest

import alphaforge
from alphaforge.core.errors import BacktestError, IdleSettingError, StrategyError
from alphaforge.core.panel import Panel
from alphaforge.core.rules import BacktestConfig
from alphaforge.data.sample import generate_daily
from alphaforge.services.backtest import resolve_config, to_panel
from alphaforge.sim.batch import METRIC_NAMES, run_batch
from alphaforge.sim.kernels_batch import interleaved
from alphaforge.strategy.base import Signals, Strategy, StrategyData, TargetWeights

GRID = [{"fast": 5, "slow": 20}, {"fast": 10, "slow": 50}, {"fast": 20, "slow": 60}]


@pytest.fixture(scope="module")
def panel() -> Panel:
    bars = generate_daily(seed=7, n_symbols=3, years=4)
    return to_panel(bars[bars["symbol"] != "SYNIDX"])


def _reference(
    strategy: str | type[Strategy],
    data: Panel,
    params: dict[str, Any],
    config: BacktestConfig | None = None,
    symbols: Sequence[str] | None = None,
) -> np.ndarray:
    res = alphaforge.backtest(strategy, data, params=params, config=config, symbols=symbols)
    return np.array([res.metrics[k] for k in METRIC_NAMES])


def _assert_same(got: np.ndarray, ref: np.ndarray) -> None:
    # NaN / inf in the same places, finite values to 1e-12 relative
    np.testing.assert_array_equal(np.isnan(got), np.isnan(ref))
    np.testing.assert_allclose(got, ref, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "overrides",
    [
        {"commission": "0.1%", "slippage": "0"},
        {"commission": "0.005/share,min=1", "slippage": "5bps", "stop_loss": "5%"},
        {"commission": "0.1%", "slippage": "0", "take_profit": "2atr", "trailing_stop": "8%"},
    ],
)
def test_portfolio_trials_equal_single_backtests(panel: Panel, overrides: dict) -> None:
    cfg = resolve_config(None, **overrides)
    metrics, names = run_batch("sma_cross", GRID, panel, cfg)
    assert names == METRIC_NAMES and metrics.shape == (len(GRID), len(METRIC_NAMES))
    for i, params in enumerate(GRID):
        _assert_same(metrics[i], _reference("sma_cross", panel, params, config=cfg))
    assert np.all(metrics[:, names.index("num_trades")] > 0)


def test_long_short_and_chunks(panel: Panel) -> None:
    cfg = resolve_config({"direction": "long_short"}, commission="0.1%", slippage="0")
    whole, _ = run_batch("sma_cross", GRID, panel, cfg)
    chunked, _ = run_batch("sma_cross", GRID, panel, cfg, chunk_size=2, n_workers=1)
    np.testing.assert_array_equal(whole, chunked)
    for i, params in enumerate(GRID):
        _assert_same(whole[i], _reference("sma_cross", panel, params, config=cfg))


@pytest.mark.parametrize(
    "overrides",
    [{}, {"stop_loss": "5%", "take_profit": "2atr", "trailing_stop": "1.5atr"}],
)
def test_per_symbol_trials_equal_one_column_backtests(panel: Panel, overrides: dict) -> None:
    # with levels: the config's percentages shared by every symbol, ATR distances per symbol
    cfg = resolve_config(None, commission="0.1%", slippage="0", **overrides)
    metrics, names = run_batch("sma_cross", GRID, panel, cfg, per_symbol=True, chunk_size=2)
    assert metrics.shape == (len(GRID), 3, len(names))
    for i, params in enumerate(GRID):
        for j, sym in enumerate(panel.symbols):
            ref = _reference("sma_cross", panel, params, config=cfg, symbols=[sym])
            _assert_same(metrics[i, j], ref)


@pytest.mark.integration
def test_real_daily_bars_match_backtest() -> None:
    from alphaforge.testing import shared_data_file

    path = shared_data_file("us_equities_daily.parquet")
    df = pd.read_parquet(path, filters=[("symbol", "==", "MSFT")])
    df = df[(df["timestamp"] >= "2010-01-01") & (df["timestamp"] <= "2019-12-31")]
    p = to_panel(df[["symbol", "timestamp", "open", "high", "low", "close", "volume"]])
    cfg = resolve_config(None, commission="0.1%", slippage="0")
    metrics, _ = run_batch("sma_cross", GRID, p, cfg)
    for i, params in enumerate(GRID):
        _assert_same(metrics[i], _reference("sma_cross", p, params, config=cfg))


def test_reducer_degenerate_cases(panel: Panel) -> None:
    class Never(Strategy):
        name = "never"

        def signals(self, data: StrategyData) -> Signals:
            z = np.zeros(data.shape, dtype=bool)
            return Signals(entries=z, exits=z)

    metrics, names = run_batch(Never, [{}], panel)
    row = dict(zip(names, metrics[0], strict=True))
    # flat equity: no return, no drawdown, undefined ratios, no trades (hand-derived)
    assert row["final_equity"] == 100_000.0 and row["total_return"] == 0.0
    assert row["max_drawdown"] == 0.0 and row["num_trades"] == 0.0
    assert np.isnan(row["sharpe"]) and np.isnan(row["sortino"]) and np.isnan(row["win_rate"])
    _assert_same(metrics[0], _reference(Never, panel, {}))


def test_rejects_unsupported_outputs(panel: Panel) -> None:
    class Weights(Strategy):
        name = "weights"

        def signals(self, data: StrategyData) -> TargetWeights:
            return TargetWeights(weights=np.full(data.shape, 1.0 / data.shape[1]))

    with pytest.raises(BacktestError, match="target-weight"):
        run_batch(Weights, [{}], panel)

    class WithStops(Strategy):
        name = "with_stops"

        def signals(self, data: StrategyData) -> Signals:
            z = np.zeros(data.shape, dtype=bool)
            return Signals(entries=z, exits=z, stop_loss=data.close * 0.9)

    with pytest.raises(BacktestError, match="stop_loss"):
        run_batch(WithStops, [{}], panel)
    with pytest.raises(BacktestError, match="2 bars"):
        run_batch("sma_cross", GRID, panel.slice(panel.index[0], panel.index[0]))


@pytest.mark.parametrize(
    ("overrides", "key"),
    [({"time_in_force": "gtc"}, "time_in_force"),
     ({"stop_on_entry_bar": False}, "exits.stop_on_entry_bar"),
     ({"stop_loss": "5%", "ambiguity": "target_first"}, "exits.ambiguity")],
)  # fmt: skip
def test_an_order_rule_no_trial_acts_on_is_refused(panel: Panel, overrides: dict, key: str) -> None:
    """The trials' orders are market orders without the strategy's own levels, as in
    run_backtest, which refuses the same rule for each of them."""
    cfg = resolve_config(None, **overrides)
    with pytest.raises(IdleSettingError, match=f"^{key}: "):
        run_batch("sma_cross", GRID, panel, cfg)
    with pytest.raises(IdleSettingError, match=f"^{key}: "):
        alphaforge.backtest("sma_cross", panel, params=GRID[0], config=cfg)
    acts = resolve_config(None, stop_loss="5%", take_profit="5%", ambiguity="target_first")
    metrics, _ = run_batch("sma_cross", GRID, panel, acts)
    _assert_same(metrics[0], _reference("sma_cross", panel, GRID[0], config=acts))


def test_a_bad_parameter_set_is_named_before_any_work(panel: Panel) -> None:
    grid = [{"fast": 5, "slow": 20}, {"fast": 30, "slow": 20}]
    with pytest.raises(StrategyError, match=r"sma_cross: params: fast \(30\) must be smaller"):
        run_batch("sma_cross", grid, panel)
    with pytest.raises(StrategyError, match="sma_cross: parameter speed: unknown parameter"):
        run_batch("sma_cross", [{"fast": 5, "slow": 20, "speed": 1}], panel)


@pytest.mark.parametrize("n,threads", [(1, 2), (7, 1), (7, 2), (184, 2), (10, 3), (5, 8)])
def test_interleaved_order_is_a_permutation_spread_over_the_threads(n: int, threads: int) -> None:
    order = interleaved(n, threads)
    assert sorted(order.tolist()) == list(range(n))
    if n > threads > 1:
        # the first contiguous block (what prange gives one thread) samples the whole grid
        first = order[: n // threads]
        np.testing.assert_array_equal(first, np.arange(len(first)) * threads)


def test_every_thread_count_gives_the_same_metrics(panel: Panel) -> None:
    grid = [{"fast": f, "slow": s} for f in (3, 5, 8, 13) for s in (21, 34, 55)]
    one, _ = run_batch("sma_cross", grid, panel, None, per_symbol=True, n_workers=1)
    two, _ = run_batch("sma_cross", grid, panel, None, per_symbol=True, n_workers=2)
    port1, _ = run_batch("sma_cross", grid, panel, None, n_workers=1)
    port2, _ = run_batch("sma_cross", grid, panel, None, n_workers=2)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(port1, port2)
