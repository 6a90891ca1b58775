"""Fill timing: next-open (default) and same-bar close (optimistic), no look-ahead, and the
open-before-intrabar chronology. Expected values are worked out by hand in the comments."""

from __future__ import annotations

import numpy as np
import pytest

from alphaforge.testing.records import assert_records_equal
from tests.scenarios._helpers import levels, make_panel, run, sig

#        open   high   low   close
BARS = [
    (100.0, 101.0, 99.0, 100.0),  # 0
    (102.0, 104.0, 101.0, 103.0),  # 1
    (105.0, 106.0, 103.0, 104.0),  # 2
    (104.0, 107.0, 102.0, 106.0),  # 3
    (108.0, 110.0, 107.0, 109.0),  # 4
    (110.0, 111.0, 108.0, 110.0),  # 5
]
N = len(BARS)
CASH = 10_000.0


def test_signal_at_t_fills_at_next_open() -> None:
    res = run(make_panel({"A": BARS}), sig(N, [0], [3]), cash=CASH)
    # entry decided at the close of bar 0, bought at the open of bar 1: floor(10000/102) = 98
    # (98*102 = 9996, cash left 4); exit decided at bar 3, sold at bar 4's open 108
    (tr,) = res.trades.itertuples()
    assert (tr.entry_time, tr.exit_time) == (res.index[1], res.index[4])
    assert (tr.entry_price, tr.exit_price, tr.quantity) == (102.0, 108.0, 98.0)
    assert tr.pnl == pytest.approx(98 * 6.0)  # 588
    assert tr.exit_reason == "signal"
    assert tr.bars_held == 3
    # equity at each close: bar 0 all cash; bars 1..3 = 4 + 98*close; after the exit all cash
    exp = [CASH, 4 + 98 * 103, 4 + 98 * 104, 4 + 98 * 106, 4 + 98 * 108, 4 + 98 * 108]
    np.testing.assert_allclose(res.equity.to_numpy(), exp)
    assert res.warnings == []


def test_commission_all_in_sizing_next_open() -> None:
    res = run(make_panel({"A": BARS}), sig(N, [0], [3]), cash=CASH, commission="0.1%")
    # whole shares = floor(cash / (open * 1.001)) = floor(10000 / 102.102) = 97
    (tr,) = res.trades.itertuples()
    assert tr.quantity == 97.0
    fees = 97 * 102 * 0.001 + 97 * 108 * 0.001  # 9.894 + 10.476
    assert tr.fees == pytest.approx(fees)
    assert tr.pnl == pytest.approx(97 * 6 - fees)
    assert res.final_equity == pytest.approx(CASH + 97 * 6 - fees)
    np.testing.assert_allclose(res.orders["fee"], [9.894, 10.476])


def test_nothing_of_the_next_bar_is_visible() -> None:
    # Changing every bar after bar 1 must not change what happened up to bar 1 (the order
    # decided at bar 0 is sized and filled at bar 1's open only).
    other = BARS[:2] + [(50.0, 60.0, 40.0, 55.0)] * (N - 2)
    a = run(make_panel({"A": BARS}), sig(N, [0]), cash=CASH)
    b = run(make_panel({"A": other}), sig(N, [0]), cash=CASH)
    np.testing.assert_array_equal(a.equity.to_numpy()[:2], b.equity.to_numpy()[:2])
    assert_records_equal(a.order_records, b.order_records)
    # a signal on the last bar has no next bar to fill at: no order at all
    c = run(make_panel({"A": BARS}), sig(N, [N - 1]), cash=CASH)
    assert len(c.orders) == 0 and c.final_equity == CASH


def test_close_timing_fills_at_signal_close_and_warns() -> None:
    res = run(make_panel({"A": BARS}), sig(N, [0], [3]), cash=CASH, fill="close")
    # bought at bar 0's close 100: floor(10000/100) = 100 shares; sold at bar 3's close 106
    (tr,) = res.trades.itertuples()
    assert (tr.entry_time, tr.exit_time) == (res.index[0], res.index[3])
    assert (tr.entry_price, tr.exit_price, tr.quantity) == (100.0, 106.0, 100.0)
    assert tr.pnl == pytest.approx(600.0)
    assert res.equity.iloc[0] == pytest.approx(CASH)
    assert any("optimistic" in w for w in res.warnings)


def test_market_exit_pending_at_open_runs_before_intrabar_stop() -> None:
    # Long from bar 1's open (102) with an absolute stop 102.5 set at signal bar 0; stops are
    # not checked on the entry bar here. Exit signal at bar 2 -> market sell at bar 3's open
    # (104). Bar 3's low 102 would also touch the stop, but the open comes first.
    s = sig(N, [0], [2], stop_loss=levels(N, {0: 102.5}))
    res = run(make_panel({"A": BARS}), s, cash=CASH, stop_on_entry_bar=False)
    (tr,) = res.trades.itertuples()
    assert tr.exit_reason == "signal"
    assert tr.exit_time == res.index[3] and tr.exit_price == 104.0
    # without the exit signal the stop fills at its level in bar 3
    res2 = run(make_panel({"A": BARS}), sig(N, [0], stop_loss=levels(N, {0: 102.5})),
               cash=CASH, stop_on_entry_bar=False)  # fmt: skip
    tr2 = res2.trades.iloc[0]
    assert tr2.exit_reason == "stop_loss" and tr2.exit_price == 102.5
    assert tr2.exit_time == res2.index[3]


def test_end_of_data_trade_closed_at_last_close_without_fee() -> None:
    res = run(make_panel({"A": BARS}), sig(N, [2]), cash=CASH, commission="0.1%")
    # bought at bar 3's open 104: floor(10000/104.104) = 96 shares, fee 96*104*0.001 = 9.984
    (tr,) = res.trades.itertuples()
    assert tr.exit_reason == "end_of_data"
    assert tr.exit_price == 110.0 and tr.quantity == 96.0
    assert tr.fees == pytest.approx(9.984)
    assert tr.pnl == pytest.approx(96 * 6 - 9.984)
    assert len(res.orders) == 1  # no exit order is sent
