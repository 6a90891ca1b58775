"""The trading rules, each defined once: costs, sizing, buying power, caps and risk limits.

Every function here is compiled by Numba and takes scalars, a :data:`~alphaforge.sim.records.
SETTINGS` record ``s`` and at most a small record array. The vectorized engine calls them from
its bar loop; the same compiled functions are callable from plain Python with the same record
(build it with :func:`alphaforge.sim.settings.settings_from_config`), so any other engine that
sizes, prices or risk-checks an order gets exactly the backtest's answer::

    s = settings_from_config(config, periods_per_year=252, timeframe="1d")
    fee = commission_nb(100.0, 50.0, s)
    qty, reason = entry_caps_nb(qty, 1.0, price, equity, gross, net, 0.0, 0.0, s)
"""

from __future__ import annotations

import numpy as np

from alphaforge._jit import configure_cache, helper_njit
from alphaforge.sim.codes import (
    BLOCK_NEXT_BAR,
    BLOCK_THIS_BAR,
    EXIT_RISK_LIMIT,
    EXIT_STOP_LOSS,
    EXIT_TRAILING_STOP,
    REASON_CASH_RESERVE,
    REASON_DAILY_LOSS,
    REASON_HALTED,
    REASON_LEVERAGE,
    REASON_MAX_WEIGHT,
    REASON_NO_CASH,
    REASON_SECTOR,
    REASON_WEEKLY_LOSS,
    REASON_ZERO_SIZE,
    SIZE_ALL_IN,
    SIZE_CASH,
    SIZE_FRACTION,
    SIZE_KELLY,
    SIZE_RISK,
    SIZE_SHARES,
    SIZE_VOL_TARGET,
)
from alphaforge.sim.records import SettingsRecord

configure_cache()

# an amount of money below which nothing can be bought (float residue of earlier arithmetic)
_NO_MONEY = 1e-9

# bits returned by loss_limits_nb
FIRED_DAILY = 1
FIRED_WEEKLY = 2
FIRED_DRAWDOWN = 4


@helper_njit
def flex_nb(a: np.ndarray, t: int, j: int) -> float:
    """Element (t, j) of ``a`` broadcasting rows/columns of length one."""
    return a[t if a.shape[0] > 1 else 0, j if a.shape[1] > 1 else 0]


# ---- costs ---------------------------------------------------------------------------------


@helper_njit
def commission_nb(qty: float, price: float, s: SettingsRecord) -> float:
    """Fee of one fill: fixed + % of value + per-share (clipped to [min, max % of value])."""
    q = abs(qty)
    if q == 0.0:
        return 0.0
    value = q * price
    fee = s.comm_fixed + value * s.comm_pct
    if s.comm_share > 0.0:
        per_share = q * s.comm_share
        per_share = max(per_share, s.comm_min)
        if s.comm_max_pct > 0.0:
            per_share = min(per_share, value * s.comm_max_pct)
        fee += per_share
    return fee


@helper_njit
def slippage_nb(price: float, atr: float, s: SettingsRecord) -> float:
    """Adverse price move per share paid on a fill (always >= 0): fixed bps, half the spread
    and a multiple of the ATR known before the fill. The ATR part is capped: with it the move
    is at most ``slip_cap`` of the price (never less than the fixed part), so an ATR larger than
    the price cannot push a sell's fill to zero or below."""
    slip = price * (s.slip_bps + 0.5 * s.spread)
    if s.slip_atr > 0.0 and atr == atr:
        cap = s.slip_cap if s.slip_cap > 0.0 else 0.99
        slip = min(slip + s.slip_atr * atr, max(slip, cap * price))
    return slip


@helper_njit
def participation_nb(want: float, bar_volume: float, s: SettingsRecord) -> float:
    """Quantity of ``want`` that may fill against ``bar_volume`` (the rest stays pending)."""
    if s.participation > 0.0 and bar_volume == bar_volume and bar_volume < np.inf:
        return min(want, round_qty_nb(s.participation * bar_volume, s))
    return want


# ---- sizing --------------------------------------------------------------------------------


