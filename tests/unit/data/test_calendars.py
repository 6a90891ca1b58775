"""Exchange calendar facts.

Expected values are published facts about the NYSE (XNYS) 2024 and 2025 calendars, independently
listed in the project's dependency notes and on the exchange's own holiday page: 252 sessions in
2024, ten weekday holidays, three 13:00 ET early closes, and the unscheduled closure for the
national day of mourning on 2025-01-09.
"""

from __future__ import annotations

import pandas as pd
import pytest

from alphaforge.core.errors import ConfigError
from alphaforge.data import calendars


def test_xnys_2024_has_252_sessions() -> None:
    # Bounds that are not sessions (New Year's Day, a Tuesday holiday; a Tuesday session) are fine.
    assert len(calendars.sessions("XNYS", "2024-01-01", "2024-12-31")) == 252


def test_xnys_2024_weekday_holidays() -> None:
    expected = pd.DatetimeIndex(
        [
            "2024-01-01",  # New Year's Day
            "2024-01-15",  # Martin Luther King Jr. Day
            "2024-02-19",  # Presidents' Day
            "2024-03-29",  # Good Friday
            "2024-05-27",  # Memorial Day
            "2024-06-19",  # Juneteenth
            "2024-07-04",  # Independence Day
            "2024-09-02",  # Labor Day
            "2024-11-28",  # Thanksgiving
            "2024-12-25",  # Christmas
        ]
    ).as_unit("ns")
    got = calendars.holidays("XNYS", "2024-01-01", "2024-12-31")
    assert list(got) == list(expected)
    # 366 days in 2024 minus 104 weekend days minus 10 holidays = 252 sessions.
    assert 366 - 104 - len(got) == 252


@pytest.mark.parametrize("day", ["2024-07-03", "2024-11-29", "2024-12-24"])
def test_xnys_2024_early_closes_at_13_et(day: str) -> None:
    assert calendars.is_early_close("XNYS", day)
    close = calendars.session_close("XNYS", day).tz_convert("America/New_York")
    assert (close.hour, close.minute) == (13, 0)


def test_regular_session_is_not_early_close() -> None:
    assert not calendars.is_early_close("XNYS", "2024-07-02")
    close = calendars.session_close("XNYS", "2024-07-02").tz_convert("America/New_York")
    assert (close.hour, close.minute) == (16, 0)


def test_early_closes_listing_2024() -> None:
    got = calendars.early_closes("XNYS", "2024-01-01", "2024-12-31")
    assert [d.strftime("%Y-%m-%d") for d in got] == ["2024-07-03", "2024-11-29", "2024-12-24"]


def test_day_of_mourning_2025_01_09_is_not_a_session() -> None:
    assert not calendars.is_session("XNYS", "2025-01-09")
    assert calendars.is_session("XNYS", "2025-01-08")
    assert pd.Timestamp("2025-01-09") in calendars.holidays("XNYS", "2025-01-06", "2025-01-10")


def test_dates_before_default_window() -> None:
    # 1999-11-01 .. 1999-11-05 is a plain Monday-to-Friday week with no holiday: 5 sessions.
    got = calendars.sessions("XNYS", "1999-10-30", "1999-11-06")
    assert [d.day for d in got] == [1, 2, 3, 4, 5]
    # 9/11: the NYSE stayed closed from 2001-09-11 through 2001-09-14.
    got = calendars.sessions("XNYS", "2001-09-10", "2001-09-17")
    assert [d.day for d in got] == [10, 17]


def test_crypto_aliases_are_always_open() -> None:
    for name in ("24/7", "crypto", "ALWAYS_OPEN"):
        # January 2024 has 31 days; a 24/7 market has a session on each of them.
        assert len(calendars.sessions(name, "2024-01-01", "2024-01-31")) == 31
        assert len(calendars.holidays(name, "2024-01-01", "2024-12-31")) == 0


def test_expected_minute_bars_honour_holiday_and_early_close() -> None:
    bars = calendars.expected_bar_starts("XNYS", "1m", "2024-07-01", "2024-07-05")
    # 07-01, 07-02, 07-05 are full 6.5 h sessions (390 one-minute bars); 07-03 closes at 13:00 ET
    # (210 bars from 09:30); 07-04 is a holiday.
    assert len(bars) == 3 * 390 + 210
    assert bars[0] == pd.Timestamp("2024-07-01 13:30", tz="UTC")  # 09:30 EDT
    assert bars[-1] == pd.Timestamp("2024-07-05 19:59", tz="UTC")  # 15:59 EDT
    day, next_day = pd.Timestamp("2024-07-03", tz="UTC"), pd.Timestamp("2024-07-04", tz="UTC")
    on_third = bars[(bars >= day) & (bars < next_day)]
    assert on_third[-1] == pd.Timestamp("2024-07-03 16:59", tz="UTC")  # 12:59 EDT


def test_expected_hourly_bars_are_aligned_on_the_open() -> None:
    bars = calendars.expected_bar_starts("XNYS", "1h", "2024-01-02", "2024-01-02")
    # 09:30 .. 15:30 EST: seven bars, the last one half an hour long.
    assert len(bars) == 7
    assert bars[0] == pd.Timestamp("2024-01-02 14:30", tz="UTC")


def test_expected_crypto_hours() -> None:
    bars = calendars.expected_bar_starts("24/7", "1h", "2024-03-01", "2024-03-02")
    assert len(bars) == 48
    assert bars[0] == pd.Timestamp("2024-03-01 00:00", tz="UTC")


def test_unknown_calendar_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="calendar"):
        calendars.get_calendar("NOPE")
