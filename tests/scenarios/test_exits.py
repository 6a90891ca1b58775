"""Protective exits: stop-loss / take-profit / trailing stop as %, ATR multiple and absolute
distance; gaps; the entry bar; the ambiguity policy (incl. finer bars); time exits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphaforge.core.errors import BacktestError
from alphaforge.sim.result import BacktestResult
from tests.scenarios._helpers import levels, make_panel, run, sig

CASH = 10_000.0
Q = 100.0  # floor(10000 / 100): every long below enters at bar 1's open 100


def _market(*rest: tuple[float, float, float, float]) -> list[tuple[float, float, float, float]]:
    """Signal bar 0 (close 99), entry bar 1 opening at 100, then ``rest``."""
    return [(99.0, 100.0, 98.0, 99.0), (100.0, 103.0, 99.0, 102.0), *rest]


def _one(res: BacktestResult) -> pd.Series:
    assert res.num_trades == 1, res.trades
    return res.trades.iloc[0]


def test_stop_loss_pct_at_level_and_gap_at_open() -> None:
    # 5% below the entry 100 -> 95; bar 3's low 94 touches it -> filled at 95
    bars = _market((102.0, 104.0, 101.0, 103.0), (103.0, 104.0, 94.0, 96.0))
    tr = _one(run(make_panel({"A": bars}), sig(4, [0]), cash=CASH, stop_loss="5%"))
    assert (tr.exit_reason, tr.exit_price) == ("stop_loss", 95.0)
    assert tr.pnl == pytest.approx(Q * -5.0)
    # gap: bar 3 opens at 93, below the stop -> filled at the open 93
    bars = _market((102.0, 104.0, 101.0, 103.0), (93.0, 94.0, 90.0, 92.0))
    tr = _one(run(make_panel({"A": bars}), sig(4, [0]), cash=CASH, stop_loss="5%"))
    assert (tr.exit_reason, tr.exit_price) == ("stop_loss", 93.0)


def test_take_profit_pct_at_level_and_gap_at_open() -> None:
    # 10% above 100 -> 110; bar 2's high 111 -> filled at 110 (P&L 100 * 10)
    bars = _market((102.0, 111.0, 101.0, 108.0), (108.0, 109.0, 107.0, 108.0))
    tr = _one(run(make_panel({"A": bars}), sig(4, [0]), cash=CASH, take_profit="10%"))
    assert (tr.exit_reason, tr.exit_price, tr.pnl) == (
        "take_profit",
        pytest.approx(110.0),
        pytest.approx(1000.0),
    )
    # gap above the target at bar 2's open 112 -> filled at 112
    bars = _market((112.0, 113.0, 111.0, 112.0), (108.0, 109.0, 107.0, 108.0))
    tr = _one(run(make_panel({"A": bars}), sig(4, [0]), cash=CASH, take_profit="10%"))
    assert (tr.exit_reason, tr.exit_price) == ("take_profit", 112.0)


def test_short_stop_and_target_mirror() -> None:
    # short 100 at bar 1's open; 5% stop = 105, 10% target = 90
    ent = np.eye(4, dtype=bool)[0]
    bars = _market((102.0, 106.0, 101.0, 104.0), (104.0, 105.0, 103.0, 104.0))
    s = sig(4, short_entries=ent)
    tr = _one(run(make_panel({"A": bars}), s, cash=CASH, direction="short", stop_loss="5%"))
    assert (tr.direction, tr.exit_reason, tr.exit_price) == ("short", "stop_loss", 105.0)
    assert tr.pnl == pytest.approx(-Q * 5.0)
    bars = _market((95.0, 96.0, 89.0, 90.0), (90.0, 91.0, 89.0, 90.0))
    tr = _one(run(make_panel({"A": bars}), s, cash=CASH, direction="short", take_profit="10%"))
    assert (tr.exit_reason, tr.exit_price) == ("take_profit", 90.0)


def test_stop_on_entry_bar_on_and_off() -> None:
    # entry bar 1 (open 100) trades down to 94: a 5% stop (95) is hit in the entry bar when the
    # rule is on (the open is the bar's first trade); off -> first checked at bar 2
    bars = [(99.0, 100.0, 98.0, 99.0), (100.0, 103.0, 94.0, 102.0), (102.0, 104.0, 101.0, 103.0)]
    on = _one(run(make_panel({"A": bars}), sig(3, [0]), cash=CASH, stop_loss="5%"))
    assert (on.exit_reason, on.exit_price, on.bars_held) == ("stop_loss", 95.0, 0)
    off = _one(run(make_panel({"A": bars}), sig(3, [0]), cash=CASH, stop_loss="5%",
                   stop_on_entry_bar=False))  # fmt: skip
    assert off.exit_reason == "end_of_data"


def test_trailing_stop_pct_and_absolute() -> None:
    # peak is the highest high of the closed bars since entry (the entry price at first)
    # bar 1: level 100*0.9 = 90; peak -> 105. bar 2: level 94.5; peak -> 120.
    # bar 3: level 120*0.9 = 108, low 107 -> exit at 108
    bars = [(99.0, 100.0, 98.0, 99.0), (100.0, 105.0, 99.0, 104.0),
            (104.0, 120.0, 103.0, 118.0), (117.0, 118.0, 107.0, 110.0)]  # fmt: skip
    tr = _one(run(make_panel({"A": bars}), sig(4, [0]), cash=CASH, trailing_stop="10%"))
    assert (tr.exit_reason, tr.exit_price, tr.exit_time) == ("trailing_stop", 108.0, tr.exit_time)
    assert tr.bars_held == 2
    # absolute distance 5: bar 3 level 120 - 5 = 115 (open 117 above it) -> exit at 115
    tr = _one(run(make_panel({"A": bars}), sig(4, [0]), cash=CASH, trailing_stop="5"))
    assert (tr.exit_reason, tr.exit_price) == ("trailing_stop", 115.0)


ATR_BARS = [
    (100.0, 101.0, 99.0, 100.0),
    (100.0, 102.0, 98.0, 101.0),  # signal bar: true range max(4, 2, 2) = 4 = ATR(1)
    (101.0, 103.0, 100.0, 102.0),  # entry at 101
    (102.0, 106.0, 92.0, 95.0),  # range covers 92..106
]


@pytest.mark.parametrize(
    ("kw", "reason", "price"),
    [
        ({"stop_loss": "2atr"}, "stop_loss", 101.0 - 8.0),  # 2 * ATR 4 below the entry
        ({"stop_loss": "1.5"}, "stop_loss", 99.5),  # absolute distance
        ({"take_profit": "1.25atr"}, "take_profit", 106.0),  # 1.25 * 4 = 5 above
        ({"take_profit": "3"}, "take_profit", 104.0),
    ],
)
def test_atr_and_absolute_levels(kw: dict[str, str], reason: str, price: float) -> None:
    s = sig(4, [1])
    atr = {"exits.atr_period": 1} if "atr" in next(iter(kw.values())) else {}  # else refused
    res = run(make_panel({"A": ATR_BARS}), s, cash=CASH, **atr, **kw)
    tr = _one(res)
    assert (tr.exit_reason, tr.exit_price) == (reason, pytest.approx(price))
    assert tr.exit_time == res.index[3]


AMBIG = _market((100.0, 111.0, 94.0, 100.0), (100.0, 101.0, 99.0, 100.0))  # bar 2: 94..111


@pytest.mark.parametrize(
    ("policy", "reason", "price"),
    [("stop_first", "stop_loss", 95.0), ("target_first", "take_profit", 110.0)],
)
def test_ambiguity_policy(policy: str, reason: str, price: float) -> None:
    res = run(make_panel({"A": AMBIG}), sig(4, [0]), cash=CASH, stop_loss="5%",
              take_profit="10%", ambiguity=policy)  # fmt: skip
    tr = _one(res)
    assert (tr.exit_reason, tr.exit_price, bool(tr.ambiguous)) == (
        reason,
        pytest.approx(price),
        True,
    )
    assert res.ambiguous_bars == 1 and res.metrics["ambiguous_bars"] == 1.0


@pytest.mark.parametrize(
    ("fine_hl", "reason", "price"),
    [
        # finer bars of bar 2: up to 111 first, then down to 94 -> the target was first
        ([(105.0, 100.0), (111.0, 104.0), (104.0, 94.0)], "take_profit", 110.0),
        # down to 94 first
        ([(101.0, 94.0), (111.0, 100.0), (104.0, 100.0)], "stop_loss", 95.0),
        # both inside one finer bar: still ambiguous, the stop is taken
        ([(111.0, 94.0)], "stop_loss", 95.0),
    ],
)
def test_ambiguity_finer_bars(
    fine_hl: list[tuple[float, float]], reason: str, price: float
) -> None:
    # fine arrays: finer bars flattened; (bars, symbols) start/end offsets, -1 = none
    start = np.full((4, 1), -1, dtype=np.int64)
    end = np.full((4, 1), -1, dtype=np.int64)
    start[2, 0], end[2, 0] = 0, len(fine_hl)
    fine = {
        "start": start,
        "end": end,
        "high": np.array([h for h, _ in fine_hl]),
        "low": np.array([lo for _, lo in fine_hl]),
    }
    res = run(make_panel({"A": AMBIG}), sig(4, [0]), fine=fine, cash=CASH, stop_loss="5%",
              take_profit="10%", ambiguity="finer_bars")  # fmt: skip
    tr = _one(res)
    assert (tr.exit_reason, tr.exit_price) == (reason, pytest.approx(price))
    assert res.ambiguous_bars == 1


def test_time_exit_after_max_bars_held() -> None:
    bars = _market(*[(100.0 + k, 101.0 + k, 99.0 + k, 100.0 + k) for k in range(1, 6)])
    res = run(make_panel({"A": bars}), sig(7, [0]), cash=CASH, max_bars=2)
    # entered at bar 1's open; held bars 1 and 2; sold at bar 3's open (101 + 1 = 102)
    tr = res.trades.iloc[0]
    assert (tr.exit_reason, tr.bars_held, tr.exit_price) == ("time", 2, 102.0)
    assert tr.exit_time == res.index[3]
    # close timing: bought at bar 0's close 99, sold at bar 2's close after 2 bars
    res = run(make_panel({"A": bars}), sig(7, [0]), cash=CASH, max_bars=2, fill="close")
    tr = res.trades.iloc[0]
    assert (tr.exit_reason, tr.bars_held, tr.exit_time) == ("time", 2, res.index[2])


def test_intrabar_limit_entry_never_exits_at_the_earlier_open() -> None:
    # buy limit 100 (GTC irrelevant): bar 1 opens at 112, trades down to 99 -> bought at 100.
    # A 10% target (110) is below bar 1's open, but the open came before the fill: the trade
    # must not be closed at the open 112. The bar's high may have come before the fill, so
    # the target is not taken in the entry bar; bar 2 (high 111) hits it at 110.
    bars = [(100.0, 101.0, 99.0, 100.0), (112.0, 113.0, 99.0, 101.0),
            (104.0, 111.0, 103.0, 108.0)]  # fmt: skip
    s = sig(3, [0], limit_price=levels(3, {0: 100.0}))
    tr = _one(run(make_panel({"A": bars}), s, cash=CASH, take_profit="10%"))
    assert tr.entry_price == 100.0
    assert (tr.exit_reason, tr.exit_price, tr.bars_held) == ("take_profit", pytest.approx(110.0), 1)
    # the stop of a limit entry is still checked in the entry bar (the low follows the fill):
    # stop 2% = 98, low 99 -> kept; with a 0.5% stop (99.5) -> stopped at 99.5
    tr = _one(run(make_panel({"A": bars}), s, cash=CASH, stop_loss="0.5%"))
    assert (tr.exit_reason, tr.exit_price, tr.bars_held) == ("stop_loss", 99.5, 0)


@pytest.mark.parametrize(
    ("fine", "msg"),
    [
        ({"start": np.zeros((4, 1))}, "missing key"),
        (
            {"start": np.zeros((3, 1)), "end": np.zeros((4, 1)), "high": [1.0], "low": [1.0]},
            "start has shape",
        ),
        (
            {"start": np.zeros((4, 1)), "end": np.full((4, 1), 2), "high": [1.0], "low": [1.0]},
            "offsets",
        ),
        (
            {"start": np.full((4, 1), -2), "end": np.zeros((4, 1)), "high": [1.0], "low": [1.0]},
            "offsets",
        ),
        (
            {"start": np.zeros((1, 1)), "end": np.zeros((1, 1)), "high": [1.0, 2.0], "low": [1.0]},
            "equal length",
        ),
    ],
)
def test_bad_finer_bars_are_rejected(fine: dict[str, object], msg: str) -> None:
    with pytest.raises(BacktestError, match=msg):
        run(make_panel({"A": AMBIG}), sig(4, [0]), fine=fine, ambiguity="finer_bars",
            stop_loss="5%", take_profit="10%")  # fmt: skip
