"""Numba helpers of the simulation kernel: record buffers, costs, sizing and fills.

State lives in two small matrices so that helpers take few arguments:
``ps`` (symbols x P_*) holds each open position, ``pend`` (symbols x PD_*) each pending order.
"""

from __future__ import annotations

import numpy as np

from alphaforge._jit import configure_cache, helper_njit
from alphaforge.sim.codes import (
    F_COMM_FIXED,
    F_COMM_MAX_PCT,
    F_COMM_MIN,
    F_COMM_PCT,
    F_COMM_SHARE,
    F_FRACTIONAL,
    F_KELLY_FALLBACK,
    F_KELLY_LOOKBACK,
    F_KELLY_MIN,
    F_SIZE_VALUE,
    F_SIZING,
    F_SLIP_ATR,
    F_SLIP_BPS,
    F_SPREAD,
    OR_BAR,
    OR_FEE,
    OR_PRICE,
    OR_QTY,
    OR_REASON,
    OR_REQUESTED,
    OR_SIDE,
    OR_STATUS,
    OR_SYMBOL,
    SIZE_ALL_IN,
    SIZE_CASH,
    SIZE_FRACTION,
    SIZE_KELLY,
    SIZE_RISK,
    SIZE_SHARES,
    SIZE_VOL_TARGET,
    TR_AMBIGUOUS,
    TR_BARS_HELD,
    TR_DIRECTION,
    TR_ENTRY_BAR,
    TR_ENTRY_PRICE,
    TR_EXIT_BAR,
    TR_EXIT_PRICE,
    TR_EXIT_REASON,
    TR_FEES,
    TR_MAE,
    TR_MFE,
    TR_PNL,
    TR_QTY,
    TR_RETURN,
    TR_SLIPPAGE,
    TR_SYMBOL,
)

configure_cache()

# position state columns
P_QTY = 0
P_ENTRY_PX = 1
P_ENTRY_BAR = 2
P_FEES = 3
P_SLIP = 4
P_SL = 5
P_TP = 6
P_TRAIL_DIST = 7
P_TRAIL_PCT = 8
P_PEAK = 9
P_TROUGH = 10
P_MAXLOSS = 11
P_FILL_BAR = 12
P_AMBIG = 13
P_NCOLS = 14

# pending order columns
PD_EXIT = 0  # 1.0 when a market exit is pending
PD_EXIT_REASON = 1
PD_ENTRY = 2  # +1 long, -1 short, 0 none
PD_SIG_BAR = 3
PD_LIMIT = 4
PD_STOP = 5
PD_LEFT = 6  # quantity still to fill of a partially filled market order (0 = size at fill)
PD_NCOLS = 7

# counters
CNT_TRADES = 0
CNT_ORDERS = 1
CNT_EVENTS = 2
CNT_AMBIG = 3
CNT_OVERFLOW = 4  # a record buffer was full: the run is repeated with more room
N_COUNTERS = 5


@helper_njit
def flex_nb(a: np.ndarray, t: int, j: int) -> float:
    """Element (t, j) of ``a`` broadcasting rows/columns of length one."""
    return a[t if a.shape[0] > 1 else 0, j if a.shape[1] > 1 else 0]


@helper_njit
def commission_nb(qty: float, price: float, f: np.ndarray) -> float:
    """Fee of one fill: fixed + % of value + per-share (clipped to [min, max % of value])."""
    q = abs(qty)
    if q == 0.0:
        return 0.0
    value = q * price
    fee = f[F_COMM_FIXED] + value * f[F_COMM_PCT]
    if f[F_COMM_SHARE] > 0.0:
        per_share = q * f[F_COMM_SHARE]
        per_share = max(per_share, f[F_COMM_MIN])
        if f[F_COMM_MAX_PCT] > 0.0:
            per_share = min(per_share, value * f[F_COMM_MAX_PCT])
        fee += per_share
    return fee


