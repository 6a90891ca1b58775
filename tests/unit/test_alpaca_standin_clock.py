"""The Alpaca stand-in's ``/v2/clock`` across the end of daylight saving time."""

from __future__ import annotations

import pandas as pd
import pytest

from alphaforge.testing.alpaca_model import clock_json


@pytest.mark.parametrize(
    ("now", "next_open"),
    [
        ("2014-11-03 00:00", "2014-11-03T09:30:00-05:00"),  # Sunday 19:00, the 25-hour day
        ("2015-11-02 00:00", "2015-11-02T09:30:00-05:00"),
        ("2014-11-01 12:00", "2014-11-03T09:30:00-05:00"),  # Saturday, DST ends next day
        ("2014-03-10 00:00", "2014-03-10T09:30:00-04:00"),  # Sunday, the 23-hour day
        ("2014-01-03 21:30", "2014-01-06T09:30:00-05:00"),  # Friday after the close
    ],
)
def test_the_clock_finds_the_next_session_around_dst(now: str, next_open: str) -> None:
    clock = clock_json(pd.Timestamp(now, tz="UTC"))
    assert clock["next_open"] == next_open
    assert not clock["is_open"]
