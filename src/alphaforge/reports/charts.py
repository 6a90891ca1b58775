"""Plotly figures of a backtest's performance: equity, drawdown, calendar returns, rolling
statistics and the return distribution. Each builder takes a result and returns a Figure; a
figure with nothing to show carries a centred note instead of empty axes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots
from scipy import stats

from alphaforge.analytics.rolling import rolling_beta, rolling_sharpe, rolling_volatility
from alphaforge.analytics.tables import drawdown_periods, monthly_returns_table, yearly_returns
from alphaforge.reports import frames
from alphaforge.reports.summary import benchmark_label

STRATEGY = "#1f5f99"
BENCHMARK = "#9aa5b1"
NEGATIVE = "#c0392b"
POSITIVE = "#1e8449"
SHADE = "rgba(243, 156, 18, 0.13)"
FONT = "Inter, -apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def style(fig: go.Figure, title: str, height: int = 380, **layout: Any) -> go.Figure:
    """Apply the report's common look: white background, light grid, compact margins."""
    base: dict[str, Any] = {
        "title": {"text": title, "x": 0.01, "font": {"size": 15}},
        "template": "none",
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "font": {"family": FONT, "size": 12, "color": "#243447"},
        "height": height,
        "margin": {"l": 60, "r": 20, "t": 50, "b": 40},
        "legend": {"orientation": "h", "y": 1.02, "x": 1.0, "xanchor": "right",
                   "yanchor": "bottom"},
        "hovermode": "x unified",
    }  # fmt: skip
    fig.update_layout(**{**base, **layout})
    grid = {"gridcolor": "#edf0f4", "zerolinecolor": "#d5dbe3", "linecolor": "#d5dbe3"}
    fig.update_xaxes(**grid)
    fig.update_yaxes(**grid)
    return fig


def hide_gaps(fig: go.Figure, index: pd.DatetimeIndex) -> go.Figure:
    """Hide closed-market stretches of intraday data on every date axis (no-op for daily)."""
    gaps = frames.session_gaps(index)
    if gaps:
        breaks = [{"bounds": [str(a), str(b)]} for a, b in gaps]
        fig.update_xaxes(rangebreaks=breaks)
    return fig


def empty_figure(title: str, message: str, height: int = 240) -> go.Figure:
    """A figure whose only content is ``message`` (e.g. "No trades")."""
    fig = go.Figure()
    fig.add_annotation(
        text=message, showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper",
        font={"size": 14, "color": "#7b8794"},
    )  # fmt: skip
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return style(fig, title, height, hovermode=False)


def _positive(values: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(values) & (values > 0)))


def equity_figure(result: Any) -> go.Figure:
    """Equity of the strategy and its benchmark with a linear / log scale toggle."""
    eq = frames.thin(result.equity)
    bench = frames.thin(result.benchmark)
    fig = go.Figure()
    fig.add_scatter(
        x=frames.x_values(eq.index), y=eq.to_numpy(), name="Strategy", line={"color": STRATEGY}
    )
    if np.isfinite(result.benchmark_values).any():
        fig.add_scatter(
            x=frames.x_values(bench.index), y=bench.to_numpy(), name=benchmark_label(result),
            line={"color": BENCHMARK, "width": 1.5},
        )  # fmt: skip
    menus = [
        {
            "type": "buttons",
            "direction": "left",
            "x": 0.0,
            "y": 1.0,
            "xanchor": "left",
            "yanchor": "bottom",
            "pad": {"b": 4},
            "showactive": True,
            "buttons": [
                {"label": "Linear", "method": "relayout", "args": [{"yaxis.type": "linear"}]},
                {"label": "Log", "method": "relayout", "args": [{"yaxis.type": "log"}]},
            ],
        }
    ]
    log_ok = _positive(result.equity_values)
    fig.update_yaxes(tickformat=",.0f", title_text="Equity")
    return style(
        fig, "Equity vs benchmark", 420, updatemenus=menus if log_ok else [],
        margin={"l": 70, "r": 20, "t": 80, "b": 40},
    )  # fmt: skip


def drawdown_figure(result: Any, top: int = 5) -> go.Figure:
    """Underwater curve with the ``top`` deepest drawdown periods shaded and numbered."""
    dd = pd.Series(frames.drawdown_values(result.equity_values), index=result.index)
    shown = frames.thin(dd)
    fig = go.Figure()
    fig.add_scatter(
        x=frames.x_values(shown.index), y=shown.to_numpy(), name="Drawdown", fill="tozeroy",
        line={"color": NEGATIVE, "width": 1}, fillcolor="rgba(192, 57, 43, 0.30)",
    )  # fmt: skip
    if _positive(result.equity_values):
        periods = drawdown_periods(result.equity, top=top)
        last = result.index[-1]
        for rank, row in enumerate(periods.itertuples(index=False), start=1):
            end = last if pd.isna(row.recovery) else row.recovery  # type: ignore[arg-type]
            x0, x1 = frames.x_values(pd.DatetimeIndex([row.peak, end]))
            fig.add_vrect(
                x0=x0, x1=x1, fillcolor=SHADE, line_width=0, layer="below",
                annotation_text=f"#{rank}", annotation_position="top left",
                annotation_font={"size": 10, "color": "#7b241c"},
            )  # fmt: skip
    fig.update_yaxes(tickformat=".0%", title_text="Drawdown")
    return style(fig, f"Underwater (top {top} drawdowns shaded, numbered by depth)", 320)


