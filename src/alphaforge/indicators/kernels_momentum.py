"""Numba kernels: momentum oscillators (RSI, MACD, stochastics, %R, ROC, CCI, MFI)."""

from __future__ import annotations

import numpy as np
from numba import njit

from alphaforge._jit import configure_cache
from alphaforge.indicators.kernels import (
    ema_from_1d_nb,
    rolling_max_1d_nb,
    rolling_min_1d_nb,
    sma_1d_nb,
    valid_rows1_nb,
    valid_rows4_nb,
)

configure_cache()

_ZERO = 1e-14


@njit(cache=True)
def rsi_1d_nb(x: np.ndarray, period: int) -> np.ndarray:
    """Wilder RSI as in TA-Lib (warm-up ``period``); 0 when there is no movement at all."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    if period < 1 or n <= period:
        return out
    gain = 0.0
    loss = 0.0
    for i in range(1, period + 1):
        d = x[i] - x[i - 1]
        if d < 0:
            loss -= d
        else:
            gain += d
    loss /= period
    gain /= period
    tot = gain + loss
    out[period] = 100.0 * (gain / tot) if abs(tot) >= _ZERO else 0.0
    for i in range(period + 1, n):
        d = x[i] - x[i - 1]
        loss *= period - 1
        gain *= period - 1
        if d < 0:
            loss -= d
        else:
            gain += d
        loss /= period
        gain /= period
        tot = gain + loss
        out[i] = 100.0 * (gain / tot) if abs(tot) >= _ZERO else 0.0
    return out


@njit(cache=True)
def rsi_nb(x: np.ndarray, period: int) -> np.ndarray:
    """RSI per column."""
    n, m = x.shape
    out = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows1_nb(x[:, j])
        out[:, j][idx] = rsi_1d_nb(x[:, j][idx], period)
    return out


@njit(cache=True)
def macd_nb(
    x: np.ndarray, fast: int, slow: int, signal: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MACD line, signal and histogram per column (TA-Lib seeding of both EMAs at ``slow-1``)."""
    if fast > slow:
        fast, slow = slow, fast
    n, m = x.shape
    line = np.full((n, m), np.nan)
    sig = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows1_nb(x[:, j])
        seg = x[:, j][idx]
        start = slow - 1
        # TA-Lib seeds the fast EMA at the slow EMA's first bar, from the fast-period SMA there.
        fast_e = ema_from_1d_nb(seg, max(start - fast + 1, 0), fast)
        slow_e = ema_from_1d_nb(seg, 0, slow)
        ln = fast_e - slow_e
        line[:, j][idx] = ln
        sig[:, j][idx] = ema_from_1d_nb(ln, start, signal)
    return line, sig, line - sig


@njit(cache=True)
def stoch_k_1d_nb(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int, sign: float
) -> np.ndarray:
    """Raw %K (``sign=1``) or Williams %R (``sign=-1``), TA-Lib arithmetic."""
    hh = rolling_max_1d_nb(high, period)
    ll = rolling_min_1d_nb(low, period)
    n = close.shape[0]
    out = np.full(n, np.nan)
    for i in range(period - 1, n):
        if sign > 0:
            diff = (hh[i] - ll[i]) / 100.0
            out[i] = (close[i] - ll[i]) / diff if diff != 0.0 else 0.0
        else:
            diff = (hh[i] - ll[i]) / (-100.0)
            out[i] = (hh[i] - close[i]) / diff if diff != 0.0 else 0.0
    return out


@njit(cache=True)
def stoch_nb(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    k_period: int,
    k_smooth: int,
    d_period: int,
) -> tuple[np.ndarray, np.ndarray]:
    """%K smoothed by an SMA of ``k_smooth`` (1 = fast %K) and %D = SMA(%K, ``d_period``)."""
    n, m = close.shape
    k_out = np.full((n, m), np.nan)
    d_out = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows4_nb(high[:, j], low[:, j], close[:, j], close[:, j])
        raw = stoch_k_1d_nb(high[:, j][idx], low[:, j][idx], close[:, j][idx], k_period, 1.0)
        k = _sma_after_nb(raw, k_period - 1, k_smooth)
        d = _sma_after_nb(k, k_period + k_smooth - 2, d_period)
        k_out[:, j][idx] = k
        d_out[:, j][idx] = d
    return k_out, d_out


