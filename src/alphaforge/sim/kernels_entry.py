"""Numba helpers of the simulation kernel: executing fills, entries with their risk caps, and
target-weight rebalancing."""

from __future__ import annotations

import numpy as np

from alphaforge._jit import configure_cache, helper_njit
from alphaforge.sim.codes import (
    EXIT_REBALANCE,
    F_DIRECTION,
    F_DRIFT_BAND,
    F_MARGIN,
    F_MAX_GROSS,
    F_MAX_NET,
    F_MAX_POSITIONS,
    F_MAX_WEIGHT,
    F_MIN_CASH,
    F_PARTICIPATION,
    F_SECTOR_CAP,
    F_SIZING,
    F_TRADE_MAX_LOSS,
    REASON_CASH_RESERVE,
    REASON_DAILY_LOSS,
    REASON_ENTRY,
    REASON_HALTED,
    REASON_LEVERAGE,
    REASON_MAX_POSITIONS,
    REASON_MAX_WEIGHT,
    REASON_NO_CASH,
    REASON_NO_STOP,
    REASON_SECTOR,
    REASON_WEEKLY_LOSS,
    REASON_ZERO_SIZE,
    SIZE_ALL_IN,
    SIZE_KELLY,
    STATUS_FILLED,
    STATUS_PARTIAL,
    STATUS_REJECTED,
    TR_RETURN,
)
from alphaforge.sim.kernels_exec import (
    P_ENTRY_PX,
    P_MAXLOSS,
    P_QTY,
    P_SL,
    P_TP,
    P_TRAIL_DIST,
    P_TRAIL_PCT,
    PD_ENTRY,
    PD_LEFT,
    PD_LIMIT,
    PD_SIG_BAR,
    PD_STOP,
    add_order_nb,
    affordable_nb,
    close_part_nb,
    commission_nb,
    flex_nb,
    kelly_fraction_nb,
    open_part_nb,
    round_qty_nb,
    slippage_nb,
    target_qty_nb,
)

configure_cache()


@helper_njit
def flex3_nb(a: np.ndarray, k: int, t: int, j: int) -> float:
    return a[k, t if a.shape[1] > 1 else 0, j if a.shape[2] > 1 else 0]


@helper_njit
def execute_delta_nb(
    trades: np.ndarray,
    orders: np.ndarray,
    cnt: np.ndarray,
    ps: np.ndarray,
    pend: np.ndarray,
    cash: np.ndarray,
    j: int,
    t: int,
    delta: float,
    raw_px: float,
    slip: float,
    reason: int,
    bar_volume: float,
    f: np.ndarray,
) -> None:
    """Change position ``j`` by ``delta`` units at ``raw_px`` plus adverse slippage.

    Reductions record trades (average-cost basis); a flip closes then opens. The fill is capped
    at the volume participation limit; the caller keeps the rest pending.
    """
    side = 1.0 if delta > 0 else -1.0
    want = abs(delta)
    fill = want
    if f[F_PARTICIPATION] > 0.0 and bar_volume == bar_volume and bar_volume < np.inf:
        fill = min(want, round_qty_nb(f[F_PARTICIPATION] * bar_volume, f))
    if fill <= 0.0:
        return
    px = raw_px + side * slip
    fee = commission_nb(fill, px, f)
    q = ps[j, P_QTY]
    if q != 0.0 and (q > 0) != (side > 0):
        close_q = min(fill, abs(q))
        fee_close = fee * close_q / fill
        close_part_nb(trades, cnt, ps, j, t, close_q, px, fee_close, slip, reason)
        cash[0] -= side * close_q * px + fee_close
        ps[j, P_QTY] = q + side * close_q
        rest = fill - close_q
        if rest > 0.0:
            open_part_nb(ps, j, t, side * rest, px, fee - fee_close, slip)
            cash[0] -= side * rest * px + (fee - fee_close)
    else:
        open_part_nb(ps, j, t, side * fill, px, fee, slip)
        cash[0] -= side * fill * px + fee
    status = STATUS_FILLED if fill >= want else STATUS_PARTIAL
    add_order_nb(orders, cnt, t, j, side, fill, px, fee, status, reason, want)


