"""ParquetStore on temporary directories: upserts, atomicity, crash recovery, readers."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alphaforge.config.settings import AppSettings
from alphaforge.core.errors import DataError, UnknownSymbolError
from alphaforge.data import store as store_mod
from alphaforge.data.store import ParquetStore
from alphaforge.ports import BarStore
from alphaforge.services.store import load_bars, load_panel, open_store

pytestmark = pytest.mark.integration


def bars(symbol: str, start: str, n: int, close: float = 10.0, freq: str = "1D") -> pd.DataFrame:
    ts = pd.date_range(start, periods=n, freq=freq, tz="UTC")
    c = close + np.arange(n, dtype=float)
    return pd.DataFrame(
        {
            "symbol": symbol,
            "timestamp": ts,
            "open": c - 0.5,
            "high": c + 1,
            "low": c - 1,
            "close": c,
            "volume": np.full(n, 100.0),
        }
    )


def snapshot(root: Path) -> dict[str, bytes]:
    """Every visible file of the store (locks excluded) and its bytes."""
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(".")
    }


def hidden(root: Path) -> list[Path]:
    return [p for p in root.rglob(".tmp-*")]


def test_store_implements_the_port(tmp_path: Path) -> None:
    assert isinstance(ParquetStore(tmp_path), BarStore)


def test_write_read_upsert_and_idempotent_rewrite(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path / "s")
    first = store.write(pd.concat([bars("B", "2020-01-01", 5), bars("A", "2020-01-01", 3)]), "1d")
    assert (first.inserted, first.updated, first.symbols) == (8, 0, ("A", "B"))
    before = snapshot(tmp_path / "s")
    again = store.write(bars("A", "2020-01-01", 3), "1d")
    assert (again.inserted, again.updated) == (0, 0)
    assert snapshot(tmp_path / "s") == before  # unchanged bars are not rewritten
    # Overlap: days 3..4 of A are new, day 2 changes close -> 2 inserted, 1 updated.
    new = bars("A", "2020-01-03", 3, close=50.0)
    summary = store.write(new, "1d")
    assert (summary.inserted, summary.updated) == (2, 1)
    got = store.read(["A"], "1d")
    assert got["close"].tolist() == [10.0, 11.0, 50.0, 51.0, 52.0]
    assert got["timestamp"].is_monotonic_increasing
    assert str(got["timestamp"].dtype) == "datetime64[ns, UTC]"
    both = store.read(None, "1d", start=pd.Timestamp("2020-01-04"), end=pd.Timestamp("2020-01-05"))
    assert both[["symbol", "close"]].values.tolist() == [
        ["A", 51.0],
        ["A", 52.0],
        ["B", 13.0],
        ["B", 14.0],
    ]
    infos = {(i.symbol, i.timeframe): i for i in store.list()}
    assert infos[("A", "1d")].rows == 5
    assert infos[("A", "1d")].last == pd.Timestamp("2020-01-05", tz="UTC")
    assert store.last_timestamp("B", "1d") == pd.Timestamp("2020-01-05", tz="UTC")
    assert store.last_timestamp("B", "1h") is None


def test_awkward_symbols_are_stored_safely(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    names = ["BTC/USDT", "BRK.B", "a%b", "../x", "XRP/USDT:USDT"]
    store.write(pd.concat([bars(s, "2021-01-01", 2, freq="1h") for s in names]), "1h")
    files = list((tmp_path / "bars" / "timeframe=1h").iterdir())
    assert len([f for f in files if f.name.startswith("symbol=")]) == len(names)
    assert all(f.parent == tmp_path / "bars" / "timeframe=1h" for f in files)
    assert [i.symbol for i in store.list("1h")] == sorted(names)
    assert store.read(["BTC/USDT"], "1h")["symbol"].unique().tolist() == ["BTC/USDT"]


def test_unknown_symbol_delete_and_bad_bars(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    assert store.read(None, "1d").empty
    store.write(bars("A", "2020-01-01", 2), "1d")
    with pytest.raises(UnknownSymbolError, match="'NOPE'"):
        store.read(["A", "NOPE"], "1d")
    store.delete("A", "1d")
    assert store.list() == []
    with pytest.raises(UnknownSymbolError):
        store.delete("A", "1d")
    with pytest.raises(DataError, match="missing column"):
        store.write(bars("A", "2020-01-01", 2).drop(columns="volume"), "1d")


def test_failed_chunked_write_leaves_store_byte_identical(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    store.write(pd.concat([bars("A", "2020-01-01", 4), bars("B", "2020-01-01", 4)]), "1d")
    before = snapshot(tmp_path)

    def chunks() -> Iterator[pd.DataFrame]:
        yield bars("A", "2020-01-03", 5, close=99.0)
        yield bars("C", "2020-01-01", 5)
        raise DataError("bad row in the third chunk")

    with pytest.raises(DataError, match="third chunk"):
        store.write(chunks(), "1d")
    assert snapshot(tmp_path) == before
    assert hidden(tmp_path) == []


def test_failure_while_staging_files_leaves_store_byte_identical(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = ParquetStore(tmp_path)
    store.write(pd.concat([bars(s, "2020-01-01", 4) for s in "ABC"]), "1d")
    before = snapshot(tmp_path)
    real = store_mod._write_table
    calls = {"n": 0}

    def flaky(df: pd.DataFrame, symbol: str, path: Path) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            path.write_bytes(b"half a file")  # a torn temporary file, then the failure
            raise OSError("disk full")
        real(df, symbol, path)

    monkeypatch.setattr(store_mod, "_write_table", flaky)
    update = pd.concat([bars(s, "2020-01-02", 6, close=70.0) for s in "ABC"])
    with pytest.raises(OSError, match="disk full"):
        store.write(update, "1d")
    assert snapshot(tmp_path) == before
    assert hidden(tmp_path) == []


_KILL_CHILD = """
import os, sys
import numpy as np, pandas as pd
from alphaforge.data import store as m
root, phase = sys.argv[1], sys.argv[2]
n = {"k": 0}
if phase == "staging":
    real = m._write_table
    def hook(df, symbol, path):
        n["k"] += 1
        if n["k"] == 2:
            path.write_bytes(b"torn")
            os._exit(9)
        real(df, symbol, path)
    m._write_table = hook
