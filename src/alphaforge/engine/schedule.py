"""When the trading node runs a cycle: at bar closes on the market's calendar, never on stale bars.

A :class:`Schedule` turns a :class:`ScheduleSpec` and a :class:`~alphaforge.ports.MarketClock`
into cycle times:

* by default a cycle runs at each close of a bar of the spec's timeframe (a daily bar at the
  session close, 13:00 New York time on an XNYS early close; intraday bars inside sessions),
  ``delay_seconds`` after the close, because a bar takes a moment to arrive from the feed;
* with ``every_minutes=N`` a cycle runs every N minutes on the clock (UTC multiples of N minutes:
  ``:00, :15, :30, :45`` for 15) while the market is open, and at each session close.

Closed markets (nights, weekends, holidays) have no cycles. :meth:`Schedule.due` answers, given
the last close handled and the time now, which closes are due: missed ones (``catch_up``: their
data is loaded but they never trade), the latest one if it is fresh (``current``: it may trade)
and when to wake next. A close more than the tolerance behind now (by default one period plus
the delay) is stale and never current, so that a node restarting after downtime catches up its
data without a burst of stale orders.

:func:`sleep_until` waits for the next cycle with an injected clock and sleep, so that tests
never sleep.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import pandas as pd

from alphaforge.core.errors import ConfigError
from alphaforge.core.panel import utc_time
from alphaforge.core.timeframe import parse_timeframe
from alphaforge.ports import MarketClock

_MINUTE_NS = 60_000_000_000
_MAX_SEARCH = pd.Timedelta(days=800)  # no calendar closes for longer than this


def _asi8(index: pd.DatetimeIndex) -> np.ndarray:
    """UTC nanoseconds of a tz-aware index."""
    return np.asarray(index.as_unit("ns").asi8, dtype=np.int64)


@dataclass(frozen=True)
class ScheduleSpec:
    """How often the node runs a cycle.

    Attributes
    ----------
    timeframe
        Bar timeframe of the strategy (``1m, 5m, 15m, 1h, 1d`` or an alias): a cycle at each
        bar close.
    every_minutes
        When set, a cycle every this many minutes while the market is open (and at each
        session close) instead of at each bar close.
    delay_seconds
        How long after a close the cycle runs (the bar must arrive from the feed first).
    tolerance_seconds
        How far behind now a close may be and still trade; ``None``: one period (the bar, or
        ``every_minutes``) plus the delay.

    Raises
    ------
    ConfigError
        Unknown timeframe, ``every_minutes`` not a positive integer, negative or non-finite
        delay, non-positive tolerance.
    """

    timeframe: str
    every_minutes: int | None = None
    delay_seconds: float = 5.0
    tolerance_seconds: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "timeframe", parse_timeframe(self.timeframe).name)
        n = self.every_minutes
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ConfigError(f"schedule.every_minutes: expected a positive integer, got {n!r}")
        if not math.isfinite(self.delay_seconds) or self.delay_seconds < 0:
            raise ConfigError(
                f"schedule.delay_seconds: expected a number >= 0, got {self.delay_seconds!r}"
            )
        tol = self.tolerance_seconds
        if tol is not None and not (math.isfinite(tol) and tol > 0):
            raise ConfigError(f"schedule.tolerance_seconds: expected a number > 0, got {tol!r}")

    @property
    def period(self) -> pd.Timedelta:
        """Time between two cycles inside a session (the bar, or ``every_minutes``)."""
        if self.every_minutes is not None:
            return pd.Timedelta(minutes=self.every_minutes)
        return pd.Timedelta(parse_timeframe(self.timeframe).nanos, unit="ns")

    @property
    def delay(self) -> pd.Timedelta:
        return pd.Timedelta(seconds=self.delay_seconds)

    @property
    def tolerance(self) -> pd.Timedelta:
        """The largest ``now - close`` at which a close may still trade."""
        if self.tolerance_seconds is not None:
            return pd.Timedelta(seconds=self.tolerance_seconds)
        return self.period + self.delay


@dataclass(frozen=True)
class Due:
    """What a cycle must do now (see :meth:`Schedule.due`).

    Attributes
    ----------
    catch_up
        Closes that are due but may not trade, oldest first: every missed close before the
        latest, and the latest too when it is stale. Their data is loaded; they never produce
        orders.
    current
        The latest due close when it is fresh: the one close that may trade. ``None`` when
        nothing is due or the latest close is stale.
    next_at
        When the next cycle is due (its close plus the delay), always after ``now``.
    stale
        True when the latest due close was older than the tolerance (it is in ``catch_up``).
    """

    catch_up: tuple[pd.Timestamp, ...]
    current: pd.Timestamp | None
    next_at: pd.Timestamp
    stale: bool = False

    @property
    def skipped(self) -> int:
        """Number of due closes that will not trade (``len(catch_up)``)."""
        return len(self.catch_up)

    @property
    def skipped_range(self) -> tuple[pd.Timestamp, pd.Timestamp] | None:
        """First and last close that will not trade, or ``None``."""
        return (self.catch_up[0], self.catch_up[-1]) if self.catch_up else None

    @property
    def last(self) -> pd.Timestamp | None:
        """The latest close this answer covers: the ``last_done`` of the next call."""
        if self.current is not None:
            return self.current
        return self.catch_up[-1] if self.catch_up else None

    def describe(self) -> str:
        """One log line: what is skipped, what trades, when the next cycle is."""
        parts = []
        if self.catch_up:
            first, last = self.catch_up[0], self.catch_up[-1]
            stale = " (the latest is stale)" if self.stale else ""
            parts.append(
                f"catching up {self.skipped} closes {first} .. {last} without orders{stale}"
            )
        parts.append(
            f"current close {self.current}" if self.current is not None else "no close to trade"
        )
        parts.append(f"next cycle at {self.next_at}")
        return "; ".join(parts)


class Schedule:
    """Cycle times of a :class:`ScheduleSpec` on a market clock.

    Parameters
    ----------
    spec
        Timeframe, optional ``every_minutes``, delay and tolerance.
    clock
        The market's sessions (``alphaforge.data.clock.ExchangeClock`` for a real exchange).
    """

    def __init__(self, spec: ScheduleSpec, clock: MarketClock) -> None:
        self.spec = spec
        self.clock = clock

    def __repr__(self) -> str:
        return f"Schedule({self.spec!r}, {self.clock!r})"

    def closes(self, start: pd.Timestamp, end: pd.Timestamp) -> pd.DatetimeIndex:
        """Cycle closes (UTC) in ``[start, end]``, increasing; a cycle runs at each plus the
        delay."""
        values = self._closes_ns(utc_time(start), utc_time(end)).astype("datetime64[ns]")
        return pd.DatetimeIndex(values).tz_localize("UTC")

    def _closes_ns(self, lo: pd.Timestamp, hi: pd.Timestamp) -> np.ndarray:
        every = self.spec.every_minutes
        if every is None:
            return _asi8(self.clock.bar_closes(lo, hi, self.spec.timeframe))
        minutes = _asi8(self.clock.bar_closes(lo, hi, "1m"))
        on_grid = minutes[minutes % (every * _MINUTE_NS) == 0]
        return np.union1d(on_grid, _asi8(self.clock.bar_closes(lo, hi, "1d")))

    def _first_after(self, t: pd.Timestamp, until: pd.Timestamp) -> int | None:
        found = self._closes_ns(t, until)
        i = int(np.searchsorted(found, t.value, side="right"))
        return int(found[i]) if i < len(found) else None

    def next_close_after(self, ts: pd.Timestamp) -> pd.Timestamp:
        """The first cycle close strictly after ``ts``.

        Raises
        ------
        ConfigError
            When the clock has no close in the next two years (a calendar without sessions).
        """
        t = utc_time(ts)
        if self.spec.every_minutes is None and self.spec.timeframe == "1d":
            return utc_time(self.clock.next_close(t + pd.Timedelta(1, unit="ns")))
        # Inside a session a close comes within one period (a bar, the grid or the close);
        # else within one period of the next open. Lunch breaks may need a wider window.
        until = t + 2 * self.spec.period
        found = self._first_after(t, until)
        if found is None:
            until = max(until, utc_time(self.clock.next_open(t)) + 2 * self.spec.period)
            found = self._first_after(t, until)
        while found is None and until - t <= _MAX_SEARCH:
            until = t + 2 * (until - t)
            found = self._first_after(t, until)
        if found is None:
            raise ConfigError(f"schedule: no close of {self.clock!r} after {t}")
        return pd.Timestamp(found, unit="ns", tz="UTC")

    def due(self, last_done: pd.Timestamp | None, now: pd.Timestamp) -> Due:
        """The closes due at ``now`` since ``last_done`` (the latest close already handled).

        A close ``c`` is due when ``last_done < c <= now - delay``. The latest due close is
        ``current`` when ``now - c <= tolerance``; every other due close is in ``catch_up``.
        With ``last_done=None`` (a first start) only a fresh close is looked for: there is no
        history to catch up.
        """
        now_utc = utc_time(now)
        cutoff = now_utc - self.spec.delay
        tolerance = self.spec.tolerance
        next_at = self.next_close_after(cutoff) + self.spec.delay
        if last_done is None:
            found = self._closes_ns(now_utc - tolerance, cutoff)
        else:
            done = utc_time(last_done)
            found = self._closes_ns(done, cutoff)
            found = found[found > done.value]
        if len(found) == 0:
            return Due((), None, next_at)
        closes = tuple(pd.Timestamp(int(c), unit="ns", tz="UTC") for c in found)
        latest = closes[-1]
        if now_utc - latest <= tolerance:
            return Due(closes[:-1], latest, next_at)
        return Due(closes, None, next_at, stale=True)


class StopSignal(Protocol):
    """What :func:`sleep_until` needs of a stop flag (``threading.Event`` has both)."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


