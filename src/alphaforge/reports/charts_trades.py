"""Plotly figures of trades and holdings: trade P&L, MAE/MFE, exposure, portfolio weights,
holdings' correlation and sector exposure."""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.express as px
import plotly.graph_objects as go

from alphaforge.reports import frames
from alphaforge.reports.charts import NEGATIVE, POSITIVE, STRATEGY, empty_figure, style

NO_CLOSES = "Per-symbol closes are not stored in a saved result: re-run the backtest with --report"


def trade_pnl_figure(result: Any) -> go.Figure:
    """Histogram of trade P&L, winners and losers in their own colours."""
    trades = result.trades
    if len(trades) == 0:
        return empty_figure("Trade P&L", "No trades")
    pnl = trades["pnl"].to_numpy(dtype=np.float64)
    fig = go.Figure()
    bins = min(60, max(8, len(pnl) // 3))
    lo, hi = float(np.nanmin(pnl)), float(np.nanmax(pnl))
    size = (hi - lo) / bins if hi > lo else 1.0
    xbins = {"start": lo, "end": hi + size, "size": size}
    for name, mask, color in (
        ("Losers", pnl < 0, NEGATIVE),
        ("Winners", pnl >= 0, POSITIVE),
    ):
        fig.add_histogram(x=pnl[mask], name=name, marker_color=color, xbins=xbins, opacity=0.85)
    fig.update_xaxes(tickformat=",.0f", title_text="P&L per trade")
    fig.update_yaxes(title_text="Trades")
    return style(fig, f"Trade P&L ({len(pnl)} trades)", 320, barmode="stack", hovermode="closest")


def mae_mfe_figure(result: Any) -> go.Figure:
    """Maximum adverse vs favourable excursion of each trade, coloured by outcome."""
    trades = result.trades
    if len(trades) == 0:
        return empty_figure("MAE / MFE", "No trades")
    fig = go.Figure()
    for name, mask, color in (
        ("Winners", trades["pnl"] >= 0, POSITIVE),
        ("Losers", trades["pnl"] < 0, NEGATIVE),
    ):
        t = trades[mask]
        text = [
            f"{s} {d} {e:%Y-%m-%d}: return {r:.2%}"
            for s, d, e, r in zip(t["symbol"], t["direction"], t["entry_time"], t["return"],
                                  strict=True)
        ]  # fmt: skip
        fig.add_scatter(
            x=t["mae"].abs(), y=t["mfe"], mode="markers", name=name, text=text,
            marker={"color": color, "size": 7, "opacity": 0.75, "line": {"width": 0}},
            hovertemplate="%{text}<br>MAE %{x:.2%}, MFE %{y:.2%}<extra></extra>",
        )  # fmt: skip
    fig.update_xaxes(tickformat=".0%", title_text="Max adverse excursion (|MAE|)")
    fig.update_yaxes(tickformat=".0%", title_text="Max favourable excursion (MFE)")
    return style(fig, "MAE / MFE per trade", 340, hovermode="closest")


def exposure_figure(result: Any) -> go.Figure:
    """Gross exposure (position value / equity) and number of open positions over time."""
    exposure = frames.thin(result.exposure.replace([np.inf, -np.inf], np.nan))
    fig = go.Figure()
    fig.add_scatter(
        x=frames.x_values(exposure.index), y=exposure.to_numpy(), name="Gross exposure", fill="tozeroy",
        line={"color": STRATEGY, "width": 1, "shape": "hv"}, fillcolor="rgba(31, 95, 153, 0.25)",
    )  # fmt: skip
    count = frames.position_count(result)
    if count is not None:
        shown = frames.thin(count)
        fig.add_scatter(
            x=frames.x_values(shown.index), y=shown.to_numpy(), name="Open positions", yaxis="y2",
            line={"color": "#e67e22", "width": 1.2, "shape": "hv"}, opacity=0.8,
        )  # fmt: skip
        fig.update_layout(
            yaxis2={"overlaying": "y", "side": "right", "title": "Positions", "rangemode": "tozero",
                    "showgrid": False, "tickformat": ",d", "dtick": 1 if int(count.max()) <= 10 else None},
        )  # fmt: skip
    fig.update_yaxes(tickformat=".0%", title_text="Exposure", selector={"overlaying": None})
    return style(
        fig, "Exposure and open positions", 320, margin={"l": 60, "r": 60, "t": 50, "b": 40}
    )


def weights_figure(result: Any) -> go.Figure:
    """Stacked area of each symbol's weight (position x close / equity)."""
    w = frames.weights(result)
    if w is None:
        return empty_figure("Portfolio weights", NO_CLOSES)
    if w.shape[1] == 0:
        return empty_figure("Portfolio weights", "No positions were held")
    shown = frames.thin(w, 2000)
    fig = go.Figure()
    palette = px.colors.qualitative.Safe + px.colors.qualitative.Pastel
    for i, sym in enumerate(shown.columns):
        fig.add_scatter(
            x=frames.x_values(shown.index), y=shown[sym].to_numpy(), name=str(sym), stackgroup="w",
            line={"width": 0.5, "color": palette[i % len(palette)]},
            hovertemplate=f"{sym}: %{{y:.1%}}<extra></extra>",
        )  # fmt: skip
    fig.update_yaxes(tickformat=".0%", title_text="Weight of equity")
    return style(fig, "Portfolio weights", 380, legend={"orientation": "v"})


def correlation_figure(result: Any) -> go.Figure:
    """Correlation of the bar returns of every symbol the strategy held."""
    rets = frames.holdings_returns(result)
    if rets is None:
        reason = NO_CLOSES if frames.closes(result) is None else "Fewer than two symbols held"
        return empty_figure("Correlation of holdings", reason)
    corr = rets.corr()
    labels = [str(c) for c in corr.columns]
    show_text = len(labels) <= 15
    z = corr.to_numpy()
    fig = go.Figure(
        go.Heatmap(
            z=z, x=labels, y=labels, zmin=-1, zmax=1, colorscale="RdBu", reversescale=True,
            text=[[f"{v:.2f}" for v in row] for row in z] if show_text else None,
            texttemplate="%{text}" if show_text else None, textfont={"size": 10},
            colorbar={"thickness": 12}, hovertemplate="%{y} / %{x}: %{z:.2f}<extra></extra>",
        )
    )  # fmt: skip
    fig.update_yaxes(autorange="reversed")
    size = max(340, min(720, 120 + 28 * len(labels)))
    return style(fig, "Correlation of holdings' returns", size, hovermode="closest")


def sector_figure(result: Any) -> go.Figure:
    """Net weight per sector (``config.risk.sectors``) over time."""
    s = frames.sector_weights(result)
    if s is None:
        return empty_figure("Sector exposure", NO_CLOSES)
    shown = frames.thin(s, 2000)
    fig = go.Figure()
    palette = px.colors.qualitative.Set2
    for i, sector in enumerate(shown.columns):
        fig.add_scatter(
            x=frames.x_values(shown.index), y=shown[sector].to_numpy(), name=str(sector), stackgroup="s",
            line={"width": 0.5, "color": palette[i % len(palette)]},
        )  # fmt: skip
    fig.update_yaxes(tickformat=".0%", title_text="Weight of equity")
    return style(fig, "Sector exposure", 340)
