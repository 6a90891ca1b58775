"""Panel constructors and timeframe detection against the plain pandas constructions they replace.

The references below are the pivot-based ``Panel.from_long`` and the ``np.unique``-based
``detect_timeframe`` as they were before the index-arithmetic versions: every new path must give
the same panel (index, symbols, arrays, NaN where a symbol has no bar) and the same errors.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import pytest

from alphaforge.core.errors import DataError
from alphaforge.core.panel import FIELDS, Panel
from alphaforge.core.timeframe import TIMEFRAMES, detect_timeframe

Unit = Literal["s", "ms", "us", "ns"]


def pivot_reference(bars: pd.DataFrame, timeframe: str = "1d") -> Panel:
    """The former implementation: a pandas pivot per field."""
    dup = bars.duplicated(["symbol", "timestamp"])
    if dup.any():
        row = bars[dup].iloc[0]
        raise DataError(f"duplicate bar for symbol {row['symbol']!r} at {row['timestamp']}")
    ts = pd.to_datetime(bars["timestamp"])
    ts = ts.dt.tz_localize("UTC") if ts.dt.tz is None else ts.dt.tz_convert("UTC")
    df = bars.assign(timestamp=ts)
    symbols = tuple(sorted(df["symbol"].astype(str).unique()))
    index = pd.DatetimeIndex(np.sort(df["timestamp"].unique()), name="timestamp")
    if index.tz is None:
        index = index.tz_localize("UTC")
    arrays: dict[str, np.ndarray] = {}
    for f in FIELDS:
        wide = df.pivot(index="timestamp", columns="symbol", values=f)
        wide = wide.reindex(index=index, columns=list(symbols))
        arrays[f] = np.ascontiguousarray(wide.to_numpy(dtype=np.float64))
    a = arrays
    return Panel(index=index, symbols=symbols, timeframe=timeframe, open=a["open"],
                 high=a["high"], low=a["low"], close=a["close"], volume=a["volume"])  # fmt: skip


def detect_reference(timestamps: pd.Series | pd.DatetimeIndex | np.ndarray) -> str:
    """The former implementation: ``np.unique`` of the times and of their differences."""
    values = pd.DatetimeIndex(pd.to_datetime(np.asarray(timestamps)))
    if values.tz is not None:
        values = values.tz_localize(None)
    ns = np.unique(values.as_unit("ns").asi8)
    day = TIMEFRAMES["1d"].nanos
    all_midnight = bool(np.all(ns % day == 0))
    if len(ns) < 2:
        if all_midnight:
            return "1d"
        raise DataError("cannot detect the timeframe from a single timestamp; pass --timeframe")
    vals, counts = np.unique(np.diff(ns), return_counts=True)
    step = int(vals[np.argmax(counts)])
    for name, tf in TIMEFRAMES.items():
        if step == tf.nanos:
            return name
    if all_midnight and step >= day:
        return "1d"
    raise DataError(
        f"cannot detect the timeframe: the most common spacing is {pd.Timedelta(step)}; "
        "pass --timeframe"
    )


def assert_same_panel(got: Panel, want: Panel) -> None:
    pd.testing.assert_index_equal(got.index, want.index, exact=True)
    assert got.index.freq is None and got.index.name == "timestamp"
    assert got.symbols == want.symbols and got.timeframe == want.timeframe
    for f in FIELDS:
        a, b = getattr(got, f), getattr(want, f)
        assert a.dtype == np.float64 and a.flags.c_contiguous and a.flags.writeable
        np.testing.assert_array_equal(a, b, err_msg=f)


def random_long(seed: int, n_sym: int = 4, n_times: int = 60, unit: Unit = "ns",
                tz: str | None = "UTC", freq: str = "1h") -> pd.DataFrame:  # fmt: skip
    """Long bars with missing bars per symbol, shuffled rows, NaN values here and there."""
    rng = np.random.default_rng(seed)
    times = pd.date_range("2024-03-01", periods=n_times, freq=freq, tz=tz).as_unit(unit)
    parts = []
    for k in range(n_sym):
        keep = rng.random(n_times) < 0.8
        n = int(keep.sum())
        close = 50 + rng.normal(0, 1, n).cumsum()
        parts.append(
            pd.DataFrame(
                {
                    "symbol": f"S{rng.integers(0, 1000):03d}{k}",
                    "timestamp": times[keep],
                    "open": close + 0.1,
                    "high": close + 1,
                    "low": close - 1,
                    "close": close,
                    "volume": rng.integers(0, 1000, n),  # integers: converted to float64
                }
            )
        )
    bars = pd.concat(parts, ignore_index=True)
    bars.loc[rng.integers(0, len(bars), 3), "close"] = np.nan
    return bars.sample(frac=1.0, random_state=seed).reset_index(drop=True)


@pytest.mark.parametrize("seed", range(6))
def test_from_long_equals_the_pivot(seed: int) -> None:
    units: tuple[Unit, ...] = ("ns", "us", "s")
    unit = units[seed % 3]
    tz = (None, "UTC", "America/New_York")[seed % 3]
    bars = random_long(seed, n_sym=1 + seed % 4, unit=unit, tz=tz)
    assert_same_panel(Panel.from_long(bars, "1h"), pivot_reference(bars, "1h"))


def test_from_long_sorted_single_symbol_and_string_timestamps() -> None:
    bars = random_long(11, n_sym=1).sort_values("timestamp", ignore_index=True)
    assert_same_panel(Panel.from_long(bars), pivot_reference(bars))
    text = bars.assign(timestamp=bars["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S"))
    assert_same_panel(Panel.from_long(text), pivot_reference(text))


@pytest.mark.parametrize("n_sym", [1, 3])
def test_duplicate_keys_raise_the_same_error(n_sym: int) -> None:
    bars = random_long(3, n_sym=n_sym)
    dup = pd.concat([bars, bars.iloc[[5, 2]]], ignore_index=True)
    dup.loc[len(dup) - 1, "close"] = 1.0  # same key, other values
    with pytest.raises(DataError) as want:
        pivot_reference(dup)
    with pytest.raises(DataError) as got:
        Panel.from_long(dup)
    assert str(got.value) == str(want.value)


def test_missing_columns_and_empty_frames_keep_their_errors() -> None:
    bars = random_long(1)
    with pytest.raises(DataError, match="missing column"):
        Panel.from_long(bars.drop(columns=["volume"]))
    with pytest.raises(DataError, match="no bars"):
        Panel.from_long(bars.iloc[:0])


def frame_of(bars: pd.DataFrame) -> pd.DataFrame:
    """One symbol's long bars as an OHLCV frame on its DatetimeIndex (plain pandas)."""
    return bars.set_index("timestamp")[list(FIELDS)].astype(float)


