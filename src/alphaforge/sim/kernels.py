"""The simulation kernel: one pass over a (bars x symbols) panel sharing one cash account.

Chronology inside bar ``t`` (default ``next_open`` timing):

1. open  — pending market exits fill at the open, then a pending rebalance, then pending market
   entries in priority order (so exits free cash before entries use it). A market exit pending
   at the open therefore executes before any intrabar stop or target of that bar.
2. intra — pending limit/stop entries trigger from the bar's range; open positions check their
   stop-loss / take-profit / trailing / max-loss levels: a gap through a level fills at the open,
   otherwise at the level. A position entered at this bar's open is checked too when
   ``stop_on_entry_bar`` is on (the open is the bar's first trade). When both the stop and the
   target are inside the bar the ambiguity policy decides (stop first, target first, or the
   finer bars when given) and the bar is counted as ambiguous.
3. close — interest and borrow accrue, positions are marked to the close, risk rules are
   evaluated, and the signals of bar ``t`` become orders for bar ``t + 1``. With ``close``
   timing (optimistic) they fill at this close instead.

Nothing of bar ``t + 1`` is visible when the orders of bar ``t`` are decided.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from alphaforge._jit import configure_cache, helper_njit
from alphaforge.sim.codes import (
    AMB_FINER_BARS,
    AMB_TARGET_FIRST,
    EV_NCOLS,
    EXIT_END_OF_DATA,
    EXIT_RISK_LIMIT,
    EXIT_SIGNAL,
    EXIT_STOP_LOSS,
    EXIT_TAKE_PROFIT,
    EXIT_TIME,
    EXIT_TRAILING_STOP,
    F_AMBIGUITY,
    F_BORROW,
    F_CASH_RATE,
    F_DAILY_LOSS,
    F_DD_ACTION,
    F_DIRECTION,
    F_EQUITY_ONLY,
    F_FILL_CLOSE,
    F_INIT_CASH,
    F_MAX_BARS,
    F_MAX_DD,
    F_PARTICIPATION,
    F_PPY,
    F_RECORD,
    F_STOP_ON_ENTRY,
    F_TIF_GTC,
    F_TRADE_MAX_LOSS,
    F_WEEKLY_LOSS,
    F_WEIGHTS_MODE,
    OR_NCOLS,
    RULE_DAILY_LOSS,
    RULE_MAX_DD,
    RULE_TRADE_MAX_LOSS,
    RULE_WEEKLY_LOSS,
    STATUS_EXPIRED,
    TR_NCOLS,
)
from alphaforge.sim.kernels_entry import enter_nb, execute_delta_nb, rebalance_nb
from alphaforge.sim.kernels_exec import (
    CNT_AMBIG,
    CNT_OVERFLOW,
    N_COUNTERS,
    P_AMBIG,
    P_ENTRY_BAR,
    P_ENTRY_PX,
    P_FILL_BAR,
    P_MAXLOSS,
    P_NCOLS,
    P_PEAK,
    P_QTY,
    P_SL,
    P_TP,
    P_TRAIL_DIST,
    P_TRAIL_PCT,
    P_TROUGH,
    PD_ENTRY,
    PD_EXIT,
    PD_EXIT_REASON,
    PD_LEFT,
    PD_LIMIT,
    PD_NCOLS,
    PD_SIG_BAR,
    PD_STOP,
    add_order_nb,
    close_part_nb,
    flex_nb,
    slippage_nb,
)

configure_cache()


@helper_njit
def _stop_level_nb(ps: np.ndarray, j: int) -> tuple[float, int]:
    """Tightest protective level of position ``j`` and the exit reason it stands for."""
    q = ps[j, P_QTY]
    level = np.nan
    reason = EXIT_STOP_LOSS
    trail = np.nan
    if ps[j, P_TRAIL_DIST] == ps[j, P_TRAIL_DIST]:
        trail = ps[j, P_TRAIL_DIST]
    elif ps[j, P_TRAIL_PCT] == ps[j, P_TRAIL_PCT]:
        ref = ps[j, P_PEAK] if q > 0 else ps[j, P_TROUGH]
        trail = ref * ps[j, P_TRAIL_PCT]
    cands = (ps[j, P_SL], ps[j, P_MAXLOSS], np.nan)
    if trail == trail:
        cands = (
            ps[j, P_SL],
            ps[j, P_MAXLOSS],
            ps[j, P_PEAK] - trail if q > 0 else ps[j, P_TROUGH] + trail,
        )
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
def _finer_first_nb(
    fs: int, fe: int, fine_high: np.ndarray, fine_low: np.ndarray, stop: float, tp: float, q: float
) -> int:
    """1 if the stop is reached first in the finer bars [fs, fe), 2 if the target, 0 unknown."""
    for k in range(fs, fe):
        hs = fine_low[k] <= stop if q > 0 else fine_high[k] >= stop
        ht = fine_high[k] >= tp if q > 0 else fine_low[k] <= tp
        if hs:
            return 1  # both in one finer bar: still ambiguous, take the stop (conservative)
        if ht:
            return 2
    return 0


@helper_njit
def _intrabar_exit_nb(
    ps: np.ndarray,
    j: int,
    t: int,
    o: float,
    h: float,
    lo: float,
    policy: int,
    fine_start: np.ndarray,
    fine_end: np.ndarray,
    fine_high: np.ndarray,
    fine_low: np.ndarray,
    cnt: np.ndarray,
    use_tp: bool,
) -> tuple[float, int]:
    """Raw exit price and reason if a protective level is touched in bar ``t`` (else NaN)."""
    q = ps[j, P_QTY]
    stop, s_reason = _stop_level_nb(ps, j)
    tp = ps[j, P_TP] if use_tp else np.nan
    if q > 0:
        if stop == stop and o <= stop:
            return o, s_reason
        if tp == tp and o >= tp:
            return o, EXIT_TAKE_PROFIT
        hit_s = stop == stop and lo <= stop
        hit_t = tp == tp and h >= tp
    else:
        if stop == stop and o >= stop:
            return o, s_reason
        if tp == tp and o <= tp:
            return o, EXIT_TAKE_PROFIT
        hit_s = stop == stop and h >= stop
        hit_t = tp == tp and lo <= tp
    if hit_s and hit_t:
        cnt[CNT_AMBIG] += 1
        ps[j, P_AMBIG] = 1.0
        first = 1
        if policy == AMB_TARGET_FIRST:
            first = 2
        elif policy == AMB_FINER_BARS:
            fs = int(flex_nb(fine_start, t, j))
            if fs >= 0:
                first = _finer_first_nb(
                    fs, int(flex_nb(fine_end, t, j)), fine_high, fine_low, stop, tp, q
                )
                first = 1 if first == 0 else first
        if first == 1:
            return stop, s_reason
        return tp, EXIT_TAKE_PROFIT
    if hit_s:
        return stop, s_reason
    if hit_t:
        return tp, EXIT_TAKE_PROFIT
    return np.nan, -1


@helper_njit
def _any_entry_nb(pend: np.ndarray) -> bool:
    for j in range(pend.shape[0]):
        if pend[j, PD_ENTRY] != 0.0:
            return True
    return False


@helper_njit
def _any_exit_nb(pend: np.ndarray) -> bool:
    for j in range(pend.shape[0]):
        if pend[j, PD_EXIT] != 0.0:
            return True
    return False


@helper_njit
def _has_levels_nb(ps: np.ndarray, j: int) -> bool:
    """Whether position ``j`` has any protective level to check intrabar."""
    return not (
        ps[j, P_SL] != ps[j, P_SL]
        and ps[j, P_TP] != ps[j, P_TP]
        and ps[j, P_MAXLOSS] != ps[j, P_MAXLOSS]
        and ps[j, P_TRAIL_PCT] != ps[j, P_TRAIL_PCT]
        and ps[j, P_TRAIL_DIST] != ps[j, P_TRAIL_DIST]
    )


@helper_njit
def _scan_nb(a: np.ndarray, b: np.ndarray, start: int, stop: int) -> int:
    """First index in ``[start, stop)`` where ``a`` or ``b`` (contiguous bool arrays) is True,
    else ``stop``. Reads eight flags per step as one 64-bit word (signals are sparse)."""
    i = start
    while i < stop and (i & 7) != 0:
        if a[i] or b[i]:
            return i
        i += 1
    m = (stop - i) >> 3
    if m > 0:
        wa = a[i : i + 8 * m].view(np.uint64)
        wb = b[i : i + 8 * m].view(np.uint64)
        for w in range(m):
            if (wa[w] | wb[w]) != 0:
                j = i + 8 * w
                while not (a[j] or b[j]):
                    j += 1
                return j
        i += 8 * m
    while i < stop:
        if a[i] or b[i]:
            return i
        i += 1
    return stop


@helper_njit
def _next_signal_nb(
    start: int,
    entries: np.ndarray,
    exits: np.ndarray,
    short_entries: np.ndarray,
    short_exits: np.ndarray,
    n_bars: int,
    n_sym: int,
) -> int:
    """First bar at or after ``start`` with any signal of any symbol (``n_bars`` if none)."""
    if n_sym == 1:
        # one symbol: scan the full-length masks; a (1, 1) mask is constant
        for a in (entries, exits, short_entries, short_exits):
            if a.shape[0] == 1 and a[0, 0]:
                return start
        stop = n_bars
        for a, b in ((entries, exits), (short_entries, short_exits)):
            fa, fb = a.shape[0] > 1, b.shape[0] > 1
            if fa or fb:
                col_a = a.reshape(a.size) if fa else b.reshape(b.size)
                col_b = b.reshape(b.size) if fb else col_a
                stop = _scan_nb(col_a, col_b, start, stop)
        return stop
    for t in range(start, n_bars):
        for j in range(n_sym):
            if (
                flex_nb(entries, t, j)
                or flex_nb(exits, t, j)
                or flex_nb(short_entries, t, j)
                or flex_nb(short_exits, t, j)
            ):
                return t
    return n_bars


@helper_njit
def _mark_bar_nb(
    t: int,
    close: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    ps: np.ndarray,
    cash: np.ndarray,
    last_px: np.ndarray,
    r_cash: float,
    r_borrow: float,
    rec: bool,
    pos_out: np.ndarray,
    close_mode: bool,
) -> tuple[float, float]:
    """The marking of bar ``t``'s close phase: interest on cash, each symbol's last price, a
    short's borrow fee, the peak / trough of each position (MAE / MFE; not on the bar whose
    close filled it under close timing) and the recorded positions. Returns gross and net
    exposure; equity is ``cash[0] + net``."""
    if t > 0 and r_cash != 0.0:
        cash[0] += cash[0] * r_cash
    gross = 0.0
    net = 0.0
    for j in range(close.shape[1]):
        c = close[t, j]
        if c == c:
            last_px[j] = c
        q = ps[j, P_QTY]
        if q != 0.0:
            px = last_px[j]
            if q < 0.0 and t > 0:
                cash[0] -= -q * px * r_borrow
            if not (close_mode and ps[j, P_FILL_BAR] == t) and c == c:
                ps[j, P_PEAK] = max(ps[j, P_PEAK], high[t, j])
                ps[j, P_TROUGH] = min(ps[j, P_TROUGH], low[t, j])
            gross += abs(q * px)
            net += q * px
        if rec:
            pos_out[t, j] = q
    return gross, net


@helper_njit
def _quiet_bars_nb(
    start: int,
    stop: int,
    close: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    ps: np.ndarray,
    cash: np.ndarray,
    last_px: np.ndarray,
    r_cash: float,
    r_borrow: float,
    rec: bool,
    pos_out: np.ndarray,
    eq_out: np.ndarray,
    cash_out: np.ndarray,
    gross_out: np.ndarray,
    net_out: np.ndarray,
    series: bool,
    eq_prev: float,
) -> float:
    """Run bars ``[start, stop)`` in which nothing can happen but marking to market.

    Only called when no order is pending, no position has a protective level, no signal falls
    in the range, and neither risk rules, time exits, rebalancing nor close fills are
    configured: then the open and intrabar phases of a bar do nothing and its close phase is
    :func:`_mark_bar_nb`, as in the general loop. Returns the equity of the last bar run.
    """
    for t in range(start, stop):
        gross, net = _mark_bar_nb(
            t, close, high, low, ps, cash, last_px, r_cash, r_borrow, rec, pos_out, False
        )
        eq = cash[0] + net
        eq_out[t] = eq
        if series:
            cash_out[t] = cash[0]
            gross_out[t] = gross
            net_out[t] = net
        eq_prev = eq
    return eq_prev


@helper_njit
def _mark_one_nb(
    start: int,
    stop: int,
    close: np.ndarray,
    q: float,
    cs: float,
    lp: float,
    eq_out: np.ndarray,
    cash_out: np.ndarray,
    gross_out: np.ndarray,
    net_out: np.ndarray,
    series: bool,
) -> float:
    """Mark symbol 0's position ``q`` to the close of bars ``[start, stop)`` with cash ``cs``
    unchanged (the close phase of those bars); returns the last close seen (``lp`` if none)."""
    for i in range(start, stop):
        c = close[i, 0]
        lp = c if c == c else lp
        net = q * lp if q != 0.0 else 0.0
        eq_out[i] = cs + net
        if series:
            cash_out[i] = cs
            gross_out[i] = abs(net) if q != 0.0 else 0.0
            net_out[i] = net
    return lp


@helper_njit
def _extremes_nb(
    ps: np.ndarray, close: np.ndarray, high: np.ndarray, low: np.ndarray, start: int, stop: int
) -> None:
    """The close-phase peak / trough updates of bars ``[start, stop)`` for symbol 0's position
    (for MAE / MFE), applied at once while the position does not change."""
    if ps[0, P_QTY] == 0.0:
        return
    peak = ps[0, P_PEAK]
    trough = ps[0, P_TROUGH]
    for i in range(start, stop):
        if close[i, 0] == close[i, 0]:
            peak = max(peak, high[i, 0])
            trough = min(trough, low[i, 0])
    ps[0, P_PEAK] = peak
    ps[0, P_TROUGH] = trough


@helper_njit
def _one_symbol_nb(
    start: int,
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    entries: np.ndarray,
    exits: np.ndarray,
    short_entries: np.ndarray,
    short_exits: np.ndarray,
    levels: np.ndarray,
    entry_limit: np.ndarray,
    entry_stop: np.ndarray,
    priority: np.ndarray,
    atr: np.ndarray,
    vol: np.ndarray,
    sector: np.ndarray,
    day_id: np.ndarray,
    week_id: np.ndarray,
    rs: np.ndarray,
    trades: np.ndarray,
    orders: np.ndarray,
    cnt: np.ndarray,
    ps: np.ndarray,
    pend: np.ndarray,
    cash: np.ndarray,
    last_px: np.ndarray,
    iscr: np.ndarray,
    fscr: np.ndarray,
    f: np.ndarray,
    allow_long: bool,
    allow_short: bool,
    r_borrow: float,
    eq_out: np.ndarray,
    cash_out: np.ndarray,
    gross_out: np.ndarray,
    net_out: np.ndarray,
    series: bool,
    eq_prev: float,
) -> tuple[int, float]:
    """One symbol under the simple rules, from a bar with nothing pending: a tight loop.

    Called when :func:`_quiet_bars_nb`'s conditions hold and in addition there is one symbol,
    no per-bar positions are kept and no interest is paid on cash. Stretches without signals
    are a scan and a marking loop; a signal bar is marked and its signals become orders (one
    that leaves no order, such as an exit while flat, changes nothing); the next bar's market
    orders are filled at its open by the same helpers as in the general loop, in the same
    order (exit, then entry), when that is certain to leave nothing pending (a valid open, no
    volume cap, a market entry only from flat or behind an exit). Anything else (a limit or
    stop entry, a capped fill, a missing open, a short paying borrow) returns to the general
    loop at the bar where it happens, with that bar not run. Returns that bar (or the end) and
    the last equity.
    """
    n_bars = close.shape[0]
    cs = cash[0]
    q = ps[0, P_QTY]
    lp = last_px[0]
    seg = start  # first bar whose peak / trough update is still to apply
    no_cap = f[F_PARTICIPATION] == 0.0
    t = start
    while t < n_bars:
        if pend[0, PD_ENTRY] != 0.0 or pend[0, PD_EXIT] != 0.0:
            # ---- a fill bar: the orders of the signal bar before, at this open ----------------
            o = open_[t, 0]
            market = pend[0, PD_LIMIT] != pend[0, PD_LIMIT] and pend[0, PD_STOP] != pend[0, PD_STOP]
            entry_ok = pend[0, PD_ENTRY] == 0.0 or (market and (q == 0.0 or pend[0, PD_EXIT] > 0.0))
            if not (no_cap and o == o and entry_ok):
                break
            _extremes_nb(ps, close, high, low, seg, t)
            last_px[0] = lp
            if pend[0, PD_EXIT] > 0.0:
                if q != 0.0:
                    execute_delta_nb(
                        trades, orders, cnt, ps, pend, cash, 0, t, -q, o,
                        slippage_nb(o, flex_nb(atr, max(t - 1, 0), 0), f),
                        int(pend[0, PD_EXIT_REASON]), volume[t, 0], f,
                    )  # fmt: skip
                if ps[0, P_QTY] == 0.0:
                    pend[0, PD_EXIT] = 0.0
            if pend[0, PD_ENTRY] != 0.0:
                enter_nb(
                    trades, orders, cnt, ps, pend, cash, t, open_, high, low, last_px,
                    levels, priority, atr, vol, sector, volume, rs, day_id, week_id, f, True,
                    iscr, fscr,
                )  # fmt: skip
            # (nothing is left pending; no position has a level: the intrabar phase is empty)
            cs = cash[0]
            q = ps[0, P_QTY]
            seg = t
            # close phase of the fill bar, as the general loop (with the borrow fee of a short)
            c = close[t, 0]
            lp = c if c == c else lp
            if q < 0.0 and t > 0:
                cs -= -q * lp * r_borrow
            net = q * lp if q != 0.0 else 0.0
            eq_prev = cs + net
            eq_out[t] = eq_prev
            if series:
                cash_out[t] = cs
                gross_out[t] = abs(net) if q != 0.0 else 0.0
                net_out[t] = net
            t += 1
            cash[0] = cs
            if c == c and (
                flex_nb(entries, t - 1, 0)
                or flex_nb(exits, t - 1, 0)
                or flex_nb(short_entries, t - 1, 0)
                or flex_nb(short_exits, t - 1, 0)
            ):
                _signal_orders_nb(
                    pend, 0, t - 1, q, entries, exits, short_entries, short_exits, entry_limit,
                    entry_stop, allow_long, allow_short,
                )  # fmt: skip
            if q < 0.0 and r_borrow != 0.0:
                break  # cash now moves every bar: the general loop takes over
            continue
        # ---- quiet: scan to the next signal bar, then mark the bars before it -------------------
        stop = _next_signal_nb(t, entries, exits, short_entries, short_exits, n_bars, 1)
        # marks the bars before the signal bar and the signal bar itself (if any)
        end = min(stop + 1, n_bars)
        lp = _mark_one_nb(t, end, close, q, cs, lp, eq_out, cash_out, gross_out, net_out, series)
        if end > t:
            eq_prev = eq_out[end - 1]
        t = end
        if stop >= n_bars:
            break
        # the signal bar's signals become orders
        if close[stop, 0] == close[stop, 0]:
            _signal_orders_nb(
                pend, 0, stop, q, entries, exits, short_entries, short_exits, entry_limit,
                entry_stop, allow_long, allow_short,
            )  # fmt: skip
    _extremes_nb(ps, close, high, low, seg, t)
    last_px[0] = lp
    cash[0] = cs
    return t, eq_prev


@helper_njit
def _risk_rules_nb(
    events: np.ndarray,
    cnt: np.ndarray,
    rs: np.ndarray,
    t: int,
    eq: float,
    day_id: np.ndarray,
    week_id: np.ndarray,
    f: np.ndarray,
) -> bool:
    """Evaluate the loss limits at the close of bar ``t``; True when positions must be flattened.

    ``rs``: day-start equity, week-start equity, peak equity, blocked day, blocked week,
    halted flag, drawdown breaker armed flag.
    """
    flatten = False
    if f[F_DAILY_LOSS] > 0.0 and rs[3] != day_id[t] and eq < rs[0] * (1.0 - f[F_DAILY_LOSS]):
        rs[3] = day_id[t]
        _event_nb(events, cnt, t, RULE_DAILY_LOSS, eq / rs[0] - 1.0)
    if f[F_WEEKLY_LOSS] > 0.0 and rs[4] != week_id[t] and eq < rs[1] * (1.0 - f[F_WEEKLY_LOSS]):
        rs[4] = week_id[t]
        _event_nb(events, cnt, t, RULE_WEEKLY_LOSS, eq / rs[1] - 1.0)
    if eq > rs[2]:
        rs[2] = eq
        rs[6] = 1.0
    if f[F_MAX_DD] > 0.0 and rs[6] > 0.0 and eq < rs[2] * (1.0 - f[F_MAX_DD]):
        rs[6] = 0.0
        _event_nb(events, cnt, t, RULE_MAX_DD, eq / rs[2] - 1.0)
        action = int(f[F_DD_ACTION])
        flatten = (action & 1) != 0
        if (action & 2) != 0:
            rs[5] = 1.0
    return flatten


@helper_njit
def _event_nb(
    events: np.ndarray, cnt: np.ndarray, t: int, rule: int, value: float, j: int = -1
) -> None:
    n = cnt[2]
    if n >= events.shape[0]:
        cnt[CNT_OVERFLOW] = 1
        return
    events[n, 0] = t
    events[n, 1] = rule
    events[n, 2] = j
    events[n, 3] = value
    cnt[2] = n + 1


@helper_njit
def _cancel_rest_nb(pend: np.ndarray, j: int) -> None:
    """Drop the unfilled rest of a partially filled entry once its position is being closed."""
    if pend[j, PD_LEFT] > 0.0:
        pend[j, PD_ENTRY] = 0.0
        pend[j, PD_LEFT] = 0.0


@helper_njit
def _signal_orders_nb(
    pend: np.ndarray,
    j: int,
    t: int,
    q: float,
    entries: np.ndarray,
    exits: np.ndarray,
    short_entries: np.ndarray,
    short_exits: np.ndarray,
    entry_limit: np.ndarray,
    entry_stop: np.ndarray,
    allow_long: bool,
    allow_short: bool,
) -> None:
    """Turn the signals of bar ``t`` for symbol ``j`` into pending orders.

    An entry and an exit on the same bar cancel out; an opposite entry closes and reverses.
    """
    le = allow_long and flex_nb(entries, t, j)
    lx = flex_nb(exits, t, j)
    se = allow_short and flex_nb(short_entries, t, j)
    sx = flex_nb(short_exits, t, j)
    d = 0.0
    if q > 0.0:
        if lx or se:
            pend[j, PD_EXIT] = 1.0
            pend[j, PD_EXIT_REASON] = EXIT_SIGNAL
            _cancel_rest_nb(pend, j)
        if se and not sx:
            d = -1.0
    elif q < 0.0:
        if sx or le:
            pend[j, PD_EXIT] = 1.0
            pend[j, PD_EXIT_REASON] = EXIT_SIGNAL
            _cancel_rest_nb(pend, j)
        if le and not lx:
            d = 1.0
    else:
        if le and not lx:
            d = 1.0
        elif se and not sx:
            d = -1.0
        elif (lx and pend[j, PD_ENTRY] > 0.0) or (sx and pend[j, PD_ENTRY] < 0.0):
            pend[j, PD_ENTRY] = 0.0  # an exit signal cancels a resting entry order
    if d != 0.0:
        pend[j, PD_ENTRY] = d
        pend[j, PD_SIG_BAR] = t
        pend[j, PD_LIMIT] = flex_nb(entry_limit, t, j)
        pend[j, PD_STOP] = flex_nb(entry_stop, t, j)
        pend[j, PD_LEFT] = 0.0


@helper_njit
def _fill_at_close_nb(
    trades: np.ndarray,
    orders: np.ndarray,
    cnt: np.ndarray,
    ps: np.ndarray,
    pend: np.ndarray,
    cash: np.ndarray,
    t: int,
    close: np.ndarray,
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
    weights: np.ndarray,
    pend_rebal: int,
    iscr: np.ndarray,
    fscr: np.ndarray,
) -> tuple[float, float]:
    """``close`` timing: execute this bar's orders at this bar's close (optimistic)."""
    for j in range(ps.shape[0]):
        c = close[t, j]
        if pend[j, PD_EXIT] > 0.0 and c == c and ps[j, P_QTY] != 0.0:
            execute_delta_nb(
                trades, orders, cnt, ps, pend, cash, j, t, -ps[j, P_QTY], c,
                slippage_nb(c, flex_nb(atr, t, j), f), int(pend[j, PD_EXIT_REASON]),
                volume[t, j], f,
            )  # fmt: skip
            if ps[j, P_QTY] == 0.0:
                pend[j, PD_EXIT] = 0.0
    if pend_rebal >= 0:
        rebalance_nb(
            trades, orders, cnt, ps, pend, cash, t, pend_rebal, close, last_px,
            weights, priority, atr, sector, volume, rs, day_id, week_id, f, iscr, fscr,
        )  # fmt: skip
    enter_nb(
        trades, orders, cnt, ps, pend, cash, t, close, high, low, last_px,
        levels, priority, atr, vol, sector, volume, rs, day_id, week_id, f, True, iscr, fscr,
    )  # fmt: skip
    gross = 0.0
    net = 0.0
    for j in range(ps.shape[0]):
        q = ps[j, P_QTY]
        if q != 0.0:
            gross += abs(q * last_px[j])
            net += q * last_px[j]
    return gross, net


@njit(cache=True)
def simulate_nb(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    entries: np.ndarray,
    exits: np.ndarray,
    short_entries: np.ndarray,
    short_exits: np.ndarray,
    weights: np.ndarray,
    rebalance: np.ndarray,
    levels: np.ndarray,
    entry_limit: np.ndarray,
    entry_stop: np.ndarray,
    priority: np.ndarray,
    atr: np.ndarray,
    vol: np.ndarray,
    sector: np.ndarray,
    day_id: np.ndarray,
    week_id: np.ndarray,
    fine_start: np.ndarray,
    fine_end: np.ndarray,
    fine_high: np.ndarray,
    fine_low: np.ndarray,
    f: np.ndarray,
) -> tuple[
    np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
    np.ndarray, np.ndarray, np.ndarray, np.ndarray,
]:  # fmt: skip
    """Simulate one strategy on a panel; see the module docstring for the chronology.

    ``levels`` is (8, rows, cols) flex: sl_pct, sl_abs, sl_price, tp_pct, tp_abs, tp_price,
    trail_pct, trail_abs, read at the signal bar. Returns equity, cash, gross, net, positions,
    trades, orders, events and the counters (trades, orders, events, ambiguous bars). With
    ``f[F_EQUITY_ONLY]`` set, cash, gross and net are length-1 placeholders.
    """
    caps = _capacities_nb(entries, exits, short_entries, short_exits, rebalance, close.shape[1], f)
    while True:
        out = _simulate_once_nb(
            open_, high, low, close, volume, entries, exits, short_entries, short_exits, weights, rebalance, levels, entry_limit, entry_stop, priority, atr, vol, sector, day_id, week_id, fine_start, fine_end, fine_high, fine_low, f, caps,
        )  # fmt: skip
        if out[8][CNT_OVERFLOW] == 0:
            return out
        caps *= 2  # a buffer was full (e.g. many partial fills): rerun with twice the room


@helper_njit
def _count_nb(a: np.ndarray) -> int:
    """True values of a 2-D mask (a column mask counted as a flat loop, which vectorizes)."""
    n = 0
    if a.shape[1] == 1:
        col = a[:, 0]
        for i in range(col.shape[0]):
            n += col[i]
        return n
    for i in range(a.shape[0]):
        for j in range(a.shape[1]):
            n += a[i, j]
    return n


@njit(cache=True)
def _capacities_nb(
    entries: np.ndarray,
    exits: np.ndarray,
    short_entries: np.ndarray,
    short_exits: np.ndarray,
    rebalance: np.ndarray,
    n_sym: int,
    f: np.ndarray,
) -> np.ndarray:
    """Rows for the trade, order and event records, from the number of signals.

    Every entry signal yields at most an entry order (filled or rejected) and one exit order,
    every exit signal at most one order, a rebalance at most two orders per symbol. Buffers are
    sized once so the bar loop never reassigns them (a reassigned array costs reference counting
    on every iteration); the rare run that still overflows is repeated with more room.
    """
    n = 0
    for a in (entries, short_entries):
        n += 2 * _count_nb(a) if a.size > 1 else (2 * a.shape[0] * n_sym if a[0, 0] else 0)
    for a in (exits, short_exits):
        n += _count_nb(a) if a.size > 1 else (a.shape[0] * n_sym if a[0, 0] else 0)
    n_rebal = 0
    for i in range(rebalance.shape[0]):
        n_rebal += rebalance[i]
    n += 2 * n_sym * n_rebal + 4 * n_sym + 64
    caps = np.empty(3, dtype=np.int64)
    caps[0] = n
    caps[1] = n
    caps[2] = (
        64
        + n // 2
        + (3 * rebalance.shape[0] if f[F_DAILY_LOSS] + f[F_WEEKLY_LOSS] + f[F_MAX_DD] > 0.0 else 0)
    )
    return caps


@njit(cache=True)
def _simulate_once_nb(
    open_: np.ndarray,
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    entries: np.ndarray,
    exits: np.ndarray,
    short_entries: np.ndarray,
    short_exits: np.ndarray,
    weights: np.ndarray,
    rebalance: np.ndarray,
    levels: np.ndarray,
    entry_limit: np.ndarray,
    entry_stop: np.ndarray,
    priority: np.ndarray,
    atr: np.ndarray,
    vol: np.ndarray,
    sector: np.ndarray,
    day_id: np.ndarray,
    week_id: np.ndarray,
    fine_start: np.ndarray,
    fine_end: np.ndarray,
    fine_high: np.ndarray,
    fine_low: np.ndarray,
    f: np.ndarray,
    caps: np.ndarray,
) -> tuple[
    np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray,
    np.ndarray, np.ndarray, np.ndarray, np.ndarray,
]:  # fmt: skip
    """One pass of :func:`simulate_nb` with record buffers of ``caps`` rows (never grown)."""
    n_bars, n_sym = close.shape
    close_mode = f[F_FILL_CLOSE] > 0.0
    weights_mode = f[F_WEIGHTS_MODE] > 0.0
    allow_long = f[F_DIRECTION] != 1.0
    allow_short = f[F_DIRECTION] != 0.0
    policy = int(f[F_AMBIGUITY])
    cash = np.empty(1)
    cash[0] = f[F_INIT_CASH]
    ps = np.full((n_sym, P_NCOLS), np.nan)
    ps[:, P_QTY] = 0.0
    pend = np.zeros((n_sym, PD_NCOLS))
    pend[:, PD_LIMIT] = np.nan
    pend[:, PD_STOP] = np.nan
    last_px = np.full(n_sym, np.nan)
    eq_out = np.empty(n_bars)
    series = f[F_EQUITY_ONLY] == 0.0  # cash, gross and net series too (length 1 if not)
    cash_out = np.empty(n_bars if series else 1)
    gross_out = np.empty(n_bars if series else 1)
    net_out = np.empty(n_bars if series else 1)
    rec = f[F_RECORD] > 0.0
    pos_out = np.zeros((n_bars, n_sym)) if rec else np.zeros((1, 1))
    # record rows are written whole (close_part_nb, add_order_nb, _event_nb) and only the
    # first cnt rows are returned, so the buffers need no initial fill
    trades = np.empty((caps[0], TR_NCOLS))
    orders = np.empty((caps[1], OR_NCOLS))
    events = np.empty((caps[2], EV_NCOLS))
    cnt = np.zeros(N_COUNTERS, dtype=np.int64)
    # risk state: [day_start_eq, week_start_eq, peak_eq, blocked_day, blocked_week, halted, dd_armed]
    rs = np.array([f[F_INIT_CASH], f[F_INIT_CASH], f[F_INIT_CASH], -1.0, -1.0, 0.0, 1.0])
    pend_rebal = -1
    r_cash = (1.0 + f[F_CASH_RATE]) ** (1.0 / f[F_PPY]) - 1.0
    r_borrow = f[F_BORROW] / f[F_PPY]
    eq_prev = f[F_INIT_CASH]
    q_before = np.zeros(n_sym)
    iscr = np.empty(n_sym, dtype=np.int64)  # scratch of enter_nb / rebalance_nb
    fscr = np.empty((2, n_sym))
    risk_on = f[F_DAILY_LOSS] > 0.0 or f[F_WEEKLY_LOSS] > 0.0 or f[F_MAX_DD] > 0.0
    # quiet stretches (nothing pending, nothing to check intrabar) can skip the bar machinery
    quiet_ok = (
        not close_mode
        and not weights_mode
        and not risk_on
        and f[F_MAX_BARS] == 0.0
        and f[F_TRADE_MAX_LOSS] == 0.0
        and not np.any(levels == levels)
    )
    one_flat = quiet_ok and n_sym == 1 and not rec and r_cash == 0.0
    t = -1
    while t + 1 < n_bars:
        t += 1
        # idle: nothing pending and no levels, so the open and intrabar phases have no work
        idle = quiet_ok and pend_rebal < 0 and not _any_entry_nb(pend) and not _any_exit_nb(pend)
        if idle and one_flat and (ps[0, P_QTY] >= 0.0 or r_borrow == 0.0):
            t, eq_prev = _one_symbol_nb(
                t, open_, high, low, close, volume, entries, exits, short_entries, short_exits,
                levels, entry_limit, entry_stop, priority, atr, vol, sector, day_id, week_id, rs,
                trades, orders, cnt, ps, pend, cash, last_px, iscr, fscr, f, allow_long,
                allow_short, r_borrow, eq_out, cash_out, gross_out, net_out, series, eq_prev,
            )  # fmt: skip
            if t >= n_bars:
                break
            idle = False  # bar t goes the general way (an order it does not fill, or borrow)
        elif idle:
            stop = _next_signal_nb(t, entries, exits, short_entries, short_exits, n_bars, n_sym)
            if stop > t:
                eq_prev = _quiet_bars_nb(
                    t, stop, close, high, low, ps, cash, last_px, r_cash, r_borrow, rec,
                    pos_out, eq_out, cash_out, gross_out, net_out, series, eq_prev,
                )  # fmt: skip
                t = stop
                if t >= n_bars:
                    break
        if t > 0 and day_id[t] != day_id[t - 1]:
            rs[0] = eq_prev
        if t > 0 and week_id[t] != week_id[t - 1]:
            rs[1] = eq_prev
        # ---- 1. open -----------------------------------------------------------------------
        if not close_mode and not idle:
            for j in range(n_sym):
                o = open_[t, j]
                if pend[j, PD_EXIT] > 0.0 and o == o:
                    q = ps[j, P_QTY]
                    if q != 0.0:
                        execute_delta_nb(
                            trades, orders, cnt, ps, pend, cash, j, t, -q, o,
                            slippage_nb(o, flex_nb(atr, max(t - 1, 0), j), f),
                            int(pend[j, PD_EXIT_REASON]), volume[t, j], f,
                        )  # fmt: skip
                    if ps[j, P_QTY] == 0.0:
                        pend[j, PD_EXIT] = 0.0
            if pend_rebal >= 0:
                rebalance_nb(
                    trades, orders, cnt, ps, pend, cash, t, pend_rebal, open_, last_px,
                    weights, priority, atr, sector, volume, rs, day_id, week_id, f, iscr, fscr,
                )  # fmt: skip
                pend_rebal = -1
            if _any_entry_nb(pend):
                enter_nb(
                    trades, orders, cnt, ps, pend, cash, t, open_, high, low, last_px,
                    levels, priority, atr, vol, sector, volume, rs, day_id, week_id, f, True,
                    iscr, fscr,
                )  # fmt: skip
        # ---- 2. intrabar: limit / stop entries, then protective exits ------------------------
        # (helpers are only called when there is work: each call costs reference counting on
        # every array argument, which dominated the loop when done on every bar)
        has_entry = not idle and _any_entry_nb(pend)
        if has_entry:
            q_before[:] = ps[:, P_QTY]
            enter_nb(
                trades, orders, cnt, ps, pend, cash, t, open_, high, low, last_px,
                levels, priority, atr, vol, sector, volume, rs, day_id, week_id, f, False,
                iscr, fscr,
            )  # fmt: skip
        if not idle:
            for j in range(n_sym):
                q = ps[j, P_QTY]
                o = open_[t, j]
                if q == 0.0 or o != o:
                    continue
                if ps[j, P_FILL_BAR] == t and f[F_STOP_ON_ENTRY] == 0.0:
                    continue
                if close_mode and ps[j, P_FILL_BAR] == t:
                    continue
                if not _has_levels_nb(ps, j):
                    continue
                use_tp = True
                if has_entry and q_before[j] == 0.0:
                    # entered inside this bar by a limit/stop order: the open came before the fill,
                    # so the rest of the bar starts at the fill price; whether the bar's far
                    # extreme came after the fill is unknown, so the target waits for the next bar
                    o = min(max(ps[j, P_ENTRY_PX], low[t, j]), high[t, j])
                    use_tp = False
                px, reason = _intrabar_exit_nb(
                    ps, j, t, o, high[t, j], low[t, j], policy,
                    fine_start, fine_end, fine_high, fine_low, cnt, use_tp,
                )  # fmt: skip
                if px == px:
                    if reason == EXIT_RISK_LIMIT:
                        move = px / ps[j, P_ENTRY_PX] - 1.0
                        _event_nb(events, cnt, t, RULE_TRADE_MAX_LOSS, move if q > 0 else -move, j)
                    execute_delta_nb(
                        trades, orders, cnt, ps, pend, cash, j, t, -q, px,
                        slippage_nb(px, flex_nb(atr, max(t - 1, 0), j), f), reason, np.inf, f,
                    )  # fmt: skip
                    pend[j, PD_EXIT] = 0.0
                    _cancel_rest_nb(pend, j)
        # ---- 3. close ------------------------------------------------------------------------
        gross, net = _mark_bar_nb(
            t, close, high, low, ps, cash, last_px, r_cash, r_borrow, rec, pos_out, close_mode
        )
        eq = cash[0] + net
        flatten = False
        if risk_on:
            flatten = _risk_rules_nb(events, cnt, rs, t, eq, day_id, week_id, f)
        if flatten:
            pend_rebal = -1
        # signals of bar t -> orders
        for j in range(n_sym):
            c = close[t, j]
            if c != c:
                continue
            q = ps[j, P_QTY]
            if not weights_mode and (
                flex_nb(entries, t, j)
                or flex_nb(exits, t, j)
                or flex_nb(short_entries, t, j)
                or flex_nb(short_exits, t, j)
            ):
                _signal_orders_nb(
                    pend, j, t, q, entries, exits, short_entries, short_exits,
                    entry_limit, entry_stop, allow_long, allow_short,
                )  # fmt: skip
            # bars held once the exit fills: at this close (close timing) or the next open
            held = t - ps[j, P_ENTRY_BAR] + (0.0 if close_mode else 1.0)
            max_bars = f[F_MAX_BARS]
            if q != 0.0 and max_bars > 0.0 and held >= max_bars and pend[j, PD_EXIT] == 0.0:
                pend[j, PD_EXIT] = 1.0
                pend[j, PD_EXIT_REASON] = EXIT_TIME
                _cancel_rest_nb(pend, j)
            if flatten:
                pend[j, PD_ENTRY] = 0.0
                if q != 0.0:
                    pend[j, PD_EXIT] = 1.0
                    pend[j, PD_EXIT_REASON] = EXIT_RISK_LIMIT
        if weights_mode and rebalance[t]:
            pend_rebal = t
        if close_mode and (pend_rebal >= 0 or _any_entry_nb(pend) or _any_exit_nb(pend)):
            gross, net = _fill_at_close_nb(
                trades, orders, cnt, ps, pend, cash, t, close, high, low, last_px,
                levels, priority, atr, vol, sector, volume, rs, day_id, week_id, f,
                weights, pend_rebal, iscr, fscr,
            )  # fmt: skip
            pend_rebal = -1
            eq = cash[0] + net
            if rec:
                for j in range(n_sym):
                    pos_out[t, j] = ps[j, P_QTY]
        eq_out[t] = eq
        if series:
            cash_out[t] = cash[0]
            gross_out[t] = gross
            net_out[t] = net
        eq_prev = eq
        # expire day orders that did not fill
        if f[F_TIF_GTC] == 0.0 and _any_entry_nb(pend):
            for j in range(n_sym):
                if (
                    pend[j, PD_ENTRY] != 0.0
                    and pend[j, PD_SIG_BAR] < t
                    and (
                        pend[j, PD_LIMIT] == pend[j, PD_LIMIT]
                        or pend[j, PD_STOP] == pend[j, PD_STOP]
                    )
                ):
                    add_order_nb(
                        orders, cnt, t, j, pend[j, PD_ENTRY], 0.0, np.nan, 0.0,
                        STATUS_EXPIRED, 10, 0.0,
                    )  # fmt: skip
                    pend[j, PD_ENTRY] = 0.0
    # open positions at the end: reported as trades closed at the last price, no exit fee
    for j in range(n_sym):
        q = ps[j, P_QTY]
        if q != 0.0:
            close_part_nb(
                trades, cnt, ps, j, n_bars - 1, abs(q), last_px[j], 0.0, 0.0, EXIT_END_OF_DATA
            )
    return (
        eq_out, cash_out, gross_out, net_out, pos_out,
        trades[: cnt[0]], orders[: cnt[1]], events[: cnt[2]], cnt,
    )  # fmt: skip
