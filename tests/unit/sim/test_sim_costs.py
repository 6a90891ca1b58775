"""The compiled trading rules called from plain Python with a settings record (hand-computed
values): the same functions the vectorized engine calls in its bar loop."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alphaforge.sim import codes as C
from alphaforge.sim.kernels_rules import (
    affordable_nb,
    commission_nb,
    kelly_fraction_nb,
    size_nb,
    slippage_nb,
    trigger_price_nb,
)
from alphaforge.sim.records import TRADE, settings_record


def _f(**kw: float) -> np.void:
    s = settings_record()
    for k, v in kw.items():
        s[k] = v
    return s


def _returns(*rets: float) -> np.ndarray:
    trades = np.zeros(len(rets), dtype=TRADE)
    trades["ret"] = rets
    return trades


def test_commission_parts_add_and_per_share_is_clipped() -> None:
    f = _f(comm_fixed=1.0, comm_pct=0.001, comm_share=0.005, comm_min=1.0,
           comm_max_pct=0.01)  # fmt: skip
    # 100 shares at 10: 1 + 1.0 + max(0.5, 1) = 3
    assert commission_nb(100, 10.0, f) == pytest.approx(3.0)
    # 10000 shares at 0.2: 1 + 2 + min(50, 1% of 2000 = 20) = 23
    assert commission_nb(-10_000, 0.2, f) == pytest.approx(23.0)
    assert commission_nb(0, 10.0, f) == 0.0


def test_slippage_is_bps_plus_half_spread_plus_atr_multiple() -> None:
    f = _f(slip_bps=0.0005, spread=0.001, slip_atr=0.1)
    # 100 * (0.0005 + 0.0005) + 0.1 * 2 = 0.3
    assert slippage_nb(100.0, 2.0, f) == pytest.approx(0.3)
    assert slippage_nb(100.0, np.nan, f) == pytest.approx(0.1)  # no ATR yet


def test_atr_slippage_is_capped_so_a_fill_stays_above_zero() -> None:
    f = _f(slip_bps=0.0005, slip_atr=2.0, slip_cap=0.10)
    # an ATR of 50 on a price of 10: 0.005 + 100 would sell at -90; capped at 10% of 10 = 1
    assert slippage_nb(10.0, 50.0, f) == pytest.approx(1.0)
    # below the cap the ATR part is paid in full: 0.005 + 2 * 0.2 = 0.405
    assert slippage_nb(10.0, 0.2, f) == pytest.approx(0.405)
    # the cap never cuts the fixed part (allowed with costs.allow_high): 20% + ATR -> 20%
    high = _f(slip_bps=0.2, slip_atr=2.0, slip_cap=0.10)
    assert slippage_nb(10.0, 50.0, high) == pytest.approx(2.0)
    # a settings record without a cap keeps the sell above zero: 99% of the price
    assert slippage_nb(10.0, 50.0, _f(slip_atr=2.0)) == pytest.approx(9.9)


def test_extreme_atr_never_fills_at_or_below_zero() -> None:
    """A stock that collapses: its ATR exceeds its price, and 2 ATR of slippage on the exit
    would sell below zero. Every fill stays positive and pays at most 10% of its price."""
    import pandas as pd

    import alphaforge

    idx = pd.date_range("2020-01-01", periods=60, freq="B", tz="UTC")
    close = np.r_[np.full(30, 100.0), np.full(30, 3.0)]
    close[29] = 100.0
    high, low = close * 1.02, close * 0.98
    high[30], low[30] = 100.0, 2.0  # the crash bar: ATR jumps far above the new price
    df = pd.DataFrame({"open": close, "high": high, "low": low, "close": close,
                       "volume": 1e6}, index=idx)  # fmt: skip
    entries = np.zeros(60, bool)
    exits = np.zeros(60, bool)
    entries[5], exits[40] = True, True
    from alphaforge.strategy.base import Signals, Strategy, StrategyData

    class Fixed(Strategy):
        name = "fixed"

        def signals(self, data: StrategyData) -> Signals:
            return Signals(entries=entries[:, None], exits=exits[:, None])

    res = alphaforge.backtest(Fixed(), df, slippage="2atr", commission=0)
    t = res.trades.iloc[0]
    assert t["exit_price"] > 0
    # the exit's raw price is the open of bar 41 (3.0); the slippage is capped at 10%
    assert t["exit_price"] == pytest.approx(3.0 * 0.9)


def test_affordable_whole_and_fractional() -> None:
    # floor(10000 / (102 * 1.001)) = 97
    assert affordable_nb(10_000.0, 102.0, _f(comm_pct=0.001)) == 97
    # per share + fixed: floor((10000 - 1) / 10.005) = 999
    assert affordable_nb(10_000.0, 10.0, _f(comm_share=0.005, comm_fixed=1.0)) == 999
    q = affordable_nb(100.0, 3.0, _f(fractional=1.0))
    assert q == pytest.approx(100 / 3) and q * 3.0 <= 100.0 + 1e-9
    assert affordable_nb(-5.0, 3.0, _f()) == 0.0


def test_kelly_fraction() -> None:
    f = _f(size_value=0.5, kelly_lookback=50, kelly_min=2, kelly_fallback=0.1)
    assert kelly_fraction_nb(_returns(0.1), 1, f) == 0.1  # too few trades: fallback
    # p = 2/3, average win 0.1, average loss 0.05 -> b = 2, kelly = 2/3 - (1/3)/2 = 0.5; x 0.5
    assert kelly_fraction_nb(_returns(0.1, -0.05, 0.1), 3, f) == pytest.approx(0.25)
    assert kelly_fraction_nb(_returns(-0.1, -0.05), 2, f) == 0.0  # no winner


def test_size_methods() -> None:
    def q(method: int, value: float, **kw: float) -> float:
        f = _f(sizing=method, size_value=value)
        args = {"stop_dist": np.nan, "vol": np.nan, "kelly": 0.0, **kw}
        return float(size_nb(50.0, 20_000.0, 20_000.0, args["stop_dist"], args["vol"],
                                   args["kelly"], f))  # fmt: skip

    assert q(C.SIZE_FRACTION, 0.1) == 40  # 2000 / 50
    assert q(C.SIZE_CASH, 1_030.0) == 20
    assert q(C.SIZE_RISK, 0.01, stop_dist=2.5) == 80  # 200 / 2.5
    assert q(C.SIZE_RISK, 0.01) == -1.0  # no stop: rejected by the caller
    assert q(C.SIZE_VOL_TARGET, 0.15, vol=0.3) == 200  # 0.5 * 20000 / 50
    assert q(C.SIZE_VOL_TARGET, 0.15, vol=0.1) == 400  # capped at 1x equity
    assert q(C.SIZE_KELLY, 0.5, kelly=0.125) == math.floor(0.125 * 20_000 / 50)


@pytest.mark.parametrize(
    ("d", "o", "h", "lo", "lim", "stp", "px"),
    [
        (1, 100.0, 105.0, 95.0, 97.0, np.nan, 97.0),  # buy limit touched
        (1, 96.0, 105.0, 95.0, 97.0, np.nan, 96.0),  # opens below the limit
        (1, 100.0, 105.0, 98.0, 97.0, np.nan, np.nan),  # never reached
        (-1, 100.0, 105.0, 95.0, 103.0, np.nan, 103.0),  # sell limit
        (1, 100.0, 105.0, 95.0, np.nan, 102.0, 102.0),  # buy stop triggered
        (1, 103.0, 105.0, 95.0, np.nan, 102.0, 103.0),  # gap over the stop: the open
        (-1, 100.0, 105.0, 95.0, np.nan, 97.0, 97.0),  # sell stop
        (1, 100.0, 105.0, 95.0, 102.5, 102.0, 102.0),  # stop-limit within the limit
        (1, 104.0, 105.0, 103.0, 102.5, 102.0, np.nan),  # gapped beyond, never back
        (1, 104.0, 105.0, 101.0, 102.5, 102.0, 102.5),  # gapped beyond, back to the limit
    ],
)
def test_entry_triggers(
    d: int, o: float, h: float, lo: float, lim: float, stp: float, px: float
) -> None:
    got = trigger_price_nb(float(d), o, h, lo, lim, stp)
    if np.isnan(px):
        assert np.isnan(got)
    else:
        assert got == px
