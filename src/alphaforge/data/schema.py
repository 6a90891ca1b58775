"""The canonical bar schema and timeframes.

Bars are long and tidy: one row per ``(symbol, timestamp)`` with columns
``symbol, timestamp, open, high, low, close, volume`` and optionally ``adj_close``
(split- and dividend-adjusted close, when the source provides it).

Timestamps are ``datetime64[ns, UTC]``. Intraday bars are labelled by the UTC *start* of the bar.
Daily bars are labelled by the exchange-local session date at 00:00 (stored as that date at
00:00 UTC, the same convention as ``exchange_calendars`` session labels).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from alphaforge.core.errors import ConfigError

PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
BAR_COLUMNS: tuple[str, ...] = ("symbol", "timestamp", "open", "high", "low", "close", "volume")
OPTIONAL_COLUMNS: tuple[str, ...] = ("adj_close",)


@dataclass(frozen=True)
class Timeframe:
    """A bar interval such as ``1m`` or ``1d``."""

    name: str
    pandas_freq: str
    nanos: int

    @property
    def is_intraday(self) -> bool:
        return self.name != "1d"

    def __str__(self) -> str:
        return self.name


_MIN = 60 * 1_000_000_000
TIMEFRAMES: dict[str, Timeframe] = {
    "1m": Timeframe("1m", "1min", _MIN),
    "5m": Timeframe("5m", "5min", 5 * _MIN),
    "15m": Timeframe("15m", "15min", 15 * _MIN),
    "1h": Timeframe("1h", "1h", 60 * _MIN),
    "1d": Timeframe("1d", "1D", 24 * 60 * _MIN),
}


def parse_timeframe(value: str | Timeframe) -> Timeframe:
    """Return the :class:`Timeframe` named ``value`` or raise a one-line :class:`ConfigError`."""
    if isinstance(value, Timeframe):
        return value
    key = str(value).strip().lower()
    aliases = {"1min": "1m", "5min": "5m", "15min": "15m", "60m": "1h", "1day": "1d", "d": "1d"}
    key = aliases.get(key, key)
    if key not in TIMEFRAMES:
        raise ConfigError(
            f"timeframe: unknown value {value!r}; expected one of {', '.join(TIMEFRAMES)}"
        )
    return TIMEFRAMES[key]


def to_utc(ts: pd.Timestamp | str | None) -> pd.Timestamp | None:
    """Parse a user-given date/time as UTC (naive values are taken as UTC)."""
    if ts is None:
        return None
    t = pd.Timestamp(ts)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
