"""A result's ``config`` reproduces the run: built again and re-run, it gives the same result."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alphaforge.core.panel import Panel
from alphaforge.core.rules import BacktestConfig
from alphaforge.sim.result import BacktestResult
from alphaforge.sim.vectorized import run_backtest
from alphaforge.strategy.base import Signals, Strategy, StrategyData
from alphaforge.strategy.registry import make_strategy

N, SYMBOLS = 300, ("AAA", "BBB", "CCC")


def _panel() -> Panel:
    rng = np.random.default_rng(7)
    close = 50 * np.exp(np.cumsum(rng.normal(0.0003, 0.02, (N, len(SYMBOLS))), axis=0))
    open_ = close * np.exp(rng.normal(0, 0.004, close.shape))
    high = np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, close.shape))
    low = np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, close.shape))
    index = pd.date_range("2021-01-04", periods=N, freq="B", tz="UTC", name="timestamp")
    return Panel(
        index=index, symbols=SYMBOLS, timeframe="1d", open=open_, high=high, low=low,
        close=close, volume=np.full(close.shape, 1e6),
    )  # fmt: skip


class DipBuyer(Strategy):
    """Every 10th bar, bid 1% under the close (so ``order_type: auto`` trades limit orders)."""

    name = "dip_buyer"

    def signals(self, data: StrategyData) -> Signals:
        close = data.close
        entries = np.zeros(close.shape, dtype=bool)
        entries[::10] = True
        exits = np.zeros(close.shape, dtype=bool)
        exits[5::10] = True
        return Signals(entries=entries, exits=exits, limit_price=close * 0.99)


CASES: list[Any] = [
    ("defaults", ("sma_cross", {"fast": 5, "slow": 20}), {}),
    (
        "costs_exits_sizing_risk",
        ("sma_cross", {"fast": 5, "slow": 20}),
        {
            "costs": {"commission": "ib", "slippage": "2bps+spread=10bps+0.1atr"},
            "exits": {"stop_loss": "2atr", "take_profit": "0.7%", "trailing_stop": "1.5"},
            "sizing": {"method": "fraction", "value": 0.3},
            "risk": {"max_positions": 2, "max_drawdown": 0.3, "daily_loss_limit": 0.005},
        },
    ),
    (
        "long_short_vol_target",
        ("sma_cross", {"fast": 5, "slow": 20}),
        {
            "direction": "long_short",
            "sizing": {"method": "vol_target", "value": 0.1},
            "costs": {"commission": 0.0015, "borrow_fee": 0.02, "margin": 1.5},
        },
    ),
    ("fill_close", ("sma_cross", {"fast": 5, "slow": 20}), {"fill": "close"}),
    ("limit_prices_auto", (DipBuyer, {}), {"time_in_force": "gtc"}),
    (
        "weights",
        # the strategy gives its own rebalance bars (its rebalance parameter)
        ("momentum_rotation", {"lookback": 40, "skip": 5, "top_n": 2, "rebalance": "weekly"}),
        {"risk": {"max_weight": 0.4}, "periods_per_year": 250},
    ),
]


def _same_records(a: np.ndarray, b: np.ndarray) -> None:
    """Equal record arrays, NaN equal to NaN (field by field for structured records)."""
    assert a.dtype == b.dtype and a.shape == b.shape
    for name in a.dtype.names or ():
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    if not a.dtype.names:
        np.testing.assert_array_equal(a, b)


def _run(strategy: Any, panel: Panel, config: BacktestConfig) -> BacktestResult:
    name, params = strategy
    return run_backtest(make_strategy(name, params), panel, config)


@pytest.mark.parametrize(("name", "strategy", "data"), CASES)
def test_rerun_from_result_config_is_identical(
    name: str, strategy: Any, data: dict[str, Any], tmp_path: Path
) -> None:
    panel = _panel()
    first = _run(strategy, panel, BacktestConfig.build(data, source=name))
    written = BacktestResult.from_json(first.to_json(tmp_path / "result.json")).config
    assert written == json.loads(json.dumps(first.config))
    again = _run(strategy, panel, BacktestConfig.build(written, source=f"{name} result.config"))
    assert again.config == first.config
    assert again.warnings == first.warnings
    np.testing.assert_array_equal(again.equity_values, first.equity_values)
    for kind in ("trade_records", "order_records", "event_records"):
        _same_records(getattr(again, kind), getattr(first, kind))
    assert again.metrics == pytest.approx(first.metrics, nan_ok=True)
