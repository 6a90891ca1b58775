"""The Calendar value object: names and aliases, bars per year, day/week ids, rebalance keys."""

from __future__ import annotations

import dataclasses
from typing import Literal

import numpy as np
import pandas as pd
import pytest

from alphaforge.core.calendar import (
    ALIASES,
    CALENDARS,
    CONTINUOUS,
    XNYS,
    Calendar,
    infer_calendar,
    parse_calendar,
    rebalance_keys,
    rebalance_mask,
)
from alphaforge.core.errors import ConfigError


@pytest.mark.parametrize("name", ["24/7", "24x7", "24X7", "crypto", "Crypto", "ALWAYS_OPEN"])
def test_every_continuous_spelling_is_one_calendar(name: str) -> None:
    cal = parse_calendar(name)
    assert cal is CONTINUOUS
    assert cal.continuous and not cal.has_sessions and cal.tz == "UTC"


@pytest.mark.parametrize("name", ["XNYS", "xnys", " NYSE ", "nyse"])
def test_nyse_spellings(name: str) -> None:
    assert parse_calendar(name) is XNYS
    assert XNYS.tz == "America/New_York" and XNYS.has_sessions


def test_every_alias_points_into_the_table() -> None:
    assert set(ALIASES.values()) <= set(CALENDARS)
    assert all(alias == alias.upper() for alias in ALIASES)
    assert not set(ALIASES) & set(CALENDARS)


def test_unknown_name_is_refused_with_the_name() -> None:
    with pytest.raises(ConfigError, match=r"calendar: unknown value 'LUNA'.*XNYS"):
        parse_calendar("LUNA")


def test_a_calendar_passes_through_and_is_frozen() -> None:
    assert parse_calendar(XNYS) is XNYS
    with pytest.raises(dataclasses.FrozenInstanceError):
        XNYS.tz = "UTC"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("timeframe", "expected"),
    [
        ("1d", 252.0),
        ("1h", 7 * 252.0),  # 6.5 bars a session, the 15:30-16:00 bar counts
        ("15m", 26 * 252.0),
        ("5m", 78 * 252.0),
        ("1m", 390 * 252.0),
    ],
)
def test_equity_bars_per_year(timeframe: str, expected: float) -> None:
    assert XNYS.periods_per_year(timeframe) == expected


@pytest.mark.parametrize(
    ("timeframe", "expected"),
    [("1d", 365.0), ("1h", 8760.0), ("15m", 35_040.0), ("5m", 105_120.0), ("1m", 525_600.0)],
)
@pytest.mark.parametrize("name", ["24/7", "24x7", "crypto"])
def test_continuous_bars_per_year(name: str, timeframe: str, expected: float) -> None:
    assert parse_calendar(name).periods_per_year(timeframe) == expected


def test_other_exchanges_count_their_own_session() -> None:
    # Tokyo: 09:00-11:30 and 12:30-15:30, 330 minutes: 5.5 hourly bars rounded up to 6.
    assert parse_calendar("XTKS").periods_per_year("1h") == 6 * 252.0
    # London: 08:00-16:30, 510 minutes.
    assert parse_calendar("LSE").periods_per_year("1m") == 510 * 252.0


def test_unknown_timeframe_is_refused() -> None:
    with pytest.raises(ConfigError, match="'3h'"):
        XNYS.periods_per_year("3h")


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_day_ids_do_not_depend_on_the_index_unit(unit: Literal["s", "ms", "us", "ns"]) -> None:
    idx = pd.date_range("2024-01-29", periods=7, freq="B", tz="UTC").as_unit(unit)
    day, week = XNYS.period_ids(idx, "1d")
    # days since 1970-01-01: 2024-01-29 is day 19751; weeks start on Monday
    np.testing.assert_array_equal(day, [19751, 19752, 19753, 19754, 19755, 19758, 19759])
    np.testing.assert_array_equal(week, [week[0]] * 5 + [week[0] + 1] * 2)
    assert day.dtype == np.int64 and week.dtype == np.int64


# 2024-01-02 20:30 UTC is 15:30 in New York, 2024-01-03 00:30 UTC is 19:30 on Jan 2 there.
_EVENING = pd.DatetimeIndex(
    ["2024-01-02 14:30", "2024-01-02 20:30", "2024-01-03 00:30", "2024-01-03 14:30"], tz="UTC"
)


