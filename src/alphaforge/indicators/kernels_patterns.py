"""Numba kernels: candlestick patterns with TA-Lib's default candle settings.

TA-Lib compares a candle's body/shadows with the average "range" of the preceding
``avg_period`` candles, times a factor. Defaults replicated here:

==============  ==========  ==========  ======
setting         range       avg_period  factor
==============  ==========  ==========  ======
BodyLong        real body   10          1.0
BodyShort       real body   10          1.0
BodyDoji        high-low    10          0.1
ShadowLong      real body   0           1.0
ShadowVeryShort high-low    10          0.1
Near            high-low    5           0.2
==============  ==========  ==========  ======

With ``avg_period == 0`` the "average" is the candle's own range. The trailing sums are
updated in the same order as TA-Lib's (start at the pattern's lookback, add new, subtract
old), which makes the comparisons bit-identical to ``talib``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from alphaforge._jit import configure_cache
from alphaforge.indicators.kernels import valid_rows4_nb

configure_cache()

# range codes
_BODY = 0
_HL = 1
_SHADOWS = 2


@njit(cache=True)
def _crange_nb(
    o: np.ndarray, h: np.ndarray, lw: np.ndarray, c: np.ndarray, kind: int
) -> np.ndarray:
    """Per-candle range: real body, high-low, or sum of both shadows."""
    if kind == _BODY:
        return np.abs(c - o)
    if kind == _HL:
        return h - lw
    return (h - np.maximum(o, c)) + (np.minimum(o, c) - lw)


@njit(cache=True)
def _trail_avg_nb(
    rng: np.ndarray, avg_period: int, factor: float, kind: int, first_ref: int
) -> np.ndarray:
    """``avg[r]`` = factor * mean(rng[r-avg_period .. r-1]) for ``r >= first_ref`` (TA-Lib order)."""
    n = rng.shape[0]
    out = np.full(n, np.nan)
    div = 2.0 if kind == _SHADOWS else 1.0
    if avg_period == 0:
        for r in range(max(first_ref, 0), n):
            out[r] = factor * rng[r] / div
        return out
    if first_ref >= n:
        return out
    total = 0.0
    for k in range(first_ref - avg_period, first_ref):
        total += rng[k]
    for r in range(first_ref, n):
        out[r] = factor * (total / avg_period) / div
        total += rng[r] - rng[r - avg_period]
    return out


@njit(cache=True)
def _color_nb(o: float, c: float) -> int:
    return 1 if c >= o else -1


@njit(cache=True)
def doji_1d_nb(o: np.ndarray, h: np.ndarray, lw: np.ndarray, c: np.ndarray) -> np.ndarray:
    """CDLDOJI: real body <= 10 % of the average high-low range of the prior 10 candles."""
    n = c.shape[0]
    out = np.full(n, np.nan)
    lb = 10
    avg = _trail_avg_nb(_crange_nb(o, h, lw, c, _HL), 10, 0.1, _HL, lb)
    for i in range(lb, n):
        out[i] = 100.0 if abs(c[i] - o[i]) <= avg[i] else 0.0
    return out


@njit(cache=True)
def hammer_1d_nb(
    o: np.ndarray, h: np.ndarray, lw: np.ndarray, c: np.ndarray, inverted: bool
) -> np.ndarray:
    """CDLHAMMER (``inverted=False``) or CDLSHOOTINGSTAR (``inverted=True``)."""
    n = c.shape[0]
    out = np.full(n, np.nan)
    lb = 11
    body = np.abs(c - o)
    short = _trail_avg_nb(body, 10, 1.0, _BODY, lb)
    vshort = _trail_avg_nb(_crange_nb(o, h, lw, c, _HL), 10, 0.1, _HL, lb)
    near = _trail_avg_nb(_crange_nb(o, h, lw, c, _HL), 5, 0.2, _HL, lb - 1)
    for i in range(lb, n):
        upper = h[i] - max(c[i], o[i])
        lower = min(c[i], o[i]) - lw[i]
        if not inverted:
            hit = (
                body[i] < short[i]
                and lower > body[i]
                and upper < vshort[i]
                and min(c[i], o[i]) <= lw[i - 1] + near[i - 1]
            )
            out[i] = 100.0 if hit else 0.0
        else:
            gap_up = min(o[i], c[i]) > max(o[i - 1], c[i - 1])
            hit = body[i] < short[i] and upper > body[i] and lower < vshort[i] and gap_up
            out[i] = -100.0 if hit else 0.0
    return out


@njit(cache=True)
def engulfing_1d_nb(o: np.ndarray, h: np.ndarray, lw: np.ndarray, c: np.ndarray) -> np.ndarray:
    """CDLENGULFING: +-100 when the body engulfs the prior opposite body, +-80 when it only ties an end."""
    n = c.shape[0]
    out = np.full(n, np.nan)
    for i in range(2, n):
        c1 = _color_nb(o[i - 1], c[i - 1])
        c2 = _color_nb(o[i], c[i])
        bull = (
            c2 == 1
            and c1 == -1
            and ((c[i] >= o[i - 1] and o[i] < c[i - 1]) or (c[i] > o[i - 1] and o[i] <= c[i - 1]))
        )
        bear = (
            c2 == -1
            and c1 == 1
            and ((o[i] >= c[i - 1] and c[i] < o[i - 1]) or (o[i] > c[i - 1] and c[i] <= o[i - 1]))
        )
        if bull or bear:
            strict = o[i] != c[i - 1] and c[i] != o[i - 1]
            out[i] = c2 * (100.0 if strict else 80.0)
        else:
            out[i] = 0.0
    return out


@njit(cache=True)
def harami_1d_nb(o: np.ndarray, h: np.ndarray, lw: np.ndarray, c: np.ndarray) -> np.ndarray:
    """CDLHARAMI: long body then a short body inside it; sign opposite to the first candle."""
    n = c.shape[0]
    out = np.full(n, np.nan)
    lb = 11
    body = np.abs(c - o)
    long_ = _trail_avg_nb(body, 10, 1.0, _BODY, lb - 1)
    short = _trail_avg_nb(body, 10, 1.0, _BODY, lb)
    for i in range(lb, n):
        out[i] = 0.0
        if body[i - 1] > long_[i - 1] and body[i] <= short[i]:
            hi2 = max(c[i], o[i])
            lo2 = min(c[i], o[i])
            hi1 = max(c[i - 1], o[i - 1])
            lo1 = min(c[i - 1], o[i - 1])
            sign = -_color_nb(o[i - 1], c[i - 1])
            if hi2 < hi1 and lo2 > lo1:
                out[i] = sign * 100.0
            elif hi2 <= hi1 and lo2 >= lo1:
                out[i] = sign * 80.0
    return out


@njit(cache=True)
def star_1d_nb(
    o: np.ndarray, h: np.ndarray, lw: np.ndarray, c: np.ndarray, penetration: float, evening: bool
) -> np.ndarray:
    """CDLMORNINGSTAR (+100) or CDLEVENINGSTAR (-100, ``evening=True``)."""
    n = c.shape[0]
    out = np.full(n, np.nan)
    lb = 12
    body = np.abs(c - o)
    long_ = _trail_avg_nb(body, 10, 1.0, _BODY, lb - 2)
    short = _trail_avg_nb(body, 10, 1.0, _BODY, lb - 1)
    short2 = _trail_avg_nb(body, 10, 1.0, _BODY, lb)
    for i in range(lb, n):
        a = i - 2
        b = i - 1
        common = body[a] > long_[a] and body[b] <= short[b] and body[i] > short2[i]
        if evening:
            hit = (
                common
                and _color_nb(o[a], c[a]) == 1
                and min(o[b], c[b]) > max(o[a], c[a])
                and _color_nb(o[i], c[i]) == -1
                and c[i] < c[a] - body[a] * penetration
            )
            out[i] = -100.0 if hit else 0.0
        else:
            hit = (
                common
                and _color_nb(o[a], c[a]) == -1
                and max(o[b], c[b]) < min(o[a], c[a])
                and _color_nb(o[i], c[i]) == 1
                and c[i] > c[a] + body[a] * penetration
            )
            out[i] = 100.0 if hit else 0.0
    return out


@njit(cache=True)
def pattern_nb(
    o: np.ndarray, h: np.ndarray, lw: np.ndarray, c: np.ndarray, kind: int, penetration: float
) -> np.ndarray:
    """Per column; ``kind``: 0 doji, 1 hammer, 2 shooting star, 3 engulfing, 4 harami,
    5 morning star, 6 evening star."""
    n, m = c.shape
    out = np.full((n, m), np.nan)
    for j in range(m):
        idx = valid_rows4_nb(o[:, j], h[:, j], lw[:, j], c[:, j])
        oo = o[:, j][idx]
        hh = h[:, j][idx]
        ll = lw[:, j][idx]
        cc = c[:, j][idx]
        if kind == 0:
            res = doji_1d_nb(oo, hh, ll, cc)
        elif kind == 1 or kind == 2:
            res = hammer_1d_nb(oo, hh, ll, cc, kind == 2)
        elif kind == 3:
            res = engulfing_1d_nb(oo, hh, ll, cc)
        elif kind == 4:
            res = harami_1d_nb(oo, hh, ll, cc)
        else:
            res = star_1d_nb(oo, hh, ll, cc, penetration, kind == 6)
        out[:, j][idx] = res
    return out
