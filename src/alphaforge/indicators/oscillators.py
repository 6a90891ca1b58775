"""Momentum oscillators: RSI, MACD, stochastics, StochRSI, Williams %R, ROC, momentum, CCI, MFI.

Inputs: 1-D/2-D arrays, Series or DataFrames (bars x symbols); outputs have the kind of the
first input. Bars where any input is NaN are skipped.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from alphaforge.indicators import kernels_momentum as km
from alphaforge.indicators._arrays import A, check_period, prepare


class MACDResult(NamedTuple):
    """MACD line, signal line and histogram."""

    macd: Any
    signal: Any
    hist: Any


class StochResult(NamedTuple):
    """Stochastic %K and %D."""

    k: Any
    d: Any


def rsi(x: A, period: int = 14) -> A:
    """Relative strength index, Wilder smoothing (TA-Lib ``RSI``).

    Average gain/loss start as plain means of the first ``period`` changes, then
    ``avg_t = (avg_{t-1} (p - 1) + change_t) / p``; ``RSI = 100 gain / (gain + loss)``
    (0 when both are 0). Warm-up: ``period`` bars.

    Parameters
    ----------
    x : array, Series or DataFrame
    period : int
        >= 1.

    Returns
    -------
    Same kind as ``x``, values in [0, 100].
    """
    p = check_period("rsi", "period", period)
    (arr,), like = prepare("rsi", x=x)
    out: A = like.restore(km.rsi_nb(arr, p))
    return out


def macd(x: A, fast: int = 12, slow: int = 26, signal: int = 9) -> MACDResult:
    """Moving average convergence/divergence (TA-Lib ``MACD``).

    ``macd = EMA(x, fast) - EMA(x, slow)``, both EMAs seeded at bar ``slow - 1`` (the fast one
    with the SMA of its last ``fast`` values there, as TA-Lib does); ``signal = EMA(macd,
    signal)``; ``hist = macd - signal``. Warm-up: ``slow - 1`` for the line,
    ``slow + signal - 2`` for signal and histogram. ``fast > slow`` are swapped.

    Parameters
    ----------
    x : array, Series or DataFrame
    fast, slow, signal : int
        EMA periods, >= 2 for fast/slow, >= 1 for signal.

    Returns
    -------
    MACDResult
        ``(macd, signal, hist)``, each the kind of ``x``.
    """
    f = check_period("macd", "fast", fast, 2)
    s = check_period("macd", "slow", slow, 2)
    g = check_period("macd", "signal", signal)
    (arr,), like = prepare("macd", x=x)
    line, sig, hist = km.macd_nb(arr, f, s, g)
    return MACDResult(like.restore(line), like.restore(sig), like.restore(hist))


def _stoch(
    func: str, high: A, low: A, close: A, k_period: int, k_smooth: int, d_period: int
) -> StochResult:
    kp = check_period(func, "k_period", k_period)
    ks = check_period(func, "k_smooth", k_smooth)
    dp = check_period(func, "d_period", d_period)
    (h, lw, c), like = prepare(func, high=high, low=low, close=close)
    k, d = km.stoch_nb(h, lw, c, kp, ks, dp)
    return StochResult(like.restore(k), like.restore(d))


def stoch_fast(high: A, low: A, close: A, k_period: int = 5, d_period: int = 3) -> StochResult:
    """Fast stochastic (TA-Lib ``STOCHF`` with SMA %D).

    ``%K = 100 (close - LL_k) / (HH_k - LL_k)`` over ``k_period`` bars (0 when flat);
    ``%D = SMA(%K, d_period)``. Warm-up: ``k_period - 1`` (%K), ``k_period + d_period - 2`` (%D).

    Parameters
    ----------
    high, low, close : array, Series or DataFrame
    k_period, d_period : int
        >= 1.

    Returns
    -------
    StochResult
        ``(k, d)``.
    """
    return _stoch("stoch_fast", high, low, close, k_period, 1, d_period)


def stoch_slow(
    high: A, low: A, close: A, k_period: int = 5, k_smooth: int = 3, d_period: int = 3
) -> StochResult:
    """Slow stochastic (TA-Lib ``STOCH`` with SMA smoothing).

    ``slow %K = SMA(fast %K, k_smooth)``, ``slow %D = SMA(slow %K, d_period)``.
    Warm-up: ``k_period + k_smooth - 2`` (%K), ``k_period + k_smooth + d_period - 3`` (%D).

    Parameters
    ----------
    high, low, close : array, Series or DataFrame
    k_period, k_smooth, d_period : int
        >= 1.

    Returns
    -------
    StochResult
        ``(k, d)``.
    """
    return _stoch("stoch_slow", high, low, close, k_period, k_smooth, d_period)


def stochrsi(x: A, period: int = 14, k_period: int = 5, d_period: int = 3) -> StochResult:
    """Stochastic RSI (TA-Lib ``STOCHRSI``): fast stochastic of ``RSI(x, period)``.

    Warm-up: ``period + k_period - 1`` (%K), ``period + k_period + d_period - 2`` (%D).

    Parameters
    ----------
    x : array, Series or DataFrame
    period : int
        RSI period, >= 1.
    k_period, d_period : int
        Stochastic windows, >= 1.

    Returns
    -------
    StochResult
        ``(k, d)``.
    """
    p = check_period("stochrsi", "period", period)
    kp = check_period("stochrsi", "k_period", k_period)
    dp = check_period("stochrsi", "d_period", d_period)
    (arr,), like = prepare("stochrsi", x=x)
    k, d = km.stochrsi_nb(arr, p, kp, dp)
    return StochResult(like.restore(k), like.restore(d))


def willr(high: A, low: A, close: A, period: int = 14) -> A:
    """Williams %R (TA-Lib ``WILLR``).

    ``%R = -100 (HH - close) / (HH - LL)`` over ``period`` bars (0 when flat).
    Warm-up: ``period - 1``.

    Parameters
    ----------
    high, low, close : array, Series or DataFrame
    period : int
        >= 1.

    Returns
    -------
    Same kind as ``high``, values in [-100, 0].
    """
    p = check_period("willr", "period", period)
    (h, lw, c), like = prepare("willr", high=high, low=low, close=close)
    out: A = like.restore(km.willr_nb(h, lw, c, p))
    return out


def roc(x: A, period: int = 10) -> A:
    """Rate of change in percent (TA-Lib ``ROC``).

    ``ROC = 100 (x_t / x_{t-p} - 1)`` (0 when ``x_{t-p} == 0``). Warm-up: ``period``.

    Parameters
    ----------
    x : array, Series or DataFrame
    period : int
        >= 1.

    Returns
    -------
    Same kind as ``x``.
    """
    p = check_period("roc", "period", period)
    (arr,), like = prepare("roc", x=x)
    out: A = like.restore(km.change_nb(arr, p, 1))
    return out


def momentum(x: A, period: int = 10) -> A:
    """Momentum (TA-Lib ``MOM``): ``x_t - x_{t-p}``. Warm-up: ``period``.

    Parameters
    ----------
    x : array, Series or DataFrame
    period : int
        >= 1.

    Returns
    -------
    Same kind as ``x``.
    """
    p = check_period("momentum", "period", period)
    (arr,), like = prepare("momentum", x=x)
    out: A = like.restore(km.change_nb(arr, p, 0))
    return out


def cci(high: A, low: A, close: A, period: int = 14) -> A:
    """Commodity channel index (TA-Lib ``CCI``).

    ``tp = (h + l + c) / 3``; ``CCI = (tp - SMA(tp)) / (0.015 * mean|tp - SMA(tp)|)`` over
    ``period`` bars (0 when the deviation is 0). Warm-up: ``period - 1``.

    Parameters
    ----------
    high, low, close : array, Series or DataFrame
    period : int
        >= 2.

    Returns
    -------
    Same kind as ``high``.
    """
    p = check_period("cci", "period", period, 2)
    (h, lw, c), like = prepare("cci", high=high, low=low, close=close)
    out: A = like.restore(km.cci_nb(h, lw, c, p))
    return out


def mfi(high: A, low: A, close: A, volume: A, period: int = 14) -> A:
    """Money flow index (TA-Lib ``MFI``).

    ``tp = (h + l + c) / 3``, raw flow ``tp * volume`` counted positive when ``tp`` rose,
    negative when it fell (a change within 1e-14 relative counts as no change, as in TA-Lib);
    ``MFI = 100 pos / (pos + neg)`` over ``period`` bars (0 when the window has no flow).
    Warm-up: ``period``.

    Parameters
    ----------
    high, low, close, volume : array, Series or DataFrame
    period : int
        >= 1.

    Returns
    -------
    Same kind as ``high``.
    """
    p = check_period("mfi", "period", period)
    (h, lw, c, v), like = prepare("mfi", high=high, low=low, close=close, volume=volume)
    out: A = like.restore(km.mfi_nb(h, lw, c, v, p))
    return out
