"""Trading calendars as values: name, time zone, sessions or around the clock, bars per year.

:data:`CALENDARS` is the one table of the calendars alphaforge knows and :data:`ALIASES` the one
table of their other names; :func:`parse_calendar` resolves a name through both (case-insensitive)
and refuses any other name with an error that names it. Session lists, holidays and early closes
are not here: :mod:`alphaforge.data.calendars` builds them from a :class:`Calendar` with
``exchange_calendars``.

Conventions (those of empyrical, pyfolio and most brokers' reports):

* **Session calendars** (exchanges): 252 sessions a year. Intraday bars are counted over the
  regular session only (390 minutes for XNYS, 09:30–16:00), rounded up to whole bars, so 1h
  XNYS bars count 7 a session (the 15:30–16:00 half hour is its own short bar) and a year has
  1,764 of them. Extended-hours bars are not part of this count: a backtest that trades them
  should pass its own ``periods_per_year``.
* **Continuous calendars** (``24/7``, crypto): 365 days of 24 hours, so a year has
  ``365 * 1440 / minutes_per_bar`` bars (1d → 365, 1h → 8,760, 1m → 525,600).

Day and week ids (:meth:`Calendar.period_ids`) are day numbers since 1970-01-01 in the
calendar's local time for intraday bars, and the UTC date of the label for daily bars (daily
bars are labelled by their session date at 00:00 UTC). Weeks start on Monday.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from alphaforge.core.errors import ConfigError
from alphaforge.core.timeframe import Timeframe, parse_timeframe

TRADING_DAYS_PER_YEAR = 252
CALENDAR_DAYS_PER_YEAR = 365
_DAY_NS = 86_400_000_000_000

Schedule = Literal["every_bar", "daily", "weekly", "monthly", "quarterly"]
SCHEDULES: tuple[str, ...] = ("every_bar", "daily", "weekly", "monthly", "quarterly")


@dataclass(frozen=True)
class Calendar:
    """A trading calendar.

    Attributes
    ----------
    name
        Canonical name, the ``exchange_calendars`` code (``"XNYS"``, ``"24/7"`` ...).
    tz
        IANA time zone in which a trading day is counted (``"America/New_York"``, ``"UTC"``).
    continuous
        True when the market trades around the clock every day (crypto); False for a calendar
        of sessions.
    session_minutes
        Length of the regular session in minutes (1,440 for a continuous calendar).
    days_per_year
        Trading days in a year for annualisation (252 sessions, or 365 days).
    """

    name: str
    tz: str
    continuous: bool
    session_minutes: int
    days_per_year: int

    @property
    def has_sessions(self) -> bool:
        """True for an exchange calendar of sessions (the opposite of :attr:`continuous`)."""
        return not self.continuous

    def periods_per_year(self, timeframe: str | Timeframe) -> float:
        """Number of bars of ``timeframe`` in one year (see the module docstring).

        Raises
        ------
        ConfigError
            Unknown timeframe.
        """
        minutes = parse_timeframe(timeframe).minutes
        if self.continuous:
            return self.days_per_year * 1440 / minutes
        if minutes >= 1440:
            return float(self.days_per_year)
        bars_per_session = -(-self.session_minutes // minutes)  # a short last bar counts
        return float(bars_per_session * self.days_per_year)

    def day_ids(self, index: pd.DatetimeIndex, timeframe: str | Timeframe) -> np.ndarray:
        """Trading-day number (days since 1970-01-01) of each bar, as int64.

        Daily bars: the UTC date of the label (the session date). Intraday bars: the date in
        :attr:`tz` (a tz-naive index is taken as already in local time).
        """
        idx = index if isinstance(index, pd.DatetimeIndex) else pd.DatetimeIndex(index)
        if idx.unit != "ns":
            idx = idx.as_unit("ns")  # asi8 counts in the index's own unit
        if parse_timeframe(timeframe).is_intraday and idx.tz is not None:
            return local_nanos(idx.asi8, self.tz) // _DAY_NS
        return np.asarray(idx.asi8 // _DAY_NS, dtype=np.int64)

    def period_ids(
        self, index: pd.DatetimeIndex, timeframe: str | Timeframe
    ) -> tuple[np.ndarray, np.ndarray]:
        """Trading-day and week numbers of each bar (int64; weeks start on Monday)."""
        day = self.day_ids(index, timeframe)
        return day, week_ids(day)

    def rebalance_mask(
        self, index: pd.DatetimeIndex, timeframe: str | Timeframe, schedule: str
    ) -> np.ndarray:
        """True on the last bar of each ``schedule`` period (see :func:`rebalance_mask`)."""
        day, week = self.period_ids(index, timeframe)
        return rebalance_mask(schedule, day, week)


_HOUR_NS = 3_600_000_000_000


def local_nanos(utc: np.ndarray, tz: str) -> np.ndarray:
    """Wall-clock nanoseconds in ``tz`` of UTC nanoseconds ``utc`` (int64), what
    ``tz_convert(tz).tz_localize(None)`` gives, without converting every timestamp.

    A zone's UTC offset changes at most a few times a year, so it is looked up once per UTC
    hour of the span (at the hour's first and last nanosecond); only the timestamps in an hour
    whose two offsets differ (one holding a transition) are converted one by one. Timestamps
    spread much more thinly than one per hour are converted one by one.
    """
    utc = np.asarray(utc, dtype=np.int64)
    if tz.upper() == "UTC" or utc.size == 0:
        return utc.copy()
    hour = utc // _HOUR_NS
    h0 = int(hour.min())
    span = int(hour.max()) - h0 + 1
    if span > 4 * utc.size + 1_000:
        return _convert(utc, tz)
    start = (h0 + np.arange(span, dtype=np.int64)) * _HOUR_NS
    off = _convert(start, tz) - start
    end = start + (_HOUR_NS - 1)
    in_order = bool(np.all(utc[1:] >= utc[:-1]))
    if in_order:  # one offset per stretch between changes: no per-timestamp lookup
        change = np.flatnonzero(off[1:] != off[:-1]) + 1
        cuts = np.concatenate(([0], np.searchsorted(utc, start[change]), [utc.size]))
        local = utc + np.repeat(off[np.concatenate(([0], change))], np.diff(cuts))
    else:
        local = utc + off[hour - h0]
    for k in np.flatnonzero(_convert(end, tz) - end != off):  # an hour with a transition
        if in_order:
            lo, hi = np.searchsorted(utc, [start[k], start[k] + _HOUR_NS])
            rows: slice | np.ndarray = slice(int(lo), int(hi))
        else:
            rows = np.flatnonzero(hour == h0 + k)
        local[rows] = _convert(utc[rows], tz)
    return local


def _convert(utc: np.ndarray, tz: str) -> np.ndarray:
    return np.asarray(
        pd.DatetimeIndex(utc.view("M8[ns]"))
        .tz_localize("UTC")
        .tz_convert(tz)
        .tz_localize(None)
        .asi8,
        dtype=np.int64,
    )


def week_ids(day: np.ndarray) -> np.ndarray:
    """Week number of each day number (1970-01-01 was a Thursday: weeks start on Monday)."""
    return np.asarray((np.asarray(day, dtype=np.int64) + 3) // 7, dtype=np.int64)


def rebalance_keys(schedule: str, day: np.ndarray, week: np.ndarray) -> np.ndarray | None:
    """The period key of each bar for ``schedule`` (``None`` for ``every_bar``).

    ``daily`` → day id, ``weekly`` → week id, ``monthly`` → ``year * 12 + month - 1`` and
    ``quarterly`` → that divided by 3, all from the day ids of :meth:`Calendar.period_ids`.

    Raises
    ------
    ConfigError
        Unknown schedule (the message names it).
    """
    if schedule == "every_bar":
        return None
    if schedule == "daily":
        return np.asarray(day, dtype=np.int64)
    if schedule == "weekly":
        return np.asarray(week, dtype=np.int64)
    if schedule not in ("monthly", "quarterly"):
        raise ConfigError(
            f"rebalance: unknown value {schedule!r}; expected one of {', '.join(SCHEDULES)}"
        )
    dates = pd.DatetimeIndex(np.asarray(day, dtype=np.int64).astype("datetime64[D]"))
    key = dates.year.to_numpy().astype(np.int64) * 12 + dates.month.to_numpy() - 1
    return key // 3 if schedule == "quarterly" else key


def rebalance_mask(schedule: str, day: np.ndarray, week: np.ndarray) -> np.ndarray:
    """True on the last bar of each period: its close decides, the next open trades.

    ``every_bar`` marks every bar. Otherwise a bar is marked when the next bar belongs to
    another period; the last bar of the sample is not marked (no next bar to trade on).
    """
    key = rebalance_keys(schedule, day, week)
    n = len(day)
    if key is None:
        return np.ones(n, dtype=bool)
    mask = np.zeros(n, dtype=bool)
    mask[:-1] = key[1:] != key[:-1]
    return mask


def _sessions(name: str, tz: str, minutes: int) -> Calendar:
    return Calendar(name, tz, False, minutes, TRADING_DAYS_PER_YEAR)


CONTINUOUS = Calendar("24/7", "UTC", True, 1440, CALENDAR_DAYS_PER_YEAR)
XNYS = _sessions("XNYS", "America/New_York", 390)

#: Every calendar alphaforge knows, by canonical (``exchange_calendars``) name. Session
#: minutes are the regular continuous-trading hours, lunch breaks excluded.
CALENDARS: dict[str, Calendar] = {
    c.name: c
    for c in (
        XNYS,
        _sessions("XNAS", "America/New_York", 390),  # 09:30-16:00
        _sessions("XTSE", "America/Toronto", 390),  # 09:30-16:00
        _sessions("XLON", "Europe/London", 510),  # 08:00-16:30
        _sessions("XETR", "Europe/Berlin", 510),  # 09:00-17:30
        _sessions("XPAR", "Europe/Paris", 510),  # 09:00-17:30
        _sessions("XAMS", "Europe/Amsterdam", 510),  # 09:00-17:30
        _sessions("XSWX", "Europe/Zurich", 510),  # 09:00-17:30
        _sessions("XTKS", "Asia/Tokyo", 330),  # 09:00-11:30, 12:30-15:30
        _sessions("XHKG", "Asia/Hong_Kong", 330),  # 09:30-12:00, 13:00-16:00
        _sessions("XASX", "Australia/Sydney", 360),  # 10:00-16:00
        CONTINUOUS,
    )
}

#: Other names of the calendars above (upper case; lookups are case-insensitive).
ALIASES: dict[str, str] = {
    "NYSE": "XNYS",
    "NASDAQ": "XNAS",
    "TSX": "XTSE",
    "LSE": "XLON",
    "XETRA": "XETR",
    "EURONEXT_PARIS": "XPAR",
    "EURONEXT_AMSTERDAM": "XAMS",
    "SIX": "XSWX",
    "JPX": "XTKS",
    "TSE": "XTKS",
    "HKEX": "XHKG",
    "ASX": "XASX",
    "24X7": "24/7",
    "CRYPTO": "24/7",
    "ALWAYS_OPEN": "24/7",
}


def calendar_names() -> list[str]:
    """Every accepted name: canonical names, then aliases."""
    return [*CALENDARS, *ALIASES]


def parse_calendar(value: str | Calendar) -> Calendar:
    """The :class:`Calendar` named ``value`` (canonical name or alias, case-insensitive).

    Raises
    ------
    ConfigError
        When no calendar has that name (the message names the value and the known names).
    """
    if isinstance(value, Calendar):
        return value
    key = str(value).strip().upper()
    key = ALIASES.get(key, key)
    if key not in CALENDARS:
        raise ConfigError(
            f"calendar: unknown value {value!r}; expected one of {', '.join(CALENDARS)} "
            f"(or an alias: {', '.join(ALIASES)})"
        )
    return CALENDARS[key]


def looks_like_crypto(symbol: str) -> bool:
    """True for a symbol written as a crypto pair (``BTC/USDT``, ``ETHUSDT``, ``BTC-USD``)."""
    s = str(symbol).upper()
    return "/" in s or s.endswith(("USDT", "-USD"))


def infer_calendar(
    configured: str | Calendar | None = None,
    *,
    symbols: Iterable[str] = (),
    index: pd.DatetimeIndex | None = None,
) -> Calendar:
    """The calendar of a run: the configured one, else inferred from the data.

    Inference: :data:`CONTINUOUS` (``24/7``) when any symbol looks like a crypto pair
    (:func:`looks_like_crypto`) or, when ``index`` is given, when any bar falls on a Saturday or
    Sunday (UTC); :data:`XNYS` otherwise.

    Raises
    ------
    ConfigError
        When ``configured`` names no known calendar.
    """
    if configured:
        return parse_calendar(configured)
    if any(looks_like_crypto(s) for s in symbols):
        return CONTINUOUS
    if index is not None and len(index) > 0:
        weekend = np.asarray(index.day_of_week) >= 5
        if bool(weekend.any()):
            return CONTINUOUS
    return XNYS
