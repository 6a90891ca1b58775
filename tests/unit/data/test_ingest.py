"""Reading bar files: column variants, timestamps and timezones, and one-line errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphaforge.core.errors import DataError
from alphaforge.data.ingest import IngestReport, detect_timeframe, normalize_bars, read_bars

UTC = "UTC"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


def _read(path: Path, **kwargs: object) -> tuple[pd.DataFrame, IngestReport]:
    report = IngestReport()
    chunks = list(read_bars(path, report=report, **kwargs))  # type: ignore[arg-type]
    return pd.concat(chunks, ignore_index=True), report


def test_yahoo_style_daily_csv_maps_columns_and_keeps_session_dates(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "MSFT.csv",
        """
Date,Open,High,Low,Close,Adj Close,Volume
2020-01-02,158.78,160.73,158.33,160.62,156.59,22622100
2020-01-03,158.32,159.95,158.06,158.62,154.64,21116200
""",
    )
    df, report = _read(path)
    assert list(df.columns) == [
        "symbol",
        "timestamp",
        "open",
        "high",
        "low",
        "close",
        "volume",
        "adj_close",
    ]
    assert df["symbol"].tolist() == ["MSFT", "MSFT"]  # from the file stem
    assert str(df["timestamp"].dtype) == "datetime64[ns, UTC]"
    # Daily dates stay the session date, at 00:00 UTC.
    assert df["timestamp"].tolist() == [
        pd.Timestamp("2020-01-02", tz=UTC),
        pd.Timestamp("2020-01-03", tz=UTC),
    ]
    assert df["adj_close"].tolist() == [156.59, 154.64]
    assert df["volume"].tolist() == [22622100.0, 21116200.0]
    assert report.timeframe == "1d"


def test_lowercase_variants_vol_and_adjclose(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "x.csv",
        """
ticker,DATETIME,o,h,l,c,adjclose,vol
AAA,2020-01-02,1,2,0.5,1.5,1.4,10
""",
    )
    df, _ = _read(path, timeframe="1d")
    assert df.iloc[0][["open", "high", "low", "close", "adj_close", "volume"]].tolist() == [
        1.0,
        2.0,
        0.5,
        1.5,
        1.4,
        10.0,
    ]
    assert df["symbol"].iloc[0] == "AAA"


def test_unix_seconds_and_milliseconds_mixed_per_value(tmp_path: Path) -> None:
    # 1609459200 s = 2021-01-01 00:00 UTC; 1609462800000 ms = 2021-01-01 01:00 UTC.
    path = _write(
        tmp_path,
        "BTC.csv",
        """
unix,open,high,low,close,volume
1609459200,1,1,1,1,1
1609462800000,1,1,1,1,1
""",
    )
    df, _ = _read(path, timeframe="1h")
    assert df["timestamp"].tolist() == [
        pd.Timestamp("2021-01-01 00:00", tz=UTC),
        pd.Timestamp("2021-01-01 01:00", tz=UTC),
    ]


def test_aware_timestamps_converted_to_utc_even_across_dst(tmp_path: Path) -> None:
    # New York: EST (-05:00) before 2021-03-14, EDT (-04:00) after; both offsets explicit.
    path = _write(
        tmp_path,
        "SPY.csv",
        """
timestamp,open,high,low,close,volume
2021-03-12T09:30:00-05:00,1,1,1,1,1
2021-03-15T09:30:00-04:00,1,1,1,1,1
""",
    )
    df, _ = _read(path, timeframe="1m")
    assert df["timestamp"].tolist() == [
        pd.Timestamp("2021-03-12 14:30", tz=UTC),
        pd.Timestamp("2021-03-15 13:30", tz=UTC),
    ]


def test_naive_intraday_with_tz_is_localized(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "SPY.csv",
        """
Datetime,Open,High,Low,Close,Volume
2021-07-01 09:30:00,1,1,1,1,1
2021-07-01 09:31:00,1,1,1,1,1
""",
    )
    df, report = _read(path, tz="America/New_York")
    # 09:30 EDT (UTC-4) is 13:30 UTC.
    assert df["timestamp"].iloc[0] == pd.Timestamp("2021-07-01 13:30", tz=UTC)
    assert report.timeframe == "1m"
    df2, report2 = _read(path)
    assert df2["timestamp"].iloc[0] == pd.Timestamp("2021-07-01 09:30", tz=UTC)
    assert any("taken as UTC" in n for n in report2.notes)


def test_separate_date_and_time_columns(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "EURUSD.csv",
        """
