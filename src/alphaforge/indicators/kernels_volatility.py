"""Numba kernels: volatility and channels (TR, ATR, NATR, std, z-score, Bollinger, Keltner, Donchian)."""

from __future__ import annotations

import numpy as np
from numba import njit

from alphaforge._jit import configure_cache
from alphaforge.indicators.kernels import (
    atr_1d_nb,
    ema_1d_nb,
    rolling_max_1d_nb,
    rolling_min_1d_nb,
    true_range_1d_nb,
    valid_rows1_nb,
    valid_rows4_nb,
)

configure_cache()


@njit(cache=True)
def rolling_mean_var_1d_nb(x: np.ndarray, period: int, ddof: int) -> tuple[np.ndarray, np.ndarray]:
    """Trailing mean and variance; sums are taken around a shift refreshed every ``period``.

    The shift (a recent value) removes the cancellation of ``E[x^2] - E[x]^2`` and the sums are
    recomputed from scratch every ``period`` bars, so the error does not grow with length.
    """
    n = x.shape[0]
    mean = np.full(n, np.nan)
    var = np.full(n, np.nan)
    if period < 1 or n < period or period - ddof < 1:
        return mean, var
    c = 0.0
    s1 = 0.0
    s2 = 0.0
    for i in range(period - 1, n):
        if (i - period + 1) % period == 0:
            c = x[i]
            s1 = 0.0
            s2 = 0.0
            for k in range(i - period + 1, i + 1):
                d = x[k] - c
                s1 += d
                s2 += d * d
        else:
            a = x[i] - c
            b = x[i - period] - c
            s1 += a - b
            s2 += a * a - b * b
        m = s1 / period
        v = (s2 - s1 * m) / (period - ddof)
        mean[i] = m + c
        var[i] = v if v > 0.0 else 0.0
    return mean, var


@njit(cache=True)
def std_nb(x: np.ndarray, period: int, ddof: int) -> np.ndarray:
    """Rolling standard deviation per column."""
    n, m = x.shape
    out = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows1_nb(x[:, j])
        _, var = rolling_mean_var_1d_nb(x[:, j][idx], period, ddof)
        out[:, j][idx] = np.sqrt(var)
    return out


@njit(cache=True)
def zscore_nb(x: np.ndarray, period: int, ddof: int) -> np.ndarray:
    """``(x - mean) / std`` over a trailing window; NaN where the window is flat."""
    n, m = x.shape
    out = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows1_nb(x[:, j])
        seg = x[:, j][idx]
        mean, var = rolling_mean_var_1d_nb(seg, period, ddof)
        sd = np.sqrt(var)
        z = np.full(seg.shape[0], np.nan)
        for i in range(seg.shape[0]):
            if sd[i] > 0.0:
                z[i] = (seg[i] - mean[i]) / sd[i]
        out[:, j][idx] = z
    return out


@njit(cache=True)
def bbands_nb(
    x: np.ndarray, period: int, nbdev_up: float, nbdev_dn: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bollinger upper, middle (SMA) and lower bands with population std."""
    n, m = x.shape
    up = np.full((n, m), np.nan)
    mid = np.full((n, m), np.nan)
    lo = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows1_nb(x[:, j])
        mean, var = rolling_mean_var_1d_nb(x[:, j][idx], period, 0)
        sd = np.sqrt(var)
        up[:, j][idx] = mean + nbdev_up * sd
        mid[:, j][idx] = mean
        lo[:, j][idx] = mean - nbdev_dn * sd
    return up, mid, lo


@njit(cache=True)
def range_nb(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int, kind: int
) -> np.ndarray:
    """Per column: ``kind`` 0 true range, 1 ATR, 2 NATR (ATR in percent of close)."""
    n, m = close.shape
    out = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows4_nb(high[:, j], low[:, j], close[:, j], close[:, j])
        h = high[:, j][idx]
        lw = low[:, j][idx]
        c = close[:, j][idx]
        if kind == 0:
            res = true_range_1d_nb(h, lw, c)
        else:
            res = atr_1d_nb(h, lw, c, period)
            if kind == 2:
                for i in range(res.shape[0]):
                    if not np.isnan(res[i]):
                        res[i] = (res[i] / c[i]) * 100.0 if abs(c[i]) >= 1e-14 else 0.0
        out[:, j][idx] = res
    return out


@njit(cache=True)
def keltner_nb(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int, atr_period: int, mult: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Keltner channel: EMA(close) +/- ``mult`` * ATR."""
    n, m = close.shape
    up = np.full((n, m), np.nan)
    mid = np.full((n, m), np.nan)
    lo = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows4_nb(high[:, j], low[:, j], close[:, j], close[:, j])
        c = close[:, j][idx]
        e = ema_1d_nb(c, period)
        a = atr_1d_nb(high[:, j][idx], low[:, j][idx], c, atr_period)
        up[:, j][idx] = e + mult * a
        mid[:, j][idx] = e + 0.0 * a
        lo[:, j][idx] = e - mult * a
    return up, mid, lo


@njit(cache=True)
def donchian_nb(
    high: np.ndarray, low: np.ndarray, period: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Donchian channel: highest high, midpoint, lowest low over ``period`` bars."""
    n, m = high.shape
    up = np.full((n, m), np.nan)
    mid = np.full((n, m), np.nan)
    lo = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows4_nb(high[:, j], low[:, j], low[:, j], low[:, j])
        hh = rolling_max_1d_nb(high[:, j][idx], period)
        ll = rolling_min_1d_nb(low[:, j][idx], period)
        up[:, j][idx] = hh
        mid[:, j][idx] = (hh + ll) / 2.0
        lo[:, j][idx] = ll
    return up, mid, lo
