"""Fast paths of the simulation kernel: which bars can skip which phases.

A bar is *quiet* when nothing is pending, no position has a protective level and no rule acts
at the close but marking (no risk limits, time exits, rebalancing or close-timing fills): then
its open and intrabar phases have no work and its close phase is :func:`~alphaforge.sim.
kernels_phases.mark_nb`. A run of quiet bars up to the next signal is marked in one call;
the signal bar and the bars after it go through the phases as usual. Nothing here changes state
except through the phase functions, so the fast path and the plain loop agree to the last bit
(tested; the plain loop is chosen with ``Settings.fast_paths = False``).
"""

from __future__ import annotations

import numpy as np

from alphaforge._jit import configure_cache, helper_njit, inline_njit
from alphaforge.sim.kernels_phases import any_entry_nb, any_exit_nb
from alphaforge.sim.kernels_rules import flex_nb, has_levels_nb
from alphaforge.sim.records import Book, Intents, SettingsRecord

configure_cache()


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
def next_signal_nb(start: int, it: Intents, n_bars: int, n_sym: int) -> int:
    """First bar at or after ``start`` with any signal of any symbol (``n_bars`` if none)."""
    if n_sym == 1:
        # one symbol: scan the full-length masks; a (1, 1) mask is constant
        for a in (it.entries, it.exits, it.short_entries, it.short_exits):
            if a.shape[0] == 1 and a[0, 0]:
                return start
        stop = n_bars
        for a, b in ((it.entries, it.exits), (it.short_entries, it.short_exits)):
            fa, fb = a.shape[0] > 1, b.shape[0] > 1
            if fa or fb:
                col_a = a.reshape(a.size) if fa else b.reshape(b.size)
                col_b = b.reshape(b.size) if fb else col_a
                stop = _scan_nb(col_a, col_b, start, stop)
        return stop
    for t in range(start, n_bars):
        for j in range(n_sym):
            if (
                flex_nb(it.entries, t, j)
                or flex_nb(it.exits, t, j)
                or flex_nb(it.short_entries, t, j)
                or flex_nb(it.short_exits, t, j)
            ):
                return t
    return n_bars


@helper_njit
def quiet_allowed_nb(it: Intents, s: SettingsRecord, risk_on: bool) -> bool:
    """Whether the settings let any bar be quiet (checked once per run)."""
    if not s.fast_paths or s.fill_close or s.weights_mode or risk_on:
        return False
    return not (s.max_bars > 0 or s.trade_max_loss > 0.0)


@inline_njit
def is_idle_nb(bk: Book) -> bool:
    """Nothing pending and no open position with a protective level: the open and intrabar
    phases of the next bar have no work (protective levels are set when a position opens,
    on a bar that runs every phase)."""
    if bk.account[0].pend_rebal >= 0 or any_entry_nb(bk.pend) or any_exit_nb(bk.pend):
        return False
    for j in range(bk.pos.shape[0]):
        if bk.pos[j].qty != 0.0 and has_levels_nb(bk.pos, j):
            return False
    return True
