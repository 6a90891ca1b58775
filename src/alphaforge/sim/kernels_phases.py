"""The phases of one bar, each a function over the typed state of :mod:`alphaforge.sim.records`.

Chronology inside bar ``t`` (default ``next_open`` timing):

1. :func:`open_phase_nb` — pending market exits fill at the open, then a pending rebalance, then
   pending market entries in priority order (so exits free cash before entries use it). A
   market exit pending at the open therefore executes before any intrabar stop or target.
2. :func:`intrabar_phase_nb` — pending limit / stop entries trigger from the bar's range; open
   positions check their stop-loss / take-profit / trailing / max-loss levels: a gap through a
   level fills at the open, otherwise at the level. A position entered at this bar's open is
   checked too when ``stop_on_entry_bar`` is on. When both the stop and the target are inside
   the bar the ambiguity policy decides and the bar is counted as ambiguous.
3. :func:`close_phase_nb` — interest and borrow accrue, positions are marked to the close
   (:func:`mark_nb`), the loss limits are evaluated, and the signals of bar ``t`` become orders
   for bar ``t + 1``; with ``close`` timing (optimistic) they fill at this close instead.

Nothing of bar ``t + 1`` is visible when the orders of bar ``t`` are decided. The fast paths of
:mod:`alphaforge.sim.kernels_fast` only decide which bars need which phase.
"""

from __future__ import annotations

import numpy as np

from alphaforge._jit import configure_cache, helper_njit, inline_njit
from alphaforge.sim.codes import (
    AMB_FINER_BARS,
    AMB_TARGET_FIRST,
    EXIT_RISK_LIMIT,
    EXIT_SIGNAL,
    EXIT_TAKE_PROFIT,
    EXIT_TIME,
    REASON_ENTRY,
    RULE_DAILY_LOSS,
    RULE_MAX_DD,
    RULE_TRADE_MAX_LOSS,
    RULE_WEEKLY_LOSS,
    STATUS_EXPIRED,
)
from alphaforge.sim.kernels_entry import enter_nb, exposure_nb, rebalance_nb
from alphaforge.sim.kernels_exec import add_event_nb, add_order_nb, execute_delta_nb
from alphaforge.sim.kernels_rules import (
    FIRED_DAILY,
    FIRED_DRAWDOWN,
    FIRED_WEEKLY,
    flex_nb,
    has_levels_nb,
    loss_limits_nb,
    new_period_nb,
    slippage_nb,
    stop_level_nb,
)
from alphaforge.sim.records import Book, Fine, Intents, Market, Records, Series, SettingsRecord

configure_cache()


@inline_njit
def any_entry_nb(pend: np.ndarray) -> bool:
    for j in range(pend.shape[0]):
        if pend[j].entry != 0.0:
            return True
    return False


@inline_njit
def any_exit_nb(pend: np.ndarray) -> bool:
    for j in range(pend.shape[0]):
        if pend[j].exit:
            return True
    return False


@helper_njit
def cancel_rest_nb(pend: np.ndarray, j: int) -> None:
    """Drop the unfilled rest of a partially filled entry once its position is being closed."""
    if pend[j].left > 0.0:
        pend[j].entry = 0.0
        pend[j].left = 0.0


@inline_njit
def period_start_nb(t: int, mk: Market, bk: Book) -> None:
    """At the first bar of a day / week the loss limits measure from the previous close."""
    if t > 0:
        new_period_nb(
            bk.risk,
            bk.account[0].eq_prev,
            mk.day[t] != mk.day[t - 1],
            mk.week[t] != mk.week[t - 1],
        )


# ---- 1. open ---------------------------------------------------------------------------------


