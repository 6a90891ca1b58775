"""Return-based performance metrics on plain numpy arrays.

Every function takes simple (not log) per-bar returns as a 1-D float array without NaNs and, where
annualisation is needed, ``ppy`` (periods per year, see :mod:`alphaforge.analytics.frequency`).
Risk-free and target rates are **annual** and are turned into per-bar rates by compounding,
``(1 + r) ** (1 / ppy) - 1``; the per-bar value is what empyrical's ``risk_free`` /
``required_return`` arguments expect.

Definitions follow empyrical-reloaded (checked against it to 1e-9 in the parity tests) except where
a docstring says otherwise:

* Sharpe, volatility, tracking error: sample standard deviation (``ddof=1``); a zero standard
  deviation gives NaN (empyrical gives ±inf when the mean is non-zero).
* Information ratio: **annualised**, ``mean(active) / std(active) * sqrt(ppy)``; empyrical's
  ``excess_sharpe`` is the same number without the ``sqrt(ppy)``.
* Skew and kurtosis: population (biased) moments like ``scipy.stats.skew`` / ``kurtosis``
  defaults; kurtosis is **excess** kurtosis (0 for a normal distribution).
* VaR/CVaR are return quantiles, negative for a loss (a 5% VaR of -0.02 means "a bar worse than
  -2% happens 5% of the time").
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from alphaforge.analytics.frequency import per_period_rate

FloatArray = np.ndarray
NAN = float("nan")


def simple_returns(equity: FloatArray) -> FloatArray:
    """Per-bar simple returns ``e[t] / e[t-1] - 1`` (one fewer element than ``equity``)."""
    e = np.asarray(equity, dtype=np.float64)
    return e[1:] / e[:-1] - 1.0


def sample_std(x: FloatArray) -> float:
    """Sample standard deviation (ddof=1); NaN for fewer than two values.

    Equal values give exactly 0 even when rounding in the mean leaves a tiny residual.
    """
    n = x.size
    if n < 2:
        return NAN
    if x.max() == x.min():
        return 0.0
    d = x - x.mean()
    return math.sqrt(float(d @ d) / (n - 1))


def safe_ratio(num: float, den: float) -> float:
    """``num / den``, NaN when the denominator is zero (or NaN)."""
    return num / den if den > 0 else NAN


def total_return(returns: FloatArray) -> float:
    """Compounded return over the whole sample, ``prod(1 + r) - 1``."""
    return float(np.prod(1.0 + returns) - 1.0) if returns.size else NAN


def cagr(returns: FloatArray, ppy: float) -> float:
    """Compound annual growth rate; the sample spans ``len(returns) / ppy`` years."""
    if returns.size == 0:
        return NAN
    growth = float(np.prod(1.0 + returns))
    return growth ** (ppy / returns.size) - 1.0 if growth > 0 else -1.0


def annual_volatility(returns: FloatArray, ppy: float) -> float:
    """Sample standard deviation of returns times ``sqrt(ppy)``."""
    return sample_std(returns) * math.sqrt(ppy)


def sharpe_ratio(returns: FloatArray, ppy: float, risk_free: float = 0.0) -> float:
    """Annualised Sharpe ratio of excess returns ``r - rf_bar`` (``risk_free`` is annual)."""
    if returns.size < 2:
        return NAN
    ex = returns - per_period_rate(risk_free, ppy) if risk_free else returns
    return safe_ratio(float(ex.mean()), sample_std(ex)) * math.sqrt(ppy)


def downside_risk(returns: FloatArray, ppy: float, required_return: float = 0.0) -> float:
    """Annualised downside deviation below the (annual) ``required_return``.

    ``sqrt(mean(min(r - req_bar, 0) ** 2)) * sqrt(ppy)`` with the mean over *all* bars.
    """
    if returns.size == 0:
        return NAN
    ex = returns - per_period_rate(required_return, ppy) if required_return else returns
    low = np.minimum(ex, 0.0)
    return math.sqrt(float(low @ low) / ex.size) * math.sqrt(ppy)


def sortino_ratio(returns: FloatArray, ppy: float, required_return: float = 0.0) -> float:
    """Annualised mean excess return over annualised downside risk (NaN if no downside)."""
    if returns.size < 2:
        return NAN
    ex = returns - per_period_rate(required_return, ppy) if required_return else returns
    dr = downside_risk(returns, ppy, required_return)
    return float(ex.mean()) * ppy / dr if dr > 0 else NAN


def omega_ratio(returns: FloatArray, ppy: float, required_return: float = 0.0) -> float:
    """Sum of gains over sum of losses relative to the per-bar threshold (NaN if no losses)."""
    if returns.size < 2:
        return NAN
    ex = returns - per_period_rate(required_return, ppy)
    gains = float(ex[ex > 0.0].sum())
    losses = -float(ex[ex < 0.0].sum())
    return gains / losses if losses > 0 else NAN


def drawdown_from_returns(returns: FloatArray) -> FloatArray:
    """Drawdown at each bar (0 at a new high, -0.2 twenty percent below the running peak).

    The starting value counts as a peak, so the array has ``len(returns)`` elements.
    """
    wealth = np.cumprod(1.0 + returns)
    peak = np.maximum(np.maximum.accumulate(wealth), 1.0)
    return wealth / peak - 1.0


def max_drawdown(returns: FloatArray) -> float:
    """Deepest drawdown as a negative fraction (0 when equity never falls below a peak)."""
    return float(min(drawdown_from_returns(returns).min(), 0.0)) if returns.size else NAN


def calmar_ratio(returns: FloatArray, ppy: float) -> float:
    """CAGR over the absolute maximum drawdown (NaN without a drawdown)."""
    mdd = max_drawdown(returns)
    return cagr(returns, ppy) / -mdd if mdd < 0 else NAN


def ulcer_index(returns: FloatArray) -> float:
    """Root mean square of the drawdown series (as a fraction, not in percent).

    Martin's ulcer index over the equity curve including its starting value (drawdown 0).
    """
    if returns.size == 0:
        return NAN
    dd = drawdown_from_returns(returns)
    return math.sqrt(float(dd @ dd) / (dd.size + 1))


def _central(returns: FloatArray) -> tuple[FloatArray, float]:
    """Deviations from the mean and their second moment; the moment is 0 when the deviations
    are only rounding residue of a constant series (scipy's precision rule: ``m2`` at most
    ``(1e-15 * |mean|) ** 2``), so a constant series has no skew or kurtosis."""
    mean = float(returns.mean())
    d = returns - mean
    m2 = float(np.mean(d * d))
    return d, (m2 if m2 > (np.finfo(np.float64).resolution * abs(mean)) ** 2 else 0.0)


def skew(returns: FloatArray) -> float:
    """Population skewness ``m3 / m2 ** 1.5`` (``scipy.stats.skew`` default, bias=True)."""
    d, m2 = _central(returns)
    return float(np.mean(d**3)) / m2**1.5 if m2 > 0 else NAN


def kurtosis(returns: FloatArray) -> float:
    """Excess kurtosis ``m4 / m2 ** 2 - 3`` (``scipy.stats.kurtosis`` default, bias=True)."""
    d, m2 = _central(returns)
    return float(np.mean(d**4)) / m2**2 - 3.0 if m2 > 0 else NAN


def tail_ratio(returns: FloatArray) -> float:
    """``|95th percentile| / |5th percentile|`` of returns (linear interpolation)."""
    if returns.size == 0:
        return NAN
    p5, p95 = np.percentile(returns, [5.0, 95.0])
    return float(abs(p95) / abs(p5)) if p5 != 0 else NAN


def value_at_risk(returns: FloatArray, cutoff: float = 0.05) -> float:
    """Historical VaR: the ``cutoff`` quantile of returns (linear interpolation)."""
    return float(np.percentile(returns, 100.0 * cutoff)) if returns.size else NAN


def conditional_value_at_risk(returns: FloatArray, cutoff: float = 0.05) -> float:
    """Historical CVaR: mean of the ``floor((n - 1) * cutoff) + 1`` worst returns."""
    if returns.size == 0:
        return NAN
    k = int((returns.size - 1) * cutoff)
    return float(np.mean(np.partition(returns, k)[: k + 1]))


def parametric_var(returns: FloatArray, cutoff: float = 0.05) -> float:
    """Gaussian VaR ``mu + z_cutoff * sigma`` (sample sigma, ddof=1)."""
    return float(returns.mean()) + NormalDist().inv_cdf(cutoff) * sample_std(returns)


def parametric_cvar(returns: FloatArray, cutoff: float = 0.05) -> float:
    """Gaussian expected shortfall ``mu - sigma * pdf(z_cutoff) / cutoff``."""
    z = NormalDist().inv_cdf(cutoff)
    return float(returns.mean()) - sample_std(returns) * NormalDist().pdf(z) / cutoff


def cornish_fisher_var(returns: FloatArray, cutoff: float = 0.05) -> float:
    """Modified (Cornish–Fisher) VaR: the Gaussian quantile corrected for skew and excess kurtosis.

    ``z_cf = z + (z²-1)S/6 + (z³-3z)K/24 - (2z³-5z)S²/36``; VaR = ``mu + z_cf * sigma``.
    """
    z = NormalDist().inv_cdf(cutoff)
    s, k = skew(returns), kurtosis(returns)
    z_cf = z + (z * z - 1) * s / 6 + (z**3 - 3 * z) * k / 24 - (2 * z**3 - 5 * z) * s * s / 36
    return float(returns.mean()) + z_cf * sample_std(returns)


def stability_of_timeseries(returns: FloatArray) -> float:
    """R² of a straight-line fit to cumulative log returns (1 = perfectly steady growth)."""
    if returns.size < 2:
        return NAN
    y = np.cumsum(np.log1p(returns))
    x = np.arange(y.size, dtype=np.float64)
    dx, dy = x - x.mean(), y - y.mean()
    syy = float(dy @ dy)
    if syy == 0:
        return NAN
    return float(dx @ dy) ** 2 / (float(dx @ dx) * syy)


def best_worst(returns: FloatArray) -> tuple[float, float]:
    """Largest and smallest single return (NaN, NaN when empty)."""
    if returns.size == 0:
        return NAN, NAN
    return float(returns.max()), float(returns.min())
