"""Performance metrics of a backtest: a fast summary and the full set for reports.

* :func:`summary_metrics` runs at the end of every backtest (and so thousands of times in a sweep):
  three compiled passes over the equity array (:mod:`~alphaforge.analytics.kernels`), no pandas
  on its path; a trades DataFrame costs ~0.1 ms more than a dict of arrays (pandas column
  access). On a million-bar curve the NumPy form took about 150 ms, the compiled one about 20.
* :func:`compute_metrics` adds everything a report or ``alphaforge compare`` shows (VaR family,
  moments, calendar returns, drawdown durations in days, benchmark capture ...) and checks its input.
  It computes each metric with its own function of :mod:`~alphaforge.analytics.returns_metrics` /
  :mod:`~alphaforge.analytics.benchmark_metrics`; where the two paths share a key they give the
  same number (the tests check this to 1e-12).

Metric keys, labels and formats are in :data:`METRIC_INFO`. Returns are simple per-bar returns of the
equity curve; the first bar is the starting value and has no return. Everything is annualised with
``periods_per_year`` (:func:`alphaforge.analytics.frequency.periods_per_year`); ``risk_free`` is an
annual rate compounded down to a bar rate. Rules for degenerate inputs: NaN when a ratio has a zero
denominator (flat equity, no losing bars), except ``profit_factor`` which is ``inf`` when there are
winners and no losers.
"""

from __future__ import annotations

import math
from typing import Any, TypeAlias

import numpy as np
import pandas as pd

from alphaforge.analytics import returns_metrics as rm
from alphaforge.analytics import tables
from alphaforge.analytics.benchmark_metrics import (
    SUMMARY_BENCHMARK_KEYS,
    benchmark_relative,
    benchmark_summary,
)
from alphaforge.analytics.frequency import infer_calendar, per_period_rate, periods_per_year
from alphaforge.analytics.metric_info import METRIC_INFO, MetricInfo
from alphaforge.analytics.trade_metrics import longest_run, trade_stats
from alphaforge.core.errors import DataError

__all__ = ["METRIC_INFO", "MetricInfo", "compute_metrics", "summary_metrics"]

NAN = float("nan")
Turnover: TypeAlias = np.ndarray | tuple[np.ndarray, np.ndarray]
"""Traded notional: one value per bar, or ``(bars, notional)`` of the fills."""
SUMMARY_RETURN_KEYS: tuple[str, ...] = (
    "total_return",
    "cagr",
    "annual_volatility",
    "sharpe",
    "sortino",
    "downside_risk",
    "calmar",
    "omega",
    "max_drawdown",
    "max_drawdown_bars",
    "ulcer_index",
)


def summary_metrics(
    equity: np.ndarray,
    periods_per_year: float,
    risk_free: float = 0.0,
    benchmark: np.ndarray | None = None,
    trades: Any = None,
    exposure: np.ndarray | None = None,
    turnover: Turnover | None = None,
) -> dict[str, float]:
    """Headline metrics of one backtest.

    Positive finite equity (and benchmark) is reduced by the compiled passes of
    :mod:`alphaforge.analytics.kernels` (they agree with the NumPy form to a few ulps: sums are
    taken in another order); anything else goes through the NumPy form.

    Parameters
    ----------
    equity:
        Portfolio value at each bar close (positive float64 array; first value = starting cash).
    periods_per_year:
        Bars per year for annualisation.
    risk_free:
        Annual risk-free rate (also the Sortino / Omega target).
    benchmark:
        Benchmark equity on the same bars (e.g. buy and hold); adds alpha, beta, ...
    trades:
        Trades DataFrame or a mapping of numpy arrays (``pnl``, optionally ``return``,
        ``bars_held``); adds the trade statistics.
    exposure:
        Gross position value at each bar; adds ``exposure_time`` and ``avg_exposure``.
    turnover:
        Traded notional at each bar, or the fills as ``(bars, notional)`` (summed per bar as
        ``np.add.at`` sums them; no per-bar array is built when the bars are in order); adds
        annualised ``turnover``.

    Returns
    -------
    dict[str, float]
        :data:`SUMMARY_RETURN_KEYS` plus the keys of the optional inputs (see :data:`METRIC_INFO`).
    """
    e = np.asarray(equity, dtype=np.float64)
    ppy = float(periods_per_year)
    fast = _summary_compiled(e, ppy, risk_free, benchmark, trades, exposure, turnover)
    if fast is not None:
        return fast
    return _summary_numpy(e, ppy, risk_free, benchmark, trades, exposure, turnover)


