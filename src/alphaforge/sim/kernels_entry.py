"""Numba helpers of the simulation kernel: entries with their risk caps, and target-weight
rebalancing. Both apply the same rules of :mod:`alphaforge.sim.kernels_rules` (loss blocks, max
positions, buying power, weight, sector and net-leverage caps) and record a rejection with the
limit that caused it."""

from __future__ import annotations

import numpy as np

from alphaforge._jit import configure_cache, helper_njit, inline_njit
from alphaforge.sim.codes import (
    EXIT_REBALANCE,
    REASON_ENTRY,
    REASON_MAX_POSITIONS,
    REASON_NO_CASH,
    REASON_NO_STOP,
    SIZE_KELLY,
    STATUS_REJECTED,
)
from alphaforge.sim.kernels_exec import add_order_nb, execute_delta_nb
from alphaforge.sim.kernels_rules import (
    buying_power_nb,
    commission_nb,
    entry_block_nb,
    entry_caps_nb,
    flex_nb,
    kelly_fraction_nb,
    max_positions_reached_nb,
    round_qty_nb,
    size_nb,
    slippage_nb,
    trade_max_loss_price_nb,
    trigger_price_nb,
)
from alphaforge.sim.records import Book, Intents, Levels, Market, Records, SettingsRecord

configure_cache()


@helper_njit
def levels_at_nb(
    lv: Levels, t: int, j: int
) -> tuple[float, float, float, float, float, float, float, float]:
    """The protective-exit settings of signal bar ``t`` for symbol ``j``: (sl_pct, sl_abs,
    sl_price, tp_pct, tp_abs, tp_price, trail_pct, trail_abs), NaN where not set. The one
    reader of :class:`~alphaforge.sim.records.Levels` (engine, batch runs and the runtime's
    stepper alike)."""
    return (
        flex_nb(lv.sl_pct, t, j),
        flex_nb(lv.sl_abs, t, j),
        flex_nb(lv.sl_price, t, j),
        flex_nb(lv.tp_pct, t, j),
        flex_nb(lv.tp_abs, t, j),
        flex_nb(lv.tp_price, t, j),
        flex_nb(lv.trail_pct, t, j),
        flex_nb(lv.trail_abs, t, j),
    )


@inline_njit
def exposure_nb(
    pos: np.ndarray, px: np.ndarray, t: int, last_px: np.ndarray
) -> tuple[float, float, int]:
    """Gross and net exposure and the number of open positions, valued at ``px[t]`` (the last
    known price where a symbol has none)."""
    gross = 0.0
    net = 0.0
    n_open = 0
    for k in range(pos.shape[0]):
        q = pos[k].qty
        if q != 0.0:
            m = px[t, k]
            if m != m:
                m = last_px[k]
            gross += abs(q * m)
            net += q * m
            n_open += 1
    return gross, net, n_open


@helper_njit
def sector_value_nb(
    pos: np.ndarray, px: np.ndarray, t: int, last_px: np.ndarray, sector: np.ndarray, j: int
) -> float:
    """Gross value held in the sector of symbol ``j``."""
    sec = sector[j]
    v = 0.0
    for k in range(pos.shape[0]):
        if sector[k] == sec and pos[k].qty != 0.0:
            m = px[t, k]
            v += abs(pos[k].qty * (m if m == m else last_px[k]))
    return v


@helper_njit
def _after_fill_nb(
    gross: float,
    net: float,
    eq: float,
    d: float,
    filled: float,
    fpx: float,
    mark: float,
    s: SettingsRecord,
) -> tuple[float, float, float]:
    """Exposure and equity after ``filled`` units of direction ``d`` filled at ``fpx`` (slippage
    included), the new units valued at the price they traded at before slippage (the open for
    a market order, the trigger price for a limit / stop entry): the fee and the slippage are
    gone from equity, and the units count once in the exposure."""
    if filled <= 0.0:
        return gross, net, eq
    gross += filled * mark
    net += d * filled * mark
    eq -= commission_nb(filled, fpx, s) + d * filled * (fpx - mark)
    return gross, net, eq


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
def _set_levels_nb(
    pos: np.ndarray, j: int, d: float, sb: int, levels: Levels, eq: float, s: SettingsRecord
) -> None:
    """Protective levels of a new position from the signal bar's settings."""
    p = pos[j]
    ep = p.entry_px
    slp, sla, slx, tpp, tpa, tpx, trp, tra = levels_at_nb(levels, sb, j)
    p.sl = slx if slx == slx else (ep - d * sla if sla == sla else ep * (1.0 - d * slp))
    p.tp = tpx if tpx == tpx else (ep + d * tpa if tpa == tpa else ep * (1.0 + d * tpp))
    p.trail_pct = trp
    p.trail_dist = tra
    p.maxloss = trade_max_loss_price_nb(ep, d, eq, p.qty, s)


