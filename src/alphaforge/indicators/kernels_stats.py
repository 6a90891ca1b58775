"""Numba kernels: rolling statistics vs a benchmark (beta, correlation) and the Hurst exponent."""

from __future__ import annotations

import numpy as np
from numba import njit

from alphaforge._jit import configure_cache
from alphaforge.indicators.kernels import valid_rows4_nb

configure_cache()

_ZERO = 1e-14


@njit(cache=True)
def _pair_stat_1d_nb(x: np.ndarray, y: np.ndarray, period: int, kind: int) -> np.ndarray:
    """``kind`` 0: slope of ``y`` on ``x`` (beta); 1: Pearson correlation. Output at window end.

    Sums are taken around shifts refreshed (and recomputed from scratch) every ``period``
    bars, which keeps cancellation and drift negligible on long series.
    """
    n = x.shape[0]
    out = np.full(n, np.nan)
    if period < 2 or n < period:
        return out
    cx = 0.0
    cy = 0.0
    sx = 0.0
    sy = 0.0
    sxx = 0.0
    syy = 0.0
    sxy = 0.0
    for i in range(period - 1, n):
        if (i - period + 1) % period == 0:
            cx = x[i]
            cy = y[i]
            sx = sy = sxx = syy = sxy = 0.0
            for k in range(i - period + 1, i + 1):
                a = x[k] - cx
                b = y[k] - cy
                sx += a
                sy += b
                sxx += a * a
                syy += b * b
                sxy += a * b
        else:
            a = x[i] - cx
            b = y[i] - cy
            a0 = x[i - period] - cx
            b0 = y[i - period] - cy
            sx += a - a0
            sy += b - b0
            sxx += a * a - a0 * a0
            syy += b * b - b0 * b0
            sxy += a * b - a0 * b0
        vx = sxx - sx * sx / period
        cov = sxy - sx * sy / period
        if kind == 0:
            out[i] = cov / vx if abs(vx) >= _ZERO else 0.0
        else:
            vy = syy - sy * sy / period
            prod = vx * vy
            out[i] = cov / np.sqrt(prod) if prod >= _ZERO else 0.0
    return out


@njit(cache=True)
def _returns_1d_nb(x: np.ndarray) -> np.ndarray:
    """Simple returns, NaN at the first bar and 0 after a zero price."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(1, n):
        prev = x[i - 1]
        out[i] = (x[i] - prev) / prev if abs(prev) >= _ZERO else 0.0
    return out


@njit(cache=True)
def pair_nb(x: np.ndarray, bench: np.ndarray, period: int, kind: int) -> np.ndarray:
    """Per column: ``kind`` 0 beta of returns of ``x`` on returns of ``bench``; 1 correlation."""
    n, m = x.shape
    out = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows4_nb(x[:, j], bench[:, j], bench[:, j], bench[:, j])
        xs = x[:, j][idx]
        bs = bench[:, j][idx]
        if kind == 0:
            res = np.full(xs.shape[0], np.nan)
            if xs.shape[0] > 1:
                res[1:] = _pair_stat_1d_nb(
                    _returns_1d_nb(bs)[1:], _returns_1d_nb(xs)[1:], period, 0
                )
        else:
            res = _pair_stat_1d_nb(bs, xs, period, 1)
        out[:, j][idx] = res
    return out


@njit(cache=True)
def hurst_1d_nb(x: np.ndarray, period: int, max_lag: int) -> np.ndarray:
    """Hurst exponent of log prices over a trailing window (lag-variance method).

    For lags ``2..max_lag``: ``tau(lag) = std(log x[t + lag] - log x[t])`` within the window;
    ``H`` is the least-squares slope of ``log tau`` on ``log lag``. NaN if any ``tau`` is 0.
    """
    n = x.shape[0]
    out = np.full(n, np.nan)
    nl = max_lag - 1
    if nl < 2 or period <= max_lag + 1:
        return out
    lx = np.log(x)
    llag = np.empty(nl)
    for q in range(nl):
        llag[q] = np.log(q + 2.0)
    mx = llag.mean()
    den = ((llag - mx) ** 2).sum()
    ltau = np.empty(nl)
    for t in range(period - 1, n):
        s0 = t - period + 1
        ok = True
        for q in range(nl):
            lag = q + 2
            cnt = period - lag
            mean = 0.0
            for i in range(s0, s0 + cnt):
                mean += lx[i + lag] - lx[i]
            mean /= cnt
            var = 0.0
            for i in range(s0, s0 + cnt):
                d = lx[i + lag] - lx[i] - mean
                var += d * d
            var /= cnt
            if var <= 0.0:
                ok = False
                break
            ltau[q] = 0.5 * np.log(var)
        if ok:
            out[t] = ((llag - mx) * (ltau - ltau.mean())).sum() / den
    return out


@njit(cache=True)
def hurst_nb(x: np.ndarray, period: int, max_lag: int) -> np.ndarray:
    """Hurst exponent per column."""
    n, m = x.shape
    out = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows4_nb(x[:, j], x[:, j], x[:, j], x[:, j])
        out[:, j][idx] = hurst_1d_nb(x[:, j][idx], period, max_lag)
    return out
