"""Is the Sharpe ratio significant? PSR, minimum track record, the Deflated Sharpe Ratio, t-test.

Definitions
-----------
All Sharpe ratios here are **per period** (per bar or per trade, not annualised) unless a name
ends in ``_annual``; ``sr_annual = sr * sqrt(periods_per_year)``. Moments of the returns are
population moments (``scipy.stats.skew`` / ``kurtosis`` defaults, as
:mod:`alphaforge.analytics.returns_metrics`), and kurtosis is **non-excess** (3 for a normal
distribution), as in the papers.

* Probabilistic Sharpe Ratio (Bailey & López de Prado 2012, "The Sharpe Ratio Efficient
  Frontier", J. of Risk 15(2), eq. for PSR): the probability that the true Sharpe ratio exceeds a
  benchmark ``sr*`` given ``n`` observations with skewness ``g3`` and kurtosis ``g4``::

      PSR(sr*) = Phi((sr - sr*) * sqrt(n - 1) / sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2))

* Minimum Track Record Length (same paper): the ``n`` at which ``PSR(sr*)`` reaches a confidence
  level ``c``::

      MinTRL = 1 + (1 - g3 * sr + (g4 - 1) / 4 * sr**2) * (Phi^-1(c) / (sr - sr*))**2

* Expected maximum Sharpe ratio of ``N`` independent trials whose Sharpe ratios have variance
  ``V`` and mean 0 (Bailey & López de Prado 2014, "The Deflated Sharpe Ratio", J. of Portfolio
  Management 40(5))::

      SR0 = sqrt(V) * ((1 - gamma) * Phi^-1(1 - 1/N) + gamma * Phi^-1(1 - 1/(N e)))

  with ``gamma`` the Euler–Mascheroni constant. The Deflated Sharpe Ratio is ``PSR(SR0)``: the
  probability that the selected strategy's true Sharpe ratio beats the best that ``N`` skill-less
  trials would show by luck. ``N`` should be the number of *independent* trials; correlated
  parameter sets count for less than their number.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np
from scipy import stats

from alphaforge.analytics.returns_metrics import kurtosis, sample_std, skew

__all__ = [
    "EULER_GAMMA",
    "SharpeMoments",
    "SharpeSignificance",
    "TTestResult",
    "TrialsSharpe",
    "deflated_sharpe_ratio",
    "expected_max_sharpe",
    "mean_return_ttest",
    "min_track_record_length",
    "probabilistic_sharpe_ratio",
    "psr_from_moments",
    "sharpe_moments",
    "sharpe_significance",
    "trials_sharpe_stats",
]

EULER_GAMMA = 0.5772156649015329
_NORMAL = NormalDist()


def _finite_or_none(value: float) -> float | None:
    """A float for JSON: NaN and infinities become ``None``."""
    return float(value) if math.isfinite(value) else None


def _check_returns(returns: np.ndarray, what: str = "returns", min_size: int = 2) -> np.ndarray:
    """A 1-D float64 copy of ``returns``; ValueError when empty, too short, or not finite."""
    r = np.asarray(returns, dtype=np.float64)
    if r.ndim != 1:
        raise ValueError(f"{what}: expected a 1-D array, got shape {r.shape}")
    if r.size < min_size:
        raise ValueError(f"{what}: need at least {min_size} values, got {r.size}")
    if not np.all(np.isfinite(r)):
        raise ValueError(f"{what}: {int(np.sum(~np.isfinite(r)))} NaN or infinite values")
    return r


def _sr_variance_term(sr: float, skewness: float, kurt: float) -> float:
    """``1 - g3 * sr + (g4 - 1) / 4 * sr**2``: ``(n - 1)`` times the variance of the estimate."""
    term = 1.0 - skewness * sr + (kurt - 1.0) / 4.0 * sr * sr
    if not term > 0:
        raise ValueError(
            f"inconsistent moments: 1 - skew*sr + (kurtosis-1)/4*sr^2 = {term:.6g} is not "
            f"positive (sr={sr:.6g}, skew={skewness:.6g}, kurtosis={kurt:.6g}; kurtosis is "
            "non-excess and must be at least skew^2 + 1)"
        )
    return term


def psr_from_moments(
    sr: float, n: int, skewness: float = 0.0, kurt: float = 3.0, sr_benchmark: float = 0.0
) -> float:
    """Probabilistic Sharpe Ratio from the moments of a track record.

    Parameters
    ----------
    sr:
        Observed Sharpe ratio per period (not annualised).
    n:
        Number of return observations (at least 2).
    skewness:
        Skewness of the returns.
    kurt:
        Kurtosis of the returns, **non-excess** (3 for normal returns).
    sr_benchmark:
        The benchmark Sharpe ratio ``sr*``, per period.

    Returns
    -------
    float
        ``P(true SR > sr*)`` in [0, 1].

    Raises
    ------
    ValueError
        ``n < 2`` or moments for which the variance of the Sharpe estimate is not positive.
    """
    if n < 2:
        raise ValueError(f"n: need at least 2 observations, got {n}")
    term = _sr_variance_term(sr, skewness, kurt)
    z = (sr - sr_benchmark) * math.sqrt(n - 1) / math.sqrt(term)
    return _NORMAL.cdf(z)


def min_track_record_length(
    sr: float,
    skewness: float = 0.0,
    kurt: float = 3.0,
    sr_benchmark: float = 0.0,
    confidence: float = 0.95,
) -> float:
    """Minimum Track Record Length: observations needed for ``PSR(sr*) >= confidence``.

    Returns ``inf`` when ``sr <= sr_benchmark`` (no track record is long enough). Parameters as
    :func:`psr_from_moments`; ``confidence`` is in (0, 1).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence: must be in (0, 1), got {confidence}")
    term = _sr_variance_term(sr, skewness, kurt)
    if sr <= sr_benchmark:
        return math.inf
    return 1.0 + term * (_NORMAL.inv_cdf(confidence) / (sr - sr_benchmark)) ** 2