@helper_njit
def _stop_distance_nb(levels: Levels, sb: int, j: int, px: float) -> float:
    slp, sla, slx, _tpp, _tpa, _tpx, _trp, _tra = levels_at_nb(levels, sb, j)
    if slx == slx:
        return abs(px - slx)
    if sla == sla:
        return sla
    if slp == slp:
        return px * slp
    return np.nan


@inline_njit
def _entry_qty_nb(
    t: int,
    j: int,
    fpx: float,
    px: np.ndarray,
    marks: tuple[float, float, float],
    mk: Market,
    it: Intents,
    bk: Book,
    rec: Records,
    s: SettingsRecord,
) -> tuple[float, int]:
    """Quantity of symbol ``j``'s new entry at ``fpx`` (sizing, then every cap) and the reason
    to record if it is zero (``REASON_NO_STOP``: risk sizing without a stop distance).
    ``marks`` is (equity, gross, net) at this point of the bar."""
    eq, gross, net = marks
    pd = bk.pend[j]
    d = pd.entry
    sb = pd.sig_bar
    kelly = 0.0
    if s.sizing == SIZE_KELLY:
        kelly = kelly_fraction_nb(rec.trades, rec.cnt[0].trades, s)
    avail, _free = buying_power_nb(eq, gross, d, s)
    stop_dist = _stop_distance_nb(it.levels, sb, j, fpx)
    qty = size_nb(fpx, eq, avail, stop_dist, flex_nb(mk.vol, sb, j), kelly, s)
    if qty == -1.0:
        return 0.0, REASON_NO_STOP
    sec_val = 0.0
    if s.sector_cap > 0.0:
        sec_val = sector_value_nb(bk.pos, px, t, bk.last_px, mk.sector, j)
    return entry_caps_nb(qty, d, fpx, eq, gross, net, 0.0, sec_val, s)


@helper_njit
def _entry_candidates_nb(t: int, px: np.ndarray, it: Intents, bk: Book, market: bool) -> int:
    """Symbols with an entry to fill now (market or limit / stop), sorted by priority into
    ``bk.cand``; returns their number."""
    pend = bk.pend
    pos = bk.pos
    cand = bk.cand
    pri = bk.fscr[1]
    k = 0
    for j in range(pos.shape[0]):
        pd = pend[j]
        d = pd.entry
        if d == 0.0 or px[t, j] != px[t, j]:
            continue
        q = pos[j].qty
        if q != 0.0 and not (pd.left > 0.0 and (q > 0) == (d > 0)):
            continue
        is_mkt = pd.limit != pd.limit and pd.stop != pd.stop
        if is_mkt != market or (not market and pd.sig_bar >= t):
            continue
        cand[k] = j
        pri[k] = flex_nb(it.priority, pd.sig_bar, j)
        k += 1
    if k > 1:
        _order_by_priority_nb(cand, k, pri)
    return k


@helper_njit
def _triggered_nb(
    t: int, j: int, px: np.ndarray, high: np.ndarray, low: np.ndarray, pend: np.ndarray
) -> float:
    """Raw fill price of symbol ``j``'s limit / stop entry in bar ``t`` (NaN: not filled; a
    stop-limit whose stop triggered without reaching the limit rests as a limit order)."""
    pd = pend[j]
    d = pd.entry
    stp = pd.stop
    raw = trigger_price_nb(d, px[t, j], high[t, j], low[t, j], pd.limit, stp)
    if (
        raw != raw
        and stp == stp
        and ((d > 0 and high[t, j] >= stp) or (d < 0 and low[t, j] <= stp))
    ):
        pd.stop = np.nan
    return raw


@helper_njit
def _reject_nb(rec: Records, pend: np.ndarray, t: int, j: int, d: float, reason: int) -> None:
    add_order_nb(rec, t, j, d, 0.0, np.nan, 0.0, STATUS_REJECTED, reason, 0.0)
    pend[j].entry = 0.0
    pend[j].left = 0.0


