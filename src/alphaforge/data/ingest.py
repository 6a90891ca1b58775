"""Reading bar files (CSV or Parquet) into canonical, validated chunks.

Rules applied to every input (files and in-memory frames from data vendors):

* Column names are matched case-insensitively, ignoring spaces, ``_`` and ``-``: ``Date``,
  ``Datetime``, ``timestamp``, ``time``; ``Open/High/Low/Close``; ``Adj Close``, ``adj_close``,
  ``adjclose``; ``Volume``, ``vol``. Separate ``Date`` and ``Time`` columns are joined. Columns
  outside the canonical schema are ignored (and reported).
* Timestamps: integers are unix epochs (seconds, milliseconds, microseconds or nanoseconds,
  decided per value by magnitude). Timezone-aware values are converted to UTC; strings that all
  carry an explicit offset may use different offsets. A column where some strings carry an
  offset and others do not is an error naming the first row that differs. Naive intraday values
  are taken in ``tz`` (default: UTC, reported as a note). Daily bars keep the session date as
  written, stored at 00:00 UTC.
* Bad input raises :class:`~alphaforge.core.errors.DataError` naming the file, the row (the
  1-based line number for CSV) and the column: a CSV that is not UTF-8 text, an empty file, a
  wrong delimiter, a missing column, a row with too few or too many fields, unparsable dates,
  mixed timezones, non-finite or non-positive prices, negative volume, conflicting duplicate
  keys (unless ``on_duplicate`` is ``"first"`` or ``"last"``). Read from a file
  (:func:`read_bars`), it is a :class:`~alphaforge.core.errors.UserFileError`: bad input,
  exit code 2 (a vendor's frame given to :func:`normalize_bars` stays a plain ``DataError``).
* Exact duplicate rows are dropped and unordered rows are sorted; both are reported as notes.
  A bar with ``high < low`` or a close outside ``[low, high]`` is *not* an import error: that is a
  finding of the quality checks (:mod:`alphaforge.data.quality`), which need such bars stored.
* Files are streamed in chunks of about ``chunk_rows`` rows and never loaded whole. Duplicates
  and ordering are checked within a chunk and across chunk boundaries; a row that goes back in
  time past the end of an earlier chunk of the same symbol is an error (sort the file first).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from alphaforge.core.errors import DataError, NotTextError, UserFileError
from alphaforge.core.textfile import not_utf8
from alphaforge.core.timeframe import detect_timeframe
from alphaforge.core.userfile import user_file_errors
from alphaforge.data.ingest_checks import (
    CANONICAL,
    Locator,
    canonical_columns,
    check_values,
    note_broken_bars,
    note_spikes,
    parse_timestamps,
    resolve_duplicates,
)

__all__ = ["IngestReport", "detect_timeframe", "normalize_bars", "not_utf8_csv", "read_bars"]

OnDuplicate = Literal["error", "first", "last"]
DEFAULT_CHUNK_ROWS = 250_000  # peak memory of an import grows with it; time does not shrink
_DELIMITERS = (";", "\t", "|")
_CODECS = {".gz": "gzip", ".bz2": "bz2"}


@dataclass
class IngestReport:
    """Notes gathered while reading (assumed timezone, dropped duplicates, sorting, ...)."""

    notes: list[str] = field(default_factory=list)
    suspect: list[str] = field(default_factory=list)  # broken bars kept as they are
    rows_read: int = 0
    timeframe: str | None = None

    def note(self, message: str) -> None:
        if message not in self.notes:
            self.notes.append(message)


def normalize_bars(
    df: pd.DataFrame,
    source: str,
    *,
    symbol: str | None = None,
    timeframe: str | None = None,
    tz: str | None = None,
    on_duplicate: OnDuplicate = "error",
    report: IngestReport | None = None,
) -> pd.DataFrame:
    """Validate and normalize an in-memory bar frame to the canonical schema.

    Parameters
    ----------
    df
        Bars with any of the recognised column-name variants; a ``DatetimeIndex`` named like a
        time column is used when there is no time column.
    source
        Where the frame came from (a vendor name or file), used in error messages.
    symbol
        Symbol for frames without a symbol column.
    timeframe
        ``1m .. 1d``; detected from the timestamps when ``None``.
    tz
        Zone of naive intraday timestamps (default UTC, reported as a note).
    on_duplicate
        What to do with rows sharing ``(symbol, timestamp)`` but not values.
    report
        Collects notes when given.

    Returns
    -------
    pandas.DataFrame
        ``symbol, timestamp, open, high, low, close, volume[, adj_close]`` sorted by symbol and
        timestamp, timestamp ``datetime64[ns, UTC]``, prices float64.
    """
    report = report if report is not None else IngestReport()
    if not isinstance(df.index, pd.RangeIndex):
        df = df.reset_index()
    loc = Locator(source, "row", np.arange(1, len(df) + 1, dtype=np.int64))
    if df.empty:
        return _empty(df)
    return _normalize_chunk(df, loc, symbol, timeframe, tz, on_duplicate, report, _StreamState())


def read_bars(
    path: str | Path,
    symbol: str | None = None,
    timeframe: str | None = None,
    tz: str | None = None,
    on_duplicate: OnDuplicate = "error",
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    report: IngestReport | None = None,
) -> Iterator[pd.DataFrame]:
    """Stream a CSV or Parquet bar file as canonical, validated chunks.

    Parameters
    ----------
    path
        ``.csv`` (optionally compressed, e.g. ``.csv.gz``) or ``.parquet`` file, long format
        (with a symbol column) or one file per symbol.
    symbol
        Symbol of a one-symbol file without a symbol column (default: the file stem).
    timeframe
        Bar timeframe; detected from the first chunk when ``None``.
    tz
        Zone of naive intraday timestamps (default UTC, reported as a note).
    on_duplicate
        ``"error"`` (default), ``"first"`` or ``"last"`` for conflicting duplicate keys.
    chunk_rows
        Approximate rows per yielded chunk.
    report
        Collects notes (assumed timezone, duplicates dropped, rows sorted, ignored columns).

    Yields
    ------
    pandas.DataFrame
        Canonical chunks (see :func:`normalize_bars`).

    Raises
    ------
    UserFileError
        When the file is not a readable file of bars (bad input, exit code 2: the message
        names the file, the line and the column); a file that is not UTF-8 text is a
        :class:`~alphaforge.core.errors.NotTextError` (exit code 2 too).
    """
    with user_file_errors():
        yield from _read_file(Path(path), symbol, timeframe, tz, on_duplicate, chunk_rows, report)


def _read_file(
    p: Path,
    symbol: str | None,
    timeframe: str | None,
    tz: str | None,
    on_duplicate: OnDuplicate,
    chunk_rows: int,
    report: IngestReport | None,
) -> Iterator[pd.DataFrame]:
    report = report if report is not None else IngestReport()
    if not p.exists():
        raise DataError(f"{p}: no such file")
    if p.is_dir():
        raise DataError(f"{p}: is a directory, expected a .csv or .parquet file")
    if p.stat().st_size == 0:
        raise DataError(f"{p}: file is empty")
    is_parquet = p.suffix.lower() in {".parquet", ".pq"}
    batches = _parquet_batches(p, chunk_rows) if is_parquet else _csv_batches(p, chunk_rows)
    state = _StreamState()
    default_symbol = symbol
    seen_rows = 0
    for frame, first_line in batches:
        lines = np.arange(first_line, first_line + len(frame), dtype=np.int64)
        loc = Locator(str(p), "row" if is_parquet else "line", lines)
        if default_symbol is None and not _has_symbol_column(frame):
            default_symbol = _stem_symbol(p)
        chunk = _normalize_chunk(
            frame, loc, default_symbol, timeframe, tz, on_duplicate, report, state
        )
        timeframe = report.timeframe
        seen_rows += len(frame)
        if len(chunk):
            yield chunk
    if seen_rows == 0:
        raise DataError(f"{p}: file has a header but no rows")


def _stem_symbol(path: Path) -> str:
    """``BRK.B.csv`` -> ``BRK.B``; ``MSFT.csv.gz`` -> ``MSFT``."""
    name = path.name
    for suffix in (*_CODECS, ".csv", ".txt", ".parquet", ".pq"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    return name


@dataclass
class _StreamState:
    """What later chunks of one file must agree with."""

    last: dict[str, pd.Series] = field(default_factory=dict)
    symbol_from_column: bool | None = None


def _has_symbol_column(frame: pd.DataFrame) -> bool:
    return "symbol" in canonical_columns(list(map(str, frame.columns)))[0].values()


def _empty(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({c: pd.Series(dtype="float64") for c in CANONICAL})
    out["symbol"] = pd.Series(dtype="str")
    out["timestamp"] = pd.Series(dtype="datetime64[ns, UTC]")
    return out[list(CANONICAL)]


def _normalize_chunk(
    frame: pd.DataFrame,
    loc: Locator,
    symbol: str | None,
    timeframe: str | None,
    tz: str | None,
    on_duplicate: OnDuplicate,
    report: IngestReport,
    state: _StreamState,
) -> pd.DataFrame:
    """Map columns, parse timestamps, check values, sort and resolve duplicates."""
    mapping, ignored = canonical_columns(list(map(str, frame.columns)))
    if ignored:
        report.note(f"ignored column(s): {', '.join(ignored)}")
    df = pd.DataFrame({canon: frame[orig] for orig, canon in mapping.items()})
    df = _join_date_time(df, loc)
    missing = [c for c in ("timestamp", "open", "high", "low", "close", "volume") if c not in df]
    if missing:
        have = ", ".join(map(str, frame.columns))
        raise DataError(f"{loc.source}: missing column(s) {', '.join(missing)} (found: {have})")
    df["symbol"] = _symbols(df, symbol, loc)
    ts, tf = parse_timestamps(df["timestamp"], loc, timeframe, tz, report)
    report.timeframe = tf
    df["timestamp"] = ts
    check_values(df, loc)
    note_broken_bars(df, loc, report)
    df["_line"] = loc.lines
    df = _sort(df, report)
    df = resolve_duplicates(df, loc, on_duplicate, report, state.last)
    note_spikes(df, loc, report)
    for sym, last in df.groupby("symbol", sort=False).tail(1).set_index("symbol").iterrows():
        state.last[str(sym)] = last
    report.rows_read += len(df)
    cols = [c for c in CANONICAL if c in df.columns]
    return df[cols].reset_index(drop=True)


def _join_date_time(df: pd.DataFrame, loc: Locator) -> pd.DataFrame:
    if "timestamp" in df.columns or "_date" not in df.columns:
        return df.drop(columns=[c for c in ("_date", "_time") if c in df.columns])
    if "_time" in df.columns:
        joined = df["_date"].astype(str).str.strip() + " " + df["_time"].astype(str).str.strip()
        df = df.assign(timestamp=joined)
    else:
        df = df.assign(timestamp=df["_date"])
    return df.drop(columns=[c for c in ("_date", "_time") if c in df.columns])


def _symbols(df: pd.DataFrame, symbol: str | None, loc: Locator) -> pd.Series:
    if "symbol" not in df.columns:
        if not symbol:
            raise DataError(f"{loc.source}: no symbol column; pass --symbol")
        return pd.Series(np.full(len(df), symbol.strip(), dtype=object), index=df.index).astype(
            "str"
        )
    raw = df["symbol"]
    values = raw.astype("str").str.strip()
    bad = raw.isna().to_numpy() | (values == "").to_numpy()
    if bad.any():
        raise DataError(f"{loc.where(int(np.argmax(bad)))}, column 'symbol': empty symbol")
    if symbol is not None:
        other = (values != symbol).to_numpy()
        if other.any():
            i = int(np.argmax(other))
            raise DataError(
                f"{loc.where(i)}, column 'symbol': {values.iloc[i]!r} differs from "
                f"--symbol {symbol!r}"
            )
    return values


def _sort(df: pd.DataFrame, report: IngestReport) -> pd.DataFrame:
    sym = df["symbol"].to_numpy()
    ts = _ns(df["timestamp"])
    same = sym[1:] == sym[:-1]
    ordered = bool(np.all((sym[1:] > sym[:-1]) | (same & (ts[1:] >= ts[:-1]))))
    if ordered:
        return df
    report.note("rows were not in (symbol, timestamp) order; sorted")
    return df.sort_values(["symbol", "timestamp"], kind="stable").reset_index(drop=True)


def _ns(ts: pd.Series) -> np.ndarray:
    """int64 nanoseconds of a datetime column (no per-element objects)."""
    return np.asarray(pd.DatetimeIndex(ts).as_unit("ns").asi8)


def _sniff_header(path: Path) -> str:
    with _open_raw(path) as fh:
        for raw in fh:
            if raw.strip():
                try:
                    return str(raw.decode("utf-8")).rstrip("\r\n")
                except UnicodeDecodeError:
                    raise not_utf8_csv(path) from None
    raise DataError(f"{path}: file is empty")


def _open_raw(path: Path) -> Any:
    """``path`` opened for reading bytes, decompressed (``.gz``, ``.bz2``)."""
    import bz2
    import gzip

    opener: Any = {".gz": gzip.open, ".bz2": bz2.open}.get(path.suffix.lower(), open)
    return opener(path, "rb")


def not_utf8_csv(path: Path) -> NotTextError:
    """The error of a CSV file found not to be UTF-8, naming its first line that is not (a
    second pass over the file, on the error path only)."""
    with _open_raw(path) as fh:
        return not_utf8(path, fh)


def _csv_batches(path: Path, chunk_rows: int) -> Iterator[tuple[pd.DataFrame, int]]:
    header = _sniff_header(path)
    if "," not in header:
        for d in _DELIMITERS:
            if d in header:
                shown = "\\t" if d == "\t" else d
                raise DataError(
                    f"{path}: line 1: no ',' in the header; the file looks like "
                    f"'{shown}'-delimited (convert it to comma-separated CSV)"
                )
    names = [n.strip().strip('"') for n in header.split(",")]
    mapping, _ = canonical_columns(names)
    text_cols = {o: pa.string() for o, c in mapping.items() if c in {"timestamp", "_date", "_time"}}
    text_cols.update({o: pa.string() for o, c in mapping.items() if c == "symbol"})
    convert = pacsv.ConvertOptions(column_types=text_cols, strings_can_be_null=True)
    read = pacsv.ReadOptions(block_size=1 << 20)
    # An Arrow file, not a Python one: Arrow's read-ahead thread must not call into Python (a
    # parse error ended the command while it still read, and the process aborted at exit with
    # "terminate called"). Arrow streams it too, never loading the whole file.
    with pa.OSFile(str(path), "rb") as raw:
        source = _decompressed(raw, path)
        try:
            reader = pacsv.open_csv(source, read_options=read, convert_options=convert)
            # Arrow reads a column holding bytes that are not UTF-8 as binary
            if any(
                pa.types.is_binary(f.type) or pa.types.is_large_binary(f.type)
                for f in reader.schema
            ):
                raise not_utf8_csv(path)
            yield from _rebatch(reader, chunk_rows, first_line=2)
        except UnicodeDecodeError:
            raise not_utf8_csv(path) from None
        except pa.ArrowInvalid as exc:
            if "invalid UTF8" in str(exc):  # in a later block of a text column
                raise not_utf8_csv(path) from None
            raise DataError(_csv_error(path, names, str(exc))) from None


def _decompressed(raw: pa.NativeFile, path: Path) -> pa.NativeFile:
    codec = _CODECS.get(path.suffix.lower())
    return pa.CompressedInputStream(raw, codec) if codec else raw


def _csv_error(path: Path, names: list[str], message: str) -> str:
    """Turn a pyarrow CSV error into a one-line message naming line and column."""
    import re

    first = message.splitlines()[0] if message else "unreadable CSV"
    fields = re.fullmatch(r"CSV parse error: Expected (\d+) columns, got (\d+): (.*)", first)
    if fields:
        want, got, row = fields.groups()
        line = _find_row(path, row)
        where = f"line {line}" if line else "a row"
        return f"{path}: {where}: {got} fields where the header has {want}: {row!r}"
    col = re.search(r"CSV column #(\d+)", first)
    value = re.search(r"invalid value '([^']*)'", first)
    if col and value and int(col.group(1)) < len(names):
        name = names[int(col.group(1))]
        line = _find_line(path, name, value.group(1))
        where = f"line {line}" if line else "a row"
        return f"{path}: {where}, column {name!r}: not a number: {value.group(1)!r}"
    return f"{path}: {first}"


def _find_row(path: Path, row: str) -> int | None:
    """Second pass (error path only): the number of the first line after the header that reads
    ``row`` (Arrow shows a long row cut, ending in `` ...``)."""
    cut = row.endswith(" ...")
    text = row[: -len(" ...")] if cut else row
    with _open_raw(path) as fh:
        next(fh, None)
        for number, raw in enumerate(fh, start=2):
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if line.startswith(text) if cut else line == text:
                return number
    return None


def _find_line(path: Path, column: str, value: str) -> int | None:
    """Second pass (error path only): the first line whose ``column`` holds ``value``."""
    convert = pacsv.ConvertOptions(include_columns=[column], column_types={column: pa.string()})
    reader = pacsv.open_csv(path, convert_options=convert)
    offset = 2
    for batch in reader:
        arr = batch.column(0).to_numpy(zero_copy_only=False)
        hit = np.flatnonzero(arr == value)
        if len(hit):
            return offset + int(hit[0])
        offset += batch.num_rows
    return None


def open_parquet(path: Path) -> pq.ParquetFile:
    """``path`` opened as a Parquet file.

    Raises
    ------
    DataError
        When it is not one (its one-line reason).
    """
    try:
        return pq.ParquetFile(path)
    except (pa.ArrowInvalid, OSError) as exc:
        raise UserFileError(f"{path}: not a readable Parquet file ({exc})") from None


def _parquet_batches(path: Path, chunk_rows: int) -> Iterator[tuple[pd.DataFrame, int]]:
    pf = open_parquet(path)
    yield from _rebatch(pf.iter_batches(batch_size=min(chunk_rows, 1 << 20)), chunk_rows, 1)


def _rebatch(
    batches: Iterator[pa.RecordBatch] | pacsv.CSVStreamingReader, chunk_rows: int, first_line: int
) -> Iterator[tuple[pd.DataFrame, int]]:
    pending: list[pa.RecordBatch] = []
    rows = 0
    line = first_line
    for batch in batches:
        offset = 0
        while offset < batch.num_rows:
            take = min(chunk_rows - rows, batch.num_rows - offset)
            pending.append(batch.slice(offset, take))
            offset += take
            rows += take
            if rows >= chunk_rows:
                yield _to_pandas(pending), line
                line += rows
                pending, rows = [], 0
    if pending and rows:
        yield _to_pandas(pending), line


def _to_pandas(batches: list[pa.RecordBatch]) -> pd.DataFrame:
    table = pa.Table.from_batches(batches)
    return table.to_pandas(types_mapper=None, ignore_metadata=True)
