"""The HTML tear sheet: one self-contained file (plotly.js inline once, no network access).

:func:`build_figures` makes every chart of a result, :func:`tearsheet_html` renders them with the
metrics, warnings, trades, configuration and provenance through the Jinja2 templates in
``reports/templates``, and :func:`write_tearsheet` writes the file atomically.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup
from plotly.offline import get_plotlyjs

from alphaforge.analytics.metric_info import format_metric
from alphaforge.reports import charts, charts_price, charts_trades, summary
from alphaforge.reports.charts_price import charted_symbols
from alphaforge.reports.orders_view import rejections
from alphaforge.reports.output import write_text_atomic
from alphaforge.reports.trades_view import TRADE_HEADERS, trade_cells

PLOTLY_CONFIG = {"displaylogo": False, "responsive": True}
TIME_AXIS_CHARTS = frozenset(
    {"equity", "price", "drawdown", "rolling", "exposure", "weights", "sectors"}
)
MAX_TRADE_ROWS = 10_000  # beyond this the table would make the file too heavy to open
KPI_KEYS = ("total_return", "cagr", "sharpe", "max_drawdown", "annual_volatility", "num_trades")


@dataclass(frozen=True)
class ChartSpec:
    """A chart section: element id, builder and whether it needs more than one symbol."""

    id: str
    label: str
    build: Callable[[Any], go.Figure]
    portfolio: bool = False


CHART_ROWS: tuple[tuple[ChartSpec, ...], ...] = (
    (ChartSpec("equity", "Equity", charts.equity_figure),),
    (ChartSpec("price", "Price", charts_price.price_figure),),
    (ChartSpec("drawdown", "Drawdown", charts.drawdown_figure),),
    (ChartSpec("monthly", "Monthly", charts.monthly_figure),),
    (
        ChartSpec("yearly", "Yearly", charts.yearly_figure),
        ChartSpec("distribution", "Distribution", charts.distribution_figure),
    ),
    (ChartSpec("rolling", "Rolling", charts.rolling_figure),),
    (
        ChartSpec("trade-pnl", "Trade P&L", charts_trades.trade_pnl_figure),
        ChartSpec("mae-mfe", "MAE/MFE", charts_trades.mae_mfe_figure),
    ),
    (ChartSpec("exposure", "Exposure", charts_trades.exposure_figure),),
    (ChartSpec("weights", "Weights", charts_trades.weights_figure, portfolio=True),),
    (
        ChartSpec("correlation", "Correlation", charts_trades.correlation_figure, portfolio=True),
        ChartSpec("sectors", "Sectors", charts_trades.sector_figure, portfolio=True),
    ),
)


def _wanted(spec: ChartSpec, result: Any) -> bool:
    if spec.id == "sectors":
        return bool((result.config.get("risk") or {}).get("sectors")) and len(result.symbols) > 1
    return not spec.portfolio or len(result.symbols) > 1


def chart_specs(result: Any) -> list[list[ChartSpec]]:
    """The chart rows this result gets (portfolio charts only for more than one symbol)."""
    rows = [[s for s in row if _wanted(s, result)] for row in CHART_ROWS]
    return [row for row in rows if row]


def build_figures(result: Any) -> dict[str, go.Figure]:
    """Every chart of the tear sheet, keyed by section id, in page order."""
    figures = {s.id: s.build(result) for row in chart_specs(result) for s in row}
    for key in TIME_AXIS_CHARTS & figures.keys():
        charts.hide_gaps(figures[key], result.index)
    return figures


def figure_html(fig: go.Figure, div_id: str) -> Markup:
    """A figure as a ``<div>`` plus its ``Plotly.newPlot`` call (plotly.js not included)."""
    html = fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config=PLOTLY_CONFIG)
    return Markup(html)


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("alphaforge.reports", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render(template: str, **context: Any) -> str:
    """Render one of the report templates with plotly.js embedded once."""
    from alphaforge import __version__

    tpl = _environment().get_template(template)
    return tpl.render(plotlyjs=Markup(get_plotlyjs()), version=__version__, **context)


def _date(ts: Any, intraday: bool, missing: str = "—") -> str:
    if ts is None or pd.isna(ts):
        return missing
    return f"{pd.Timestamp(ts):%Y-%m-%d %H:%M}" if intraday else f"{pd.Timestamp(ts):%Y-%m-%d}"


def is_intraday(result: Any) -> bool:
    tf = str(result.config.get("timeframe") or "1d")
    return not tf.endswith(("d", "w", "mo", "M", "y"))


def _drawdown_rows(result: Any, intraday: bool) -> list[dict[str, str]]:
    from alphaforge.analytics.tables import drawdown_periods

    if not np.all(np.isfinite(result.equity_values) & (result.equity_values > 0)):
        return []
    rows = []
    for d in drawdown_periods(result.equity, top=5).itertuples(index=False):
        rows.append(
            {
                "peak": _date(d.peak, intraday),
                "valley": _date(d.valley, intraday),
                "recovery": _date(d.recovery, intraday, missing="open"),
                "depth": f"{d.depth:.2%}",
                "bars": f"{d.duration_bars:,}",
                "days": f"{d.duration_days:,.0f}",
            }
        )
    return rows


def _adjust_text(adjust: Any) -> str:
    """How the run's prices were adjusted (``config.adjust``)."""
    if adjust is None:
        return "not recorded"
    return "split/dividend-adjusted (adjust: true)" if adjust else "raw, unadjusted (adjust: false)"