@helper_njit
def slippage_nb(price: float, atr: float, f: np.ndarray) -> float:
    """Adverse price move per share paid on a fill (always >= 0)."""
    s = price * (f[F_SLIP_BPS] + 0.5 * f[F_SPREAD])
    if f[F_SLIP_ATR] > 0.0 and atr == atr:
        s += f[F_SLIP_ATR] * atr
    return s


@helper_njit
def round_qty_nb(q: float, f: np.ndarray) -> float:
    if f[F_FRACTIONAL] > 0.0:
        return q
    return float(np.floor(q + 1e-9))


@helper_njit
def affordable_nb(cash: float, price: float, f: np.ndarray) -> float:
    """Largest quantity whose cost plus commission fits ``cash`` (whole shares unless fractional).

    For a percentage commission this is ``floor(cash / (price * (1 + c)))``, the rule
    backtesting.py uses for all-in orders.
    """
    if cash <= 0.0 or price <= 0.0:
        return 0.0
    unit = price * (1.0 + f[F_COMM_PCT]) + f[F_COMM_SHARE]
    q = round_qty_nb((cash - f[F_COMM_FIXED]) / unit, f)
    while q > 0.0 and q * price + commission_nb(q, price, f) > cash + 1e-9:
        q = round_qty_nb(q - 1.0, f) if f[F_FRACTIONAL] == 0.0 else q * (1.0 - 1e-9)
    return max(q, 0.0)


@helper_njit
def kelly_fraction_nb(rets: np.ndarray, n_closed: int, f: np.ndarray) -> float:
    """Fractional Kelly from the trailing closed-trade returns ring buffer."""
    k = min(n_closed, rets.shape[0], int(f[F_KELLY_LOOKBACK]))
    if k < int(f[F_KELLY_MIN]):
        return f[F_KELLY_FALLBACK]
    wins = 0
    sw = 0.0
    sl = 0.0
    for i in range(k):
        r = rets[(n_closed - 1 - i) % rets.shape[0]]
        if r > 0:
            wins += 1
            sw += r
        elif r < 0:
            sl -= r
    losses = k - wins
    if wins == 0:
        return 0.0
    if losses == 0 or sl == 0.0:
        return min(1.0, f[F_SIZE_VALUE])
    p = wins / k
    b = (sw / wins) / (sl / losses)
    kelly = p - (1.0 - p) / b
    return min(1.0, max(0.0, f[F_SIZE_VALUE] * kelly))


@helper_njit
def target_qty_nb(
    price: float,
    equity: float,
    avail: float,
    stop_dist: float,
    vol: float,
    kelly: float,
    f: np.ndarray,
) -> float:
    """Unsigned entry quantity for the configured sizing method (before risk caps)."""
    m = int(f[F_SIZING])
    v = f[F_SIZE_VALUE]
    if m == SIZE_ALL_IN:
        return affordable_nb(avail, price, f)
    if m == SIZE_FRACTION:
        q = v * equity / price
    elif m == SIZE_CASH:
        q = v / price
    elif m == SIZE_SHARES:
        q = v
    elif m == SIZE_RISK:
        if not stop_dist > 0.0:
            return -1.0  # caller rejects: risk sizing needs a stop
        q = v * equity / stop_dist
    elif m == SIZE_VOL_TARGET:
        if not vol > 0.0:
            return 0.0
        q = min(v / vol, 1.0) * equity / price
    elif m == SIZE_KELLY:
        q = kelly * equity / price
    else:
        q = 0.0
    return round_qty_nb(q, f)


@helper_njit
def add_order_nb(
    orders: np.ndarray,
    cnt: np.ndarray,
    t: int,
    j: int,
    side: float,
    qty: float,
    price: float,
    fee: float,
    status: int,
    reason: int,
    requested: float,
) -> None:
    n = cnt[1]
    if n >= orders.shape[0]:
        cnt[CNT_OVERFLOW] = 1  # the caller reruns with more room
        return
    orders[n, OR_BAR] = t
    orders[n, OR_SYMBOL] = j
    orders[n, OR_SIDE] = side
    orders[n, OR_QTY] = qty
    orders[n, OR_PRICE] = price
    orders[n, OR_FEE] = fee
    orders[n, OR_STATUS] = status
    orders[n, OR_REASON] = reason
    orders[n, OR_REQUESTED] = requested
    cnt[1] = n + 1