@inline_njit
def enter_nb(
    t: int,
    px: np.ndarray,
    mk: Market,
    it: Intents,
    bk: Book,
    rec: Records,
    s: SettingsRecord,
    market: bool,
) -> None:
    """Fill pending entries: market ones at ``px[t]`` (the open, or the close under close
    timing), or limit / stop ones from the bar's range, highest priority first."""
    k = _entry_candidates_nb(t, px, it, bk, market)
    if k == 0:
        return
    pend = bk.pend
    pos = bk.pos
    gross, net, n_open = exposure_nb(pos, px, t, bk.last_px)
    eq = bk.account[0].cash + net
    block = entry_block_nb(bk.risk, mk.day[t], mk.week[t])
    for a in range(k):
        j = bk.cand[a]
        pd = pend[j]
        d = pd.entry
        sb = pd.sig_bar
        raw = px[t, j] if market else _triggered_nb(t, j, px, mk.high, mk.low, pend)
        if raw != raw:
            continue
        left = pd.left
        if block != 0:
            _reject_nb(rec, pend, t, j, d, block)
            continue
        if left == 0.0 and max_positions_reached_nb(n_open, s):
            _reject_nb(rec, pend, t, j, d, REASON_MAX_POSITIONS)
            continue
        slip = slippage_nb(raw, flex_nb(mk.atr, sb, j), s)
        fpx = raw + d * slip
        if left > 0.0:  # the rest of a capped fill: sized and checked when first filled
            qty, reason = left, REASON_NO_CASH
        else:
            qty, reason = _entry_qty_nb(t, j, fpx, px, (eq, gross, net), mk, it, bk, rec, s)
            if reason == REASON_NO_STOP:
                add_order_nb(rec, t, j, d, 0.0, np.nan, 0.0, STATUS_REJECTED, REASON_NO_STOP, 0.0)
                pd.entry = 0.0
                continue
        if qty <= 0.0:
            _reject_nb(rec, pend, t, j, d, reason)
            continue
        before = pos[j].qty
        vol = mk.volume[t, j] if market else np.inf
        filled = execute_delta_nb(
            rec, bk.pos, bk.account, j, t, d * qty, (raw, slip), REASON_ENTRY, vol, s
        )
        if filled <= 0.0:
            continue
        if before == 0.0:
            _set_levels_nb(pos, j, d, sb, it.levels, eq, s)
            n_open += 1
        if filled < qty:
            pd.left = qty - filled
        else:
            pd.entry = 0.0
            pd.left = 0.0
            pd.limit = np.nan
            pd.stop = np.nan
        gross, net, eq = _after_fill_nb(gross, net, eq, d, filled, fpx, raw, s)


@helper_njit
def _rebalance_deltas_nb(
    t: int, sb: int, px: np.ndarray, it: Intents, bk: Book, s: SettingsRecord
) -> None:
    """Quantity changes towards the weights decided at bar ``sb`` into ``bk.fscr[0]``."""
    pos = bk.pos
    _gross, net, _n = exposure_nb(pos, px, t, bk.last_px)
    eq = bk.account[0].cash + net
    delta = bk.fscr[0]
    delta[:] = 0.0
    for j in range(pos.shape[0]):
        w = flex_nb(it.weights, sb, j)
        p = px[t, j]
        if w != w or p != p or eq <= 0.0:
            continue
        if (w > 0 and not s.allow_long) or (w < 0 and not s.allow_short):
            w = 0.0
        if s.max_weight > 0.0:
            w = max(-s.max_weight, min(s.max_weight, w))
        q = pos[j].qty
        tq = np.sign(w) * round_qty_nb(abs(w) * eq / p, s)
        if w != 0.0 and s.drift_band > 0.0 and abs(q * p / eq - w) <= s.drift_band:
            continue
        delta[j] = tq - q