@inline_njit
def open_phase_nb(
    t: int, mk: Market, it: Intents, bk: Book, rec: Records, s: SettingsRecord
) -> None:
    """Pending market exits, then a pending rebalance, then pending market entries, at the
    open of bar ``t``."""
    pend = bk.pend
    pos = bk.pos
    for j in range(pos.shape[0]):
        o = mk.open[t, j]
        if pend[j].exit and o == o:
            q = pos[j].qty
            if q != 0.0:
                slip = slippage_nb(o, flex_nb(mk.atr, max(t - 1, 0), j), s)
                reason = pend[j].exit_reason
                execute_delta_nb(
                    rec, bk.pos, bk.account, j, t, -q, (o, slip), reason, mk.volume[t, j], s
                )
            if pos[j].qty == 0.0:
                pend[j].exit = False
    acct = bk.account[0]
    if acct.pend_rebal >= 0:
        rebalance_nb(t, acct.pend_rebal, mk.open, mk, it, bk, rec, s)
        acct.pend_rebal = -1
    if any_entry_nb(pend):
        enter_nb(t, mk.open, mk, it, bk, rec, s, True)


# ---- 2. intrabar -----------------------------------------------------------------------------


@helper_njit
def _finer_first_nb(fs: int, fe: int, fine: Fine, stop: float, tp: float, q: float) -> int:
    """1 if the stop is reached first in the finer bars [fs, fe), 2 if the target, 0 unknown."""
    for k in range(fs, fe):
        hs = fine.low[k] <= stop if q > 0 else fine.high[k] >= stop
        ht = fine.high[k] >= tp if q > 0 else fine.low[k] <= tp
        if hs:
            return 1  # both in one finer bar: still ambiguous, take the stop (conservative)
        if ht:
            return 2
    return 0


@helper_njit
def _both_touched_nb(
    t: int, j: int, stop: float, tp: float, q: float, fine: Fine, rec: Records, s: SettingsRecord
) -> int:
    """Which level of an ambiguous bar fills first under the policy: 1 stop, 2 target."""
    rec.cnt[0].ambiguous += 1
    if s.ambiguity == AMB_TARGET_FIRST:
        return 2
    if s.ambiguity == AMB_FINER_BARS:
        fs = int(flex_nb(fine.start, t, j))
        if fs >= 0:
            first = _finer_first_nb(fs, int(flex_nb(fine.end, t, j)), fine, stop, tp, q)
            return 1 if first == 0 else first
    return 1


@helper_njit
def level_touch_nb(
    pos: np.ndarray, j: int, o: float, h: float, lo: float, use_tp: bool
) -> tuple[float, int, bool]:
    """Raw exit price and reason if a protective level of position ``j`` is touched in a bar
    whose remaining range is ``o`` (first price), ``h``, ``lo``; NaN when none is. The flag is
    True when both the stop and the target are inside the range (the price is then the stop's
    and the ambiguity policy decides)."""
    p = pos[j]
    stop, s_reason = stop_level_nb(pos, j)
    tp = p.tp if use_tp else np.nan
    return pair_touch_nb(p.qty, stop, s_reason, tp, o, h, lo)


@helper_njit
def pair_touch_nb(
    q: float, stop: float, s_reason: int, tp: float, o: float, h: float, lo: float
) -> tuple[float, int, bool]:
    """:func:`level_touch_nb` on given levels: a position of sign ``q`` with the stop ``stop``
    (exit reason ``s_reason``) and the target ``tp`` (NaN: none) in a bar ``o``, ``h``,
    ``lo``. The venue matches the protective orders it holds with it."""
    if q > 0:
        if stop == stop and o <= stop:
            return o, s_reason, False
        if tp == tp and o >= tp:
            return o, EXIT_TAKE_PROFIT, False
        hit_s = stop == stop and lo <= stop
        hit_t = tp == tp and h >= tp
    else:
        if stop == stop and o >= stop:
            return o, s_reason, False
        if tp == tp and o <= tp:
            return o, EXIT_TAKE_PROFIT, False
        hit_s = stop == stop and h >= stop
        hit_t = tp == tp and lo <= tp
    if hit_s:
        return stop, s_reason, hit_t
    if hit_t:
        return tp, EXIT_TAKE_PROFIT, False
    return np.nan, -1, False


