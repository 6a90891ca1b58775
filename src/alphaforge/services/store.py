"""Market-data store use cases: open the configured store, load bars and panels, import files."""

from __future__ import annotations

import fnmatch
import itertools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from alphaforge.config.settings import AppSettings
from alphaforge.core.errors import DataError, UnknownSymbolError, UserFileError
from alphaforge.core.panel import Panel
from alphaforge.core.suggest import did_you_mean
from alphaforge.core.timeframe import parse_timeframe
from alphaforge.data.adjust import adjust_bars
from alphaforge.data.ingest import DEFAULT_CHUNK_ROWS, IngestReport, OnDuplicate, read_bars
from alphaforge.data.quality import spike_notes
from alphaforge.ports import BarStore, SeriesInfo, WriteSummary

__all__ = [
    "ImportResult",
    "import_file",
    "import_files",
    "load_bars",
    "load_panel",
    "missing_symbol_hint",
    "open_store",
    "remove_series",
    "series_to_remove",
]


def open_store(settings: AppSettings) -> BarStore:
    """The store configured by ``settings``.

    Returns
    -------
    BarStore
        :class:`~alphaforge.data.store.ParquetStore` under ``settings.store_dir`` when
        ``settings.store_url`` is unset, else :class:`~alphaforge.data.postgres_store.PostgresStore`.
    """
    if settings.store_url:
        from alphaforge.data.postgres_store import PostgresStore

        return PostgresStore(settings.store_url)
    from alphaforge.data.store import ParquetStore

    return ParquetStore(settings.store_dir)


def load_bars(
    store: BarStore,
    symbols: Sequence[str] | None,
    timeframe: str,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    adjust: bool = True,
) -> pd.DataFrame:
    """Long bars from the store, split/dividend adjusted when ``adjust`` (see
    :mod:`alphaforge.data.adjust`).

    Raises
    ------
    UnknownSymbolError
        When a requested symbol is not stored.
    """
    s = pd.Timestamp(start) if start is not None else None
    e = pd.Timestamp(end) if end is not None else None
    try:
        bars = store.read(list(symbols) if symbols is not None else None, timeframe, s, e)
    except UnknownSymbolError as exc:
        hint = missing_symbol_hint(store, symbols or (), timeframe)
        raise UnknownSymbolError(hint or str(exc)) from None
    if adjust:
        return adjust_bars(bars)
    return bars.drop(columns=[c for c in ("adj_close",) if c in bars.columns])


def missing_symbol_hint(store: BarStore, symbols: Sequence[str], timeframe: str) -> str | None:
    """Why the first of ``symbols`` without ``timeframe`` bars is missing, and the fix: another
    timeframe that has it (``try --timeframe 1h``), else the closest stored name."""
    tf = parse_timeframe(timeframe).name
    stored: dict[str, list[str]] = {}
    for info in store.list():
        stored.setdefault(info.symbol, []).append(info.timeframe)
    missing = [s for s in symbols if tf not in stored.get(s, [])]
    if not missing:
        return None
    sym = missing[0]
    others = stored.get(sym)
    if others:
        return (
            f"unknown symbol {sym!r} for timeframe {tf}: no {tf} bars for {sym}; it has "
            f"{', '.join(others)} (try --timeframe {others[0]})"
        )
    return (
        f"unknown symbol {sym!r}: the store has no bars of it{did_you_mean(sym, stored)} "
        "(`alphaforge data list` shows what is stored; `data import` or `data fetch` adds it)"
    )


def series_to_remove(
    store: BarStore, symbols: Sequence[str], timeframe: str | None = None
) -> list[SeriesInfo]:
    """The stored series that ``symbols`` name (``fnmatch`` patterns such as ``SYN*`` allowed),
    in ``timeframe`` or in every timeframe when ``None``.

    Raises
    ------
    UnknownSymbolError
        When a symbol or pattern names no stored series (nothing is removed then).
    """
    tf = parse_timeframe(timeframe).name if timeframe else None
    stored = store.list()
    names = sorted({i.symbol for i in stored})
    chosen: dict[tuple[str, str], SeriesInfo] = {}
    for wanted in symbols:
        pattern = any(c in wanted for c in "*?[")
        hits = [
            i
            for i in stored
            if (fnmatch.fnmatchcase(i.symbol, wanted) if pattern else i.symbol == wanted)
            and (tf is None or i.timeframe == tf)
        ]
        if not hits:
            raise UnknownSymbolError(_not_stored(wanted, pattern, tf, stored, names))
        chosen.update({(i.symbol, i.timeframe): i for i in hits})
    return sorted(chosen.values(), key=lambda i: (i.symbol, i.timeframe))


