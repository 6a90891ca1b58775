"""The market clock of the runtime on a real exchange calendar.

:class:`ExchangeClock` implements :class:`alphaforge.ports.MarketClock` for one calendar of
:data:`alphaforge.core.calendar.CALENDARS` (``XNYS``, ``XNAS``, ``LSE`` ..., and ``24/7`` for
crypto). It reads the sessions once from :func:`alphaforge.data.calendars.session_table` (the
whole built window of the calendar, cached) and answers every question with a binary search on
those arrays, so a replay that asks at every bar does not rebuild the calendar. A time outside
the window widens it once (whole years, cached as well).

Conventions
-----------
* A session is the half-open interval ``[open, close)`` in UTC; a lunch break
  ``[break_start, break_end)`` is closed. The 24/7 calendar is always open.
* Times may be given in any time zone; a naive time is read as UTC. Times returned are UTC,
  session labels are naive dates (the convention of :mod:`alphaforge.data.calendars`).
* A bar *closes* (completes) at its start plus the timeframe, clipped to the session close (the
  short last bar of an early close) or to the start of a lunch break; bar starts are those of
  :func:`alphaforge.data.calendars.expected_bar_starts` (aligned on the open). A daily bar closes
  at the session close.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphaforge.core.calendar import Calendar, parse_calendar
from alphaforge.core.errors import ConfigError
from alphaforge.core.timeframe import parse_timeframe
from alphaforge.data.calendars import SessionTable, intraday_bar_bounds, session_table

_DAY = 86_400_000_000_000
_LOOKAHEAD = 31 * _DAY  # longer than any closure of the known calendars since 2001


def _ns(ts: pd.Timestamp | str) -> int:
    """UTC nanoseconds of ``ts`` (a naive time is UTC)."""
    return int(pd.Timestamp(ts).value)


def _utc(ns: int | np.integer) -> pd.Timestamp:
    return pd.Timestamp(int(ns), unit="ns", tz="UTC")


def _utc_index(ns: np.ndarray) -> pd.DatetimeIndex:
    values = np.asarray(ns, dtype=np.int64).astype("datetime64[ns]")
    return pd.DatetimeIndex(values).tz_localize("UTC")


class ExchangeClock:
    """Sessions, bar closes and open/close times of one exchange calendar.

    Parameters
    ----------
    calendar
        A calendar name or alias (``"XNYS"``, ``"NYSE"``, ``"LSE"``, ``"24/7"``, ``"crypto"``
        ...) or a :class:`~alphaforge.core.calendar.Calendar`.

    Raises
    ------
    ConfigError
        When no calendar has that name.
    """

    def __init__(self, calendar: str | Calendar = "XNYS") -> None:
        self.calendar: Calendar = parse_calendar(calendar)
        self._table: SessionTable = session_table(self.calendar)

    @property
    def name(self) -> str:
        """The canonical calendar name (``"XNYS"``, ``"24/7"`` ...)."""
        return self.calendar.name

    def __repr__(self) -> str:
        return f"ExchangeClock({self.name!r})"

    # -- the session table ------------------------------------------------------------------

    def _covering(self, lo: int, hi: int) -> SessionTable:
        """The session table, widened once when ``[lo, hi]`` (UTC ns) reaches past it."""
        table = self._table
        if len(table) and table.opens[0] <= lo and hi <= table.closes[-1]:
            return table
        wider = session_table(self.calendar, _utc(lo - _DAY), _utc(hi + _DAY))
        if len(wider) > len(table):
            self._table = wider
        return self._table

    def _first_at_or_after(self, column: str, ns: int, what: str) -> int:
        """Index of the first session whose ``column`` time is at or after ``ns``."""
        table = self._covering(ns, ns + _LOOKAHEAD)
        values: np.ndarray = getattr(table, column)
        i = int(np.searchsorted(values, ns, side="left"))
        if i >= len(values):
            raise ConfigError(
                f"calendar {self.name}: no {what} at or after {_utc(ns)} in the calendar's range"
            )
        return i

    # -- MarketClock -------------------------------------------------------------------------

    def is_open(self, ts: pd.Timestamp) -> bool:
        """Whether the market trades at ``ts``: inside a session's ``[open, close)`` (early
        closes honoured) and not in its lunch break; always for the 24/7 calendar."""
        if self.calendar.continuous:
            return True
        ns = _ns(ts)
        table = self._covering(ns, ns)
        i = int(np.searchsorted(table.opens, ns, side="right")) - 1
        if i < 0 or ns >= table.closes[i]:
            return False
        return not (table.break_starts[i] <= ns < table.break_ends[i])

    def next_close(self, ts: pd.Timestamp) -> pd.Timestamp:
        """The first session close at or after ``ts`` (UTC)."""
        i = self._first_at_or_after("closes", _ns(ts), "session close")
        return _utc(self._table.closes[i])

    def next_open(self, ts: pd.Timestamp) -> pd.Timestamp:
        """The first session open at or after ``ts`` (UTC): inside a session, the next
        session's open (the end of a lunch break is not an open)."""
        i = self._first_at_or_after("opens", _ns(ts), "session open")
        return _utc(self._table.opens[i])

    def session_of(self, ts: pd.Timestamp) -> pd.Timestamp | None:
        """The session (naive date label) with ``open <= ts <= close``, else ``None``.

        The close belongs to its session, so a bar that completes at the close maps to the
        session it closes; where sessions touch (24/7, at midnight UTC) the earlier one wins.
        A lunch break belongs to its session.
        """
        ns = _ns(ts)
        table = self._covering(ns, ns)
        i = int(np.searchsorted(table.closes, ns, side="left"))
        if i >= len(table) or table.opens[i] > ns:
            return None
        return pd.Timestamp(table.labels[i])

    def bar_closes(
        self, start: pd.Timestamp, end: pd.Timestamp, timeframe: str
    ) -> pd.DatetimeIndex:
        """The UTC times in ``[start, end]`` at which bars of ``timeframe`` complete.

        ``1d``: the close of each session (13:00 New York time on an XNYS early close).
        Intraday: the end of each regular-hours bar, aligned on the session open, the last bar
        of a session ending at the (early) close even when shorter; the 24/7 calendar has a bar
        every ``timeframe`` around the clock.

        Raises
        ------
        ConfigError
            Unknown timeframe.
        """
        tf = parse_timeframe(timeframe)
        lo, hi = _ns(start), _ns(end)
        if hi < lo:
            return _utc_index(np.empty(0, dtype=np.int64))
        table = self._covering(lo, hi)
        first = int(np.searchsorted(table.closes, lo, side="left"))
        last = int(np.searchsorted(table.opens, hi, side="left"))  # sessions opening before hi
        if not tf.is_intraday:
            closes = table.closes[first:last]
        else:
            _, closes = intraday_bar_bounds(
                table.opens[first:last],
                table.closes[first:last],
                table.break_starts[first:last],
                table.break_ends[first:last],
                tf.nanos,
            )
        closes = closes[(closes >= lo) & (closes <= hi)]
        return _utc_index(closes)
