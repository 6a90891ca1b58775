"""The risk and buying-power rules called from plain Python with a settings record, as another
engine (the runtime's risk gate) calls them; expected values computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from alphaforge.core.rules import BacktestConfig
from alphaforge.sim import codes as C
from alphaforge.sim.kernels_rules import (
    FIRED_DAILY,
    FIRED_DRAWDOWN,
    FIRED_WEEKLY,
    buying_power_nb,
    cap_buying_power_nb,
    entry_block_nb,
    entry_caps_nb,
    loss_limits_nb,
    max_positions_reached_nb,
    participation_nb,
    stop_level_nb,
    trade_max_loss_price_nb,
)
from alphaforge.sim.records import POSITION, RISK, settings_record
from alphaforge.sim.settings import settings_from_config


def _s(**kw: float) -> np.void:
    s = settings_record()
    s["sizing"] = C.SIZE_FRACTION
    for k, v in kw.items():
        s[k] = v
    return s


def test_buying_power_gross_leverage_reserve_and_short_margin() -> None:
    # 1x equity 100,000 with 30,000 held: 70,000 free; a 10% reserve leaves 60,000
    assert buying_power_nb(100_000.0, 30_000.0, 1.0, _s(min_cash=0.1)) == (60_000.0, 70_000.0)
    # 2x gross: 200,000 - 30,000 = 170,000
    assert buying_power_nb(100_000.0, 30_000.0, 1.0, _s(max_gross=2.0)) == (170_000.0, 170_000.0)
    # a short needs 1.5x its value: 70,000 / 1.5
    bp, free = buying_power_nb(100_000.0, 30_000.0, -1.0, _s(margin=1.5))
    assert bp == pytest.approx(70_000.0 / 1.5) and free == pytest.approx(70_000.0 / 1.5)


def test_buying_power_cap_names_the_binding_limit() -> None:
    # 1,000 shares at 100 wanted, 60,000 of buying power after the reserve: 600 shares
    qty, why = cap_buying_power_nb(1_000.0, 1.0, 100.0, 100_000.0, 30_000.0, _s(min_cash=0.1))
    assert (qty, why) == (600.0, C.REASON_CASH_RESERVE)
    qty, why = cap_buying_power_nb(1_000.0, 1.0, 100.0, 100_000.0, 30_000.0, _s())
    assert (qty, why) == (700.0, C.REASON_NO_CASH)
    qty, why = cap_buying_power_nb(3_000.0, 1.0, 100.0, 100_000.0, 0.0, _s(max_gross=2.0))
    assert (qty, why) == (2_000.0, C.REASON_LEVERAGE)
    assert cap_buying_power_nb(10.0, 1.0, 100.0, 100_000.0, 0.0, _s()) == (10.0, 0)


@pytest.mark.parametrize(
    ("limits", "held", "sector_value", "net", "expected"),
    [
        # max weight 20% of 100,000 at 100: 200 shares (an entry holds nothing yet)
        ({"max_weight": 0.2}, 0.0, 0.0, 0.0, (200.0, C.REASON_MAX_WEIGHT)),
        # sector cap 30%: 30,000 - 25,000 already in the sector = 50 shares
        ({"sector_cap": 0.3}, 0.0, 25_000.0, 0.0, (50.0, C.REASON_SECTOR)),
        # net leverage 0.5: 50,000 - 45,000 net long = 50 shares
        ({"max_net": 0.5}, 0.0, 0.0, 45_000.0, (50.0, C.REASON_LEVERAGE)),
        # nothing binds
        ({"max_weight": 0.9}, 0.0, 0.0, 0.0, (500.0, C.REASON_ZERO_SIZE)),
    ],
)
def test_entry_caps(
    limits: dict[str, float],
    held: float,
    sector_value: float,
    net: float,
    expected: tuple[float, int],
) -> None:
    s = _s(**limits)
    got = entry_caps_nb(500.0, 1.0, 100.0, 100_000.0, 0.0, net, held, sector_value, s)
    assert got == expected


def test_weights_mode_caps_an_increase_at_buying_power_and_net_leverage() -> None:
    s = _s(weights_mode=True, max_net=0.5)
    # 400 more shares at 100 with 20,000 net held: room 50,000 - 20,000 = 300 shares
    assert entry_caps_nb(400.0, 1.0, 100.0, 100_000.0, 20_000.0, 20_000.0, 20_000.0, 0.0, s) == (
        300.0,
        C.REASON_LEVERAGE,
    )


def test_max_positions_and_participation() -> None:
    s = _s(max_positions=3)
    assert not max_positions_reached_nb(2, s) and max_positions_reached_nb(3, s)
    assert not max_positions_reached_nb(100, _s())  # 0: unlimited
    assert participation_nb(5_000.0, 20_000.0, _s(participation=0.1)) == 2_000.0
    assert participation_nb(5_000.0, np.nan, _s(participation=0.1)) == 5_000.0


def _risk(day_eq: float, week_eq: float, peak: float) -> np.ndarray:
    r = np.zeros(1, dtype=RISK)
    r["day_start_eq"], r["week_start_eq"], r["peak_eq"] = day_eq, week_eq, peak
    r["blocked_day"] = r["blocked_week"] = -1
    r["dd_armed"] = True
    return r


def test_loss_limits_fire_once_and_block_entries() -> None:
    s = _s(daily_loss=0.02, weekly_loss=0.05, max_dd=0.1, dd_halt=True)
    r = _risk(100_000.0, 100_000.0, 110_000.0)
    # 97,000: -3% on the day (> 2%), -3% on the week (< 5%), -11.8% from the peak (> 10%)
    assert loss_limits_nb(r, 97_000.0, 7, 1, s) == FIRED_DAILY | FIRED_DRAWDOWN
    assert entry_block_nb(r, 7, 1) == C.REASON_HALTED
    assert loss_limits_nb(r, 94_000.0, 7, 1, s) == FIRED_WEEKLY  # day and breaker already fired
    r["halted"] = False
    assert entry_block_nb(r, 7, 1) == C.REASON_DAILY_LOSS
    assert entry_block_nb(r, 8, 1) == C.REASON_WEEKLY_LOSS
    assert entry_block_nb(r, 8, 2) == 0


def test_drawdown_breaker_rearms_at_a_new_peak() -> None:
    s = _s(max_dd=0.1, dd_flatten=True)
    r = _risk(100_000.0, 100_000.0, 100_000.0)
    assert loss_limits_nb(r, 89_000.0, 1, 0, s) == FIRED_DRAWDOWN
    assert loss_limits_nb(r, 85_000.0, 2, 0, s) == 0  # not again from the same peak
    assert loss_limits_nb(r, 101_000.0, 3, 0, s) == 0  # new peak: re-armed
    assert loss_limits_nb(r, 90_000.0, 4, 0, s) == FIRED_DRAWDOWN  # 90,000 < 90,900


def test_stop_level_takes_the_tightest_and_names_it() -> None:
    pos = np.zeros(1, dtype=POSITION)
    pos["qty"] = 10.0
    pos["peak"], pos["trough"] = 110.0, 95.0
    pos["sl"], pos["maxloss"], pos["trail_dist"], pos["trail_pct"] = 95.0, 97.0, np.nan, 0.05
    # trailing 5% below the 110 peak = 104.5, tighter than the 97 max-loss and the 95 stop
    assert stop_level_nb(pos, 0) == (pytest.approx(104.5), C.EXIT_TRAILING_STOP)
    pos["trail_pct"] = np.nan
    assert stop_level_nb(pos, 0) == (97.0, C.EXIT_RISK_LIMIT)
    # max loss 2% of 100,000 on 400 shares entered at 50: 50 - 2,000 / 400 = 45
    assert trade_max_loss_price_nb(50.0, 1.0, 100_000.0, 400.0, _s(trade_max_loss=0.02)) == 45.0


def test_the_record_built_from_a_config_carries_every_rule_setting() -> None:
    cfg = BacktestConfig.build(
        {
            "costs": {"commission": "0.005/share,min=1,max=1%", "slippage": "5bps+spread=10bps"},
            "risk": {"max_positions": 4, "max_net_leverage": 0.8, "drawdown_action": "halt"},
            "direction": "long_short",
        }
    )
    s = settings_from_config(cfg, 252.0)
    assert (s["comm_share"], s["comm_min"], s["comm_max_pct"]) == (0.005, 1.0, 0.01)
    assert (s["slip_bps"], s["spread"]) == (0.0005, 0.001)
    assert (s["max_positions"], s["max_net"]) == (4, 0.8)
    assert not s["dd_flatten"] and s["dd_halt"]
    assert s["allow_long"] and s["allow_short"] and s["ppy"] == 252.0