@helper_njit
def protection_table_nb(pos: np.ndarray, out: np.ndarray) -> None:
    """Every position's protection into ``out`` (4, positions): its quantity, the stop level
    of :func:`stop_level_nb` and its exit reason, and the take-profit; NaN levels (reason -1)
    where the position is flat or has none."""
    for j in range(pos.shape[0]):
        q = pos[j].qty
        out[0, j] = q
        if q == 0.0:
            out[1, j], out[2, j], out[3, j] = np.nan, -1.0, np.nan
            continue
        level, reason = stop_level_nb(pos, j)
        out[1, j], out[2, j], out[3, j] = level, float(reason), pos[j].tp


@inline_njit
def _protect_nb(
    t: int, j: int, entered: bool, mk: Market, fine: Fine, bk: Book, rec: Records, s: SettingsRecord
) -> None:
    """Check position ``j``'s protective levels in bar ``t`` and exit when one is touched."""
    p = bk.pos[j]
    q = p.qty
    o = mk.open[t, j]
    use_tp = True
    if entered:
        # entered inside this bar by a limit/stop order: the open came before the fill, so the
        # rest of the bar starts at the fill price; whether the bar's far extreme came after
        # the fill is unknown, so the target waits for the next bar
        o = min(max(p.entry_px, mk.low[t, j]), mk.high[t, j])
        use_tp = False
    px, reason, both = level_touch_nb(bk.pos, j, o, mk.high[t, j], mk.low[t, j], use_tp)
    if px != px:
        return
    if both:
        p.ambiguous = True
        if _both_touched_nb(t, j, px, p.tp, q, fine, rec, s) == 2:
            px, reason = p.tp, EXIT_TAKE_PROFIT
    _exit_at_nb(t, j, px, reason, mk, bk, rec, s)


@helper_njit
def _exit_at_nb(
    t: int, j: int, px: float, reason: int, mk: Market, bk: Book, rec: Records, s: SettingsRecord
) -> None:
    """Close position ``j`` at the raw price ``px`` inside bar ``t`` (a protective exit)."""
    p = bk.pos[j]
    q = p.qty
    if reason == EXIT_RISK_LIMIT:
        move = px / p.entry_px - 1.0
        add_event_nb(rec, t, RULE_TRADE_MAX_LOSS, move if q > 0 else -move, j)
    slip = slippage_nb(px, flex_nb(mk.atr, max(t - 1, 0), j), s)
    execute_delta_nb(rec, bk.pos, bk.account, j, t, -q, (px, slip), reason, np.inf, s)
    bk.pend[j].exit = False
    cancel_rest_nb(bk.pend, j)


@inline_njit
def intrabar_phase_nb(
    t: int, mk: Market, it: Intents, fine: Fine, bk: Book, rec: Records, s: SettingsRecord
) -> None:
    """Limit / stop entries from the bar's range, then the protective exits of open positions."""
    pos = bk.pos
    has_entry = any_entry_nb(bk.pend)
    if has_entry:
        for j in range(pos.shape[0]):
            bk.q0[j] = pos[j].qty
        enter_nb(t, mk.open, mk, it, bk, rec, s, False)
    for j in range(pos.shape[0]):
        p = pos[j]
        if p.qty == 0.0 or mk.open[t, j] != mk.open[t, j]:
            continue
        if p.fill_bar == t and (not s.stop_on_entry or s.fill_close):
            continue
        if not has_levels_nb(pos, j):
            continue
        _protect_nb(t, j, has_entry and bk.q0[j] == 0.0, mk, fine, bk, rec, s)


# ---- 3. close --------------------------------------------------------------------------------