@njit(cache=True)
def _sma_after_nb(x: np.ndarray, start: int, period: int) -> np.ndarray:
    """SMA of ``x[start:]`` placed back at full length (``x`` is NaN before ``start``)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    if start < n:
        out[start:] = sma_1d_nb(x[start:], period)
    return out


@njit(cache=True)
def stochrsi_nb(
    x: np.ndarray, period: int, k_period: int, d_period: int
) -> tuple[np.ndarray, np.ndarray]:
    """Fast stochastic (%K, %D) of RSI(``period``), as TA-Lib STOCHRSI."""
    n, m = x.shape
    k_out = np.full((n, m), np.nan)
    d_out = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows1_nb(x[:, j])
        r = rsi_1d_nb(x[:, j][idx], period)
        k = np.full(r.shape[0], np.nan)
        if period < r.shape[0]:
            seg = r[period:]
            k[period:] = stoch_k_1d_nb(seg, seg, seg, k_period, 1.0)
        d = _sma_after_nb(k, period + k_period - 1, d_period)
        k_out[:, j][idx] = k
        d_out[:, j][idx] = d
    return k_out, d_out


@njit(cache=True)
def willr_nb(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    """Williams %R per column."""
    n, m = close.shape
    out = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows4_nb(high[:, j], low[:, j], close[:, j], close[:, j])
        out[:, j][idx] = stoch_k_1d_nb(
            high[:, j][idx], low[:, j][idx], close[:, j][idx], period, -1.0
        )
    return out


@njit(cache=True)
def change_1d_nb(x: np.ndarray, period: int, kind: int) -> np.ndarray:
    """``kind`` 0: momentum ``x - x[-p]``; 1: ROC in percent (0 where ``x[-p] == 0``)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    for i in range(period, n):
        prev = x[i - period]
        if kind == 0:
            out[i] = x[i] - prev
        else:
            out[i] = ((x[i] / prev) - 1.0) * 100.0 if prev != 0.0 else 0.0
    return out


@njit(cache=True)
def change_nb(x: np.ndarray, period: int, kind: int) -> np.ndarray:
    """Momentum / ROC per column."""
    n, m = x.shape
    out = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows1_nb(x[:, j])
        out[:, j][idx] = change_1d_nb(x[:, j][idx], period, kind)
    return out


@njit(cache=True)
def cci_1d_nb(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    """Commodity Channel Index on typical price (warm-up ``period - 1``)."""
    n = close.shape[0]
    out = np.full(n, np.nan)
    tp = (high + low + close) / 3.0
    for i in range(period - 1, n):
        avg = 0.0
        for k in range(i - period + 1, i + 1):
            avg += tp[k]
        avg /= period
        md = 0.0
        for k in range(i - period + 1, i + 1):
            md += abs(tp[k] - avg)
        num = tp[i] - avg
        out[i] = num / (0.015 * (md / period)) if num != 0.0 and md != 0.0 else 0.0
    return out


@njit(cache=True)
def mfi_1d_nb(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, period: int
) -> np.ndarray:
    """Money Flow Index (warm-up ``period``); 0 when the window has no money flow."""
    n = close.shape[0]
    out = np.full(n, np.nan)
    pos = np.zeros(n)
    neg = np.zeros(n)
    prev_tp = (high[0] + low[0] + close[0]) / 3.0 if n > 0 else 0.0
    for i in range(1, n):
        tp = (high[i] + low[i] + close[i]) / 3.0
        diff = tp - prev_tp
        # a change within 1e-14 of the typical prices' size counts as "unchanged" (TA-Lib)
        if abs(diff) > _ZERO * (abs(tp) + abs(prev_tp)):
            if diff < 0.0:
                neg[i] = tp * volume[i]
            else:
                pos[i] = tp * volume[i]
        prev_tp = tp
    for i in range(period, n):
        sp = 0.0
        sn = 0.0
        for k in range(i - period + 1, i + 1):
            sp += pos[k]
            sn += neg[k]
        tot = sp + sn
        out[i] = 0.0 if tot <= 0.0 else 100.0 * (sp / tot)
    return out


@njit(cache=True)
def cci_nb(high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int) -> np.ndarray:
    """Commodity Channel Index per column."""
    n, m = close.shape
    out = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows4_nb(high[:, j], low[:, j], close[:, j], close[:, j])
        out[:, j][idx] = cci_1d_nb(high[:, j][idx], low[:, j][idx], close[:, j][idx], period)
    return out


@njit(cache=True)
def mfi_nb(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, period: int
) -> np.ndarray:
    """Money Flow Index per column."""
    n, m = close.shape
    out = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows4_nb(high[:, j], low[:, j], close[:, j], volume[:, j])
        out[:, j][idx] = mfi_1d_nb(
            high[:, j][idx], low[:, j][idx], close[:, j][idx], volume[:, j][idx], period
        )
    return out