def expected_max_sharpe(n_trials: int, var_trials: float, mean_trials: float = 0.0) -> float:
    """Expected maximum Sharpe ratio of ``n_trials`` independent trials (Bailey & López de Prado
    2014, the benchmark ``SR0`` of the Deflated Sharpe Ratio).

    Parameters
    ----------
    n_trials:
        Number of independent trials (1 gives ``mean_trials``: nothing was selected).
    var_trials:
        Variance of the trials' Sharpe ratios, per period like the Sharpe ratios themselves.
    mean_trials:
        Mean Sharpe ratio of the trials under the null (0 in the paper).
    """
    if n_trials < 1:
        raise ValueError(f"n_trials: need at least 1 trial, got {n_trials}")
    if not var_trials >= 0:
        raise ValueError(f"var_trials: must be a non-negative variance, got {var_trials}")
    if n_trials == 1:
        return mean_trials
    z1 = _NORMAL.inv_cdf(1.0 - 1.0 / n_trials)
    z2 = _NORMAL.inv_cdf(1.0 - 1.0 / (n_trials * math.e))
    return mean_trials + math.sqrt(var_trials) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2)


def deflated_sharpe_ratio(
    sr: float, n: int, skewness: float, kurt: float, n_trials: int, var_trials: float
) -> float:
    """Deflated Sharpe Ratio from moments: :func:`psr_from_moments` against
    ``SR0 = expected_max_sharpe(n_trials, var_trials)``. All Sharpe quantities per period."""
    sr0 = expected_max_sharpe(n_trials, var_trials)
    return psr_from_moments(sr, n, skewness, kurt, sr_benchmark=sr0)


@dataclass(frozen=True)
class SharpeMoments:
    """Per-period Sharpe ratio and the moments the PSR needs, estimated from returns."""

    sr: float
    n: int
    skew: float
    kurtosis: float  # non-excess


def sharpe_moments(returns: np.ndarray) -> SharpeMoments:
    """Per-period Sharpe ratio (``mean / std``, ``ddof=1``), skewness and non-excess kurtosis.

    Raises
    ------
    ValueError
        Fewer than 2 returns, NaN, or constant returns (the Sharpe ratio is undefined).
    """
    r = _check_returns(returns)
    sd = sample_std(r)
    if not sd > 0:
        raise ValueError("returns: constant series, the Sharpe ratio is undefined")
    return SharpeMoments(float(r.mean()) / sd, int(r.size), skew(r), kurtosis(r) + 3.0)