def test_intraday_equity_days_are_new_york_dates() -> None:
    day = XNYS.day_ids(_EVENING, "1h")
    assert day[0] == day[1] == day[2] and day[3] == day[0] + 1


@pytest.mark.parametrize("name", ["24/7", "24x7", "crypto", "always_open"])
def test_intraday_continuous_days_are_utc_dates(name: str) -> None:
    # Every spelling of the continuous calendar counts UTC days, not New York ones.
    day = parse_calendar(name).day_ids(_EVENING, "1h")
    np.testing.assert_array_equal(day, [19724, 19724, 19725, 19725])


def test_intraday_days_follow_the_exchange_time_zone() -> None:
    # 2024-01-02 23:30 UTC is 08:30 on Jan 3 in Tokyo.
    idx = pd.DatetimeIndex(["2024-01-02 01:00", "2024-01-02 23:30"], tz="UTC")
    day = parse_calendar("XTKS").day_ids(idx, "1h")
    assert day[1] == day[0] + 1
    assert XNYS.day_ids(idx, "1h")[1] == day[0]  # the same evening is still Jan 2 in New York


def test_daily_labels_are_session_dates_whatever_the_calendar() -> None:
    idx = pd.date_range("2024-01-02", periods=3, freq="D", tz="UTC")
    for cal in CALENDARS.values():
        np.testing.assert_array_equal(cal.day_ids(idx, "1d"), [19724, 19725, 19726])


@pytest.mark.parametrize(
    ("schedule", "true_at"),
    [
        ("every_bar", list(range(8))),
        # Fri 2024-03-29 closes March (the last bar of the month) and the quarter and a week
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
    day, week = XNYS.period_ids(idx, "1d")
    assert np.flatnonzero(rebalance_mask(schedule, day, week)).tolist() == true_at
    assert np.flatnonzero(XNYS.rebalance_mask(idx, "1d", schedule)).tolist() == true_at


def test_rebalance_keys() -> None:
    day = np.array([19783, 19784, 19814, 19905])  # 2024-03-01, 03-02, 04-01, 07-01
    week = (day + 3) // 7
    assert rebalance_keys("every_bar", day, week) is None
    np.testing.assert_array_equal(rebalance_keys("daily", day, week), day)
    np.testing.assert_array_equal(rebalance_keys("weekly", day, week), week)
    monthly = rebalance_keys("monthly", day, week)
    np.testing.assert_array_equal(
        monthly, [2024 * 12 + 2, 2024 * 12 + 2, 2024 * 12 + 3, 2024 * 12 + 6]
    )
    quarterly = rebalance_keys("quarterly", day, week)
    assert quarterly is not None and monthly is not None
    np.testing.assert_array_equal(quarterly, monthly // 3)


def test_unknown_schedule_is_refused_with_its_name() -> None:
    day = np.arange(3)
    with pytest.raises(ConfigError, match="'yearly'"):
        rebalance_mask("yearly", day, day // 7)


def test_infer_calendar() -> None:
    weekdays = pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC")  # Mon .. Fri
    week = pd.date_range("2024-01-01", periods=7, freq="D", tz="UTC")
    assert infer_calendar() is XNYS
    assert infer_calendar(symbols=["SPY", "QQQ"], index=weekdays) is XNYS
    assert infer_calendar(symbols=["SPY", "BTC/USDT"]) is CONTINUOUS
    assert infer_calendar(symbols=["ETHUSDT"]) is CONTINUOUS
    assert infer_calendar(symbols=["BTC-USD"]) is CONTINUOUS
    assert infer_calendar(index=week) is CONTINUOUS
    # a configured calendar wins over the data, in any spelling
    assert infer_calendar("nyse", symbols=["BTC/USDT"], index=week) is XNYS
    assert infer_calendar("24x7", symbols=["SPY"]) is CONTINUOUS
    with pytest.raises(ConfigError, match="'mars'"):
        infer_calendar("mars")


def test_calendar_is_a_plain_value() -> None:
    copy = Calendar("XNYS", "America/New_York", False, 390, 252)
    assert copy == XNYS and hash(copy) == hash(XNYS)
