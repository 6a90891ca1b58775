"""A plain, dependency-light HTML summary: headline metrics, equity chart, trades."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from alphaforge.cli.render import format_metric


def write_plain_report(result: Any, path: Path, title: str | None = None) -> Path:
    import plotly.graph_objects as go

    from alphaforge.sim.result import _atomic_write

    fig = go.Figure()
    fig.add_scatter(x=result.index, y=result.equity_values, name="strategy")
    fig.add_scatter(x=result.index, y=result.benchmark_values, name="buy & hold")
    fig.update_layout(title="Equity", height=420, margin={"l": 40, "r": 20, "t": 40, "b": 30})
    chart = fig.to_html(full_html=False, include_plotlyjs=True)
    rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{format_metric(k, v)}</td></tr>"
        for k, v in result.metrics.items()
    )
    trades = result.trades.tail(200).to_html(index=False, float_format=lambda x: f"{x:,.4f}")
    name = html.escape(title or f"{result.strategy} {result.params}")
    body = (
        f"<html><head><meta charset='utf-8'><title>{name}</title></head><body>"
        f"<h1>{name}</h1>{chart}<h2>Metrics</h2><table>{rows}</table>"
        f"<h2>Trades</h2>{trades}</body></html>"
    )
    return _atomic_write(path, body)
