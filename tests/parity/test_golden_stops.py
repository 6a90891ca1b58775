"""Golden cross-check of protective exits: alphaforge vs backtesting.py and backtrader.

Rules (identical for the three engines): long only; SMA(10)/SMA(50) crossover of the raw close
decided at the close; market orders filled at the next open; a stop-loss at 0.95 x and a
take-profit at 1.10 x the signal bar's close, as absolute levels fixed at order time
(alphaforge: ``Signals.stop_loss`` / ``take_profit``; peers: ``sl``/``tp`` / bracket children);
0.1% commission on both legs; no slippage; all-in whole shares floor(cash / (open * 1.001));
100,000 start cash; an open position is valued at the last close.

Where the peers differ in their chronology, alphaforge is configured to match them:

* backtesting.py re-processes its order queue right after a market entry with sl/tp, so stops
  and targets are checked in the entry bar -> ``stop_on_entry_bar=True``. When both are inside
  one bar its SL order (kept at the front of the queue) wins -> ``ambiguity="stop_first"``.
* backtrader activates bracket children on the bar after the parent fills -> stops are not
  checked in the entry bar -> ``stop_on_entry_bar=False``. Its stop child precedes the limit
  child, so the stop wins in an ambiguous bar too.

A pending market exit and a stop/target in the same bar: alphaforge sells at the open, before
any intrabar level. backtesting.py does the same although its ``new_order`` puts SL orders at
the front of the queue: ``Trade.close()`` (called by ``position.close()``) bypasses
``new_order`` and inserts the close order at index 0, ahead of the SL/TP orders. backtrader's
exit cancels the bracket children and sends a market close that fills at the open. The case is
frequent on the real data (the bar after an exit signal reaches the stop below the open or the
target above it: MSFT 2, JPM 3, XOM 2 times; ADBE on 2002-01-02) and all three engines agree
there; the test asserts that the case occurs and that every engine filled at the open.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphaforge.core.panel import Panel
from alphaforge.indicators.averages import sma
from alphaforge.services.backtest import resolve_config, to_panel
from alphaforge.sim.result import BacktestResult
from alphaforge.sim.vectorized import run_backtest
from alphaforge.strategy.base import Signals, Strategy, StrategyData, crossed_above
from tests.parity._peers import load_symbol, run_backtesting_py, run_backtrader

pytestmark = [pytest.mark.parity, pytest.mark.integration]

CASH = 100_000.0
COMM = 0.001


class SmaCrossBracket(Strategy):
    """SMA(10/50) cross with absolute stop/target levels from the signal bar's close."""

    name = "sma_cross_bracket"

    def signals(self, data: StrategyData) -> Signals:
        c = data.close
        fast, slow = data.sma(10), data.sma(50)
        return Signals(
            entries=crossed_above(fast, slow),
            exits=crossed_above(slow, fast),
            stop_loss=c * 0.95,
            take_profit=c * 1.10,
        )