@inline_njit
def mark_nb(t0: int, t1: int, mk: Market, bk: Book, out: Series, s: SettingsRecord) -> None:
    """The marking of the close phase of bars ``[t0, t1)`` while no order fills: interest on
    cash, each symbol's last price, a short's borrow fee, each position's peak / trough (for
    MAE / MFE and trailing stops; not on the bar whose close filled it under close timing),
    the equity, cash and exposure series and the recorded positions."""
    if t1 <= t0:
        return
    acct = bk.account[0]
    pos = bk.pos
    last_px = bk.last_px
    close = mk.close
    r_cash = acct.r_cash
    r_borrow = acct.r_borrow
    series = not s.equity_only
    record = s.record
    fill_close = s.fill_close
    cash = acct.cash  # kept in a register over the stretch
    eq = cash
    for t in range(t0, t1):
        if t > 0 and r_cash != 0.0:
            cash += cash * r_cash
        for j in range(pos.shape[0]):
            c = close[t, j]
            if c == c:
                last_px[j] = c
            p = pos[j]
            q = p.qty
            if q != 0.0:
                if q < 0.0 and t > 0:
                    cash -= -q * last_px[j] * r_borrow
                if c == c and not (fill_close and p.fill_bar == t):
                    p.peak = max(p.peak, mk.high[t, j])
                    p.trough = min(p.trough, mk.low[t, j])
            if record:
                out.positions[t, j] = q
        gross, net, _n = exposure_nb(pos, close, t, last_px)
        eq = cash + net
        out.equity[t] = eq
        if series:
            out.cash[t] = cash
            out.gross[t] = gross
            out.net[t] = net
    acct.cash = cash
    acct.eq_prev = eq


@inline_njit
def signal_orders_nb(t: int, j: int, it: Intents, bk: Book, s: SettingsRecord) -> None:
    """Turn the signals of bar ``t`` for symbol ``j`` into pending orders.

    An entry and an exit on the same bar cancel out; an opposite entry closes and reverses.
    """
    pend = bk.pend
    pd = pend[j]
    q = bk.pos[j].qty
    le = s.allow_long and flex_nb(it.entries, t, j)
    lx = flex_nb(it.exits, t, j)
    se = s.allow_short and flex_nb(it.short_entries, t, j)
    sx = flex_nb(it.short_exits, t, j)
    d = 0.0
    if q > 0.0:
        if lx or se:
            pd.exit = True
            pd.exit_reason = EXIT_SIGNAL
            cancel_rest_nb(pend, j)
        if se and not sx:
            d = -1.0
    elif q < 0.0:
        if sx or le:
            pd.exit = True
            pd.exit_reason = EXIT_SIGNAL
            cancel_rest_nb(pend, j)
        if le and not lx:
            d = 1.0
    else:
        if le and not lx:
            d = 1.0
        elif se and not sx:
            d = -1.0
        elif (lx and pd.entry > 0.0) or (sx and pd.entry < 0.0):
            pd.entry = 0.0  # an exit signal cancels a resting entry order
    if d != 0.0:
        pd.entry = d
        pd.sig_bar = t
        pd.limit = flex_nb(it.limit, t, j)
        pd.stop = flex_nb(it.stop, t, j)
        pd.left = 0.0


@inline_njit
def has_signal_nb(it: Intents, t: int, j: int) -> bool:
    return bool(
        flex_nb(it.entries, t, j)
        or flex_nb(it.exits, t, j)
        or flex_nb(it.short_entries, t, j)
        or flex_nb(it.short_exits, t, j)
    )


@inline_njit
def _risk_at_close_nb(t: int, mk: Market, bk: Book, rec: Records, s: SettingsRecord) -> bool:
    """The loss limits at the close of bar ``t``, recorded as events; True to flatten."""
    r = bk.risk[0]
    day0, week0, peak0 = r.day_start_eq, r.week_start_eq, r.peak_eq
    eq = bk.account[0].eq_prev
    fired = loss_limits_nb(bk.risk, eq, mk.day[t], mk.week[t], s)
    if fired & FIRED_DAILY:
        add_event_nb(rec, t, RULE_DAILY_LOSS, eq / day0 - 1.0, -1)
    if fired & FIRED_WEEKLY:
        add_event_nb(rec, t, RULE_WEEKLY_LOSS, eq / week0 - 1.0, -1)
    if fired & FIRED_DRAWDOWN:
        add_event_nb(rec, t, RULE_MAX_DD, eq / max(peak0, r.peak_eq) - 1.0, -1)
        return s.dd_flatten
    return False


