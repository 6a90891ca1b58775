"""``alphaforge data rm``: remove series from the local market-data store."""

from __future__ import annotations

import typer
from rich.table import Table

from alphaforge.cli.common import confirmed, console, fail, handle_errors, settings_from
from alphaforge.services.store import open_store, remove_series, series_to_remove


def register(app: typer.Typer) -> None:
    """Add ``rm`` to the ``data`` group."""
    app.command("rm")(rm_cmd)


@handle_errors
def rm_cmd(
    ctx: typer.Context,
    symbols: list[str] = typer.Argument(
        ..., help="Symbols to remove; patterns such as 'SYN*' match stored symbols."
    ),
    timeframe: str | None = typer.Option(
        None, "--timeframe", help="Only this timeframe [every timeframe of the symbol]."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Remove without asking."),
) -> None:
    """Remove symbols' series from the store (e.g. the SYNTHETIC sample: `data rm 'SYN*'`).

    Every symbol must be stored (an unknown one is refused and nothing is removed); each series
    is removed whole.
    """
    store = open_store(settings_from(ctx))
    series = series_to_remove(store, symbols, timeframe)
    table = Table(title=f"{len(series)} series to remove")
    for col in ("symbol", "timeframe", "rows", "first", "last"):
        table.add_column(col, justify="right" if col == "rows" else "left")
    for i in series:
        fmt = "%Y-%m-%d" if i.timeframe == "1d" else "%Y-%m-%d %H:%M"
        table.add_row(
            i.symbol, i.timeframe, f"{i.rows:,}", i.first.strftime(fmt), i.last.strftime(fmt)
        )
    console.print(table)
    if not yes and not confirmed(f"remove these {len(series)} series?"):
        fail("not confirmed; nothing removed (--yes removes without asking)")
    remove_series(store, series)
    rows = sum(i.rows for i in series)
    console.print(f"removed {len(series)} series ({rows:,} bars)", highlight=False)
