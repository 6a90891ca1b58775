"""Numba kernels: volume (OBV, A/D line, Chaikin A/D oscillator, session VWAP)."""

from __future__ import annotations

import numpy as np
from numba import njit

from alphaforge._jit import configure_cache
from alphaforge.indicators.kernels import valid_rows4_nb

configure_cache()


@njit(cache=True)
def obv_1d_nb(close: np.ndarray, volume: np.ndarray) -> np.ndarray:
    """On-balance volume, starting at the first bar's volume (TA-Lib convention)."""
    n = close.shape[0]
    out = np.full(n, np.nan)
    if n == 0:
        return out
    acc = volume[0]
    out[0] = acc
    for i in range(1, n):
        if close[i] > close[i - 1]:
            acc += volume[i]
        elif close[i] < close[i - 1]:
            acc -= volume[i]
        out[i] = acc
    return out


@njit(cache=True)
def ad_1d_nb(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray
) -> np.ndarray:
    """Chaikin accumulation/distribution line (no contribution from bars with ``high == low``)."""
    n = close.shape[0]
    out = np.full(n, np.nan)
    acc = 0.0
    for i in range(n):
        rng = high[i] - low[i]
        if rng > 0.0:
            acc += (((close[i] - low[i]) - (high[i] - close[i])) / rng) * volume[i]
        out[i] = acc
    return out


@njit(cache=True)
def adosc_1d_nb(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, fast: int, slow: int
) -> np.ndarray:
    """EMA(AD, fast) - EMA(AD, slow); both EMAs seeded with the first A/D value."""
    n = close.shape[0]
    out = np.full(n, np.nan)
    if n == 0:
        return out
    ad = ad_1d_nb(high, low, close, volume)
    kf = 2.0 / (fast + 1)
    ks = 2.0 / (slow + 1)
    ef = ad[0]
    es = ad[0]
    start = max(fast, slow) - 1
    for i in range(1, n):
        ef = (kf * ad[i]) + ((1.0 - kf) * ef)
        es = (ks * ad[i]) + ((1.0 - ks) * es)
        if i >= start:
            out[i] = ef - es
    if start == 0:
        out[0] = 0.0
    return out


@njit(cache=True)
def vwap_1d_nb(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, session: np.ndarray
) -> np.ndarray:
    """Cumulative ``sum(tp * v) / sum(v)`` restarted whenever ``session`` changes."""
    n = close.shape[0]
    out = np.full(n, np.nan)
    pv = 0.0
    vv = 0.0
    for i in range(n):
        if i == 0 or session[i] != session[i - 1]:
            pv = 0.0
            vv = 0.0
        tp = (high[i] + low[i] + close[i]) / 3.0
        pv += tp * volume[i]
        vv += volume[i]
        if vv > 0.0:
            out[i] = pv / vv
    return out


@njit(cache=True)
def volume_nb(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    volume: np.ndarray,
    kind: int,
    fast: int,
    slow: int,
) -> np.ndarray:
    """Per column: ``kind`` 0 OBV, 1 A/D line, 2 ADOSC(fast, slow)."""
    n, m = close.shape
    out = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows4_nb(high[:, j], low[:, j], close[:, j], volume[:, j])
        h = high[:, j][idx]
        lw = low[:, j][idx]
        c = close[:, j][idx]
        v = volume[:, j][idx]
        if kind == 0:
            res = obv_1d_nb(c, v)
        elif kind == 1:
            res = ad_1d_nb(h, lw, c, v)
        else:
            res = adosc_1d_nb(h, lw, c, v, fast, slow)
        out[:, j][idx] = res
    return out


@njit(cache=True)
def vwap_nb(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, volume: np.ndarray, session: np.ndarray
) -> np.ndarray:
    """Session VWAP per column; ``session`` is a (bars x symbols) array of session ids."""
    n, m = close.shape
    out = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows4_nb(high[:, j], low[:, j], close[:, j], volume[:, j])
        out[:, j][idx] = vwap_1d_nb(
            high[:, j][idx],
            low[:, j][idx],
            close[:, j][idx],
            volume[:, j][idx],
            session[:, j][idx],
        )
    return out
