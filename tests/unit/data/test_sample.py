"""Statistical properties of the synthetic sample market.

The model (see :mod:`alphaforge.data.sample`) promises fat tails, volatility clustering, a
sector structure in correlations, consistent OHLC bars and determinism. Each test measures the
property with standard estimators (scipy kurtosis, pandas autocorrelation and correlation) and
compares against the textbook value of a model WITHOUT the property (normal kurtosis 3, zero
autocorrelation of squared i.i.d. returns, equal correlations), with a tolerance.
"""

from __future__ import annotations

from itertools import combinations
from typing import cast

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alphaforge.data import calendars
from alphaforge.data.quality import ERROR_CHECKS, check_bars
from alphaforge.data.sample import (
    INDEX_SYMBOL,
    SECTORS,
    generate_daily,
    generate_intraday,
    sample_sectors,
    sample_symbols,
)


@pytest.fixture(scope="module")
def daily() -> pd.DataFrame:
    return generate_daily(seed=42)


@pytest.fixture(scope="module")
def returns(daily: pd.DataFrame) -> pd.DataFrame:
    closes = daily.pivot(index="timestamp", columns="symbol", values="close")
    # numpy's stubs type a ufunc of a DataFrame as an ndarray; pandas returns a DataFrame
    return cast(pd.DataFrame, np.log(closes)).diff().dropna()


def test_same_seed_same_frames() -> None:
    a = generate_daily(seed=7, n_symbols=4, years=1)
    b = generate_daily(seed=7, n_symbols=4, years=1)
    pd.testing.assert_frame_equal(a, b)
    c = generate_daily(seed=8, n_symbols=4, years=1)
    assert not np.allclose(a["close"].to_numpy(), c["close"].to_numpy())
    pd.testing.assert_frame_equal(
        generate_intraday(seed=3, days=2), generate_intraday(seed=3, days=2)
    )
    pd.testing.assert_frame_equal(sample_sectors(5), sample_sectors(5))


def test_labelled_synthetic_and_shaped(daily: pd.DataFrame) -> None:
    assert daily.attrs["synthetic"] is True and daily.attrs["seed"] == 42
    assert set(daily["symbol"]) == {*sample_symbols(20), INDEX_SYMBOL}
    assert all(s.startswith("SYN") for s in daily["symbol"])
    assert list(daily.columns) == ["symbol", "timestamp", "open", "high", "low", "close", "volume"]
    # Ten years of NYSE sessions from 2014-01-02: exchange_calendars' own session count.
    n_sessions = len(calendars.sessions("XNYS", "2014-01-02", "2024-01-01"))
    assert len(daily) == 21 * n_sessions
    assert str(daily["timestamp"].dt.tz) == "UTC"
    assert (daily["timestamp"].dt.hour == 0).all()


def test_ohlc_consistent(daily: pd.DataFrame) -> None:
    intraday = generate_intraday(seed=42)
    for frame in (daily, intraday):
        assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
        assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()
        assert (frame["low"] > 0).all() and (frame["volume"] > 0).all()


def test_open_near_previous_close(daily: pd.DataFrame) -> None:
    prev_close = daily.groupby("symbol")["close"].shift()
    # numpy's stubs type a ufunc of a Series as an ndarray; pandas returns a Series
    gap = cast(pd.Series, np.log(daily["open"] / prev_close)).dropna()
    ret = cast(pd.Series, np.log(daily["close"] / prev_close)).dropna()
    # Overnight gaps are a small part (gap_frac = 0.3 of the daily vol) of the daily moves.
    assert gap.std() < 0.5 * ret.std()


def test_fat_tails(returns: pd.DataFrame) -> None:
    # Pearson kurtosis of a normal distribution is 3.
    kurt = stats.kurtosis(returns, fisher=False)
    assert np.median(kurt) > 4.0
    assert (kurt > 3.0).all()


def test_volatility_clustering(returns: pd.DataFrame) -> None:
    # For i.i.d. returns the lag-1 autocorrelation of squared returns is 0 (s.e. ~ 1/sqrt(2516)
    # = 0.02); GARCH(1,1) makes it clearly positive.
    acf = np.array([(returns[c] ** 2).autocorr(1) for c in returns.columns])
    assert np.mean(acf) > 0.05
    assert (acf > 0).mean() >= 0.9


def test_sector_correlation_structure(returns: pd.DataFrame) -> None:
    sectors = dict(sample_sectors(42).itertuples(index=False, name=None))
    corr = returns.drop(columns=INDEX_SYMBOL).corr()
    within: list[float] = []
    across: list[float] = []
    for a, b in combinations(sorted(sectors), 2):
        (within if sectors[a] == sectors[b] else across).append(corr.loc[a, b])
    assert np.mean(within) > np.mean(across) + 0.05
    assert np.mean(across) > 0.1


def test_volume_follows_absolute_returns(daily: pd.DataFrame, returns: pd.DataFrame) -> None:
    volume = daily.pivot(index="timestamp", columns="symbol", values="volume").loc[returns.index]
    rho = [stats.spearmanr(returns[c].abs(), volume[c]).statistic for c in returns.columns]
    assert min(rho) > 0.2


def test_index_etf_tracks_constituents(returns: pd.DataFrame) -> None:
    members = returns.drop(columns=INDEX_SYMBOL).mean(axis=1)
    assert returns[INDEX_SYMBOL].corr(members) > 0.95


def test_sectors_balanced() -> None:
    sectors = sample_sectors(42)
    assert list(sectors.columns) == ["symbol", "sector"]
    # 20 symbols over 4 sectors: 5 each.
    assert sectors["sector"].value_counts().to_dict() == dict.fromkeys(SECTORS, 5)


def test_daily_passes_quality_checks(daily: pd.DataFrame) -> None:
    report = check_bars(daily, "1d", "XNYS")
    for check in (*ERROR_CHECKS, "gaps", "off_calendar", "zero_volume", "stale"):
        assert report.count(check) == 0, check
    # Only outliers may show: Student-t shocks in high-GARCH-variance stretches exceed
    # 8 robust sigmas now and then, as real markets do; they stay rare.
    assert report.count("outliers") < 0.002 * len(daily)


def test_intraday_shape_and_quality() -> None:
    bars = generate_intraday(seed=42, symbols=["SYN01", "SYN02"], days=5, start="2024-07-01")
    # 2024-07-01 .. 07-08 sessions: 07-01, 07-02, 07-03 (13:00 ET early close: 210 minutes),
    # 07-05, 07-08 (07-04 holiday): 4 * 390 + 210 = 1770 bars per symbol.
    assert len(bars) == 2 * 1770
    assert bars.attrs["synthetic"] is True
    assert str(bars["timestamp"].dt.tz) == "UTC"
    assert bars["timestamp"].min() == pd.Timestamp("2024-07-01 13:30", tz="UTC")
    report = check_bars(bars, "1m", "XNYS")
    for check in (*ERROR_CHECKS, "gaps", "off_calendar", "zero_volume"):
        assert report.count(check) == 0, check


def test_bad_arguments() -> None:
    from alphaforge.core.errors import ConfigError

    with pytest.raises(ConfigError):
        generate_intraday(timeframe="1d")
    with pytest.raises(ConfigError):
        sample_symbols(0)
