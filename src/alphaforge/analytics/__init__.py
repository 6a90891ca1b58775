"""Performance analytics: metrics of equity curves and trade lists, drawdown and calendar tables.

``summary_metrics`` is the fast numpy path the backtest engine calls after every run;
``compute_metrics`` is the full set used by reports and comparisons; ``METRIC_INFO`` tells tables
how to label and format each key.
"""

from alphaforge.analytics.frequency import infer_calendar, infer_timeframe, periods_per_year
from alphaforge.analytics.metric_info import METRIC_INFO, MetricInfo
from alphaforge.analytics.metrics import compute_metrics, summary_metrics
from alphaforge.analytics.rolling import rolling_beta, rolling_sharpe, rolling_volatility
from alphaforge.analytics.tables import (
    drawdown_periods,
    drawdown_series,
    monthly_returns_table,
    period_returns,
    yearly_returns,
)
from alphaforge.analytics.trade_metrics import trade_stats

__all__ = [
    "METRIC_INFO",
    "MetricInfo",
    "compute_metrics",
    "drawdown_periods",
    "drawdown_series",
    "infer_calendar",
    "infer_timeframe",
    "monthly_returns_table",
    "period_returns",
    "periods_per_year",
    "rolling_beta",
    "rolling_sharpe",
    "rolling_volatility",
    "summary_metrics",
    "trade_stats",
    "yearly_returns",
]
