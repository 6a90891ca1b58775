"""Trend indicators: ADX/+DI/-DI, Aroon, Parabolic SAR, Ichimoku, SuperTrend, regression slope.

Inputs: 1-D/2-D arrays, Series or DataFrames (bars x symbols); outputs have the kind of the
first input. Bars where any input is NaN are skipped.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from alphaforge.indicators import kernels_trend as kt
from alphaforge.indicators._arrays import A, check_period, check_positive, prepare


class DMIResult(NamedTuple):
    """+DI, -DI and ADX."""

    plus_di: Any
    minus_di: Any
    adx: Any


class AroonResult(NamedTuple):
    """Aroon up and down."""

    up: Any
    down: Any


class IchimokuResult(NamedTuple):
    """Ichimoku lines; the spans are already displaced forward."""

    tenkan: Any
    kijun: Any
    senkou_a: Any
    senkou_b: Any


class SuperTrendResult(NamedTuple):
    """SuperTrend line and direction (+1 up-trend, -1 down-trend)."""

    line: Any
    direction: Any


def dmi(high: A, low: A, close: A, period: int = 14) -> DMIResult:
    """Directional movement system (TA-Lib ``PLUS_DI``, ``MINUS_DI``, ``ADX``).

    ``+DM = h_t - h_{t-1}`` if it exceeds ``l_{t-1} - l_t`` and is positive (``-DM``
    symmetric); +DM, -DM and TR are summed over the first ``period - 1`` bars, then Wilder
    smoothed ``S_t = S_{t-1} - S_{t-1} / p + v_t``; ``+DI = 100 +DM / TR``;
    ``DX = 100 |+DI - -DI| / (+DI + -DI)``; ``ADX`` = mean of the first ``period`` DX, then
    Wilder ``(ADX (p - 1) + DX) / p``. Warm-up: ``period`` (DI), ``2 period - 1`` (ADX).

    Parameters
    ----------
    high, low, close : array, Series or DataFrame
    period : int
        >= 2.

    Returns
    -------
    DMIResult
        ``(plus_di, minus_di, adx)``.
    """
    p = check_period("dmi", "period", period, 2)
    (h, lw, c), like = prepare("dmi", high=high, low=low, close=close)
    a, b, d = kt.dmi_nb(h, lw, c, p)
    return DMIResult(like.restore(a), like.restore(b), like.restore(d))


def adx(high: A, low: A, close: A, period: int = 14) -> A:
    """Average directional index (TA-Lib ``ADX``); see :func:`dmi`. Warm-up: ``2 period - 1``."""
    out: A = dmi(high, low, close, period).adx
    return out


def plus_di(high: A, low: A, close: A, period: int = 14) -> A:
    """Plus directional indicator (TA-Lib ``PLUS_DI``); see :func:`dmi`. Warm-up: ``period``."""
    out: A = dmi(high, low, close, period).plus_di
    return out


def minus_di(high: A, low: A, close: A, period: int = 14) -> A:
    """Minus directional indicator (TA-Lib ``MINUS_DI``); see :func:`dmi`. Warm-up: ``period``."""
    out: A = dmi(high, low, close, period).minus_di
    return out


def aroon(high: A, low: A, period: int = 14) -> AroonResult:
    """Aroon up/down (TA-Lib ``AROON``).

    Over the last ``period + 1`` bars: ``up = 100 (period - bars since the highest high) /
    period`` (the latest bar wins ties), ``down`` likewise with the lowest low.
    Warm-up: ``period``.

    Parameters
    ----------
    high, low : array, Series or DataFrame
    period : int
        >= 1.

    Returns
    -------
    AroonResult
        ``(up, down)``.
    """
    p = check_period("aroon", "period", period)
    (h, lw), like = prepare("aroon", high=high, low=low)
    up, down, _ = kt.aroon_nb(h, lw, p)
    return AroonResult(like.restore(up), like.restore(down))


def aroon_osc(high: A, low: A, period: int = 14) -> A:
    """Aroon oscillator (TA-Lib ``AROONOSC``): ``up - down``. Warm-up: ``period``.

    Parameters
    ----------
    high, low : array, Series or DataFrame
    period : int
        >= 1.

    Returns
    -------
    Same kind as ``high``.
    """
    p = check_period("aroon_osc", "period", period)
    (h, lw), like = prepare("aroon_osc", high=high, low=low)
    out: A = like.restore(kt.aroon_nb(h, lw, p)[2])
    return out


def sar(high: A, low: A, acceleration: float = 0.02, maximum: float = 0.2) -> A:
    """Parabolic SAR (TA-Lib ``SAR``).

    Starts short if the second bar has a positive -DM larger than its +DM, else long; the
    stop moves ``SAR += af (EP - SAR)``, ``af`` grows by ``acceleration`` at each new extreme
    up to ``maximum``, never inside the last two bars' range; a penetration flips the
    position and resets the stop to the extreme point. Warm-up: 1.

    Parameters
    ----------
    high, low : array, Series or DataFrame
    acceleration, maximum : float
        > 0.

    Returns
    -------
    Same kind as ``high``.
    """
    a = check_positive("sar", "acceleration", acceleration)
    m = check_positive("sar", "maximum", maximum)
    (h, lw), like = prepare("sar", high=high, low=low)
    out: A = like.restore(kt.sar_nb(h, lw, a, m))
    return out


def ichimoku(
    high: A, low: A, tenkan: int = 9, kijun: int = 26, senkou: int = 52, shift: int = 26
) -> IchimokuResult:
    """Ichimoku cloud (not in TA-Lib).

    ``tenkan = (HH_9 + LL_9) / 2``, ``kijun = (HH_26 + LL_26) / 2``; the cloud spans
    ``senkou_a = (tenkan + kijun) / 2`` and ``senkou_b = (HH_52 + LL_52) / 2`` are returned
    already displaced ``shift`` bars forward, i.e. the value at bar ``t`` is the one computed at
    ``t - shift`` (causal). The chikou span (close plotted ``shift`` bars back) is not returned
    because using it as a signal would look ahead. Warm-up: ``tenkan - 1``, ``kijun - 1``,
    ``max(tenkan, kijun) - 1 + shift``, ``senkou - 1 + shift``.

    Parameters
    ----------
    high, low : array, Series or DataFrame
    tenkan, kijun, senkou : int
        Windows, >= 1.
    shift : int
        Forward displacement of the spans, >= 0.

    Returns
    -------
    IchimokuResult
        ``(tenkan, kijun, senkou_a, senkou_b)``.
    """
    t = check_period("ichimoku", "tenkan", tenkan)
    k = check_period("ichimoku", "kijun", kijun)
    s = check_period("ichimoku", "senkou", senkou)
    d = check_period("ichimoku", "shift", shift, 0)
    (h, lw), like = prepare("ichimoku", high=high, low=low)
    res = kt.ichimoku_nb(h, lw, t, k, s, d)
    return IchimokuResult(*(like.restore(a) for a in res))


def supertrend(
    high: A, low: A, close: A, period: int = 10, multiplier: float = 3.0
) -> SuperTrendResult:
    """SuperTrend (not in TA-Lib).

    Basic bands ``(h + l) / 2 +/- multiplier * ATR(period)`` (Wilder ATR as :func:`atr`).
    The final upper band only falls (reset when the previous close was above it), the final
    lower band only rises (reset when the previous close was below it). In an up-trend the
    line is the lower band until the close falls below it; in a down-trend it is the upper
    band until the close rises above it. Starts up unless the first close is below the lower
    band. Warm-up: ``period``.

    Parameters
    ----------
    high, low, close : array, Series or DataFrame
    period : int
        ATR period, >= 1.
    multiplier : float
        > 0.

    Returns
    -------
    SuperTrendResult
        ``(line, direction)`` with direction +1 / -1.
    """
    p = check_period("supertrend", "period", period)
    m = check_positive("supertrend", "multiplier", multiplier)
    (h, lw, c), like = prepare("supertrend", high=high, low=low, close=close)
    line, direction = kt.supertrend_nb(h, lw, c, p, m)
    return SuperTrendResult(like.restore(line), like.restore(direction))


def linreg_slope(x: A, period: int = 14) -> A:
    """Least-squares slope per bar of the last ``period`` values (TA-Lib ``LINEARREG_SLOPE``).

    Warm-up: ``period - 1``.

    Parameters
    ----------
    x : array, Series or DataFrame
    period : int
        >= 2.

    Returns
    -------
    Same kind as ``x``.
    """
    p = check_period("linreg_slope", "period", period, 2)
    (arr,), like = prepare("linreg_slope", x=x)
    out: A = like.restore(kt.linreg_slope_nb(arr, p))
    return out