@helper_njit
def _marks_nb(
    ps: np.ndarray, px_arr: np.ndarray, last_px: np.ndarray, t: int, cash: float
) -> tuple[float, float, float, int]:
    """Equity, gross and net exposure and open-position count at the given prices."""
    gross = 0.0
    net = 0.0
    n_open = 0
    for k in range(ps.shape[0]):
        q = ps[k, P_QTY]
        if q != 0.0:
            m = px_arr[t, k]
            if m != m:
                m = last_px[k]
            gross += abs(q * m)
            net += q * m
            n_open += 1
    return cash + net, gross, net, n_open


@helper_njit
def _sector_value_nb(
    ps: np.ndarray, px_arr: np.ndarray, last_px: np.ndarray, t: int, sector: np.ndarray, s: int
) -> float:
    v = 0.0
    for k in range(ps.shape[0]):
        if sector[k] == s and ps[k, P_QTY] != 0.0:
            m = px_arr[t, k]
            v += abs(ps[k, P_QTY] * (m if m == m else last_px[k]))
    return v


@helper_njit
def _blocked_nb(rs: np.ndarray, t: int, day_id: np.ndarray, week_id: np.ndarray) -> int:
    if rs[5] > 0.0:
        return REASON_HALTED
    if rs[3] == day_id[t]:
        return REASON_DAILY_LOSS
    if rs[4] == week_id[t]:
        return REASON_WEEKLY_LOSS
    return 0


@helper_njit
def _order_by_priority_nb(cand: np.ndarray, k: int, pri: np.ndarray) -> None:
    """Insertion sort of ``cand[:k]`` by priority, highest first (stable: ties keep order)."""
    for a in range(1, k):
        x = cand[a]
        px = pri[a]
        b = a - 1
        while b >= 0 and pri[b] < px:
            cand[b + 1] = cand[b]
            pri[b + 1] = pri[b]
            b -= 1
        cand[b + 1] = x
        pri[b + 1] = px


@helper_njit
def _trigger_nb(d: float, o: float, h: float, lo: float, lim: float, stp: float) -> float:
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
def _cap_entry_nb(
    qty: float,
    d: float,
    px: float,
    eq: float,
    gross: float,
    net: float,
    sec_val: float,
    f: np.ndarray,
) -> tuple[float, int]:
    """Apply buying power, max weight, sector and net-leverage caps; return qty and binding reason."""
    reason = REASON_ZERO_SIZE
    lev = f[F_MAX_GROSS] if f[F_MAX_GROSS] > 0.0 else 1.0
    free = lev * eq - gross
    bp = free - f[F_MIN_CASH] * eq
    if d < 0:
        bp /= max(1.0, f[F_MARGIN])
        free /= max(1.0, f[F_MARGIN])
    # the buying-power limit that binds: the cash reserve, a gross leverage cap, or cash
    bp_reason = REASON_LEVERAGE if f[F_MAX_GROSS] > 0.0 else REASON_NO_CASH
    if int(f[F_SIZING]) != SIZE_ALL_IN:
        cap = affordable_nb(bp, px, f)
        if cap < qty:
            if f[F_MIN_CASH] > 0.0 and affordable_nb(free, px, f) > cap:
                bp_reason = REASON_CASH_RESERVE
            qty = cap
            reason = bp_reason
    elif qty <= 0.0:
        if f[F_MIN_CASH] > 0.0 and affordable_nb(free, px, f) > 0.0:
            bp_reason = REASON_CASH_RESERVE
        reason = bp_reason
    if f[F_MAX_WEIGHT] > 0.0:
        cap = round_qty_nb(f[F_MAX_WEIGHT] * eq / px, f)
        if cap < qty:
            qty = cap
            reason = REASON_MAX_WEIGHT
    if f[F_SECTOR_CAP] > 0.0:
        cap = round_qty_nb(max(0.0, f[F_SECTOR_CAP] * eq - sec_val) / px, f)
        if cap < qty:
            qty = cap
            reason = REASON_SECTOR
    if f[F_MAX_NET] > 0.0:
        room = f[F_MAX_NET] * eq - d * net
        cap = round_qty_nb(max(0.0, room) / px, f)
        if cap < qty:
            qty = cap
            reason = REASON_LEVERAGE
    return qty, reason


