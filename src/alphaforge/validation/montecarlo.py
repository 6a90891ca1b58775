"""How lucky was the path? Monte Carlo of trades and bootstraps of bar returns.

Four ways to simulate other equity paths the same strategy could have had, each seeded
(``numpy.random.default_rng(seed)``: the same seed gives the same result):

* ``reshuffle``: the trades in a random order (permutation). Total return is order-invariant
  (a product of ``1 + r``, or a sum of P&L), the drawdowns are not.
* ``resample``: trades drawn with replacement (the iid bootstrap of trades).
* ``block``: bar returns in circular blocks of a fixed length (Politis & Romano 1992), which
  keeps the autocorrelation inside each block.
* ``stationary``: bar returns in circular blocks of geometric random length with a given mean
  (the stationary bootstrap of Politis & Romano 1994, J. of the American Statistical
  Association 89(428)); the resampled series is stationary.

For each path: total return, maximum drawdown (a negative fraction, the start counts as a
peak), annualised Sharpe ratio of the steps (sample std, ``ddof=1``, as
:func:`alphaforge.analytics.returns_metrics.sharpe_ratio`) and the longest drawdown in steps
(bars or trades below the running peak). Ruin is equity falling below ``(1 - ruin_loss)`` times
the start at any step.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from arch.bootstrap import optimal_block_length

__all__ = [
    "MetricDistribution",
    "MonteCarloResult",
    "PathMetrics",
    "block_bootstrap_indices",
    "bootstrap_returns",
    "path_metrics",
    "stationary_bootstrap_indices",
    "trade_monte_carlo",
]

TradeMethod = Literal["reshuffle", "resample"]
BarMethod = Literal["block", "stationary"]
_CELLS_PER_CHUNK = 2_000_000  # paths x steps simulated at once (about 16 MB per float array)
_METRICS = ("total_return", "max_drawdown", "sharpe", "longest_drawdown")


def _scalar(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields explicitly
class MetricDistribution:
    """The simulated distribution of one metric and where the observed path falls in it.

    ``ci_low`` / ``ci_high`` are the percentile interval at the run's confidence level;
    ``observed_percentile`` (0-100) is the share of simulated values below the observed one
    (ties count half). NaN samples (a flat path has no Sharpe ratio) are left out.
    """

    name: str
    observed: float
    mean: float
    median: float
    std: float
    ci_low: float
    ci_high: float
    observed_percentile: float
    samples: np.ndarray

    def to_dict(self) -> dict[str, object]:
        """Summary for JSON (not the samples), NaN as ``None``."""
        return {
            "name": self.name,
            **{
                k: _scalar(getattr(self, k))
                for k in ("observed", "mean", "median", "std", "ci_low", "ci_high")
            },
            "observed_percentile": _scalar(self.observed_percentile),
        }


def _distribution(
    name: str, samples: np.ndarray, observed: float, confidence: float
) -> MetricDistribution:
    valid = samples[np.isfinite(samples)]
    if valid.size == 0:
        nan = math.nan
        return MetricDistribution(name, observed, nan, nan, nan, nan, nan, nan, samples)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(valid, [tail, 1.0 - tail])
    pct = math.nan
    if math.isfinite(observed):
        below = np.count_nonzero(valid < observed) + 0.5 * np.count_nonzero(valid == observed)
        pct = 100.0 * below / valid.size
    std = float(valid.std(ddof=1)) if valid.size > 1 else math.nan
    return MetricDistribution(
        name,
        observed,
        float(valid.mean()),
        float(np.median(valid)),
        std,
        float(low),
        float(high),
        pct,
        samples,
    )


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields explicitly
class MonteCarloResult:
    """Simulated distributions of one Monte Carlo method, the observed path and ruin.

    ``n_steps`` is the number of trades or bars per path; ``block_length`` the (mean) block
    length of the bar bootstraps, ``None`` for the trade methods.
    """

    method: str
    n_sims: int
    n_steps: int
    seed: int
    confidence: float
    ruin_loss: float
    prob_ruin: float
    periods_per_year: float
    block_length: float | None
    total_return: MetricDistribution
    max_drawdown: MetricDistribution
    sharpe: MetricDistribution
    longest_drawdown: MetricDistribution

    @property
    def metrics(self) -> tuple[MetricDistribution, ...]:
        """The four distributions in a fixed order."""
        return tuple(getattr(self, name) for name in _METRICS)

    def to_dict(self) -> dict[str, object]:
        """Settings, ruin and the summary of each metric, for JSON."""
        out: dict[str, object] = {
            "method": self.method,
            "n_sims": self.n_sims,
            "n_steps": self.n_steps,
            "seed": self.seed,
            "confidence": self.confidence,
            "ruin_loss": self.ruin_loss,
            "prob_ruin": self.prob_ruin,
            "periods_per_year": self.periods_per_year,
            "block_length": self.block_length,
        }
        for dist in self.metrics:
            out[dist.name] = dist.to_dict()
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per metric: observed, mean, median, std, interval and observed percentile."""
        rows = {d.name: {k: v for k, v in d.to_dict().items() if k != "name"} for d in self.metrics}
        return pd.DataFrame.from_dict(rows, orient="index").astype(float)


