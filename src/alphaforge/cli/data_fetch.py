"""``alphaforge data fetch``: download bars from a vendor into the local store.

Fetching is incremental: for a series already in the store only the bars from the newest stored
timestamp onward are requested (the newest bar is fetched again, as it may have been incomplete),
plus the bars before the first stored one when ``--start`` is earlier. Each symbol is one atomic
store write; a symbol that fails is reported at the end, while the other symbols' bars stay
committed. A symbol the vendor does not know is bad input (exit 2, one line naming every unknown
symbol and what was fetched); a download that failed otherwise exits 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
import typer
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from alphaforge.cli.common import console, err_console, handle_errors, settings_from
from alphaforge.core.errors import AlphaforgeError, ConfigError, UnknownSymbolError
from alphaforge.data.schema import Timeframe, parse_timeframe, to_utc
from alphaforge.data.sources import SOURCE_NAMES, get_source
from alphaforge.ports import BarStore, MarketDataSource, SeriesInfo

Range = tuple[pd.Timestamp, pd.Timestamp]


@dataclass
class FetchOutcome:
    """What fetching one symbol did."""

    symbol: str
    ranges: list[Range] = field(default_factory=list)
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    error: str | None = None
    unknown: bool = False  # the vendor does not know the symbol


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``data`` group."""
    app.command("fetch")(fetch_cmd)


@handle_errors
def fetch_cmd(
    ctx: typer.Context,
    symbols: list[str] = typer.Argument(..., help="Symbols, e.g. AAPL MSFT or BTC/USDT."),
    source: str = typer.Option("yahoo", "--source", help=f"Vendor: {', '.join(SOURCE_NAMES)}."),
    timeframe: str = typer.Option("1d", "--timeframe", help="1d, 1h, 15m, 5m or 1m."),
    start: str | None = typer.Option(
        None, "--start", help="First date/time (UTC); default: continue from the stored data."
    ),
    end: str | None = typer.Option(
        None, "--end", help="Last date/time (UTC; a date includes that day); default: now."
    ),
) -> None:
    """Download bars into the store, fetching only what is missing.

    Keys and base URLs come from the environment or .env (ALPHAFORGE_POLYGON_API_KEY, ...).

    Each symbol is stored whole or not at all. A symbol the vendor does not know (a typo) is bad
    input: the other symbols are still fetched and stored, then the command exits 2 with one
    line naming every unknown symbol and the symbols that were fetched. A download that fails
    otherwise (the vendor unreachable, a refused key) is reported and exits 1.
    """
    settings = settings_from(ctx)
    tf = parse_timeframe(timeframe)
    lo, hi = _window(start, end)
    src = get_source(source, settings)
    from alphaforge.services.store import open_store

    store = open_store(settings)
    stored = {info.symbol: info for info in store.list(tf.name)}
    plans: dict[str, list[Range]] = {}
    for sym in dict.fromkeys(symbols):
        ranges = plan_ranges(stored.get(sym), tf, lo, hi)
        if ranges is None:
            raise ConfigError(f"--start: required for {sym} (nothing stored for {tf} yet)")
        plans[sym] = ranges
    outcomes = _run(src, store, tf, plans)
    _print_summary(src.name, tf, outcomes)
    _refuse_failures(src.name, outcomes)


def _refuse_failures(source: str, outcomes: list[FetchOutcome]) -> None:
    """One error line per failed download (exit 1), then one line naming every unknown symbol
    (:class:`UnknownSymbolError`, bad input: exit 2, whatever else failed)."""
    unknown = [o for o in outcomes if o.unknown]
    failed = [o for o in outcomes if o.error and not o.unknown]
    for o in failed:
        err_console.print(f"[bold red]error:[/] {o.error}", highlight=False, soft_wrap=True)
    if unknown:
        if len(unknown) == 1:
            text = str(unknown[0].error)
        else:
            text = f"{source}: unknown symbols {', '.join(repr(o.symbol) for o in unknown)}"
        fetched = [o.symbol for o in outcomes if not o.error]
        if fetched:
            shown = ", ".join(fetched) if len(fetched) <= 5 else f"{len(fetched)} symbols"
            text += f"; fetched the others: {shown}" if not failed else f"; fetched: {shown}"
        raise UnknownSymbolError(text)
    if failed:
        raise typer.Exit(1)


