"""Drawdown series, drawdown-period tables and calendar (day/month/year) return tables.

A *drawdown period* starts at a peak (the last bar at the running high before equity falls), has a
valley (the lowest equity before recovery) and ends at recovery, the first bar whose equity is back
at or above the peak; a period still open at the last bar has no recovery. Its length in bars is
the number of bars that closed below the peak; its length in calendar days runs from the peak's
timestamp to the recovery's (or to the last bar's when not recovered).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from alphaforge.analytics.returns_metrics import FloatArray

_NS_PER_DAY = 86_400e9


class Episodes(NamedTuple):
    """Drawdown periods of an equity array as parallel integer/float arrays (bar positions)."""

    peak: np.ndarray
    valley: np.ndarray
    recovery: np.ndarray  # -1 when not recovered by the last bar
    depth: np.ndarray  # negative fractions
    bars: np.ndarray  # bars closed below the peak


def drawdown(equity: FloatArray) -> FloatArray:
    """Drawdown of an equity array at each bar: ``e / running_max(e) - 1``."""
    e = np.asarray(equity, dtype=np.float64)
    return e / np.maximum.accumulate(e) - 1.0


def drawdown_episodes(equity: FloatArray) -> Episodes:
    """Every drawdown period of ``equity`` in time order."""
    dd = drawdown(equity)
    under = dd < 0
    edges = np.diff(np.concatenate(([0], under.view(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    valleys = np.array(
        [s + int(np.argmin(dd[s:e])) for s, e in zip(starts, ends, strict=True)], dtype=np.int64
    )
    n = dd.size
    return Episodes(
        peak=starts - 1,
        valley=valleys,
        recovery=np.where(ends < n, ends, -1),
        depth=dd[valleys] if valleys.size else np.empty(0),
        bars=ends - starts,
    )


def episode_days(ep: Episodes, index: pd.DatetimeIndex) -> np.ndarray:
    """Calendar days from each period's peak to its recovery (or to the last bar)."""
    ns = index.as_unit("ns").asi8
    end = np.where(ep.recovery >= 0, ep.recovery, ns.size - 1)
    return (ns[end] - ns[ep.peak]) / _NS_PER_DAY


def drawdown_series(equity: pd.Series) -> pd.Series:
    """Drawdown of an equity Series at each timestamp (0 at new highs, negative below)."""
    return pd.Series(
        drawdown(equity.to_numpy(dtype=np.float64)), index=equity.index, name="drawdown"
    )


def drawdown_periods(equity: pd.Series, top: int = 5) -> pd.DataFrame:
    """The ``top`` deepest drawdown periods, deepest first.

    Returns
    -------
    pandas.DataFrame
        Columns ``peak, valley, recovery`` (timestamps, ``NaT`` when not recovered), ``depth``
        (negative fraction), ``duration_bars``, ``duration_days``, ``recovery_bars`` (valley to
        recovery, NaN when not recovered).
    """
    ep = drawdown_episodes(equity.to_numpy(dtype=np.float64))
    idx = pd.DatetimeIndex(equity.index)
    order = np.argsort(ep.depth, kind="stable")[:top]
    rec = ep.recovery[order]
    recovered = rec >= 0
    return pd.DataFrame(
        {
            "peak": idx[ep.peak[order]],
            "valley": idx[ep.valley[order]],
            "recovery": idx[np.maximum(rec, 0)].where(recovered),
            "depth": ep.depth[order],
            "duration_bars": ep.bars[order],
            "duration_days": episode_days(ep, idx)[order],
            "recovery_bars": np.where(recovered, rec - ep.valley[order], np.nan),
        }
    )


def period_returns(equity: pd.Series, freq: str) -> pd.Series:
    """Compounded return of each calendar period (``"D"``, ``"M"`` or ``"Y"``).

    The first period is measured from the first equity value, the others from the previous
    period's last value; a first period that holds only the starting value is left out. Periods
    are labelled by their first day (UTC dates).
    """
    index = pd.DatetimeIndex(equity.index)
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    values = equity.to_numpy(dtype=np.float64)
    grouped = pd.Series(values, index=index.to_period(freq)).groupby(level=0)
    last = grouped.last()
    base = np.concatenate(([values[0]], last.to_numpy()[:-1]))
    labels = pd.PeriodIndex(last.index).to_timestamp()
    result = pd.Series(last.to_numpy() / base - 1.0, index=labels, name="return")
    # A first period holding only the starting value has no return of its own.
    return result.iloc[1:] if len(result) > 1 and int(grouped.size().iloc[0]) == 1 else result


def monthly_returns_table(equity: pd.Series) -> pd.DataFrame:
    """Year x month table of monthly returns (columns 1..12) plus a ``year`` column (full year)."""
    monthly = period_returns(equity, "M")
    when = pd.DatetimeIndex(monthly.index)
    table = pd.DataFrame({"year": when.year, "month": when.month, "ret": monthly.to_numpy()}).pivot(
        index="year", columns="month", values="ret"
    )
    table = table.reindex(columns=range(1, 13))
    table["year"] = yearly_returns(equity).reindex(table.index)
    table.index.name = "year"
    table.columns.name = None
    return table


def yearly_returns(equity: pd.Series) -> pd.Series:
    """Compounded return of each calendar year, indexed by year."""
    yearly = period_returns(equity, "Y")
    return pd.Series(yearly.to_numpy(), index=pd.DatetimeIndex(yearly.index).year, name="return")
