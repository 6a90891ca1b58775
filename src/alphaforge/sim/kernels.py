"""The simulation kernel: one pass over a (bars x symbols) panel sharing one cash account.

Each bar runs the phases of :mod:`alphaforge.sim.kernels_phases` (open fills, intrabar triggers
and exits, close) over the typed state of :mod:`alphaforge.sim.records`; every trading rule they
apply is a function of :mod:`alphaforge.sim.kernels_rules`. The loop here only allocates the
state, chooses between the phases and the quiet-stretch shortcut of
:mod:`alphaforge.sim.kernels_fast`, and reports open positions at the end.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from alphaforge._jit import configure_cache, helper_njit
from alphaforge.sim.codes import EXIT_END_OF_DATA
from alphaforge.sim.kernels_exec import close_part_nb
from alphaforge.sim.kernels_fast import is_idle_nb, next_signal_nb, quiet_allowed_nb
from alphaforge.sim.kernels_phases import (
    close_phase_nb,
    intrabar_phase_nb,
    mark_nb,
    open_phase_nb,
    period_start_nb,
)
from alphaforge.sim.records import (
    ACCOUNT,
    COUNTERS,
    EVENT,
    ORDER,
    PENDING,
    POSITION,
    RISK,
    TRADE,
    Book,
    Fine,
    Intents,
    Market,
    Records,
    Series,
    SettingsRecord,
)

configure_cache()


@njit(cache=True)
def simulate_nb(mk: Market, it: Intents, fine: Fine, s: SettingsRecord) -> tuple[Series, Records]:
    """Simulate one strategy on a panel; returns (:class:`Series`, :class:`Records`).

    See :mod:`alphaforge.sim.kernels_phases` for the chronology of a bar.
    """
    out = _new_series_nb(mk.close.shape[0], mk.close.shape[1], s)
    return out, simulate_into_nb(mk, it, fine, s, out)


@njit(cache=True)
def simulate_into_nb(
    mk: Market, it: Intents, fine: Fine, s: SettingsRecord, out: Series
) -> Records:
    """:func:`simulate_nb` writing the per-bar series into ``out``, arrays of the sizes of
    :func:`series_sizes_nb` allocated by the caller (every bar is written); returns the
    records. The vectorized runner allocates them with NumPy, whose large arrays get
    transparent huge pages where the system offers them: a million-bar run then writes its
    series with a few page faults instead of the thousands of the kernel's own allocation."""
    caps = _capacities_nb(it, mk.close.shape[1], s)
    while True:
        rec = _simulate_once_nb(mk, it, fine, s, caps, out)
        if not rec.cnt[0].overflow:
            return rec
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
def _capacities_nb(it: Intents, n_sym: int, s: SettingsRecord) -> np.ndarray:
    """Rows for the trade, order and event records, from the number of signals.

    Every entry signal yields at most an entry order (filled or rejected) and one exit order,
    every exit signal at most one order, a rebalance at most two orders per symbol. Buffers are
    sized once so the bar loop never reassigns them; the rare run that still overflows is
    repeated with more room.
    """
    n = 0
    for a in (it.entries, it.short_entries):
        n += 2 * _count_nb(a) if a.size > 1 else (2 * a.shape[0] * n_sym if a[0, 0] else 0)
    for a in (it.exits, it.short_exits):
        n += _count_nb(a) if a.size > 1 else (a.shape[0] * n_sym if a[0, 0] else 0)
    n_rebal = 0
    for i in range(it.rebalance.shape[0]):
        n_rebal += it.rebalance[i]
    n += 2 * n_sym * n_rebal + 4 * n_sym + 64
    caps = np.empty(3, dtype=np.int64)
    caps[0] = n
    caps[1] = n
    risk_on = s.daily_loss + s.weekly_loss + s.max_dd > 0.0
    caps[2] = 64 + n // 2 + (3 * it.rebalance.shape[0] if risk_on else 0)
    return caps