@helper_njit
def _set_levels_nb(
    ps: np.ndarray, j: int, d: float, sb: int, levels: np.ndarray, eq: float, f: np.ndarray
) -> None:
    """Protective levels of a new position from the signal bar's settings."""
    ep = ps[j, P_ENTRY_PX]
    slp, sla, slx = (
        flex3_nb(levels, 0, sb, j),
        flex3_nb(levels, 1, sb, j),
        flex3_nb(levels, 2, sb, j),
    )
    tpp, tpa, tpx = (
        flex3_nb(levels, 3, sb, j),
        flex3_nb(levels, 4, sb, j),
        flex3_nb(levels, 5, sb, j),
    )
    ps[j, P_SL] = slx if slx == slx else (ep - d * sla if sla == sla else ep * (1.0 - d * slp))
    ps[j, P_TP] = tpx if tpx == tpx else (ep + d * tpa if tpa == tpa else ep * (1.0 + d * tpp))
    ps[j, P_TRAIL_PCT] = flex3_nb(levels, 6, sb, j)
    ps[j, P_TRAIL_DIST] = flex3_nb(levels, 7, sb, j)
    if f[F_TRADE_MAX_LOSS] > 0.0:
        ps[j, P_MAXLOSS] = ep - d * f[F_TRADE_MAX_LOSS] * eq / abs(ps[j, P_QTY])


@helper_njit
def _stop_distance_nb(levels: np.ndarray, sb: int, j: int, px: float) -> float:
    slx, sla, slp = (
        flex3_nb(levels, 2, sb, j),
        flex3_nb(levels, 1, sb, j),
        flex3_nb(levels, 0, sb, j),
    )
    if slx == slx:
        return abs(px - slx)
    if sla == sla:
        return sla
    if slp == slp:
        return px * slp
    return np.nan


