"""A ~1 GB CSV is streamed in chunks: peak memory stays far below the file size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

TARGET_BYTES = int(os.environ.get("ALPHAFORGE_LARGE_CSV_BYTES", 1_000_000_000))

_CHILD = """
import json, resource, sys
from alphaforge.data.ingest import read_bars
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
rows = chunks = 0
last = None
for chunk in read_bars(sys.argv[1], chunk_rows=100_000):
    rows += len(chunk)
    chunks += 1
    last = chunk["timestamp"].iloc[-1]
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rows": rows, "chunks": chunks, "before_kb": before, "after_kb": after,
                  "last": str(last)}))
"""


def _generate(path: Path, target_bytes: int) -> int:
    """Write minute bars of one symbol until the file reaches ``target_bytes``."""
    rng = np.random.default_rng(7)
    start = np.datetime64("1990-01-01T00:00:00", "s")
    rows = 0
    part = 1_000_000
    with pacsv.CSVWriter(path, _schema()) as writer:
        while path.stat().st_size < target_bytes:
            close = 100.0 + rng.random(part)
            table = pa.table(
                {
                    "timestamp": start + np.arange(rows, rows + part) * np.timedelta64(60, "s"),
                    "open": close * 0.999,
                    "high": close * 1.001,
                    "low": close * 0.998,
                    "close": close,
                    "volume": rng.integers(0, 10_000, part).astype(np.float64),
                },
                schema=_schema(),
            )
            writer.write_table(table)
            rows += part
    return rows


def _schema() -> pa.Schema:
    return pa.schema(
        [("timestamp", pa.timestamp("s"))]
        + [(c, pa.float64()) for c in ("open", "high", "low", "close", "volume")]
    )


@pytest.mark.slow
def test_large_csv_is_streamed_with_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "BIG.csv"
    rows = _generate(path, TARGET_BYTES)
    size = path.stat().st_size
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=1800,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["rows"] == rows
    assert result["chunks"] >= rows // 100_000
    # The last bar is the (rows-1)-th minute after 1990-01-01.
    expected_last = np.datetime64("1990-01-01T00:00:00", "s") + (rows - 1) * np.timedelta64(60, "s")
    assert result["last"].startswith(str(expected_last).replace("T", " "))
    # ru_maxrss is in KiB on Linux; "before" is the peak after the imports.
    growth = (result["after_kb"] - result["before_kb"]) * 1024
    # Loading the file whole would need at least its size in memory (pandas needs several
    # times that); streaming keeps the working set to a few chunks, far below the file size.
    assert growth < size / 4, (growth, size)
