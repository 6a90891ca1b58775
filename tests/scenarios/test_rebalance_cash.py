"""A rebalance never spends fees it already paid: cash stays >= 0 when the cash cap binds.

Three symbols priced 100, target weights 1/3 each decided at bar 0's close, filled at bar 1's
open; 10,000 cash, a fixed 100 commission per order, no slippage.
Target: floor(3,333.33 / 100) = 33 shares each (3,300 + 100 fee = 3,400 per buy).
- buy A: buying power 10,000 -> 33 shares; cash 6,600; equity now 9,900 (fee paid)
- buy B: buying power 9,900 - 3,300 = 6,600 -> 33 shares; cash 3,200; equity 9,800
- buy C: buying power 9,800 - 6,600 = 3,200 -> (3,200 - 100) / 100 = 31 shares; cash 0
(Counting the fees twice as buying power would buy 33 of C and leave cash at -200.)
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphaforge.core.panel import Panel
from alphaforge.core.rules import BacktestConfig
from alphaforge.sim.vectorized import run_backtest
from alphaforge.strategy.base import Strategy, StrategyData, TargetWeights


class ThirdEach(Strategy):
    name = "third_each"

    def signals(self, data: StrategyData) -> TargetWeights:
        w = np.full(data.shape, np.nan)
        w[0] = 1.0 / 3.0
        rebalance = np.zeros(data.shape[0], dtype=bool)
        rebalance[0] = True
        return TargetWeights(weights=w, rebalance=rebalance)


def test_rebalance_buys_respect_fees_already_paid() -> None:
    idx = pd.date_range("2024-01-02", periods=3, freq="B", tz="UTC")
    px = np.full((3, 3), 100.0)
    panel = Panel(
        index=idx, symbols=("A", "B", "C"), open=px, high=px, low=px, close=px, volume=px * 1e4
    )
    cfg = BacktestConfig.build(
        {"cash": 10_000, "costs": {"commission": "100/order", "slippage": 0}}
    )
    res = run_backtest(ThirdEach(), panel, cfg)
    filled = res.orders[res.orders["status"] == "filled"]
    assert filled["quantity"].tolist() == [33, 33, 31]
    assert res.cash_values[1] == pytest.approx(0.0)
    assert (res.cash_values >= -1e-9).all()