@helper_njit
def enter_nb(
    trades: np.ndarray,
    orders: np.ndarray,
    cnt: np.ndarray,
    ps: np.ndarray,
    pend: np.ndarray,
    cash: np.ndarray,
    t: int,
    px_arr: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    last_px: np.ndarray,
    levels: np.ndarray,
    priority: np.ndarray,
    atr: np.ndarray,
    vol: np.ndarray,
    sector: np.ndarray,
    volume: np.ndarray,
    rs: np.ndarray,
    day_id: np.ndarray,
    week_id: np.ndarray,
    f: np.ndarray,
    market: bool,
    iscr: np.ndarray,
    fscr: np.ndarray,
) -> None:
    """Fill pending entries: market ones at ``px_arr[t]``, or limit/stop ones from the range.

    ``iscr`` (int, symbols) and ``fscr`` (float, (2, symbols)) are scratch space of the caller.
    """
    n_sym = ps.shape[0]
    cand = iscr
    pri = fscr[1]
    k = 0
    for j in range(n_sym):
        d = pend[j, PD_ENTRY]
        if d == 0.0 or px_arr[t, j] != px_arr[t, j]:
            continue
        q = ps[j, P_QTY]
        if q != 0.0 and not (pend[j, PD_LEFT] > 0.0 and (q > 0) == (d > 0)):
            continue
        is_mkt = pend[j, PD_LIMIT] != pend[j, PD_LIMIT] and pend[j, PD_STOP] != pend[j, PD_STOP]
        if is_mkt != market or (not market and pend[j, PD_SIG_BAR] >= t):
            continue
        cand[k] = j
        pri[k] = flex_nb(priority, int(pend[j, PD_SIG_BAR]), j)
        k += 1
    if k == 0:
        return
    if k > 1:
        _order_by_priority_nb(cand, k, pri)
    eq, gross, net, n_open = _marks_nb(ps, px_arr, last_px, t, cash[0])
    for a in range(k):
        j = cand[a]
        d = pend[j, PD_ENTRY]
        sb = int(pend[j, PD_SIG_BAR])
        raw = px_arr[t, j]
        if not market:
            stp = pend[j, PD_STOP]
            raw = _trigger_nb(d, raw, high[t, j], low[t, j], pend[j, PD_LIMIT], stp)
            if raw != raw:
                if stp == stp and ((d > 0 and high[t, j] >= stp) or (d < 0 and low[t, j] <= stp)):
                    pend[j, PD_STOP] = np.nan  # a triggered stop-limit rests as a limit order
                continue
        left = pend[j, PD_LEFT]
        block = _blocked_nb(rs, t, day_id, week_id)
        if block == 0 and left == 0.0 and f[F_MAX_POSITIONS] > 0.0 and n_open >= f[F_MAX_POSITIONS]:
            block = REASON_MAX_POSITIONS
        if block != 0:
            add_order_nb(orders, cnt, t, j, d, 0.0, np.nan, 0.0, STATUS_REJECTED, block, 0.0)
            pend[j, PD_ENTRY] = 0.0
            pend[j, PD_LEFT] = 0.0
            continue
        slip = slippage_nb(raw, flex_nb(atr, sb, j), f)
        px = raw + d * slip
        if left > 0.0:
            qty = left
            reason = REASON_NO_CASH
        else:
            kelly = 0.0
            if int(f[F_SIZING]) == SIZE_KELLY:
                kelly = kelly_fraction_nb(trades[: cnt[0], TR_RETURN], cnt[0], f)
            lev = f[F_MAX_GROSS] if f[F_MAX_GROSS] > 0.0 else 1.0
            avail = lev * eq - gross - f[F_MIN_CASH] * eq
            if d < 0:
                avail /= max(1.0, f[F_MARGIN])
            stop_dist = _stop_distance_nb(levels, sb, j, px)
            qty = target_qty_nb(px, eq, avail, stop_dist, flex_nb(vol, sb, j), kelly, f)
            if qty == -1.0:
                add_order_nb(
                    orders, cnt, t, j, d, 0.0, np.nan, 0.0, STATUS_REJECTED, REASON_NO_STOP, 0.0
                )
                pend[j, PD_ENTRY] = 0.0
                continue
            sec_val = 0.0
            if f[F_SECTOR_CAP] > 0.0:
                sec_val = _sector_value_nb(ps, px_arr, last_px, t, sector, sector[j])
            qty, reason = _cap_entry_nb(qty, d, px, eq, gross, net, sec_val, f)
        if qty <= 0.0:
            add_order_nb(orders, cnt, t, j, d, 0.0, np.nan, 0.0, STATUS_REJECTED, reason, 0.0)
            pend[j, PD_ENTRY] = 0.0
            pend[j, PD_LEFT] = 0.0
            continue
        before = abs(ps[j, P_QTY])
        execute_delta_nb(
            trades, orders, cnt, ps, pend, cash, j, t, d * qty, raw, slip, REASON_ENTRY,
            volume[t, j] if market else np.inf, f,
        )  # fmt: skip
        filled = abs(ps[j, P_QTY]) - before
        if filled <= 0.0:
            continue
        if before == 0.0:
            _set_levels_nb(ps, j, d, sb, levels, eq, f)
            n_open += 1
        if filled < qty:
            pend[j, PD_LEFT] = qty - filled
        else:
            pend[j, PD_ENTRY] = 0.0
            pend[j, PD_LEFT] = 0.0
            pend[j, PD_LIMIT] = np.nan
            pend[j, PD_STOP] = np.nan
        gross += filled * px
        net += d * filled * px
        eq -= commission_nb(filled, px, f) + filled * slip