# --------------------------------------------------------------------------- path metrics


@dataclass(frozen=True, eq=False)  # holds arrays: compare fields explicitly
class PathMetrics:
    """Metrics of a batch of paths, one value per path."""

    total_return: np.ndarray
    max_drawdown: np.ndarray
    sharpe: np.ndarray
    longest_drawdown: np.ndarray
    min_equity: np.ndarray  # lowest equity over the path relative to the start (start = 1)


def path_metrics(steps: np.ndarray, periods_per_year: float, additive: bool = False) -> PathMetrics:
    """Metrics of paths given their steps, ``(n_paths, n_steps)``.

    ``steps`` are simple returns (equity compounds), or with ``additive`` P&L as a fraction of
    the starting equity (equity is ``1 + cumsum``). The Sharpe ratio is that of the steps.
    """
    s = np.atleast_2d(np.asarray(steps, dtype=np.float64))
    wealth = 1.0 + np.cumsum(s, axis=1) if additive else np.cumprod(1.0 + s, axis=1)
    peak = np.maximum(np.maximum.accumulate(wealth, axis=1), 1.0)
    drawdown = wealth / peak - 1.0
    idx = np.arange(s.shape[1])
    last_high = np.maximum.accumulate(np.where(drawdown < 0.0, -1, idx), axis=1)
    mean = s.mean(axis=1)
    # equal steps have no spread even when rounding in the mean leaves a residue
    sd = s.std(axis=1, ddof=1) if s.shape[1] > 1 else np.full(s.shape[0], np.nan)
    sd = np.where(np.ptp(s, axis=1) == 0, 0.0, sd)
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.where(sd > 0, mean / sd, np.nan) * math.sqrt(periods_per_year)
    return PathMetrics(
        total_return=wealth[:, -1] - 1.0,
        max_drawdown=np.minimum(drawdown.min(axis=1), 0.0),
        sharpe=sharpe,
        longest_drawdown=(idx - last_high).max(axis=1).astype(np.float64),
        min_equity=np.minimum(wealth.min(axis=1), 1.0),
    )


# --------------------------------------------------------------------------- index generators


def stationary_bootstrap_indices(
    n: int, n_sims: int, mean_block: float, rng: np.random.Generator
) -> np.ndarray:
    """Indices of the stationary bootstrap, ``(n_sims, n)``, generated without a per-bar loop.

    Each position starts a new block with probability ``1 / mean_block`` (the first always
    does); a block starts at a uniform index and continues circularly (``i + 1 mod n``).
    """
    idx = np.arange(n)
    starts = rng.integers(0, n, size=(n_sims, n))
    new = rng.random((n_sims, n)) < 1.0 / mean_block
    new[:, 0] = True
    block_start = np.maximum.accumulate(np.where(new, idx, 0), axis=1)
    first = np.take_along_axis(starts, block_start, axis=1)
    return (first + (idx - block_start)) % n


