"""``alphaforge data import | list | show``: the local market-data store."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import typer
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from alphaforge.cli.common import console, fail, handle_errors, settings_from
from alphaforge.core.errors import AlphaforgeError, ConfigError, UnknownSymbolError
from alphaforge.core.timeframe import parse_timeframe
from alphaforge.data.ingest import OnDuplicate
from alphaforge.services.store import (
    ImportResult,
    import_files,
    missing_symbol_hint,
    open_store,
)

_DUPLICATE_CHOICES = ("error", "first", "last")


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``data`` group."""
    app.command("import")(import_cmd)
    app.command("list")(list_cmd)
    app.command("show")(show_cmd)


@handle_errors
def import_cmd(
    ctx: typer.Context,
    paths: list[Path] = typer.Argument(..., help="CSV or Parquet files (long or one per symbol)."),
    symbol: str | None = typer.Option(
        None, "--symbol", help="Symbol of a one-symbol file without a symbol column."
    ),
    timeframe: str | None = typer.Option(
        None, "--timeframe", help="1m, 5m, 15m, 1h or 1d (default: detected)."
    ),
    tz: str | None = typer.Option(
        None, "--tz", help="Zone of naive intraday timestamps, e.g. America/New_York (default UTC)."
    ),
    on_duplicate: str = typer.Option(
        "error", "--on-duplicate", help="Conflicting duplicate bars: error, first or last."
    ),
) -> None:
    """Import bar files into the store (upsert: re-importing is idempotent).

    The files of one import are stored together or not at all: an error (it names the file,
    line and column) or Ctrl-C in any of them leaves the store as it was.
    """
    if on_duplicate not in _DUPLICATE_CHOICES:
        raise ConfigError(f"--on-duplicate: {on_duplicate!r} is not one of error, first, last")
    if symbol is not None and not symbol.strip():
        raise ConfigError(f"--symbol: empty (got {symbol!r}); give the file's symbol, e.g. ACME")
    if symbol is not None and len(paths) > 1:
        raise ConfigError("--symbol: only valid with a single file")
    _check_zone(tz)
    tf = parse_timeframe(timeframe).name if timeframe else None
    store = open_store(settings_from(ctx))
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[rows]:,} rows"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("importing", total=len(paths), rows=0)
        started: list[Path] = []

        def next_file(path: Path) -> None:
            if started:
                progress.advance(task)
            started.append(path)
            progress.update(task, description=f"importing {path.name}")

        def advance(n: int) -> None:
            progress.update(task, rows=progress.tasks[task].fields["rows"] + n)

        try:
            results = import_files(
                store,
                paths,
                symbol,
                tf,
                tz,
                cast(OnDuplicate, on_duplicate),
                advance,
                next_file,
            )
        except (AlphaforgeError, KeyboardInterrupt) as exc:
            if len(paths) < 2:
                raise
            what = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
            at = f" (at file {len(started)} of {len(paths)})" if started else ""
            note = f"{what}; no file was imported{at}: an import stores all its files or none"
            if isinstance(exc, KeyboardInterrupt):
                fail(note, 130)
            raise type(exc)(note) from None
    _print_import(results)


def _print_import(results: list[ImportResult]) -> None:
    table = Table(title="import summary")
    for col in ("file", "timeframe", "symbols", "rows read", "inserted", "updated"):
        left = col in {"file", "timeframe"}
        table.add_column(col, justify="left" if left else "right", overflow="fold")
    for r in results:
        table.add_row(
            r.path.name,
            r.timeframe,
            f"{len(r.summary.symbols):,}",
            f"{r.rows:,}",
            f"{r.summary.inserted:,}",
            f"{r.summary.updated:,}",
        )
    console.print(table)
    for r in results:
        for note in r.notes:
            console.print(f"note: {r.path.name}: {note}", highlight=False)
    total_ins = sum(r.summary.inserted for r in results)
    total_upd = sum(r.summary.updated for r in results)
    console.print(f"inserted={total_ins} updated={total_upd}", highlight=False)


@handle_errors
def list_cmd(
    ctx: typer.Context,
    timeframe: str | None = typer.Option(None, "--timeframe", help="Only this timeframe."),
) -> None:
    """List the stored series: symbol, timeframe, rows, first and last bar."""
    store = open_store(settings_from(ctx))
    infos = store.list(parse_timeframe(timeframe).name if timeframe else None)
    if not infos:
        console.print("the store is empty (see: alphaforge data import --help)")
        return
    table = Table(title=f"{len(infos)} series")
    for col in ("symbol", "timeframe", "rows", "first", "last"):
        table.add_column(col, justify="right" if col == "rows" else "left")
    for i in infos:
        daily = i.timeframe == "1d"
        table.add_row(
            i.symbol, i.timeframe, f"{i.rows:,}", _fmt(i.first, daily), _fmt(i.last, daily)
        )
    console.print(table)


def _fmt(ts: object, daily: bool = True) -> str:
    import pandas as pd

    t = pd.Timestamp(ts)  # type: ignore[arg-type]
    return t.strftime("%Y-%m-%d") if daily else t.strftime("%Y-%m-%d %H:%M")


def _cell(col: str, value: object, daily: bool) -> str:
    if col == "timestamp":
        return _fmt(value, daily)
    if col == "volume":
        return f"{float(value):,.0f}"  # type: ignore[arg-type]
    return f"{float(value):.6g}"  # type: ignore[arg-type]


@handle_errors
def show_cmd(
    ctx: typer.Context,
    symbol: str = typer.Argument(..., help="Symbol to show."),
    timeframe: str = typer.Option("1d", "--timeframe", help="Timeframe of the series."),
    tail: int = typer.Option(10, "--tail", min=1, help="Number of most recent bars to show."),
) -> None:
    """Show the most recent bars of one symbol and a summary of the series."""
    tf = parse_timeframe(timeframe).name
    store = open_store(settings_from(ctx))
    try:
        bars = store.read([symbol], tf)
    except UnknownSymbolError as exc:
        raise UnknownSymbolError(missing_symbol_hint(store, [symbol], tf) or str(exc)) from None
    table = Table(title=f"{symbol} {tf}: last {min(tail, len(bars))} of {len(bars):,} bars")
    cols = [c for c in bars.columns if c != "symbol"]
    for col in cols:
        table.add_column(col, justify="left" if col == "timestamp" else "right")
    for rec in bars.tail(tail)[cols].to_dict("records"):
        table.add_row(*[_cell(c, rec[c], tf == "1d") for c in cols])
    console.print(table)
    ts = bars["timestamp"]
    console.print(
        f"rows={len(bars)} first={_fmt(ts.iloc[0], tf == '1d')} "
        f"last={_fmt(ts.iloc[-1], tf == '1d')} "
        f"min_low={bars['low'].min():.6g} max_high={bars['high'].max():.6g}",
        highlight=False,
    )


def _check_zone(tz: str | None) -> None:
    """Refuse an unknown ``--tz`` (it was accepted and ignored by a daily file)."""
    if tz is None:
        return
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"--tz {tz!r}: unknown time zone (e.g. America/New_York, UTC)") from None
