"""Record buffers are sized from the signals; a run that needs more room is repeated, not cut.

One entry signal for 100,000 shares at a constant price of 10, bar volume 1,000 and a 50%
participation cap: 500 shares fill per bar, so the order fills over 200 bars (bars 1..200) and
writes 200 order records -- far more than the room reserved for one entry signal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphaforge.core.panel import Panel
from alphaforge.core.rules import BacktestConfig
from alphaforge.sim.vectorized import run_backtest
from alphaforge.strategy.base import Signals, Strategy, StrategyData


class EnterOnce(Strategy):
    name = "enter_once_capacity"

    def signals(self, data: StrategyData) -> Signals:
        entries = np.zeros(data.shape, dtype=bool)
        entries[0, 0] = True
        return Signals(entries=entries, exits=np.zeros(data.shape, dtype=bool))


def test_many_partial_fills_are_all_recorded() -> None:
    n = 250
    idx = pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC")
    px = np.full((n, 1), 10.0)
    panel = Panel(index=idx, symbols=("X",), open=px, high=px, low=px, close=px, volume=px * 100)
    cfg = BacktestConfig.build(
        {"cash": 1_000_000, "costs": {"commission": 0, "slippage": 0, "participation": 0.5},
         "sizing": {"method": "shares", "value": 100_000}}
    )  # fmt: skip
    res = run_backtest(EnterOnce(), panel, cfg)
    fills = res.orders[res.orders["quantity"] > 0]
    assert len(fills) == 200
    assert fills["quantity"].sum() == pytest.approx(100_000)
    assert (fills["status"].iloc[:-1] == "partial").all()
    assert fills["status"].iloc[-1] == "filled"
    assert res.positions["X"].iloc[-1] == pytest.approx(100_000)
    # cash + position value == equity at every bar (nothing lost when the run was repeated)
    np.testing.assert_allclose(
        res.cash_values + res.positions["X"].to_numpy() * 10.0, res.equity_values
    )