def _summary_numpy(
    e: np.ndarray,
    ppy: float,
    risk_free: float,
    benchmark: np.ndarray | None,
    trades: Any,
    exposure: np.ndarray | None,
    turnover: Turnover | None,
) -> dict[str, float]:
    """:func:`summary_metrics` in NumPy: the definition, and the path for equity or a benchmark
    that is not positive and finite everywhere."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        r = e[1:] / e[:-1] - 1.0
        out = _summary_returns(e, r, ppy, risk_free)
        if benchmark is not None:
            b = np.asarray(benchmark, dtype=np.float64)
            if b.shape != e.shape:
                raise DataError(f"benchmark: length {b.size} does not match equity length {e.size}")
            out["benchmark_return"] = float(b[-1] / b[0] - 1.0) if b.size else NAN
            out.update(benchmark_summary(r, b[1:] / b[:-1] - 1.0, ppy, risk_free))
        if trades is not None:
            out.update(trade_stats(trades))
        if exposure is not None:
            out.update(exposure_stats(np.asarray(exposure, dtype=np.float64), e))
        if turnover is not None:
            out["turnover"] = annual_turnover(_per_bar(turnover, e.size), e, ppy)
    return out


def _summary_compiled(
    e: np.ndarray,
    ppy: float,
    rf: float,
    benchmark: np.ndarray | None,
    trades: Any,
    exposure: np.ndarray | None,
    turnover: Turnover | None,
) -> dict[str, float] | None:
    """:func:`summary_metrics` from the sums of :mod:`alphaforge.analytics.kernels` (three
    passes over the curve instead of some sixty NumPy temporaries); None when the equity or the
    benchmark is not positive and finite everywhere (the NumPy form then defines the result)."""
    from alphaforge.analytics import kernels as k

    n = e.size - 1
    if n < 1 or e.ndim != 1:
        return None
    b = None if benchmark is None else np.asarray(benchmark, dtype=np.float64)
    if b is not None and b.shape != e.shape:
        raise DataError(f"benchmark: length {b.size} does not match equity length {e.size}")
    g = None if exposure is None else np.asarray(exposure, dtype=np.float64)
    fills = _sorted_fills(turnover, e.size)
    t = None if turnover is None or fills is not None else _per_bar(turnover, e.size)
    for name, x in (("exposure", g), ("turnover", t)):
        if x is not None and x.shape != e.shape:
            raise DataError(f"{name}: length {x.size} does not match equity length {e.size}")
    rf_bar = per_period_rate(rf, ppy) if rf else 0.0
    r = np.empty(n)
    s = k.equity_stats_nb(np.ascontiguousarray(e), rf_bar, r, b is None)
    bs = None
    if b is not None and s[k.EQ_OK]:  # the deviations of the returns come with its pass
        mean_ex = s[k.EQ_SUM_EX] / n
        bs = k.benchmark_stats_nb(np.ascontiguousarray(b), r, rf_bar, mean_ex, np.empty(n))
        s[k.EQ_SSD_EX], s[k.EQ_SSD_R] = bs[k.BM_SSD_EX], bs[k.BM_DR2]
    if not s[k.EQ_OK] or (bs is not None and not bs[k.BM_OK]):
        return None
    out = _returns_from_sums(e, n, ppy, s, k)
    if b is not None and bs is not None:
        out["benchmark_return"] = float(b[-1] / b[0] - 1.0)
        out.update(_benchmark_from_sums(n, ppy, bs, k))
    if trades is not None:
        out.update(trade_stats(trades))
    empty = np.empty(0)
    x = k.exposure_sums_nb(
        empty if g is None else np.ascontiguousarray(g),
        np.ascontiguousarray(e),
        empty if t is None else np.ascontiguousarray(t),
    )
    if g is not None:
        out.update(exposure_time=float(x[0]) / e.size, avg_exposure=float(x[1]) / e.size)
    if turnover is not None:
        traded = float(x[2]) if fills is None else k.notional_sum_nb(*fills)
        out["turnover"] = traded / (float(s[k.EQ_SUM_E]) / e.size) * ppy / n
    return out


def _fills(turnover: tuple[np.ndarray, np.ndarray], size: int) -> tuple[np.ndarray, np.ndarray]:
    """``(bars, notional)`` of the fills checked: one bar per value, each of ``size``."""
    bars = np.ascontiguousarray(turnover[0], dtype=np.int64)
    values = np.ascontiguousarray(turnover[1], dtype=np.float64)
    if bars.shape != values.shape or bars.ndim != 1:
        raise DataError(f"turnover: {bars.size} bars for {values.size} notional values")
    if bars.size and (int(bars.min()) < 0 or int(bars.max()) >= size):
        raise DataError(f"turnover: a fill's bar is outside the {size} bars")
    return bars, values


def _sorted_fills(turnover: Turnover | None, size: int) -> tuple[np.ndarray, np.ndarray] | None:
    """``turnover`` given as ``(bars, notional)`` with bars in order, as the kernel takes it
    (None for a per-bar array or bars out of order)."""
    if not isinstance(turnover, tuple):
        return None
    bars, values = _fills(turnover, size)
    if bars.size > 1 and not bool(np.all(bars[1:] >= bars[:-1])):
        return None
    return bars, values


def _per_bar(turnover: Turnover, size: int) -> np.ndarray:
    """Traded notional at each of ``size`` bars (fills summed per bar)."""
    if not isinstance(turnover, tuple):
        return np.asarray(turnover, dtype=np.float64)
    bars, values = _fills(turnover, size)
    out = np.zeros(size)
    np.add.at(out, bars, values)
    return out


def _returns_from_sums(
    e: np.ndarray, n: int, ppy: float, s: np.ndarray, k: Any
) -> dict[str, float]:
    """The :data:`SUMMARY_RETURN_KEYS` of :func:`_summary_returns` from the kernel's sums."""
    growth = float(e[-1] / e[0])
    cagr = growth ** (ppy / n) - 1.0 if growth > 0 else -1.0
    mdd = min(float(s[k.EQ_MDD]), 0.0)
    mean_ex = float(s[k.EQ_SUM_EX]) / n
    down = math.sqrt(float(s[k.EQ_LOW2]) / n) * math.sqrt(ppy)
    losses = -float(s[k.EQ_LOW])
    out = dict.fromkeys(SUMMARY_RETURN_KEYS, NAN)
    out.update(
        total_return=growth - 1.0,
        cagr=cagr,
        downside_risk=down,
        sortino=mean_ex * ppy / down if n > 1 and down > 0 else NAN,
        omega=float(s[k.EQ_GAIN]) / losses if n > 1 and losses > 0 else NAN,
        max_drawdown=mdd,
        calmar=cagr / -mdd if mdd < 0 else NAN,
        max_drawdown_bars=float(s[k.EQ_DD_RUN]),
        ulcer_index=math.sqrt(float(s[k.EQ_DD2]) / e.size),
    )
    if n > 1:
        std_ex = 0.0 if s[k.EQ_EX_FLAT] else math.sqrt(float(s[k.EQ_SSD_EX]) / (n - 1))
        std_r = 0.0 if s[k.EQ_R_FLAT] else math.sqrt(float(s[k.EQ_SSD_R]) / (n - 1))
        out["annual_volatility"] = std_r * math.sqrt(ppy)
        out["sharpe"] = mean_ex / std_ex * math.sqrt(ppy) if std_ex > 0 else NAN
    return out


