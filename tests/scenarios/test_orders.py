"""Limit, stop and stop-limit entries with day and GTC time in force (hand-worked examples)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphaforge.core.errors import BacktestError
from alphaforge.sim.result import BacktestResult
from alphaforge.strategy.base import Signals
from tests.scenarios._helpers import levels, make_panel, mask, run, sig

#        open   high   low   close
BARS = [
    (100.0, 101.0, 99.0, 100.0),  # 0  signal bar
    (104.0, 105.0, 103.0, 104.0),  # 1
    (104.0, 104.2, 103.5, 104.0),  # 2
    (103.0, 104.0, 102.0, 103.0),  # 3  low 102 reaches a 102.5 buy limit
    (106.0, 107.0, 105.0, 106.0),  # 4  opens above a 104.5 buy stop
    (105.0, 108.0, 104.0, 107.0),  # 5
]
N = len(BARS)
CASH = 10_000.0


def _fills(res: BacktestResult) -> pd.DataFrame:
    return res.orders[res.orders["status"] == "filled"]


def _entry(res: BacktestResult) -> pd.Series:
    fills = _fills(res)
    assert len(fills) > 0, res.orders
    return fills.iloc[0]


def test_buy_limit_day_expires_gtc_fills_later_at_limit() -> None:
    s = sig(N, [0], limit_price=levels(N, {0: 102.5}))
    day = run(make_panel({"A": BARS}), s, cash=CASH)
    # day order lives for bar 1 only: low 103 > 102.5 -> expired at bar 1, never filled
    assert list(day.orders["status"]) == ["expired"]
    assert day.orders["time"].iloc[0] == day.index[1]
    assert day.num_trades == 0 and day.final_equity == CASH
    gtc = run(make_panel({"A": BARS}), s, cash=CASH, time_in_force="gtc")
    # GTC: bar 3 opens at 103 and trades down to 102 -> filled at the limit 102.5,
    # floor(10000/102.5) = 97 shares
    o = _entry(gtc)
    assert o["time"] == gtc.index[3] and o["price"] == 102.5 and o["quantity"] == 97.0


def test_buy_limit_above_the_open_fills_at_the_open() -> None:
    # limit 105 at bar 1: the open 104 is already better than the limit -> filled at 104
    res = run(make_panel({"A": BARS}), sig(N, [0], limit_price=levels(N, {0: 105.0})), cash=CASH)
    o = _entry(res)
    assert o["time"] == res.index[1] and o["price"] == 104.0


def test_buy_stop_gap_fills_at_open_and_day_expires() -> None:
    s = sig(N, [1], stop_price=levels(N, {1: 104.5}))
    # day: bar 2's high 104.2 < 104.5 -> expires at bar 2
    day = run(make_panel({"A": BARS}), s, cash=CASH)
    assert list(day.orders["status"]) == ["expired"] and day.orders["time"].iloc[0] == day.index[2]
    # gtc: bar 3 high 104 < 104.5; bar 4 opens at 106 above the stop -> filled at the open 106
    gtc = run(make_panel({"A": BARS}), s, cash=CASH, time_in_force="gtc")
    o = _entry(gtc)
    assert o["time"] == gtc.index[4] and o["price"] == 106.0
    assert o["quantity"] == np.floor(CASH / 106.0)  # 94


def test_buy_stop_triggers_inside_the_bar_at_the_stop() -> None:
    # stop 104.1 from bar 1: bar 2 opens at 104 and trades up to 104.2 -> filled at 104.1
    res = run(make_panel({"A": BARS}), sig(N, [1], stop_price=levels(N, {1: 104.1})), cash=CASH)
    o = _entry(res)
    assert o["time"] == res.index[2] and o["price"] == 104.1


def test_stop_limit_not_filled_beyond_limit_then_fills() -> None:
    # stop 104.5, limit 104.8 from bar 1 (GTC): bar 4 opens at 106, triggered beyond the
    # limit, and its low 105 never comes back to 104.8 -> no fill; the triggered order now
    # rests as a limit 104.8: bar 5 opens at 105 and trades down to 104 -> filled at 104.8
    s = sig(N, [1], stop_price=levels(N, {1: 104.5}), limit_price=levels(N, {1: 104.8}))
    res = run(make_panel({"A": BARS}), s, cash=CASH, time_in_force="gtc")
    o = _entry(res)
    assert o["time"] == res.index[5] and o["price"] == 104.8
    # triggered at the open beyond the limit, then back to the limit in the same bar:
    # stop 103.5 limit 103.8 from bar 0 -> bar 1 opens at 104 (low 103) -> filled at 103.8
    s1 = sig(N, [0], stop_price=levels(N, {0: 103.5}), limit_price=levels(N, {0: 103.8}))
    o1 = _entry(run(make_panel({"A": BARS}), s1, cash=CASH))
    assert o1["time"] == res.index[1] and o1["price"] == 103.8
    # a stop-limit whose stop triggers inside the limit in the first bar: stop 103.5 limit 104
    # from bar 2 -> bar 3 (open 103, high 104) triggers at 103.5
    s2 = sig(N, [2], stop_price=levels(N, {2: 103.5}), limit_price=levels(N, {2: 104.0}))
    res2 = run(make_panel({"A": BARS}), s2, cash=CASH)
    o2 = _entry(res2)
    assert o2["time"] == res2.index[3] and o2["price"] == 103.5


def test_sell_short_limit_and_stop() -> None:
    # short limit 104.1 from bar 1 (sell when price rises to it): bar 2 high 104.2 -> 104.1
    s = sig(N, short_entries=np.eye(N, dtype=bool)[1], limit_price=levels(N, {1: 104.1}))
    res = run(make_panel({"A": BARS}), s, cash=CASH, direction="short")
    o = _entry(res)
    assert o["side"] == "sell" and o["time"] == res.index[2] and o["price"] == 104.1
    # short stop 102.5 from bar 2 (sell when price falls to it): bar 3 low 102 -> 102.5
    s2 = sig(N, short_entries=np.eye(N, dtype=bool)[2], stop_price=levels(N, {2: 102.5}))
    res2 = run(make_panel({"A": BARS}), s2, cash=CASH, direction="short")
    o2 = _entry(res2)
    assert o2["side"] == "sell" and o2["time"] == res2.index[3] and o2["price"] == 102.5


def test_exit_signal_cancels_resting_gtc_entry() -> None:
    # GTC buy limit 102.5 from bar 0, exit signal at bar 1 (still flat): the order is cancelled
    # before bar 3 could fill it
    s = sig(N, [0], [1], limit_price=levels(N, {0: 102.5}))
    res = run(make_panel({"A": BARS}), s, cash=CASH, time_in_force="gtc")
    assert res.num_trades == 0 and len(_fills(res)) == 0


@pytest.mark.parametrize(
    ("order_type", "kw", "missing"),
    [
        ("limit", {}, "limit_price"),
        ("stop", {"limit_price": levels(N, {0: 100.0})}, "stop_price"),
        ("stop_limit", {"stop_price": levels(N, {0: 100.0})}, "limit_price"),
    ],
)
def test_order_type_without_prices_is_an_error(
    order_type: str, kw: dict[str, np.ndarray], missing: str
) -> None:
    s0 = Signals(entries=mask(N, 0), exits=mask(N), **kw)
    with pytest.raises(BacktestError, match=missing):
        run(make_panel({"A": BARS}), s0, order_type=order_type)
    # with the prices the order type is honoured: a limit 102.5 GTC fills at bar 3
    s = sig(N, [0], limit_price=levels(N, {0: 102.5}))
    res = run(make_panel({"A": BARS}), s, order_type="limit", time_in_force="gtc", cash=CASH)
    assert _entry(res)["price"] == 102.5
