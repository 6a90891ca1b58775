"""core.calendar.local_nanos against pandas' tz_convert(tz).tz_localize(None), bar by bar.

The fast path looks a zone's offset up once per UTC hour; these cases put bars on and around
DST transitions (a one-hour and a thirty-minute shift), in a half-hour zone, out of order and
at odd nanoseconds, where a shortcut that is not exact would show.
"""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import pandas as pd
import pytest

from alphaforge.core.calendar import CALENDARS, local_nanos

ZONES = ["America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe", "UTC"]


def _ns(index: pd.DatetimeIndex) -> np.ndarray:
    return index.as_unit("ns").asi8


def _pandas(index: pd.DatetimeIndex, tz: str) -> np.ndarray:
    return _ns(index.tz_convert(tz).tz_localize(None))


@pytest.mark.parametrize("tz", ZONES)
def test_minute_bars_across_transitions(tz: str) -> None:
    # every minute of the days around 2024's spring and autumn transitions in each zone
    parts = [
        pd.date_range(f"{d} 00:00", periods=3 * 1440, freq="1min", tz="UTC")
        for d in (
            "2024-03-09",
            "2024-03-30",
            "2024-04-06",
            "2024-10-05",
            "2024-10-26",
            "2024-11-02",
        )
    ]
    idx = pd.DatetimeIndex(parts[0].append(parts[1:]))
    np.testing.assert_array_equal(local_nanos(_ns(idx), tz), _pandas(idx, tz))


@pytest.mark.parametrize("tz", ZONES)
def test_irregular_and_unordered_timestamps(tz: str) -> None:
    rng = np.random.default_rng(3)
    lo, hi = pd.Timestamp("2019-01-01", tz="UTC").value, pd.Timestamp("2025-01-01", tz="UTC").value
    stamps = np.sort(rng.integers(lo, hi, 50_000))  # odd nanoseconds, several hours apart
    idx = pd.DatetimeIndex(stamps.view("M8[ns]")).tz_localize("UTC")
    np.testing.assert_array_equal(local_nanos(_ns(idx), tz), _pandas(idx, tz))
    shuffled = idx[rng.permutation(idx.size)]
    np.testing.assert_array_equal(local_nanos(_ns(shuffled), tz), _pandas(shuffled, tz))


def test_hand_checked_new_york_transition() -> None:
    # 2024-03-10 06:59 UTC is 01:59 EST; 07:00 UTC is 03:00 EDT (clocks skip 02:00-03:00)
    idx = pd.DatetimeIndex(["2024-03-10 06:59", "2024-03-10 07:00"], tz="UTC")
    got = local_nanos(_ns(idx), "America/New_York")
    want = _ns(pd.DatetimeIndex(["2024-03-10 01:59", "2024-03-10 03:00"]))
    np.testing.assert_array_equal(got, want)


def test_day_ids_of_intraday_bars_use_local_dates() -> None:
    idx = pd.date_range("2024-03-08 20:00", periods=5 * 24 * 60, freq="1min", tz="UTC")
    cal = CALENDARS["XNYS"]
    day = cal.day_ids(idx, "1m")
    np.testing.assert_array_equal(day, _pandas(idx, cal.tz) // 86_400_000_000_000)
    assert day[0] == pd.Timestamp("2024-03-08").value // 86_400_000_000_000  # 15:00 EST
    assert day[-1] == pd.Timestamp("2024-03-13").value // 86_400_000_000_000  # 15:59 EDT


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
@pytest.mark.parametrize(
    "tz",
    ["America/New_York", "America/Havana", "America/St_Johns", "Asia/Kolkata", "UTC"],
)
def test_period_ids_in_any_unit_and_order(tz: str, unit: Literal["s", "ms", "us", "ns"]) -> None:
    # day and week ids in the index's own unit (no conversion to nanoseconds), for times in
    # order (filled day by day) and shuffled, against pandas; Havana changes its clocks at
    # local midnight, St. John's did at 00:01 in 2008, half an hour into a UTC hour: on
    # 2008-11-02 its bars after 00:01 go back to the day before
    cal = dataclasses.replace(CALENDARS["XNYS"], tz=tz)
    rng = np.random.default_rng(4)
    lo, hi = pd.Timestamp("1995-01-01").value, pd.Timestamp("2030-01-01").value
    sets = [
        pd.date_range("2023-01-01", periods=200_000, freq="7min", tz="UTC", unit=unit),
        pd.date_range("2008-11-01 22:00", periods=600, freq="1min", tz="UTC", unit=unit),
        pd.DatetimeIndex(np.sort(rng.integers(lo, hi, 20_000)).view("M8[ns]"))
        .tz_localize("UTC")
        .as_unit(unit),
    ]
    day_ns = 86_400_000_000_000
    for idx in sets:
        for tf, local in (("1m", _pandas(idx, tz)), ("1d", _ns(idx))):
            want = local // day_ns
            day, week = cal.period_ids(idx, tf)
            np.testing.assert_array_equal(day, want)
            np.testing.assert_array_equal(week, (want + 3) // 7)
            np.testing.assert_array_equal(cal.day_ids(idx, tf), want)
            p = rng.permutation(idx.size)
            day, week = cal.period_ids(idx[p], tf)
            np.testing.assert_array_equal(day, want[p])
            np.testing.assert_array_equal(week, (want[p] + 3) // 7)