@helper_njit
def round_qty_nb(q: float, s: SettingsRecord) -> float:
    """Whole units unless fractional quantities are allowed."""
    if s.fractional:
        return q
    return float(np.floor(q + 1e-9))


@helper_njit
def affordable_nb(cash: float, price: float, s: SettingsRecord) -> float:
    """Largest quantity whose cost plus commission fits ``cash`` (whole shares unless fractional).

    For a percentage commission this is ``floor(cash / (price * (1 + c)))``, the rule
    backtesting.py uses for all-in orders.
    """
    if cash <= _NO_MONEY or price <= 0.0:
        return 0.0
    unit = price * (1.0 + s.comm_pct) + s.comm_share
    q = round_qty_nb((cash - s.comm_fixed) / unit, s)
    while q > 0.0 and q * price + commission_nb(q, price, s) > cash + 1e-9:
        q = round_qty_nb(q - 1.0, s) if not s.fractional else q * (1.0 - 1e-9)
    return max(q, 0.0)


@helper_njit
def kelly_fraction_nb(trades: np.ndarray, n_closed: int, s: SettingsRecord) -> float:
    """Fractional Kelly from the returns of the last closed trades (``trades[:n_closed]``)."""
    k = min(n_closed, s.kelly_lookback)
    if k < s.kelly_min:
        return s.kelly_fallback
    wins = 0
    sw = 0.0
    sl = 0.0
    for i in range(k):
        r = trades[n_closed - 1 - i].ret
        if r > 0:
            wins += 1
            sw += r
        elif r < 0:
            sl -= r
    losses = k - wins
    if wins == 0:
        return 0.0
    if losses == 0 or sl == 0.0:
        return min(1.0, s.size_value)
    p = wins / k
    b = (sw / wins) / (sl / losses)
    kelly = p - (1.0 - p) / b
    return min(1.0, max(0.0, s.size_value * kelly))


@helper_njit
def size_nb(
    price: float,
    equity: float,
    avail: float,
    stop_dist: float,
    vol: float,
    kelly: float,
    s: SettingsRecord,
) -> float:
    """Unsigned entry quantity of the configured sizing method, before the caps; -1 when risk
    sizing has no stop distance (the entry is rejected)."""
    m = s.sizing
    v = s.size_value
    if m == SIZE_ALL_IN:
        return affordable_nb(avail, price, s)
    if m == SIZE_FRACTION:
        q = v * equity / price
    elif m == SIZE_CASH:
        q = v / price
    elif m == SIZE_SHARES:
        q = v
    elif m == SIZE_RISK:
        if not stop_dist > 0.0:
            return -1.0
        q = v * equity / stop_dist
    elif m == SIZE_VOL_TARGET:
        if not vol > 0.0:
            return 0.0
        q = min(v / vol, 1.0) * equity / price
    elif m == SIZE_KELLY:
        q = kelly * equity / price
    else:
        q = 0.0
    return round_qty_nb(q, s)


# ---- buying power and caps -------------------------------------------------------------------


@helper_njit
def buying_power_nb(
    equity: float, gross: float, d: float, s: SettingsRecord
) -> tuple[float, float]:
    """Money a new order of direction ``d`` may commit: (after the cash reserve, before it).

    Gross exposure may reach ``max_gross`` times equity (1x without a leverage limit); a short
    needs ``margin`` times its value.
    """
    lev = s.max_gross if s.max_gross > 0.0 else 1.0
    free = lev * equity - gross
    bp = free - s.min_cash * equity
    if d < 0:
        m = max(1.0, s.margin)
        bp /= m
        free /= m
    return bp, free


@helper_njit
def cap_buying_power_nb(
    qty: float, d: float, px: float, equity: float, gross: float, s: SettingsRecord
) -> tuple[float, int]:
    """Cap ``qty`` at what buying power affords; the reason names the binding limit (the cash
    reserve, a gross leverage limit, or cash), or is zero when nothing binds."""
    bp, free = buying_power_nb(equity, gross, d, s)
    cap = affordable_nb(bp, px, s)
    if cap >= qty:
        return qty, 0
    if s.min_cash > 0.0 and affordable_nb(free, px, s) > cap:
        return cap, REASON_CASH_RESERVE
    return cap, REASON_LEVERAGE if s.max_gross > 0.0 else REASON_NO_CASH


