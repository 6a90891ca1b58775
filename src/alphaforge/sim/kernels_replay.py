"""Quiet stretches of a replay: the runtime's bars on which nothing but marking happens.

The runtime (:mod:`alphaforge.engine.node`) runs each bar's cycle in Python: the open phase on a
scratch book, the venue, the fills, the close phase, the protection held at the venue and the
ledger. On most bars of a replay none of that has any work: nothing is pending, no protective
order held at the venue is touched, the strategy gives no signal and the close only marks the
book. :func:`quiet_stretch_nb` runs such bars in one compiled call, through the same phase
functions the cycle calls (:func:`~alphaforge.sim.kernels_rules.new_period_nb` and
:func:`~alphaforge.sim.kernels_phases.close_phase_nb`), and stops at the first bar that is not
quiet, which the runtime then runs as usual.

A bar is quiet when, before it: nothing is pending (the open would send nothing); no position's
protective pair held at the venue (``held``: the stop and target the venue holds per symbol) is
touched in the bar's range (the venue would fill nothing); and the strategy has no signal and
no rebalance at the bar (the cycle would record none). After its close phase it must also have
recorded no order, trade or risk event, left nothing pending, and left every position's stop
and target where the venue holds them (the cycle would replace none). A bar that fails the last
test is rolled back (the book as before it) and left to the runtime, so the state after a
stretch is bit for bit the state the cycle-by-cycle path reaches.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from alphaforge._jit import configure_cache
from alphaforge.sim.kernels_phases import close_phase_nb, has_signal_nb, level_touch_nb
from alphaforge.sim.kernels_rules import new_period_nb, stop_level_nb
from alphaforge.sim.records import Book, Intents, Market, Records, Series, SettingsRecord

configure_cache()


@njit(cache=True)
def _same_nb(a: float, b: float) -> bool:
    if a != a or b != b:
        return a != a and b != b
    return abs(a - b) <= 1e-9 * max(1.0, abs(b))


@njit(cache=True)
def _quiet_before_nb(t: int, mk: Market, it: Intents, bk: Book, s: SettingsRecord) -> bool:
    """Whether bar ``t``'s open, venue and signals have no work (see the module docstring)."""
    acct = bk.account[0]
    if acct.pend_rebal >= 0:
        return False
    pend, pos = bk.pend, bk.pos
    for j in range(pos.shape[0]):
        if pend[j].exit or pend[j].entry != 0.0:
            return False
        if has_signal_nb(it, t, j):
            return False
        if pos[j].qty != 0.0:
            o = mk.open[t, j]
            if o == o:
                px, _r, _b = level_touch_nb(pos, j, o, mk.high[t, j], mk.low[t, j], True)
                if px == px:
                    return False
    return not (s.weights_mode and it.rebalance[t])


@njit(cache=True)
def _quiet_after_nb(bk: Book, rec: Records, counts: np.ndarray, held: np.ndarray) -> bool:
    """Whether the close left no record, nothing pending and the held protection in place."""
    c = rec.cnt[0]
    if c.orders != counts[0] or c.trades != counts[1] or c.events != counts[2]:
        return False
    if bk.account[0].pend_rebal >= 0:
        return False
    pos, pend = bk.pos, bk.pend
    for j in range(pos.shape[0]):
        if pend[j].exit or pend[j].entry != 0.0:
            return False
        if pos[j].qty != 0.0:
            stop, _r = stop_level_nb(pos, j)
            if not _same_nb(stop, held[0, j]) or not _same_nb(pos[j].tp, held[1, j]):
                return False
    return True


@njit(cache=True)
def quiet_stretch_nb(
    t0: int,
    t1: int,
    mk: Market,
    it: Intents,
    bk: Book,
    rec: Records,
    out: Series,
    s: SettingsRecord,
    risk_on: bool,
    held: np.ndarray,
) -> int:
    """Run the quiet bars of ``[t0, t1)`` from ``t0`` on; returns the first bar not run (``t1``
    when all were quiet). ``mk`` and ``it`` hold every bar (indexed by ``t``); ``out`` receives
    each run bar's equity, cash and exposure at index ``t``; ``held`` is (2, symbols): the stop
    and target the venue holds for each position (NaN where none)."""
    counts = np.empty(3, dtype=np.int64)
    # the book before each bar, to roll a bar back: allocated once, refilled per bar
    account, risk, pos = bk.account.copy(), bk.risk.copy(), bk.pos.copy()
    pend, last_px, cnt = bk.pend.copy(), bk.last_px.copy(), rec.cnt.copy()
    for t in range(t0, t1):
        if not _quiet_before_nb(t, mk, it, bk, s):
            return t
        account[:] = bk.account
        risk[:] = bk.risk
        pos[:] = bk.pos
        pend[:] = bk.pend
        last_px[:] = bk.last_px
        cnt[:] = rec.cnt
        c = rec.cnt[0]
        counts[0], counts[1], counts[2] = c.orders, c.trades, c.events
        if t > 0:
            new_day = mk.day[t] != mk.day[t - 1]
            new_week = mk.week[t] != mk.week[t - 1]
            new_period_nb(bk.risk, bk.account[0].eq_prev, new_day, new_week)
        close_phase_nb(t, mk, it, bk, rec, out, s, risk_on)
        if not _quiet_after_nb(bk, rec, counts, held):
            bk.account[:] = account
            bk.risk[:] = risk
            bk.pos[:] = pos
            bk.pend[:] = pend
            bk.last_px[:] = last_px
            rec.cnt[:] = cnt
            return t
    return t1
