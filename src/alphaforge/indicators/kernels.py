"""Numba kernels: shared helpers and moving averages.

Conventions for every kernel module (``kernels*.py``):

* 1-D functions named ``*_1d_nb`` work on a clean (NaN-free) series and return a full-length
  float64 array with NaN during the warm-up.
* 2-D functions named ``*_nb`` take ``(bars x symbols)`` float64 arrays, and for each column
  gather the rows where every input is finite, run the 1-D function on that compressed
  segment and scatter the result back. Rows where an input is NaN therefore get NaN output
  and do not break the recursion: a symbol listed late (leading NaNs) starts its warm-up at
  its first valid bar, exactly as if computed on its own.
* Recursive averages follow TA-Lib's arithmetic (EMA seeded with the SMA of the first
  ``period`` values, Wilder smoothing) so results match ``talib`` to ~1e-12.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from alphaforge._jit import configure_cache

configure_cache()

# ---------------------------------------------------------------- column plumbing helpers


@njit(cache=True)
def valid_rows1_nb(a: np.ndarray) -> np.ndarray:
    """Row indices where ``a`` is finite."""
    n = a.shape[0]
    idx = np.empty(n, dtype=np.int64)
    k = 0
    for i in range(n):
        if np.isfinite(a[i]):
            idx[k] = i
            k += 1
    return idx[:k]


@njit(cache=True)
def valid_rows4_nb(a: np.ndarray, b: np.ndarray, c: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Row indices where all four inputs are finite (pass a repeat for fewer inputs)."""
    n = a.shape[0]
    idx = np.empty(n, dtype=np.int64)
    k = 0
    for i in range(n):
        if np.isfinite(a[i]) and np.isfinite(b[i]) and np.isfinite(c[i]) and np.isfinite(d[i]):
            idx[k] = i
            k += 1
    return idx[:k]


# ---------------------------------------------------------------- 1-D building blocks


@njit(cache=True, nogil=True)
def _rolling_sum_into_nb(x: np.ndarray, period: int, div: float, out: np.ndarray) -> None:
    """``out[i]`` = the sum of ``x[i - period + 1 : i + 1]`` divided by ``div``, for every
    ``i >= period - 1`` (earlier entries untouched); exact re-summation every ``period`` steps."""
    n = x.shape[0]
    s = 0.0
    since = 0  # steps since the last exact sum (a counter: a modulo per step costs more)
    for i in range(period - 1, n):
        if since == 0:
            s = 0.0
            for k in range(i - period + 1, i + 1):
                s += x[k]
        else:
            s += x[i] - x[i - period]
        out[i] = s / div
        since += 1
        if since == period:
            since = 0


@njit(cache=True)
def rolling_sum_1d_nb(x: np.ndarray, period: int) -> np.ndarray:
    """Trailing sum over ``period`` values; exact re-summation every ``period`` steps."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    if period < 1 or n < period:
        return out
    _rolling_sum_into_nb(x, period, 1.0, out)
    return out


@njit(cache=True)
def sma_1d_nb(x: np.ndarray, period: int) -> np.ndarray:
    """Simple moving average (warm-up ``period - 1``)."""
    return rolling_sum_1d_nb(x, period) / period


@njit(cache=True)
def ema_from_1d_nb(x: np.ndarray, start: int, period: int) -> np.ndarray:
    """TA-Lib EMA of ``x[start:]``: seeded with the SMA of its first ``period`` values."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    first = start + period - 1
    if period < 1 or first >= n:
        return out
    k = 2.0 / (period + 1)
    s = 0.0
    for i in range(start, first + 1):
        s += x[i]
    prev = s / period
    out[first] = prev
    for i in range(first + 1, n):
        prev = ((x[i] - prev) * k) + prev
        out[i] = prev
    return out


@njit(cache=True)
def ema_1d_nb(x: np.ndarray, period: int) -> np.ndarray:
    """Exponential moving average, ``k = 2 / (period + 1)`` (warm-up ``period - 1``)."""
    return ema_from_1d_nb(x, 0, period)