Date,Time,Open,High,Low,Close,Volume
2021-01-04,10:00,1,1,1,1,0
2021-01-04,11:00,1,1,1,1,0
""",
    )
    df, _ = _read(path)
    assert df["timestamp"].tolist()[1] == pd.Timestamp("2021-01-04 11:00", tz=UTC)


def test_parquet_long_format_with_extra_columns(tmp_path: Path) -> None:
    src = pd.DataFrame(
        {
            "symbol": ["B", "A"],
            "timestamp": pd.to_datetime(["2020-01-02", "2020-01-02"]),
            "open": [1.0, 2.0],
            "high": [1.0, 2.0],
            "low": [1.0, 2.0],
            "close": [1.0, 2.0],
            "volume": [5, 6],
            "dividend": [0.0, 0.0],
        }
    )
    path = tmp_path / "bars.parquet"
    src.to_parquet(path)
    df, report = _read(path)
    assert df["symbol"].tolist() == ["A", "B"]  # sorted
    assert any("dividend" in n for n in report.notes)


def test_single_row_is_valid_and_high_below_low_is_not_an_import_error(tmp_path: Path) -> None:
    # high < low is a quality-check finding, so it must be storable.
    path = _write(tmp_path, "Z.csv", "date,open,high,low,close,volume\n2020-01-02,5,4,6,5,0\n")
    df, _ = _read(path)
    assert len(df) == 1
    assert df["high"].iloc[0] < df["low"].iloc[0]


def test_unordered_rows_are_sorted_with_a_note(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "A.csv",
        """
date,open,high,low,close,volume
2020-01-03,2,2,2,2,2
2020-01-02,1,1,1,1,1
""",
    )
    df, report = _read(path)
    assert df["close"].tolist() == [1.0, 2.0]
    assert any("sorted" in n for n in report.notes)


def test_exact_duplicates_dropped_and_conflicts_follow_policy(tmp_path: Path) -> None:
    text = """
