"""Property: how a file is cut into chunks never changes what is read."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from alphaforge.data.ingest import read_bars

rows_strategy = st.lists(
    st.tuples(
        st.sampled_from(["A", "B", "C"]),
        st.integers(0, 40),  # minute offset
        st.floats(0.5, 1000, allow_nan=False, allow_infinity=False),
        st.integers(0, 10**6),
    ),
    min_size=1,
    max_size=40,
    unique_by=lambda r: (r[0], r[1]),
)


@settings(max_examples=30, deadline=None)
@given(rows=rows_strategy, chunk_rows=st.integers(1, 7))
def test_chunking_does_not_change_the_result(
    rows: list[tuple[str, int, float, int]], chunk_rows: int
) -> None:
    rows = sorted(rows)  # streaming requires per-symbol time order across chunks
    lines = ["symbol,timestamp,open,high,low,close,volume"]
    for sym, minute, price, vol in rows:
        ts = pd.Timestamp("2024-03-01 14:00", tz="UTC") + pd.Timedelta(minutes=minute)
        lines.append(f"{sym},{ts.isoformat()},{price!r},{price!r},{price!r},{price!r},{vol}")
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bars.csv"
        path.write_text("\n".join(lines) + "\n")
        whole = pd.concat(list(read_bars(path, timeframe="1m")), ignore_index=True)
        parts = list(read_bars(path, timeframe="1m", chunk_rows=chunk_rows))
    chunked = pd.concat(parts, ignore_index=True)
    pd.testing.assert_frame_equal(whole, chunked)
    assert len(parts) == -(-len(rows) // chunk_rows)
    # Values survive the text round trip exactly.
    assert whole["close"].tolist() == [p for _, _, p, _ in rows]
    assert whole["volume"].tolist() == [float(v) for *_, v in rows]
