"""Finer bars for resolving intrabar ambiguity (policy ``finer_bars``).

When a bar's range touches both the stop and the target, the kernel scans the finer bars inside
that bar, in time order, to see which level was reached first. This module maps finer bars
(e.g. 1-minute) onto the bars of the backtest panel (e.g. daily) and flattens them into the
arrays the kernel reads: for bar ``t`` and symbol ``j`` the finer bars are
``high[start[t, j]:end[t, j]]`` / ``low[...]`` (``start = -1``: none available).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphaforge.core.calendar import Calendar, parse_calendar
from alphaforge.core.panel import Panel


def fine_arrays(
    panel: Panel, fine: Panel, calendar: str | Calendar = "XNYS"
) -> dict[str, np.ndarray]:
    """Map the bars of ``fine`` onto the bars of ``panel`` (same symbols where present).

    A finer bar belongs to the panel bar whose interval contains its start: for a daily panel,
    the date of the finer bar in the calendar's time zone (America/New_York for XNYS, UTC for 24/7);
    for an intraday panel, the last panel bar starting at or before it.
    """
    n_bars, n_sym = panel.shape
    start = np.full((n_bars, n_sym), -1, dtype=np.int64)
    end = np.full((n_bars, n_sym), -1, dtype=np.int64)
    highs: list[np.ndarray] = []
    lows: list[np.ndarray] = []
    offset = 0
    owner = _owner_bar(panel, fine.index, parse_calendar(calendar))
    for j, sym in enumerate(panel.symbols):
        if sym not in fine.symbols:
            continue
        k = fine.column(sym)
        valid = ~np.isnan(fine.high[:, k]) & (owner >= 0)
        rows = np.flatnonzero(valid)
        if rows.size == 0:
            continue
        own = owner[rows]
        highs.append(fine.high[rows, k])
        lows.append(fine.low[rows, k])
        bars, first = np.unique(own, return_index=True)
        last = np.append(first[1:], own.size)
        start[bars, j] = offset + first
        end[bars, j] = offset + last
        offset += rows.size
    return {
        "start": start,
        "end": end,
        "high": np.concatenate(highs) if highs else np.empty(0),
        "low": np.concatenate(lows) if lows else np.empty(0),
    }


def _owner_bar(panel: Panel, fine_index: pd.DatetimeIndex, calendar: Calendar) -> np.ndarray:
    """Index of the panel bar that contains each finer bar (-1 when none)."""
    if panel.timeframe == "1d":
        local = fine_index.tz_convert(calendar.tz)
        days = local.tz_localize(None).normalize().tz_localize("UTC")
        pos = panel.index.get_indexer(days)
        return pos.astype(np.int64)
    pos = panel.index.searchsorted(fine_index, side="right") - 1
    return pos.astype(np.int64)