@helper_njit
def close_part_nb(
    trades: np.ndarray,
    cnt: np.ndarray,
    ps: np.ndarray,
    j: int,
    t: int,
    qty_closed: float,
    price: float,
    fee: float,
    slip: float,
    reason: int,
) -> None:
    """Record the trade for ``qty_closed`` (> 0) units of position ``j`` closed at ``price``."""
    q = ps[j, P_QTY]
    d = 1.0 if q > 0 else -1.0
    frac = qty_closed / abs(q)
    entry_fee = ps[j, P_FEES] * frac
    entry_slip = ps[j, P_SLIP] * frac
    n = cnt[0]
    if n >= trades.shape[0]:
        cnt[CNT_OVERFLOW] = 1
        ps[j, P_FEES] -= entry_fee
        ps[j, P_SLIP] -= entry_slip
        return
    ep = ps[j, P_ENTRY_PX]
    pnl = d * qty_closed * (price - ep) - entry_fee - fee
    trades[n, TR_SYMBOL] = j
    trades[n, TR_DIRECTION] = d
    trades[n, TR_ENTRY_BAR] = ps[j, P_ENTRY_BAR]
    trades[n, TR_EXIT_BAR] = t
    trades[n, TR_ENTRY_PRICE] = ep
    trades[n, TR_EXIT_PRICE] = price
    trades[n, TR_QTY] = qty_closed
    trades[n, TR_FEES] = entry_fee + fee
    trades[n, TR_SLIPPAGE] = entry_slip + slip * qty_closed
    trades[n, TR_PNL] = pnl
    trades[n, TR_RETURN] = pnl / (qty_closed * ep) if ep > 0 else np.nan
    if d > 0:
        trades[n, TR_MAE] = ps[j, P_TROUGH] / ep - 1.0
        trades[n, TR_MFE] = ps[j, P_PEAK] / ep - 1.0
    else:
        trades[n, TR_MAE] = 1.0 - ps[j, P_PEAK] / ep
        trades[n, TR_MFE] = 1.0 - ps[j, P_TROUGH] / ep
    trades[n, TR_BARS_HELD] = t - ps[j, P_ENTRY_BAR]
    trades[n, TR_EXIT_REASON] = reason
    trades[n, TR_AMBIGUOUS] = ps[j, P_AMBIG]
    cnt[0] = n + 1
    ps[j, P_FEES] -= entry_fee
    ps[j, P_SLIP] -= entry_slip


@helper_njit
def open_part_nb(
    ps: np.ndarray, j: int, t: int, delta: float, price: float, fee: float, slip: float
) -> None:
    """Add ``delta`` (signed, same direction or from flat) to position ``j`` at ``price``."""
    q = ps[j, P_QTY]
    if q == 0.0:
        ps[j, P_ENTRY_PX] = price
        ps[j, P_ENTRY_BAR] = t
        ps[j, P_FEES] = fee
        ps[j, P_SLIP] = slip * abs(delta)
        ps[j, P_PEAK] = price
        ps[j, P_TROUGH] = price
        ps[j, P_AMBIG] = 0.0
        ps[j, P_SL] = np.nan
        ps[j, P_TP] = np.nan
        ps[j, P_TRAIL_DIST] = np.nan
        ps[j, P_TRAIL_PCT] = np.nan
        ps[j, P_MAXLOSS] = np.nan
    else:
        ps[j, P_ENTRY_PX] = (q * ps[j, P_ENTRY_PX] + delta * price) / (q + delta)
        ps[j, P_FEES] += fee
        ps[j, P_SLIP] += slip * abs(delta)
    ps[j, P_QTY] = q + delta
    ps[j, P_FILL_BAR] = t
