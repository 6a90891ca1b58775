"""Bar intervals: the supported timeframes, their names and aliases, and how to tell them apart.

One table (:data:`TIMEFRAMES`) and one set of aliases serve every layer: the store, ingestion,
annualisation and the simulator all parse a timeframe with :func:`parse_timeframe`.

Two ways to find the timeframe of a series of timestamps, for two different jobs:

* :func:`detect_timeframe` (ingestion): the most common spacing must *be* a supported timeframe,
  else the data is refused; a daily series with weekend and holiday gaps is recognised by its
  midnight timestamps.
* :func:`infer_timeframe` (annualisation of an equity curve): the supported timeframe nearest
  to the median spacing, on a log scale; it never refuses a series of two or more timestamps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alphaforge.core.errors import ConfigError, DataError

_MIN = 60 * 1_000_000_000  # one minute in nanoseconds


@dataclass(frozen=True)
class Timeframe:
    """A bar interval such as ``1m`` or ``1d``.

    Attributes
    ----------
    name
        Canonical name: ``1m``, ``5m``, ``15m``, ``1h`` or ``1d``.
    pandas_freq
        The pandas frequency string of the interval (``"1min"`` ... ``"1D"``).
    nanos
        Length of one bar in nanoseconds.
    """

    name: str
    pandas_freq: str
    nanos: int

    @property
    def is_intraday(self) -> bool:
        return self.name != "1d"

    @property
    def minutes(self) -> int:
        """Length of one bar in minutes (``1d`` counts as 1,440)."""
        return self.nanos // _MIN

    def __str__(self) -> str:
        return self.name


TIMEFRAMES: dict[str, Timeframe] = {
    "1m": Timeframe("1m", "1min", _MIN),
    "5m": Timeframe("5m", "5min", 5 * _MIN),
    "15m": Timeframe("15m", "15min", 15 * _MIN),
    "1h": Timeframe("1h", "1h", 60 * _MIN),
    "1d": Timeframe("1d", "1D", 24 * 60 * _MIN),
}
ALIASES: dict[str, str] = {
    "1min": "1m",
    "5min": "5m",
    "15min": "15m",
    "60m": "1h",
    "1day": "1d",
    "d": "1d",
}


def parse_timeframe(value: str | Timeframe) -> Timeframe:
    """The :class:`Timeframe` named ``value`` (case-insensitive; aliases such as ``5min``).

    Raises
    ------
    ConfigError
        When ``value`` names no supported timeframe (the message names the value).
    """
    if isinstance(value, Timeframe):
        return value
    key = str(value).strip().lower()
    key = ALIASES.get(key, key)
    if key not in TIMEFRAMES:
        raise ConfigError(
            f"timeframe: unknown value {value!r}; expected one of {', '.join(TIMEFRAMES)}"
        )
    return TIMEFRAMES[key]


def timeframe_minutes(timeframe: str | Timeframe) -> int:
    """Length of one bar of ``timeframe`` in minutes (``"1d"`` counts as 1,440)."""
    return parse_timeframe(timeframe).minutes


def infer_timeframe(index: pd.DatetimeIndex) -> str:
    """The supported timeframe closest to the median spacing of ``index`` (log distance).

    Daily bars have gaps of one to four days (weekends, holidays); their median is one day.

    Raises
    ------
    ConfigError
        If the index has fewer than two timestamps.
    """
    if len(index) < 2:
        raise ConfigError("index: at least two timestamps are needed to infer the timeframe")
    steps = np.diff(index.as_unit("ns").asi8)
    median_minutes = float(np.median(steps)) / 60e9
    names = list(TIMEFRAMES)
    dist = [abs(np.log(median_minutes / TIMEFRAMES[n].minutes)) for n in names]
    return names[int(np.argmin(dist))]


def detect_timeframe(timestamps: pd.Series | pd.DatetimeIndex | np.ndarray) -> str:
    """The timeframe of bar timestamps: their most common spacing, which must be supported.

    Timestamps that are all at midnight and at least a day apart are daily bars (weekends and
    holidays leave gaps). A single timestamp is daily when it is at midnight.

    Returns
    -------
    str
        One of ``1m, 5m, 15m, 1h, 1d``.

    Raises
    ------
    DataError
        When the spacing matches no known timeframe (pass the timeframe explicitly).
    """
    t, tick = _wall_ticks(timestamps)
    day = TIMEFRAMES["1d"].nanos // tick

    def all_midnight() -> bool:  # asked only when the spacing alone does not decide
        return bool(np.all(t % day == 0))

    diffs = np.diff(t)
    low = diffs.min() if len(diffs) else 0
    if low < 0:  # not in time order
        t = np.sort(pd.unique(t))  # hashing, then sorting the distinct times only
        diffs = np.diff(t)
        low = diffs.min() if len(diffs) else 0
    elif low == 0:
        diffs = diffs[diffs != 0]  # repeated times (several symbols, or duplicates)
        low = diffs.min() if len(diffs) else 0
    if len(diffs) == 0:
        if all_midnight():
            return "1d"
        raise DataError("cannot detect the timeframe from a single timestamp; pass --timeframe")
    step = _most_common(diffs, int(low)) * tick
    for name, tf in TIMEFRAMES.items():
        if step == tf.nanos:
            return name
    if step >= day * tick and all_midnight():
        return "1d"
    raise DataError(
        f"cannot detect the timeframe: the most common spacing is {pd.Timedelta(step)}; "
        "pass --timeframe"
    )


TICK_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
"""Nanoseconds per count of a datetime64 unit (what ``DatetimeIndex.asi8`` counts in)."""


def _wall_ticks(timestamps: pd.Series | pd.DatetimeIndex | np.ndarray) -> tuple[np.ndarray, int]:
    """int64 counts of the wall-clock times (the zone's local time for aware values) in their
    own unit, and the nanoseconds of one count (no conversion to nanoseconds)."""
    if isinstance(timestamps, pd.DatetimeIndex):
        values = timestamps
    elif isinstance(timestamps, pd.Series | np.ndarray) and (
        isinstance(timestamps.dtype, pd.DatetimeTZDtype) or timestamps.dtype.kind == "M"
    ):
        values = pd.DatetimeIndex(timestamps)
    else:
        values = pd.DatetimeIndex(pd.to_datetime(np.asarray(timestamps)))
    if values.tz is not None and str(values.tz) != "UTC":  # UTC: the stored values already
        values = values.tz_localize(None)
    tick = TICK_NS.get(values.unit)
    if tick is None:
        values, tick = values.as_unit("ns"), 1
    return np.asarray(values.asi8), tick


def _most_common(diffs: np.ndarray, low: int) -> int:
    """The most frequent value (the smallest of equally frequent ones), in O(n); ``low`` is
    the smallest value."""
    if 2 * int(np.count_nonzero(diffs == low)) > len(diffs):  # a majority: nothing to count
        return int(low)
    counts = pd.Series(diffs).value_counts(sort=False)
    top = counts.to_numpy()
    return int(counts.index.to_numpy()[top == top.max()].min())
