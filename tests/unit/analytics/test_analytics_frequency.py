"""Bars-per-year conventions (see the module docstring of alphaforge.analytics.frequency)."""

from __future__ import annotations

import pandas as pd
import pytest

from alphaforge.analytics.frequency import (
    infer_calendar,
    infer_timeframe,
    per_period_rate,
    periods_per_year,
)
from alphaforge.core.errors import ConfigError


@pytest.mark.parametrize(
    ("timeframe", "expected"),
    [
        ("1d", 252.0),
        # 390 regular-session minutes / bar length, times 252 sessions.
        ("1m", 390 * 252.0),
        ("5m", 78 * 252.0),
        ("15m", 26 * 252.0),
        # 6.5 one-hour bars a session, rounded up to 7 (the 15:30-16:00 bar counts).
        ("1h", 7 * 252.0),
    ],
)
def test_equity_periods(timeframe: str, expected: float) -> None:
    assert periods_per_year(timeframe, "XNYS") == expected


@pytest.mark.parametrize(
    ("timeframe", "expected"),
    [
        ("1d", 365.0),
        ("1h", 365 * 24.0),
        ("15m", 365 * 96.0),
        ("5m", 365 * 288.0),
        ("1m", 525_600.0),
    ],
)
def test_crypto_periods(timeframe: str, expected: float) -> None:
    assert periods_per_year(timeframe, "24/7") == expected


def test_unknown_timeframe_names_the_value() -> None:
    with pytest.raises(ConfigError, match="'3h'"):
        periods_per_year("3h")


def test_infer_from_index() -> None:
    daily = pd.date_range("2024-01-01", periods=30, freq="B", tz="UTC")
    assert infer_timeframe(daily) == "1d"
    assert infer_calendar(daily) == "XNYS"
    assert periods_per_year(None, "XNYS", daily) == 252.0
    hourly_crypto = pd.date_range("2024-01-01", periods=200, freq="h", tz="UTC")
    assert infer_timeframe(hourly_crypto) == "1h"
    assert infer_calendar(hourly_crypto) == "24/7"
    five = pd.date_range("2024-01-02 14:30", periods=50, freq="5min", tz="UTC")
    assert infer_timeframe(five) == "5m"


def test_infer_needs_an_index() -> None:
    with pytest.raises(ConfigError):
        periods_per_year(None)
    with pytest.raises(ConfigError):
        infer_timeframe(pd.DatetimeIndex([], tz="UTC"))


def test_per_period_rate_compounds_back_to_the_annual_rate() -> None:
    # (1 + r_bar) ** 252 must give back 1.05.
    r_bar = per_period_rate(0.05, 252)
    assert (1 + r_bar) ** 252 == pytest.approx(1.05, rel=1e-14)