@helper_njit
def rebalance_nb(
    trades: np.ndarray,
    orders: np.ndarray,
    cnt: np.ndarray,
    ps: np.ndarray,
    pend: np.ndarray,
    cash: np.ndarray,
    t: int,
    sb: int,
    px_arr: np.ndarray,
    last_px: np.ndarray,
    weights: np.ndarray,
    priority: np.ndarray,
    atr: np.ndarray,
    sector: np.ndarray,
    volume: np.ndarray,
    rs: np.ndarray,
    day_id: np.ndarray,
    week_id: np.ndarray,
    f: np.ndarray,
    iscr: np.ndarray,
    fscr: np.ndarray,
) -> None:
    """Trade towards the target weights decided at bar ``sb``: reductions first, then increases.

    ``iscr``/``fscr`` are the caller's scratch space, as for :func:`enter_nb`.
    """
    n_sym = ps.shape[0]
    eq, gross, _net, _n_open = _marks_nb(ps, px_arr, last_px, t, cash[0])
    delta = fscr[0]
    delta[:] = 0.0
    for j in range(n_sym):
        w = flex_nb(weights, sb, j)
        px = px_arr[t, j]
        if w != w or px != px or eq <= 0.0:
            continue
        if (w > 0 and f[F_DIRECTION] == 1.0) or (w < 0 and f[F_DIRECTION] == 0.0):
            w = 0.0
        if f[F_MAX_WEIGHT] > 0.0:
            w = max(-f[F_MAX_WEIGHT], min(f[F_MAX_WEIGHT], w))
        q = ps[j, P_QTY]
        tq = np.sign(w) * round_qty_nb(abs(w) * eq / px, f)
        if w != 0.0 and f[F_DRIFT_BAND] > 0.0 and abs(q * px / eq - w) <= f[F_DRIFT_BAND]:
            continue
        delta[j] = tq - q
    # pass 1: reductions (never past flat)
    for j in range(n_sym):
        q = ps[j, P_QTY]
        dlt = delta[j]
        if dlt == 0.0 or q == 0.0 or (q > 0) == (dlt > 0):
            continue
        red = -q if abs(dlt) >= abs(q) else dlt
        raw = px_arr[t, j]
        execute_delta_nb(
            trades, orders, cnt, ps, pend, cash, j, t, red, raw,
            slippage_nb(raw, flex_nb(atr, sb, j), f), EXIT_REBALANCE, volume[t, j], f,
        )  # fmt: skip
        delta[j] = dlt - red
    # pass 2: increases, highest priority first, within buying power
    cand = iscr
    pri = fscr[1]
    k = 0
    for j in range(n_sym):
        if delta[j] != 0.0:
            cand[k] = j
            pri[k] = flex_nb(priority, sb, j)
            k += 1
    _order_by_priority_nb(cand, k, pri)
    eq, gross, _net, _n_open = _marks_nb(ps, px_arr, last_px, t, cash[0])
    block = _blocked_nb(rs, t, day_id, week_id)
    for a in range(k):
        j = cand[a]
        d = 1.0 if delta[j] > 0 else -1.0
        if block != 0:
            add_order_nb(
                orders, cnt, t, j, d, 0.0, np.nan, 0.0, STATUS_REJECTED, block, abs(delta[j])
            )
            continue
        raw = px_arr[t, j]
        slip = slippage_nb(raw, flex_nb(atr, sb, j), f)
        px = raw + d * slip
        sec_val = 0.0
        if f[F_SECTOR_CAP] > 0.0:
            sec_val = _sector_value_nb(ps, px_arr, last_px, t, sector, sector[j])
        lev = f[F_MAX_GROSS] if f[F_MAX_GROSS] > 0.0 else 1.0
        bp = lev * eq - gross - f[F_MIN_CASH] * eq
        if d < 0:
            bp /= max(1.0, f[F_MARGIN])
        qty = min(abs(delta[j]), affordable_nb(bp, px, f))
        if f[F_SECTOR_CAP] > 0.0:
            qty = min(qty, round_qty_nb(max(0.0, f[F_SECTOR_CAP] * eq - sec_val) / px, f))
        if qty <= 0.0:
            add_order_nb(
                orders,
                cnt,
                t,
                j,
                d,
                0.0,
                np.nan,
                0.0,
                STATUS_REJECTED,
                REASON_NO_CASH,
                abs(delta[j]),
            )
            continue
        execute_delta_nb(
            trades,
            orders,
            cnt,
            ps,
            pend,
            cash,
            j,
            t,
            d * qty,
            raw,
            slip,
            REASON_ENTRY,
            volume[t, j],
            f,
        )
        gross += qty * px
        eq -= commission_nb(qty, px, f) + qty * slip  # what this buy paid is gone
    _ = (REASON_ENTRY, REASON_LEVERAGE, REASON_SECTOR)
