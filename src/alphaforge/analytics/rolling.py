"""Rolling (trailing-window) versions of Sharpe, volatility and beta as pandas Series.

Each value uses the ``window`` bars ending at (and including) that bar; the first ``window - 1``
values are NaN. Annualisation and the risk-free convention are those of
:mod:`alphaforge.analytics.returns_metrics`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from alphaforge.analytics.frequency import per_period_rate
from alphaforge.core.errors import ConfigError


def returns_series(equity: pd.Series) -> pd.Series:
    """Simple per-bar returns of an equity Series (the first bar is dropped)."""
    values = equity.to_numpy(dtype=np.float64)
    return pd.Series(values[1:] / values[:-1] - 1.0, index=equity.index[1:], name="return")


def _check_window(window: int) -> None:
    if int(window) < 2:
        raise ConfigError(f"window: must be at least 2 bars, got {window!r}")


def rolling_volatility(returns: pd.Series, window: int, ppy: float) -> pd.Series:
    """Annualised sample standard deviation of returns over a trailing window."""
    _check_window(window)
    return returns.rolling(window).std(ddof=1) * math.sqrt(ppy)


def rolling_sharpe(
    returns: pd.Series, window: int, ppy: float, risk_free: float = 0.0
) -> pd.Series:
    """Annualised Sharpe ratio over a trailing window (``risk_free`` is annual)."""
    _check_window(window)
    ex = returns - per_period_rate(risk_free, ppy)
    roll = ex.rolling(window)
    std = roll.std(ddof=1)
    return roll.mean() / std.where(std > 0) * math.sqrt(ppy)


def rolling_beta(returns: pd.Series, benchmark_returns: pd.Series, window: int) -> pd.Series:
    """Beta of returns on benchmark returns over a trailing window (same index required)."""
    _check_window(window)
    if not returns.index.equals(benchmark_returns.index):
        raise ConfigError("benchmark_returns: index does not match the returns index")
    cov = returns.rolling(window).cov(benchmark_returns)
    var = benchmark_returns.rolling(window).var()
    return cov / var.where(var > 1e-30)
