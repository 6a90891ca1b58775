"""An end date alone is the whole day: a session of minute bars was dropped when ``--end`` /
``--to`` / ``end:`` named its day (the bars after midnight were past the end)."""

from __future__ import annotations

import pandas as pd
import pytest

from alphaforge.core.errors import PeriodError
from alphaforge.core.panel import Panel
from alphaforge.data.sample import generate_intraday
from alphaforge.data.schema import to_utc_end
from alphaforge.services.run_checks import slice_dates


@pytest.fixture(scope="module")
def minutes() -> Panel:
    bars = generate_intraday(seed=3, symbols=["SYN01"], days=5)
    return Panel.from_long(bars[["symbol", "timestamp", "open", "high", "low", "close",
                                 "volume"]], timeframe="1m")  # fmt: skip


def test_a_date_alone_ends_after_the_days_last_bar(minutes: Panel) -> None:
    days = sorted({ts.date() for ts in minutes.index})
    day = str(days[1])
    one = slice_dates(minutes, day, day)
    assert len(one.index) == 390 and {ts.date() for ts in one.index} == {days[1]}
    two = slice_dates(minutes, str(days[0]), day)
    assert len(two.index) == 780  # both sessions, the end's included


def test_a_time_is_taken_as_given(minutes: Panel) -> None:
    day = str(minutes.index[0].date())
    first = minutes.index[0]
    cut = slice_dates(minutes, day, (first + pd.Timedelta(minutes=9)).isoformat())
    assert len(cut.index) == 10
    assert to_utc_end("2023-12-01") == pd.Timestamp("2023-12-01 23:59:59.999999999", tz="UTC")
    assert to_utc_end("2023-12-01T10:00") == pd.Timestamp("2023-12-01 10:00", tz="UTC")


def test_a_day_without_bars_is_still_refused(minutes: Panel) -> None:
    with pytest.raises(PeriodError, match="no bars between 2030-01-01 and 2030-01-02"):
        slice_dates(minutes, "2030-01-01", "2030-01-02")
