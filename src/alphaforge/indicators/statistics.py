"""Rolling statistics: beta and correlation vs a benchmark, Hurst exponent.

Inputs: 1-D/2-D arrays, Series or DataFrames (bars x symbols); outputs have the kind of the
first input. Bars where any input is NaN are skipped.
"""

from __future__ import annotations

from typing import Any

from alphaforge.indicators import kernels_stats as ks
from alphaforge.indicators._arrays import A, broadcast_column, check_period, prepare


def rolling_beta(x: A, benchmark: Any, period: int = 5) -> A:
    """Rolling beta of ``x`` vs ``benchmark`` from simple returns (TA-Lib ``BETA(benchmark, x)``).

    Returns ``r = p_t / p_{t-1} - 1`` are computed from the price inputs (0 after a zero
    price); over the last ``period`` returns ``beta = cov(r_x, r_b) / var(r_b)`` (0 when the
    benchmark returns are constant, as in TA-Lib). Warm-up: ``period``.

    Parameters
    ----------
    x : array, Series or DataFrame
        Asset prices (bars x symbols for 2-D).
    benchmark : array-like
        Benchmark prices, ``(bars,)`` shared by all columns or the shape of ``x``.
    period : int
        Number of returns in the window, >= 2.

    Returns
    -------
    Same kind as ``x``.
    """
    p = check_period("rolling_beta", "period", period, 2)
    (arr,), like = prepare("rolling_beta", x=x)
    bench = broadcast_column(benchmark, arr.shape, "benchmark", "rolling_beta")
    out: A = like.restore(ks.pair_nb(arr, bench, p, 0))
    return out


def rolling_corr(x: A, benchmark: Any, period: int = 30) -> A:
    """Rolling Pearson correlation of the inputs as given (TA-Lib ``CORREL``).

    Pass returns to get the correlation of returns. 0 when either window is constant.
    Warm-up: ``period - 1``.

    Parameters
    ----------
    x : array, Series or DataFrame
    benchmark : array-like
        ``(bars,)`` shared by all columns or the shape of ``x``.
    period : int
        >= 2.

    Returns
    -------
    Same kind as ``x``, values in [-1, 1].
    """
    p = check_period("rolling_corr", "period", period, 2)
    (arr,), like = prepare("rolling_corr", x=x)
    bench = broadcast_column(benchmark, arr.shape, "benchmark", "rolling_corr")
    out: A = like.restore(ks.pair_nb(arr, bench, p, 1))
    return out


def hurst(x: A, period: int = 100, max_lag: int = 20) -> A:
    """Rolling Hurst exponent of a positive price series (lag-variance method; not in TA-Lib).

    Within the last ``period`` bars, for each lag ``L = 2..max_lag``:
    ``tau(L) = std(log x_{t+L} - log x_t)``; ``H`` is the least-squares slope of ``log tau`` on
    ``log L``. ``H ~ 0.5`` for a random walk, ``> 0.5`` trending, ``< 0.5`` mean-reverting.
    NaN when some ``tau`` is 0. Warm-up: ``period - 1``.

    Parameters
    ----------
    x : array, Series or DataFrame
        Positive prices.
    period : int
        Window, > ``max_lag + 1``.
    max_lag : int
        Largest lag, >= 3.

    Returns
    -------
    Same kind as ``x``.
    """
    m = check_period("hurst", "max_lag", max_lag, 3)
    p = check_period("hurst", "period", period, m + 2)
    (arr,), like = prepare("hurst", x=x)
    out: A = like.restore(ks.hurst_nb(arr, p, m))
    return out
