"""Exchange calendars: sessions, holidays, early closes and expected intraday bar starts.

A thin layer over :mod:`exchange_calendars` (the only module of alphaforge that imports it). Which
calendars exist, their aliases and time zones come from one table,
:data:`alphaforge.core.calendar.CALENDARS`; every function here takes a name or alias from that
table or a :class:`~alphaforge.core.calendar.Calendar`, and builds its session lists from it.

* ``"XNYS"`` (New York Stock Exchange) is the calendar for US equities and ETFs.
* ``"24/7"`` (aliases ``"24x7"``, ``"crypto"``, ``"ALWAYS_OPEN"``) is the calendar for crypto
  markets: one session per UTC day, 00:00 to 24:00.

Calendars are built with a window wide enough for the dates asked for (``exchange_calendars``
defaults to roughly twenty years back), and built calendars are cached per
``(name, first year, last year)``: they are immutable once built, so the cache is a pure
speed-up.

Session labels are naive dates at 00:00 (the exchange-local trading date); intraday bar starts
are UTC timestamps.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import exchange_calendars as xcals
import numpy as np
import pandas as pd

from alphaforge.core.calendar import CONTINUOUS, XNYS, Calendar, parse_calendar
from alphaforge.core.errors import ConfigError
from alphaforge.core.timeframe import parse_timeframe

DEFAULT_EQUITY_CALENDAR = XNYS.name
CRYPTO_CALENDAR = CONTINUOUS.name


def canonical_name(name: str | Calendar) -> str:
    """The ``exchange_calendars`` name for ``name`` (resolving aliases, case-insensitive).

    Raises
    ------
    ConfigError
        When no calendar of that name exists (see :data:`alphaforge.core.calendar.CALENDARS`).
    """
    return parse_calendar(name).name


@functools.lru_cache(maxsize=32)
def _build(name: str, first_year: int | None, last_year: int | None) -> Any:
    kwargs: dict[str, Any] = {}
    if first_year is not None:
        kwargs["start"] = pd.Timestamp(year=first_year, month=1, day=1)
    if last_year is not None:
        kwargs["end"] = pd.Timestamp(year=last_year, month=12, day=31)
    with warnings.catch_warnings():
        # exchange_calendars 4.x reads Series.values of tz-aware columns (deprecated in pandas 3).
        warnings.filterwarnings("ignore", message="Series.values returning an ndarray")
        return xcals.get_calendar(name, **kwargs)


def _naive_date(value: pd.Timestamp | str) -> pd.Timestamp:
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.normalize()


def _window(
    canon: str, start: pd.Timestamp | str | None, end: pd.Timestamp | str | None
) -> tuple[int | None, int | None]:
    """The (first year, last year) of the build covering ``[start, end]`` (``None``: default)."""
    default = _build(canon, None, None)
    first_year = last_year = None
    if start is not None and _naive_date(start) < default.first_session:
        first_year = _naive_date(start).year
        bound = default.bound_min()
        if bound is not None:
            first_year = max(first_year, pd.Timestamp(bound).year + 1)
    if end is not None and _naive_date(end) > default.last_session:
        last_year = _naive_date(end).year
    if first_year is None and last_year is None:
        return None, None
    if first_year is None:
        first_year = default.first_session.year
    if last_year is None:
        last_year = default.last_session.year
    return first_year, last_year


def get_calendar(
    name: str | Calendar = DEFAULT_EQUITY_CALENDAR,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> Any:
    """An ``exchange_calendars.ExchangeCalendar`` covering ``[start, end]``.

    Parameters
    ----------
    name
        Calendar name or alias (``"XNYS"``, ``"24/7"``, ``"crypto"``, ``"ALWAYS_OPEN"`` ...), or a
        :class:`~alphaforge.core.calendar.Calendar`.
    start, end
        Dates the calendar must cover. When they fall outside the library's default window the
        calendar is rebuilt with a wider one (whole years, cached).
    """
    canon = canonical_name(name)
    return _build(canon, *_window(canon, start, end))


@dataclass(frozen=True, eq=False)
class SessionTable:
    """Every session of one built calendar window as arrays, for fast searches.

    Times are UTC nanoseconds (int64); a session without a lunch break has
    ``break_starts == break_ends == NAT``. ``labels`` are the session dates (naive).
    """

    labels: pd.DatetimeIndex
    opens: np.ndarray
    closes: np.ndarray
    break_starts: np.ndarray
    break_ends: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


@functools.lru_cache(maxsize=32)
def _table(canon: str, first_year: int | None, last_year: int | None) -> SessionTable:
    sched = _build(canon, first_year, last_year).schedule
    arrays = [_ns(sched[c]) for c in ("open", "close", "break_start", "break_end")]
    for a in arrays:
        a.setflags(write=False)
    return SessionTable(pd.DatetimeIndex(sched.index), *arrays)


def session_table(
    name: str | Calendar,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
) -> SessionTable:
    """Every session of the calendar window covering ``[start, end]`` (see :func:`get_calendar`).

    The table is the whole built window, not only ``[start, end]``: callers search it with
    ``numpy.searchsorted``. Tables are cached per window and read-only.
    """
    canon = canonical_name(name)
    return _table(canon, *_window(canon, start, end))


def sessions(
    name: str | Calendar, start: pd.Timestamp | str, end: pd.Timestamp | str
) -> pd.DatetimeIndex:
    """Session labels (naive dates) in ``[start, end]``; the bounds need not be sessions."""
    lo, hi = _naive_date(start), _naive_date(end)
    all_sessions = get_calendar(name, lo, hi).sessions
    return pd.DatetimeIndex(all_sessions[(all_sessions >= lo) & (all_sessions <= hi)])


def holidays(
    name: str | Calendar, start: pd.Timestamp | str, end: pd.Timestamp | str
) -> pd.DatetimeIndex:
    """Weekdays (per the calendar's week mask) in ``[start, end]`` that are not sessions."""
    lo, hi = _naive_date(start), _naive_date(end)
    cal = get_calendar(name, lo, hi)
    days = pd.date_range(lo, hi, freq="D")
    open_weekdays = np.array([c == "1" for c in cal.weekmask])
    weekdays = days[open_weekdays[days.day_of_week]]
    return pd.DatetimeIndex(weekdays.difference(cal.sessions)).as_unit("ns")


def early_closes(
    name: str | Calendar, start: pd.Timestamp | str, end: pd.Timestamp | str
) -> pd.DatetimeIndex:
    """Sessions in ``[start, end]`` that close earlier than the regular close."""
    lo, hi = _naive_date(start), _naive_date(end)
    ec = pd.DatetimeIndex(get_calendar(name, lo, hi).early_closes)
    return pd.DatetimeIndex(ec[(ec >= lo) & (ec <= hi)])


def is_early_close(name: str | Calendar, date: pd.Timestamp | str) -> bool:
    """Whether the session on ``date`` closes early (``False`` when it is not a session)."""
    day = _naive_date(date)
    return bool(day in get_calendar(name, day, day).early_closes)


def is_session(name: str | Calendar, date: pd.Timestamp | str) -> bool:
    """Whether ``date`` is a trading session of calendar ``name``."""
    day = _naive_date(date)
    return bool(get_calendar(name, day, day).is_session(day))


def session_close(name: str | Calendar, date: pd.Timestamp | str) -> pd.Timestamp:
    """The UTC close time of the session on ``date``.

    Raises
    ------
    ConfigError
        When ``date`` is not a session of ``name``.
    """
    day = _naive_date(date)
    cal = get_calendar(name, day, day)
    if not cal.is_session(day):
        raise ConfigError(f"calendar {canonical_name(name)}: {day.date()} is not a session")
    return pd.Timestamp(cal.session_close(day))


def schedule(
    name: str | Calendar, start: pd.Timestamp | str, end: pd.Timestamp | str
) -> pd.DataFrame:
    """Regular-hours ``open`` and ``close`` (UTC) of every session in ``[start, end]`` (dates)."""
    days = sessions(name, start, end)
    if len(days) == 0:
        empty = pd.DatetimeIndex([], dtype="datetime64[ns, UTC]")
        return pd.DataFrame({"open": empty, "close": empty}, index=days)
    sched = get_calendar(name, days[0], days[-1]).schedule.loc[days]
    return pd.DataFrame(sched[["open", "close", "break_start", "break_end"]])


def expected_bar_starts(
    name: str | Calendar,
    timeframe: str,
    start: pd.Timestamp | str,
    end: pd.Timestamp | str,
    *,
    align: Literal["open", "clock"] = "open",
) -> pd.DatetimeIndex:
    """UTC starts of the regular-hours bars of every session in ``[start, end]`` (dates).

    With ``align="open"`` bars are aligned on each session's open (09:30, 10:30 ... for hourly
    XNYS bars) and the last bar of a session may be shorter. With ``align="clock"`` bars start
    on multiples of the bar length inside regular hours (10:00, 11:00 ... 15:00), the convention
    of several vendors for hourly bars. Early closes and lunch breaks are honoured. For
    ``timeframe="1d"`` the session labels are returned instead (naive dates).
    """
    tf = parse_timeframe(timeframe)
    if not tf.is_intraday:
        return sessions(name, start, end)
    sched = schedule(name, start, end)
    if len(sched) == 0:
        return pd.DatetimeIndex([], dtype="datetime64[ns, UTC]")
    starts, _ = intraday_bar_bounds(
        _ns(sched["open"]),
        _ns(sched["close"]),
        _ns(sched["break_start"]),
        _ns(sched["break_end"]),
        tf.nanos,
        align=align,
    )
    return pd.DatetimeIndex(starts.astype("datetime64[ns]")).tz_localize("UTC")


def intraday_bar_bounds(
    opens: np.ndarray,
    closes: np.ndarray,
    break_starts: np.ndarray,
    break_ends: np.ndarray,
    nanos: int,
    *,
    align: Literal["open", "clock"] = "open",
) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends (UTC ns) of the regular-hours bars of ``nanos`` in the given sessions.

    The arithmetic of :func:`expected_bar_starts`: bars from each open (or from the next
    multiple of the bar length with ``align="clock"``), no bar starting inside a lunch break. A
    bar ends ``nanos`` after its start, clipped to the session close (a short last bar on an
    early close) and to the start of a lunch break it runs into. Both arrays are increasing.
    """
    opens = np.asarray(opens, dtype=np.int64)
    closes = np.asarray(closes, dtype=np.int64)
    if align == "clock":
        opens = -(-opens // nanos) * nanos
    counts = np.maximum(-(-(closes - opens) // nanos), 0)  # ceil: a short last bar counts
    first = np.repeat(opens, counts)
    offsets = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(
        np.cumsum(counts) - counts, counts
    )
    starts = first + offsets * nanos
    ends = np.minimum(starts + nanos, np.repeat(closes, counts))
    bstart = np.repeat(np.asarray(break_starts, dtype=np.int64), counts)
    if (bstart != _NAT).any():
        bend = np.repeat(np.asarray(break_ends, dtype=np.int64), counts)
        has_break = bstart != _NAT
        in_break = has_break & (starts >= bstart) & (starts < bend)
        before = has_break & (starts < bstart)
        ends = np.where(before, np.minimum(ends, bstart), ends)
        starts, ends = starts[~in_break], ends[~in_break]
    return starts, ends


_NAT = np.iinfo(np.int64).min


def _ns(col: pd.Series) -> np.ndarray:
    """UTC nanoseconds of a datetime column (NaT becomes int64 min)."""
    values = pd.DatetimeIndex(col).tz_convert("UTC").tz_localize(None).as_unit("ns")
    return np.asarray(values.asi8, dtype=np.int64)
