"""Annualisation: how many bars make a year for a timeframe and a trading calendar.

Choices (they follow the conventions of empyrical, pyfolio and most brokers' reports):

* **Equities** (``calendar="XNYS"`` or any exchange code): 252 sessions a year. Intraday bars are
  counted over the regular session only (09:30–16:00 ET, 6.5 hours = 390 minutes), so a year has
  ``252 * bars_per_session`` bars: 1m → 390, 5m → 78, 15m → 26 bars a session. For 1h bars the
  session holds 6.5 bars; the half hour 15:30–16:00 is its own (short) bar in practice, so we
  count **7** bars a session (6.5 rounded up), i.e. 1,764 bars a year. Extended-hours bars are
  not part of this count: a backtest that trades pre/post-market bars should pass its own
  ``periods_per_year``.
* **Crypto** (``calendar="24/7"``): 365 days a year, every minute of every day, so a year has
  ``365 * 24 * 60 / minutes_per_bar`` bars (1d → 365, 1h → 8,760, 1m → 525,600).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphaforge.core.errors import ConfigError

TRADING_DAYS_PER_YEAR = 252
CALENDAR_DAYS_PER_YEAR = 365
SESSION_MINUTES = 390  # 09:30-16:00 ET regular session
CONTINUOUS_CALENDARS = frozenset({"24/7", "24x7", "crypto", "always_open"})

_TIMEFRAME_MINUTES: dict[str, int] = {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "1d": 1440}
_ALIASES = {"1min": "1m", "5min": "5m", "15min": "15m", "60m": "1h", "1day": "1d", "d": "1d"}


def timeframe_minutes(timeframe: str) -> int:
    """Length of one bar of ``timeframe`` in minutes (``"1d"`` counts as 1,440).

    Raises
    ------
    ConfigError
        If ``timeframe`` is not one of ``1m, 5m, 15m, 1h, 1d``.
    """
    key = str(timeframe).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in _TIMEFRAME_MINUTES:
        raise ConfigError(
            f"timeframe: unknown value {timeframe!r}; expected one of {', '.join(_TIMEFRAME_MINUTES)}"
        )
    return _TIMEFRAME_MINUTES[key]


def is_continuous(calendar: str) -> bool:
    """True for a calendar that trades around the clock every day (crypto)."""
    return str(calendar).strip().lower() in CONTINUOUS_CALENDARS


def periods_per_year(
    timeframe: str | None = "1d",
    calendar: str = "XNYS",
    index: pd.DatetimeIndex | None = None,
) -> float:
    """Number of bars in one year, used to annualise returns, volatility and ratios.

    Parameters
    ----------
    timeframe:
        ``"1m"``, ``"5m"``, ``"15m"``, ``"1h"`` or ``"1d"``. ``None`` infers it from ``index``.
    calendar:
        ``"XNYS"`` (or any exchange code: equities, 252 sessions of 6.5 hours) or ``"24/7"``
        (crypto: 365 days of 24 hours).
    index:
        Bar timestamps; used only when ``timeframe`` is ``None``.

    Returns
    -------
    float
        252 (equity daily), 1,764 (equity 1h: 7 bars a session), 6,552 (15m), 19,656 (5m),
        98,280 (1m); 365 (crypto daily), 8,760 (crypto 1h), ... 525,600 (crypto 1m).

    Raises
    ------
    ConfigError
        Unknown timeframe, or ``timeframe=None`` without an index to infer it from.
    """
    if timeframe is None:
        if index is None:
            raise ConfigError("timeframe: None needs an index to infer the bar interval from")
        timeframe = infer_timeframe(index)
    minutes = timeframe_minutes(timeframe)
    if is_continuous(calendar):
        return CALENDAR_DAYS_PER_YEAR * 24 * 60 / minutes
    if minutes >= 1440:
        return float(TRADING_DAYS_PER_YEAR)
    bars_per_session = int(np.ceil(SESSION_MINUTES / minutes))
    return float(bars_per_session * TRADING_DAYS_PER_YEAR)


def infer_timeframe(index: pd.DatetimeIndex) -> str:
    """The supported timeframe closest to the median spacing of ``index``.

    Raises
    ------
    ConfigError
        If the index has fewer than two timestamps.
    """
    if len(index) < 2:
        raise ConfigError("index: at least two timestamps are needed to infer the timeframe")
    steps = np.diff(index.as_unit("ns").asi8)
    median_minutes = float(np.median(steps)) / 60e9
    # Daily bars have gaps of 1-4 days (weekends, holidays); the median is one day.
    names = list(_TIMEFRAME_MINUTES)
    dist = [abs(np.log(median_minutes / _TIMEFRAME_MINUTES[n])) for n in names]
    return names[int(np.argmin(dist))]


def infer_calendar(index: pd.DatetimeIndex) -> str:
    """``"24/7"`` when ``index`` has bars on Saturdays or Sundays, otherwise ``"XNYS"``."""
    if len(index) == 0:
        return "XNYS"
    weekend = np.asarray(index.day_of_week) >= 5
    return "24/7" if bool(weekend.any()) else "XNYS"


def per_period_rate(annual_rate: float, periods: float) -> float:
    """Convert an annual rate to a per-bar rate by compounding: ``(1 + r) ** (1 / ppy) - 1``."""
    return float((1.0 + annual_rate) ** (1.0 / periods) - 1.0)
