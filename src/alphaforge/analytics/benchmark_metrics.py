"""Metrics of a return series relative to a benchmark return series of the same length.

Definitions follow empyrical-reloaded: beta is ``cov(r, b) / var(b)`` (population moments),
alpha is the compounded annualisation of the mean per-bar residual
``(1 + mean((r - rf) - beta * (b - rf))) ** ppy - 1``. The information ratio is annualised (see
:mod:`alphaforge.analytics.returns_metrics`), tracking error is ``std(r - b, ddof=1) * sqrt(ppy)``.
Capture ratios divide the strategy's CAGR by the benchmark's CAGR over the bars where the benchmark
rose (up capture) or fell (down capture).
"""

from __future__ import annotations

import math

from alphaforge.analytics.frequency import per_period_rate
from alphaforge.analytics.returns_metrics import NAN, FloatArray, cagr, safe_ratio, sample_std


def beta(returns: FloatArray, benchmark: FloatArray) -> float:
    """Slope of strategy returns on benchmark returns (NaN if the benchmark never moves)."""
    if returns.size < 2:
        return NAN
    db = benchmark - benchmark.mean()
    var_b = float(db @ db) / db.size
    if var_b < 1e-30:
        return NAN
    return float(db @ returns) / db.size / var_b


def alpha(returns: FloatArray, benchmark: FloatArray, ppy: float, risk_free: float = 0.0) -> float:
    """Annualised Jensen's alpha (``risk_free`` is an annual rate)."""
    b = beta(returns, benchmark)
    if math.isnan(b):
        return NAN
    rf = per_period_rate(risk_free, ppy)
    resid = (returns - rf) - b * (benchmark - rf)
    return float((1.0 + resid.mean()) ** ppy - 1.0)


def correlation(returns: FloatArray, benchmark: FloatArray) -> float:
    """Pearson correlation of strategy and benchmark returns (NaN if either is constant)."""
    if returns.size < 2:
        return NAN
    dr, db = returns - returns.mean(), benchmark - benchmark.mean()
    den = math.sqrt(float(dr @ dr) * float(db @ db))
    return float(dr @ db) / den if den > 0 else NAN


def tracking_error(returns: FloatArray, benchmark: FloatArray, ppy: float) -> float:
    """Annualised standard deviation of active returns ``r - b`` (ddof=1)."""
    return sample_std(returns - benchmark) * math.sqrt(ppy)


def information_ratio(returns: FloatArray, benchmark: FloatArray, ppy: float) -> float:
    """Annualised mean active return over tracking error (empyrical ``excess_sharpe * sqrt(ppy)``)."""
    if returns.size < 2:
        return NAN
    active = returns - benchmark
    return safe_ratio(float(active.mean()), sample_std(active)) * math.sqrt(ppy)


def up_capture(returns: FloatArray, benchmark: FloatArray, ppy: float) -> float:
    """Strategy CAGR over benchmark CAGR on the bars where the benchmark return is positive."""
    mask = benchmark > 0
    return _capture(returns[mask], benchmark[mask], ppy)


def down_capture(returns: FloatArray, benchmark: FloatArray, ppy: float) -> float:
    """Strategy CAGR over benchmark CAGR on the bars where the benchmark return is negative."""
    mask = benchmark < 0
    return _capture(returns[mask], benchmark[mask], ppy)


def _capture(returns: FloatArray, benchmark: FloatArray, ppy: float) -> float:
    if returns.size == 0:
        return NAN
    den = cagr(benchmark, ppy)
    return cagr(returns, ppy) / den if den != 0 else NAN


BENCHMARK_KEYS: tuple[str, ...] = (
    "alpha",
    "beta",
    "correlation",
    "tracking_error",
    "information_ratio",
    "up_capture",
    "down_capture",
)

SUMMARY_BENCHMARK_KEYS: tuple[str, ...] = BENCHMARK_KEYS[:5]


def benchmark_relative(
    returns: FloatArray, benchmark: FloatArray, ppy: float, risk_free: float = 0.0
) -> dict[str, float]:
    """All benchmark-relative metrics (:data:`BENCHMARK_KEYS`), one function each."""
    return {
        "alpha": alpha(returns, benchmark, ppy, risk_free),
        "beta": beta(returns, benchmark),
        "correlation": correlation(returns, benchmark),
        "tracking_error": tracking_error(returns, benchmark, ppy),
        "information_ratio": information_ratio(returns, benchmark, ppy),
        "up_capture": up_capture(returns, benchmark, ppy),
        "down_capture": down_capture(returns, benchmark, ppy),
    }


def benchmark_summary(
    returns: FloatArray, benchmark: FloatArray, ppy: float, risk_free: float = 0.0
) -> dict[str, float]:
    """The fast path: :data:`SUMMARY_BENCHMARK_KEYS` with the numbers of :func:`benchmark_relative`.

    Intermediates are shared; the capture ratios (two masked products each) are left to the full
    metrics.
    """
    n = returns.size
    if n < 2:
        return dict.fromkeys(SUMMARY_BENCHMARK_KEYS, NAN)
    db = benchmark - benchmark.sum() / n
    dr = returns - returns.sum() / n
    var_b = float(db @ db) / n
    b = float(db @ returns) / n / var_b if var_b >= 1e-30 else NAN
    if math.isnan(b):
        alpha_ = NAN
    else:
        rf = per_period_rate(risk_free, ppy)
        resid = (returns - rf) - b * (benchmark - rf)
        alpha_ = float((1.0 + resid.sum() / n) ** ppy - 1.0)
    active = returns - benchmark
    te = sample_std(active)
    den = math.sqrt(float(dr @ dr) * float(db @ db))
    return {
        "alpha": alpha_,
        "beta": b,
        "correlation": float(dr @ db) / den if den > 0 else NAN,
        "tracking_error": te * math.sqrt(ppy),
        "information_ratio": safe_ratio(float(active.sum()) / n, te) * math.sqrt(ppy),
    }
