"""Unit tests of :func:`alphaforge.data.quality.check_bars` on small hand-built frames.

Every expected count follows from how the frame was built (explained next to each case); the
calendar facts used (2024-07-04 holiday, 2024-07-03 early close at 13:00 ET) are published NYSE
dates.
"""

from __future__ import annotations

import json

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphaforge.core.errors import DataError
from alphaforge.data.quality import CHECKS, QualityReport, check_bars


def daily(symbol: str, dates: list[str] | pd.DatetimeIndex, closes: npt.ArrayLike) -> pd.DataFrame:
    """Consistent daily bars: open = previous close, high/low 1 % beyond the body."""
    closes = np.asarray(closes, dtype=float)
    opens = np.concatenate([[closes[0]], closes[:-1]])
    return pd.DataFrame(
        {
            "symbol": symbol,
            "timestamp": pd.DatetimeIndex(dates),
            "open": opens,
            "high": np.maximum(opens, closes) * 1.01,
            "low": np.minimum(opens, closes) * 0.99,
            "close": closes,
            "volume": 1000.0,
        }
    )


def week() -> pd.DataFrame:
    # 2024-07-01 .. 2024-07-05 holds four NYSE sessions: July 4th is a holiday.
    return daily("AAA", ["2024-07-01", "2024-07-02", "2024-07-03", "2024-07-05"], [10, 11, 12, 13])


def walk(n: int = 300, seed: int = 1) -> tuple[pd.DatetimeIndex, np.ndarray]:
    rng = np.random.default_rng(seed)
    dates = pd.bdate_range("2023-01-02", periods=n * 2)
    days = dates[dates.isin(pd.DatetimeIndex(_xnys_2023_2024()))][:n]
    return days, 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))


def _xnys_2023_2024() -> list[pd.Timestamp]:
    from alphaforge.data.calendars import sessions

    return list(sessions("XNYS", "2023-01-01", "2024-12-31"))


def test_clean_frame_is_ok() -> None:
    report = check_bars(week(), "1d")
    assert report.ok
    assert report.calendars == {"AAA": "XNYS"}
    assert report.rows == {"AAA": 4}
    assert report.summary().loc["AAA", list(CHECKS)].sum() == 0


def test_row_level_checks() -> None:
    df = week()
    df.loc[0, "volume"] = 0  # zero volume
    df.loc[1, "close"] = np.nan  # NaN
    df.loc[2, ["high", "low"]] = [11.0, 12.5]  # high < low, and open/close outside [low, high]
    df.loc[3, "open"] = -1.0  # non-positive, and open below low
    report = check_bars(df, "1d")
    totals = report.to_dict()["totals"]
    assert totals["zero_volume"] == 1
    assert totals["nan"] == 1
    assert totals["high_low"] == 1
    assert totals["ohlc_range"] == 2  # rows 2 and 3
    assert totals["non_positive"] == 1
    assert not report.ok and report.has_errors


def test_duplicates_count_surplus_rows_and_unordered_rows() -> None:
    df = week()
    df = pd.concat([df, df.iloc[[1]]], ignore_index=True)  # 07-02 again, after 07-05
    report = check_bars(df, "1d")
    assert report.count("duplicates") == 1
    # The repeated 07-02 row comes after 07-05 in input order: one row out of order.
    assert report.count("unordered") == 1
    (dup,) = [i for i in report.issues if i.check == "duplicates"]
    assert dup.examples == (pd.Timestamp("2024-07-02"),)
    # Nothing else is reported: the duplicate is ignored along time.
    assert report.count("gaps") == 0


def test_daily_gap_is_a_missing_session_and_holiday_is_not() -> None:
    df = week().drop(index=1)  # drop 2024-07-02
    report = check_bars(df, "1d")
    (gap,) = report.issues
    assert (gap.check, gap.count, gap.examples) == ("gaps", 1, (pd.Timestamp("2024-07-02"),))


def test_off_calendar_daily_bar() -> None:
    df = daily("AAA", ["2024-07-03", "2024-07-04", "2024-07-05"], [1, 2, 3])
    report = check_bars(df, "1d", "XNYS")
    assert report.count("off_calendar") == 1
    assert report.count("gaps") == 0


