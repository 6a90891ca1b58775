"""Did the search overfit? PBO by CSCV, degradation, walk-forward efficiency, SPA / Reality Check.

* **Probability of Backtest Overfitting** (Bailey, Borwein, López de Prado & Zhu 2017, "The
  Probability of Backtest Overfitting", J. of Computational Finance 20(4)), estimated by
  combinatorially symmetric cross-validation (CSCV): the rows (time) of the ``T x N`` matrix of
  the trials' returns are cut into ``S`` blocks; for each of the ``C(S, S/2)`` ways to pick half
  of the blocks as in-sample (IS, the rest out-of-sample, OOS) the trial with the best IS
  performance is selected and its OOS performance ranked among all trials' OOS performance,
  ``w = rank / (N + 1)``. The logit ``lambda = ln(w / (1 - w))`` is positive when the IS winner
  beats the OOS median; PBO is the share of combinations with ``lambda <= 0``.
* **Hansen's SPA and White's Reality Check** (Hansen 2005, J. of Business & Economic Statistics
  23(4); White 2000, Econometrica 68(5)) through :class:`arch.bootstrap.SPA`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import Literal

import numpy as np
from arch.bootstrap import SPA, optimal_block_length

from alphaforge.analytics.returns_metrics import cagr

__all__ = [
    "Degradation",
    "PBOResult",
    "SPAResult",
    "WalkForwardEfficiency",
    "performance_degradation",
    "probability_of_backtest_overfitting",
    "spa_test",
    "walk_forward_efficiency",
]

Metric = Callable[[np.ndarray], np.ndarray]
Bootstrap = Literal["stationary", "circular", "moving block"]
_CHUNK = 4096  # combinations per vectorised step (bounds memory at ~CHUNK x N floats per array)


def _scalar(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


# --------------------------------------------------------------------------- degradation


@dataclass(frozen=True)
class Degradation:
    """OOS performance against IS performance of the selected trials.

    ``slope`` and ``intercept`` are the least-squares line ``oos = intercept + slope * is``
    (NaN with fewer than 2 distinct IS values); a slope well below 1, or negative, means IS
    performance does not carry over. ``prob_oos_loss`` is the share of pairs with OOS < 0.
    """

    slope: float
    intercept: float
    r2: float
    n: int
    mean_is: float
    mean_oos: float
    prob_oos_loss: float

    def to_dict(self) -> dict[str, float | int | None]:
        """Every field, NaN as ``None``."""
        return {k: (_scalar(v) if isinstance(v, float) else v) for k, v in vars(self).items()}


def performance_degradation(is_perf: np.ndarray, oos_perf: np.ndarray) -> Degradation:
    """Regression of OOS on IS performance over the finite pairs (one pair per split or fold).

    Raises
    ------
    ValueError
        Arrays of different length or no finite pair.
    """
    x, y = np.asarray(is_perf, dtype=np.float64), np.asarray(oos_perf, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"is_perf and oos_perf: need two 1-D arrays of one length, got {x.shape}")
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        raise ValueError("is_perf and oos_perf: no pair with both values finite")
    x, y = x[ok], y[ok]
    dx, dy = x - x.mean(), y - y.mean()
    sxx, syy = float(dx @ dx), float(dy @ dy)
    slope = float(dx @ dy) / sxx if sxx > 0 else math.nan
    intercept = float(y.mean()) - slope * float(x.mean()) if sxx > 0 else math.nan
    r2 = float(dx @ dy) ** 2 / (sxx * syy) if sxx > 0 and syy > 0 else math.nan
    return Degradation(
        slope, intercept, r2, int(x.size), float(x.mean()), float(y.mean()), float(np.mean(y < 0))
    )


# --------------------------------------------------------------------------- PBO (CSCV)


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields explicitly
class PBOResult:
    """Probability of Backtest Overfitting and the per-combination detail of CSCV.

    Arrays have one element per combination: ``selected`` (the IS-best trial), ``is_perf`` and
    ``oos_perf`` (its IS and OOS performance: the degradation scatter), ``oos_rank`` (``w``, its
    relative OOS rank in (0, 1)) and ``logits`` (``ln(w / (1 - w))``). Performance is the
    per-period Sharpe ratio unless a metric was given, annualised when ``periods_per_year`` was.
    """

    pbo: float
    n_trials: int
    n_bars: int
    n_blocks: int
    n_combinations: int
    degradation: Degradation
    logits: np.ndarray
    oos_rank: np.ndarray
    is_perf: np.ndarray
    oos_perf: np.ndarray
    selected: np.ndarray

    @property
    def prob_oos_loss(self) -> float:
        """Share of combinations whose IS-best trial loses OOS (performance below 0)."""
        return self.degradation.prob_oos_loss

    def to_dict(self, include_arrays: bool = False) -> dict[str, object]:
        """Scalars for JSON; with ``include_arrays`` also the per-combination lists."""
        out: dict[str, object] = {
            "pbo": self.pbo,
            "n_trials": self.n_trials,
            "n_bars": self.n_bars,
            "n_blocks": self.n_blocks,
            "n_combinations": self.n_combinations,
            "prob_oos_loss": self.prob_oos_loss,
            "logit_median": _scalar(float(np.median(self.logits))),
            "degradation": self.degradation.to_dict(),
        }
        if include_arrays:
            for name in ("logits", "oos_rank", "is_perf", "oos_perf"):
                out[name] = [_scalar(v) for v in getattr(self, name).tolist()]
            out["selected"] = self.selected.tolist()
        return out


def _check_matrix(returns: np.ndarray, n_blocks: int) -> np.ndarray:
    """The ``T x N`` float64 matrix, after the checks CSCV needs."""
    m = np.asarray(returns, dtype=np.float64)
    if m.ndim != 2:
        raise ValueError(f"returns: expected a (T bars, N trials) matrix, got shape {m.shape}")
    t, n = m.shape
    if n < 2:
        raise ValueError(f"returns: need at least 2 trials (columns), got {n}")
    if n_blocks < 2 or n_blocks % 2:
        raise ValueError(f"n_blocks: must be an even number of at least 2, got {n_blocks}")
    if t < n_blocks:
        raise ValueError(f"returns: {t} bars (rows) cannot fill {n_blocks} blocks")
    if np.isinf(m).any():
        raise ValueError("returns: infinite values")
    empty = ~np.isfinite(m).any(axis=0)
    if empty.any():
        raise ValueError(f"returns: trial {int(np.argmax(empty))} has no finite returns (all NaN)")
    return m


def _block_ids(t: int, s: int) -> np.ndarray:
    """Block number of each row: ``s`` contiguous blocks whose sizes differ by at most one."""
    sizes = np.full(s, t // s)
    sizes[: t % s] += 1
    return np.repeat(np.arange(s), sizes)


def _sharpe_from_sums(
    cnt: np.ndarray, tot: np.ndarray, sq: np.ndarray, shift: np.ndarray
) -> np.ndarray:
    """Per-period Sharpe ratios from counts, sums and sums of squares of shifted returns.

    ``x - shift`` keeps the variance exact; ``mean = tot / cnt + shift``. A zero variance gives
    0 for a zero mean and ±inf otherwise; fewer than 2 values give NaN.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_c = tot / cnt
        var = np.maximum(sq - tot * mean_c, 0.0) / (cnt - 1)
        mean = mean_c + shift
        sr = mean / np.sqrt(var)
    sr = np.where(var > 0, sr, np.sign(mean) * np.where(mean != 0, np.inf, 0.0))
    return np.where(cnt >= 2, sr, np.nan)