else:
    real = m._rename
    def hook(tmp, final):
        n["k"] += 1
        if n["k"] == 2:
            os._exit(9)
        real(tmp, final)
    m._rename = hook
ts = pd.date_range("2020-01-01", periods=6, freq="1D", tz="UTC")
df = pd.concat([pd.DataFrame({"symbol": s, "timestamp": ts, "open": 70.0, "high": 71.0,
                              "low": 69.0, "close": 70.0, "volume": 1.0}) for s in "ABC"])
m.ParquetStore(root).write(df, "1d")
"""


def _kill_during(tmp_path: Path, phase: str) -> tuple[dict[str, bytes], ParquetStore]:
    store = ParquetStore(tmp_path)
    store.write(pd.concat([bars(s, "2020-01-01", 4) for s in "ABC"]), "1d")
    before = snapshot(tmp_path)
    proc = subprocess.run([sys.executable, "-c", _KILL_CHILD, str(tmp_path), phase], check=False)
    assert proc.returncode == 9  # the writer died mid-way, no cleanup ran
    return before, store


def test_killed_while_staging_old_state_stays_and_temp_files_are_cleaned(tmp_path: Path) -> None:
    before, _ = _kill_during(tmp_path, "staging")
    assert snapshot(tmp_path) == before  # torn temporary files are hidden
    assert hidden(tmp_path) != []
    reopened = ParquetStore(tmp_path)
    assert hidden(tmp_path) == []
    assert reopened.read(["A"], "1d")["close"].tolist() == [10.0, 11.0, 12.0, 13.0]


def test_killed_during_commit_is_rolled_forward_on_next_open(tmp_path: Path) -> None:
    _kill_during(tmp_path, "commit")
    assert (tmp_path / "bars" / "_journal.json").exists()
    reopened = ParquetStore(tmp_path)
    got = reopened.read(None, "1d")
    # Every symbol has the complete new state: 6 bars at close 70.
    assert got.groupby("symbol")["close"].agg(list).to_dict() == {s: [70.0] * 6 for s in "ABC"}
    assert not (tmp_path / "bars" / "_journal.json").exists()


def test_concurrent_reader_never_sees_half_a_write(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    ts_count = 50

    def version(k: int) -> pd.DataFrame:
        return pd.concat([bars(s, "2020-01-01", ts_count, close=float(k)) for s in "AB"])

    store.write(version(0), "1d")
    seen: list[tuple[float, float]] = []
    stop = threading.Event()

    def reader() -> None:
        reader_store = ParquetStore(tmp_path)
        while not stop.is_set():
            df = reader_store.read(["A", "B"], "1d")
            firsts = df.groupby("symbol")["close"].first()
            seen.append((firsts["A"], firsts["B"]))

    t = threading.Thread(target=reader)
    t.start()
    try:
        for k in range(1, 25):
            store.write(version(k), "1d")
    finally:
        stop.set()
        t.join()
    assert seen
    # A and B are written together, so every read sees both at the same version.
    assert all(a == b for a, b in seen), [s for s in seen if s[0] != s[1]][:3]


def test_services_open_store_load_bars_and_panel(settings: AppSettings) -> None:
    store = open_store(settings)
    assert isinstance(store, ParquetStore)
    a = bars("A", "2020-01-01", 3)
    a["adj_close"] = a["close"] * 0.5  # factor 0.5 on every bar
    b = bars("B", "2020-01-02", 3, close=20.0)
    store.write(pd.concat([a, b]), "1d")
    adjusted = load_bars(store, ["A"], "1d")
    assert adjusted["close"].tolist() == [5.0, 5.5, 6.0]
    assert adjusted["volume"].tolist() == [200.0, 200.0, 200.0]  # 100 / 0.5
    panel = load_panel(store, ["B", "A"], "1d")
    assert panel.symbols == ("B", "A")
    assert len(panel.index) == 4  # union of 2020-01-01 .. 2020-01-04
    # B has no bar on 2020-01-01 and A none on 2020-01-04: NaN there.
    assert np.isnan(panel.close[0, 0]) and np.isnan(panel.close[3, 1])
    assert panel.close[1].tolist() == [20.0, 5.5]
    raw = load_panel(store, None, "1d", adjust=False, start="2020-01-02", end="2020-01-02")
    assert raw.close.tolist() == [[11.0, 20.0]]
    with pytest.raises(DataError, match="no 1d bars"):
        load_panel(store, ["A"], "1d", start="2021-01-01")


def test_write_many_commits_every_part_or_none(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    store.write(bars("A", "2020-01-01", 3), "1d")
    before = snapshot(tmp_path)

    def failing() -> Iterator[pd.DataFrame]:
        yield bars("C", "2020-01-01", 2)
        raise DataError("bad row in the second part")

    parts = [
        ("1d", [bars("B", "2020-01-01", 4)]),
        ("1d", failing()),
        ("1h", [bars("H", "2020-01-01", 5, freq="1h")]),
    ]
    with pytest.raises(DataError, match="second part"):
        store.write_many(parts)
    assert snapshot(tmp_path) == before and hidden(tmp_path) == []
    # the same parts without the failure: one commit, one summary per part, in order; the
    # second part overlaps the first's B (days 3..4 change, day 5 is new) and A (day 3 changes)
    summaries = store.write_many(
        [
            ("1d", [bars("B", "2020-01-01", 4)]),
            ("1d", [bars("B", "2020-01-03", 3, close=50.0), bars("A", "2020-01-03", 1, close=7)]),
            ("1h", [bars("H", "2020-01-01", 5, freq="1h")]),
        ]
    )
    got = [(s.symbols, s.inserted, s.updated) for s in summaries]
    assert got == [(("B",), 4, 0), (("A", "B"), 1, 3), (("H",), 5, 0)]
    assert store.read(["B"], "1d")["close"].tolist() == [10.0, 11.0, 50.0, 51.0, 52.0]
    assert store.read(["A"], "1d")["close"].tolist() == [10.0, 11.0, 7.0]
    assert [(i.symbol, i.timeframe, i.rows) for i in store.list()] == [
        ("A", "1d", 3), ("B", "1d", 5), ("H", "1h", 5),
    ]  # fmt: skip


def test_a_parquet_file_the_store_did_not_write_is_named_as_such(tmp_path: Path) -> None:
    """A series rewritten by another tool (pandas) lost the store's footer; listing the store
    said 'unreadable store file (b'alphaforge')'."""
    from alphaforge.core.errors import StoreError

    store = ParquetStore(tmp_path / "s")
    store.write(bars("A", "2020-01-01", 5), "1d")
    path = next((tmp_path / "s").rglob("symbol=A.parquet"))
    pd.read_parquet(path).to_parquet(path)
    with pytest.raises(StoreError) as err:
        store.list()
    assert str(err.value) == (
        f"{path}: not a store file (no alphaforge footer: written by another tool?); remove it "
        "and load its bars with `alphaforge data import FILE`"
    )