def _window(start: str | None, end: str | None) -> tuple[pd.Timestamp | None, pd.Timestamp]:
    try:
        lo = to_utc(start)
        hi = to_utc(end) if end is not None else pd.Timestamp.now(tz="UTC").floor("s")
    except ValueError as exc:
        raise ConfigError(f"--start/--end: not a date ({exc})") from None
    assert hi is not None
    if end is not None and hi == hi.normalize():
        hi = hi + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    if lo is not None and hi < lo:
        raise ConfigError(f"--end: {end} is before --start {start}")
    return lo, hi


def plan_ranges(
    info: SeriesInfo | None, tf: Timeframe, start: pd.Timestamp | None, end: pd.Timestamp
) -> list[Range] | None:
    """The ranges to request for one series given what the store holds.

    Returns ``None`` when nothing is stored and no ``start`` was given.

    * nothing stored: ``[start, end]``;
    * stored ``[first, last]``: ``[start, first)`` when ``start < first``, and
      ``[max(start, last), end]`` (the newest stored bar is fetched again);
    """
    if info is None:
        return None if start is None else [(start, end)]
    first, last = pd.Timestamp(info.first), pd.Timestamp(info.last)
    first = first.tz_localize("UTC") if first.tzinfo is None else first.tz_convert("UTC")
    last = last.tz_localize("UTC") if last.tzinfo is None else last.tz_convert("UTC")
    ranges: list[Range] = []
    if start is not None and start < first:
        ranges.append((start, min(end, first - pd.Timedelta(1, "ns"))))
    tail_lo = last if start is None else max(start, last)
    if tail_lo <= end:
        ranges.append((tail_lo, end))
    return ranges


def _run(
    src: MarketDataSource, store: BarStore, tf: Timeframe, plans: dict[str, list[Range]]
) -> list[FetchOutcome]:
    outcomes: list[FetchOutcome] = []
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} ranges"),
        TextColumn("{task.fields[rows]:,} bars"),
        TimeElapsedColumn(),
        console=console,
    ) as progress:
        for sym, ranges in plans.items():
            task = progress.add_task(f"{src.name} {sym} {tf}", total=max(1, len(ranges)), rows=0)
            outcomes.append(_fetch_symbol(src, store, tf, sym, ranges, progress, task))
    return outcomes


def _fetch_symbol(
    src: MarketDataSource,
    store: BarStore,
    tf: Timeframe,
    symbol: str,
    ranges: list[Range],
    progress: Progress,
    task: TaskID,
) -> FetchOutcome:
    """Fetch every range of one symbol, then write them in one atomic upsert."""
    outcome = FetchOutcome(symbol, ranges)
    frames: list[pd.DataFrame] = []
    try:
        for lo, hi in ranges:
            part = src.fetch(symbol, tf.name, lo, hi)
            frames.append(part)
            outcome.rows += len(part)
            progress.update(task, advance=1, rows=outcome.rows)
        bars = [f for f in frames if not f.empty]
        if bars:
            summary = store.write(pd.concat(bars, ignore_index=True), tf.name)
            outcome.inserted, outcome.updated = summary.inserted, summary.updated
    except ConfigError:
        raise
    except AlphaforgeError as exc:
        outcome.error = str(exc)
        outcome.unknown = isinstance(exc, UnknownSymbolError)
    if not ranges:
        progress.update(task, completed=1)
    return outcome


def _print_summary(source: str, tf: Timeframe, outcomes: list[FetchOutcome]) -> None:
    table = Table(title=f"fetch summary ({source}, {tf})")
    for col in ("symbol", "requested", "bars", "inserted", "updated", "status"):
        table.add_column(col, justify="right" if col in {"bars", "inserted", "updated"} else "left")
    for o in outcomes:
        spans = (f"{_fmt(a, tf)} → {_fmt(b, tf)}" for a, b in o.ranges)
        requested = ", ".join(spans) or "up to date"
        status = "[red]unknown symbol[/]" if o.unknown else "[red]failed[/]" if o.error else "ok"
        table.add_row(
            o.symbol, requested, f"{o.rows:,}", f"{o.inserted:,}", f"{o.updated:,}", status
        )
    console.print(table)


def _fmt(ts: pd.Timestamp, tf: Timeframe) -> str:
    if not tf.is_intraday or ts == ts.normalize():
        return ts.strftime("%Y-%m-%d")
    return ts.strftime("%Y-%m-%d %H:%M")
