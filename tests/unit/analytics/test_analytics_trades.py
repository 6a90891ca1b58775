"""Trade statistics on small trade lists worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from alphaforge.analytics.trade_metrics import TRADE_KEYS, longest_run, trade_stats
from alphaforge.core.errors import DataError

# pnl sequence: W L 0 W L L  (the break-even trade ends both streaks)
PNL = [100.0, -50.0, 0.0, 200.0, -25.0, -25.0]
RET = [0.10, -0.05, 0.0, 0.20, -0.025, -0.025]
BARS = [1, 2, 3, 4, 5, 9]


def _frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "symbol": ["AAA"] * 6,
            "direction": ["long", "short"] * 3,
            "pnl": PNL,
            "return": RET,
            "bars_held": BARS,
        }
    )


def test_hand_computed_trade_list() -> None:
    s = trade_stats(_frame())
    assert s["n_trades"] == 6
    assert s["win_rate"] == pytest.approx(2 / 6)  # two trades above zero out of six
    assert s["profit_factor"] == pytest.approx(300 / 100)  # (100 + 200) / (50 + 25 + 25)
    assert s["avg_win"] == pytest.approx(150.0)
    assert s["avg_loss"] == pytest.approx(-100 / 3)
    assert s["payoff_ratio"] == pytest.approx(150 / (100 / 3))  # 4.5
    assert s["expectancy"] == pytest.approx(200 / 6)  # sum of pnl / trades
    assert s["expectancy_pct"] == pytest.approx(0.2 / 6)
    assert s["best_trade"] == pytest.approx(0.20)
    assert s["worst_trade"] == pytest.approx(-0.05)
    assert s["max_consecutive_wins"] == 1
    assert s["max_consecutive_losses"] == 2  # the last two trades
    assert s["avg_bars_held"] == pytest.approx(24 / 6)


def test_mapping_of_arrays_gives_the_same_numbers() -> None:
    arrays = {"pnl": np.array(PNL), "return": np.array(RET), "bars_held": np.array(BARS)}
    a, b = trade_stats(arrays), trade_stats(_frame())
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == b[key] or (math.isnan(a[key]) and math.isnan(b[key])), key


def test_no_losers_gives_infinite_profit_factor() -> None:
    s = trade_stats({"pnl": np.array([5.0, 7.0])})
    assert s["profit_factor"] == math.inf
    assert math.isnan(s["payoff_ratio"])
    assert s["win_rate"] == 1.0
    assert math.isnan(s["expectancy_pct"])  # no return column given


@pytest.mark.parametrize("trades", [None, pd.DataFrame({"pnl": pd.Series([], dtype=float)})])
def test_no_trades(trades: pd.DataFrame | None) -> None:
    s = trade_stats(trades)
    assert set(s) == set(TRADE_KEYS)
    assert s["n_trades"] == 0
    assert all(math.isnan(v) for k, v in s.items() if k != "n_trades")


def test_missing_pnl_is_named() -> None:
    with pytest.raises(DataError, match="'pnl'"):
        trade_stats(pd.DataFrame({"return": [0.1]}))
    with pytest.raises(DataError, match="'pnl'"):
        trade_stats({"return": np.array([0.1])})


@pytest.mark.parametrize(
    ("mask", "expected"),
    [([], 0), ([False, False], 0), ([True], 1), ([True, False, True, True, True, False, True], 3)],
)
def test_longest_run(mask: list[bool], expected: int) -> None:
    assert longest_run(np.array(mask, dtype=bool)) == expected