def block_bootstrap_indices(
    n: int, n_sims: int, block: int, rng: np.random.Generator
) -> np.ndarray:
    """Indices of the circular block bootstrap with fixed block length, ``(n_sims, n)``."""
    idx = np.arange(n)
    starts = rng.integers(0, n, size=(n_sims, -(-n // block)))
    return (starts[:, idx // block] + idx % block) % n


# --------------------------------------------------------------------------- input checks


def _check_steps(values: np.ndarray, what: str, additive: bool) -> np.ndarray:
    x = np.asarray(values, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"{what}: expected a 1-D array, got shape {x.shape}")
    if x.size == 0:
        raise ValueError(f"{what}: empty, nothing to simulate")
    bad = int(np.count_nonzero(~np.isfinite(x)))
    if bad:
        raise ValueError(f"{what}: {bad} NaN or infinite values")
    if not additive and np.any(x <= -1.0):
        raise ValueError(f"{what}: a return of -100% or worse (equity cannot compound below 0)")
    return x


def _check_settings(n_sims: int, confidence: float, ruin_loss: float, ppy: float) -> None:
    if n_sims < 1:
        raise ValueError(f"n_sims: need at least 1 simulation, got {n_sims}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence: must be in (0, 1), got {confidence}")
    if not 0.0 < ruin_loss <= 1.0:
        raise ValueError(f"ruin_loss: must be in (0, 1], got {ruin_loss}")
    if not (math.isfinite(ppy) and ppy > 0):
        raise ValueError(f"periods_per_year: must be positive, got {ppy}")


# --------------------------------------------------------------------------- simulation


def _simulate(
    observed: np.ndarray,
    draw: Callable[[int], np.ndarray],
    n_sims: int,
    additive: bool,
    ppy: float,
    confidence: float,
    ruin_loss: float,
) -> tuple[dict[str, MetricDistribution], float]:
    """Simulate ``n_sims`` paths in chunks (``draw(k)`` returns ``(k, n)`` steps) and summarise
    their metrics; also the probability of ruin."""
    n = observed.size
    chunk = max(1, _CELLS_PER_CHUNK // n)
    parts: list[PathMetrics] = []
    for done in range(0, n_sims, chunk):
        parts.append(path_metrics(draw(min(chunk, n_sims - done)), ppy, additive))
    obs = path_metrics(observed[None, :], ppy, additive)
    dists = {
        name: _distribution(
            name,
            np.concatenate([getattr(p, name) for p in parts]),
            float(getattr(obs, name)[0]),
            confidence,
        )
        for name in _METRICS
    }
    min_equity = np.concatenate([p.min_equity for p in parts])
    return dists, float(np.mean(min_equity < 1.0 - ruin_loss))


def _result(
    method: str,
    n_steps: int,
    seed: int,
    settings: tuple[int, float, float, float],
    prob_ruin: float,
    block_length: float | None,
    dists: dict[str, MetricDistribution],
) -> MonteCarloResult:
    n_sims, confidence, ruin_loss, ppy = settings
    return MonteCarloResult(
        method=method,
        n_sims=n_sims,
        n_steps=int(n_steps),
        seed=seed,
        confidence=confidence,
        ruin_loss=ruin_loss,
        prob_ruin=prob_ruin,
        periods_per_year=float(ppy),
        block_length=block_length,
        total_return=dists["total_return"],
        max_drawdown=dists["max_drawdown"],
        sharpe=dists["sharpe"],
        longest_drawdown=dists["longest_drawdown"],
    )


def trade_monte_carlo(
    trades: np.ndarray,
    periods_per_year: float,
    *,
    method: TradeMethod = "reshuffle",
    pnl: bool = False,
    start_equity: float = 1.0,
    n_sims: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
    ruin_loss: float = 0.5,
) -> MonteCarloResult:
    """Monte Carlo of a strategy's trades: reshuffled or resampled with replacement.

    Parameters
    ----------
    trades:
        Per-trade simple returns (equity compounds), or with ``pnl=True`` per-trade profit and
        loss in currency (equity is ``start_equity + cumsum``; it may go negative).
    periods_per_year:
        Trades per year, to annualise the Sharpe ratio of the trades.
    method:
        ``"reshuffle"`` (permutation: total return and the trades' Sharpe ratio are the same on
        every path, the drawdowns differ) or ``"resample"`` (draws with replacement).
    start_equity:
        Starting equity; used only with ``pnl=True``.
    n_sims, seed, confidence, ruin_loss:
        Paths to simulate, the generator's seed, the level of the percentile intervals, and the
        loss (0.5: half the starting equity) whose crossing counts as ruin.

    Raises
    ------
    ValueError
        No trades, NaN, a return of -100% or worse, a non-positive start equity, or a setting
        out of range.
    """
    x = _check_steps(trades, "trades", additive=pnl)
    _check_settings(n_sims, confidence, ruin_loss, periods_per_year)
    if method not in ("reshuffle", "resample"):
        raise ValueError(f"method: 'reshuffle' or 'resample', got {method!r}")
    if pnl:
        if not start_equity > 0:
            raise ValueError(f"start_equity: must be positive, got {start_equity}")
        x = x / start_equity
    rng = np.random.default_rng(seed)

    def draw(k: int) -> np.ndarray:
        if method == "reshuffle":
            return rng.permuted(np.broadcast_to(x, (k, x.size)), axis=1)
        return x[rng.integers(0, x.size, size=(k, x.size))]

    dists, ruin = _simulate(x, draw, n_sims, pnl, periods_per_year, confidence, ruin_loss)
    if method == "reshuffle":
        # order-invariant on every path: the observed value exactly, not its rounding variants
        for name in ("total_return", "sharpe"):
            obs = dists[name].observed
            dists[name] = _distribution(name, np.full(n_sims, obs), obs, confidence)
    return _result(
        method, x.size, seed, (n_sims, confidence, ruin_loss, periods_per_year), ruin, None, dists
    )


def _default_block_length(x: np.ndarray, method: BarMethod) -> float:
    """Politis & White (2004) optimal block length (Patton, Politis & White 2009 correction)."""
    if x.size < 3 or np.ptp(x) == 0:
        return 1.0
    opt = float(
        optimal_block_length(x)["stationary" if method == "stationary" else "circular"].iloc[0]
    )
    return min(max(opt, 1.0), float(x.size)) if math.isfinite(opt) else 1.0


def bootstrap_returns(
    returns: np.ndarray,
    periods_per_year: float,
    *,
    method: BarMethod = "stationary",
    block_length: float | None = None,
    n_sims: int = 10_000,
    seed: int = 0,
    confidence: float = 0.95,
    ruin_loss: float = 0.5,
) -> MonteCarloResult:
    """Block or stationary bootstrap of bar returns.

    Parameters
    ----------
    returns:
        Per-bar simple returns of the strategy (1-D, no NaN).
    periods_per_year:
        Bars per year, to annualise the Sharpe ratio.
    method:
        ``"stationary"`` (geometric blocks with mean ``block_length``) or ``"block"`` (circular
        blocks of ``ceil(block_length)`` bars, the length the result reports).
    block_length:
        (Mean) block length in bars, between 1 and the number of bars; default: Politis &
        White's optimal length for these returns (:func:`arch.bootstrap.optimal_block_length`).
    n_sims, seed, confidence, ruin_loss:
        As :func:`trade_monte_carlo`.

    Raises
    ------
    ValueError
        Empty returns, NaN, a return of -100% or worse, a block length out of range, or a
        setting out of range.
    """
    x = _check_steps(returns, "returns", additive=False)
    _check_settings(n_sims, confidence, ruin_loss, periods_per_year)
    if method not in ("block", "stationary"):
        raise ValueError(f"method: 'block' or 'stationary', got {method!r}")
    length = _default_block_length(x, method) if block_length is None else float(block_length)
    if not 1.0 <= length <= x.size:
        raise ValueError(f"block_length: must be between 1 and {x.size} bars, got {length}")
    if method == "block":
        length = float(math.ceil(length))  # whole bars
    rng = np.random.default_rng(seed)

    def draw(k: int) -> np.ndarray:
        if method == "stationary":
            return x[stationary_bootstrap_indices(x.size, k, length, rng)]
        return x[block_bootstrap_indices(x.size, k, int(length), rng)]

    dists, ruin = _simulate(x, draw, n_sims, False, periods_per_year, confidence, ruin_loss)
    return _result(
        method, x.size, seed, (n_sims, confidence, ruin_loss, periods_per_year), ruin, length, dists
    )
