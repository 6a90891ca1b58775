"""Charts and reports of results: ``alphaforge.plot``, ``alphaforge.report``, ``alphaforge.compare``.

Figures are Plotly figures returned to the caller (a notebook shows the last value of a cell);
the HTML tear sheet and the comparison page are the ones ``alphaforge report`` and
``alphaforge compare`` write. Importing this module makes them the implementation of
:meth:`BacktestResult.plot <alphaforge.sim.result.BacktestResult.plot>` and
:meth:`BacktestResult.report <alphaforge.sim.result.BacktestResult.report>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from alphaforge.core.errors import ConfigError
from alphaforge.sim.result import BacktestResult, install_view

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from alphaforge.api.sweeps import SweepResult


def _backtest_of(result: Any, arg: str) -> BacktestResult:
    """The backtest result behind ``result`` (a walk-forward holds its stitched one)."""
    inner = getattr(result, "result", None)
    if isinstance(result, BacktestResult):
        return result
    if isinstance(inner, BacktestResult):
        return inner
    if isinstance(result, str | Path):
        from alphaforge.api.runs import load_result

        return load_result(result)
    raise ConfigError(
        f"{arg}={type(result).__name__}: expected a backtest or walk-forward result (or the path "
        "of a result JSON file)"
    )


def drawdown(equity: np.ndarray) -> np.ndarray:
    """Equity over its running peak, minus 1 (0 at a new high, -0.25 a quarter below it)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return equity / np.fmax.accumulate(equity) - 1.0


def plot(result: Any, title: str | None = None) -> go.Figure:
    """Equity (with the benchmark when there is one) over drawdown, sharing the time axis.

    Parameters
    ----------
    result:
        A :class:`~alphaforge.sim.result.BacktestResult`, a walk-forward result (its stitched
        out-of-sample run) or the path of a saved result; a sweep result gives its objective
        heatmap (:meth:`SweepResult.plot <alphaforge.api.sweeps.SweepResult.plot>`).
    title:
        Figure title (default: strategy and parameters).

    Returns
    -------
    plotly.graph_objects.Figure
        Trace ``"Strategy"`` holds the equity values, ``"Drawdown"`` the drawdown fractions.
    """
    from plotly.subplots import make_subplots

    from alphaforge.api.sweeps import SweepResult

    if isinstance(result, SweepResult):
        return sweep_figure(result)
    res = _backtest_of(result, "result")
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3],
                        vertical_spacing=0.04)  # fmt: skip
    x = res.index.tz_localize(None) if res.index.tz is not None else res.index
    fig.add_scatter(x=x, y=res.equity_values, name="Strategy", row=1, col=1)
    if np.isfinite(res.benchmark_values).any():
        fig.add_scatter(x=x, y=res.benchmark_values, name="Benchmark", row=1, col=1,
                        line={"width": 1})  # fmt: skip
    fig.add_scatter(x=x, y=drawdown(res.equity_values), name="Drawdown", fill="tozeroy",
                    row=2, col=1)  # fmt: skip
    fig.update_yaxes(title_text="Equity", tickformat=",.0f", row=1, col=1)
    fig.update_yaxes(title_text="Drawdown", tickformat=".0%", row=2, col=1)
    fig.update_layout(title=title or _label(res), height=560, hovermode="x unified",
                      margin={"l": 70, "r": 20, "t": 60, "b": 40})  # fmt: skip
    return fig


def _label(res: BacktestResult) -> str:
    params = ", ".join(f"{k}={v}" for k, v in sorted(res.params.items()))
    return f"{res.strategy}({params})"


def report(result: Any, path: str | Path, title: str | None = None) -> Path:
    """Write the HTML tear sheet of ``result`` to ``path`` (atomically) and return the path.

    ``result`` is a backtest result, a walk-forward result (its stitched out-of-sample run), a
    sweep result (the full backtest of its best trial) or the path of a saved result JSON.
    The page is the one ``alphaforge report`` writes: metrics, charts, trades, config.
    """
    from alphaforge.api.sweeps import SweepResult
    from alphaforge.reports import write_report

    if isinstance(result, SweepResult):
        result = result.backtest()
    return write_report(_backtest_of(result, "result"), Path(path), title)


def compare(
    *results: Any,
    names: Sequence[str] | None = None,
    path: str | Path | None = None,
    title: str | None = None,
) -> pd.DataFrame:
    """Metrics of several results side by side, and optionally the comparison page.

    Parameters
    ----------
    *results:
        Two or more backtest or walk-forward results, or paths of saved result JSON files.
    names:
        Column names (default: ``strategy(param=value, ...)``, numbered when they repeat).
    path:
        Also write the HTML page of ``alphaforge compare`` (metrics, overlaid equity and
        drawdowns) here.
    title:
        Title of that page.

    Returns
    -------
    pandas.DataFrame
        One row per metric, one column per result.
    """
    from alphaforge.reports.compare import (
        COMPARE_KEYS,
        comparison_metrics,
        labels_for,
        write_comparison,
    )

    if len(results) == 1 and isinstance(results[0], list | tuple):
        results = tuple(results[0])
    if len(results) < 2:
        raise ConfigError(f"compare: give at least two results, got {len(results)}")
    loaded = [_backtest_of(r, f"results[{i}]") for i, r in enumerate(results)]
    if names is not None and len(names) != len(loaded):
        raise ConfigError(f"names: {len(names)} given for {len(loaded)} results")
    labels = list(names) if names is not None else labels_for(loaded)
    columns = comparison_metrics(loaded, labels)
    keys = [k for k in COMPARE_KEYS if any(k in c for c in columns.values())]
    if path is not None:
        write_comparison(loaded, Path(path), labels, title)
    return pd.DataFrame({label: [c.get(k) for k in keys] for label, c in columns.items()},
                        index=pd.Index(keys, name="metric"), dtype=float)  # fmt: skip


def sweep_figure(result: SweepResult) -> go.Figure:
    """Objective over the first two searched parameters (best over any others), or against the
    only one; blank cells ran no trial."""
    import plotly.graph_objects as go

    table, params, col = result.trials, result.params, "objective"
    if len(params) >= 2:
        x, y = params[0], params[1]
        grid = table.pivot_table(index=y, columns=x, values=col, aggfunc="max")
        fig = go.Figure(go.Heatmap(
            z=grid.to_numpy(dtype=float), x=[str(v) for v in grid.columns],
            y=[str(v) for v in grid.index], colorscale="RdYlGn", colorbar={"title": col},
            hovertemplate=f"{x}=%{{x}}<br>{y}=%{{y}}<br>{col}=%{{z:.3f}}<extra></extra>",
        ))  # fmt: skip
        fig.update_layout(xaxis_title=x, yaxis_title=y)
    else:
        line = table.groupby(params[0])[col].max()
        fig = go.Figure(go.Scatter(x=line.index, y=line.to_numpy(), mode="lines+markers"))
        fig.update_layout(xaxis_title=params[0], yaxis_title=col)
    fig.update_layout(title=f"{result.objective} of {len(table)} trials")
    return fig


install_view("plot", plot)
install_view("report", report)