def _not_stored(
    wanted: str, pattern: bool, tf: str | None, stored: list[SeriesInfo], names: list[str]
) -> str:
    where = f" in timeframe {tf}" if tf else ""
    if pattern:
        return f"{wanted!r}: no stored symbol matches{where}"
    others = [i.timeframe for i in stored if i.symbol == wanted]
    if others:
        return f"unknown symbol {wanted!r} for timeframe {tf}: it has {', '.join(others)}"
    return f"unknown symbol {wanted!r}: not in the store{did_you_mean(wanted, names)}"


def remove_series(store: BarStore, series: Sequence[SeriesInfo]) -> None:
    """Remove each series (one atomic delete each: a series is there whole or gone)."""
    for info in series:
        store.delete(info.symbol, info.timeframe)


def load_panel(
    store: BarStore,
    symbols: Sequence[str] | None,
    timeframe: str,
    start: pd.Timestamp | str | None = None,
    end: pd.Timestamp | str | None = None,
    adjust: bool = True,
) -> Panel:
    """An aligned (time x symbol) :class:`~alphaforge.core.panel.Panel`; NaN where a symbol has
    no bar.

    Raises
    ------
    DataError
        When no bars fall in the requested range.
    """
    tf = parse_timeframe(timeframe).name
    bars = load_bars(store, symbols, tf, start, end, adjust)
    if bars.empty:
        raise DataError(f"no {tf} bars in the store for the requested symbols and dates")
    panel = Panel.from_long(bars, timeframe=tf)
    if symbols is not None:
        order = [s for s in dict.fromkeys(symbols) if s in panel.symbols]
        if tuple(order) != panel.symbols:
            panel = panel.select(order)
    panel.meta["adjusted"] = adjust
    spikes = spike_notes(bars)  # (a backtest's warnings, a replay's notes)
    if spikes:
        panel.meta["data_notes"] = [
            f"{note}, used as they are (`alphaforge data check {symbol} --timeframe {tf}` "
            "lists them)"
            for symbol, note in spikes
        ]
    return panel


@dataclass
class ImportResult:
    """What one imported file did to the store."""

    path: Path
    timeframe: str
    rows: int
    summary: WriteSummary
    notes: list[str] = field(default_factory=list)


def import_file(
    store: BarStore,
    path: Path,
    symbol: str | None = None,
    timeframe: str | None = None,
    tz: str | None = None,
    on_duplicate: OnDuplicate = "error",
    on_chunk: Callable[[int], None] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> ImportResult:
    """Stream one CSV/Parquet file into the store as a single atomic write.

    ``on_chunk`` is called with the row count of every chunk (for progress display). An error
    anywhere in the file leaves the store unchanged.
    """
    return import_files(
        store, [path], symbol, timeframe, tz, on_duplicate, on_chunk, chunk_rows=chunk_rows
    )[0]


def import_files(
    store: BarStore,
    paths: Sequence[Path],
    symbol: str | None = None,
    timeframe: str | None = None,
    tz: str | None = None,
    on_duplicate: OnDuplicate = "error",
    on_chunk: Callable[[int], None] | None = None,
    on_file: Callable[[Path], None] | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> list[ImportResult]:
    """Stream CSV/Parquet files into the store as one atomic write: every file or none.

    Each file is validated and staged in turn (``on_file`` is called as one starts,
    ``on_chunk`` with the row count of every chunk); the store changes only when the last file
    has been staged. An error or interrupt in any file leaves the store as it was.
    """
    tf = parse_timeframe(timeframe).name if timeframe else None
    reports: list[tuple[Path, IngestReport]] = []

    def counted(stream: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for chunk in stream:
            if on_chunk is not None:
                on_chunk(len(chunk))
            yield chunk

    def parts() -> Iterator[tuple[str, Iterator[pd.DataFrame]]]:
        for path in paths:
            if on_file is not None:
                on_file(Path(path))
            report = IngestReport()
            chunks = read_bars(path, symbol, tf, tz, on_duplicate, chunk_rows, report)
            try:
                first = next(chunks)
            except StopIteration:
                raise UserFileError(f"{path}: no bars after validation") from None
            reports.append((Path(path), report))
            yield report.timeframe or "1d", counted(itertools.chain([first], chunks))

    summaries = store.write_many(parts())
    return [
        ImportResult(path, report.timeframe or "1d", report.rows_read, summary, list(report.notes))
        for (path, report), summary in zip(reports, summaries, strict=True)
    ]