def _symbols_text(symbols: tuple[str, ...], limit: int = 12) -> str:
    shown = ", ".join(symbols[:limit])
    return shown + (f" … ({len(symbols)} symbols)" if len(symbols) > limit else "")


def _provenance(result: Any) -> list[tuple[str, str]]:
    manifest = dict(result.manifest or {})
    rows: list[tuple[str, str]] = [
        ("first bar", str(result.index[0])),
        ("last bar", str(result.index[-1])),
        ("bars", f"{len(result.index):,}"),
        ("symbols", ", ".join(result.symbols)),
    ]
    for key, value in manifest.items():
        if key in {"symbols", "bars", "data_start", "data_end", "run_spec"}:
            continue
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        rows.append((key.replace("_", " "), text))
    return rows


def _kpis(strat: dict[str, float]) -> list[dict[str, str]]:
    out = []
    for key in KPI_KEYS:
        value = strat.get(key)
        label = summary.METRIC_INFO[key].label if key in summary.METRIC_INFO else key
        cls = ""
        if key in {"total_return", "cagr", "sharpe"} and summary.finite_or_none(value) is not None:
            cls = "pos" if value and value > 0 else "neg"
        out.append({"label": label, "value": format_metric(key, value), "cls": cls})
    return out


def _chart_rows(result: Any, figures: dict[str, go.Figure]) -> list[list[dict[str, Any]]]:
    notes = {
        "weights": "Position value (quantity × close) over equity; negative for shorts.",
        "rolling": "Trailing window of half a year of bars (shorter for short samples).",
        "price": _price_note(result),
    }
    rows = []
    for row in chart_specs(result):
        cells = [
            {"id": s.id, "html": figure_html(figures[s.id], f"chart-{s.id}"),
             "note": notes.get(s.id, "")}
            for s in row if s.id in figures
        ]  # fmt: skip
        rows.append(cells)
    return rows


def _price_note(result: Any) -> str:
    traded = result.trades["symbol"].nunique() if result.num_trades else 0
    shown = len(charted_symbols(result))
    text = (
        "Triangles: entries, crosses: exits, at their fill prices (green long, red short). "
        "Dashed lines: the configured stop-loss (red) and take-profit (green) from each entry "
        "fill; ATR distances and levels a strategy sets itself are not recorded and not drawn."
    )
    if traded > shown:
        text += f" Showing the {shown} of {traded} traded symbols with the most trades."
    return text


