"""The live node's view of the next bar: its trading day and week from the exchange calendar,
the ids the run clock gives that bar once it has arrived."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd
import pytest

from alphaforge.core.calendar import infer_calendar
from alphaforge.services.paper import next_period_of
from alphaforge.sim.inputs import RunClock


def _ids(
    index: pd.DatetimeIndex, timeframe: str, calendar: str
) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    """(day, week) the run clock gives each bar, and what next_period_of predicted for it."""
    cal = infer_calendar(calendar)
    day, week = cal.period_ids(index, timeframe)
    clock = RunClock(timeframe, cal, 252.0, day, week)
    panel = SimpleNamespace(index=index[:-1])  # the bars so far: the next one is not in yet
    nxt = next_period_of(clock)
    return [(int(day[t + 1]), int(week[t + 1])) for t in range(len(index) - 1)], [
        nxt(panel, t)  # type: ignore[arg-type]
        for t in range(len(index) - 1)
    ]


@pytest.mark.parametrize(
    ("timeframe", "calendar", "index"),
    [
        # daily sessions over a weekend, Good Friday and an early close (2019-07-03)
        ("1d", "XNYS", pd.DatetimeIndex(["2019-04-17", "2019-04-18", "2019-04-22",
                                          "2019-04-23"], tz="UTC")),
        ("1d", "XNYS", pd.DatetimeIndex(["2019-07-02", "2019-07-03", "2019-07-05"], tz="UTC")),
        # hourly bars across the last bar of a session and into a Monday
        ("1h", "XNYS", pd.DatetimeIndex(["2019-04-18 18:30", "2019-04-18 19:30",
                                          "2019-04-22 13:30", "2019-04-22 14:30"], tz="UTC")),
        # crypto around the clock: daily bars over midnight UTC and a weekend
        ("1d", "24/7", pd.date_range("2021-01-01", periods=5, freq="D", tz="UTC")),
    ],
)  # fmt: skip
def test_the_next_bars_day_and_week_are_those_the_run_clock_gives_it(
    timeframe: str, calendar: str, index: pd.DatetimeIndex
) -> None:
    actual, predicted = _ids(index, timeframe, calendar)
    assert predicted == actual
    assert len({d for d, _w in actual}) > 1  # the cases do cross days
