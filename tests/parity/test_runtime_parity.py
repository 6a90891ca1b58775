"""Replay through the trading runtime (simulated venue, SQLite ledger) gives the backtest's
trades: symbol, side, entry and exit bar, quantity, exit reason, prices and P&L.

Three shapes of strategy on real daily bars from the shared data: a single-symbol crossover
with ATR stops, a take-profit, a trailing stop and a per-trade loss limit; a multi-symbol
signals portfolio under max positions, a daily loss limit and a drawdown breaker; and a
target-weight momentum rotation under a weight cap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.ledger import Ledger
from alphaforge.services.backtest import run_spec
from alphaforge.services.trading import ReplayRequest, build_replay, run_replay
from alphaforge.sim import codes as C
from alphaforge.testing import shared_data_file
from alphaforge.testing.ledger_db import scratch_ledger_url

pytestmark = [pytest.mark.parity, pytest.mark.integration]

CASES: dict[str, dict[str, Any]] = {
    "crossover_with_stops": {
        "strategy": "sma_cross", "params": {"fast": 20, "slow": 100}, "symbols": ["MSFT"],
        "costs": {"commission": "0.1%", "slippage": "5bps"},
        "exits": {"stop_loss": "2atr", "take_profit": "10%", "trailing_stop": "8%"},
        "risk": {"max_trade_loss": 0.02},
    },
    "signals_portfolio_under_limits": {
        "strategy": "sma_cross", "params": {"fast": 10, "slow": 50},
        "symbols": ["MSFT", "JPM", "AMZN", "XOM", "ADBE"],
        "costs": {"commission": "0.005/share,min=1", "slippage": "5bps"},
        "sizing": {"method": "fraction", "value": 0.3}, "exits": {"stop_loss": "5%"},
        "risk": {"max_positions": 2, "daily_loss_limit": 0.02, "max_drawdown": 0.1},
    },
    "stops_hit_in_the_entry_bar": {
        "strategy": "sma_cross", "params": {"fast": 5, "slow": 20},
        "symbols": ["MSFT", "JPM", "AMZN", "XOM"],
        "costs": {"commission": "0.1%", "slippage": "5bps"},
        "sizing": {"method": "fraction", "value": 0.25},
        "exits": {"stop_loss": "1%", "take_profit": "3%"},
    },
    "weights_rotation": {
        "strategy": "momentum_rotation", "params": {"lookback": 126, "skip": 21, "top_n": 3},
        "symbols": ["MSFT", "JPM", "AMZN", "XOM", "ADBE", "ABT", "ADP", "AMGN"],
        "costs": {"commission": "0.005/share,min=1", "slippage": "5bps"},
        "risk": {"max_weight": 0.3},
    },
}  # fmt: skip


def _spec(case: dict[str, Any]) -> RunSpec:
    data = shared_data_file("us_equities_daily.parquet")
    return RunSpec.model_validate(
        {**case, "data": str(data), "start": "2012-01-01", "end": "2015-12-31", "timeframe": "1d"}
    )


MODES = [("per_bar", "sqlite"), ("precomputed", "sqlite"), ("per_bar", "postgresql")]


@pytest.mark.parametrize(("signals", "kind"), MODES)
@pytest.mark.parametrize("name", sorted(CASES))
def test_replay_trades_equal_backtest_trades(
    name: str, signals: str, kind: str, tmp_path: Path
) -> None:
    """per_bar calls the strategy on the bars so far at every bar, as paper and live do;
    precomputed evaluates it once on the stored history after the look-ahead check."""
    settings = AppSettings(home=tmp_path)
    backtest = run_spec(_spec(CASES[name]), settings)
    with scratch_ledger_url(kind, tmp_path) as url:
        _check(name, url, settings, backtest, signals)


def _check(name: str, url: str, settings: AppSettings, backtest: Any, signals: str) -> None:
    ledger = Ledger.open(url)
    try:
        spec = _spec({**CASES[name], "runtime": {"signals": signals}})
        setup = build_replay(spec, settings, ledger, ReplayRequest(None, None, None))
        assert setup.node.p.signals.precomputed is (signals == "precomputed")
        setup.node.st.keep_records()  # every record, to compare with the backtest's
        out = run_replay(setup, None)
        trades, orders, events = setup.node.st.records()
        venue_held = {p.symbol: p.qty for p in setup.node.p.venue.positions()}
        book_held = {sym: setup.node.st.qty(j) for j, sym in enumerate(setup.panel.symbols)}
        ledger_trades = ledger.trades(setup.run_id)
    finally:
        ledger.close()
    bt = backtest.trade_records
    closed = bt[bt["exit_reason"] != C.EXIT_END_OF_DATA]
    assert len(closed) >= 5, "the case must trade to mean anything"
    if name == "stops_hit_in_the_entry_bar":  # the bracket's stop fills in its entry's bar
        assert np.any(closed["bars_held"] == 0)
    assert len(trades) == len(closed)
    rejected = int(np.sum(orders["status"] == C.STATUS_REJECTED))
    assert (out.trades, out.orders, out.rejected) == (len(trades), len(orders), rejected)
    # within one bar the venue reports its fills in its own order (the backtest goes by
    # symbol): compare the trades in (exit bar, symbol, entry bar) order
    trades = np.sort(trades, order=["exit_bar", "symbol", "entry_bar"])
    closed = np.sort(closed, order=["exit_bar", "symbol", "entry_bar"])
    for field in ("symbol", "direction", "entry_bar", "exit_bar", "qty", "exit_reason"):
        np.testing.assert_array_equal(trades[field], closed[field], err_msg=field)
    for field in ("entry_price", "exit_price", "fees", "pnl", "mae", "mfe"):
        np.testing.assert_allclose(trades[field], closed[field], rtol=1e-12, err_msg=field)
    # every order the backtest filled or rejected, the runtime did too, with the same reason
    # (within a bar the runtime records its refusals before the venue's fills)
    assert _order_rows(orders) == _order_rows(backtest.order_records)
    np.testing.assert_array_equal(events["rule"], backtest.event_records["rule"])
    assert out.final_equity == pytest.approx(backtest.final_equity, rel=1e-12)
    assert venue_held == {s: q for s, q in book_held.items() if q != 0}
    # the ledger's round trips (FIFO over the recorded fills) close the same quantities, for
    # the same reasons
    assert sum(float(t.qty) for t in ledger_trades) == pytest.approx(float(closed["qty"].sum()))
    names = sorted(C.EXIT_NAMES[int(r)] for r in closed["exit_reason"])
    assert sorted(t.exit_reason for t in ledger_trades) == names


def _order_rows(orders: np.ndarray) -> list[tuple[int, int, int, float, int, int]]:
    return sorted(
        (int(o["bar"]), int(o["symbol"]), int(o["side"]), round(float(o["qty"]), 9),
         int(o["status"]), int(o["reason"]))
        for o in orders
    )  # fmt: skip