def test_from_frame_is_zero_copy_and_equals_the_pivot() -> None:
    bars = random_long(5, n_sym=1).sort_values("timestamp", ignore_index=True)
    df = frame_of(bars)
    panel = Panel.from_frame(df, symbol=str(bars["symbol"][0]), timeframe="1h")
    assert_same_panel(panel, pivot_reference(bars, "1h"))
    for f in FIELDS:
        assert np.shares_memory(getattr(panel, f), df[f].to_numpy())
    before = df.copy()
    _ = Panel.from_frame(df)
    pd.testing.assert_frame_equal(df, before)


def test_from_frame_unsorted_and_duplicated_index() -> None:
    bars = random_long(6, n_sym=1)  # shuffled
    sym = str(bars["symbol"][0])
    assert_same_panel(Panel.from_frame(frame_of(bars), symbol=sym), pivot_reference(bars))
    dup = pd.concat([bars, bars.iloc[[3]]], ignore_index=True)
    with pytest.raises(DataError) as want:
        pivot_reference(dup)
    with pytest.raises(DataError) as got:
        Panel.from_frame(frame_of(dup), symbol=sym)
    assert str(got.value) == str(want.value)


def test_from_frame_without_volume_has_nan_volume() -> None:
    bars = random_long(7, n_sym=1).sort_values("timestamp", ignore_index=True)
    panel = Panel.from_frame(frame_of(bars).drop(columns=["volume"]), symbol="X")
    assert np.isnan(panel.volume).all()
    np.testing.assert_array_equal(panel.close[:, 0], bars["close"].to_numpy())