def probabilistic_sharpe_ratio(returns: np.ndarray, sr_benchmark: float = 0.0) -> float:
    """PSR of a return series against the per-period benchmark Sharpe ratio ``sr_benchmark``."""
    m = sharpe_moments(returns)
    return psr_from_moments(m.sr, m.n, m.skew, m.kurtosis, sr_benchmark)


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields explicitly
class TrialsSharpe:
    """Per-period Sharpe ratios of every trial of a sweep and their dispersion.

    ``n_trials`` counts every trial (all were tried); ``mean`` and ``var`` (``ddof=1``) are over
    the ``n_valid`` trials with a defined Sharpe ratio (non-constant returns).
    """

    n_trials: int
    n_valid: int
    mean: float
    var: float
    sharpes: np.ndarray

    def to_dict(self) -> dict[str, float | int | None]:
        """Scalars for JSON (the per-trial Sharpe ratios are left out)."""
        return {
            "n_trials": self.n_trials,
            "n_valid": self.n_valid,
            "mean": _finite_or_none(self.mean),
            "var": _finite_or_none(self.var),
        }


def trials_sharpe_stats(trial_returns: np.ndarray) -> TrialsSharpe:
    """Sharpe ratios of a sweep's trials from its ``(n_trials, n_bars)`` return matrix.

    NaN bars are ignored per trial (a trial with no bars left is refused). The variance is what
    :func:`expected_max_sharpe` takes as ``var_trials``.

    Raises
    ------
    ValueError
        Not 2-D, fewer than 2 trials, a trial without 2 finite returns, or fewer than 2 trials
        with a defined Sharpe ratio.
    """
    m = np.asarray(trial_returns, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"trial_returns: expected (n_trials, n_bars), got shape {m.shape}")
    if m.shape[0] < 2:
        raise ValueError(f"trial_returns: need at least 2 trials, got {m.shape[0]}")
    finite = np.isfinite(m)
    counts = finite.sum(axis=1)
    if np.any(counts < 2):
        bad = int(np.argmax(counts < 2))
        raise ValueError(f"trial_returns: trial {bad} has fewer than 2 finite returns")
    x = np.where(finite, m, 0.0)
    mean = x.sum(axis=1) / counts
    dev = np.where(finite, m - mean[:, None], 0.0)
    sd = np.sqrt((dev * dev).sum(axis=1) / (counts - 1))
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpes = np.where(sd > 0, mean / sd, np.nan)
    valid = sharpes[np.isfinite(sharpes)]
    if valid.size < 2:
        raise ValueError("trial_returns: fewer than 2 trials have a defined Sharpe ratio")
    return TrialsSharpe(
        int(m.shape[0]), int(valid.size), float(valid.mean()), float(valid.var(ddof=1)), sharpes
    )


@dataclass(frozen=True)
class SharpeSignificance:
    """Significance of one strategy's Sharpe ratio (per-period values unless ``_annual``).

    ``psr`` is against ``sr_benchmark``; ``dsr`` is the PSR against ``sr0``, the expected maximum
    Sharpe ratio of ``n_trials`` skill-less trials with Sharpe variance ``var_trials`` (with one
    trial ``sr0`` is 0 and ``dsr`` equals the PSR against 0). ``min_trl`` is the number of
    observations needed for ``PSR(sr_benchmark) >= confidence`` (``inf`` when ``sr`` does not
    beat the benchmark); ``min_trl_years`` the same in years.
    """

    sr: float
    sr_annual: float
    psr: float
    sr_benchmark: float
    dsr: float
    sr0: float
    sr0_annual: float
    n: int
    skew: float
    kurtosis: float
    min_trl: float
    min_trl_years: float
    confidence: float
    n_trials: int
    var_trials: float
    periods_per_year: float

    def to_dict(self) -> dict[str, float | int | None]:
        """Every field, with NaN and infinities as ``None`` (JSON has neither)."""
        return {
            k: (_finite_or_none(v) if isinstance(v, float) else v) for k, v in asdict(self).items()
        }


