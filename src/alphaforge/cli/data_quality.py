"""``alphaforge data check | sample``: data-quality reports and the SYNTHETIC sample market."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from alphaforge.cli.common import at_least, check_output_file, console, handle_errors, settings_from
from alphaforge.core.errors import ConfigError, DataError, UnknownSymbolError, UserFileError
from alphaforge.core.timeframe import parse_timeframe
from alphaforge.ports import BarStore, WriteSummary

if TYPE_CHECKING:
    from alphaforge.data.ingest_checks import Locator
    from alphaforge.data.quality import QualityReport
from alphaforge.services.store import open_store

_BATCH = 100


def register(app: typer.Typer) -> None:
    """Add this module's commands to the ``data`` group."""
    app.command("check")(check_cmd)
    app.command("sample")(sample_cmd)


@handle_errors
def check_cmd(
    ctx: typer.Context,
    symbols: list[str] | None = typer.Argument(None, help="Symbols to check (default: all)."),
    timeframe: str | None = typer.Option(
        None, "--timeframe", help="1m, 5m, 15m, 1h or 1d (default 1d; detected with --file)."
    ),
    calendar: str | None = typer.Option(
        None,
        "--calendar",
        help="XNYS, 24/7, union, ... (default: XNYS for equities, 24/7 for crypto pairs).",
    ),
    strict: bool = typer.Option(False, "--strict", help="Exit with status 1 when any issue."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the full report as JSON."),
    file: Path | None = typer.Option(
        None, "--file", help="Check a raw CSV or Parquet file instead of the store."
    ),
    outlier_sigma: float = typer.Option(8.0, "--outlier-sigma", help="Outlier threshold."),
    stale_run: int = typer.Option(5, "--stale-run", help="Shortest reported stale run."),
    limit: int = typer.Option(40, "--limit", help="Most symbols listed in the table."),
) -> None:
    """Check bars for duplicates, broken OHLC, gaps against the exchange calendar, outliers,
    bad ticks (spikes), unadjusted splits and stale prices."""
    from alphaforge.data.quality import check_bars

    check_output_file(json_out, "--json")
    if not (outlier_sigma > 0 and math.isfinite(outlier_sigma)):
        raise ConfigError(f"--outlier-sigma {outlier_sigma!r}: must be a number > 0")
    at_least(stale_run, 2, "--stale-run")
    at_least(limit, 1, "--limit")
    opts: dict[str, Any] = {
        "calendar": calendar,
        "outlier_sigma": outlier_sigma,
        "stale_run": stale_run,
    }
    if file is not None:
        frame, tf = _read_file(file, timeframe)
        if symbols:
            frame = frame[frame["symbol"].isin(symbols)]
        report = check_bars(frame, tf, **opts)
        source = str(file)
    else:
        tf = parse_timeframe(timeframe or "1d").name
        store = open_store(settings_from(ctx))
        report = _check_store(store, symbols, tf, opts)
        source = f"store ({tf})"
    _print_report(report, source, limit)
    if json_out is not None:
        _write_json(json_out, report.to_dict())
        console.print(f"report written to {json_out}")
    if strict and not report.ok:
        raise typer.Exit(1)


def _check_store(
    store: BarStore, symbols: Sequence[str] | None, timeframe: str, opts: Mapping[str, Any]
) -> QualityReport:
    from alphaforge.data.quality import QualityReport, check_bars

    stored = sorted({info.symbol for info in store.list(timeframe)})
    if not stored:
        raise DataError(
            f"store holds no {timeframe} bars; run `alphaforge data import` or `data sample`"
        )
    wanted = list(dict.fromkeys(symbols)) if symbols else stored
    unknown = sorted(set(wanted) - set(stored))
    if unknown:
        raise UnknownSymbolError(f"store has no {timeframe} bars for {', '.join(unknown)}")
    reports = []
    with Progress(
        TextColumn("checking"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("symbols"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("check", total=len(wanted))
        for i in range(0, len(wanted), _BATCH):
            batch = wanted[i : i + _BATCH]
            bars = store.read(batch, timeframe)
            reports.append(check_bars(bars, timeframe, **opts))
            progress.advance(task, len(batch))
    return QualityReport.combine(reports)


def _read_file(path: Path, timeframe: str | None) -> tuple[pd.DataFrame, str]:
    """A raw bar file as a long frame, rows as found (no de-duplication, no validation)."""
    from alphaforge.core.timeframe import detect_timeframe
    from alphaforge.core.userfile import user_file_errors
    from alphaforge.data.ingest_checks import Locator, canonical_columns, numeric_column

    if not path.is_file():
        raise UserFileError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise UserFileError(f"{path}: file is empty")
    name = path.name.lower()
    parquet = name.endswith(".parquet") or name.endswith(".pq")
    try:
        frame = pd.read_parquet(path) if parquet else pd.read_csv(path, sep=None, engine="python")
    except UnicodeDecodeError:
        from alphaforge.data.ingest import not_utf8_csv

        raise not_utf8_csv(path) from None
    except (OSError, ValueError, pd.errors.ParserError, csv.Error) as exc:
        raise UserFileError(f"{path}: cannot be read as CSV or Parquet ({exc})") from None
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    mapping, _ignored = canonical_columns([str(c) for c in frame.columns])
    frame = frame.rename(columns=mapping)
    if "_date" in frame.columns and "_time" in frame.columns:
        frame["timestamp"] = frame["_date"].astype(str) + " " + frame["_time"].astype(str)
    elif "_date" in frame.columns and "timestamp" not in frame.columns:
        frame = frame.rename(columns={"_date": "timestamp"})
    if "symbol" not in frame.columns:
        frame["symbol"] = path.name.split(".")[0].upper()
    missing = [c for c in ("timestamp", "open", "high", "low", "close", "volume") if c not in frame]
    if missing:
        raise UserFileError(f"{path}: missing column(s) {', '.join(missing)}")
    if frame.empty:  # as the importer: a check of no bars would pass anything
        raise UserFileError(f"{path}: file has a header but no rows")
    loc = Locator(str(path), "row" if parquet else "line",
                  np.arange(len(frame)) + (1 if parquet else 2))  # fmt: skip
    frame["timestamp"] = _timestamps(frame["timestamp"], loc)
    with user_file_errors():  # (the importer's refusal, as bad input: exit code 2)
        for col in ("open", "high", "low", "close", "volume"):
            frame[col] = numeric_column(frame[col], col, loc)
    tf = parse_timeframe(timeframe).name if timeframe else detect_timeframe(frame["timestamp"])
    return frame, tf


def _timestamps(raw: pd.Series, loc: Locator) -> pd.Series:
    """The timestamp column as dates (as found: no time zone applied); a value that is not one
    is refused naming its line, as the importer does."""
    missing = raw.isna().to_numpy()
    if missing.any():
        raise UserFileError(f"{loc.where(int(np.argmax(missing)))}, column 'timestamp': "
                            "missing value")  # fmt: skip
    try:
        return pd.to_datetime(raw, utc=False)
    except (ValueError, TypeError):
        pass
    parsed = pd.to_datetime(raw, utc=True, errors="coerce", format="mixed")
    bad = parsed.isna().to_numpy()
    if not bad.any():  # dates in several formats, or zones: each one parses
        return parsed
    i = int(np.argmax(bad))
    raise UserFileError(f"{loc.where(i)}, column 'timestamp': cannot parse date {raw.iloc[i]!r}")


def _write_json(path: Path, payload: object) -> None:
    """Write ``payload`` atomically (temp file + rename)."""
    from alphaforge.atomic import atomic_write_text

    atomic_write_text(path, json.dumps(payload, indent=2))


def _print_report(report: QualityReport, source: str, limit: int) -> None:
    from alphaforge.data.quality import CHECKS

    summary = report.summary()
    n_rows = int(summary["rows"].sum())
    head = f"{len(summary)} symbols, {n_rows:,} rows, {report.timeframe} bars from {source}"
    if report.ok:
        console.print(f"[bold green]no issues[/] in {head}")
        return
    found = [c for c in CHECKS if summary[c].sum() > 0]
    summary["_total"] = summary[found].sum(axis=1)
    bad = summary[summary["_total"] > 0].sort_values("_total", ascending=False, kind="stable")
    clean = len(summary) - len(bad)
    notes = (
        [f"{len(bad) - limit} more symbols with issues (see --json)"] if len(bad) > limit else []
    )
    notes += [f"{clean} symbols without issues"] if clean else []
    table = Table(title=f"data quality: {head}", caption="; ".join(notes) or None)
    table.add_column("symbol")
    table.add_column("calendar")
    table.add_column("rows", justify="right")
    for check in found:
        table.add_column(check.replace("_", " "), justify="right")
    for symbol, row in bad.head(limit).iterrows():
        cells = [f"{int(row[c]):,}" if row[c] else "." for c in found]
        table.add_row(str(symbol), str(row["calendar"]), f"{int(row['rows']):,}", *cells)
    table.add_row(
        "[bold]total[/]", "", f"{n_rows:,}", *[f"{int(summary[c].sum()):,}" for c in found]
    )
    console.print(table)
    for check in found:
        first = next(i for i in report.issues if i.check == check)
        when = ", ".join(_fmt(ts) for ts in first.examples[:3])
        console.print(f"  {check} ({first.severity}): first in {first.symbol} at {when}")


def _fmt(ts: pd.Timestamp) -> str:
    if ts.tzinfo is None and ts == ts.normalize():
        return ts.strftime("%Y-%m-%d")
    return ts.isoformat()


@handle_errors
def sample_cmd(
    ctx: typer.Context,
    seed: int = typer.Option(42, "--seed", min=0, help="Random seed (same seed, same data)."),
    symbols: int = typer.Option(20, "--symbols", min=1, max=999, help="Number of equities."),
    years: int = typer.Option(10, "--years", min=1, max=50, help="Years of daily bars."),
    start: str = typer.Option("2014-01-02", "--start", help="First date of the daily bars."),
    intraday: bool = typer.Option(
        True, "--intraday/--no-intraday", help="Also write a month of 1-minute bars."
    ),
) -> None:
    """Write a SYNTHETIC sample market (daily bars and 1-minute bars) into the store."""
    from alphaforge.data.sample import generate_daily, generate_intraday, sample_symbols

    _check_date(start, "--start")
    store = open_store(settings_from(ctx))
    daily = generate_daily(seed=seed, n_symbols=symbols, start=start, years=years)
    rows = [_row("1d", daily, store.write(daily, "1d"))]
    if intraday:
        sessions = pd.DatetimeIndex(daily["timestamp"].unique()).sort_values()
        days = min(21, len(sessions))
        bars = generate_intraday(
            seed=seed,
            symbols=sample_symbols(symbols)[:5],
            days=days,
            start=sessions[-days].tz_localize(None),
        )
        rows.append(_row("1m", bars, store.write(bars, "1m")))
    table = Table(title=f"SYNTHETIC sample market written to the store (seed {seed})")
    for col in ("timeframe", "symbols", "rows", "first", "last", "inserted", "updated"):
        table.add_column(col, justify="right" if col in {"rows", "inserted", "updated"} else "left")
    for row in rows:
        table.add_row(*row)
    console.print(table)
    console.print(
        "[bold yellow]SYNTHETIC[/] data from alphaforge.data.sample: generated, not market data."
    )


def _check_date(text: str, option: str) -> None:
    """Refuse a date pandas cannot read (``someday``, ``2019-02-30``) naming the option."""
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError):
        stamp = None
    if stamp is None or pd.isna(stamp):
        raise ConfigError(f"{option} {text!r}: not a date; write YYYY-MM-DD")


def _row(timeframe: str, bars: pd.DataFrame, summary: WriteSummary) -> list[str]:
    stamps = bars["timestamp"]
    fmt = "%Y-%m-%d" if timeframe == "1d" else "%Y-%m-%d %H:%M"
    return [
        timeframe,
        str(bars["symbol"].nunique()),
        f"{len(bars):,}",
        stamps.min().strftime(fmt),
        stamps.max().strftime(fmt),
        f"{summary.inserted:,}",
        f"{summary.updated:,}",
    ]
