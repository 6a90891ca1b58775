"""check_bars on the shared real market data.

Expected counts are the quality facts published in the shared data README (computed there
independently of alphaforge), or are derived in the test with plain pandas and
``exchange_calendars`` directly, as explained next to each assertion.
"""

from __future__ import annotations

import exchange_calendars as xcals
import pandas as pd
import pytest

from alphaforge.data.quality import check_bars
from alphaforge.testing import shared_data_file

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def equities() -> pd.DataFrame:
    return pd.read_parquet(shared_data_file("us_equities_daily.parquet"))


def test_us_equities_daily_readme_facts(equities: pd.DataFrame) -> None:
    report = check_bars(equities, "1d")
    assert len(report.rows) == 400
    assert set(report.calendars.values()) == {"XNYS"}
    totals = report.to_dict()["totals"]
    # README: dup keys 0; NaN 0; H<L 0; O/C out 0; <=0 0; vol0 179.
    for check in ("duplicates", "unordered", "nan", "high_low", "ohlc_range", "non_positive"):
        assert totals[check] == 0, check
    assert totals["zero_volume"] == 179
    zero_volume = {i.symbol for i in report.issues if i.check == "zero_volume"}
    assert {"ODFL", "MNST", "NDAQ", "CHTR", "TTWO"} <= zero_volume  # README: "mostly" these


def test_us_equities_daily_gaps_union_and_xnys(equities: pd.DataFrame) -> None:
    # README: 22 days missing against the union trading calendar, spread over 4 symbols.
    union = check_bars(equities, "1d", "union")
    gaps = {i.symbol: i.count for i in union.issues if i.check == "gaps"}
    assert sum(gaps.values()) == 22 and len(gaps) == 4
    # Against XNYS: the union of the file's dates is exactly the NYSE session list of
    # 1999-11-01 .. 2019-12-31 (checked here with exchange_calendars directly), so every
    # symbol's expected sessions are the same under both calendars and XNYS must find the same
    # 22 missing sessions and no bar off the calendar.
    dates = pd.DatetimeIndex(equities["timestamp"].unique()).sort_values().as_unit("ns")
    nyse = xcals.get_calendar("XNYS", start="1999-01-01", end="2020-12-31")
    expected = nyse.sessions[(nyse.sessions >= dates[0]) & (nyse.sessions <= dates[-1])]
    assert dates.equals(pd.DatetimeIndex(expected).as_unit("ns"))
    xnys = check_bars(equities, "1d", "XNYS")
    assert {i.symbol: i.count for i in xnys.issues if i.check == "gaps"} == gaps
    assert xnys.count("off_calendar") == 0


def test_known_splits_are_unadjusted_splits_not_outliers(equities: pd.DataFrame) -> None:
    # NVIDIA split its stock 2-for-1 in June 2000, September 2001 and April 2006 (ex-dates
    # 2000-06-27, 2001-09-17, 2006-04-07); the file's open/high/low/close are unadjusted and
    # adj_close is adjusted, so the raw close halves on those days.
    nvda = equities[equities["symbol"] == "NVDA"]
    report = check_bars(nvda, "1d")
    (split,) = [i for i in report.issues if i.check == "unadjusted_split"]
    split_days = {"2000-06-27", "2001-09-17", "2006-04-07"}
    assert split_days <= {ts.strftime("%Y-%m-%d") for ts in split.examples}
    outliers = [i for i in report.issues if i.check == "outliers"]
    outlier_days = {ts.strftime("%Y-%m-%d") for i in outliers for ts in i.examples}
    assert not split_days & outlier_days


def test_crypto_1h_raw_frame_with_duplicates() -> None:
    frame = pd.read_parquet(shared_data_file("crypto_1h.parquet"))
    report = check_bars(frame, "1h")
    assert set(report.calendars.values()) == {"24/7"}  # pairs such as BTC/USDT
    # README: 5,297 dup keys (BTC/USDT and ETH/USDT, 2020-08-01 .. 2020-11-20, two copies of
    # the period, so each key has two rows), vol0 236, 14 gaps with 28 missing bars, H<L 0, <=0 0.
    assert report.count("duplicates") == 5297
    dups = [i for i in report.issues if i.check == "duplicates"]
    assert {i.symbol for i in dups} == {"BTC/USDT", "ETH/USDT"}
    lo, hi = pd.Timestamp("2020-08-01", tz="UTC"), pd.Timestamp("2020-11-21", tz="UTC")
    assert all(lo <= ts < hi for i in dups for ts in i.examples)
    assert report.count("zero_volume") == 236
    assert report.count("gaps") == 28
    assert report.count("high_low") == 0 and report.count("non_positive") == 0


def _outside_regular_hours(frame: pd.DataFrame, early_close_hour: bool) -> int:
    """Bars starting outside 09:30-16:00 ET (or after 13:00 ET on NYSE early-close days)."""
    local = pd.DatetimeIndex(frame["timestamp"]).tz_convert("America/New_York")
    minutes = local.hour * 60 + local.minute
    close = pd.Series(16 * 60, index=range(len(local)))
    if early_close_hour:
        nyse = xcals.get_calendar("XNYS")
        early = pd.DatetimeIndex(local.tz_localize(None).normalize()).isin(nyse.early_closes)
        close[early] = 13 * 60
    return int(((minutes < 9 * 60 + 30) | (minutes >= close.to_numpy())).sum())


@pytest.mark.parametrize(
    ("name", "timeframe", "readme_outside"),
    [
        ("us_equities_intraday_1min.parquet", "1m", 1255),
        ("us_etfs_intraday_1min.parquet", "1m", 8284),
        ("us_equities_intraday_1h.parquet", "1h", 2035),
    ],
)
def test_intraday_bars_outside_regular_hours(
    name: str, timeframe: str, readme_outside: int
) -> None:
    frame = pd.read_parquet(shared_data_file(name))
    report = check_bars(frame, timeframe)
    # The README counts bars outside a fixed 09:30-16:00 ET window; recompute that with pandas.
    assert _outside_regular_hours(frame, early_close_hour=False) == readme_outside
    # The real calendar also closes at 13:00 ET on early-close days (e.g. 2021-11-26 for the
    # hourly AMZN file: its 13:00, 14:00 and 15:00 bars), so those bars are off-calendar too.
    assert report.count("off_calendar") == _outside_regular_hours(frame, early_close_hour=True)
    assert report.count("off_calendar") >= readme_outside
    for check in ("duplicates", "high_low", "ohlc_range", "non_positive", "zero_volume"):
        assert report.count(check) == 0, check
