"""Helpers shared by the built-in strategies (causal array operations, no strategy classes)."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

Period = Literal["daily", "weekly", "monthly", "quarterly"]
PERIODS: tuple[str, ...] = ("daily", "weekly", "monthly", "quarterly")


def local_days(index: pd.DatetimeIndex, timeframe: str) -> np.ndarray:
    """Trading-day number of each bar: UTC date for daily bars, New York date for intraday."""
    idx = index if index.tz is not None else index.tz_localize("UTC")
    if timeframe != "1d":
        idx = idx.tz_convert("America/New_York")
    local = idx.tz_localize(None).normalize().as_unit("ns")
    return np.asarray(local.asi8 // 86_400_000_000_000, dtype=np.int64)


def period_start_mask(index: pd.DatetimeIndex, timeframe: str, period: str) -> np.ndarray:
    """True on the first bar of each day/week/month/quarter (bar 0 excluded).

    The decision uses only the bar's own timestamp and the previous one, so it is causal: a
    strategy rebalancing here decides at the close of the first bar of the period and trades at
    the next open.
    """
    day = local_days(index, timeframe)
    if period == "daily":
        key = day
    elif period == "weekly":
        key = (day + 3) // 7  # 1970-01-01 was a Thursday: weeks start on Monday
    else:
        dates = pd.DatetimeIndex(day.astype("datetime64[D]"))
        key = dates.year.to_numpy() * 12 + dates.month.to_numpy() - 1
        if period == "quarterly":
            key = key // 3
    mask = np.zeros(len(index), dtype=bool)
    mask[1:] = key[1:] != key[:-1]
    return mask


def trailing_return(close: np.ndarray, lookback: int, skip: int = 0) -> np.ndarray:
    """``close[t - skip] / close[t - lookback] - 1`` (NaN until both exist)."""
    c = pd.DataFrame(close)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (c.shift(skip) / c.shift(lookback) - 1.0).to_numpy()
    return np.asarray(out, dtype=np.float64)


def log_returns(close: np.ndarray) -> np.ndarray:
    """One-bar log returns, NaN in row 0 and where a price is missing."""
    out = np.full(close.shape, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[1:] = np.log(close[1:] / close[:-1])
    return out


def rolling_std(x: np.ndarray, window: int) -> np.ndarray:
    """Rolling sample standard deviation over ``window`` bars (NaN until full)."""
    return np.asarray(pd.DataFrame(x).rolling(window).std().to_numpy(), dtype=np.float64)


def cross_rank(score: np.ndarray) -> np.ndarray:
    """Per-row percentile rank in (0, 1] of each finite value (NaN stays NaN)."""
    return np.asarray(pd.DataFrame(score).rank(axis=1, pct=True).to_numpy(), dtype=np.float64)


def top_n_weights(score: np.ndarray, n: int, rows: np.ndarray) -> np.ndarray:
    """Equal weights on the ``n`` highest finite scores in each row of ``rows``; NaN elsewhere.

    Rows not in ``rows`` are all NaN (leave positions as they are); in a selected row the
    symbols outside the top ``n`` get weight 0. Rows with no finite score get 0 everywhere.
    """
    w = np.full(score.shape, np.nan)
    for t in np.flatnonzero(rows):
        s = score[t]
        ok = np.flatnonzero(np.isfinite(s))
        w[t] = 0.0
        if len(ok) == 0:
            continue
        k = min(n, len(ok))
        best = ok[np.argsort(-s[ok], kind="stable")[:k]]
        w[t, best] = 1.0 / k
    return w


def recent(mask: np.ndarray, window: int) -> np.ndarray:
    """True at bar t when ``mask`` was True at any of bars ``t - window + 1 .. t``."""
    m = pd.DataFrame(mask.astype(np.float64)).rolling(window, min_periods=1).max()
    return np.asarray(m.to_numpy() > 0, dtype=bool)
