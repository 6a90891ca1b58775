"""Shared cash across symbols, entry priority, target weights with a rebalance schedule and a
drift band, and the portfolio limits that reject orders (with reasons in result.orders)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphaforge.core.errors import BacktestError
from alphaforge.core.panel import Panel
from alphaforge.strategy.base import Signals, TargetWeights
from tests.scenarios._helpers import make_panel, run

CASH = 10_000.0


def _flat(*opens: float) -> list[tuple[float, float, float, float]]:
    return [(o, o, o, o) for o in opens]


def _two(n: int, a: dict[int, bool] | None = None, b: dict[int, bool] | None = None) -> np.ndarray:
    out = np.zeros((n, 2), dtype=bool)
    for col, d in enumerate((a or {}, b or {})):
        for k in d:
            out[k, col] = True
    return out


def test_exits_free_cash_before_entries_in_the_same_bar() -> None:
    # A bought all-in at bar 1 (100 shares at 100); at bar 2's close: exit A, enter B.
    # Bar 3's open: A sold at 120 -> cash 12000, then B bought with it: floor(12000/100) = 120
    p = make_panel({"A": _flat(100, 100, 110, 120, 120), "B": _flat(100, 100, 100, 100, 100)})
    s = Signals(entries=_two(5, {0: True}, {2: True}), exits=_two(5, {2: True}))
    res = run(p, s, cash=CASH)
    o = res.orders
    bar3 = o[o["time"] == res.index[3]]
    assert list(bar3["symbol"]) == ["A", "B"] and list(bar3["side"]) == ["sell", "buy"]
    assert list(bar3["quantity"]) == [100, 120]
    assert res.cash.iloc[3] == pytest.approx(0.0)


@pytest.mark.parametrize(("pri_a", "winner"), [(1.0, "B"), (3.0, "A")])
def test_priority_orders_entries_when_cash_is_short(pri_a: float, winner: str) -> None:
    p = make_panel({"A": _flat(100, 100, 100), "B": _flat(100, 100, 100)})
    pri = np.array([[pri_a, 2.0]] * 3)
    s = Signals(entries=_two(3, {0: True}, {0: True}), exits=_two(3), priority=pri)
    o = run(p, s, cash=CASH).orders
    got = o.set_index("symbol")
    loser = "A" if winner == "B" else "B"
    assert got.loc[winner, "status"] == "filled" and got.loc[winner, "quantity"] == 100
    assert (got.loc[loser, "status"], got.loc[loser, "reason"]) == (
        "rejected",
        "insufficient_cash",
    )


def _weights_panel() -> tuple[Panel, TargetWeights]:
    p = make_panel({"A": _flat(100, 100, 120, 120), "B": _flat(100, 100, 100, 100)})
    w = np.full((4, 2), 0.5)
    return p, TargetWeights(weights=w, rebalance=np.ones(4, dtype=bool))


def test_target_weights_rebalance_reductions_first() -> None:
    p, tw = _weights_panel()
    res = run(p, tw, cash=CASH)
    o = res.orders
    # bar 1: equity 10000 -> 50 A and 50 B at 100
    b1 = o[o["time"] == res.index[1]]
    assert list(zip(b1["symbol"], b1["quantity"], strict=True)) == [("A", 50), ("B", 50)]
    # bar 2 open: A at 120 -> equity 6000 + 5000 = 11000; targets floor(5500/120) = 45 A and
    # 55 B: sell 5 A first, then buy 5 B
    b2 = o[o["time"] == res.index[2]]
    assert list(zip(b2["symbol"], b2["side"], b2["quantity"], strict=True)) == [
        ("A", "sell", 5),
        ("B", "buy", 5),
    ]
    assert b2["reason"].tolist() == ["rebalance", "entry"]
    np.testing.assert_array_equal(res.positions.iloc[2], [45, 55])


def test_drift_band_skips_small_deviations() -> None:
    # at bar 2 A weighs 6000 / 11000 = 0.545: within a 0.1 band of 0.5 -> no trade
    p, tw = _weights_panel()
    res = run(p, tw, cash=CASH, drift_band=0.1)
    assert set(res.orders["time"]) == {res.index[1]}


def test_monthly_rebalance_schedule() -> None:
    # business days Jan 29 .. Feb 6 2024: the last January bar (Jan 31) decides, Feb 1 trades
    idx = pd.date_range("2024-01-29", periods=7, freq="B", tz="UTC", name="timestamp")
    p = make_panel({"A": _flat(*[100.0] * 7)}, index=idx)
    res = run(p, TargetWeights(weights=np.full((7, 1), 1.0)), cash=CASH, rebalance="monthly")
    assert list(res.orders["time"]) == [pd.Timestamp("2024-02-01", tz="UTC")]
    assert res.orders["quantity"].iloc[0] == 100


def _limits(**cfg: object) -> pd.DataFrame:
    """A and B enter at bar 1 with 30% of equity each (30 shares at 100)."""
    p = make_panel({"A": _flat(100, 100, 100), "B": _flat(100, 100, 100)})
    s = Signals(entries=_two(3, {0: True}, {0: True}), exits=_two(3))
    res = run(p, s, cash=CASH, **{"sizing.method": "fraction", "size": 0.3}, **cfg)
    return res.orders.set_index("symbol")


@pytest.mark.parametrize(
    ("cfg", "reason"),
    [
        ({"risk.max_positions": 1}, "max_positions"),
        # both in one sector capped at 30% of equity: A takes it all
        (
            {"risk.sectors": {"A": "tech", "B": "tech"}, "risk.max_sector_exposure": 0.3},
            "max_sector_exposure",
        ),
        # 75% reserve: A gets 10000 - 7500 = 2500 (25 shares), nothing is left for B
        ({"risk.min_cash": 0.75}, "min_cash_reserve"),
        ({"risk.max_gross_leverage": 0.3}, "max_leverage"),
        ({"risk.max_net_leverage": 0.3}, "max_leverage"),
    ],
)
def test_limits_reject_with_reasons(cfg: dict[str, object], reason: str) -> None:
    o = _limits(**cfg)
    # A (first column, equal priority) fills 30 shares except under the 75% reserve, where
    # only 2500 is free for A: 25 shares
    assert o.loc["A", "status"] == "filled"
    assert o.loc["A", "quantity"] == (25 if "risk.min_cash" in cfg else 30)
    assert (o.loc["B", "status"], o.loc["B", "reason"]) == ("rejected", reason)


def test_max_weight_caps_quantity() -> None:
    o = _limits(**{"risk.max_weight": 0.2})
    # 30% wanted, capped at 20% of 10000 / 100 = 20 shares, both fill
    assert list(o["quantity"]) == [20, 20] and set(o["status"]) == {"filled"}


@pytest.mark.parametrize(
    "cfg",
    [{"stop_loss": "5%"}, {"take_profit": "10%"}, {"trailing_stop": "2atr"},
     {"risk.max_trade_loss": 0.01}],
)  # fmt: skip
def test_protective_exits_are_refused_for_target_weights(cfg: dict[str, object]) -> None:
    # a rebalanced position has no entry signal to attach a stop to: refused, not ignored
    p, tw = _weights_panel()
    with pytest.raises(BacktestError, match="TargetWeights"):
        run(p, tw, cash=CASH, **cfg)
    run(p, tw, cash=CASH, stop_loss="0")  # "0" = off is fine