def utc_now() -> pd.Timestamp:
    """The wall clock in UTC (the default clock of a paper or live node)."""
    return pd.Timestamp.now(tz="UTC")


def sleep_until(
    next_at: pd.Timestamp,
    clock_fn: Callable[[], pd.Timestamp] = utc_now,
    sleep_fn: Callable[[float], object] | None = None,
    stop_event: StopSignal | None = None,
    *,
    max_step: float = 60.0,
) -> bool:
    """Wait until ``clock_fn()`` reaches ``next_at``, in steps of at most ``max_step`` seconds.

    The clock is read again after every step, so a clock that jumps (a suspended machine, a
    replay clock) is followed. ``sleep_fn`` defaults to ``stop_event.wait`` (a stop wakes the
    wait at once) or :func:`time.sleep` without a stop event.

    Returns
    -------
    bool
        True when ``next_at`` was reached, False when ``stop_event`` was set first.
    """
    target = utc_time(next_at)
    if sleep_fn is None:
        sleep_fn = stop_event.wait if stop_event is not None else time.sleep
    while True:
        if stop_event is not None and stop_event.is_set():
            return False
        remaining = (target - utc_time(clock_fn())).total_seconds()
        if remaining <= 0:
            return True
        sleep_fn(min(remaining, max_step))
