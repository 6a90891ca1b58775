"""Numba kernels that run many backtests of one strategy in a single compiled call.

Each trial runs the same :func:`~alphaforge.sim.kernels.simulate_nb` as a single backtest, so the
fills are identical by construction; only the output differs: instead of records and per-bar
series, a reducer turns each trial's equity array and trade records into one row of
:data:`BATCH_METRICS` while the arrays are still in cache. Trials are independent and run in a
``prange`` loop (thread count set by the caller with :func:`numba.set_num_threads`).

Two layouts:

* :func:`batch_portfolio_nb` — each trial is one portfolio over all symbols (one cash account);
  signals are ``(K, bars, symbols)``.
* :func:`batch_per_symbol_nb` — each (trial, symbol) pair is its own single-symbol backtest;
  prices are passed transposed ``(symbols, bars)`` and signals ``(K, symbols, bars)`` so that
  every slice handed to the kernel is contiguous.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from alphaforge._jit import configure_cache, helper_njit
from alphaforge.sim.kernels import simulate_nb
from alphaforge.sim.records import (
    Fine,
    Intents,
    Levels,
    Market,
    SignalStack,
)

configure_cache()

BATCH_METRICS: tuple[str, ...] = (
    "final_equity",
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "max_drawdown",
    "num_trades",
    "win_rate",
    "profit_factor",
)
N_BATCH_METRICS = len(BATCH_METRICS)

_NOFINE = np.full((1, 1), -1, dtype=np.int64)
_EMPTY = np.empty(0)


@helper_njit
def _all_equal_nb(x: np.ndarray, n: int) -> bool:
    """Whether ``x[:n]`` holds one value (stops at the first other one, usually at once)."""
    x0 = x[0]
    for i in range(1, n):
        if x[i] != x0:
            return False
    return True


@helper_njit
def _return_metrics_nb(
    e: np.ndarray, ppy: float, rf_bar: float, out: np.ndarray, x: np.ndarray
) -> None:
    """Total return, CAGR, Sharpe, Sortino and max drawdown, as ``summary_metrics`` defines them.

    ``x`` (length >= ``len(e) - 1``) receives the excess returns. Sums run in four interleaved
    partial sums: the additions no longer wait on each other, and the result stays within a
    few ulps of the sequential (and of NumPy's pairwise) sum.
    """
    n = e.shape[0] - 1
    if n < 1:
        return
    growth = e[n] / e[0]
    out[1] = growth - 1.0
    out[2] = growth ** (ppy / n) - 1.0 if growth > 0 else -1.0
    peak = e[0]
    mdd = 0.0
    # a bar can only set a new drawdown when it is below peak * (1 + mdd); the exact ratio is
    # computed for those bars only (the margin keeps every candidate whatever the rounding)
    bound = peak
    np.divide(e[1 : n + 1], e[:n], x[:n])  # a ufunc loop: the divisions vectorize
    for i in range(n):
        v = e[i + 1]
        x[i] = x[i] - 1.0 - rf_bar
        if v > peak:
            peak = v
            bound = peak * (1.0 + mdd) * (1.0 + 1e-12)
        elif v < bound:
            mdd = min(mdd, v / peak - 1.0)
            bound = peak * (1.0 + mdd) * (1.0 + 1e-12)
    s0 = s1 = s2 = s3 = 0.0
    d0 = d1 = d2 = d3 = 0.0
    m4 = n - n % 4
    for i in range(0, m4, 4):
        a0, a1, a2, a3 = x[i], x[i + 1], x[i + 2], x[i + 3]
        s0 += a0
        s1 += a1
        s2 += a2
        s3 += a3
        d0 += min(a0, 0.0) * min(a0, 0.0)
        d1 += min(a1, 0.0) * min(a1, 0.0)
        d2 += min(a2, 0.0) * min(a2, 0.0)
        d3 += min(a3, 0.0) * min(a3, 0.0)
    for i in range(m4, n):
        s0 += x[i]
        d0 += min(x[i], 0.0) * min(x[i], 0.0)
    s = (s0 + s1) + (s2 + s3)
    down2 = (d0 + d1) + (d2 + d3)
    out[5] = mdd
    mean = s / n
    down = math.sqrt(down2 / n) * math.sqrt(ppy)
    if n > 1 and down > 0.0:
        out[4] = mean * ppy / down
    if n > 1 and not _all_equal_nb(x, n):  # equal returns: std 0 whatever the rounding
        q0 = q1 = q2 = q3 = 0.0
        for i in range(0, m4, 4):
            b0 = x[i] - mean
            b1 = x[i + 1] - mean
            b2 = x[i + 2] - mean
            b3 = x[i + 3] - mean
            q0 += b0 * b0
            q1 += b1 * b1
            q2 += b2 * b2
            q3 += b3 * b3
        for i in range(m4, n):
            b0 = x[i] - mean
            q0 += b0 * b0
        std = math.sqrt(((q0 + q1) + (q2 + q3)) / (n - 1))
        if std > 0.0:
            out[3] = mean / std * math.sqrt(ppy)


@helper_njit
def reduce_nb(
    e: np.ndarray,
    trades: np.ndarray,
    ppy: float,
    rf_bar: float,
    out: np.ndarray,
    scratch: np.ndarray,
) -> None:
    """Fill ``out`` (length :data:`N_BATCH_METRICS`) from one trial's equity and trade records.

    ``scratch`` is a float array of at least ``len(e) - 1`` elements that may be overwritten.
    Degenerate cases follow ``summary_metrics``: NaN for a ratio with a zero denominator, a
    profit factor of ``inf`` with winners and no losers, NaN win rate without trades.
    """
    out[:] = np.nan
    out[0] = e[e.shape[0] - 1]
    _return_metrics_nb(e, ppy, rf_bar, out, scratch)
    nt = trades.shape[0]
    out[6] = nt
    if nt == 0:
        return
    wins = 0
    gw = 0.0
    gl = 0.0
    for i in range(nt):
        p = trades[i].pnl
        if p > 0.0:
            wins += 1
            gw += p
        elif p < 0.0:
            gl -= p
    out[7] = wins / nt
    if gl > 0.0:
        out[8] = gw / gl
    elif gw > 0.0:
        out[8] = np.inf


@njit(cache=True)
def _symbol_row_nb(a: np.ndarray, j: int, shape: tuple[int, int]) -> np.ndarray:
    """Symbol ``j``'s row of a transposed ``(symbols, bars)`` array as ``(bars, 1)``; a
    ``(1, 1)`` array as it is."""
    return a[j].reshape(shape) if a.shape[1] > 1 else a


@njit(cache=True)
def _symbol_levels_nb(lv: Levels, j: int, shape: tuple[int, int]) -> Levels:
    """Symbol ``j``'s :class:`Levels` from the transposed ones of a per-symbol batch."""
    return Levels(
        _symbol_row_nb(lv.sl_pct, j, shape), _symbol_row_nb(lv.sl_abs, j, shape),
        _symbol_row_nb(lv.sl_price, j, shape), _symbol_row_nb(lv.tp_pct, j, shape),
        _symbol_row_nb(lv.tp_abs, j, shape), _symbol_row_nb(lv.tp_price, j, shape),
        _symbol_row_nb(lv.trail_pct, j, shape), _symbol_row_nb(lv.trail_abs, j, shape),
    )  # fmt: skip


@njit(cache=True, parallel=True)
def batch_portfolio_nb(
    mk: Market,
    levels: Levels,
    sig: SignalStack,
    settings: np.ndarray,
    rf_bar: float,
    order: np.ndarray,
    out: np.ndarray,
) -> None:
    """Run ``K`` portfolio trials (``sig`` masks ``(K, bars, symbols)``); row ``k`` of ``out``
    gets trial ``k``. ``settings`` is a one-row :data:`SETTINGS` array (a record cannot cross
    into the parallel loop by value). ``order`` is a permutation of the K trials: the order
    the loop takes them in (see :func:`interleaved`)."""
    n_k = sig.entries.shape[0]
    nan11 = np.full((1, 1), np.nan)
    zero11 = np.zeros((1, 1))
    no_rebal = np.zeros(mk.close.shape[0], dtype=np.bool_)
    fine = Fine(_NOFINE, _NOFINE, _EMPTY, _EMPTY)
    multi = sig.short_entries.shape[0] > 1
    for kk in prange(n_k):
        k = order[kk]
        ks = k if multi else np.int64(0)
        it = Intents(
            sig.entries[k], sig.exits[k], sig.short_entries[ks], sig.short_exits[ks], nan11,
            no_rebal, levels, nan11, nan11, zero11,
        )  # fmt: skip
        s = settings[0]
        series, rec = simulate_nb(mk, it, fine, s)
        reduce_nb(series.equity, rec.trades, s.ppy, rf_bar, out[k], np.empty(mk.close.shape[0]))


@njit(cache=True, parallel=True)
def batch_per_symbol_nb(
    mk_t: Market,
    levels_t: Levels,
    sig: SignalStack,
    settings: np.ndarray,
    rf_bar: float,
    order: np.ndarray,
    out: np.ndarray,
) -> None:
    """Run every (trial, symbol) pair as its own single-symbol backtest.

    ``mk_t`` holds prices, ATR and volatility transposed to ``(symbols, bars)`` (ATR and
    volatility ``(1, 1)`` when unused); ``sig`` masks are ``(K, symbols, bars)``, short masks
    the same or ``(1, 1, 1)``; each array of ``levels_t`` is ``(symbols, bars)`` or ``(1, 1)``.
    ``out`` is ``(K, symbols, M)``; ``order`` is a permutation of the K trials, the order they
    run in within each symbol.
    """
    n_k, n_sym, n_bars = sig.entries.shape
    nan11 = np.full((1, 1), np.nan)
    zero11 = np.zeros((1, 1))
    false11 = np.zeros((1, 1), dtype=np.bool_)
    no_rebal = np.zeros(n_bars, dtype=np.bool_)
    sector = np.zeros(1, dtype=np.int64)
    fine = Fine(_NOFINE, _NOFINE, _EMPTY, _EMPTY)
    for ii in prange(n_k * n_sym):
        # symbol-major: consecutive pairs share the symbol's prices, which stay in cache
        idx = np.int64(ii)
        j = idx // n_k
        k = order[idx - j * n_k]
        shape = (n_bars, 1)
        se = false11
        sx = false11
        if sig.short_entries.shape[2] > 1:
            se = sig.short_entries[k, j].reshape(shape)
            sx = sig.short_exits[k, j].reshape(shape)
        lv = _symbol_levels_nb(levels_t, j, shape)
        mk = Market(
            mk_t.open[j].reshape(shape), mk_t.high[j].reshape(shape), mk_t.low[j].reshape(shape),
            mk_t.close[j].reshape(shape), mk_t.volume[j].reshape(shape),
            mk_t.atr[j].reshape(shape) if mk_t.atr.shape[1] > 1 else nan11,
            mk_t.vol[j].reshape(shape) if mk_t.vol.shape[1] > 1 else nan11,
            sector, mk_t.day, mk_t.week,
        )  # fmt: skip
        it = Intents(
            sig.entries[k, j].reshape(shape), sig.exits[k, j].reshape(shape), se, sx, nan11,
            no_rebal, lv, nan11, nan11, zero11,
        )  # fmt: skip
        s = settings[0]
        series, rec = simulate_nb(mk, it, fine, s)
        reduce_nb(series.equity, rec.trades, s.ppy, rf_bar, out[k, j], np.empty(n_bars))


def interleaved(n: int, threads: int | None = None) -> np.ndarray:
    """The trials ``0..n-1`` in the order ``0, T, 2T, ..., 1, T+1, ...`` for ``T`` threads
    (default: Numba's current number of threads).

    A ``prange`` loop gives each thread one contiguous block of iterations. A grid is usually
    sorted by its parameters, and cost follows them (short moving averages trade more), so
    contiguous blocks would leave one thread with the expensive end; in this order every block
    takes every T-th trial of the whole grid.
    """
    if threads is None:
        import numba

        threads = int(numba.get_num_threads())
    t = max(1, int(threads))
    if t == 1 or n <= t:
        return np.arange(n, dtype=np.int64)
    return np.concatenate([np.arange(r, n, t, dtype=np.int64) for r in range(t)])


def kernel_threads(n: int | None) -> int:
    """Set the threads of the parallel batch kernels to ``n`` (capped by Numba's limit; ``None``
    leaves them as they are) and return the previous setting, so callers can restore it."""
    import numba

    previous = int(numba.get_num_threads())
    if n is not None:
        numba.set_num_threads(max(1, min(int(n), int(numba.config.NUMBA_NUM_THREADS))))  # type: ignore[attr-defined]
    return previous
