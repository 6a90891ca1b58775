"""ExchangeClock on real exchange calendars.

Expected times are published facts about the NYSE (XNYS) 2019 calendar, written by hand: the
regular session is 09:30-16:00 New York time; Independence Day (2019-07-04) is a holiday; the
day before it, the day after Thanksgiving (2019-11-29) and Christmas Eve (2019-12-24) close at
13:00; daylight saving time started on 2019-03-10 and ended on 2019-11-03, so a 16:00 close is
21:00 UTC in winter and 20:00 UTC in summer. The markets were closed from 2001-09-11 to
2001-09-14.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphaforge.core.errors import ConfigError
from alphaforge.core.timeframe import parse_timeframe
from alphaforge.data import calendars
from alphaforge.data.clock import ExchangeClock
from alphaforge.ports import MarketClock

pytestmark = pytest.mark.integration

NY = "America/New_York"


def et(value: str) -> pd.Timestamp:
    return pd.Timestamp(value, tz=NY)


def utc(value: str) -> pd.Timestamp:
    return pd.Timestamp(value, tz="UTC")


def ets(*values: str) -> list[pd.Timestamp]:
    return [et(v) for v in values]


@pytest.fixture(scope="module")
def nyse() -> ExchangeClock:
    return ExchangeClock("XNYS")


@pytest.fixture(scope="module")
def crypto() -> ExchangeClock:
    return ExchangeClock("crypto")


def test_names_and_protocol() -> None:
    clock: MarketClock = ExchangeClock("NYSE")
    assert isinstance(clock, ExchangeClock)
    assert clock.name == "XNYS"
    assert ExchangeClock("24x7").name == "24/7"
    assert ExchangeClock("LSE").name == "XLON"
    with pytest.raises(ConfigError, match="NOPE"):
        ExchangeClock("NOPE")


# -- daily closes ---------------------------------------------------------------------------


def test_daily_closes_around_independence_day(nyse: ExchangeClock) -> None:
    got = nyse.bar_closes(et("2019-07-01"), et("2019-07-07 23:59"), "1d")
    assert list(got) == ets(
        "2019-07-01 16:00", "2019-07-02 16:00", "2019-07-03 13:00", "2019-07-05 16:00"
    )
    assert str(got.tz) == "UTC"


def test_daily_closes_early_closes(nyse: ExchangeClock) -> None:
    got = nyse.bar_closes(et("2019-11-27"), et("2019-12-02 23:00"), "1d")
    assert list(got) == ets("2019-11-27 16:00", "2019-11-29 13:00", "2019-12-02 16:00")
    got = nyse.bar_closes(et("2019-12-23"), et("2019-12-26 23:00"), "1d")
    assert list(got) == ets("2019-12-23 16:00", "2019-12-24 13:00", "2019-12-26 16:00")


def test_daily_closes_across_dst_changes(nyse: ExchangeClock) -> None:
    spring = nyse.bar_closes(utc("2019-03-07"), utc("2019-03-13"), "1d")
    assert list(spring) == [
        utc("2019-03-07 21:00"),
        utc("2019-03-08 21:00"),
        utc("2019-03-11 20:00"),
        utc("2019-03-12 20:00"),
    ]
    autumn = nyse.bar_closes(utc("2019-10-31"), utc("2019-11-06"), "1d")
    assert list(autumn) == [
        utc("2019-10-31 20:00"),
        utc("2019-11-01 20:00"),
        utc("2019-11-04 21:00"),
        utc("2019-11-05 21:00"),
    ]


def test_bounds_are_inclusive(nyse: ExchangeClock) -> None:
    close = et("2019-07-03 13:00")
    assert list(nyse.bar_closes(close, close, "1d")) == [close]
    assert len(nyse.bar_closes(close + pd.Timedelta("1ns"), et("2019-07-04 23:00"), "1d")) == 0
    assert len(nyse.bar_closes(et("2019-07-05"), et("2019-07-01"), "1d")) == 0


def test_before_the_default_window_september_2001(nyse: ExchangeClock) -> None:
    got = ExchangeClock("XNYS").bar_closes(et("2001-09-10"), et("2001-09-18 23:00"), "1d")
    assert list(got) == ets("2001-09-10 16:00", "2001-09-17 16:00", "2001-09-18 16:00")


def test_after_the_default_window() -> None:
    # 2030-07-04 is a Thursday: the 3rd closes early, the 5th is a full session.
    got = ExchangeClock("XNYS").bar_closes(et("2030-07-03"), et("2030-07-05 23:00"), "1d")
    assert list(got) == ets("2030-07-03 13:00", "2030-07-05 16:00")


# -- intraday closes ------------------------------------------------------------------------


def test_hourly_closes_full_day_and_christmas_eve(nyse: ExchangeClock) -> None:
    got = nyse.bar_closes(et("2019-12-23"), et("2019-12-24 23:00"), "1h")
    full = ["10:30", "11:30", "12:30", "13:30", "14:30", "15:30", "16:00"]
    short = ["10:30", "11:30", "12:30", "13:00"]
    expected = [f"2019-12-23 {t}" for t in full] + [f"2019-12-24 {t}" for t in short]
    assert list(got) == ets(*expected)


def test_hourly_closes_across_a_weekend_and_a_holiday(nyse: ExchangeClock) -> None:
    got = nyse.bar_closes(et("2019-07-03 12:00"), et("2019-07-05 12:00"), "1h")
    assert list(got) == ets(
        "2019-07-03 12:30", "2019-07-03 13:00", "2019-07-05 10:30", "2019-07-05 11:30"
    )
    weekend = nyse.bar_closes(et("2019-03-08 15:00"), et("2019-03-11 11:00"), "1h")
    assert list(weekend) == [
        utc("2019-03-08 20:30"),
        utc("2019-03-08 21:00"),
        utc("2019-03-11 14:30"),
    ]


def test_minute_closes(nyse: ExchangeClock) -> None:
    day = nyse.bar_closes(et("2019-11-29"), et("2019-11-29 23:59"), "1m")
    assert len(day) == 210  # 09:30-13:00
    assert day[0] == et("2019-11-29 09:31")
    assert day[-1] == et("2019-11-29 13:00")
    full = nyse.bar_closes(et("2019-11-27"), et("2019-11-27 23:59"), "1m")
    assert len(full) == 390
    assert (full[0], full[-1]) == (et("2019-11-27 09:31"), et("2019-11-27 16:00"))
    assert len(nyse.bar_closes(et("2019-11-28"), et("2019-11-28 23:59"), "1m")) == 0
    assert list(nyse.bar_closes(et("2019-11-27 09:31"), et("2019-11-27 09:33"), "1m")) == ets(
        "2019-11-27 09:31", "2019-11-27 09:32", "2019-11-27 09:33"
    )


def test_fifteen_minute_closes_on_an_early_close(nyse: ExchangeClock) -> None:
    got = nyse.bar_closes(et("2019-11-29"), et("2019-11-29 23:59"), "15m")
    assert len(got) == 14
    assert (got[0], got[-1]) == (et("2019-11-29 09:45"), et("2019-11-29 13:00"))


def test_lunch_break_tokyo() -> None:
    # XTKS 2019: 09:00-11:30 and 12:30-15:00 Tokyo (00:00-02:30, 03:30-06:00 UTC); the 11:00
    # bar ends at the break, no bar starts inside it (bars stay aligned on the open).
    tokyo = ExchangeClock("XTKS")
    got = tokyo.bar_closes(utc("2019-11-29"), utc("2019-11-29 23:00"), "1h")
    assert list(got) == [
        utc("2019-11-29 01:00"),
        utc("2019-11-29 02:00"),
        utc("2019-11-29 02:30"),
        utc("2019-11-29 05:00"),
        utc("2019-11-29 06:00"),
    ]
    assert tokyo.is_open(utc("2019-11-29 02:29"))
    assert not tokyo.is_open(utc("2019-11-29 03:00"))
    assert tokyo.is_open(utc("2019-11-29 03:30"))
    assert tokyo.session_of(utc("2019-11-29 03:00")) == pd.Timestamp("2019-11-29")


@pytest.mark.parametrize("name", ["XNYS", "XLON", "XTKS", "24/7"])
@pytest.mark.parametrize("timeframe", ["1m", "5m", "15m", "1h"])
def test_closes_agree_with_expected_bar_starts(name: str, timeframe: str) -> None:
    """A bar closes at its start plus the timeframe, clipped to the session close."""
    clock = ExchangeClock(name)
    starts = calendars.expected_bar_starts(name, timeframe, "2019-11-25", "2019-12-06")
    sched = calendars.schedule(name, "2019-11-25", "2019-12-06")
    # after the first open: on 24/7 that instant is also the close of the day before's last bar
    lo, hi = sched["open"].iloc[0] + pd.Timedelta("1ns"), sched["close"].iloc[-1]
    got = clock.bar_closes(lo, hi, timeframe)
    assert len(got) == len(starts)
    nanos = pd.Timedelta(parse_timeframe(timeframe).nanos, unit="ns")
    assert bool(((got - starts) <= nanos).all())
    assert bool(((got - starts) > pd.Timedelta(0)).all())
    closes = pd.DatetimeIndex(sched["close"])
    short = (got - starts) < nanos
    if name != "XTKS":  # there the 11:00 bar also ends early, at the lunch break
        assert set(got[short]) <= set(closes)


# -- open, close, session -------------------------------------------------------------------


def test_is_open(nyse: ExchangeClock) -> None:
    assert not nyse.is_open(et("2019-07-04 12:00"))  # holiday
    assert nyse.is_open(et("2019-07-03 12:59"))
    assert not nyse.is_open(et("2019-07-03 13:00"))  # early close
    assert not nyse.is_open(et("2019-07-05 09:29:59"))
    assert nyse.is_open(et("2019-07-05 09:30"))
    assert nyse.is_open(et("2019-07-05 15:59:59"))
    assert not nyse.is_open(et("2019-07-05 16:00"))
    assert not nyse.is_open(et("2019-07-06 12:00"))  # Saturday
    assert nyse.is_open(utc("2019-03-11 13:30"))  # 09:30 EDT
    assert not nyse.is_open(utc("2019-03-08 14:29"))  # 09:29 EST
    assert nyse.is_open(pd.Timestamp("2019-03-11 13:30"))  # naive times are UTC


def test_next_close(nyse: ExchangeClock) -> None:
    assert nyse.next_close(et("2019-11-29 10:00")) == et("2019-11-29 13:00")
    assert nyse.next_close(et("2019-11-29 13:00")) == et("2019-11-29 13:00")
    assert nyse.next_close(et("2019-11-29 13:00:01")) == et("2019-12-02 16:00")
    assert nyse.next_close(et("2019-07-03 14:00")) == et("2019-07-05 16:00")
    assert nyse.next_close(et("2019-03-09 12:00")) == utc("2019-03-11 20:00")


def test_next_open(nyse: ExchangeClock) -> None:
    assert nyse.next_open(et("2019-07-03 14:00")) == et("2019-07-05 09:30")
    assert nyse.next_open(et("2019-07-05 09:30")) == et("2019-07-05 09:30")
    assert nyse.next_open(et("2019-07-05 09:30:01")) == et("2019-07-08 09:30")
    assert nyse.next_open(et("2019-03-08 17:00")) == utc("2019-03-11 13:30")
    assert nyse.next_open(et("2019-11-01 17:00")) == utc("2019-11-04 14:30")


def test_session_of(nyse: ExchangeClock) -> None:
    day = pd.Timestamp("2019-11-29")
    assert nyse.session_of(et("2019-11-29 09:30")) == day
    assert nyse.session_of(et("2019-11-29 13:00")) == day  # the close belongs to its session
    assert nyse.session_of(et("2019-11-29 13:00:01")) is None
    assert nyse.session_of(et("2019-11-29 09:29")) is None
    assert nyse.session_of(et("2019-07-04 12:00")) is None
    assert nyse.session_of(et("2019-07-06 12:00")) is None


def test_continuous_calendar(crypto: ExchangeClock) -> None:
    assert crypto.is_open(utc("2019-07-06 03:00"))  # Saturday
    assert crypto.is_open(utc("2019-07-04 00:00"))
    days = crypto.bar_closes(utc("2019-07-05 12:00"), utc("2019-07-08 00:00"), "1d")
    assert list(days) == [utc("2019-07-06"), utc("2019-07-07"), utc("2019-07-08")]
    hours = crypto.bar_closes(utc("2019-07-06 00:00:01"), utc("2019-07-08 00:00"), "1h")
    assert len(hours) == 48
    assert hours[0] == utc("2019-07-06 01:00")
    assert crypto.session_of(utc("2019-07-06 00:00")) == pd.Timestamp("2019-07-05")
    assert crypto.session_of(utc("2019-07-06 00:00:01")) == pd.Timestamp("2019-07-06")
    assert crypto.next_close(utc("2019-07-06 10:00")) == utc("2019-07-07")
    assert crypto.next_open(utc("2019-07-06 10:00")) == utc("2019-07-07")


# -- properties -----------------------------------------------------------------------------

CLOCKS = {name: ExchangeClock(name) for name in ("XNYS", "XLON", "XTKS", "24/7")}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(sorted(CLOCKS)),
    timeframe=st.sampled_from(["1m", "5m", "15m", "1h", "1d"]),
    start_min=st.integers(0, 3 * 365 * 1440),
    span_min=st.integers(0, 6 * 1440),
)
def test_bar_closes_properties(name: str, timeframe: str, start_min: int, span_min: int) -> None:
    clock = CLOCKS[name]
    start = utc("2018-01-01") + pd.Timedelta(minutes=start_min)
    end = start + pd.Timedelta(minutes=span_min)
    closes = clock.bar_closes(start, end, timeframe)
    assert bool((closes >= start).all()) and bool((closes <= end).all())
    assert closes.is_monotonic_increasing and closes.is_unique
    for c in closes:
        assert clock.session_of(c) is not None  # inside a session, or at its close
        assert clock.is_open(c - pd.Timedelta("1ns"))  # the bar's last instant traded
