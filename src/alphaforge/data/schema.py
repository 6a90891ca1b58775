"""The canonical bar schema and timeframes.

Bars are long and tidy: one row per ``(symbol, timestamp)`` with columns
``symbol, timestamp, open, high, low, close, volume`` and optionally ``adj_close``
(split- and dividend-adjusted close, when the source provides it).

Timestamps are ``datetime64[ns, UTC]``. Intraday bars are labelled by the UTC *start* of the bar.
Daily bars are labelled by the exchange-local session date at 00:00 (stored as that date at
00:00 UTC, the same convention as ``exchange_calendars`` session labels).
"""

from __future__ import annotations

import re

import pandas as pd

# Timeframes live in alphaforge.core.timeframe; re-exported here for the data layer.
from alphaforge.core.panel import utc_time
from alphaforge.core.timeframe import TIMEFRAMES as TIMEFRAMES
from alphaforge.core.timeframe import Timeframe as Timeframe
from alphaforge.core.timeframe import parse_timeframe as parse_timeframe

PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
BAR_COLUMNS: tuple[str, ...] = ("symbol", "timestamp", "open", "high", "low", "close", "volume")
OPTIONAL_COLUMNS: tuple[str, ...] = ("adj_close",)


def to_utc(ts: pd.Timestamp | str | None) -> pd.Timestamp | None:
    """Parse a user-given date/time as UTC (naive values are taken as UTC)."""
    if ts is None:
        return None
    return utc_time(ts)


_DATE_ONLY = re.compile(r"\s*\d{4}-\d{2}-\d{2}\s*")


def to_utc_end(ts: pd.Timestamp | str | None) -> pd.Timestamp | None:
    """An inclusive end as UTC: a date alone (``2023-12-01``) means the whole day, up to its
    last nanosecond, so the day's intraday bars are in; a time is taken as given."""
    if ts is None:
        return None
    if isinstance(ts, str) and _DATE_ONLY.fullmatch(ts):
        return utc_time(ts) + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    return utc_time(ts)
