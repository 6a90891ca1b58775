"""Schedule: cycle times at bar closes, catch-up after downtime, stale closes, waiting.

Expected times are written by hand from the NYSE (XNYS) 2019 calendar: sessions 09:30-16:00 New
York time; 2019-11-28 (Thanksgiving) and 2019-07-04 are holidays; 2019-07-03 and 2019-11-29
close at 13:00; daylight saving time started on 2019-03-10. Hourly bars are aligned on the open
(closes 10:30, 11:30 ... 15:30 and the short 16:00 bar).
"""

from __future__ import annotations

import itertools
import threading

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alphaforge.core.errors import ConfigError
from alphaforge.data.clock import ExchangeClock
from alphaforge.engine.schedule import Due, Schedule, ScheduleSpec, sleep_until

NY = "America/New_York"
NYSE = ExchangeClock("XNYS")
CRYPTO = ExchangeClock("24/7")


def et(value: str) -> pd.Timestamp:
    return pd.Timestamp(value, tz=NY)


def utc(value: str) -> pd.Timestamp:
    return pd.Timestamp(value, tz="UTC")


def hourly(**kwargs: object) -> Schedule:
    return Schedule(ScheduleSpec("1h", **kwargs), NYSE)  # type: ignore[arg-type]


# -- spec -----------------------------------------------------------------------------------