def test_from_frames_equals_the_pivot() -> None:
    bars = random_long(8, n_sym=3)
    frames = {str(s): frame_of(g) for s, g in bars.groupby("symbol")}
    assert_same_panel(Panel.from_frames(dict(reversed(frames.items()))), pivot_reference(bars))


def test_from_wide_equals_the_pivot_of_stacked_bars() -> None:
    bars = random_long(9, n_sym=3).dropna(subset=["close"])
    wide = {f: bars.pivot(index="timestamp", columns="symbol", values=f) for f in FIELDS}
    index = wide["close"].index
    syms = list(wide["close"].columns)[::-1]  # any column order: the panel sorts symbols
    shuffled = np.random.default_rng(0).permutation(len(index))
    panel = Panel.from_wide(
        index[shuffled], syms, {f: w[syms].to_numpy()[shuffled] for f, w in wide.items()}
    )
    assert_same_panel(panel, pivot_reference(bars))
    with pytest.raises(DataError, match="duplicate bar"):
        Panel.from_wide(index[[0, 1, 1]], syms, {"close": wide["close"][syms].iloc[[0, 1, 1]]})


# ---- timeframe detection -----------------------------------------------------------------------
def _sessions(freq: str, days: int, tz: str | None = None) -> pd.DatetimeIndex:
    """Intraday bars inside 09:30-16:00 on business days (overnight and weekend gaps)."""
    parts = [pd.date_range(d + pd.Timedelta("9h30min"), d + pd.Timedelta("15h59min"), freq=freq)
             for d in pd.bdate_range("2024-01-01", periods=days)]  # fmt: skip
    idx = pd.DatetimeIndex(parts[0].append(parts[1:]))
    return idx.tz_localize(tz) if tz else idx


CASES = {
    "minute": _sessions("1min", 5),
    "minute_gappy": _sessions("1min", 5).delete(np.arange(0, 1900, 3)),
    "5min": _sessions("5min", 10, "America/New_York"),
    "hourly": _sessions("1h", 30),
    "daily_weekends_holidays": pd.bdate_range("2023-01-01", "2024-12-31").delete([10, 40, 41, 90]),
    "daily_tz": pd.bdate_range("2023-01-01", periods=300, tz="UTC"),
    "weekly": pd.date_range("2020-01-03", periods=80, freq="W-FRI").delete([5, 6]),
    "crypto_daily": pd.date_range("2024-01-01", periods=100, freq="D", tz="UTC"),
    "single_midnight": pd.DatetimeIndex(["2024-01-02"]),
    "tie": pd.DatetimeIndex(
        [
            "2024-01-01 00:00",
            "2024-01-01 00:05",
            "2024-01-01 00:06",
            "2024-01-01 00:11",
            "2024-01-01 00:12",
        ]
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_detect_timeframe_matches_the_reference(name: str) -> None:
    idx = CASES[name]
    want = detect_reference(idx)
    assert detect_timeframe(idx) == want
    assert detect_timeframe(pd.Series(idx)) == want
    # several symbols on the same times, rows by symbol: unsorted, repeated timestamps
    stacked = pd.Series(idx.append(idx[::2]).append(idx[1::2]))
    assert detect_timeframe(stacked) == detect_reference(stacked) == want


def test_detect_timeframe_expected_names() -> None:
    got = {k: detect_timeframe(v) for k, v in CASES.items()}
    assert got["minute"] == got["minute_gappy"] == "1m"
    assert got["5min"] == "5m" and got["hourly"] == "1h"
    assert got["daily_weekends_holidays"] == got["weekly"] == got["crypto_daily"] == "1d"


@pytest.mark.parametrize(
    "values",
    [
        pd.DatetimeIndex(["2024-01-02 10:00"]),
        pd.date_range("2024-01-01", periods=20, freq="7min"),
        pd.date_range("2024-01-01 10:00", periods=20, freq="2D"),
    ],
)
def test_detect_timeframe_errors_match_the_reference(values: pd.DatetimeIndex) -> None:
    with pytest.raises(DataError) as want:
        detect_reference(values)
    with pytest.raises(DataError) as got:
        detect_timeframe(values)
    assert str(got.value) == str(want.value)