def sharpe_significance(
    returns: np.ndarray,
    periods_per_year: float,
    *,
    n_trials: int = 1,
    var_trials: float = 0.0,
    sr_benchmark_annual: float = 0.0,
    confidence: float = 0.95,
) -> SharpeSignificance:
    """PSR, Minimum Track Record Length and Deflated Sharpe Ratio of one strategy's returns.

    Parameters
    ----------
    returns:
        The selected strategy's per-bar (or per-trade) returns, 1-D, no NaN.
    periods_per_year:
        Observations per year, only to report annualised values and the track record in years.
    n_trials:
        Number of (independent) trials the strategy was selected from; 1 if none.
    var_trials:
        Variance of the trials' **per-period** Sharpe ratios (see :func:`trials_sharpe_stats`).
    sr_benchmark_annual:
        Annualised benchmark Sharpe ratio of the PSR and the track record length.
    confidence:
        Confidence level of the Minimum Track Record Length.

    Raises
    ------
    ValueError
        Bad returns (see :func:`sharpe_moments`), ``periods_per_year <= 0``, ``n_trials < 1``,
        a negative variance or a confidence outside (0, 1).
    """
    if not periods_per_year > 0:
        raise ValueError(f"periods_per_year: must be positive, got {periods_per_year}")
    m = sharpe_moments(returns)
    root = math.sqrt(periods_per_year)
    sr_star = sr_benchmark_annual / root
    sr0 = expected_max_sharpe(n_trials, var_trials)
    min_trl = min_track_record_length(m.sr, m.skew, m.kurtosis, sr_star, confidence)
    return SharpeSignificance(
        sr=m.sr,
        sr_annual=m.sr * root,
        psr=psr_from_moments(m.sr, m.n, m.skew, m.kurtosis, sr_star),
        sr_benchmark=sr_star,
        dsr=psr_from_moments(m.sr, m.n, m.skew, m.kurtosis, sr0),
        sr0=sr0,
        sr0_annual=sr0 * root,
        n=m.n,
        skew=m.skew,
        kurtosis=m.kurtosis,
        min_trl=min_trl,
        min_trl_years=min_trl / periods_per_year,
        confidence=confidence,
        n_trials=n_trials,
        var_trials=float(var_trials),
        periods_per_year=float(periods_per_year),
    )


@dataclass(frozen=True)
class TTestResult:
    """One-sample t-test of the mean return against 0.

    ``p_one_sided`` tests H0: mean <= 0 against mean > 0; ``p_two_sided`` H0: mean = 0.
    """

    mean: float
    std: float
    n: int
    t_stat: float
    df: int
    p_one_sided: float
    p_two_sided: float

    def to_dict(self) -> dict[str, float | int | None]:
        """Every field, with NaN as ``None``."""
        return {
            k: (_finite_or_none(v) if isinstance(v, float) else v) for k, v in asdict(self).items()
        }


def mean_return_ttest(trade_returns: np.ndarray) -> TTestResult:
    """Student's t-test that the mean trade return is positive.

    ``t = mean / (std / sqrt(n))`` with the sample standard deviation (``ddof=1``) and ``n - 1``
    degrees of freedom. Trades with identical returns give ``t = ±inf`` (or NaN for all zeros).

    Raises
    ------
    ValueError
        Fewer than 2 trades or NaN returns.
    """
    r = _check_returns(trade_returns, "trade_returns")
    n = int(r.size)
    mean, sd = float(r.mean()), sample_std(r)
    if sd > 0:
        t = mean / (sd / math.sqrt(n))
    else:
        t = math.copysign(math.inf, mean) if mean != 0 else math.nan
    dist = stats.t(df=n - 1)
    p_one = float(dist.sf(t)) if not math.isnan(t) else math.nan
    p_two = float(2.0 * dist.sf(abs(t))) if not math.isnan(t) else math.nan
    return TTestResult(mean, sd, n, t, n - 1, p_one, p_two)
