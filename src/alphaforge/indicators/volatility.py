"""Volatility and channels: true range, ATR, NATR, rolling std, z-score, Bollinger, Keltner, Donchian.

Inputs: 1-D/2-D arrays, Series or DataFrames (bars x symbols); outputs have the kind of the
first input. Bars where any input is NaN are skipped.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from alphaforge.indicators import kernels_volatility as kv
from alphaforge.indicators._arrays import A, check_period, check_positive, prepare


class BBandsResult(NamedTuple):
    """Bollinger bands plus %b and bandwidth."""

    upper: Any
    middle: Any
    lower: Any
    percent_b: Any
    bandwidth: Any


class ChannelResult(NamedTuple):
    """Upper, middle and lower line of a price channel."""

    upper: Any
    middle: Any
    lower: Any


def true_range(high: A, low: A, close: A) -> A:
    """True range (TA-Lib ``TRANGE``): ``max(h - l, |h - c_{t-1}|, |l - c_{t-1}|)``. Warm-up: 1.

    Parameters
    ----------
    high, low, close : array, Series or DataFrame

    Returns
    -------
    Same kind as ``high``.
    """
    (h, lw, c), like = prepare("true_range", high=high, low=low, close=close)
    out: A = like.restore(kv.range_nb(h, lw, c, 1, 0))
    return out


def atr(high: A, low: A, close: A, period: int = 14) -> A:
    """Average true range, Wilder smoothing (TA-Lib ``ATR``).

    First value: mean of the first ``period`` true ranges (bars 1..period); then
    ``ATR_t = (ATR_{t-1} (p - 1) + TR_t) / p``. Warm-up: ``period``.

    Parameters
    ----------
    high, low, close : array, Series or DataFrame
    period : int
        >= 1.

    Returns
    -------
    Same kind as ``high``.
    """
    p = check_period("atr", "period", period)
    (h, lw, c), like = prepare("atr", high=high, low=low, close=close)
    out: A = like.restore(kv.range_nb(h, lw, c, p, 1))
    return out


def natr(high: A, low: A, close: A, period: int = 14) -> A:
    """Normalized ATR in percent of close (TA-Lib ``NATR``): ``100 ATR / close``. Warm-up: ``period``.

    Parameters
    ----------
    high, low, close : array, Series or DataFrame
    period : int
        >= 1.

    Returns
    -------
    Same kind as ``high``.
    """
    p = check_period("natr", "period", period)
    (h, lw, c), like = prepare("natr", high=high, low=low, close=close)
    out: A = like.restore(kv.range_nb(h, lw, c, p, 2))
    return out


def rolling_std(x: A, period: int = 5, ddof: int = 0) -> A:
    """Rolling standard deviation (TA-Lib ``STDDEV`` with ``nbdev=1`` when ``ddof=0``).

    ``sqrt(sum (x - mean)^2 / (period - ddof))`` over the last ``period`` values.
    Warm-up: ``period - 1``.

    Parameters
    ----------
    x : array, Series or DataFrame
    period : int
        >= 2.
    ddof : int
        0 (population, TA-Lib) or 1 (sample).

    Returns
    -------
    Same kind as ``x``.
    """
    p = check_period("rolling_std", "period", period, 2)
    d = check_period("rolling_std", "ddof", ddof, 0)
    (arr,), like = prepare("rolling_std", x=x)
    out: A = like.restore(kv.std_nb(arr, p, d))
    return out


def zscore(x: A, period: int = 20, ddof: int = 0) -> A:
    """Rolling z-score: ``(x_t - mean) / std`` over the last ``period`` values (incl. ``x_t``).

    NaN where the window is flat (std 0). Warm-up: ``period - 1``.

    Parameters
    ----------
    x : array, Series or DataFrame
    period : int
        >= 2.
    ddof : int
        Degrees of freedom of the std (0 population, 1 sample).

    Returns
    -------
    Same kind as ``x``.
    """
    p = check_period("zscore", "period", period, 2)
    d = check_period("zscore", "ddof", ddof, 0)
    (arr,), like = prepare("zscore", x=x)
    out: A = like.restore(kv.zscore_nb(arr, p, d))
    return out


def bbands(x: A, period: int = 20, nbdev_up: float = 2.0, nbdev_dn: float = 2.0) -> BBandsResult:
    """Bollinger bands (TA-Lib ``BBANDS`` with an SMA middle) plus %b and bandwidth.

    ``middle = SMA``, ``upper/lower = middle +/- nbdev * std`` (population std);
    ``percent_b = (x - lower) / (upper - lower)`` (NaN when the bands coincide);
    ``bandwidth = (upper - lower) / middle``. Warm-up: ``period - 1``.

    Parameters
    ----------
    x : array, Series or DataFrame
    period : int
        >= 2.
    nbdev_up, nbdev_dn : float
        Band widths in standard deviations, >= 0.

    Returns
    -------
    BBandsResult
        ``(upper, middle, lower, percent_b, bandwidth)``.
    """
    p = check_period("bbands", "period", period, 2)
    u = check_positive("bbands", "nbdev_up", nbdev_up, allow_zero=True)
    dn = check_positive("bbands", "nbdev_dn", nbdev_dn, allow_zero=True)
    (arr,), like = prepare("bbands", x=x)
    up, mid, lo = kv.bbands_nb(arr, p, u, dn)
    width = up - lo
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(width > 0, (arr - lo) / width, np.nan)
        bw = np.where(mid != 0, width / mid, np.nan)
    pct[np.isnan(mid)] = np.nan
    return BBandsResult(*(like.restore(a) for a in (up, mid, lo, pct, bw)))


def keltner(
    high: A, low: A, close: A, period: int = 20, atr_period: int = 10, mult: float = 2.0
) -> ChannelResult:
    """Keltner channel: ``EMA(close, period) +/- mult * ATR(atr_period)`` (not in TA-Lib).

    EMA and ATR follow the TA-Lib conventions of :func:`ema` and :func:`atr`.
    Warm-up: ``max(period - 1, atr_period)``.

    Parameters
    ----------
    high, low, close : array, Series or DataFrame
    period : int
        EMA period of the middle line, >= 1.
    atr_period : int
        ATR period, >= 1.
    mult : float
        Width in ATRs, > 0.

    Returns
    -------
    ChannelResult
        ``(upper, middle, lower)``.
    """
    p = check_period("keltner", "period", period)
    ap = check_period("keltner", "atr_period", atr_period)
    m = check_positive("keltner", "mult", mult)
    (h, lw, c), like = prepare("keltner", high=high, low=low, close=close)
    up, mid, lo = kv.keltner_nb(h, lw, c, p, ap, m)
    return ChannelResult(like.restore(up), like.restore(mid), like.restore(lo))


def donchian(high: A, low: A, period: int = 20) -> ChannelResult:
    """Donchian channel: highest high, ``(HH + LL) / 2`` and lowest low of the last ``period`` bars.

    The current bar is included (compare ``close`` with the channel shifted by one bar for
    breakout rules). Warm-up: ``period - 1``.

    Parameters
    ----------
    high, low : array, Series or DataFrame
    period : int
        >= 1.

    Returns
    -------
    ChannelResult
        ``(upper, middle, lower)``.
    """
    p = check_period("donchian", "period", period)
    (h, lw), like = prepare("donchian", high=high, low=low)
    up, mid, lo = kv.donchian_nb(h, lw, p)
    return ChannelResult(like.restore(up), like.restore(mid), like.restore(lo))