@inline_njit
def _orders_at_close_nb(
    t: int, flatten: bool, mk: Market, it: Intents, bk: Book, s: SettingsRecord
) -> None:
    """Signals, time exits and a flatten of bar ``t`` become pending orders."""
    pos = bk.pos
    pend = bk.pend
    for j in range(pos.shape[0]):
        # a signal needs the symbol's bar; a time exit or a flatten does not
        if not s.weights_mode and mk.close[t, j] == mk.close[t, j] and has_signal_nb(it, t, j):
            signal_orders_nb(t, j, it, bk, s)
        q = pos[j].qty
        # bars held once the exit fills: at this close (close timing) or the next open
        held = t - pos[j].entry_bar + (0 if s.fill_close else 1)
        if q != 0.0 and s.max_bars > 0 and held >= s.max_bars and not pend[j].exit:
            pend[j].exit = True
            pend[j].exit_reason = EXIT_TIME
            cancel_rest_nb(pend, j)
        if flatten:
            pend[j].entry = 0.0
            if q != 0.0:
                pend[j].exit = True
                pend[j].exit_reason = EXIT_RISK_LIMIT


@helper_njit
def _fill_at_close_nb(
    t: int, mk: Market, it: Intents, bk: Book, rec: Records, out: Series, s: SettingsRecord
) -> None:
    """``close`` timing: execute this bar's orders at this bar's close (optimistic)."""
    pos = bk.pos
    pend = bk.pend
    for j in range(pos.shape[0]):
        c = mk.close[t, j]
        if pend[j].exit and c == c and pos[j].qty != 0.0:
            slip = slippage_nb(c, flex_nb(mk.atr, t, j), s)
            reason = pend[j].exit_reason
            execute_delta_nb(
                rec, bk.pos, bk.account, j, t, -pos[j].qty, (c, slip), reason, mk.volume[t, j], s
            )
            if pos[j].qty == 0.0:
                pend[j].exit = False
    acct = bk.account[0]
    if acct.pend_rebal >= 0:
        rebalance_nb(t, acct.pend_rebal, mk.close, mk, it, bk, rec, s)
        acct.pend_rebal = -1
    enter_nb(t, mk.close, mk, it, bk, rec, s, True)
    gross, net, _n = exposure_nb(pos, mk.close, t, bk.last_px)
    eq = acct.cash + net
    out.equity[t] = eq
    if not s.equity_only:
        out.cash[t] = acct.cash
        out.gross[t] = gross
        out.net[t] = net
    if s.record:
        for j in range(pos.shape[0]):
            out.positions[t, j] = pos[j].qty
    acct.eq_prev = eq


@helper_njit
def _expire_nb(t: int, bk: Book, rec: Records) -> None:
    """Day orders: limit / stop entries that did not fill in their bar expire."""
    pend = bk.pend
    for j in range(pend.shape[0]):
        pd = pend[j]
        if pd.entry != 0.0 and pd.sig_bar < t and (pd.limit == pd.limit or pd.stop == pd.stop):
            add_order_nb(rec, t, j, pd.entry, 0.0, np.nan, 0.0, STATUS_EXPIRED, REASON_ENTRY, 0.0)
            pd.entry = 0.0


@inline_njit
def close_phase_nb(
    t: int,
    mk: Market,
    it: Intents,
    bk: Book,
    rec: Records,
    out: Series,
    s: SettingsRecord,
    risk_on: bool,
) -> None:
    """Marking, loss limits, new orders, close-timing fills and day-order expiry of bar ``t``."""
    mark_nb(t, t + 1, mk, bk, out, s)
    flatten = False
    if risk_on:
        flatten = _risk_at_close_nb(t, mk, bk, rec, s)
    acct = bk.account[0]
    if flatten:
        acct.pend_rebal = -1
    _orders_at_close_nb(t, flatten, mk, it, bk, s)
    if s.weights_mode and it.rebalance[t]:
        acct.pend_rebal = t
    if s.fill_close and (acct.pend_rebal >= 0 or any_entry_nb(bk.pend) or any_exit_nb(bk.pend)):
        _fill_at_close_nb(t, mk, it, bk, rec, out, s)
    if not s.tif_gtc and any_entry_nb(bk.pend):
        _expire_nb(t, bk, rec)