@helper_njit
def cap_limits_nb(
    qty: float,
    d: float,
    px: float,
    equity: float,
    net: float,
    held: float,
    sector_value: float,
    s: SettingsRecord,
) -> tuple[float, int]:
    """Cap an increase of ``qty`` at the weight, sector and net-leverage limits.

    ``held`` is the symbol's position value in the direction of the order (0 for an entry;
    target weights are clipped to ``max_weight`` before they become orders),
    ``sector_value`` the gross value already held in its sector, ``net`` the account's net
    exposure. Returns the quantity and the last limit that bound (0 when none).
    """
    reason = 0
    if s.max_weight > 0.0 and not s.weights_mode:  # target weights are clipped to it instead
        cap = round_qty_nb(max(0.0, s.max_weight * equity - held) / px, s)
        if cap < qty:
            qty = cap
            reason = REASON_MAX_WEIGHT
    if s.sector_cap > 0.0:
        cap = round_qty_nb(max(0.0, s.sector_cap * equity - sector_value) / px, s)
        if cap < qty:
            qty = cap
            reason = REASON_SECTOR
    if s.max_net > 0.0:
        room = s.max_net * equity - d * net
        cap = round_qty_nb(max(0.0, room) / px, s)
        if cap < qty:
            qty = cap
            reason = REASON_LEVERAGE
    return qty, reason


@helper_njit
def entry_caps_nb(
    qty: float,
    d: float,
    px: float,
    equity: float,
    gross: float,
    net: float,
    held: float,
    sector_value: float,
    s: SettingsRecord,
) -> tuple[float, int]:
    """All caps of an order that adds exposure: buying power, then weight, sector, net leverage.

    All-in sizing already spent the buying power; its zero size is attributed to the limit
    that left nothing. Returns the quantity and the reason to record if it is zero.
    """
    reason = REASON_ZERO_SIZE
    if s.sizing != SIZE_ALL_IN or s.weights_mode:
        qty, why = cap_buying_power_nb(qty, d, px, equity, gross, s)
        if why != 0:
            reason = why
    elif qty <= 0.0:
        _cap, why = cap_buying_power_nb(1.0, d, px, equity, gross, s)
        reason = why if why != 0 else REASON_NO_CASH
    qty, why = cap_limits_nb(qty, d, px, equity, net, held, sector_value, s)
    if why != 0:
        reason = why
    return qty, reason


@helper_njit
def max_positions_reached_nb(n_open: int, s: SettingsRecord) -> bool:
    """Whether a new position would exceed the limit on open positions."""
    return s.max_positions > 0 and n_open >= s.max_positions


# ---- account risk limits -------------------------------------------------------------------


@helper_njit
def entry_block_nb(risk: np.ndarray, day: int, week: int) -> int:
    """Reason that blocks every new exposure now (halted, daily or weekly loss), else 0."""
    r = risk[0]
    if r.halted:
        return REASON_HALTED
    if r.blocked_day == day or r.blocked_day == BLOCK_NEXT_BAR or r.blocked_day == BLOCK_THIS_BAR:
        return REASON_DAILY_LOSS
    if r.blocked_week == week:
        return REASON_WEEKLY_LOSS
    return 0


@helper_njit
def new_period_nb(risk: np.ndarray, equity: float, new_day: bool, new_week: bool) -> None:
    """Reset the start equity of the day / week the loss limits measure from."""
    if new_day:
        risk[0].day_start_eq = equity
        # a daily loss limit that fired on bars of a day or longer blocks the one bar after it
        if risk[0].blocked_day == BLOCK_THIS_BAR:
            risk[0].blocked_day = -1
        elif risk[0].blocked_day == BLOCK_NEXT_BAR:
            risk[0].blocked_day = BLOCK_THIS_BAR
    if new_week:
        risk[0].week_start_eq = equity