def _arrays(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    c = df["close"].to_numpy()
    fast, slow = sma(c, 10), sma(c, 50)
    return crossed_above(fast, slow), crossed_above(slow, fast), c * 0.95, c * 1.10


def _alphaforge(panel: Panel, stop_on_entry_bar: bool) -> BacktestResult:
    cfg = resolve_config(
        None,
        cash=CASH,
        commission="0.1%",
        slippage="0",
        stop_on_entry_bar=stop_on_entry_bar,
        ambiguity="stop_first",
    )
    return run_backtest(SmaCrossBracket(), panel, cfg)


def _exit_bar_conflicts(df: pd.DataFrame, res: BacktestResult) -> list[int]:
    """Bars of signal exits whose bar also reaches the trade's stop (below the open) or target
    (above the open)."""
    o, h, lo, c = (df[k].to_numpy() for k in ("open", "high", "low", "close"))
    t = res.trades
    entry = res.index.get_indexer(pd.DatetimeIndex(t["entry_time"]))
    exit_ = res.index.get_indexer(pd.DatetimeIndex(t["exit_time"]))
    out = []
    for e, k, why in zip(entry, exit_, t["exit_reason"], strict=True):
        sl, tp = c[e - 1] * 0.95, c[e - 1] * 1.10  # levels of the signal bar e - 1
        if why == "signal" and (lo[k] <= sl < o[k] or o[k] < tp <= h[k]):
            out.append(int(k))
    return out


def _assert_same_as_backtrader(res: BacktestResult, df: pd.DataFrame) -> None:
    ent, ex, sl, tp = _arrays(df)
    bt_final, fills = run_backtrader(df, ent, ex, CASH, COMM, sl=sl, tp=tp)
    assert res.final_equity == pytest.approx(bt_final, rel=1e-6)
    o = res.orders
    assert len(o) == len(fills)
    np.testing.assert_array_equal(res.index.get_indexer(pd.DatetimeIndex(o["time"])), fills["bar"])
    np.testing.assert_array_equal(o["side"], fills["side"])
    np.testing.assert_allclose(o["price"], fills["price"], rtol=1e-12)
    np.testing.assert_array_equal(o["quantity"], fills["size"])
    np.testing.assert_allclose(o["fee"], fills["comm"], rtol=1e-9)


@pytest.mark.parametrize("symbol", ["MSFT", "JPM", "XOM", "ADBE"])
def test_stops_match_backtesting_py_and_backtrader(symbol: str) -> None:
    df = load_symbol(symbol)
    panel = to_panel(df)
    ent, ex, sl, tp = _arrays(df)

    # --- backtesting.py: stops checked in the entry bar
    res = _alphaforge(panel, stop_on_entry_bar=True)
    reasons = set(res.trades["exit_reason"])
    assert {"stop_loss", "take_profit", "signal"} <= reasons
    bt_final, bt_trades = run_backtesting_py(df, ent, ex, CASH, COMM, sl=sl, tp=tp)
    # exit pending at the open while the bar also reaches the stop or target: the open wins
    conflicts = _exit_bar_conflicts(df, res)
    assert len(conflicts) >= 1
    for k in conflicts:
        ours = res.trades[res.trades["exit_time"] == res.index[k]].iloc[0]
        theirs = bt_trades[bt_trades["ExitBar"] == k].iloc[0]
        assert ours.exit_price == theirs["ExitPrice"] == df["open"].iloc[k]
    assert res.final_equity == pytest.approx(bt_final, rel=1e-6)
    closed = res.trades[res.trades["exit_reason"] != "end_of_data"]
    assert len(closed) == len(bt_trades)
    np.testing.assert_array_equal(
        res.index.get_indexer(pd.DatetimeIndex(closed["entry_time"])), bt_trades["EntryBar"]
    )
    np.testing.assert_array_equal(
        res.index.get_indexer(pd.DatetimeIndex(closed["exit_time"])), bt_trades["ExitBar"]
    )
    np.testing.assert_allclose(closed["entry_price"], bt_trades["EntryPrice"], rtol=1e-12)
    np.testing.assert_allclose(closed["exit_price"], bt_trades["ExitPrice"], rtol=1e-12)
    np.testing.assert_array_equal(closed["quantity"], bt_trades["Size"].abs())
    np.testing.assert_allclose(closed["pnl"], bt_trades["PnL"], rtol=1e-9, atol=1e-6)
    # stop exits are at the stop level or a worse open, target exits at the target or better
    is_sl = closed["exit_reason"].to_numpy() == "stop_loss"
    np.testing.assert_array_less(closed["exit_price"][is_sl] - 1e-9, bt_trades["SL"][is_sl])

    # --- backtrader: bracket children start on the bar after the entry
    res_bt = _alphaforge(panel, stop_on_entry_bar=False)
    assert len(_exit_bar_conflicts(df, res_bt)) >= 1
    _assert_same_as_backtrader(res_bt, df)
    if (res.trades["bars_held"] == 0).any():  # some stops fired in their entry bar: the
        # setting matters, each peer matches only its own chronology
        assert res_bt.final_equity != pytest.approx(bt_final, rel=1e-6)