@helper_njit
def rebalance_nb(
    t: int,
    sb: int,
    px: np.ndarray,
    mk: Market,
    it: Intents,
    bk: Book,
    rec: Records,
    s: SettingsRecord,
) -> None:
    """Trade towards the target weights decided at bar ``sb``: reductions first, then increases
    in priority order under the same limits as entries (loss blocks, max positions, buying
    power, weight, sector and net leverage); a refused increase is recorded with its reason."""
    _rebalance_deltas_nb(t, sb, px, it, bk, s)
    delta = bk.fscr[0]
    pos = bk.pos
    for j in range(pos.shape[0]):  # reductions, never past flat
        q = pos[j].qty
        dlt = delta[j]
        if dlt == 0.0 or q == 0.0 or (q > 0) == (dlt > 0):
            continue
        red = -q if abs(dlt) >= abs(q) else dlt
        raw = px[t, j]
        slip = slippage_nb(raw, flex_nb(mk.atr, sb, j), s)
        execute_delta_nb(
            rec, bk.pos, bk.account, j, t, red, (raw, slip), EXIT_REBALANCE, mk.volume[t, j], s
        )
        delta[j] = dlt - red
    k = 0
    for j in range(pos.shape[0]):
        if delta[j] != 0.0:
            bk.cand[k] = j
            bk.fscr[1][k] = flex_nb(it.priority, sb, j)
            k += 1
    _order_by_priority_nb(bk.cand, k, bk.fscr[1])
    _rebalance_increases_nb(t, sb, k, px, mk, bk, rec, s)


@helper_njit
def _rebalance_increases_nb(
    t: int,
    sb: int,
    k: int,
    px: np.ndarray,
    mk: Market,
    bk: Book,
    rec: Records,
    s: SettingsRecord,
) -> None:
    """The increases of a rebalance (``bk.cand[:k]`` in priority order, quantities in
    ``bk.fscr[0]``) under the entry limits; a refused one is recorded with its reason."""
    pos = bk.pos
    delta = bk.fscr[0]
    gross, net, n_open = exposure_nb(pos, px, t, bk.last_px)
    eq = bk.account[0].cash + net
    block = entry_block_nb(bk.risk, mk.day[t], mk.week[t])
    for a in range(k):
        j = bk.cand[a]
        d = 1.0 if delta[j] > 0 else -1.0
        want = abs(delta[j])
        q = pos[j].qty
        reason = block
        if reason == 0 and q == 0.0 and max_positions_reached_nb(n_open, s):
            reason = REASON_MAX_POSITIONS
        raw = px[t, j]
        slip = slippage_nb(raw, flex_nb(mk.atr, sb, j), s)
        fpx = raw + d * slip
        qty = 0.0
        if reason == 0:
            sec_val = 0.0
            if s.sector_cap > 0.0:
                sec_val = sector_value_nb(pos, px, t, bk.last_px, mk.sector, j)
            held = abs(q) * raw
            qty, reason = entry_caps_nb(want, d, fpx, eq, gross, net, held, sec_val, s)
        if qty <= 0.0:
            add_order_nb(rec, t, j, d, 0.0, np.nan, 0.0, STATUS_REJECTED, reason, want)
            continue
        filled = execute_delta_nb(
            rec, bk.pos, bk.account, j, t, d * qty, (raw, slip), REASON_ENTRY, mk.volume[t, j], s
        )
        if filled > 0.0 and q == 0.0:
            n_open += 1
        gross, net, eq = _after_fill_nb(gross, net, eq, d, filled, fpx, raw, s)


# ---- the runtime's limit / stop entries -------------------------------------------------------


@helper_njit
def resting_entries_nb(
    t: int, mk: Market, it: Intents, bk: Book, rec: Records, s: SettingsRecord
) -> None:
    """The intrabar entry step of bar ``t`` (:func:`enter_nb` on limit / stop entries), for the
    runtime's plan of an open: run on a scratch book after the open phase, with a bar whose
    range lets every pending limit / stop entry trigger, it records each with the quantity and
    price it fills at if it triggers in bar ``t`` (the price depends on the open and the
    order's levels alone), or the rule that refuses it."""
    enter_nb(t, mk.open, mk, it, bk, rec, s, False)


@helper_njit
def resting_triggers_nb(t: int, mk: Market, it: Intents, bk: Book, out: np.ndarray) -> None:
    """The raw fill price in bar ``t`` of each pending limit / stop entry that the intrabar
    entry step would try (NaN elsewhere), on the book as the open phase left it; a stop-limit
    whose stop triggered without reaching its limit becomes a limit order (``bk.pend``), as in
    :func:`enter_nb`."""
    for j in range(out.shape[0]):
        out[j] = np.nan
    k = _entry_candidates_nb(t, mk.open, it, bk, False)
    for a in range(k):
        j = bk.cand[a]
        out[j] = _triggered_nb(t, j, mk.open, mk.high, mk.low, bk.pend)
