"""The numbers and notices of a tear sheet: full metrics vs the benchmark, metric rows, warnings."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from alphaforge.analytics.metric_info import METRIC_INFO, format_metric
from alphaforge.analytics.metrics import compute_metrics
from alphaforge.core.errors import AlphaforgeError
from alphaforge.reports import frames

MIN_TRADES = 30

PERFORMANCE_KEYS: tuple[str, ...] = (
    "total_return", "cagr", "annual_volatility", "sharpe", "sortino", "calmar", "omega",
    "max_drawdown", "max_drawdown_days", "recovery_days", "ulcer_index", "var_95", "cvar_95",
    "skew", "kurtosis", "tail_ratio", "stability", "best_month", "worst_month", "alpha", "beta",
    "correlation", "tracking_error", "information_ratio", "up_capture", "down_capture",
)  # fmt: skip
TRADE_KEYS: tuple[str, ...] = (
    "num_trades", "win_rate", "profit_factor", "payoff_ratio", "expectancy", "expectancy_pct",
    "avg_win", "avg_loss", "best_trade", "worst_trade", "max_consecutive_losses",
    "avg_bars_held", "avg_holding_days", "exposure_time", "avg_exposure", "turnover", "fees",
    "final_equity",
)  # fmt: skip
BENCHMARK_ONLY = frozenset(
    {"alpha", "beta", "correlation", "tracking_error", "information_ratio"}
    | {"up_capture", "down_capture"}
)


@dataclass(frozen=True)
class Notice:
    """One line of the warnings box; ``level`` is ``warn`` or ``info``."""

    level: str
    text: str


def full_metrics(result: Any) -> tuple[dict[str, float], dict[str, float]]:
    """Every metric of the strategy and of its benchmark (same bars, same annualisation).

    Falls back to the backtest's own summary metrics when the equity curve cannot be analysed
    (e.g. it reached zero), and to an empty benchmark column when the benchmark is unusable.
    """
    cfg = result.config
    kw: dict[str, Any] = {
        "timeframe": cfg.get("timeframe"),
        "calendar": cfg.get("calendar"),
        "risk_free": float(cfg.get("risk_free") or 0.0),
    }
    strat = _strategy_metrics(result, kw)
    for key in ("final_equity", "fees", "num_trades", "ambiguous_bars"):
        if key in result.metrics:
            strat[key] = result.metrics[key]
    strat.setdefault("num_trades", float(result.num_trades))
    try:
        bench = compute_metrics(result.benchmark, **kw)
        bench["final_equity"] = float(result.benchmark_values[-1])
    except AlphaforgeError:
        bench = {}
    return strat, bench


def _strategy_metrics(result: Any, kw: dict[str, Any]) -> dict[str, float]:
    """Full metrics with the benchmark, else without it, else the backtest's own summary."""
    inputs: dict[str, Any] = {
        "trades": result.trades,
        "exposure": result.gross_values,
        "turnover": frames.traded_notional(result),
        **kw,
    }
    for benchmark in (result.benchmark, None):
        try:
            return compute_metrics(result.equity, benchmark=benchmark, **inputs)
        except AlphaforgeError:
            continue
    return dict(result.metrics)


def metric_rows(
    keys: tuple[str, ...], columns: dict[str, dict[str, float]]
) -> list[dict[str, Any]]:
    """Template rows: label, description and one formatted cell per column (``""`` when absent)."""
    rows = []
    for key in keys:
        if all(key not in col for col in columns.values()):
            continue
        info = METRIC_INFO.get(key)
        cells = [format_metric(key, col[key]) if key in col else "" for col in columns.values()]
        rows.append(
            {
                "key": key,
                "label": info.label if info else key,
                "description": info.description if info else "",
                "cells": cells,
            }
        )
    return rows


def is_zero_cost(value: Any) -> bool:
    """True when a cost setting (``0``, ``"0%"``, ``"0bps"``, None ...) charges nothing."""
    if value is None:
        return True
    if isinstance(value, int | float):
        return float(value) == 0.0
    numbers = re.findall(r"\d+(?:\.\d*)?|\.\d+", str(value))
    return bool(numbers) and all(float(n) == 0.0 for n in numbers)


