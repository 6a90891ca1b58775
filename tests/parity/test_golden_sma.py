"""Golden cross-checks: alphaforge vs backtesting.py and vectorbt on identical rules, real data.

Rules: long only, SMA(10)/SMA(50) crossover of the raw close decided at the close, filled at the
next open, 0.1% commission on entry and exit, no slippage, all-in whole shares
(floor(cash / (price * 1.001))), 100,000 start cash, open position valued at the last close.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import alphaforge
from alphaforge.indicators.averages import sma
from alphaforge.strategy.base import crossed_above
from tests.parity._peers import load_symbol, run_backtesting_py, run_vectorbt

pytestmark = [pytest.mark.parity, pytest.mark.integration]

CASH = 100_000.0
COMM = 0.001


def _signals(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    c = df["close"].to_numpy()
    fast, slow = sma(c, 10), sma(c, 50)
    return crossed_above(fast, slow), crossed_above(slow, fast)


@pytest.mark.parametrize("symbol", ["MSFT", "JPM", "XOM"])
def test_sma_cross_matches_backtesting_py_and_vectorbt(symbol: str) -> None:
    df = load_symbol(symbol)
    ent, ex = _signals(df)
    res = alphaforge.backtest(
        "sma_cross", df, params={"fast": 10, "slow": 50}, commission="0.1%", slippage="0"
    )
    # the built-in strategy produces exactly the signals handed to the peers
    t = res.trades
    assert len(t) > 20

    bt_final, bt_trades = run_backtesting_py(df, ent, ex, CASH, COMM)
    vb_final, vb_trades = run_vectorbt(df, ent, ex, CASH, COMM)

    assert res.final_equity == pytest.approx(bt_final, rel=1e-6)
    assert res.final_equity == pytest.approx(vb_final, rel=1e-6)

    # same trades: entry/exit prices and sizes (backtesting.py lists closed trades only)
    closed = t[t["exit_reason"] != "end_of_data"]
    assert len(closed) == len(bt_trades)
    np.testing.assert_allclose(closed["entry_price"], bt_trades["EntryPrice"], rtol=1e-12)
    np.testing.assert_allclose(closed["exit_price"], bt_trades["ExitPrice"], rtol=1e-12)
    np.testing.assert_array_equal(closed["quantity"], bt_trades["Size"].abs())
    np.testing.assert_allclose(closed["pnl"], bt_trades["PnL"], rtol=1e-9, atol=1e-6)

    assert len(t) == len(vb_trades)
    np.testing.assert_array_equal(t["quantity"].to_numpy(), vb_trades["Size"].to_numpy())
    np.testing.assert_allclose(t["entry_price"], vb_trades["Avg Entry Price"], rtol=1e-12)