@njit(cache=True)
def wma_1d_nb(x: np.ndarray, period: int) -> np.ndarray:
    """Linearly weighted moving average with weights ``1..period`` (newest heaviest)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    if period < 1 or n < period:
        return out
    div = period * (period + 1) / 2.0
    num = 0.0  # sum of (weight * value) over the window
    s = 0.0  # plain sum over the window
    for i in range(period - 1, n):
        if (i - period + 1) % period == 0:
            num = 0.0
            s = 0.0
            for k in range(period):
                v = x[i - period + 1 + k]
                num += (k + 1) * v
                s += v
        else:
            num += period * x[i] - s
            s += x[i] - x[i - period]
        out[i] = num / div
    return out


@njit(cache=True)
def rolling_max_1d_nb(x: np.ndarray, period: int) -> np.ndarray:
    """Trailing maximum over ``period`` values (warm-up ``period - 1``)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(period - 1, n):
        v = x[i]
        for k in range(i - period + 1, i):
            if x[k] > v:
                v = x[k]
        out[i] = v
    return out


@njit(cache=True)
def rolling_min_1d_nb(x: np.ndarray, period: int) -> np.ndarray:
    """Trailing minimum over ``period`` values (warm-up ``period - 1``)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(period - 1, n):
        v = x[i]
        for k in range(i - period + 1, i):
            if x[k] < v:
                v = x[k]
        out[i] = v
    return out


@njit(cache=True)
def true_range_1d_nb(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """TA-Lib TRANGE: ``max(h - l, |h - c[-1]|, |l - c[-1]|)`` (warm-up 1)."""
    n = high.shape[0]
    out = np.full(n, np.nan)
    for i in range(1, n):
        yc = close[i - 1]
        tr = high[i] - low[i]
        t2 = abs(high[i] - yc)
        if t2 > tr:
            tr = t2
        t2 = abs(low[i] - yc)
        if t2 > tr:
            tr = t2
        out[i] = tr
    return out


@njit(cache=True)
def atr_1d_nb(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    """TA-Lib ATR: SMA of the first ``period`` true ranges, then Wilder (warm-up ``period``)."""
    n = high.shape[0]
    out = np.full(n, np.nan)
    if period < 1 or n <= period:
        return out
    tr = true_range_1d_nb(high, low, close)
    if period == 1:
        return tr
    s = 0.0
    for i in range(1, period + 1):
        s += tr[i]
    prev = s / period
    out[period] = prev
    for i in range(period + 1, n):
        prev *= period - 1
        prev += tr[i]
        prev /= period
        out[i] = prev
    return out


# ---------------------------------------------------------------- moving averages (1-D)


@njit(cache=True)
def dema_1d_nb(x: np.ndarray, period: int) -> np.ndarray:
    """``2 * EMA - EMA(EMA)`` (warm-up ``2 * (period - 1)``)."""
    e1 = ema_1d_nb(x, period)
    e2 = ema_from_1d_nb(e1, period - 1, period)
    return (2.0 * e1) - e2


@njit(cache=True)
def tema_1d_nb(x: np.ndarray, period: int) -> np.ndarray:
    """``3 * EMA - 3 * EMA2 + EMA3`` (warm-up ``3 * (period - 1)``)."""
    e1 = ema_1d_nb(x, period)
    e2 = ema_from_1d_nb(e1, period - 1, period)
    e3 = ema_from_1d_nb(e2, 2 * (period - 1), period)
    return e3 + ((3.0 * e1) - (3.0 * e2))


@njit(cache=True)
def kama_1d_nb(x: np.ndarray, period: int, fast: int, slow: int) -> np.ndarray:
    """Kaufman adaptive moving average as in TA-Lib (warm-up ``period``)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    if period < 1 or n <= period:
        return out
    cmin = 2.0 / (slow + 1.0)
    cdiff = 2.0 / (fast + 1.0) - cmin
    sum_roc = 0.0
    for t in range(period):
        sum_roc += abs(x[t] - x[t + 1])
    prev = x[period - 1]
    trailing_value = x[0]
    for today in range(period, n):
        tr_idx = today - period
        roc = x[today] - x[tr_idx]
        if today > period:
            sum_roc -= abs(trailing_value - x[tr_idx])
            sum_roc += abs(x[today] - x[today - 1])
        trailing_value = x[tr_idx]
        er = 1.0 if sum_roc <= roc or abs(sum_roc) < 1e-14 else abs(roc / sum_roc)
        sc = er * cdiff + cmin
        sc *= sc
        prev = ((x[today] - prev) * sc) + prev
        out[today] = prev
    return out