def lookahead_status(result: Any) -> str:
    """``passed``, ``failed`` or ``not run`` from a ``lookahead`` key of the config or manifest.

    The key may hold a bool, a status string, a mapping with ``passed`` / ``ok`` / ``status``
    (e.g. ``{"ok": True, "summary": "..."}``) or a :class:`~alphaforge.strategy.lookahead.LookaheadReport`.
    """
    value = result.config.get("lookahead", (result.manifest or {}).get("lookahead"))
    if isinstance(value, dict):
        value = value.get("passed", value.get("ok", value.get("status")))
    elif hasattr(value, "ok"):  # a LookaheadReport
        value = bool(value.ok)
    if value is None:
        return "not run"
    if value is True or str(value).lower() in {"passed", "pass", "ok", "true"}:
        return "passed"
    return "failed"


def notices(result: Any) -> list[Notice]:
    """Warnings about how far the numbers can be trusted, most important first."""
    cfg = result.config
    out: list[Notice] = []
    n = result.num_trades
    if n < MIN_TRADES:
        out.append(
            Notice(
                "warn",
                f"Only {n} trade(s): fewer than {MIN_TRADES}, so trade statistics "
                "and ratios are unreliable.",
            )
        )
    costs = cfg.get("costs") or {}
    if is_zero_cost(costs.get("commission")) and is_zero_cost(costs.get("slippage")):
        out.append(Notice("warn", "Costs disabled: commission and slippage are both 0."))
    if cfg.get("fill") == "close":
        out.append(
            Notice(
                "warn",
                "Optimistic fills (fill=close): orders fill at the close of the bar "
                "that produced the signal.",
            )
        )
    status = lookahead_status(result)
    if status == "failed":
        out.append(Notice("warn", "Look-ahead check FAILED: the strategy used future data."))
    elif status == "not run":
        out.append(Notice("info", "Look-ahead check not run for this result."))
    else:
        out.append(Notice("info", "Look-ahead check passed."))
    if result.ambiguous_bars:
        out.append(
            Notice(
                "warn",
                f"{result.ambiguous_bars} ambiguous intrabar bar(s): stop and target "
                f"both touched; resolved as {(cfg.get('exits') or {}).get('ambiguity', '?')}.",
            )
        )
    rejected = _rejected_text(result)
    if rejected:
        out.append(Notice("warn", f"{rejected} (see Rejected orders)."))
    if not np.all(np.isfinite(result.equity_values) & (result.equity_values > 0)):
        out.append(Notice("warn", "Equity reached zero or below: the account was wiped out."))
    for text in getattr(result, "warnings", None) or []:
        if not str(text).startswith("fill=close"):
            out.append(Notice("warn", str(text)))
    return out


def _rejected_text(result: Any) -> str | None:
    """``54 of 207 orders rejected: insufficient_cash 54`` or None when none was rejected."""
    from alphaforge.reports.orders_view import rejections

    rej = rejections(result.orders, result.index, intraday=False, limit=0)
    return rej.summary if rej.count else None


def benchmark_label(result: Any) -> str:
    """What the benchmark curve is: buy and hold of one symbol, or of all at equal weight."""
    symbol = result.config.get("benchmark")
    if symbol:
        return f"Buy & hold {symbol}"
    if len(result.symbols) == 1:
        return f"Buy & hold {result.symbols[0]}"
    return "Equal-weight buy & hold"


def is_synthetic(result: Any) -> bool:
    """True when the config or manifest marks the data synthetic or the symbols are ``SYN*``."""
    manifest = result.manifest or {}
    if result.config.get("synthetic") or manifest.get("synthetic"):
        return True
    return any(str(s).upper().startswith("SYN") for s in result.symbols)


def finite_or_none(x: float | None) -> float | None:
    """``x`` when it is a finite number, else None."""
    return x if isinstance(x, int | float) and math.isfinite(x) else None
