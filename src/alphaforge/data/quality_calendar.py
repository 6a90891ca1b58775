"""The calendar side of the data-quality checks of :mod:`alphaforge.data.quality`.

Which calendar each symbol is checked against (:func:`assign_calendars`), and the two checks
made against that calendar's expected bars (:func:`gap_checks`): ``gaps`` (expected bars missing
between a symbol's first and last bar) and ``off_calendar`` (a daily bar on a non-session, an
intraday bar starting outside regular hours).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from alphaforge.data import calendars

if TYPE_CHECKING:
    from alphaforge.data.quality import _Bars, _Masks

UNION_CALENDAR = "union"
_NY = "America/New_York"


def assign_calendars(bars: _Bars, calendar: str | None) -> list[str]:
    """The calendar name of each symbol (in code order)."""
    if calendar is not None:
        if calendar.strip().lower() == UNION_CALENDAR:
            return [UNION_CALENDAR] * bars.n_symbols
        return [calendars.canonical_name(calendar)] * bars.n_symbols
    stamps = pd.DatetimeIndex(bars.ts.astype("datetime64[ns]"))
    if not bars.daily:
        stamps = stamps.tz_localize("UTC").tz_convert(_NY)
    weekend = np.asarray(stamps.day_of_week >= 5)
    weekend_symbols = np.bincount(bars.codes[weekend], minlength=bars.n_symbols) > 0
    return [
        calendars.CRYPTO_CALENDAR
        if ("/" in str(name) or weekend_symbols[i])
        else calendars.DEFAULT_EQUITY_CALENDAR
        for i, name in enumerate(bars.names)
    ]


def _utc_ns(values: pd.Series | pd.DatetimeIndex) -> np.ndarray:
    index = pd.DatetimeIndex(values).tz_convert("UTC").tz_localize(None).as_unit("ns")
    return np.asarray(index.asi8, dtype=np.int64)


def _grid_slots(
    name: str, timeframe: str, ts: np.ndarray, daily: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For sorted-by-symbol ``ts``: on-calendar mask, grid slot of each bar, and the grid.

    Daily bars are on the calendar when they are sessions. Intraday bars are on the calendar
    when they start inside regular hours; their slot is the expected bar containing their start,
    on a grid aligned on the session open, or on the clock when most bars are clock-aligned.
    """
    if name == UNION_CALENDAR:
        grid = np.unique(ts)
        return np.ones(len(ts), dtype=bool), np.searchsorted(grid, ts), grid
    lo, hi = pd.Timestamp(int(ts.min())), pd.Timestamp(int(ts.max()))
    if daily:
        grid = _utc_ns(calendars.sessions(name, lo, hi).tz_localize("UTC"))
        pos = np.searchsorted(grid, ts)
        return (pos < len(grid)) & (grid[np.minimum(pos, len(grid) - 1)] == ts), pos, grid
    # A session's date may differ from the UTC date of its bars by one day.
    lo, hi = lo - pd.Timedelta(days=1), hi + pd.Timedelta(days=1)
    sched = calendars.schedule(name, lo, hi)
    opens, closes = _utc_ns(sched["open"]), _utc_ns(sched["close"])
    idx = np.searchsorted(opens, ts, side="right") - 1
    on = (idx >= 0) & (ts < closes[np.maximum(idx, 0)])
    grid = _utc_ns(calendars.expected_bar_starts(name, timeframe, lo, hi))
    hit = np.isin(ts[on], grid)
    if len(hit) and hit.mean() < 0.5:
        grid = _utc_ns(calendars.expected_bar_starts(name, timeframe, lo, hi, align="clock"))
    slot = np.searchsorted(grid, ts, side="right") - 1
    return on & (slot >= 0), slot, grid


def gap_checks(bars: _Bars, valid: np.ndarray, cal_names: Sequence[str], timeframe: str) -> _Masks:
    """``gaps`` (missing bars after each row, with the first missing timestamp as example) and
    ``off_calendar``, over the ``valid`` rows (one per key, with a timestamp)."""
    n = len(bars.ts)
    off = np.zeros(n, dtype=bool)
    gap_rows = np.zeros(n, dtype=np.int64)
    gap_first = np.zeros(n, dtype=np.int64)
    per_row_cal = np.asarray(cal_names, dtype=object)[bars.codes]
    for name in sorted(set(cal_names)):
        rows = np.flatnonzero(valid & (per_row_cal == name))
        if len(rows) == 0:
            continue
        on, slot, grid = _grid_slots(name, timeframe, bars.ts[rows], bars.daily)
        off[rows[~on]] = True
        grid_rows, grid_slot = rows[on], slot[on]
        if len(grid_rows) < 2:
            continue
        same = bars.codes[grid_rows[1:]] == bars.codes[grid_rows[:-1]]
        missing = np.where(same, np.maximum(grid_slot[1:] - grid_slot[:-1] - 1, 0), 0)
        gap_rows[grid_rows[:-1]] = missing
        has_gap = missing > 0
        gap_first[grid_rows[:-1][has_gap]] = grid[grid_slot[:-1][has_gap] + 1]
    return {"gaps": (gap_rows, gap_first), "off_calendar": (off, None)}