@njit(cache=True)
def hma_1d_nb(x: np.ndarray, period: int) -> np.ndarray:
    """Hull MA: ``WMA(2 * WMA(x, n // 2) - WMA(x, n), isqrt(n))``."""
    n = x.shape[0]
    half = max(period // 2, 1)
    root = max(int(np.sqrt(period) + 1e-9), 1)
    raw = 2.0 * wma_1d_nb(x, half) - wma_1d_nb(x, period)
    out = np.full(n, np.nan)
    start = period - 1
    if start < n:
        out[start:] = wma_1d_nb(raw[start:], root)
    return out


# ---------------------------------------------------------------- 2-D kernels


@njit(cache=True, nogil=True)
def _all_finite_nb(col: np.ndarray) -> bool:
    for i in range(col.shape[0]):
        if not np.isfinite(col[i]):
            return False
    return True


@njit(cache=True, nogil=True)
def _ma_column_nb(col: np.ndarray, kind: int, period: int, out: np.ndarray) -> None:
    """One column's moving average into ``out`` (NaN where the input is missing)."""
    n = col.shape[0]
    if kind == 0 and _all_finite_nb(col):
        # the usual SMA: straight into ``out`` (NaN already), the same sums and divisions as
        # sma_1d_nb without its temporaries
        if 1 <= period <= n:
            _rolling_sum_into_nb(col, period, float(period), out)
        return
    idx = valid_rows1_nb(col)
    whole = idx.shape[0] == n  # no gap: work on the column itself, no gather / scatter
    seg = np.ascontiguousarray(col) if whole else col[idx]
    if kind == 0:
        res = sma_1d_nb(seg, period)
    elif kind == 1:
        res = ema_1d_nb(seg, period)
    elif kind == 2:
        res = wma_1d_nb(seg, period)
    elif kind == 3:
        res = dema_1d_nb(seg, period)
    elif kind == 4:
        res = tema_1d_nb(seg, period)
    else:
        res = hma_1d_nb(seg, period)
    if whole:
        out[:] = res
    else:
        out[idx] = res


@njit(cache=True, nogil=True)
def _sma_rows_nb(x: np.ndarray, period: int, out: np.ndarray) -> bool:
    """The SMA of every column of a C-ordered ``x`` row by row, when every value is finite
    (False, nothing written, otherwise). Each column gets exactly the sums and divisions of
    :func:`_rolling_sum_into_nb`; walking the rows keeps the columns' running sums independent
    of each other, so the processor overlaps them instead of waiting on one chain of additions
    per column (a few times faster on a window of many symbols)."""
    n, m = x.shape
    for i in range(n):
        for j in range(m):
            if not np.isfinite(x[i, j]):
                return False
    if period < 1 or period > n:
        return True
    s = np.zeros(m)
    div = float(period)
    since = 0
    for i in range(period - 1, n):
        if since == 0:
            s[:] = 0.0
            for k in range(i - period + 1, i + 1):
                for j in range(m):
                    s[j] += x[k, j]
        else:
            for j in range(m):
                s[j] += x[i, j] - x[i - period, j]
        for j in range(m):
            out[i, j] = s[j] / div
        since += 1
        if since == period:
            since = 0
    return True


@njit(cache=True, nogil=True)
def ma_nb(x: np.ndarray, kind: int, period: int) -> np.ndarray:
    """Moving average per column; ``kind``: 0 SMA, 1 EMA, 2 WMA, 3 DEMA, 4 TEMA, 5 HMA."""
    n, m = x.shape
    out = np.full((n, m), np.nan)
    if kind == 0 and m > 1 and x.strides[1] == x.itemsize and _sma_rows_nb(x, period, out):
        return out
    for j in range(m):
        _ma_column_nb(x[:, j], kind, period, out[:, j])
    return out


@njit(cache=True, parallel=True)
def ma_many_nb(x_t: np.ndarray, kind: int, periods: np.ndarray) -> np.ndarray:
    """:func:`ma_nb` for several periods at once, in parallel, from ``x_t`` = the input
    transposed ``(columns, bars)``: returns ``(periods, columns, bars)``, every series
    contiguous (read and written in order, whatever the number of columns)."""
    m, n = x_t.shape
    n_p = periods.shape[0]
    out = np.empty((n_p, m, n))
    for i in prange(n_p * m):
        p = i // m
        j = i - p * m
        out[p, j, :] = np.nan
        _ma_column_nb(x_t[j], kind, int(periods[p]), out[p, j])
    return out


@njit(cache=True)
def kama_nb(x: np.ndarray, period: int, fast: int, slow: int) -> np.ndarray:
    """Kaufman adaptive moving average per column."""
    n, m = x.shape
    out = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows1_nb(x[:, j])
        out[:, j][idx] = kama_1d_nb(x[:, j][idx], period, fast, slow)
    return out