def _cscv_sharpe(
    m: np.ndarray, ids: np.ndarray, members: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """IS and OOS Sharpe ratios (combinations x trials) from block aggregates."""
    s = int(ids.max()) + 1
    finite = np.isfinite(m)
    shift = np.nanmean(m, axis=0)
    x = np.where(finite, m - shift, 0.0)
    agg = [np.zeros((s, m.shape[1])) for _ in range(3)]
    for arr, values in zip(agg, (finite.astype(np.float64), x, x * x), strict=True):
        np.add.at(arr, ids, values)
    totals = [a.sum(axis=0) for a in agg]
    is_parts, oos_parts = [], []
    for start in range(0, members.shape[0], _CHUNK):
        w = members[start : start + _CHUNK].astype(np.float64)
        ins = [w @ a for a in agg]
        outs = [tot - i for tot, i in zip(totals, ins, strict=True)]
        is_parts.append(_sharpe_from_sums(ins[0], ins[1], ins[2], shift))
        oos_parts.append(_sharpe_from_sums(outs[0], outs[1], outs[2], shift))
    return np.concatenate(is_parts), np.concatenate(oos_parts)


def _cscv_metric(
    m: np.ndarray, ids: np.ndarray, members: np.ndarray, metric: Metric
) -> tuple[np.ndarray, np.ndarray]:
    """IS and OOS performance (combinations x trials) from a user metric on the rows."""
    n = m.shape[1]
    is_perf = np.empty((members.shape[0], n))
    oos_perf = np.empty_like(is_perf)
    for k, row in enumerate(members):
        in_rows = row[ids]
        is_perf[k] = np.asarray(metric(m[in_rows]), dtype=np.float64).reshape(n)
        oos_perf[k] = np.asarray(metric(m[~in_rows]), dtype=np.float64).reshape(n)
    return is_perf, oos_perf


def _relative_rank(oos: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """Average rank of the chosen trial's OOS performance, divided by ``N + 1`` (NaN ranks last)."""
    filled = np.where(np.isnan(oos), -np.inf, oos)
    best = filled[np.arange(filled.shape[0]), chosen][:, None]
    below = np.sum(filled < best, axis=1)
    ties = np.sum(filled == best, axis=1)  # includes the chosen trial itself
    return (below + (ties + 1) / 2.0) / (oos.shape[1] + 1)


def probability_of_backtest_overfitting(
    returns: np.ndarray,
    n_blocks: int = 16,
    metric: Metric | None = None,
    periods_per_year: float | None = None,
) -> PBOResult:
    """PBO of a set of trials by combinatorially symmetric cross-validation.

    Parameters
    ----------
    returns:
        ``(T, N)`` matrix, time x trials (the paper's ``M``; a sweep's ``(trials, bars)`` matrix
        is ``matrix.T``). NaN bars are left out of a trial's performance.
    n_blocks:
        ``S``, an even number of contiguous row blocks (16 in the paper: 12,870 combinations).
        When ``T`` is not a multiple of ``S`` the first blocks get one row more.
    metric:
        Performance of each column of a ``(rows, N)`` block of returns, returning ``N`` values
        (higher is better). Default: the per-period Sharpe ratio, computed from block sums in
        one vectorised pass; a callable is evaluated twice per combination.
    periods_per_year:
        Annualises the reported Sharpe ratios (not used with a ``metric``; ranks do not change).

    Raises
    ------
    ValueError
        Not 2-D, fewer than 2 trials, ``n_blocks`` odd or below 2, fewer rows than blocks,
        infinite values, or a trial with no finite return.
    """
    m = _check_matrix(returns, n_blocks)
    ids = _block_ids(m.shape[0], n_blocks)
    combos = np.array(list(combinations(range(n_blocks), n_blocks // 2)))
    members = np.zeros((combos.shape[0], n_blocks), dtype=bool)
    members[np.arange(combos.shape[0])[:, None], combos] = True
    if metric is None:
        is_all, oos_all = _cscv_sharpe(m, ids, members)
        if periods_per_year is not None:
            root = math.sqrt(periods_per_year)
            is_all, oos_all = is_all * root, oos_all * root
    else:
        is_all, oos_all = _cscv_metric(m, ids, members, metric)
    chosen = np.argmax(np.where(np.isnan(is_all), -np.inf, is_all), axis=1)
    rows = np.arange(chosen.size)
    w = _relative_rank(oos_all, chosen)
    logits = np.log(w / (1.0 - w))
    is_best, oos_best = is_all[rows, chosen], oos_all[rows, chosen]
    return PBOResult(
        pbo=float(np.mean(logits <= 0.0)),
        n_trials=int(m.shape[1]),
        n_bars=int(m.shape[0]),
        n_blocks=n_blocks,
        n_combinations=int(chosen.size),
        degradation=performance_degradation(is_best, oos_best),
        logits=logits,
        oos_rank=w,
        is_perf=is_best,
        oos_perf=oos_best,
        selected=chosen,
    )


# --------------------------------------------------------------------------- walk-forward


@dataclass(frozen=True)
class WalkForwardEfficiency:
    """Annualised OOS return over annualised IS return (Pardo's walk-forward efficiency).

    ``per_fold[i] = oos_annual[i] / is_annual[i]``, NaN where the IS return is not positive
    (the ratio means nothing then). ``overall`` compares the chained OOS returns of all folds
    with the chained IS returns.
    """

    per_fold: tuple[float, ...]
    is_annual: tuple[float, ...]
    oos_annual: tuple[float, ...]
    overall: float

    def to_dict(self) -> dict[str, object]:
        """Every field, NaN as ``None``."""
        return {
            "per_fold": [_scalar(v) for v in self.per_fold],
            "is_annual": [_scalar(v) for v in self.is_annual],
            "oos_annual": [_scalar(v) for v in self.oos_annual],
            "overall": _scalar(self.overall),
        }


def _efficiency(oos_annual: float, is_annual: float) -> float:
    return oos_annual / is_annual if is_annual > 0 else math.nan


def walk_forward_efficiency(
    is_returns: Sequence[np.ndarray], oos_returns: Sequence[np.ndarray], periods_per_year: float
) -> WalkForwardEfficiency:
    """Walk-forward efficiency per fold and overall, from each fold's IS and OOS bar returns.

    Annualised returns are CAGRs (:func:`alphaforge.analytics.returns_metrics.cagr`).

    Raises
    ------
    ValueError
        No fold, different numbers of IS and OOS folds, or an empty or non-finite fold.
    """
    if len(is_returns) != len(oos_returns) or not is_returns:
        raise ValueError(
            f"walk-forward: need as many IS as OOS folds (at least one), "
            f"got {len(is_returns)} and {len(oos_returns)}"
        )
    folds = []
    for i, (a, b) in enumerate(zip(is_returns, oos_returns, strict=True)):
        ra, rb = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
        if ra.size == 0 or rb.size == 0 or not (np.isfinite(ra).all() and np.isfinite(rb).all()):
            raise ValueError(f"walk-forward: fold {i} has empty or non-finite returns")
        folds.append((ra, rb))
    is_ann = tuple(cagr(a, periods_per_year) for a, _ in folds)
    oos_ann = tuple(cagr(b, periods_per_year) for _, b in folds)
    overall = _efficiency(
        cagr(np.concatenate([b for _, b in folds]), periods_per_year),
        cagr(np.concatenate([a for a, _ in folds]), periods_per_year),
    )
    per_fold = tuple(_efficiency(o, i) for o, i in zip(oos_ann, is_ann, strict=True))
    return WalkForwardEfficiency(per_fold, is_ann, oos_ann, overall)


# --------------------------------------------------------------------------- SPA / RC


@dataclass(frozen=True)
class SPAResult:
    """Hansen's SPA and White's Reality Check of the best trial against a benchmark.

    H0: no trial has a higher expected return than the benchmark. A small p-value says the best
    trial's edge over the benchmark survives the search over all ``n_trials`` trials. The three
    p-values differ in how trials that did worse than the benchmark enter the null distribution
    (arch's ``lower`` / ``consistent`` / ``upper``):

    * ``p_upper`` recentres every trial at the null boundary: White's (2000) Reality Check,
      the most conservative (``p_reality_check`` is the same number);
    * ``p_consistent``: Hansen's (2005) SPA p-value; trials clearly worse than the benchmark
      (mean below ``-sqrt(2 var / T * ln ln T)``) keep their negative mean and stop inflating
      the null distribution;
    * ``p_lower``: no trial that did worse than the benchmark is recentred (a lower bound).

    arch 8 evaluates all three on the non-studentised statistic ``max_k mean(d_k)`` (its
    ``studentize`` flag does not change the p-values), ``d_k`` = trial return - benchmark return.
    """

    p_lower: float
    p_consistent: float
    p_upper: float
    p_reality_check: float
    best_trial: int
    best_mean_excess: float
    n_trials: int
    n_bars: int
    reps: int
    block_size: int
    bootstrap: str
    seed: int

    def to_dict(self) -> dict[str, float | int | str | None]:
        """Every field, NaN as ``None``."""
        return {k: (_scalar(v) if isinstance(v, float) else v) for k, v in vars(self).items()}


def _spa_inputs(
    trial_returns: np.ndarray, benchmark: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Checked ``(T, N)`` trial returns and ``(T,)`` benchmark returns (zeros when None)."""
    m = np.asarray(trial_returns, dtype=np.float64)
    if m.ndim == 1:
        m = m[:, None]
    if m.ndim != 2 or m.shape[0] < 2:
        raise ValueError(f"trial_returns: expected a (T bars, N trials) matrix, got {m.shape}")
    b = np.zeros(m.shape[0]) if benchmark is None else np.asarray(benchmark, dtype=np.float64)
    if b.shape != (m.shape[0],):
        raise ValueError(f"benchmark: expected {m.shape[0]} returns, got shape {b.shape}")
    if not (np.isfinite(m).all() and np.isfinite(b).all()):
        raise ValueError("trial_returns / benchmark: NaN or infinite values")
    return m, b


def spa_test(
    trial_returns: np.ndarray,
    benchmark: np.ndarray | None = None,
    *,
    reps: int = 1000,
    block_size: int | None = None,
    bootstrap: Bootstrap = "stationary",
    seed: int = 0,
) -> SPAResult:
    """SPA and Reality Check p-values of the trials' returns against a benchmark's returns.

    Parameters
    ----------
    trial_returns:
        ``(T, N)`` bar returns of the trials, time x trials (a sweep's matrix transposed).
    benchmark:
        ``(T,)`` bar returns of the benchmark (buy and hold, or 0 = cash when None).
        Losses given to arch are negative returns, so the loss differential is
        ``trial - benchmark``.
    reps:
        Bootstrap replications.
    block_size:
        Mean (stationary) or fixed block length; default: Politis & White's (2004) optimal
        length for the best trial's excess returns (:func:`arch.bootstrap.optimal_block_length`).
    bootstrap:
        ``"stationary"`` (Politis & Romano 1994, Hansen's choice), ``"circular"`` or
        ``"moving block"``.
    seed:
        Seed of the bootstrap; the same seed gives the same p-values.
    """
    m, b = _spa_inputs(trial_returns, benchmark)
    excess = m - b[:, None]
    means = excess.mean(axis=0)
    best = int(np.argmax(means))
    if block_size is None:
        column = "stationary" if bootstrap == "stationary" else "circular"
        opt = float(optimal_block_length(excess[:, best])[column].iloc[0])
        block_size = max(1, math.ceil(opt)) if math.isfinite(opt) else 1
    spa = SPA(-b, -m, block_size=block_size, reps=reps, bootstrap=bootstrap, seed=seed)
    spa.compute()
    p = spa.pvalues
    return SPAResult(
        p_lower=float(p["lower"]),
        p_consistent=float(p["consistent"]),
        p_upper=float(p["upper"]),
        p_reality_check=float(p["upper"]),
        best_trial=best,
        best_mean_excess=float(means[best]),
        n_trials=int(m.shape[1]),
        n_bars=int(m.shape[0]),
        reps=reps,
        block_size=int(block_size),
        bootstrap=bootstrap,
        seed=seed,
    )