def test_utc_daily_labels_equal_naive_labels() -> None:
    df = week().drop(index=1)
    utc = df.assign(timestamp=df["timestamp"].dt.tz_localize("UTC"))
    assert check_bars(utc, "1d").to_dict() == check_bars(df, "1d").to_dict()


def test_calendar_inference_and_override() -> None:
    weekend = daily("COIN_X", pd.date_range("2024-03-01", periods=7), np.arange(1.0, 8.0))
    pair = daily("BTC/USD", pd.date_range("2024-03-04", periods=3), [1.0, 2.0, 3.0])
    df = pd.concat([week(), weekend, pair], ignore_index=True)
    report = check_bars(df, "1d")
    assert report.calendars == {"AAA": "XNYS", "BTC/USD": "24/7", "COIN_X": "24/7"}
    assert report.ok  # every day is a session of the 24/7 calendar
    forced = check_bars(df, "1d", "XNYS")
    # 2024-03-01 .. 03-07 includes Saturday 03-02 and Sunday 03-03.
    assert forced.summary().loc["COIN_X", "off_calendar"] == 2


def minute_bars(symbol: str, starts: pd.DatetimeIndex) -> pd.DataFrame:
    closes = np.linspace(100, 101, len(starts))
    df = daily(symbol, starts, closes)
    df["timestamp"] = starts
    return df


def test_intraday_gaps_and_early_close() -> None:
    # 2024-07-03 closes at 13:00 ET = 17:00 UTC: 210 minute bars from 13:30 UTC.
    full = pd.date_range("2024-07-03 13:30", "2024-07-03 16:59", freq="1min", tz="UTC")
    assert check_bars(minute_bars("AAA", full), "1m").ok
    holed = full.delete([10, 11, 12])  # three missing minutes
    late = pd.DatetimeIndex([pd.Timestamp("2024-07-03 17:05", tz="UTC")])  # after the close
    report = check_bars(minute_bars("AAA", pd.DatetimeIndex(holed.append(late))), "1m")
    assert report.count("gaps") == 3
    assert report.count("off_calendar") == 1
    (gap,) = [i for i in report.issues if i.check == "gaps"]
    assert gap.examples == (pd.Timestamp("2024-07-03 13:40", tz="UTC"),)


def test_intraday_gap_over_holiday_is_not_counted() -> None:
    # Last bar of 07-03 then first bar of 07-05: 07-04 is a holiday, no bar is missing.
    starts = pd.DatetimeIndex(["2024-07-03 16:59", "2024-07-05 13:30"], tz="UTC")
    assert check_bars(minute_bars("AAA", starts), "1m").count("gaps") == 0


def test_outlier_on_a_random_walk() -> None:
    days, closes = walk()
    closes[200:] *= 1.3  # one +30 % jump: log 1.3 = 0.26, about 26 robust sigmas of a 1 % walk
    report = check_bars(daily("AAA", days, closes), "1d")
    (out,) = [i for i in report.issues if i.check == "outliers"]
    # Gaussian 1 % moves never reach 8 sigma (p ~ 1e-15), so the jump is the only outlier.
    assert (out.count, out.examples) == (1, (days[200],))


@pytest.mark.parametrize(("factor", "spikes"), [(1000.0, 1), (0.01, 1), (1.6, 1), (1.3, 0)])
def test_spike_is_a_jump_away_and_straight_back(factor: float, spikes: int) -> None:
    days, closes = walk()
    closes[120] *= factor  # one close off by ``factor``, its neighbours untouched
    report = check_bars(daily("AAA", days, closes), "1d")
    # a move of log 1.3 = 0.26 (26 robust sigmas of the 1 % walk) both ways is an outlier
    # twice, but below the 50 % a spike needs; 1.6, 1000 and 0.01 are spikes
    assert report.count("outliers") == 2
    assert report.count("spikes") == spikes
    if spikes:
        (hit,) = [i for i in report.issues if i.check == "spikes"]
        assert hit.examples == (days[120],)


