"""Trading-day / week ids and rebalance schedules of the vectorized runner."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import pytest

from alphaforge.sim.vectorized import period_ids, rebalance_mask


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_period_ids_do_not_depend_on_the_index_unit(unit: Literal["s", "ms", "us", "ns"]) -> None:
    idx = pd.date_range("2024-01-29", periods=7, freq="B", tz="UTC").as_unit(unit)
    day, week = period_ids(idx, "1d", "XNYS")
    # days since 1970-01-01: 2024-01-29 is day 19751; weeks start on Monday
    expected_days = np.array([19751, 19752, 19753, 19754, 19755, 19758, 19759])
    np.testing.assert_array_equal(day, expected_days)
    np.testing.assert_array_equal(week, [week[0]] * 5 + [week[0] + 1] * 2)


def test_intraday_days_are_new_york_dates() -> None:
    # 2024-01-02 20:30 UTC is 15:30 in New York, 2024-01-03 00:30 UTC is 19:30 on Jan 2
    idx = pd.DatetimeIndex(
        ["2024-01-02 14:30", "2024-01-02 20:30", "2024-01-03 00:30", "2024-01-03 14:30"],
        tz="UTC",
    )
    day, _ = period_ids(idx, "1h", "XNYS")
    assert day[0] == day[1] == day[2] and day[3] == day[0] + 1
    day_utc, _ = period_ids(idx, "1h", "24/7")  # crypto days are UTC dates
    assert day_utc[1] != day_utc[2]


@pytest.mark.parametrize(
    ("schedule", "true_at"),
    [
        ("every_bar", list(range(8))),
        # Fri 2024-03-29 closes March (the last bar of the month); Fri 03-22 closes a week
        ("monthly", [4]),
        ("quarterly", [4]),
        ("weekly", [4]),
        ("daily", list(range(7))),
    ],
)
def test_rebalance_mask_marks_the_last_bar_of_each_period(
    schedule: str, true_at: list[int]
) -> None:
    # Mon 03-25 .. Fri 03-29, Mon 04-01 .. Wed 04-03
    idx = pd.date_range("2024-03-25", periods=8, freq="B", tz="UTC").as_unit("us")
    day, week = period_ids(idx, "1d", "XNYS")
    got = np.flatnonzero(rebalance_mask(idx, schedule, day, week)).tolist()
    assert got == true_at
