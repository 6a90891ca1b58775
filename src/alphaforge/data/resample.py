"""Resampling bars to a coarser timeframe.

OHLCV aggregation: first ``open``, max ``high``, min ``low``, last ``close``, summed ``volume``
(and last ``adj_close`` when present). Intraday bins are fixed UTC intervals labelled by their
start (a 1h bin ``13:00`` holds the bars starting 13:00 .. 13:59). Daily bins are exchange
sessions: a bar belongs to the exchange-local date of its start, in the calendar's timezone
(``America/New_York`` for ``XNYS``), and is labelled by that date at 00:00 UTC as in
:mod:`alphaforge.data.schema`. The calendar ``"24/7"`` (crypto) uses UTC days.
"""

from __future__ import annotations

import pandas as pd

from alphaforge.core.errors import DataError
from alphaforge.data.schema import parse_timeframe

__all__ = ["resample"]

_AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


def resample(bars: pd.DataFrame, to_timeframe: str, calendar: str = "XNYS") -> pd.DataFrame:
    """Aggregate long bars to ``to_timeframe``.

    Parameters
    ----------
    bars
        Canonical long bars (``symbol, timestamp, open, high, low, close, volume``), any order.
    to_timeframe
        ``5m``, ``15m``, ``1h`` or ``1d``.
    calendar
        Exchange calendar for daily bins (``"XNYS"``; ``"24/7"`` for UTC days).

    Returns
    -------
    pandas.DataFrame
        Long bars sorted by symbol and timestamp; bins without bars are absent.
    """
    tf = parse_timeframe(to_timeframe)
    missing = [c for c in ("symbol", "timestamp", *_AGG) if c not in bars.columns]
    if missing:
        raise DataError(f"bars to resample are missing column(s) {', '.join(missing)}")
    ts = pd.DatetimeIndex(bars["timestamp"])
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    label = ts.floor(tf.pandas_freq) if tf.is_intraday else _session_dates(ts, calendar)
    df = bars.reset_index(drop=True).assign(timestamp=ts, _bin=label)
    df = df.sort_values(["symbol", "timestamp"], kind="stable")
    agg = dict(_AGG)
    if "adj_close" in df.columns:
        agg["adj_close"] = "last"
    out = df.groupby(["symbol", "_bin"], sort=True, observed=True).agg(agg).reset_index()
    out = out.rename(columns={"_bin": "timestamp"})
    out["timestamp"] = pd.DatetimeIndex(out["timestamp"]).as_unit("ns")
    return out[["symbol", "timestamp", *agg]]


def _session_dates(ts: pd.DatetimeIndex, calendar: str) -> pd.DatetimeIndex:
    from alphaforge.data.calendars import CRYPTO_CALENDAR, canonical_name, get_calendar

    name = canonical_name(calendar)
    if name == CRYPTO_CALENDAR:
        return ts.normalize()
    zone = get_calendar(name).tz
    local = ts.tz_convert(zone).tz_localize(None).normalize()
    return local.tz_localize("UTC")
