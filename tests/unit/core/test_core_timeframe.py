"""Timeframes: one table, aliases, and the two ways of finding a series' timeframe."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphaforge.core.errors import ConfigError, DataError
from alphaforge.core.timeframe import (
    TIMEFRAMES,
    Timeframe,
    detect_timeframe,
    infer_timeframe,
    parse_timeframe,
    timeframe_minutes,
)
from alphaforge.data import schema


@pytest.mark.parametrize(
    ("text", "name", "minutes"),
    [
        ("1m", "1m", 1),
        ("1MIN", "1m", 1),
        ("5min", "5m", 5),
        ("15m", "15m", 15),
        ("60m", "1h", 60),
        (" 1h ", "1h", 60),
        ("D", "1d", 1440),
        ("1day", "1d", 1440),
    ],
)
def test_parse(text: str, name: str, minutes: int) -> None:
    tf = parse_timeframe(text)
    assert tf is TIMEFRAMES[name] and tf.minutes == minutes == timeframe_minutes(text)
    assert parse_timeframe(tf) is tf and str(tf) == name
    assert tf.is_intraday == (name != "1d")


def test_unknown_timeframe_names_the_value() -> None:
    with pytest.raises(ConfigError, match=r"timeframe: unknown value '3h'"):
        parse_timeframe("3h")


def test_the_data_layer_uses_the_same_types() -> None:
    assert schema.Timeframe is Timeframe and schema.parse_timeframe is parse_timeframe
    assert schema.TIMEFRAMES is TIMEFRAMES


def test_infer_picks_the_nearest_supported_spacing() -> None:
    daily = pd.bdate_range("2024-01-01", periods=60, tz="UTC")
    assert infer_timeframe(daily) == "1d"
    assert infer_timeframe(pd.date_range("2024-01-01", periods=50, freq="h", tz="UTC")) == "1h"
    assert infer_timeframe(pd.date_range("2024-01-01", periods=50, freq="7min")) == "5m"
    with pytest.raises(ConfigError, match="two timestamps"):
        infer_timeframe(pd.DatetimeIndex([pd.Timestamp("2024-01-01", tz="UTC")]))


def test_detect_needs_an_exact_spacing() -> None:
    assert detect_timeframe(pd.date_range("2024-01-02 14:30", periods=20, freq="5min")) == "5m"
    assert detect_timeframe(pd.bdate_range("2024-01-01", periods=30)) == "1d"
    assert detect_timeframe(np.array(["2024-01-05"], dtype="datetime64[ns]")) == "1d"
    with pytest.raises(DataError, match="0 days 00:07:00"):
        detect_timeframe(pd.date_range("2024-01-01", periods=20, freq="7min"))
    with pytest.raises(DataError, match="single timestamp"):
        detect_timeframe(pd.DatetimeIndex([pd.Timestamp("2024-01-01 10:00")]))