def monthly_figure(result: Any) -> go.Figure:
    """Heatmap of monthly returns (rows: years, columns: months) with the value in each cell."""
    if not _positive(result.equity_values):
        return empty_figure("Monthly returns", "Equity reached zero: no monthly returns")
    table = monthly_returns_table(result.equity)
    months = table[list(range(1, 13))].replace([np.inf, -np.inf], np.nan)
    z = months.to_numpy(dtype=np.float64)
    text = [[f"{v:.1%}" if np.isfinite(v) else "" for v in row] for row in z]
    limit = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 0.01
    fig = go.Figure(
        go.Heatmap(
            z=z, x=list(MONTHS), y=[str(y) for y in months.index], text=text,
            texttemplate="%{text}", textfont={"size": 10}, colorscale="RdYlGn", zmid=0.0,
            zmin=-limit, zmax=limit, xgap=2, ygap=2, hoverongaps=False,
            colorbar={"tickformat": ".0%", "thickness": 12},
            hovertemplate="%{y} %{x}: %{z:.2%}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed", type="category")
    height = max(260, 60 + 26 * len(months.index))
    return style(fig, "Monthly returns", height, hovermode="closest")


def yearly_figure(result: Any) -> go.Figure:
    """Calendar-year returns of the strategy and the benchmark as grouped bars."""
    if not _positive(result.equity_values):
        return empty_figure("Yearly returns", "Equity reached zero: no yearly returns")
    strat = yearly_returns(result.equity)
    fig = go.Figure()
    fig.add_bar(
        x=[str(y) for y in strat.index], y=strat.to_numpy(), name="Strategy",
        marker_color=[POSITIVE if v >= 0 else NEGATIVE for v in strat.to_numpy()],
    )  # fmt: skip
    if _positive(result.benchmark_values):
        bench = yearly_returns(result.benchmark)
        fig.add_bar(
            x=[str(y) for y in bench.index], y=bench.to_numpy(), name="Benchmark",
            marker_color=BENCHMARK,
        )  # fmt: skip
    fig.update_yaxes(tickformat=".0%")
    fig.update_xaxes(type="category")
    return style(fig, "Yearly returns", 320, barmode="group")


def rolling_figure(result: Any) -> go.Figure:
    """Rolling Sharpe, volatility and beta over half a year of bars (scaled by timeframe)."""
    ppy = frames.bars_per_year(result)
    window = frames.rolling_window(ppy, len(result.index))
    r = frames.bar_returns(result.equity_values, result.index, "strategy")
    b = frames.bar_returns(result.benchmark_values, result.index, "benchmark")
    if len(r) < window + 1:
        return empty_figure("Rolling statistics", "Too few bars for rolling statistics")
    fig = make_subplots(
        rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06,
        subplot_titles=("Sharpe", "Volatility (ann.)", "Beta to benchmark"),
    )  # fmt: skip
    series = (
        (rolling_sharpe(r, window, ppy, float(result.config.get("risk_free") or 0.0)), None),
        (rolling_volatility(r, window, ppy), ".0%"),
        (rolling_beta(r, b, window), None),
    )
    for row, (s, fmt) in enumerate(series, start=1):
        s = frames.thin(s.replace([np.inf, -np.inf], np.nan))
        fig.add_scatter(
            x=frames.x_values(s.index), y=s.to_numpy(), row=row, col=1, showlegend=False,
            line={"color": STRATEGY, "width": 1.3}, name=s.name or "",
        )  # fmt: skip
        fig.add_hline(y=1.0 if row == 3 else 0.0, line={"color": "#cbd2d9", "dash": "dot"},
                      row=row, col=1)  # fmt: skip
        if fmt:
            fig.update_yaxes(tickformat=fmt, row=row, col=1)
    return style(fig, f"Rolling statistics ({window}-bar window)", 560)


def distribution_figure(result: Any) -> go.Figure:
    """Histogram of bar returns with a fitted normal density and the Jarque-Bera test."""
    r = frames.bar_returns(result.equity_values, result.index, "r").dropna().to_numpy()
    if r.size < 3 or float(np.std(r)) == 0.0:
        return empty_figure("Return distribution", "Too few distinct returns for a distribution")
    mu, sigma = float(np.mean(r)), float(np.std(r, ddof=1))
    jb = stats.jarque_bera(r)
    fig = go.Figure()
    fig.add_histogram(
        x=r, histnorm="probability density", nbinsx=min(80, max(10, r.size // 10)),
        name="Bar returns", marker_color=STRATEGY, opacity=0.75,
    )  # fmt: skip
    grid = np.linspace(float(r.min()), float(r.max()), 200)
    fig.add_scatter(
        x=grid, y=stats.norm.pdf(grid, mu, sigma), name=f"Normal fit (σ={sigma:.2%})",
        line={"color": NEGATIVE, "width": 2},
    )  # fmt: skip
    verdict = "normality rejected at 5%" if jb.pvalue < 0.05 else "normality not rejected at 5%"
    fig.add_annotation(
        text=f"Jarque–Bera = {jb.statistic:,.1f}, p = {jb.pvalue:.3g} ({verdict})",
        xref="paper", yref="paper", x=0.99, y=0.97, showarrow=False, xanchor="right",
        bgcolor="rgba(255,255,255,0.85)", font={"size": 11},
    )  # fmt: skip
    fig.update_xaxes(tickformat=".1%", title_text="Bar return")
    return style(fig, "Distribution of bar returns", 340, hovermode="closest", bargap=0.02)
