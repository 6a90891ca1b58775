"""The local market-data store: one Parquet file per (timeframe, symbol), queried with DuckDB.

Layout under ``root``::

    bars/timeframe=1d/symbol=MSFT.parquet
    bars/timeframe=1h/symbol=BTC%2FUSDT.parquet     # symbols are percent-encoded
    .lock, .write.lock                               # reader/commit and writer locks
    bars/_journal.json                               # only while a commit is in progress

Each file holds one symbol's bars sorted by time, with its symbol, row count and first/last
timestamp in the Parquet key-value metadata (so :meth:`ParquetStore.list` reads footers only).
Symbols are percent-encoded (``/``, ``%``, ``:`` and the like), so ``BTC/USDT`` and ``BRK.B`` are
safe; on case-insensitive file systems, symbols differing only in case would share a file.

Writes are upserts by ``(symbol, timestamp)`` (later values win) and atomic (one write, or the
several parts of :meth:`ParquetStore.write_many`, e.g. the files of one import):

1. every affected symbol is merged with its current file into a hidden temporary file in the
   same directory (chunks of one write are merged into the same temporary files);
2. a journal listing the renames is written, then every temporary file is ``os.replace``-d over
   its target while an exclusive lock keeps readers out, then the journal is removed.

A failure before step 2 removes the temporary files and leaves the store byte-identical; a crash
during step 2 is rolled forward from the journal the next time the store is opened, so readers
only ever see the complete old or the complete new state. Files whose bars do not change are not
rewritten, so a re-import is a no-op.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from urllib.parse import quote, unquote

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from alphaforge.core.errors import DataError, StoreError, UnknownSymbolError
from alphaforge.data.schema import parse_timeframe, to_utc
from alphaforge.data.store_merge import (
    ARROW_SCHEMA,
    VALUE_COLUMNS,
    canonical_for_store,
    empty_bars,
    upsert,
)
from alphaforge.ports import SeriesInfo, WriteSummary

try:  # POSIX advisory locks; on other platforms locking is a no-op.
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = ["ParquetStore"]

_META = b"alphaforge"


class ParquetStore:
    """Parquet + DuckDB implementation of :class:`alphaforge.ports.BarStore`.

    Parameters
    ----------
    root
        Directory of the store (created on first write).
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._recover()

    # -- paths -----------------------------------------------------------------------------
    def _tf_dir(self, timeframe: str) -> Path:
        return self.root / "bars" / f"timeframe={timeframe}"

    def _file(self, symbol: str, timeframe: str) -> Path:
        return self._tf_dir(timeframe) / f"symbol={quote(symbol, safe='')}.parquet"

    def _files(self, timeframe: str) -> dict[str, Path]:
        d = self._tf_dir(timeframe)
        if not d.is_dir():
            return {}
        out = {unquote(p.name[len("symbol=") : -len(".parquet")]): p for p in d.iterdir()}
        return {s: p for s, p in out.items() if p.name.startswith("symbol=")}

    @property
    def _journal(self) -> Path:
        return self.root / "bars" / "_journal.json"

    # -- locks -----------------------------------------------------------------------------
    @contextlib.contextmanager
    def _lock(self, name: str, exclusive: bool) -> Iterator[None]:
        if fcntl is None or not self.root.is_dir():
            yield
            return
        with open(self.root / name, "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    # -- write -----------------------------------------------------------------------------
    def write(self, bars: pd.DataFrame | Iterable[pd.DataFrame], timeframe: str) -> WriteSummary:
        """Upsert bars (a frame, or an iterable of chunks committed all-or-nothing).

        Returns
        -------
        WriteSummary
            ``inserted`` counts new ``(symbol, timestamp)`` keys, ``updated`` counts existing
            bars whose values changed; unchanged re-written bars count in neither.
        """
        chunks = [bars] if isinstance(bars, pd.DataFrame) else bars
        return self.write_many([(timeframe, chunks)])[0]

    def write_many(
        self, parts: Iterable[tuple[str, Iterable[pd.DataFrame]]]
    ) -> builtins.list[WriteSummary]:
        """Upsert several writes, each ``(timeframe, chunks)``, as one all-or-nothing commit.

        Parts are consumed in order (a later part's bars win over an earlier part's); nothing
        is visible to readers until every part has been staged, and an error or interrupt in
        any part leaves the store as it was. Returns one summary per part.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        stagings: dict[str, _Staging] = {}
        summaries: builtins.list[WriteSummary] = []
        with self._lock(".write.lock", exclusive=True):
            self._recover_locked()
            try:
                for timeframe, chunks in parts:
                    tf = parse_timeframe(timeframe).name
                    staging = stagings.setdefault(tf, _Staging(self, tf))
                    staging.start_part()
                    for chunk in chunks:
                        staging.add(canonical_for_store(chunk))
                    summaries.append(staging.summary())
                self._commit([r for st in stagings.values() for r in st.renames()])
            finally:
                for staging in stagings.values():
                    staging.cleanup()
        return summaries

    def _commit(self, renames: builtins.list[tuple[Path, Path]]) -> None:
        if not renames:
            return
        with self._lock(".lock", exclusive=True):
            _atomic_json(self._journal, [[str(a), str(b)] for a, b in renames])
            for tmp, final in renames:
                _rename(tmp, final)
            for folder in dict.fromkeys(final.parent for _, final in renames):
                _fsync_dir(folder)
            self._journal.unlink()

    def _recover(self) -> None:
        if self._journal.exists() or self.root.is_dir():
            with self._lock(".write.lock", exclusive=True):
                self._recover_locked()

    def _recover_locked(self) -> None:
        """Roll a crashed commit forward; drop temporary files of crashed writes."""
        if self._journal.exists():
            with self._lock(".lock", exclusive=True):
                try:
                    pairs = json.loads(self._journal.read_text())
                except ValueError as exc:
                    raise StoreError(
                        f"{self._journal}: unreadable commit journal ({exc})"
                    ) from None
                for tmp, final in pairs:
                    if Path(tmp).exists():
                        os.replace(tmp, final)
                self._journal.unlink()
        bars = self.root / "bars"
        if bars.is_dir():
            for tmp in bars.glob("timeframe=*/.tmp-*"):
                tmp.unlink(missing_ok=True)

    # -- read ------------------------------------------------------------------------------
    def read(
        self,
        symbols: Sequence[str] | None,
        timeframe: str,
        start: pd.Timestamp | None = None,
        end: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Bars of ``symbols`` (all when ``None``) in ``[start, end]``, sorted by symbol, time.

        Raises
        ------
        UnknownSymbolError
            When a requested symbol has no bars of this timeframe in the store.
        """
        tf = parse_timeframe(timeframe).name
        if self._journal.exists():
            self._recover()
        with self._lock(".lock", exclusive=False):
            files = self._files(tf)
            if symbols is None:
                chosen = [files[s] for s in sorted(files)]
            else:
                unknown = [s for s in symbols if s not in files]
                if unknown:
                    raise UnknownSymbolError(
                        f"unknown symbol {unknown[0]!r} for timeframe {tf} in store {self.root}"
                    )
                chosen = [files[s] for s in sorted(set(symbols))]
            if not chosen:
                return empty_bars()
            table = _query(chosen, to_utc(start), to_utc(end))
        return _to_frame(table)

    def list(self, timeframe: str | None = None) -> list[SeriesInfo]:
        """One :class:`SeriesInfo` per stored (symbol, timeframe), sorted."""
        tfs = [parse_timeframe(timeframe).name] if timeframe else self._timeframes()
        out: list[SeriesInfo] = []
        with self._lock(".lock", exclusive=False):
            for tf in tfs:
                for sym, path in sorted(self._files(tf).items()):
                    rows, first, last = _footer(path)
                    out.append(SeriesInfo(sym, tf, rows, first, last))
        return out

    def _timeframes(self) -> builtins.list[str]:
        bars = self.root / "bars"
        if not bars.is_dir():
            return []
        return sorted(p.name.split("=", 1)[1] for p in bars.glob("timeframe=*") if p.is_dir())

    def last_timestamp(self, symbol: str, timeframe: str) -> pd.Timestamp | None:
        """Timestamp of the newest stored bar, or ``None`` when the series is absent."""
        path = self._file(symbol, parse_timeframe(timeframe).name)
        with self._lock(".lock", exclusive=False):
            if not path.exists():
                return None
            return _footer(path)[2]

    def delete(self, symbol: str, timeframe: str) -> None:
        """Remove one series; raises :class:`UnknownSymbolError` when it is absent."""
        tf = parse_timeframe(timeframe).name
        path = self._file(symbol, tf)
        if not path.exists():
            raise UnknownSymbolError(f"unknown symbol {symbol!r} for timeframe {tf}")
        with self._lock(".write.lock", exclusive=True), self._lock(".lock", exclusive=True):
            path.unlink()


class _Staging:
    """Temporary merged files of one write, keyed by symbol."""

    def __init__(self, store: ParquetStore, timeframe: str) -> None:
        self.store = store
        self.tf = timeframe
        self.tmp: dict[str, Path] = {}
        self.inserted: dict[str, int] = {}
        self.updated: dict[str, int] = {}

    def add(self, chunk: pd.DataFrame) -> None:
        if chunk.empty:
            return
        sym_values = chunk["symbol"].to_numpy()
        bounds = np.flatnonzero(sym_values[1:] != sym_values[:-1]) + 1
        starts = np.concatenate([[0], bounds])
        ends = np.concatenate([bounds, [len(chunk)]])
        for a, b in zip(starts, ends, strict=True):
            self._add_symbol(str(sym_values[a]), chunk.iloc[a:b])

    def _add_symbol(self, symbol: str, part: pd.DataFrame) -> None:
        final = self.store._file(symbol, self.tf)
        base_path = self.tmp.get(symbol) or (final if final.exists() else None)
        base = _read_file(base_path) if base_path is not None else None
        merged, ins, upd = upsert(base, part)
        self.inserted[symbol] = self.inserted.get(symbol, 0) + ins
        self.updated[symbol] = self.updated.get(symbol, 0) + upd
        if ins == 0 and upd == 0:
            return
        tmp = self.tmp.get(symbol) or final.parent / f".tmp-{uuid.uuid4().hex}.parquet"
        final.parent.mkdir(parents=True, exist_ok=True)
        self.tmp[symbol] = tmp  # registered first, so a failed write is cleaned up too
        _write_table(merged, symbol, tmp)

    def renames(self) -> list[tuple[Path, Path]]:
        return [(tmp, self.store._file(sym, self.tf)) for sym, tmp in sorted(self.tmp.items())]

    def cleanup(self) -> None:
        for tmp in self.tmp.values():
            tmp.unlink(missing_ok=True)

    def start_part(self) -> None:
        """Count what comes next on its own (one file of a multi-file write)."""
        self.inserted = {}
        self.updated = {}

    def summary(self) -> WriteSummary:
        """What the bars staged since :meth:`start_part` do to the store."""
        return WriteSummary(
            symbols=tuple(sorted(self.inserted)),
            inserted=sum(self.inserted.values()),
            updated=sum(self.updated.values()),
        )


def _read_file(path: Path) -> pd.DataFrame:
    try:
        table = pq.read_table(path, schema=ARROW_SCHEMA)
    except (pa.ArrowInvalid, OSError) as exc:
        raise StoreError(f"{path}: unreadable store file ({exc})") from None
    return table.to_pandas(ignore_metadata=True)


def _write_table(bars: pd.DataFrame, symbol: str, path: Path) -> None:
    """Write one symbol's merged bars to ``path`` and flush it to disk."""
    table = pa.Table.from_pandas(bars, schema=ARROW_SCHEMA, preserve_index=False)
    ts = bars["timestamp"]
    meta = {
        "symbol": symbol,
        "rows": len(bars),
        "first": ts.iloc[0].isoformat(),
        "last": ts.iloc[-1].isoformat(),
    }
    table = table.replace_schema_metadata({_META: json.dumps(meta).encode()})
    with open(path, "wb") as fh:
        pq.write_table(table, fh, compression="zstd")
        fh.flush()
        os.fsync(fh.fileno())


def _rename(tmp: Path, final: Path) -> None:
    os.replace(tmp, final)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _atomic_json(path: Path, payload: object) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(payload, fh)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _footer(path: Path) -> tuple[int, pd.Timestamp, pd.Timestamp]:
    try:
        meta = pq.read_schema(path).metadata or {}
    except (pa.ArrowInvalid, OSError) as exc:
        raise StoreError(f"{path}: unreadable store file ({exc})") from None
    if _META not in meta:  # a Parquet file the store did not write (copied or edited in)
        raise StoreError(
            f"{path}: not a store file (no alphaforge footer: written by another tool?); "
            "remove it and load its bars with `alphaforge data import FILE`"
        )
    try:
        info = json.loads(meta[_META])
    except ValueError as exc:
        raise StoreError(f"{path}: unreadable store file ({exc})") from None
    return int(info["rows"]), pd.Timestamp(info["first"]), pd.Timestamp(info["last"])


def _query(files: list[Path], start: pd.Timestamp | None, end: pd.Timestamp | None) -> pa.Table:
    where: list[str] = []
    params: dict[str, object] = {"files": [str(f) for f in files]}
    if start is not None:
        where.append("timestamp >= CAST($start AS TIMESTAMPTZ_NS)")
        params["start"] = start
    if end is not None:
        where.append("timestamp <= CAST($end AS TIMESTAMPTZ_NS)")
        params["end"] = end
    sql = "SELECT * FROM read_parquet($files, union_by_name=true)"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY symbol, timestamp"
    try:
        con = duckdb.connect()
        try:
            con.execute("SET TimeZone='UTC'")
            return con.sql(sql, params=params).to_arrow_table()
        finally:
            con.close()
    except duckdb.Error as exc:
        raise StoreError(f"store query failed: {str(exc).splitlines()[0]}") from None


def _to_frame(table: pa.Table) -> pd.DataFrame:
    df = table.to_pandas(ignore_metadata=True)
    df["timestamp"] = df["timestamp"].dt.as_unit("ns").dt.tz_convert("UTC")
    if "adj_close" in df.columns and df["adj_close"].isna().all():
        df = df.drop(columns="adj_close")
    cols = ["symbol", "timestamp", *[c for c in VALUE_COLUMNS if c in df.columns]]
    if len(df) and df["symbol"].isna().any():
        raise DataError("store holds bars without a symbol")
    return df[cols]