def _benchmark_from_sums(n: int, ppy: float, bs: np.ndarray, k: Any) -> dict[str, float]:
    """What :func:`~alphaforge.analytics.benchmark_metrics.benchmark_summary` returns, from the
    kernel's sums."""
    if n < 2:
        return dict.fromkeys(SUMMARY_BENCHMARK_KEYS, NAN)
    beta = float(bs[k.BM_BETA])
    alpha = NAN if math.isnan(beta) else float((1.0 + float(bs[k.BM_RESID]) / n) ** ppy - 1.0)
    te = 0.0 if bs[k.BM_A_FLAT] else math.sqrt(float(bs[k.BM_SSD_A]) / (n - 1))
    den = math.sqrt(float(bs[k.BM_DR2]) * float(bs[k.BM_DB2]))
    mean_a = float(bs[k.BM_SUM_A]) / n
    return {
        "alpha": alpha,
        "beta": beta,
        "correlation": float(bs[k.BM_DRDB]) / den if den > 0 else NAN,
        "tracking_error": te * math.sqrt(ppy),
        "information_ratio": (mean_a / te if te > 0 else NAN) * math.sqrt(ppy),
    }


def _summary_returns(e: np.ndarray, r: np.ndarray, ppy: float, rf: float) -> dict[str, float]:
    """The return and drawdown part of the summary in one pass over shared intermediates."""
    out = dict.fromkeys(SUMMARY_RETURN_KEYS, NAN)
    n = r.size
    if n < 1:
        return out
    growth = float(e[-1] / e[0])
    cagr = growth ** (ppy / n) - 1.0 if growth > 0 else -1.0
    dd = tables.drawdown(e)
    mdd = min(float(dd.min()), 0.0)
    ex = r - per_period_rate(rf, ppy) if rf else r
    mean_ex = float(ex.sum()) / n  # identical to ex.mean(), without its call overhead
    low = np.minimum(ex, 0.0)
    down = math.sqrt(float(low @ low) / n) * math.sqrt(ppy)
    losses = -float(low.sum())
    out.update(
        total_return=growth - 1.0,
        cagr=cagr,
        downside_risk=down,
        sortino=mean_ex * ppy / down if n > 1 and down > 0 else NAN,
        omega=float(np.maximum(ex, 0.0).sum()) / losses if n > 1 and losses > 0 else NAN,
        max_drawdown=mdd,
        calmar=cagr / -mdd if mdd < 0 else NAN,
        max_drawdown_bars=float(longest_run(dd < 0)),
        ulcer_index=math.sqrt(float(dd @ dd) / dd.size),
    )
    if n > 1:
        std_ex = _sample_std(ex, mean_ex)
        std_r = std_ex if ex is r else _sample_std(r, float(r.sum()) / n)
        out["annual_volatility"] = std_r * math.sqrt(ppy)
        out["sharpe"] = mean_ex / std_ex * math.sqrt(ppy) if std_ex > 0 else NAN
    return out


