"""Side-by-side comparison of several backtest results: metrics and normalised equity curves."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from alphaforge.analytics.metric_info import METRIC_INFO, format_metric
from alphaforge.reports import charts, frames, summary
from alphaforge.reports.output import write_text_atomic
from alphaforge.reports.tearsheet import figure_html, render

COMPARE_KEYS: tuple[str, ...] = (
    "total_return", "cagr", "annual_volatility", "sharpe", "sortino", "calmar", "max_drawdown",
    "max_drawdown_days", "omega", "var_95", "cvar_95", "alpha", "beta", "num_trades", "win_rate",
    "profit_factor", "expectancy", "exposure_time", "turnover", "fees", "final_equity",
)  # fmt: skip


def labels_for(results: Sequence[Any], names: Sequence[str] | None = None) -> list[str]:
    """Column names: ``strategy(k=v, ...)``, or the given names when those repeat."""
    out = []
    for r in results:
        params = ", ".join(f"{k}={v}" for k, v in sorted((r.params or {}).items()))
        out.append(f"{r.strategy}({params})" if params else str(r.strategy))
    if len(set(out)) == len(out) or names is None:
        return _dedupe(out)
    return _dedupe([str(n) for n in names])


def _dedupe(labels: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return out


def comparison_metrics(
    results: Sequence[Any], labels: Sequence[str]
) -> dict[str, dict[str, float]]:
    """Full metrics of each result keyed by its label."""
    return {label: summary.full_metrics(r)[0] for label, r in zip(labels, results, strict=True)}


def best_by_row(columns: dict[str, dict[str, float]], key: str) -> str | None:
    """Label of the best value of ``key`` (per :data:`METRIC_INFO` direction), if rankable."""
    info = METRIC_INFO.get(key)
    if info is None or info.higher_is_better is None or len(columns) < 2:
        return None
    values = {
        k: v[key]
        for k, v in columns.items()
        if key in v and summary.finite_or_none(v[key]) is not None
    }
    if len(values) < 2:
        return None
    pick = max if info.higher_is_better else min
    return pick(values, key=lambda k: values[k])


def equity_overlay(results: Sequence[Any], labels: Sequence[str]) -> go.Figure:
    """Equity of each result divided by its first value (growth of 1), on one time axis."""
    fig = go.Figure()
    palette = px.colors.qualitative.D3
    for i, (label, r) in enumerate(zip(labels, results, strict=True)):
        first = float(r.equity_values[0]) if len(r.equity_values) else np.nan
        eq = frames.thin(r.equity / first)
        fig.add_scatter(
            x=frames.x_values(eq.index), y=eq.to_numpy(), name=label,
            line={"color": palette[i % len(palette)], "width": 1.6},
        )  # fmt: skip
    fig.update_yaxes(title_text="Growth of 1", tickformat=".2f")
    return charts.style(fig, "Normalised equity", 460)


def drawdown_overlay(results: Sequence[Any], labels: Sequence[str]) -> go.Figure:
    """Drawdown of each result on one time axis."""
    fig = go.Figure()
    palette = px.colors.qualitative.D3
    for i, (label, r) in enumerate(zip(labels, results, strict=True)):
        dd = frames.thin(pd.Series(frames.drawdown_values(r.equity_values), index=r.index))
        fig.add_scatter(
            x=frames.x_values(dd.index), y=dd.to_numpy(), name=label,
            line={"color": palette[i % len(palette)], "width": 1.2},
        )  # fmt: skip
    fig.update_yaxes(title_text="Drawdown", tickformat=".0%")
    return charts.style(fig, "Drawdowns", 320)


def compare_html(results: Sequence[Any], labels: Sequence[str], title: str | None = None) -> str:
    """The comparison page: metrics table (best value per row in bold) and overlaid curves."""
    columns = comparison_metrics(results, labels)
    rows = []
    for key in COMPARE_KEYS:
        if all(key not in c for c in columns.values()):
            continue
        best = best_by_row(columns, key)
        rows.append(
            {
                "label": METRIC_INFO[key].label if key in METRIC_INFO else key,
                "description": METRIC_INFO[key].description if key in METRIC_INFO else "",
                "cells": [
                    (format_metric(key, c.get(key)), name == best) for name, c in columns.items()
                ],
            }
        )
    runs = [
        {
            "label": label,
            "symbols": ", ".join(r.symbols[:8]) + (" …" if len(r.symbols) > 8 else ""),
            "period": f"{r.index[0]:%Y-%m-%d} → {r.index[-1]:%Y-%m-%d}",
            "timeframe": r.config.get("timeframe", "?"),
            "synthetic": summary.is_synthetic(r),
            "warnings": [n.text for n in summary.notices(r) if n.level == "warn"],
        }
        for label, r in zip(labels, results, strict=True)
    ]
    return render(
        "compare.html.j2",
        title=title or f"Comparison of {len(results)} backtests",
        labels=list(labels),
        rows=rows,
        runs=runs,
        equity_html=figure_html(equity_overlay(results, labels), "chart-compare-equity"),
        drawdown_html=figure_html(drawdown_overlay(results, labels), "chart-compare-drawdown"),
    )


def write_comparison(
    results: Sequence[Any], path: str | Path, labels: Sequence[str] | None = None,
    title: str | None = None,
) -> Path:  # fmt: skip
    """Write the comparison page of ``results`` to ``path`` atomically."""
    names = list(labels) if labels is not None else labels_for(results)
    return write_text_atomic(Path(path), compare_html(results, names, title))
