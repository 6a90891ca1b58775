"""Drawdown tables, calendar return tables and rolling helpers on hand-made curves."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from alphaforge.analytics import (
    drawdown_periods,
    drawdown_series,
    monthly_returns_table,
    period_returns,
    rolling_beta,
    rolling_sharpe,
    rolling_volatility,
    yearly_returns,
)
from alphaforge.core.errors import ConfigError


def _daily(values: list[float], start: str = "2024-03-01") -> pd.Series:
    idx = pd.date_range(start, periods=len(values), freq="D", tz="UTC")
    return pd.Series(values, idx)


def test_drawdown_series_by_hand() -> None:
    eq = _daily([100.0, 80.0, 120.0, 90.0])
    # Running highs 100, 100, 120, 120 -> 0, -20%, 0, -25%.
    np.testing.assert_allclose(drawdown_series(eq).to_numpy(), [0.0, -0.2, 0.0, -0.25])


def test_drawdown_periods_table() -> None:
    # 100 -> 90 -> 95 -> 100 (recovered) -> 120 -> 60 -> 70 (still under water at the end).
    eq = _daily([100.0, 90.0, 95.0, 100.0, 120.0, 60.0, 70.0])
    table = drawdown_periods(eq, top=5)
    assert list(table["depth"]) == pytest.approx([-0.5, -0.1])  # deepest first
    deep, shallow = table.iloc[0], table.iloc[1]
    assert deep["peak"] == eq.index[4] and deep["valley"] == eq.index[5]
    assert pd.isna(deep["recovery"]) and math.isnan(deep["recovery_bars"])
    assert deep["duration_bars"] == 2  # days 5 and 6 close below 120
    assert deep["duration_days"] == pytest.approx(2.0)  # open: peak day 4 to the last bar, day 6
    assert shallow["peak"] == eq.index[0] and shallow["recovery"] == eq.index[3]
    assert shallow["duration_bars"] == 2 and shallow["recovery_bars"] == 2  # valley day 1 -> day 3
    assert len(drawdown_periods(eq, top=1)) == 1


def test_no_drawdown_gives_an_empty_table() -> None:
    table = drawdown_periods(_daily([1.0, 2.0, 3.0]))
    assert table.empty and "depth" in table.columns


def test_period_returns_across_months() -> None:
    # Jan 30 (start, 100), Jan 31 (110), Feb 1 (121), Feb 2 (108.9), Mar 1 (119.79).
    idx = pd.DatetimeIndex(
        ["2023-01-30", "2023-01-31", "2023-02-01", "2023-02-02", "2023-03-01"], tz="UTC"
    )
    eq = pd.Series([100.0, 110.0, 121.0, 108.9, 119.79], idx)
    monthly = period_returns(eq, "M")
    # January: 100 -> 110 (+10%); February: 110 -> 108.9 (-1%); March: 108.9 -> 119.79 (+10%).
    np.testing.assert_allclose(monthly.to_numpy(), [0.10, -0.01, 0.10])
    table = monthly_returns_table(eq)
    assert table.loc[2023, 1] == pytest.approx(0.10)
    assert table.loc[2023, 2] == pytest.approx(-0.01)
    assert np.isnan(table.to_numpy()[0, 11])  # December (column 12)
    assert table.loc[2023, "year"] == pytest.approx(0.1979)  # 119.79 / 100 - 1
    assert yearly_returns(eq).loc[2023] == pytest.approx(0.1979)


def test_first_period_with_only_the_start_value_is_dropped() -> None:
    # Starting on Dec 31 with no other December bar: December has no return of its own.
    idx = pd.DatetimeIndex(["2023-12-31", "2024-01-02", "2024-02-01"], tz="UTC")
    eq = pd.Series([100.0, 105.0, 94.5], idx)
    yearly = yearly_returns(eq)
    assert list(yearly.index) == [2024]
    assert yearly.iloc[0] == pytest.approx(-0.055)
    np.testing.assert_allclose(period_returns(eq, "M").to_numpy(), [0.05, -0.10])


def test_rolling_helpers_by_hand() -> None:
    r = pd.Series([0.01, -0.01, 0.03, 0.0], pd.date_range("2024-01-01", periods=4, tz="UTC"))
    vol = rolling_volatility(r, 2, 4)
    # Window (0.01, -0.01): sample std = sqrt(2 * 0.01**2 / 1) = 0.01414; times sqrt(4).
    assert math.isnan(vol.iloc[0])
    assert vol.iloc[1] == pytest.approx(math.sqrt(2) * 0.01 * 2)
    sharpe = rolling_sharpe(r, 2, 4)
    assert sharpe.iloc[1] == pytest.approx(0.0)  # mean of the first window is zero
    # Window (0.03, 0.0): mean 0.015, std 0.03 / sqrt(2); Sharpe = 0.015 / 0.0212 * 2.
    assert sharpe.iloc[3] == pytest.approx(0.015 / (0.03 / math.sqrt(2)) * 2)
    beta = rolling_beta(2 * r, r, 3)
    np.testing.assert_allclose(beta.to_numpy()[2:], [2.0, 2.0])


def test_rolling_rejects_bad_window_and_index() -> None:
    r = pd.Series([0.01, 0.02, 0.03], pd.date_range("2024-01-01", periods=3, tz="UTC"))
    with pytest.raises(ConfigError, match="window"):
        rolling_sharpe(r, 1, 252)
    with pytest.raises(ConfigError, match="index"):
        rolling_beta(r, r.reset_index(drop=True), 2)