def test_a_crash_that_stays_is_an_outlier_not_a_spike() -> None:
    days, closes = walk()
    closes[120:] *= 0.4  # -60 % and it stays: the next return is an ordinary 1 % move
    report = check_bars(daily("AAA", days, closes), "1d")
    assert (report.count("outliers"), report.count("spikes")) == (1, 0)


def test_spike_notes_name_the_bar_and_its_neighbours() -> None:
    from alphaforge.data.quality import spike_notes

    days, closes = walk()
    bad = closes.copy()
    bad[[40, 90]] *= 100.0  # two closes in cents, on the bars of days[40] and days[90]
    frame = pd.concat([daily("AAA", days, closes), daily("BBB", days, bad)], ignore_index=True)
    ((symbol, note),) = spike_notes(frame)
    assert symbol == "BBB"
    expected = (
        f"BBB {days[40]:%Y-%m-%d}: close {bad[40]:,.6g} between {bad[39]:,.6g} and "
        f"{bad[41]:,.6g} (a bad tick?); 2 such bar(s)"
    )
    assert note == expected
    assert spike_notes(daily("AAA", days, closes)) == []


def test_split_in_raw_close_is_unadjusted_split_not_outlier() -> None:
    days, adj = walk()
    raw = adj.copy()
    raw[:150] *= 2.0  # a 2:1 split on day 150: raw close halves, the adjusted series does not
    df = daily("AAA", days, raw)
    df["adj_close"] = adj
    report = check_bars(df, "1d")
    assert report.count("outliers") == 0
    (split,) = [i for i in report.issues if i.check == "unadjusted_split"]
    assert (split.count, split.examples) == (1, (days[150],))


@pytest.mark.parametrize(("flat_bars", "expected"), [(4, 0), (5, 5), (7, 7)])
def test_stale_runs(flat_bars: int, expected: int) -> None:
    days, closes = walk(40)
    df = daily("AAA", days, closes)
    idx = range(10, 10 + flat_bars)
    df.loc[idx, ["open", "high", "low", "close"]] = 50.0  # identical flat bars
    report = check_bars(df, "1d", stale_run=5)
    assert report.count("stale") == expected
    if expected:
        (stale,) = [i for i in report.issues if i.check == "stale"]
        assert stale.examples == (days[10],)


def test_report_serialisation_and_combine() -> None:
    a = check_bars(week().drop(index=1), "1d")
    b = check_bars(daily("BBB", ["2024-07-01", "2024-07-02"], [1.0, 0.0]), "1d")
    merged = QualityReport.combine([a, b])
    assert merged.symbols == ["AAA", "BBB"]
    summary = merged.summary()
    assert list(summary.columns) == ["rows", "calendar", *CHECKS]
    assert summary.loc["AAA", "gaps"] == 1 and summary.loc["BBB", "non_positive"] == 1
    payload = json.loads(json.dumps(merged.to_dict()))
    assert payload["totals"]["gaps"] == 1 and payload["ok"] is False


def test_missing_column_is_a_data_error() -> None:
    with pytest.raises(DataError, match="volume"):
        check_bars(week().drop(columns="volume"), "1d")


def test_empty_frame_is_ok() -> None:
    assert check_bars(week().iloc[:0], "1d").ok


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(2, 60),
    dup=st.lists(st.integers(0, 59), max_size=5),
    seed=st.integers(0, 2**16),
)
def test_property_duplicates_and_consistency(n: int, dup: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    days = pd.DatetimeIndex(_xnys_2023_2024()[:n])
    df = daily("AAA", days, 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))))
    extra = df.iloc[[i % n for i in dup]]
    frame = pd.concat([df, extra], ignore_index=True).sample(frac=1.0, random_state=seed)
    report = check_bars(frame, "1d")
    # Surplus rows = rows minus distinct keys; consistent bars break no OHLC rule.
    assert report.count("duplicates") == len(frame) - frame["timestamp"].nunique()
    for check in ("high_low", "ohlc_range", "nan", "non_positive", "gaps", "off_calendar"):
        assert report.count(check) == 0