def _sample_std(x: np.ndarray, mean: float) -> float:
    if x.max() == x.min():  # exactly 0 for equal values (see returns_metrics._std)
        return 0.0
    d = x - mean
    return math.sqrt(float(d @ d) / (x.size - 1))


def exposure_stats(exposure: np.ndarray, equity: np.ndarray) -> dict[str, float]:
    """Share of bars holding a position and mean gross exposure as a fraction of equity."""
    if exposure.shape != equity.shape:
        raise DataError(
            f"exposure: length {exposure.size} does not match equity length {equity.size}"
        )
    gross = np.abs(exposure)
    return {
        "exposure_time": float(np.count_nonzero(gross > 0)) / gross.size if gross.size else NAN,
        "avg_exposure": float(np.mean(gross / equity)) if gross.size else NAN,
    }


def annual_turnover(notional: np.ndarray, equity: np.ndarray, ppy: float) -> float:
    """Traded notional over mean equity, scaled to one year (``ppy`` bars per year).

    A strategy that buys and later sells its whole equity once a year has a turnover of 2.
    """
    if notional.shape != equity.shape:
        raise DataError(
            f"turnover: length {notional.size} does not match equity length {equity.size}"
        )
    n_returns = equity.size - 1
    if n_returns < 1:
        return NAN
    return float(np.abs(notional).sum()) / float(equity.mean()) * ppy / n_returns


def compute_metrics(
    equity: pd.Series,
    trades: pd.DataFrame | None = None,
    benchmark: pd.Series | None = None,
    timeframe: str | None = "1d",
    calendar: str | None = "XNYS",
    risk_free: float = 0.0,
    exposure: np.ndarray | pd.Series | None = None,
    turnover: np.ndarray | pd.Series | None = None,
) -> dict[str, float]:
    """Every performance metric of an equity curve (and trades, benchmark) for reports.

    Parameters
    ----------
    equity:
        Portfolio value at each bar close, indexed by a DatetimeIndex (UTC).
    trades:
        Closed trades (``pnl``, ``return``, ``bars_held``, ``entry_time``, ``exit_time``, ...).
    benchmark:
        Benchmark equity with the same index as ``equity``.
    timeframe, calendar:
        Bar interval and calendar for annualisation; ``None`` infers them from the index
        (median bar spacing; ``"24/7"`` when there are weekend bars, else ``"XNYS"``).
    risk_free:
        Annual risk-free rate.
    exposure, turnover:
        Gross position value and traded notional at each bar.

    Returns
    -------
    dict[str, float]
        The keys of :data:`METRIC_INFO` that the given inputs allow.

    Raises
    ------
    DataError
        Equity that is not a positive finite Series on a DatetimeIndex, or a benchmark whose index
        differs.
    """
    e, index = _validate_equity(equity, "equity")
    ppy = periods_per_year(timeframe, calendar or infer_calendar(index), index)
    r = rm.simple_returns(e)
    out = _return_metrics(e, r, ppy, risk_free)
    out.update(_drawdown_metrics(e, index))
    out.update(_calendar_metrics(equity))
    if trades is not None:
        out.update(trade_stats(trades))
        out["avg_holding_days"] = _avg_holding_days(trades)
    if benchmark is not None:
        b, b_index = _validate_equity(benchmark, "benchmark")
        if not b_index.equals(index):
            raise DataError("benchmark: index does not match the equity index")
        out["benchmark_return"] = float(b[-1] / b[0] - 1.0)
        out.update(benchmark_relative(r, rm.simple_returns(b), ppy, risk_free))
    if exposure is not None:
        out.update(exposure_stats(np.asarray(exposure, dtype=np.float64), e))
    if turnover is not None:
        out["turnover"] = annual_turnover(np.asarray(turnover, dtype=np.float64), e, ppy)
    return out