def context(result: Any, title: str | None, figures: dict[str, go.Figure]) -> dict[str, Any]:
    """Everything the tear sheet template shows."""
    strat, bench = summary.full_metrics(result)
    cfg = result.config
    costs = cfg.get("costs") or {}
    intraday = is_intraday(result)
    trades = result.trades
    notices = summary.notices(result)
    specs = [s for row in chart_specs(result) for s in row]
    return {
        "title": title or f"{result.strategy} — backtest tear sheet",
        "strategy": result.strategy,
        "params": sorted((str(k), v) for k, v in (result.params or {}).items()),
        "symbols_text": _symbols_text(tuple(result.symbols)),
        "start": _date(result.index[0], intraday),
        "end": _date(result.index[-1], intraday),
        "bars": f"{len(result.index):,}",
        "timeframe": cfg.get("timeframe", "?"),
        "fill": cfg.get("fill", "?"),
        "commission": costs.get("commission", "?"),
        "slippage": costs.get("slippage", "?"),
        "cash": f"{float(cfg.get('cash') or result.equity_values[0]):,.0f}",
        "adjust": _adjust_text(cfg.get("adjust")),
        "rejected": rejections(result.orders, result.index, intraday),
        "synthetic": summary.is_synthetic(result),
        "benchmark_label": summary.benchmark_label(result),
        "notices": notices,
        "warn_count": sum(n.level == "warn" for n in notices),
        "kpis": _kpis(strat),
        "performance_rows": summary.metric_rows(
            summary.PERFORMANCE_KEYS, {"strategy": strat, "benchmark": bench}
        ),
        "trade_rows": summary.metric_rows(summary.TRADE_KEYS, {"strategy": strat}),
        "chart_rows": _chart_rows(result, figures),
        "drawdowns": _drawdown_rows(result, intraday),
        "n_trades": len(trades),
        "trade_headers": TRADE_HEADERS,
        "trade_rows_html": trade_cells(trades.head(MAX_TRADE_ROWS), intraday),
        "trades_shown": min(len(trades), MAX_TRADE_ROWS),
        "provenance": _provenance(result),
        "config_json": json.dumps(cfg, indent=2, default=str, sort_keys=True),
        "toc": [("metrics", "Metrics")]
        + [(s.id, s.label) for s in specs]
        + [("trades", "Trades"), ("rejected", "Rejected orders")]
        + [("provenance", "Provenance"), ("config", "Config")],
    }


def validation_context(body: dict[str, Any]) -> dict[str, Any]:
    """The Validation section of the tear sheet, from a validation body."""
    from alphaforge.reports import validation as val

    gate = body.get("gate") or {}
    cls = {"PASS": "pos", "FAIL": "neg"}
    rows = [
        {"criterion": r["criterion"], "rule": r["rule"], "reason": r.get("reason") or "",
         "value": "—" if r.get("value") is None else f"{r['value']:,.4g}",
         "status": r["status"], "cls": cls.get(r["status"], "")}
        for r in gate.get("rows") or []
    ]  # fmt: skip
    charts_ = [{"id": k, "html": figure_html(f, f"chart-{k}")}
               for k, f in val.validation_figures(body).items()]  # fmt: skip
    verdicts = [f"robustness {k}: {v['verdict']}" for k, v in (body.get("robustness") or {}).items()
                if isinstance(v, dict) and "verdict" in v]  # fmt: skip
    s = body.get("settings") or {}
    return {
        "passed": bool(gate.get("passed")), "verdict": gate.get("verdict", "?"),
        "gate_rows": rows, "summary": val.summary_rows(body), "charts": charts_,
        "verdicts": verdicts,
        "note": f"{body['target']['kind']} {body['target']['name']}; {s.get('sims')} Monte "
        f"Carlo paths per method, seed {s.get('seed')}, confidence {s.get('confidence')}; "
        f"validated {body.get('created', '?')[:19]} UTC.",
    }  # fmt: skip


def tearsheet_html(
    result: Any,
    title: str | None = None,
    figures: dict[str, go.Figure] | None = None,
    validation: dict[str, Any] | None = None,
) -> str:
    """The tear sheet of ``result`` as one HTML string (``figures`` from :func:`build_figures`);
    with ``validation`` (a body from ``alphaforge validate``) it has a Validation section."""
    figs = figures if figures is not None else build_figures(result)
    ctx = context(result, title, figs)
    if validation is not None:
        ctx["validation"] = validation_context(validation)
        ctx["toc"].insert(1, ("validation", "Validation"))
    return render("tearsheet.html.j2", **ctx)


def write_tearsheet(
    result: Any,
    path: str | Path,
    title: str | None = None,
    figures: dict[str, go.Figure] | None = None,
    validation: dict[str, Any] | None = None,
) -> Path:
    """Write the tear sheet to ``path`` atomically (temp file + rename) and return the path."""
    return write_text_atomic(Path(path), tearsheet_html(result, title, figures, validation))
