"""The tear sheet's Validation section, drawn from a validation body (``alphaforge validate``).

The body is the JSON that :mod:`alphaforge.services.validate` saves, so a stored validation can
be drawn again without re-running it. Charts: Monte Carlo distributions with the observed value,
the PBO logit histogram and the in-sample/out-of-sample degradation scatter, performance by
regime, and the robustness variants.
"""

from __future__ import annotations

from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

_LAYOUT = {
    "template": "plotly_white",
    "height": 320,
    "margin": {"l": 50, "r": 20, "t": 40, "b": 40},
}
SCATTER_CAP = 2000
_COLORS = ("#4c78a8", "#f58518", "#54a24b")
_MC_METRICS = (("total_return", "Total return", ".0%"), ("max_drawdown", "Max drawdown", ".0%"),
               ("sharpe", "Sharpe", ".2f"))  # fmt: skip
_NICE = {"trades_reshuffle": "trade order reshuffled", "trades_resample": "trades resampled",
         "bars_stationary": "stationary bootstrap of bar returns"}  # fmt: skip


def montecarlo_figure(body: dict[str, Any]) -> go.Figure | None:
    """Histograms of simulated total return, drawdown and Sharpe; dotted lines: observed.

    A method whose simulations all give the same value of a metric (the total return of
    reshuffled trades never changes) is left out of that panel. Trade methods annualise the
    Sharpe ratio per trade, the bar bootstrap per bar, so compare each with its own line.
    """
    runs = {k: v for k, v in (body.get("montecarlo") or {}).items() if "samples" in v}
    if not runs:
        return None
    fig = make_subplots(rows=1, cols=3, subplot_titles=[m[1] for m in _MC_METRICS])
    for (name, run), color in zip(runs.items(), _COLORS, strict=False):
        for col, (metric, _, fmt) in enumerate(_MC_METRICS, start=1):
            samples = run["samples"][metric]
            if not samples or max(samples) == min(samples):
                continue
            fig.add_trace(
                go.Histogram(x=samples, name=_NICE.get(name, name), legendgroup=name,
                             showlegend=col == 2, opacity=0.5, histnorm="probability",
                             marker_color=color),
                row=1, col=col,
            )  # fmt: skip
            observed = (run.get(metric) or {}).get("observed")
            if observed is not None:
                fig.add_vline(x=observed, line_dash="dot", line_color=color, row=1, col=col)
            fig.update_xaxes(tickformat=fmt, row=1, col=col)
    fig.update_layout(barmode="overlay", title="Monte Carlo (dotted: observed)", **_LAYOUT)
    return fig


