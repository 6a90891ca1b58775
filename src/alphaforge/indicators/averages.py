"""Moving averages: SMA, EMA, WMA, DEMA, TEMA, KAMA, HMA.

Every function accepts a 1-D/2-D numpy array, a Series or a DataFrame (bars x symbols) and
returns the same kind. Bars where the input is NaN are skipped (output NaN there), so each
column starts its warm-up at its own first valid bar.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from alphaforge.core.errors import ConfigError
from alphaforge.indicators import kernels as k
from alphaforge.indicators._arrays import A, check_period, prepare

_SMA, _EMA, _WMA, _DEMA, _TEMA, _HMA = 0, 1, 2, 3, 4, 5


def _ma(func: str, x: A, period: int, kind: int, minimum: int = 1) -> A:
    p = check_period(func, "period", period, minimum)
    (arr,), like = prepare(func, x=x)
    out: A = like.restore(k.ma_nb(arr, kind, p))
    return out


def sma(x: A, period: int = 30) -> A:
    """Simple moving average (TA-Lib ``SMA``).

    ``SMA_t = mean(x[t-period+1 .. t])``. Warm-up: ``period - 1`` bars.

    Parameters
    ----------
    x : array, Series or DataFrame
        Input series (bars x symbols for 2-D).
    period : int
        Window length, >= 1.

    Returns
    -------
    Same kind as ``x``.
    """
    return _ma("sma", x, period, _SMA)


def ema(x: A, period: int = 30) -> A:
    """Exponential moving average (TA-Lib ``EMA``).

    ``EMA_t = EMA_{t-1} + k (x_t - EMA_{t-1})`` with ``k = 2 / (period + 1)``, seeded at bar
    ``period - 1`` with the SMA of the first ``period`` values. Warm-up: ``period - 1``.

    Parameters
    ----------
    x : array, Series or DataFrame
    period : int
        >= 1.

    Returns
    -------
    Same kind as ``x``.
    """
    return _ma("ema", x, period, _EMA)


def wma(x: A, period: int = 30) -> A:
    """Linearly weighted moving average (TA-Lib ``WMA``).

    ``WMA_t = sum_{i=1..p} i * x_{t-p+i} / (p (p + 1) / 2)``. Warm-up: ``period - 1``.

    Parameters
    ----------
    x : array, Series or DataFrame
    period : int
        >= 1.

    Returns
    -------
    Same kind as ``x``.
    """
    return _ma("wma", x, period, _WMA)


def dema(x: A, period: int = 30) -> A:
    """Double exponential moving average (TA-Lib ``DEMA``).

    ``DEMA = 2 EMA(x) - EMA(EMA(x))``. Warm-up: ``2 (period - 1)``.

    Parameters
    ----------
    x : array, Series or DataFrame
    period : int
        >= 1.

    Returns
    -------
    Same kind as ``x``.
    """
    return _ma("dema", x, period, _DEMA)


def tema(x: A, period: int = 30) -> A:
    """Triple exponential moving average (TA-Lib ``TEMA``).

    ``TEMA = 3 EMA1 - 3 EMA2 + EMA3`` (EMA applied one, two, three times).
    Warm-up: ``3 (period - 1)``.

    Parameters
    ----------
    x : array, Series or DataFrame
    period : int
        >= 1.

    Returns
    -------
    Same kind as ``x``.
    """
    return _ma("tema", x, period, _TEMA)


def hma(x: A, period: int = 16) -> A:
    """Hull moving average (not in TA-Lib).

    ``HMA = WMA(2 WMA(x, p // 2) - WMA(x, p), floor(sqrt(p)))``.
    Warm-up: ``period - 1 + floor(sqrt(period)) - 1``.

    Parameters
    ----------
    x : array, Series or DataFrame
    period : int
        >= 2.

    Returns
    -------
    Same kind as ``x``.
    """
    return _ma("hma", x, period, _HMA, minimum=2)


def kama(x: A, period: int = 30, fast: int = 2, slow: int = 30) -> A:
    """Kaufman adaptive moving average (TA-Lib ``KAMA``).

    Efficiency ratio ``ER = |x_t - x_{t-p}| / sum |x_i - x_{i-1}|`` over ``p`` changes;
    ``sc = (ER (2/(fast+1) - 2/(slow+1)) + 2/(slow+1))^2``;
    ``KAMA_t = KAMA_{t-1} + sc (x_t - KAMA_{t-1})``, started from ``x_{p-1}``.
    Warm-up: ``period`` bars. TA-Lib fixes ``fast=2, slow=30``.

    Parameters
    ----------
    x : array, Series or DataFrame
    period : int
        Efficiency-ratio window, >= 1.
    fast, slow : int
        Fastest and slowest EMA periods of the smoothing constant.

    Returns
    -------
    Same kind as ``x``.
    """
    p = check_period("kama", "period", period)
    f = check_period("kama", "fast", fast)
    s = check_period("kama", "slow", slow)
    (arr,), like = prepare("kama", x=x)
    out: A = like.restore(k.kama_nb(arr, p, f, s))
    return out


_KINDS = {"sma": _SMA, "ema": _EMA, "wma": _WMA, "dema": _DEMA, "tema": _TEMA, "hma": _HMA}


def moving_average_stack(x: A, periods: Sequence[int], kind: str = "sma") -> np.ndarray:
    """Moving averages of several periods computed together (in parallel on Numba's threads),
    as one array ``(periods, columns, bars)``: ``out[i].T`` holds the same numbers as
    ``sma(x, periods[i])`` (``ema``, ``wma``, ``dema``, ``tema``, ``hma``). Each series is
    contiguous, the layout of the batch simulation (and a fast one to compute).

    Parameters
    ----------
    x : array, Series or DataFrame
        Input series (bars x symbols for 2-D).
    periods : sequence of int
        Window lengths, each >= 1.
    kind : str
        ``sma``, ``ema``, ``wma``, ``dema``, ``tema`` or ``hma``.
    """
    (arr,), _ = prepare(_func(kind), x=x)
    return _stack(arr, periods, kind)


def _func(kind: str) -> str:
    func = f"moving_averages({kind})"
    if kind not in _KINDS:
        raise ConfigError(f"{func}: unknown kind {kind!r}; choose from {', '.join(_KINDS)}")
    return func


def _stack(arr: np.ndarray, periods: Sequence[int], kind: str) -> np.ndarray:
    func = _func(kind)
    ps = np.array([check_period(func, "period", p, 1) for p in periods], dtype=np.int64)
    if ps.size == 0:
        return np.empty((0, arr.shape[1], arr.shape[0]))
    return k.ma_many_nb(np.ascontiguousarray(arr.T), _KINDS[kind], ps)


def moving_averages(x: A, periods: Sequence[int], kind: str = "sma") -> list[A]:
    """One moving average of ``x`` per period, computed together (in parallel on Numba's
    threads); the same numbers as calling :func:`sma` (``ema``, ``wma``, ``dema``, ``tema``,
    ``hma``) once per period. Arguments as :func:`moving_average_stack`; returns a list, one
    result per period, each the same kind as ``x``.
    """
    (arr,), like = prepare(_func(kind), x=x)
    stack = _stack(arr, periods, kind)
    return [like.restore(stack[i].T) for i in range(stack.shape[0])]