@njit(cache=True)
def _new_book_nb(n_sym: int, s: SettingsRecord) -> Book:
    """The account at the start: all cash, no positions, nothing pending."""
    account = np.zeros(1, dtype=ACCOUNT)
    a = account[0]
    a.cash = s.init_cash
    a.eq_prev = s.init_cash
    a.pend_rebal = -1
    a.r_cash = (1.0 + s.cash_rate) ** (1.0 / s.ppy) - 1.0
    a.r_borrow = s.borrow / s.ppy
    risk = np.zeros(1, dtype=RISK)
    r = risk[0]
    r.day_start_eq = s.init_cash
    r.week_start_eq = s.init_cash
    r.peak_eq = s.init_cash
    r.blocked_day = -1
    r.blocked_week = -1
    r.dd_armed = True
    pos = np.zeros(n_sym, dtype=POSITION)
    for j in range(n_sym):
        p = pos[j]
        p.entry_bar = -1
        p.fill_bar = -1
        p.entry_px = np.nan
        p.sl = np.nan
        p.tp = np.nan
        p.trail_dist = np.nan
        p.trail_pct = np.nan
        p.peak = np.nan
        p.trough = np.nan
        p.maxloss = np.nan
    pend = np.zeros(n_sym, dtype=PENDING)
    for j in range(n_sym):
        pend[j].limit = np.nan
        pend[j].stop = np.nan
        pend[j].sig_bar = -1
    return Book(
        account,
        risk,
        pos,
        pend,
        np.full(n_sym, np.nan),
        np.empty(n_sym, dtype=np.int64),
        np.empty((2, n_sym)),
        np.zeros(n_sym),
    )


@helper_njit
def series_sizes_nb(n_bars: int, n_sym: int, s: SettingsRecord) -> tuple[int, int, int]:
    """Sizes of the per-bar outputs (:class:`Series`) of a run of ``n_bars`` x ``n_sym``: the
    length of the cash, gross and net series (1 when not kept) and the shape of the recorded
    positions ((1, 1) when not kept); the equity series has ``n_bars``."""
    m = 1 if s.equity_only else n_bars
    return (m, n_bars, n_sym) if s.record else (m, 1, 1)


@njit(cache=True)
def _new_series_nb(n_bars: int, n_sym: int, s: SettingsRecord) -> Series:
    m, rows, cols = series_sizes_nb(n_bars, n_sym, s)
    return Series(np.empty(n_bars), np.empty(m), np.empty(m), np.empty(m), np.zeros((rows, cols)))


@njit(cache=True)
def _simulate_once_nb(
    mk: Market, it: Intents, fine: Fine, s: SettingsRecord, caps: np.ndarray, out: Series
) -> Records:
    """One pass of :func:`simulate_nb` with record buffers of ``caps`` rows (never grown)."""
    n_bars, n_sym = mk.close.shape
    bk = _new_book_nb(n_sym, s)
    # record rows are written whole and only the first cnt rows are returned: no initial fill
    rec = Records(
        np.empty(caps[0], dtype=TRADE),
        np.empty(caps[1], dtype=ORDER),
        np.empty(caps[2], dtype=EVENT),
        np.zeros(1, dtype=COUNTERS),
    )
    risk_on = s.daily_loss > 0.0 or s.weekly_loss > 0.0 or s.max_dd > 0.0
    quiet = quiet_allowed_nb(it, s, risk_on)
    _run_bars_nb(mk, it, fine, bk, rec, out, s, risk_on, quiet)
    # open positions at the end: reported as trades closed at the last price, no exit fee
    for j in range(n_sym):
        q = bk.pos[j].qty
        if q != 0.0:
            close_part_nb(
                rec, bk.pos, j, n_bars - 1, abs(q), bk.last_px[j], 0.0, 0.0, EXIT_END_OF_DATA
            )
    c = rec.cnt[0]
    return Records(rec.trades[: c.trades], rec.orders[: c.orders], rec.events[: c.events], rec.cnt)


@helper_njit
def _run_bars_nb(
    mk: Market,
    it: Intents,
    fine: Fine,
    bk: Book,
    rec: Records,
    out: Series,
    s: SettingsRecord,
    risk_on: bool,
    quiet: bool,
) -> None:
    """The bar loop: each bar's phases, or one marking call over a quiet stretch."""
    n_bars, n_sym = mk.close.shape
    t = 0
    while t < n_bars:
        idle = quiet and is_idle_nb(bk)
        if idle:
            stop = next_signal_nb(t, it, n_bars, n_sym)
            if stop > t:
                mark_nb(t, stop, mk, bk, out, s)  # the close phase of bars without signals
                t = stop
                if t >= n_bars:
                    break
        period_start_nb(t, mk, bk)
        if not idle:
            if not s.fill_close:
                open_phase_nb(t, mk, it, bk, rec, s)
            intrabar_phase_nb(t, mk, it, fine, bk, rec, s)
        close_phase_nb(t, mk, it, bk, rec, out, s, risk_on)
        t += 1
