"""Numba kernels: trend (ADX/DI, Aroon, Parabolic SAR, Ichimoku, SuperTrend, regression slope)."""

from __future__ import annotations

import numpy as np
from numba import njit

from alphaforge._jit import configure_cache
from alphaforge.indicators.kernels import (
    atr_1d_nb,
    rolling_max_1d_nb,
    rolling_min_1d_nb,
    valid_rows1_nb,
    valid_rows4_nb,
)

configure_cache()

_ZERO = 1e-14


@njit(cache=True)
def _dm_step_nb(h: float, ph: float, lw: float, pl: float, pc: float) -> tuple[float, float, float]:
    """Directional movement (+DM, -DM) and true range of one bar, TA-Lib rules."""
    diff_p = h - ph
    diff_m = pl - lw
    plus = 0.0
    minus = 0.0
    if diff_m > 0 and diff_p < diff_m:
        minus = diff_m
    elif diff_p > 0 and diff_p > diff_m:
        plus = diff_p
    tr = h - lw
    t2 = abs(h - pc)
    if t2 > tr:
        tr = t2
    t2 = abs(lw - pc)
    if t2 > tr:
        tr = t2
    return plus, minus, tr


@njit(cache=True)
def dmi_1d_nb(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """+DI, -DI (warm-up ``period``) and ADX (warm-up ``2 * period - 1``), Wilder smoothing."""
    n = close.shape[0]
    pdi = np.full(n, np.nan)
    mdi = np.full(n, np.nan)
    adx = np.full(n, np.nan)
    if period < 2 or n <= period:
        return pdi, mdi, adx
    pdm = 0.0
    mdm = 0.0
    tr = 0.0
    sum_dx = 0.0
    prev_adx = 0.0
    for t in range(1, n):
        p, mi, r = _dm_step_nb(high[t], high[t - 1], low[t], low[t - 1], close[t - 1])
        if t < period:
            pdm += p
            mdm += mi
            tr += r
            continue
        pdm = pdm - (pdm / period) + p
        mdm = mdm - (mdm / period) + mi
        tr = tr - (tr / period) + r
        if abs(tr) < _ZERO:
            pdi[t] = 0.0
            mdi[t] = 0.0
            if t == 2 * period - 1:
                prev_adx = sum_dx / period
            if t >= 2 * period - 1:
                adx[t] = prev_adx
            continue
        plus_di = 100.0 * (pdm / tr)
        minus_di = 100.0 * (mdm / tr)
        pdi[t] = plus_di
        mdi[t] = minus_di
        tot = minus_di + plus_di
        if t <= 2 * period - 1:
            if abs(tot) >= _ZERO:
                sum_dx += 100.0 * (abs(minus_di - plus_di) / tot)
            if t == 2 * period - 1:
                prev_adx = sum_dx / period
                adx[t] = prev_adx
        else:
            if abs(tot) >= _ZERO:
                dx = 100.0 * (abs(minus_di - plus_di) / tot)
                prev_adx = ((prev_adx * (period - 1)) + dx) / period
            adx[t] = prev_adx
    return pdi, mdi, adx


@njit(cache=True)
def dmi_nb(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """+DI, -DI and ADX per column."""
    n, m = close.shape
    pdi = np.full((n, m), np.nan)
    mdi = np.full((n, m), np.nan)
    adx = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows4_nb(high[:, j], low[:, j], close[:, j], close[:, j])
        a, b, c = dmi_1d_nb(high[:, j][idx], low[:, j][idx], close[:, j][idx], period)
        pdi[:, j][idx] = a
        mdi[:, j][idx] = b
        adx[:, j][idx] = c
    return pdi, mdi, adx


@njit(cache=True)
def aroon_1d_nb(
    high: np.ndarray, low: np.ndarray, period: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Aroon up, down and oscillator over ``period + 1`` bars (latest extreme wins ties)."""
    n = high.shape[0]
    up = np.full(n, np.nan)
    down = np.full(n, np.nan)
    osc = np.full(n, np.nan)
    factor = 100.0 / period
    hi_idx = -1
    lo_idx = -1
    hi = 0.0
    lo = 0.0
    for t in range(period, n):
        trailing = t - period
        if lo_idx < trailing:
            lo_idx = trailing
            lo = low[trailing]
            for i in range(trailing + 1, t + 1):
                if low[i] <= lo:
                    lo_idx = i
                    lo = low[i]
        elif low[t] <= lo:
            lo_idx = t
            lo = low[t]
        if hi_idx < trailing:
            hi_idx = trailing
            hi = high[trailing]
            for i in range(trailing + 1, t + 1):
                if high[i] >= hi:
                    hi_idx = i
                    hi = high[i]
        elif high[t] >= hi:
            hi_idx = t
            hi = high[t]
        down[t] = factor * (period - (t - lo_idx))
        up[t] = factor * (period - (t - hi_idx))
        osc[t] = factor * (hi_idx - lo_idx)
    return up, down, osc


@njit(cache=True)
def aroon_nb(
    high: np.ndarray, low: np.ndarray, period: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Aroon up, down and oscillator per column."""
    n, m = high.shape
    up = np.full((n, m), np.nan)
    down = np.full((n, m), np.nan)
    osc = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows4_nb(high[:, j], low[:, j], low[:, j], low[:, j])
        a, b, c = aroon_1d_nb(high[:, j][idx], low[:, j][idx], period)
        up[:, j][idx] = a
        down[:, j][idx] = b
        osc[:, j][idx] = c
    return up, down, osc


@njit(cache=True)
def _sar_long_nb(
    sar: float,
    ep: float,
    af: float,
    accel: float,
    maximum: float,
    bars: tuple[float, float, float, float],
) -> tuple[float, float, float, float, bool]:
    """One bar while long; ``bars`` = (prev_high, prev_low, high, low).

    Returns (output, next sar, ep, af, still long).
    """
    prev_high, prev_low, new_high, new_low = bars
    if new_low <= sar:  # penetrated: flip short, stop = EP kept above the two bars' highs
        out = max(ep, prev_high, new_high)
        nxt = out + accel * (new_low - out)
        return out, max(nxt, prev_high, new_high), new_low, accel, False
    if new_high > ep:
        ep = new_high
        af = min(af + accel, maximum)
    nxt = sar + af * (ep - sar)
    return sar, min(nxt, prev_low, new_low), ep, af, True


@njit(cache=True)
def _sar_short_nb(
    sar: float,
    ep: float,
    af: float,
    accel: float,
    maximum: float,
    bars: tuple[float, float, float, float],
) -> tuple[float, float, float, float, bool]:
    """One bar while short (mirror of :func:`_sar_long_nb`); the flag is True when flipped long."""
    prev_high, prev_low, new_high, new_low = bars
    if new_high >= sar:
        out = min(ep, prev_low, new_low)
        nxt = out + accel * (new_high - out)
        return out, min(nxt, prev_low, new_low), new_high, accel, True
    if new_low < ep:
        ep = new_low
        af = min(af + accel, maximum)
    nxt = sar + af * (ep - sar)
    return sar, max(nxt, prev_high, new_high), ep, af, False


@njit(cache=True)
def sar_1d_nb(high: np.ndarray, low: np.ndarray, accel: float, maximum: float) -> np.ndarray:
    """Wilder's Parabolic SAR with TA-Lib's start rule (direction from the first -DM)."""
    n = high.shape[0]
    out = np.full(n, np.nan)
    if n < 2:
        return out
    accel = min(accel, maximum)
    af = accel
    diff_p = high[1] - high[0]
    diff_m = low[0] - low[1]
    is_long = not (diff_m > 0 and diff_p < diff_m)
    ep = high[1] if is_long else low[1]
    sar = low[0] if is_long else high[0]
    for t in range(1, n):
        # TA-Lib uses bar 1 itself as the "previous" bar on the first step
        bars = (high[t - 1] if t > 1 else high[1], low[t - 1] if t > 1 else low[1], high[t], low[t])
        if is_long:
            out[t], sar, ep, af, is_long = _sar_long_nb(sar, ep, af, accel, maximum, bars)
        else:
            out[t], sar, ep, af, is_long = _sar_short_nb(sar, ep, af, accel, maximum, bars)
    return out


@njit(cache=True)
def sar_nb(high: np.ndarray, low: np.ndarray, accel: float, maximum: float) -> np.ndarray:
    """Parabolic SAR per column."""
    n, m = high.shape
    out = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows4_nb(high[:, j], low[:, j], low[:, j], low[:, j])
        out[:, j][idx] = sar_1d_nb(high[:, j][idx], low[:, j][idx], accel, maximum)
    return out


@njit(cache=True)
def _shift_nb(x: np.ndarray, k: int) -> np.ndarray:
    """``x`` moved ``k`` bars later (NaN fill)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    if k < n:
        out[k:] = x[: n - k]
    return out


@njit(cache=True)
def ichimoku_nb(
    high: np.ndarray, low: np.ndarray, tenkan: int, kijun: int, senkou: int, shift: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Tenkan, kijun, senkou A and senkou B (the spans already moved ``shift`` bars forward)."""
    n, m = high.shape
    t_out = np.full((n, m), np.nan)
    k_out = np.full((n, m), np.nan)
    a_out = np.full((n, m), np.nan)
    b_out = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows4_nb(high[:, j], low[:, j], low[:, j], low[:, j])
        h = high[:, j][idx]
        lw = low[:, j][idx]
        tk = (rolling_max_1d_nb(h, tenkan) + rolling_min_1d_nb(lw, tenkan)) / 2.0
        kj = (rolling_max_1d_nb(h, kijun) + rolling_min_1d_nb(lw, kijun)) / 2.0
        sb = (rolling_max_1d_nb(h, senkou) + rolling_min_1d_nb(lw, senkou)) / 2.0
        t_out[:, j][idx] = tk
        k_out[:, j][idx] = kj
        a_out[:, j][idx] = _shift_nb((tk + kj) / 2.0, shift)
        b_out[:, j][idx] = _shift_nb(sb, shift)
    return t_out, k_out, a_out, b_out


@njit(cache=True)
def supertrend_1d_nb(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int, mult: float
) -> tuple[np.ndarray, np.ndarray]:
    """SuperTrend line and direction (+1 up, -1 down); warm-up ``period``."""
    n = close.shape[0]
    line = np.full(n, np.nan)
    direction = np.full(n, np.nan)
    atr = atr_1d_nb(high, low, close, period)
    fu = 0.0
    fl = 0.0
    d = 1.0
    for i in range(period, n):
        hl2 = (high[i] + low[i]) / 2.0
        bu = hl2 + mult * atr[i]
        bl = hl2 - mult * atr[i]
        if i == period:
            fu = bu
            fl = bl
            d = -1.0 if close[i] < fl else 1.0
        else:
            pc = close[i - 1]
            fu = bu if (bu < fu or pc > fu) else fu
            fl = bl if (bl > fl or pc < fl) else fl
            if d > 0 and close[i] < fl:
                d = -1.0
            elif d < 0 and close[i] > fu:
                d = 1.0
        line[i] = fl if d > 0 else fu
        direction[i] = d
    return line, direction


@njit(cache=True)
def supertrend_nb(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, period: int, mult: float
) -> tuple[np.ndarray, np.ndarray]:
    """SuperTrend per column."""
    n, m = close.shape
    line = np.full((n, m), np.nan)
    direction = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows4_nb(high[:, j], low[:, j], close[:, j], close[:, j])
        a, b = supertrend_1d_nb(high[:, j][idx], low[:, j][idx], close[:, j][idx], period, mult)
        line[:, j][idx] = a
        direction[:, j][idx] = b
    return line, direction


@njit(cache=True)
def linreg_slope_1d_nb(x: np.ndarray, period: int) -> np.ndarray:
    """Least-squares slope of the last ``period`` values per bar (TA-Lib LINEARREG_SLOPE)."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    p = float(period)
    sum_x = p * (p - 1.0) * 0.5
    sum_x2 = p * (p - 1.0) * (2.0 * p - 1.0) / 6.0
    divisor = sum_x * sum_x - p * sum_x2
    for t in range(period - 1, n):
        sum_xy = 0.0
        sum_y = 0.0
        for k in range(period):
            v = x[t - k]
            sum_y += v
            sum_xy += k * v
        out[t] = (p * sum_xy - sum_x * sum_y) / divisor
    return out


@njit(cache=True)
def linreg_slope_nb(x: np.ndarray, period: int) -> np.ndarray:
    """Regression slope per column."""
    n, m = x.shape
    out = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows1_nb(x[:, j])
        out[:, j][idx] = linreg_slope_1d_nb(x[:, j][idx], period)
    return out