def test_spec_defaults_and_aliases() -> None:
    spec = ScheduleSpec("60m")
    assert spec.timeframe == "1h"
    assert spec.delay == pd.Timedelta(seconds=5)
    assert spec.period == pd.Timedelta(hours=1)
    assert spec.tolerance == pd.Timedelta(hours=1, seconds=5)
    assert ScheduleSpec("1d", every_minutes=30).period == pd.Timedelta(minutes=30)
    assert ScheduleSpec("1m", tolerance_seconds=90).tolerance == pd.Timedelta(seconds=90)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timeframe": "2h"},
        {"timeframe": "1h", "every_minutes": 0},
        {"timeframe": "1h", "every_minutes": True},
        {"timeframe": "1h", "every_minutes": 1.5},
        {"timeframe": "1h", "delay_seconds": -1.0},
        {"timeframe": "1h", "delay_seconds": float("nan")},
        {"timeframe": "1h", "tolerance_seconds": 0.0},
    ],
)
def test_spec_refuses_bad_values(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        ScheduleSpec(**kwargs)  # type: ignore[arg-type]


# -- due ------------------------------------------------------------------------------------


def test_current_close_inside_a_session() -> None:
    due = hourly().due(et("2019-12-20 16:00"), et("2019-12-23 10:30:05"))
    assert due == Due((), et("2019-12-23 10:30"), et("2019-12-23 11:30:05"))
    assert due.last == et("2019-12-23 10:30")
    assert due.skipped == 0 and due.skipped_range is None


def test_nothing_due_before_the_delay() -> None:
    due = hourly().due(et("2019-12-20 16:00"), et("2019-12-23 10:30:04"))
    assert due.current is None and due.catch_up == ()
    assert due.next_at == et("2019-12-23 10:30:05")
    assert due.last is None


def test_catch_up_after_three_days_down() -> None:
    # Down from Tuesday's close to Friday 11:30: Wednesday's seven closes and Friday's 10:30
    # are caught up without orders (Thursday is Thanksgiving); 11:30 trades.
    due = hourly().due(et("2019-11-26 16:00"), et("2019-11-29 11:30:05"))
    wednesday = ["10:30", "11:30", "12:30", "13:30", "14:30", "15:30", "16:00"]
    expected = [et(f"2019-11-27 {t}") for t in wednesday] + [et("2019-11-29 10:30")]
    assert list(due.catch_up) == expected
    assert due.current == et("2019-11-29 11:30")
    assert not due.stale
    assert due.skipped == 8
    assert due.skipped_range == (et("2019-11-27 10:30"), et("2019-11-29 10:30"))
    assert due.next_at == et("2019-11-29 12:30:05")
    assert "catching up 8 closes" in due.describe()


def test_stale_latest_close_is_not_current() -> None:
    # Back at 14:30 on an early-close day: the 13:00 close is 90 minutes old (tolerance 1h 5s).
    due = hourly().due(et("2019-11-26 16:00"), et("2019-11-29 14:30"))
    assert due.current is None
    assert due.stale
    assert due.catch_up[-1] == et("2019-11-29 13:00")
    assert due.skipped == 11  # Wednesday 7, Friday 10:30, 11:30, 12:30, 13:00
    assert due.last == et("2019-11-29 13:00")
    assert due.next_at == et("2019-12-02 10:30:05")
    assert "stale" in due.describe()


def test_latest_close_exactly_at_the_tolerance_still_trades() -> None:
    due = hourly().due(et("2019-11-29 12:30"), et("2019-11-29 14:00:05"))
    assert due.current == et("2019-11-29 13:00")


def test_daily_closes() -> None:
    daily = Schedule(ScheduleSpec("1d"), NYSE)
    fresh = daily.due(et("2019-11-27 16:00"), et("2019-11-29 13:00:05"))
    assert fresh.current == et("2019-11-29 13:00") and fresh.catch_up == ()
    assert fresh.next_at == et("2019-12-02 16:00:05")
    # Back on the morning after Independence Day: the 3rd's 13:00 close is 44 hours old.
    stale = daily.due(et("2019-07-02 16:00"), et("2019-07-05 09:00"))
    assert stale.current is None and stale.stale
    assert stale.catch_up == (et("2019-07-03 13:00"),)
    assert stale.next_at == et("2019-07-05 16:00:05")


def test_first_start_looks_only_for_a_fresh_close() -> None:
    due = hourly().due(None, et("2019-12-23 10:45"))
    assert due.current == et("2019-12-23 10:30") and due.catch_up == ()
    weekend = hourly().due(None, et("2019-12-21 12:00"))
    assert weekend.current is None and weekend.catch_up == () and not weekend.stale
    assert weekend.next_at == et("2019-12-23 10:30:05")


def test_daylight_saving_change() -> None:
    due = hourly().due(et("2019-03-08 16:00"), et("2019-03-11 10:30:05"))
    assert due.current == utc("2019-03-11 14:30") and due.catch_up == ()
    assert due.next_at == utc("2019-03-11 15:30:05")
    before = hourly().due(et("2019-03-08 14:30"), et("2019-03-08 16:00:05"))
    assert before.catch_up == (utc("2019-03-08 20:30"),)
    assert before.current == utc("2019-03-08 21:00")
    assert before.next_at == utc("2019-03-11 14:30:05")


def test_every_minutes_skips_closed_hours() -> None:
    every = Schedule(ScheduleSpec("1d", every_minutes=30), NYSE)
    closes = every.closes(et("2019-11-29"), et("2019-11-29 23:59"))
    assert list(closes) == [
        et(f"2019-11-29 {t}")
        for t in ("10:00", "10:30", "11:00", "11:30", "12:00", "12:30", "13:00")
    ]
    due = every.due(et("2019-11-29 12:00"), et("2019-11-29 12:40"))
    assert due.current == et("2019-11-29 12:30") and due.catch_up == ()
    after = every.due(et("2019-11-29 13:00"), et("2019-11-29 13:10"))
    assert after.current is None and after.catch_up == ()
    assert after.next_at == et("2019-12-02 10:00:05")  # no cycle on the weekend


def test_every_minutes_includes_a_close_off_the_grid() -> None:
    london = Schedule(ScheduleSpec("1d", every_minutes=60), ExchangeClock("LSE"))
    closes = london.closes(utc("2019-11-29"), utc("2019-11-29 23:59"))
    assert closes[-2:].tolist() == [utc("2019-11-29 16:00"), utc("2019-11-29 16:30")]
    assert closes[0] == utc("2019-11-29 09:00")


def test_continuous_calendar_runs_on_weekends() -> None:
    crypto = Schedule(ScheduleSpec("1h", delay_seconds=2), CRYPTO)
    due = crypto.due(utc("2019-07-06 09:00"), utc("2019-07-06 12:00:02"))
    assert due.catch_up == (utc("2019-07-06 10:00"), utc("2019-07-06 11:00"))
    assert due.current == utc("2019-07-06 12:00")
    assert due.next_at == utc("2019-07-06 13:00:02")
    every = Schedule(ScheduleSpec("1m", every_minutes=15, delay_seconds=0), CRYPTO)
    assert len(every.closes(utc("2019-07-06 00:00:01"), utc("2019-07-07 00:00"))) == 96


# -- sleep_until ----------------------------------------------------------------------------


class FakeTime:
    def __init__(self, now: pd.Timestamp) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def clock(self) -> pd.Timestamp:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += pd.Timedelta(seconds=seconds)


def test_sleep_until_steps_with_the_injected_clock() -> None:
    t = FakeTime(utc("2019-07-05 14:00"))
    assert sleep_until(utc("2019-07-05 14:02:30"), t.clock, t.sleep)
    assert t.sleeps == [60.0, 60.0, 30.0]
    assert sleep_until(utc("2019-07-05 14:00"), t.clock, t.sleep)  # already past
    assert len(t.sleeps) == 3


def test_sleep_until_follows_a_clock_that_jumps() -> None:
    t = FakeTime(utc("2019-07-05 14:00"))

    def suspend(seconds: float) -> None:
        t.sleeps.append(seconds)
        t.now += pd.Timedelta(hours=1)

    assert sleep_until(utc("2019-07-05 14:30"), t.clock, suspend, max_step=10)
    assert t.sleeps == [10]


def test_sleep_until_stops() -> None:
    t = FakeTime(utc("2019-07-05 14:00"))
    stop = threading.Event()

    def sleep_then_stop(seconds: float) -> None:
        t.sleep(seconds)
        stop.set()

    assert not sleep_until(utc("2019-07-05 15:00"), t.clock, sleep_then_stop, stop)
    assert t.sleeps == [60.0]
    assert not sleep_until(utc("2019-07-05 15:00"), t.clock, t.sleep, stop)
    assert t.sleeps == [60.0]


def test_sleep_until_waits_on_the_stop_event_by_default() -> None:
    t = FakeTime(utc("2019-07-05 14:00"))
    stop = threading.Event()
    stop.set()
    assert not sleep_until(utc("2019-07-05 15:00"), t.clock, stop_event=stop)


# -- properties -----------------------------------------------------------------------------

SPECS = st.builds(
    ScheduleSpec,
    timeframe=st.sampled_from(["1m", "5m", "15m", "1h", "1d"]),
    every_minutes=st.sampled_from([None, None, 7, 15, 60]),
    delay_seconds=st.sampled_from([0.0, 5.0, 90.0]),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    spec=SPECS,
    crypto=st.booleans(),
    now_s=st.integers(0, 365 * 86_400),
    down_s=st.one_of(st.none(), st.integers(0, 4 * 86_400)),
)
def test_due_properties(spec: ScheduleSpec, crypto: bool, now_s: int, down_s: int | None) -> None:
    schedule = Schedule(spec, CRYPTO if crypto else NYSE)
    now = utc("2019-01-01") + pd.Timedelta(seconds=now_s)
    last_done = None if down_s is None else now - pd.Timedelta(seconds=down_s)
    due = schedule.due(last_done, now)
    cutoff = now - spec.delay
    handled = [*due.catch_up, *([due.current] if due.current is not None else [])]
    assert all(a < b for a, b in itertools.pairwise(handled))
    assert all(c <= cutoff for c in handled)
    if last_done is not None:
        assert all(c > last_done for c in handled)
        expected = schedule.closes(last_done, cutoff)
        assert handled == [c for c in expected if c > last_done]  # nothing lost
    if due.current is not None:
        assert now - due.current <= spec.tolerance  # never trades a stale close
        assert not due.stale
    assert due.stale == (due.current is None and len(handled) > 0 and last_done is not None)
    assert due.next_at > now
    following = due.next_at - spec.delay
    assert schedule.next_close_after(cutoff) == following
    assert len(schedule.closes(cutoff + pd.Timedelta("1ns"), following)) == 1
