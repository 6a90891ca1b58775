"""A backtest that placed orders and filled none says so (it used to exit 0 with 0 trades and
no word: every order rejected for cash, or a participation cap that left no volume)."""

from __future__ import annotations

import numpy as np

import alphaforge
from alphaforge.data.sample import generate_daily
from alphaforge.sim import codes as C
from alphaforge.sim.records import ORDER
from alphaforge.sim.vectorized import idle_warning

BARS = generate_daily(seed=3, n_symbols=1, years=2)
PARAMS = {"fast": 5, "slow": 20}


def test_every_order_rejected_for_cash_is_a_warning() -> None:
    poor = alphaforge.backtest("sma_cross", BARS, params=PARAMS, cash=1)
    assert poor.num_trades == 0 and len(poor.orders) > 0
    (line,) = [w for w in poor.warnings if w.startswith("no trade")]
    assert f"none of the {len(poor.orders)} orders filled (insufficient_cash x" in line
    rich = alphaforge.backtest("sma_cross", BARS, params=PARAMS)
    assert rich.num_trades > 0 and not [w for w in rich.warnings if w.startswith("no trade")]


def test_the_warning_counts_each_reason() -> None:
    orders = np.zeros(3, dtype=ORDER)
    orders["reason"] = [C.REASON_NO_CASH, C.REASON_NO_CASH, C.REASON_MAX_WEIGHT]
    orders["status"] = C.STATUS_REJECTED
    (line,) = idle_warning(orders, 0)
    assert "none of the 3 orders filled (insufficient_cash x2, " in line
    orders["qty"][0] = 1.0  # one filled in part: not idle
    assert idle_warning(orders, 0) == []
    assert idle_warning(orders[:0], 0) == [] and idle_warning(orders, 1) == []