@helper_njit
def loss_limits_nb(risk: np.ndarray, equity: float, day: int, week: int, s: SettingsRecord) -> int:
    """Evaluate the daily, weekly and drawdown limits at a close with ``equity``.

    Updates ``risk`` (blocked day / week, peak, breaker armed, halted) and returns the rules
    that fired as :data:`FIRED_DAILY` | :data:`FIRED_WEEKLY` | :data:`FIRED_DRAWDOWN`. The
    drawdown breaker fires once per peak: a new equity peak re-arms it.
    """
    r = risk[0]
    fired = 0
    if (
        s.daily_loss > 0.0
        and r.blocked_day != day
        and equity < r.day_start_eq * (1.0 - s.daily_loss)
    ):
        r.blocked_day = BLOCK_NEXT_BAR if s.daily_bars else day
        fired |= FIRED_DAILY
    if (
        s.weekly_loss > 0.0
        and r.blocked_week != week
        and equity < r.week_start_eq * (1.0 - s.weekly_loss)
    ):
        r.blocked_week = week
        fired |= FIRED_WEEKLY
    if equity > r.peak_eq:
        r.peak_eq = equity
        r.dd_armed = True
    if s.max_dd > 0.0 and r.dd_armed and equity < r.peak_eq * (1.0 - s.max_dd):
        r.dd_armed = False
        fired |= FIRED_DRAWDOWN
        if s.dd_halt:
            r.halted = True
    return fired


@helper_njit
def trade_max_loss_price_nb(
    entry_px: float, d: float, equity: float, qty: float, s: SettingsRecord
) -> float:
    """Price at which a new position loses ``trade_max_loss`` of the equity at entry (NaN if
    there is no such limit)."""
    if s.trade_max_loss > 0.0:
        return entry_px - d * s.trade_max_loss * equity / abs(qty)
    return np.nan


# ---- order triggers and protective levels --------------------------------------------------


@helper_njit
def trigger_price_nb(d: float, o: float, h: float, lo: float, lim: float, stp: float) -> float:
    """Raw fill price of a limit / stop / stop-limit entry within the bar, NaN if none."""
    if stp == stp:
        if (d > 0 and h < stp) or (d < 0 and lo > stp):
            return np.nan
        trig = max(o, stp) if d > 0 else min(o, stp)
        if lim == lim and ((d > 0 and trig > lim) or (d < 0 and trig < lim)):
            # triggered beyond the limit; only a trigger at the open is known to come before
            # the rest of the bar, whose range may then reach the limit
            if trig == o and ((d > 0 and lo <= lim) or (d < 0 and h >= lim)):
                return lim
            return np.nan
        return trig
    if (d > 0 and lo > lim) or (d < 0 and h < lim):
        return np.nan
    return min(o, lim) if d > 0 else max(o, lim)


@helper_njit
def stop_level_nb(pos: np.ndarray, j: int) -> tuple[float, int]:
    """Tightest protective stop of position ``j`` (stop-loss, max-loss or trailing) and the exit
    reason it stands for; NaN when there is none."""
    p = pos[j]
    q = p.qty
    trail = np.nan
    if p.trail_dist == p.trail_dist:
        trail = p.trail_dist
    elif p.trail_pct == p.trail_pct:
        trail = (p.peak if q > 0 else p.trough) * p.trail_pct
    trail_level = np.nan
    if trail == trail:
        trail_level = p.peak - trail if q > 0 else p.trough + trail
    level = np.nan
    reason = EXIT_STOP_LOSS
    cands = (p.sl, p.maxloss, trail_level)
    reasons = (EXIT_STOP_LOSS, EXIT_RISK_LIMIT, EXIT_TRAILING_STOP)
    for k in range(3):
        c = cands[k]
        if c != c:
            continue
        if level != level or (q > 0 and c > level) or (q < 0 and c < level):
            level = c
            reason = reasons[k]
    return level, reason


@helper_njit
def has_levels_nb(pos: np.ndarray, j: int) -> bool:
    """Whether position ``j`` has any protective level to check intrabar."""
    p = pos[j]
    return not (
        p.sl != p.sl
        and p.tp != p.tp
        and p.maxloss != p.maxloss
        and p.trail_pct != p.trail_pct
        and p.trail_dist != p.trail_dist
    )
