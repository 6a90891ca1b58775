"""Annualisation: how many bars make a year for a timeframe and a trading calendar.

The numbers come from one place, :meth:`alphaforge.core.calendar.Calendar.periods_per_year`
(see :mod:`alphaforge.core.calendar` for the conventions):

* **Equities** (``calendar="XNYS"`` or another exchange): 252 sessions a year; intraday bars are
  counted over the regular session only, rounded up to whole bars (XNYS: 1m → 390, 5m → 78,
  15m → 26, 1h → 7 bars a session, so 1h bars make 1,764 a year).
* **Crypto** (``calendar="24/7"``, ``"24x7"``, ``"crypto"``): 365 days of 24 hours
  (1d → 365, 1h → 8,760, 1m → 525,600).
"""

from __future__ import annotations

import pandas as pd

from alphaforge.core import calendar as _cal
from alphaforge.core.calendar import Calendar, parse_calendar
from alphaforge.core.errors import ConfigError
from alphaforge.core.timeframe import Timeframe, infer_timeframe, timeframe_minutes

__all__ = [
    "infer_calendar",
    "infer_timeframe",
    "is_continuous",
    "per_period_rate",
    "periods_per_year",
    "timeframe_minutes",
]


def is_continuous(calendar: str | Calendar) -> bool:
    """True for a calendar that trades around the clock every day (crypto).

    Raises
    ------
    ConfigError
        Unknown calendar name.
    """
    return parse_calendar(calendar).continuous


def periods_per_year(
    timeframe: str | Timeframe | None = "1d",
    calendar: str | Calendar = "XNYS",
    index: pd.DatetimeIndex | None = None,
) -> float:
    """Number of bars in one year, used to annualise returns, volatility and ratios.

    Parameters
    ----------
    timeframe:
        ``"1m"``, ``"5m"``, ``"15m"``, ``"1h"`` or ``"1d"``. ``None`` infers it from ``index``.
    calendar:
        A calendar name or alias (``"XNYS"``, ``"24/7"``, ``"crypto"`` ...) or a
        :class:`~alphaforge.core.calendar.Calendar`.
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
        Unknown timeframe or calendar, or ``timeframe=None`` without an index to infer it from.
    """
    if timeframe is None:
        if index is None:
            raise ConfigError("timeframe: None needs an index to infer the bar interval from")
        timeframe = infer_timeframe(index)
    return parse_calendar(calendar).periods_per_year(timeframe)


def infer_calendar(index: pd.DatetimeIndex) -> str:
    """``"24/7"`` when ``index`` has bars on Saturdays or Sundays, otherwise ``"XNYS"``."""
    return _cal.infer_calendar(index=index).name


def per_period_rate(annual_rate: float, periods: float) -> float:
    """Convert an annual rate to a per-bar rate by compounding: ``(1 + r) ** (1 / ppy) - 1``."""
    return float((1.0 + annual_rate) ** (1.0 / periods) - 1.0)
