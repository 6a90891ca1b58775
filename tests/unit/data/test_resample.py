"""Resampling against hand-computed bars, and the adj_close adjustment."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphaforge.data.adjust import adjust_bars, adjustment_factor
from alphaforge.data.resample import resample


def _bars(symbol: str, stamps: list[str], rows: Sequence[tuple[float, ...]]) -> pd.DataFrame:
    o, h, lo, c, v = zip(*rows, strict=True)
    return pd.DataFrame(
        {
            "symbol": symbol,
            "timestamp": pd.DatetimeIndex(stamps, tz="UTC"),
            "open": o,
            "high": h,
            "low": lo,
            "close": c,
            "volume": v,
        }
    )


def test_1m_to_5m_hand_computed() -> None:
    stamps = [f"2021-07-01 13:{m:02d}" for m in (30, 31, 32, 34, 35, 36)]
    rows = [
        (10, 11, 9, 10.5, 100),
        (10.5, 12, 10, 11, 50),
        (11, 11.5, 8, 9, 25),
        (9, 9.5, 8.5, 9.2, 5),  # 13:34, still in the 13:30 bin (13:33 missing)
        (9.2, 10, 9, 9.9, 10),  # 13:35 opens the next bin
        (9.9, 9.9, 7, 8, 20),
    ]
    out = resample(_bars("X", stamps, rows), "5m")
    # Bin 13:30: open 10 (first), high max(11,12,11.5,9.5)=12, low min(9,10,8,8.5)=8,
    # close 9.2 (last), volume 100+50+25+5=180.
    # Bin 13:35: open 9.2, high 10, low 7, close 8, volume 30.
    assert out["timestamp"].tolist() == [
        pd.Timestamp("2021-07-01 13:30", tz="UTC"),
        pd.Timestamp("2021-07-01 13:35", tz="UTC"),
    ]
    assert out[["open", "high", "low", "close", "volume"]].to_numpy().tolist() == [
        [10, 12, 8, 9.2, 180],
        [9.2, 10, 7, 8, 30],
    ]


def test_1m_to_1h_is_labelled_by_utc_hour_start_and_per_symbol() -> None:
    a = _bars("A", ["2021-07-01 13:59", "2021-07-01 14:00"], [(1, 2, 1, 2, 1), (2, 3, 2, 3, 1)])
    b = _bars("B", ["2021-07-01 13:45"], [(5, 5, 5, 5, 7)])
    out = resample(pd.concat([b, a]), "1h")
    assert out[["symbol", "timestamp", "close"]].values.tolist() == [
        ["A", pd.Timestamp("2021-07-01 13:00", tz="UTC"), 2.0],
        ["A", pd.Timestamp("2021-07-01 14:00", tz="UTC"), 3.0],
        ["B", pd.Timestamp("2021-07-01 13:00", tz="UTC"), 5.0],
    ]


def test_1m_to_1d_uses_new_york_session_date_for_xnys() -> None:
    # 2021-07-01 23:59 UTC is 19:59 EDT on July 1; 2021-07-02 00:30 UTC is 20:30 EDT, still
    # July 1 in New York, so all three bars form the July 1 session. 2021-07-02 13:30 UTC is
    # 09:30 EDT on July 2.
    stamps = ["2021-07-01 13:30", "2021-07-01 23:59", "2021-07-02 00:30", "2021-07-02 13:30"]
    rows = [(1, 2, 0.5, 1.5, 10), (1.5, 3, 1, 2, 20), (2, 2.5, 1.8, 2.2, 30), (9, 9, 9, 9, 1)]
    bars = _bars("SPY", stamps, rows)
    ny = resample(bars, "1d", calendar="XNYS")
    assert ny["timestamp"].tolist() == [
        pd.Timestamp("2021-07-01", tz="UTC"),
        pd.Timestamp("2021-07-02", tz="UTC"),
    ]
    assert ny.iloc[0][["open", "high", "low", "close", "volume"]].tolist() == [1, 3, 0.5, 2.2, 60]
    # 24/7 (crypto): UTC days, so the 00:30 UTC bar belongs to July 2.
    utc = resample(bars, "1d", calendar="24/7")
    assert utc.iloc[0][["close", "volume"]].tolist() == [2.0, 30.0]
    assert utc.iloc[1][["open", "close", "volume"]].tolist() == [2.0, 9.0, 31.0]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 600),
            st.floats(1, 100),
            st.floats(0, 5),
            st.floats(0, 5),
            st.floats(0, 1e6),
        ),
        min_size=1,
        max_size=60,
        unique_by=lambda r: r[0],
    )
)
def test_resample_matches_a_plain_python_reference(
    rows: list[tuple[int, float, float, float, float]],
) -> None:
    rows = sorted(rows)
    base = pd.Timestamp("2024-01-02 14:00", tz="UTC")
    stamps = [base + pd.Timedelta(minutes=m) for m, *_ in rows]
    data = [(p, p + up, p - min(dn, p * 0.5), p, v) for _, p, up, dn, v in rows]
    bars = _bars("Z", [str(s) for s in stamps], data)
    out = resample(bars, "15m")
    groups: dict[int, list[tuple[float, ...]]] = {}
    for (m, *_), row in zip(rows, data, strict=True):
        groups.setdefault(m // 15, []).append(row)
    expected = [
        [g[0][0], max(r[1] for r in g), min(r[2] for r in g), g[-1][3], sum(r[4] for r in g)]
        for _, g in sorted(groups.items())
    ]
    got = out[["open", "high", "low", "close", "volume"]].to_numpy()
    np.testing.assert_allclose(got, np.array(expected), rtol=1e-12)
    assert [int((t - base).total_seconds() // 60) for t in out["timestamp"]] == [
        k * 15 for k in sorted(groups)
    ]


def test_resample_rejects_missing_columns() -> None:
    from alphaforge.core.errors import DataError

    with pytest.raises(DataError, match="missing column"):
        resample(pd.DataFrame({"symbol": ["A"]}), "1d")


def test_adjust_bars_scales_ohlc_and_volume_by_adj_close_over_close() -> None:
    # A 2:1 split after day 1: raw close 100 then 50; adj_close 50 and 50, so the factor of
    # day 1 is 0.5: adjusted open 98*0.5=49, volume 1000/0.5=2000.
    bars = pd.DataFrame(
        {
            "symbol": ["A", "A"],
            "timestamp": pd.DatetimeIndex(["2020-01-02", "2020-01-03"], tz="UTC"),
            "open": [98.0, 51.0],
            "high": [102.0, 52.0],
            "low": [96.0, 49.0],
            "close": [100.0, 50.0],
            "volume": [1000.0, 2500.0],
            "adj_close": [50.0, 50.0],
        }
    )
    np.testing.assert_allclose(adjustment_factor(bars), [0.5, 1.0])
    adj = adjust_bars(bars)
    assert "adj_close" not in adj.columns
    assert adj[["open", "high", "low", "close", "volume"]].to_numpy().tolist() == [
        [49.0, 51.0, 48.0, 50.0, 2000.0],
        [51.0, 52.0, 49.0, 50.0, 2500.0],
    ]
    unchanged = adjust_bars(bars.drop(columns="adj_close"))
    assert unchanged["open"].tolist() == [98.0, 51.0]
