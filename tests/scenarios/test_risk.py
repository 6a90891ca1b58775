"""Risk rules recorded in result.risk_events: per-trade max loss, daily loss limit (hourly
bars; on daily bars it blocks the next bar), weekly loss limit, max-drawdown breaker (flatten /
halt); long / short / long_short."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphaforge.strategy.base import Signals
from tests.scenarios._helpers import make_panel, mask, run, sig

CASH = 10_000.0


def _flat(*closes: float) -> list[tuple[float, float, float, float]]:
    return [(c, c, c, c) for c in closes]


def test_per_trade_max_loss_exit_and_event() -> None:
    # 100 shares at 100; 1% of equity 10000 = 100 -> exit level 100 - 100 / 100 = 99.
    # Bar 2 trades down to 98 -> sold at 99 (reason risk_limit), event trade_max_loss on A
    bars = [(100.0, 100, 100, 100), (100.0, 101, 99.5, 100), (100.0, 100, 98, 98),
            (98.0, 98, 98, 98)]  # fmt: skip
    res = run(make_panel({"A": bars}), sig(4, [0]), cash=CASH, **{"risk.max_trade_loss": 0.01})
    tr = res.trades.iloc[0]
    assert (tr.exit_reason, tr.exit_price, tr.pnl) == ("risk_limit", 99.0, -100.0)
    ev = res.risk_events
    assert list(ev["rule"]) == ["trade_max_loss"] and list(ev["symbol"]) == ["A"]
    assert ev["time"].iloc[0] == res.index[2] and ev["value"].iloc[0] == pytest.approx(-0.01)


def _hourly(days: list[str]) -> pd.DatetimeIndex:
    """7 hourly bars per New York session (14:30 .. 20:30 UTC in winter)."""
    stamps = [pd.Timestamp(f"{d} 14:30", tz="UTC") + pd.Timedelta(hours=h)
              for d in days for h in range(7)]  # fmt: skip
    return pd.DatetimeIndex(stamps, name="timestamp")


def test_daily_loss_limit_blocks_entries_for_the_rest_of_the_day() -> None:
    # day 1 = bars 0..6, day 2 = bars 7..13. 100 shares bought at bar 1 (100); bar 2 closes at
    # 97: equity 9700 < 10000 * (1 - 2%) -> event at bar 2; the position is not closed by the
    # rule. Exit signal bar 2 -> sold at bar 3. Entry signal bar 3 -> rejected at bar 4 (same
    # day); entry signal bar 6 -> bought at bar 7, the next day.
    closes = [100.0, 100, 97, 97, 97, 97, 97] + [97.0] * 7
    idx = _hourly(["2024-01-02", "2024-01-03"])
    p = make_panel({"A": _flat(*closes)}, index=idx, timeframe="1h")
    res = run(p, sig(14, [0, 3, 6], [2]), cash=CASH, **{"risk.daily_loss_limit": 0.02})
    ev = res.risk_events
    assert list(ev["rule"]) == ["daily_loss_limit"] and ev["time"].iloc[0] == idx[2]
    assert ev["value"].iloc[0] == pytest.approx(-0.03)
    o = res.orders
    rej = o[o["status"] == "rejected"]
    assert list(rej["time"]) == [idx[4]] and list(rej["reason"]) == ["daily_loss_limit"]
    assert o[(o["side"] == "buy") & (o["status"] == "filled")]["time"].tolist() == [idx[1], idx[7]]


def test_daily_loss_limit_on_daily_bars_blocks_the_next_bar() -> None:
    # Daily bars leave no bar in the day the limit fires in, so it blocks the next bar. Half the
    # equity per entry: 50 A bought at bar 1 (100); bar 2 closes A at 94: equity 5000 + 50 * 94
    # = 9700 < 10000 * (1 - 2%) -> event at bar 2. B's entry signal of bar 2 -> rejected at bar
    # 3, the bar after the loss; B's entry signal of bar 3 -> bought at bar 4 (50).
    a = _flat(100.0, 100, 94, 94, 94, 94)
    b = _flat(50.0, 50, 50, 50, 50, 50)
    entries = np.stack([mask(6, 0), mask(6, 2, 3)], axis=1)
    res = run(make_panel({"A": a, "B": b}), Signals(entries, np.zeros_like(entries)), cash=CASH,
              **{"sizing.method": "fraction", "sizing.value": 0.5,
                 "risk.daily_loss_limit": 0.02})  # fmt: skip
    ev = res.risk_events
    assert list(ev["rule"]) == ["daily_loss_limit"] and ev["time"].iloc[0] == res.index[2]
    assert ev["value"].iloc[0] == pytest.approx(-0.03)
    o = res.orders
    rej = o[o["status"] == "rejected"]
    assert list(rej["time"]) == [res.index[3]] and list(rej["reason"]) == ["daily_loss_limit"]
    assert list(rej["symbol"]) == ["B"]
    buys = o[(o["side"] == "buy") & (o["status"] == "filled")]
    assert list(zip(buys["symbol"], buys["time"], strict=True)) == [
        ("A", res.index[1]),
        ("B", res.index[4]),
    ]


def test_weekly_loss_limit() -> None:
    # Mon 2024-01-01 .. Fri 01-05, Mon 01-08 .. Wed 01-10. Bought Tue (bar 1) at 100, Wed close
    # 95: 9500 < 10000 * 0.97 -> event Wed; sold Thu; entry signal Thu -> rejected Fri; entry
    # signal Fri -> bought next Monday
    closes = [100.0, 100, 95, 95, 95, 95, 95, 95]
    res = run(make_panel({"A": _flat(*closes)}), sig(8, [0, 3, 4], [2]), cash=CASH,
              **{"risk.weekly_loss_limit": 0.03})  # fmt: skip
    assert list(res.risk_events["rule"]) == ["weekly_loss_limit"]
    o = res.orders
    rej = o[o["status"] == "rejected"]
    assert list(rej["reason"]) == ["weekly_loss_limit"] and list(rej["time"]) == [res.index[4]]
    assert o[(o["side"] == "buy") & (o["status"] == "filled")]["time"].iloc[-1] == res.index[5]


@pytest.mark.parametrize(("action", "second_entry"), [("flatten_and_halt", False),
                                                      ("flatten", True)])  # fmt: skip
def test_max_drawdown_breaker(action: str, second_entry: bool) -> None:
    # 100 shares at 100 (bar 1); bar 2 closes at 89: drawdown 11% > 10% -> event, flattened at
    # bar 3's open (reason risk_limit). Entry signal bar 3 -> bar 4: halted or allowed.
    closes = [100.0, 100, 89, 89, 89, 89]
    res = run(make_panel({"A": _flat(*closes)}), sig(6, [0, 3]), cash=CASH,
              **{"risk.max_drawdown": 0.1, "risk.drawdown_action": action})  # fmt: skip
    ev = res.risk_events
    assert list(ev["rule"]) == ["max_drawdown"] and ev["time"].iloc[0] == res.index[2]
    assert ev["value"].iloc[0] == pytest.approx(-0.11)
    tr = res.trades.iloc[0]
    assert (tr.exit_reason, tr.exit_time, tr.exit_price) == ("risk_limit", res.index[3], 89.0)
    o = res.orders[res.orders["time"] == res.index[4]].iloc[0]
    if second_entry:
        assert o["status"] == "filled"
    else:
        assert (o["status"], o["reason"]) == ("rejected", "halted_by_drawdown")


def test_directions() -> None:
    bars = _flat(100.0, 100, 100, 110, 110, 120)
    s = Signals(entries=mask(6, 0), exits=mask(6), short_entries=mask(6, 2),
                short_exits=mask(6))  # fmt: skip
    # long only: the short entry is ignored and does not close the long
    res = run(make_panel({"A": bars}), s, cash=CASH, direction="long")
    assert list(res.trades["direction"]) == ["long"]
    assert list(res.trades["exit_reason"]) == ["end_of_data"]
    # short only: only the short entry trades (short 100 at 110 from bar 3, marked at 120)
    res = run(make_panel({"A": bars}), s, cash=CASH, direction="short")
    (tr,) = res.trades.itertuples()
    assert (tr.direction, tr.entry_price, tr.quantity) == ("short", 110.0, 90.0)
    assert tr.pnl == pytest.approx(-90 * 10.0)
    # long_short: bar 3's open closes the long (100 sh, +1000) and opens a short with the
    # proceeds: floor(11000 / 110) = 100 shares
    res = run(make_panel({"A": bars}), s, cash=CASH, direction="long_short")
    t = res.trades
    assert list(t["direction"]) == ["long", "short"]
    assert list(t["exit_reason"]) == ["signal", "end_of_data"]
    np.testing.assert_allclose(t["pnl"], [1000.0, -1000.0])
    np.testing.assert_array_equal(res.positions["A"], [0, 100, 100, -100, -100, -100])
    # short sizing under a 1.5 margin requirement: floor(10000 / 1.5 / 110) = 60
    res = run(make_panel({"A": bars}), s, cash=CASH, direction="short", **{"costs.margin": 1.5})
    assert res.trades["quantity"].iloc[0] == 60
