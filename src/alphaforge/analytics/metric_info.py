"""How to label, format and rank each metric that :mod:`alphaforge.analytics.metrics` returns."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

MetricFormat = Literal["pct", "ratio", "number", "days", "bars", "count", "money"]


@dataclass(frozen=True)
class MetricInfo:
    """Rendering hints for one metric.

    Attributes
    ----------
    label:
        Short human-readable name for tables.
    format:
        ``pct`` (fraction shown as a percentage), ``ratio`` (two decimals), ``number``,
        ``days`` (calendar days), ``bars``, ``count`` (integer) or ``money`` (account currency).
    higher_is_better:
        True or False when ranking makes sense, None for descriptive numbers (beta, skew, ...).
    description:
        One sentence saying how the number is computed.
    """

    label: str
    format: MetricFormat
    higher_is_better: bool | None
    description: str


def _m(label: str, fmt: MetricFormat, hib: bool | None, description: str) -> MetricInfo:
    return MetricInfo(label, fmt, hib, description)


_RETURNS: dict[str, MetricInfo] = {
    "total_return": _m("Total return", "pct", True, "Final equity over initial equity, minus one."),
    "cagr": _m(
        "CAGR", "pct", True, "Compound annual growth rate; years = return bars / periods per year."
    ),
    "annual_volatility": _m(
        "Volatility (ann.)", "pct", False, "Sample std of bar returns times sqrt(periods per year)."
    ),
    "sharpe": _m(
        "Sharpe",
        "ratio",
        True,
        "Mean bar excess return over its sample std, times sqrt(periods per year).",
    ),
    "sortino": _m(
        "Sortino", "ratio", True, "Annualised mean excess return over annualised downside risk."
    ),
    "downside_risk": _m(
        "Downside risk",
        "pct",
        False,
        "Root mean square of returns below the risk-free bar rate, annualised.",
    ),
    "calmar": _m("Calmar", "ratio", True, "CAGR over the absolute maximum drawdown."),
    "omega": _m(
        "Omega",
        "ratio",
        True,
        "Sum of bar returns above the risk-free bar rate over the sum below it.",
    ),
    "max_drawdown": _m(
        "Max drawdown", "pct", True, "Deepest fall of equity below its running high (negative)."
    ),
    "max_drawdown_bars": _m(
        "Longest drawdown (bars)",
        "bars",
        False,
        "Most consecutive bars closing below the previous equity high.",
    ),
    "max_drawdown_days": _m(
        "Longest drawdown (days)",
        "days",
        False,
        "Most calendar days from an equity high to its recovery (or the last bar).",
    ),
    "recovery_bars": _m(
        "Recovery (bars)",
        "bars",
        False,
        "Bars from the deepest drawdown's valley to its recovery; NaN if not recovered.",
    ),
    "recovery_days": _m(
        "Recovery (days)",
        "days",
        False,
        "Calendar days from the deepest drawdown's valley to its recovery.",
    ),
    "ulcer_index": _m("Ulcer index", "pct", False, "Root mean square of the drawdown series."),
    "var_95": _m("VaR 95% (hist.)", "pct", True, "5th percentile of bar returns."),
    "cvar_95": _m("CVaR 95% (hist.)", "pct", True, "Mean of the worst 5% of bar returns."),
    "var_95_gaussian": _m(
        "VaR 95% (Gaussian)", "pct", True, "mean + z(0.05) * std of bar returns."
    ),
    "cvar_95_gaussian": _m("CVaR 95% (Gaussian)", "pct", True, "Normal expected shortfall at 5%."),
    "var_95_cornish_fisher": _m(
        "VaR 95% (Cornish-Fisher)",
        "pct",
        True,
        "Gaussian VaR with the quantile corrected for skew and excess kurtosis.",
    ),
    "skew": _m("Skew", "number", None, "Population skewness of bar returns."),
    "kurtosis": _m(
        "Excess kurtosis", "number", None, "Population kurtosis of bar returns minus 3."
    ),
    "tail_ratio": _m(
        "Tail ratio", "ratio", True, "|95th percentile| over |5th percentile| of bar returns."
    ),
    "stability": _m(
        "Stability", "ratio", True, "R-squared of a line fitted to cumulative log returns."
    ),
    "best_bar": _m("Best bar", "pct", True, "Largest single-bar return."),
    "worst_bar": _m("Worst bar", "pct", True, "Smallest single-bar return."),
    "best_day": _m("Best day", "pct", True, "Largest calendar-day (UTC) return."),
    "worst_day": _m("Worst day", "pct", True, "Smallest calendar-day (UTC) return."),
    "best_month": _m("Best month", "pct", True, "Largest calendar-month return."),
    "worst_month": _m("Worst month", "pct", True, "Smallest calendar-month return."),
}

_TRADES: dict[str, MetricInfo] = {
    "n_trades": _m("Trades", "count", None, "Number of closed trades."),
    "win_rate": _m("Win rate", "pct", True, "Share of trades with pnl above zero."),
    "profit_factor": _m(
        "Profit factor", "ratio", True, "Gross profit over gross loss (inf without losers)."
    ),
    "payoff_ratio": _m("Payoff ratio", "ratio", True, "Average win over absolute average loss."),
    "expectancy": _m("Expectancy", "money", True, "Mean pnl per trade."),
    "expectancy_pct": _m("Expectancy (return)", "pct", True, "Mean return per trade."),
    "avg_win": _m("Average win", "money", True, "Mean pnl of winning trades."),
    "avg_loss": _m("Average loss", "money", True, "Mean pnl of losing trades (negative)."),
    "best_trade": _m("Best trade", "pct", True, "Largest trade return."),
    "worst_trade": _m("Worst trade", "pct", True, "Smallest trade return."),
    "max_consecutive_wins": _m(
        "Max consecutive wins", "count", None, "Longest run of winning trades."
    ),
    "max_consecutive_losses": _m(
        "Max consecutive losses", "count", False, "Longest run of losing trades."
    ),
    "avg_bars_held": _m("Avg holding (bars)", "bars", None, "Mean bars a trade was held."),
    "avg_holding_days": _m(
        "Avg holding (days)", "days", None, "Mean calendar days from entry to exit."
    ),
    "exposure_time": _m("Exposure time", "pct", None, "Share of bars with a non-zero position."),
    "avg_exposure": _m("Avg gross exposure", "pct", None, "Mean gross position value over equity."),
    "turnover": _m(
        "Turnover (ann.)", "ratio", False, "Traded notional over mean equity, per year."
    ),
}

_BENCHMARK: dict[str, MetricInfo] = {
    "benchmark_return": _m("Benchmark return", "pct", None, "Total return of the benchmark."),
    "alpha": _m(
        "Alpha (ann.)",
        "pct",
        True,
        "(1 + mean bar residual of excess returns on the benchmark) ** ppy - 1.",
    ),
    "beta": _m(
        "Beta", "number", None, "Covariance with the benchmark over the benchmark's variance."
    ),
    "correlation": _m("Correlation", "number", None, "Pearson correlation with benchmark returns."),
    "tracking_error": _m(
        "Tracking error", "pct", False, "Annualised std of returns minus benchmark returns."
    ),
    "information_ratio": _m(
        "Information ratio", "ratio", True, "Annualised mean active return over tracking error."
    ),
    "up_capture": _m(
        "Up capture",
        "ratio",
        True,
        "Strategy CAGR over benchmark CAGR on up bars of the benchmark.",
    ),
    "down_capture": _m(
        "Down capture",
        "ratio",
        False,
        "Strategy CAGR over benchmark CAGR on down bars of the benchmark.",
    ),
}

_RUN: dict[str, MetricInfo] = {
    "final_equity": _m("Final equity", "money", True, "Portfolio value at the last bar's close."),
    "fees": _m("Fees paid", "money", False, "Sum of commissions charged on all fills."),
    "num_trades": _m("Trades", "count", None, "Number of closed trades."),
    "ambiguous_bars": _m(
        "Ambiguous bars",
        "count",
        False,
        "Bars where a stop and a target were both inside the bar's range.",
    ),
}

METRIC_INFO: dict[str, MetricInfo] = {**_RETURNS, **_TRADES, **_BENCHMARK, **_RUN}


def format_metric(key: str, value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    info = METRIC_INFO.get(key)
    fmt = info.format if info else "number"
    if isinstance(value, float) and math.isinf(value):
        return "∞" if value > 0 else "-∞"
    if fmt == "pct":
        return f"{value:.2%}"
    if fmt == "ratio":
        return f"{value:.2f}"
    if fmt in {"count", "bars"}:
        return f"{value:,.0f}"
    if fmt == "money":
        return f"{value:,.2f}"
    if fmt == "days":
        return f"{value:,.1f} d"
    return f"{value:,.4g}"
