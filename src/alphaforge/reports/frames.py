"""Series and tables a report derives from a :class:`~alphaforge.sim.result.BacktestResult`.

Everything here is plain pandas/numpy on the result's arrays; nothing is drawn. Per-symbol closes
are not part of a saved result, so :func:`closes` returns them only for a result that still holds
its input arrays (a backtest run in the same process); portfolio weights and holdings'
correlations need them.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.analytics.frequency import infer_calendar, periods_per_year

_CLOSE_ARRAY = 4  # position of the close panel in BacktestResult.data_arrays


def bars_per_year(result: Any) -> float:
    """Bars per year of the result (from its config, else inferred from the index)."""
    cfg = result.config
    ppy = cfg.get("periods_per_year")
    if isinstance(ppy, int | float) and ppy > 0:
        return float(ppy)
    index = pd.DatetimeIndex(result.index)
    calendar = cfg.get("calendar") or infer_calendar(index)
    return float(periods_per_year(cfg.get("timeframe"), calendar, index))


def rolling_window(ppy: float, n_bars: int) -> int:
    """Trailing window for rolling charts: half a year of bars (126 for daily data).

    Shortened to a third of the sample when the sample is short, and never below 2 bars.
    """
    window = round(ppy / 2.0)
    if n_bars > 0:
        window = min(window, max(n_bars // 3, 2))
    return max(window, 2)


def bar_returns(values: np.ndarray, index: pd.DatetimeIndex, name: str) -> pd.Series:
    """Simple per-bar returns of an equity array (first bar dropped, non-finite values NaN)."""
    v = np.asarray(values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = v[1:] / v[:-1] - 1.0
    r[~np.isfinite(r)] = np.nan
    return pd.Series(r, index=index[1:], name=name)


def thin(series: pd.Series | pd.DataFrame, max_points: int = 4000) -> Any:
    """Every k-th row (plus the last) so a chart stays light on long intraday samples."""
    n = len(series)
    if n <= max_points:
        return series
    step = math.ceil(n / max_points)
    keep = np.unique(np.append(np.arange(0, n, step), n - 1))
    return series.iloc[keep]


def traded_notional(result: Any) -> np.ndarray:
    """Traded notional (quantity x fill price) at each bar, from the order records."""
    out = np.zeros(len(result.index))
    orders = result.orders
    if len(orders):
        value = (orders["quantity"] * orders["price"]).fillna(0.0).to_numpy(dtype=np.float64)
        where = result.index.get_indexer(pd.DatetimeIndex(orders["time"]))
        ok = where >= 0
        np.add.at(out, where[ok], value[ok])
    return out


def closes(result: Any) -> pd.DataFrame | None:
    """Close of each symbol at each bar, or None when the result no longer holds its input data."""
    shape = (len(result.index), len(result.symbols))
    stored = getattr(result, "close_values", None)  # kept by results that serialise closes
    arrays = getattr(result, "data_arrays", None)
    if stored is not None:
        close = np.asarray(stored, dtype=np.float64)
    elif arrays is not None and len(arrays) > _CLOSE_ARRAY:
        close = np.asarray(arrays[_CLOSE_ARRAY], dtype=np.float64)
    else:
        return None
    if close.shape != shape:
        return None
    return pd.DataFrame(close, index=result.index, columns=list(result.symbols))


def positions_recorded(result: Any) -> bool:
    """True when the result kept per-bar positions for every symbol."""
    return bool(result.position_values.shape == (len(result.index), len(result.symbols)))


def position_count(result: Any) -> pd.Series | None:
    """Number of symbols with a non-zero position at each bar (None when not recorded)."""
    if not positions_recorded(result):
        return None
    held = np.count_nonzero(np.nan_to_num(result.position_values) != 0, axis=1)
    return pd.Series(held, index=result.index, name="positions")


def weights(result: Any) -> pd.DataFrame | None:
    """Signed weight (position value / equity) of each symbol ever held, at each bar."""
    close = closes(result)
    if close is None or not positions_recorded(result):
        return None
    value = np.nan_to_num(result.position_values) * close.ffill().fillna(0.0).to_numpy()
    equity = np.asarray(result.equity_values, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where((equity > 0)[:, None], value / equity[:, None], 0.0)
    w[~np.isfinite(w)] = 0.0
    frame = pd.DataFrame(w, index=result.index, columns=list(result.symbols))
    return frame.loc[:, (frame != 0).any(axis=0)]


def holdings_returns(result: Any) -> pd.DataFrame | None:
    """Bar returns of the closes of every symbol the strategy held at some point."""
    close = closes(result)
    w = weights(result)
    if close is None or w is None or w.shape[1] < 2:
        return None
    held = close.loc[:, list(w.columns)]
    return held.pct_change(fill_method=None).iloc[1:]


def sector_weights(result: Any) -> pd.DataFrame | None:
    """Weights summed by sector (``config.risk.sectors``); None without sectors or closes."""
    sectors = (result.config.get("risk") or {}).get("sectors")
    w = weights(result)
    if not sectors or w is None:
        return None
    labels = [str(sectors.get(s, "unassigned")) for s in w.columns]
    return w.T.groupby(labels).sum().T


def drawdown_values(equity: np.ndarray) -> np.ndarray:
    """``e / running_max(e) - 1`` with non-positive or non-finite values treated as a total loss."""
    e = np.where(np.isfinite(equity) & (equity > 0), equity, 0.0)
    peak = np.maximum.accumulate(e)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, e / peak - 1.0, 0.0)
    return np.asarray(dd, dtype=np.float64)


def x_values(index: pd.Index) -> np.ndarray:
    """Timestamps as naive UTC ``datetime64`` values (cheap for plotly to copy and serialise)."""
    idx = pd.DatetimeIndex(index)
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    return idx.to_numpy()


def session_gaps(
    index: pd.DatetimeIndex, max_gaps: int = 400
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Closed-market stretches of an intraday index as (last bar, next bar) pairs.

    A gap is a step longer than three median bar spacings (nights, weekends, holidays). Daily and
    24/7 data, and samples with more than ``max_gaps`` gaps, give an empty list.
    """
    if len(index) < 3:
        return []
    ns = pd.DatetimeIndex(index).as_unit("ns").asi8
    step = np.diff(ns)
    median = float(np.median(step))
    if median >= 86_400e9:
        return []
    where = np.flatnonzero(step > 3 * median)
    if where.size == 0 or where.size > max_gaps:
        return []
    x = pd.DatetimeIndex(x_values(index))
    bar = pd.Timedelta(int(median), "ns")
    return [(x[int(i)] + bar, x[int(i) + 1]) for i in where]
