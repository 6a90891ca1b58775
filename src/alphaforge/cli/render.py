"""Rich tables for metrics and trades."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd
from rich.table import Table

from alphaforge.analytics.metric_info import METRIC_INFO, format_metric


def metrics_table(
    columns: Mapping[str, Mapping[str, float]], keys: Iterable[str], title: str = "Metrics"
) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    table.add_column("Metric")
    for name in columns:
        table.add_column(name, justify="right")
    for key in keys:
        label = METRIC_INFO[key].label if key in METRIC_INFO else key
        table.add_row(label, *(format_metric(key, col.get(key)) for col in columns.values()))
    return table


def trades_table(trades: pd.DataFrame, limit: int = 10) -> Table:
    table = Table(
        title=f"Last {min(limit, len(trades))} of {len(trades)} trades", title_justify="left"
    )
    for col in (
        "symbol",
        "direction",
        "entry",
        "exit",
        "qty",
        "entry px",
        "exit px",
        "P&L",
        "reason",
    ):
        table.add_column(
            col, justify="right" if col not in {"symbol", "direction", "reason"} else "left"
        )
    for row in trades.tail(limit).itertuples(index=False):
        pnl = float(row.pnl)  # type: ignore[arg-type]
        table.add_row(
            str(row.symbol),
            str(row.direction),
            f"{row.entry_time:%Y-%m-%d %H:%M}".removesuffix(" 00:00"),
            f"{row.exit_time:%Y-%m-%d %H:%M}".removesuffix(" 00:00"),
            f"{row.quantity:,.4g}",
            f"{row.entry_price:,.2f}",
            f"{row.exit_price:,.2f}",
            f"[{'green' if pnl >= 0 else 'red'}]{pnl:,.2f}[/]",
            str(row.exit_reason),
        )
    return table