date,open,high,low,close,volume
2020-01-02,1,1,1,1,1
2020-01-02,1,1,1,1,1
2020-01-03,1,1,1,1,1
2020-01-03,1,1,1,2,1
"""
    path = _write(tmp_path, "A.csv", text)
    with pytest.raises(DataError) as err:
        _read(path)
    # Lines 4 and 5 of the file (header is line 1) hold the 2020-01-03 conflict.
    assert "lines 4 and 5" in str(err.value)
    assert "column 'close'" in str(err.value)
    first, report = _read(path, on_duplicate="first")
    assert first["close"].tolist() == [1.0, 1.0]
    assert any("exact duplicate" in n for n in report.notes)
    last, _ = _read(path, on_duplicate="last")
    assert last["close"].tolist() == [1.0, 2.0]


BAD_FILES = [
    ("", "file is empty"),
    ("date,open,high,low,close,volume\n", "header but no rows"),
    ("date;open;high;low;close;volume\n2020-01-02;1;1;1;1;1\n", "looks like ';'-delimited"),
    ("date,open,high,low,volume\n2020-01-02,1,1,1,1\n", "missing column(s) close"),
    ("date,open,high,low,close,volume\n2020-01-02,1,1,1,1,1\nnot-a-date,1,1,1,1,1\n", "line 3"),
    ("date,open,high,low,close,volume\n2020-01-02,1,1,1,,1\n", "line 2, column 'close'"),
    ("date,open,high,low,close,volume\n2020-01-02,1,1,1,inf,1\n", "not finite"),
    ("date,open,high,low,close,volume\n2020-01-02,1,1,1,1,1\n2020-01-03,0,1,1,1,1\n", "line 3"),
    ("date,open,high,low,close,volume\n2020-01-02,1,1,-1,1,1\n", "column 'low'"),
    ("date,open,high,low,close,volume\n2020-01-02,1,1,1,1,-5\n", "negative volume"),
    ("date,open,high,low,close,volume\n2020-01-02,1,1,1,abc,1\n", "line 2, column 'close'"),
    (
        "timestamp,open,high,low,close,volume\n"
        "2021-01-04 10:00:00+00:00,1,1,1,1,1\n2021-01-04 10:01:00,1,1,1,1,1\n",
        "line 3, column 'timestamp': mixed timezones",
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_FILES)
def test_bad_files_raise_one_line_errors_naming_file_and_place(
    tmp_path: Path, text: str, expected: str
) -> None:
    path = tmp_path / "BAD.csv"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as err:
        _read(path)
    message = str(err.value)
    assert expected in message
    assert str(path) in message
    assert "\n" not in message


def test_unparsable_date_message_names_the_value(tmp_path: Path) -> None:
    path = _write(tmp_path, "A.csv", "date,open,high,low,close,volume\n2020-13-45,1,1,1,1,1\n")
    with pytest.raises(DataError, match=r"line 2, column 'timestamp': cannot parse date"):
        _read(path, timeframe="1d")


def test_symbol_option_conflicting_with_symbol_column(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "a.csv", "symbol,date,open,high,low,close,volume\nA,2020-01-02,1,1,1,1,1\n"
    )
    with pytest.raises(DataError, match="differs from --symbol 'B'"):
        _read(path, symbol="B")


def test_chunks_across_boundaries_detect_conflicts_and_drop_exact_copies(tmp_path: Path) -> None:
    rows = ["date,open,high,low,close,volume"]
    rows += [f"2020-01-{d:02d},1,1,1,{d},1" for d in range(1, 11)]
    rows.insert(6, "2020-01-05,1,1,1,5,1")  # exact copy of line 6 -> chunk boundary
    path = _write(tmp_path, "A.csv", "\n".join(rows) + "\n")
    df, report = _read(path, chunk_rows=1)
    assert df["close"].tolist() == [float(d) for d in range(1, 11)]
    assert any("duplicate" in n for n in report.notes)
    rows[6] = "2020-01-05,1,1,1,99,1"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match="conflicting duplicate"):
        _read(path, chunk_rows=1)
    last, _ = _read(path, chunk_rows=1, on_duplicate="last")
    # Each chunk is upserted in order by the store, so "last" keeps both rows here and the
    # later one wins there; "first" drops the later one already while reading.
    assert 99.0 in last["close"].tolist()
    first, _ = _read(path, chunk_rows=1, on_duplicate="first")
    assert 99.0 not in first["close"].tolist()


def test_normalize_bars_accepts_vendor_frame_with_datetime_index() -> None:
    idx = pd.DatetimeIndex(["2024-01-02 14:30", "2024-01-02 14:31"], tz="UTC", name="Datetime")
    raw = pd.DataFrame(
        {"Open": [1.0, 2.0], "High": [1.0, 2.0], "Low": [1.0, 2.0], "Close": [1.0, 2.0]},
        index=idx,
    )
    raw["Volume"] = [0, 3]
    out = normalize_bars(raw, "yahoo", symbol="SPY", timeframe="1m")
    assert out["timestamp"].tolist() == list(idx)
    assert out["symbol"].tolist() == ["SPY", "SPY"]
    with pytest.raises(DataError, match="yahoo: missing column"):
        normalize_bars(raw.drop(columns="Close"), "yahoo", symbol="SPY")


def test_detect_timeframe() -> None:
    minutes = pd.date_range("2021-01-04 14:30", periods=10, freq="1min", tz=UTC)
    sparse = minutes.delete([2, 3, 7])  # gaps do not change the most common spacing
    assert detect_timeframe(sparse) == "1m"
    assert detect_timeframe(pd.date_range("2021-01-01", periods=5, freq="1h")) == "1h"
    business = pd.bdate_range("2021-01-04", periods=20)  # weekends give 3-day gaps
    assert detect_timeframe(business) == "1d"
    assert detect_timeframe(np.array(["2021-01-04"], dtype="datetime64[ns]")) == "1d"
    with pytest.raises(DataError, match="pass --timeframe"):
        detect_timeframe(pd.date_range("2021-01-01", periods=5, freq="7min"))


def test_symbol_from_stem_keeps_dots_and_gzip_is_read(tmp_path: Path) -> None:
    import gzip

    text = "date,open,high,low,close,volume\n2020-01-02,1,1,1,1,1\n"
    plain = _write(tmp_path, "BRK.B.csv", text)
    assert _read(plain)[0]["symbol"].tolist() == ["BRK.B"]
    packed = tmp_path / "MSFT.csv.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    df, _ = _read(packed)
    assert df["symbol"].tolist() == ["MSFT"]
    assert df["close"].tolist() == [1.0]
