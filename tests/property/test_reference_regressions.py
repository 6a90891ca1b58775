"""Smallest cases where the engine and the reference simulator disagreed, each asserting the
documented behaviour (values from the reference or by hand, never from the engine)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from tests.reference.compare import Case, check, run_engine, run_reference
from tests.reference.generate import random_signals
from tests.reference.harness import FAST_PATH_MODES, Bars, random_bars
from tests.reference.model import Costs, ExitRules, RefConfig, RiskRules, Sizing

from alphaforge.strategy.base import Signals, TargetWeights


def _flat_bars(n: int, m: int, missing: tuple[tuple[int, int], ...] = ()) -> Bars:
    """Every bar opens, closes, highs and lows at 100 (volume 1e9); ``missing`` bars are NaN."""
    a = [np.full((n, m), 100.0) for _ in range(4)]
    for t, j in missing:
        for x in a:
            x[t, j] = np.nan
    index = pd.date_range("2024-01-01", periods=n, freq="B", tz="UTC", name="timestamp")
    return Bars(a[0], a[1], a[2], a[3], np.full((n, m), 1e9), index)


@pytest.mark.parametrize("fast_paths", FAST_PATH_MODES)
def test_second_entry_of_a_bar_can_spend_the_cash_the_first_left(fast_paths: bool | None) -> None:
    """Buying power of the second entry in one open = the cash the first left. Cash 9,010, 10 bps
    slippage: S0 buys 50 at 100.1 (5,005), leaving 4,005 = 40 shares at 100.1. Counting S0's
    new shares at the fill price instead of the bar's price takes the slippage twice (39)."""
    bars = _flat_bars(4, 2)
    entries = np.zeros((4, 2), dtype=bool)
    entries[0] = True
    sig = Signals(entries=entries, exits=np.zeros((4, 2), dtype=bool))
    cfg = RefConfig(cash=9_010.0, costs=Costs(slip_bps=0.001), sizing=Sizing("shares", 50.0))
    case = Case(bars, cfg, sig)
    assert [o.quantity for o in run_reference(case).orders] == [50.0, 40.0]
    check(case, fast_paths)


@pytest.mark.parametrize("fast_paths", FAST_PATH_MODES)
def test_time_exit_is_decided_on_a_bar_the_symbol_misses(fast_paths: bool | None) -> None:
    """``max_bars: 2``: entered at bar 1's open, the exit is due at bar 2's close even if the
    symbol has no bar 2, so it fills at bar 3's open after 2 bars held (not at bar 4)."""
    bars = _flat_bars(6, 1, missing=((2, 0),))
    sig = Signals(entries=np.array([[True]] + [[False]] * 5), exits=np.zeros((6, 1), dtype=bool))
    cfg = RefConfig(costs=Costs(), exits=ExitRules(max_bars=2))
    case = Case(bars, cfg, sig)
    (trade,) = run_reference(case).trades
    assert (trade.exit_bar, trade.bars_held, trade.exit_reason) == (3, 2, "time")
    check(case, fast_paths)


@pytest.mark.parametrize("fast_paths", FAST_PATH_MODES)
def test_volume_capped_fractional_entry_leaves_no_dust_order(fast_paths: bool | None) -> None:
    """Fractional sizing with a participation cap fills the entry over several bars; the rest is
    ``ordered - filled``, never a 1e-14 remainder of float subtraction filled as its own order."""
    rng = np.random.default_rng(608)
    bars = random_bars(608, 20, 1)
    cfg = RefConfig(
        costs=Costs(participation=0.02), sizing=Sizing("fraction", 0.2, fractional=True)
    )
    case = Case(bars, cfg, random_signals(rng, bars, 0.2, "market", False))
    res = run_engine(case, fast_paths)
    qty = res.orders["quantity"].to_numpy()
    assert not ((qty > 0) & (qty < 1e-9)).any()
    check(case, fast_paths)


@pytest.mark.parametrize("fast_paths", FAST_PATH_MODES)
@pytest.mark.parametrize(
    ("risk", "reason"),
    [
        (RiskRules(max_positions=1), "max_positions"),
        (RiskRules(max_net_leverage=0.5), "max_leverage"),
        (RiskRules(max_gross_leverage=0.5), "max_leverage"),
        (RiskRules(min_cash=0.5), "min_cash_reserve"),
        (RiskRules(max_sector_exposure=0.4, sectors=("A", "A", "A")), "max_sector_exposure"),
    ],
)
def test_rebalance_obeys_the_entry_limits_and_names_them(
    fast_paths: bool | None, risk: RiskRules, reason: str
) -> None:
    """Three symbols at 1/3 each: the first buy (priority order) is allowed, the limit then
    stops the others, and their rejections name the limit, not insufficient cash."""
    bars = _flat_bars(4, 3)
    w = np.full((4, 3), 1 / 3)
    mask = np.array([True, False, False, False])
    cfg = RefConfig(costs=Costs(), risk=risk)
    case = Case(bars, cfg, TargetWeights(weights=w, rebalance=mask))
    ref = run_reference(case)
    assert ref.orders[0].status == "filled"
    assert {o.reason for o in ref.orders if o.status == "rejected"} == {reason}
    check(case, fast_paths)
