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
from alphaforge.core.timeframe import TICK_NS, Timeframe, parse_timeframe

TRADING_DAYS_PER_YEAR = 252
CALENDAR_DAYS_PER_YEAR = 365
_DAY_NS = 86_400_000_000_000
_UNIT_OF_TICK = {v: k for k, v in TICK_NS.items()}

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
        return self._ids(index, timeframe, weeks=False)[0]

    def period_ids(
        self, index: pd.DatetimeIndex, timeframe: str | Timeframe
    ) -> tuple[np.ndarray, np.ndarray]:
        """Trading-day and week numbers of each bar (int64; weeks start on Monday)."""
        return self._ids(index, timeframe, weeks=True)

    def _ids(
        self, index: pd.DatetimeIndex, timeframe: str | Timeframe, weeks: bool
    ) -> tuple[np.ndarray, np.ndarray]:
        """Day ids and week ids (without ``weeks`` the second may be the day ids again)."""
        idx = index if isinstance(index, pd.DatetimeIndex) else pd.DatetimeIndex(index)
        tick = TICK_NS.get(idx.unit)  # asi8 counts in the index's own unit
        if tick is None:
            idx, tick = idx.as_unit("ns"), 1
        t = idx.asi8
        tz = self.tz if parse_timeframe(timeframe).is_intraday and idx.tz is not None else "UTC"
        if _in_order(t):
            got = _ids_in_order(t, tz, tick)
            if got is not None:
                return got
        day = local_nanos(t, tz, tick)  # a new array: divided in place
        np.floor_divide(day, _DAY_NS // tick, out=day)
        return day, week_ids(day) if weeks else day

    def rebalance_mask(
        self, index: pd.DatetimeIndex, timeframe: str | Timeframe, schedule: str
    ) -> np.ndarray:
        """True on the last bar of each ``schedule`` period (see :func:`rebalance_mask`)."""
        day, week = self.period_ids(index, timeframe)
        return rebalance_mask(schedule, day, week)


_HOUR_NS = 3_600_000_000_000


def local_nanos(utc: np.ndarray, tz: str, tick: int = 1) -> np.ndarray:
    """Wall-clock times in ``tz`` of UTC times ``utc`` (int64 counts of ``tick`` nanoseconds:
    1 for nanoseconds, 1,000 for microseconds, as :data:`TICK_NS` gives for a unit), in the
    same unit: what ``tz_convert(tz).tz_localize(None)`` gives, without converting every
    timestamp.

    A zone's UTC offset changes at most a few times a year, so it is looked up once per UTC
    hour of the span (at the hour's first and last tick); only the timestamps in an hour
    whose two offsets differ (one holding a transition) are converted one by one. Timestamps
    spread much more thinly than one per hour are converted one by one. Offsets are whole
    seconds, so the result is exact in any unit down to seconds.
    """
    utc = np.asarray(utc, dtype=np.int64)
    if tz.upper() == "UTC" or utc.size == 0:
        return utc.copy()
    hour_len = _HOUR_NS // tick
    hour = None if _in_order(utc) else utc // hour_len
    table = _hourly_offsets(utc, tz, tick, hour)
    if table is None:
        return _convert(utc, tz, tick)
    start, off, moved = table
    h0 = int(start[0] // hour_len)
    if hour is None:  # one offset per stretch between changes: no per-timestamp lookup
        local = np.empty_like(utc)
        cuts, offs = _stretches(utc, start, off)
        for a, b, o in zip(cuts[:-1], cuts[1:], offs, strict=True):
            np.add(utc[a:b], o, out=local[a:b])
    else:
        local = utc + off[hour - h0]
    for k in moved:  # an hour with a transition
        rows = _hour_rows(utc, start[k], hour_len) if hour is None else hour == h0 + k
        local[rows] = _convert(utc[rows], tz, tick)
    return local


def _ids_in_order(utc: np.ndarray, tz: str, tick: int) -> tuple[np.ndarray, np.ndarray] | None:
    """Day and week ids of UTC times in time order, by the local days of ``tz``: the rows of
    each day found by a binary search and filled at once (no division per timestamp), the
    rows of an hour holding a transition converted one by one, as :func:`local_nanos` does.
    None when the times average fewer than four a day (a division per time is then cheaper)."""
    day_len, hour_len = _DAY_NS // tick, _HOUR_NS // tick
    if utc.size == 0 or utc.size < 4 * (int(utc[-1] - utc[0]) // day_len + 1):
        return None
    cuts, offs, moved = np.array([0, utc.size]), np.zeros(1, dtype=np.int64), np.empty(0, int)
    start = np.empty(0, dtype=np.int64)
    if tz.upper() != "UTC":
        table = _hourly_offsets(utc, tz, tick, None)
        if table is None:
            return None
        start, off, moved = table
        cuts, offs = _stretches(utc, start, off)
    days, counts = [], []
    for a, b, o in zip(cuts[:-1], cuts[1:], offs, strict=True):
        if a == b:
            continue
        first, last = (int(utc[a]) + int(o)) // day_len, (int(utc[b - 1]) + int(o)) // day_len
        d = np.arange(first, last + 1, dtype=np.int64)
        firsts = np.searchsorted(utc[a:b], d[1:] * day_len - o)  # first row of each later day
        days.append(d)
        counts.append(np.diff(np.concatenate(([0], firsts, [b - a]))))
    d = np.concatenate(days)
    n = np.concatenate(counts)
    day, week = np.repeat(d, n), np.repeat(week_ids(d), n)
    for k in moved:
        rows = _hour_rows(utc, start[k], hour_len)
        day[rows] = _convert(utc[rows], tz, tick) // day_len
        week[rows] = week_ids(day[rows])
    return day, week


def _in_order(t: np.ndarray) -> bool:
    return bool(np.all(t[1:] >= t[:-1]))


def _hourly_offsets(
    utc: np.ndarray, tz: str, tick: int, hour: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """The start of every UTC hour of the span of ``utc`` (``hour``: each time's hour, None
    when the times are in order), the zone's offset at each start, and the hours holding a
    transition (the offset at the hour's last tick differs); None when the span has many more
    hours than times."""
    hour_len = _HOUR_NS // tick
    h0 = int(utc[0] // hour_len if hour is None else hour.min())
    span = int(utc[-1] // hour_len if hour is None else hour.max()) - h0 + 1
    if span > 4 * utc.size + 1_000:
        return None
    start = (h0 + np.arange(span, dtype=np.int64)) * hour_len
    off = _convert(start, tz, tick) - start
    end = start + (hour_len - 1)
    return start, off, np.flatnonzero(_convert(end, tz, tick) - end != off)


def _stretches(
    utc: np.ndarray, start: np.ndarray, off: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For times in order: the row cuts of the stretches between offset changes (at hour
    starts) and the offset of each stretch."""
    change = np.flatnonzero(off[1:] != off[:-1]) + 1
    cuts = np.concatenate(([0], np.searchsorted(utc, start[change]), [utc.size]))
    return cuts, off[np.concatenate(([0], change))]


def _hour_rows(utc: np.ndarray, start: int, hour_len: int) -> slice:
    lo, hi = np.searchsorted(utc, [start, start + hour_len])
    return slice(int(lo), int(hi))


def _convert(utc: np.ndarray, tz: str, tick: int = 1) -> np.ndarray:
    unit = _UNIT_OF_TICK[tick]
    return np.asarray(
        pd.DatetimeIndex(utc.view(f"M8[{unit}]"))
        .tz_localize("UTC")
        .tz_convert(tz)
        .tz_localize(None)
        .asi8,
        dtype=np.int64,
    )


def week_ids(day: np.ndarray) -> np.ndarray:
    """Week number of each day number (1970-01-01 was a Thursday: weeks start on Monday)."""
    week = np.add(np.asarray(day, dtype=np.int64), 3)
    return np.floor_divide(week, 7, out=week)


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