def _validate_equity(series: pd.Series, name: str) -> tuple[np.ndarray, pd.DatetimeIndex]:
    if not isinstance(series, pd.Series) or not isinstance(series.index, pd.DatetimeIndex):
        raise DataError(f"{name}: expected a pandas Series with a DatetimeIndex")
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(values) | (values <= 0))
    if bad.size:
        i = int(bad[0])
        raise DataError(
            f"{name}: value {values[i]!r} at {series.index[i]} (row {i}) is not a positive number"
        )
    if values.size < 2:
        raise DataError(f"{name}: at least two bars are needed, got {values.size}")
    return values, series.index


def _return_metrics(e: np.ndarray, r: np.ndarray, ppy: float, rf: float) -> dict[str, float]:
    growth = float(e[-1] / e[0])
    cagr = growth ** (ppy / r.size) - 1.0
    dd = tables.drawdown(e)
    mdd = min(float(dd.min()), 0.0)
    best, worst = rm.best_worst(r)
    return {
        "total_return": growth - 1.0,
        "cagr": cagr,
        "annual_volatility": rm.annual_volatility(r, ppy),
        "sharpe": rm.sharpe_ratio(r, ppy, rf),
        "sortino": rm.sortino_ratio(r, ppy, rf),
        "downside_risk": rm.downside_risk(r, ppy, rf),
        "calmar": cagr / -mdd if mdd < 0 else NAN,
        "omega": rm.omega_ratio(r, ppy, rf),
        "max_drawdown": mdd,
        "ulcer_index": math.sqrt(float(np.mean(dd * dd))),
        "var_95": rm.value_at_risk(r),
        "cvar_95": rm.conditional_value_at_risk(r),
        "var_95_gaussian": rm.parametric_var(r),
        "cvar_95_gaussian": rm.parametric_cvar(r),
        "var_95_cornish_fisher": rm.cornish_fisher_var(r),
        "skew": rm.skew(r),
        "kurtosis": rm.kurtosis(r),
        "tail_ratio": rm.tail_ratio(r),
        "stability": rm.stability_of_timeseries(r),
        "best_bar": best,
        "worst_bar": worst,
    }


def _drawdown_metrics(e: np.ndarray, index: pd.DatetimeIndex) -> dict[str, float]:
    ep = tables.drawdown_episodes(e)
    if ep.peak.size == 0:
        return {
            "max_drawdown_bars": 0.0,
            "max_drawdown_days": 0.0,
            "recovery_bars": 0.0,
            "recovery_days": 0.0,
        }
    deepest = int(np.argmin(ep.depth))
    rec = int(ep.recovery[deepest])
    valley = int(ep.valley[deepest])
    ns = index.as_unit("ns").asi8
    return {
        "max_drawdown_bars": float(ep.bars.max()),
        "max_drawdown_days": float(tables.episode_days(ep, index).max()),
        "recovery_bars": float(rec - valley) if rec >= 0 else NAN,
        "recovery_days": (ns[rec] - ns[valley]) / 86_400e9 if rec >= 0 else NAN,
    }


def _calendar_metrics(equity: pd.Series) -> dict[str, float]:
    daily = tables.period_returns(equity, "D").to_numpy()
    monthly = tables.period_returns(equity, "M").to_numpy()
    return {
        "best_day": float(daily.max()),
        "worst_day": float(daily.min()),
        "best_month": float(monthly.max()),
        "worst_month": float(monthly.min()),
    }


def _avg_holding_days(trades: pd.DataFrame) -> float:
    columns = getattr(trades, "columns", ())
    if len(trades) == 0 or "entry_time" not in columns or "exit_time" not in columns:
        return NAN
    held = pd.to_datetime(trades["exit_time"]) - pd.to_datetime(trades["entry_time"])
    return float(held.dt.total_seconds().mean()) / 86_400.0