def pbo_figures(body: dict[str, Any]) -> tuple[go.Figure | None, go.Figure | None]:
    """The logit histogram (PBO is the mass at or left of 0) and the degradation scatter."""
    pbo = (body.get("overfitting") or {}).get("pbo") or {}
    if "logits" not in pbo:
        return None, None
    hist = go.Figure(go.Histogram(x=pbo["logits"], nbinsx=40, marker_color="#4c78a8"))
    hist.add_vline(x=0, line_dash="dash", line_color="#d62728")
    hist.update_layout(
        title=f"CSCV logits of the in-sample best (PBO {pbo['pbo']:.1%}: share ≤ 0)",
        xaxis_title="logit of the out-of-sample rank", yaxis_title="splits", **_LAYOUT,
    )  # fmt: skip
    deg = pbo.get("degradation") or {}
    step = max(1, len(pbo["is_perf"]) // SCATTER_CAP)  # every k-th split keeps the page light
    scatter = go.Figure(go.Scatter(x=pbo["is_perf"][::step], y=pbo["oos_perf"][::step],
                                   mode="markers", marker={"size": 4, "opacity": 0.4}))  # fmt: skip
    scatter.update_layout(
        title=f"Degradation: out-of-sample vs in-sample Sharpe (slope {deg.get('slope', 0):.2f})",
        xaxis_title="in-sample Sharpe of the chosen trial", yaxis_title="its out-of-sample Sharpe",
        **_LAYOUT,
    )  # fmt: skip
    return hist, scatter


def regime_figure(body: dict[str, Any]) -> go.Figure | None:
    """Total return of the strategy and of the benchmark over the bars of each regime."""
    tables = (body.get("regimes") or {}).get("tables") or {}
    if not tables:
        return None
    fig = make_subplots(rows=1, cols=len(tables), subplot_titles=list(tables))
    for col, rows in enumerate(tables.values(), start=1):
        names = [str(r["regime"]) for r in rows]
        fig.add_trace(go.Bar(x=names, y=[r.get("total_return") for r in rows], name="strategy",
                             marker_color="#4c78a8", showlegend=col == 1), row=1, col=col)  # fmt: skip
        if rows and "benchmark_return" in rows[0]:
            fig.add_trace(go.Bar(x=names, y=[r.get("benchmark_return") for r in rows],
                                 name="benchmark (total)", marker_color="#bbbbbb",
                                 showlegend=col == 1), row=1, col=col)  # fmt: skip
        fig.update_yaxes(tickformat=".0%", row=1, col=col)
    fig.update_layout(title="Total return by regime (causal labels)", barmode="group", **_LAYOUT)
    return fig


def robustness_figure(body: dict[str, Any]) -> go.Figure | None:
    """Sharpe ratio of every variant of every robustness check."""
    checks = {k: v for k, v in (body.get("robustness") or {}).items()
              if isinstance(v, dict) and v.get("rows")}  # fmt: skip
    if not checks:
        return None
    fig = make_subplots(rows=1, cols=len(checks), subplot_titles=list(checks))
    for col, check in enumerate(checks.values(), start=1):
        ok = [r for r in check["rows"] if r.get("status") == "ok"]
        fig.add_trace(go.Bar(x=[str(r["variant"]) for r in ok], y=[r.get("sharpe") for r in ok],
                             marker_color="#59a14f", showlegend=False), row=1, col=col)  # fmt: skip
    fig.update_layout(title="Robustness: Sharpe ratio of each variant", **_LAYOUT)
    return fig


def validation_figures(body: dict[str, Any]) -> dict[str, go.Figure]:
    """Every chart of the Validation section that the body has data for, keyed by id."""
    hist, scatter = pbo_figures(body)
    figs = {
        "val-mc": montecarlo_figure(body), "val-pbo": hist, "val-degradation": scatter,
        "val-regimes": regime_figure(body), "val-robustness": robustness_figure(body),
    }  # fmt: skip
    return {k: v for k, v in figs.items() if v is not None}


def _fmt(v: Any) -> str:
    if v is None:
        return "—"
    return f"{v:,.4g}" if isinstance(v, float) else str(v)


def summary_rows(body: dict[str, Any]) -> list[tuple[str, str]]:
    """The headline statistics as (label, value) rows."""
    sig = body.get("significance") or {}
    sh = sig.get("sharpe") or {}
    tt = sig.get("trade_ttest") or {}
    ov = body.get("overfitting") or {}
    pbo, spa, wf = ov.get("pbo") or {}, ov.get("spa") or {}, ov.get("walkforward") or {}
    rows = [
        ("Sharpe (annualised)", _fmt(sh.get("sr_annual"))),
        ("Probabilistic Sharpe Ratio", _fmt(sh.get("psr"))),
        ("Deflated Sharpe Ratio", _fmt(sh.get("dsr")) if "trials" in sig else "needs the sweep"),
        ("trials behind the choice", _fmt((sig.get("trials") or {}).get("n_trials"))),
        ("minimum track record (years)", _fmt(sh.get("min_trl_years"))),
        ("t-test p (mean trade > 0)", _fmt(tt.get("p_one_sided"))),
        ("PBO (CSCV)", _fmt(pbo.get("pbo")) if "pbo" in pbo else pbo.get("skipped", "—")),
        ("SPA p (Hansen)", _fmt(spa.get("p_consistent"))),
        ("Reality Check p (White)", _fmt(spa.get("p_reality_check"))),
        ("walk-forward efficiency", _fmt(wf.get("efficiency"))),
    ]
    return rows
