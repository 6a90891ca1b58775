"""Position sizing methods, worked out by hand (zero costs unless stated; cash 10,000)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tests.scenarios._helpers import make_panel, run, sig

CASH = 10_000.0


def _bars(*opens: float) -> list[tuple[float, float, float, float]]:
    return [(o, o, o, o) for o in opens]


def _first_qty(**cfg: object) -> float:
    res = run(make_panel({"A": _bars(100.0, 100.0, 100.0)}), sig(3, [0]), cash=CASH, **cfg)
    return float(res.orders["quantity"].iloc[0])


@pytest.mark.parametrize(
    ("cfg", "qty"),
    [
        ({}, 100.0),  # all in: floor(10000 / 100)
        ({"commission": "0.1%"}, 99.0),  # floor(10000 / (100 * 1.001)) = floor(99.9)
        ({"sizing.method": "fraction", "size": 0.25}, 25.0),  # 0.25 * 10000 / 100
        ({"sizing.method": "cash", "size": 2550}, 25.0),  # floor(2550 / 100)
        ({"sizing.method": "shares", "size": 7}, 7.0),
        # risk 1% of equity over a 5% stop distance: 0.01 * 10000 / (100 * 0.05) = 20
        ({"sizing.method": "risk", "size": 0.01, "stop_loss": "5%"}, 20.0),
        ({"sizing.method": "risk", "size": 0.01, "stop_loss": "2.5"}, 40.0),  # 100 / 2.5
        ({"sizing.method": "kelly"}, 10.0),  # no history: fallback 10% of equity
        ({"sizing.method": "fraction", "size": 0.5, "fractional": True}, 50.0),
    ],
)
def test_sizing_methods(cfg: dict[str, object], qty: float) -> None:
    assert _first_qty(**cfg) == qty


def test_fractional_all_in() -> None:
    res = run(make_panel({"A": _bars(30.0, 30.0, 30.0)}), sig(3, [0]), cash=CASH, fractional=True)
    assert res.orders["quantity"].iloc[0] == pytest.approx(CASH / 30.0, rel=1e-8)
    assert res.cash.iloc[1] == pytest.approx(0.0, abs=1e-4)


def test_risk_sizing_without_a_stop_is_rejected() -> None:
    res = run(make_panel({"A": _bars(100.0, 100.0, 100.0)}), sig(3, [0]), cash=CASH,
              **{"sizing.method": "risk"})  # fmt: skip
    o = res.orders.iloc[0]
    assert (o["status"], o["reason"]) == ("rejected", "risk_sizing_without_stop")


def test_vol_target_sizing() -> None:
    # closes 100, 101, 100 -> log returns r1 = ln 1.01, r2 = -ln 1.01; 2-bar sample std
    # (ddof 1) = sqrt(2) * ln 1.01, annualised * sqrt(252); qty = floor(min(0.15 / vol, 1) *
    # equity / next open 100)
    r = math.log(1.01)
    vol = math.sqrt(((r - 0) ** 2 + (-r - 0) ** 2) / 1) * math.sqrt(252)
    expected = math.floor(min(0.15 / vol, 1.0) * CASH / 100.0)  # 67
    bars = _bars(100.0, 101.0, 100.0, 100.0)
    res = run(make_panel({"A": bars}), sig(4, [2]), cash=CASH,
              **{"sizing.method": "vol_target", "sizing.vol_lookback": 2})  # fmt: skip
    assert res.orders["quantity"].iloc[0] == expected


def test_kelly_uses_closed_trades_after_min_trades() -> None:
    # trade 1: 10 shares 100 -> 110 (+10%, fallback size 0.1 * 10000 / 100);
    # trade 2: fallback 0.1 * 10100 / 100 = 10.1 -> 10 shares, 100 -> 95 (-5%);
    # trade 3: p = 1/2, b = 10% / 5% = 2 -> kelly = p - (1 - p) / b = 0.25, times the 0.5
    # multiplier = 0.125 of equity 10050 at 100 -> floor(12.56) = 12 shares
    bars = _bars(100.0, 100.0, 110.0, 100.0, 95.0, 100.0, 100.0)
    s = sig(7, [0, 2, 4], [1, 3])
    res = run(make_panel({"A": bars}), s, cash=CASH,
              **{"sizing.method": "kelly", "sizing.kelly_min_trades": 2})  # fmt: skip
    buys = res.orders[res.orders["side"] == "buy"]
    np.testing.assert_array_equal(buys["quantity"], [10, 10, 12])
