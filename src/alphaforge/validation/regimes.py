"""Market regimes, computed causally, and a strategy's performance split by regime.

Two ways to label the bars of a benchmark:

* **Rules** (:func:`trend_regimes`, :func:`volatility_regimes`, :func:`rule_regimes`): a trend
  rule (close against its trailing moving average and the average's slope: ``bull``, ``bear``,
  ``sideways``) and a volatility rule (trailing realised volatility against the expanding
  median of its own history: ``high_vol``, ``low_vol``).
* **A Gaussian HMM** (:func:`hmm_regimes`) on the benchmark's log returns, fitted on the bars
  known so far only (once on a training stretch, or again on an expanding window every
  ``refit_every`` bars). The state of a bar is the most likely one under the *filtered*
  probabilities ``P(s_t | r_1 .. r_t)`` (:func:`filtered_probabilities`, a scaled forward
  recursion). hmmlearn's own ``predict`` (Viterbi) and ``predict_proba`` (forward-backward
  smoothing) use the whole sequence and would let later bars decide earlier labels.

Alignment
---------
Every label at bar ``t`` uses the closes up to and including ``t`` only: it is known at the
close of ``t``, so it classifies the return from the close of ``t`` to the close of ``t + 1``,
which a return series indexes at ``t + 1``. :func:`align_labels` (used by
:func:`performance_by_regime`, ``lag=1``) applies exactly this shift. Bars without enough
history carry the label :data:`WARMUP`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from alphaforge.analytics import returns_metrics as rm
from alphaforge.core.errors import ConfigError, DataError

__all__ = [
    "TREND_LABELS",
    "VOL_LABELS",
    "WARMUP",
    "HmmParams",
    "HmmRegimes",
    "RuleRegimes",
    "align_labels",
    "filtered_probabilities",
    "hmm_regimes",
    "performance_by_regime",
    "rule_regimes",
    "trend_regimes",
    "volatility_regimes",
]

WARMUP = "warmup"
TREND_LABELS: tuple[str, ...] = ("bull", "bear", "sideways")
VOL_LABELS: tuple[str, ...] = ("low_vol", "high_vol")
_HMM_SCALE = 100.0  # the HMM sees log returns in percent (variances far above its floor)

OrderBy = Literal["volatility", "mean"]


def _checked_close(close: pd.Series) -> pd.Series:
    """``close`` as float64; positive and finite everywhere, else a :class:`DataError`."""
    c = pd.Series(close, dtype=np.float64)
    bad = ~(np.isfinite(c.to_numpy()) & (c.to_numpy() > 0))
    if bad.any():
        where = c.index[int(np.argmax(bad))]
        raise DataError(f"regimes: close must be positive and finite (bar {where}: {c[where]!r})")
    return c


def _positive_int(value: int, name: str, low: int = 1) -> None:
    if int(value) != value or value < low:
        raise ConfigError(f"regimes: {name}: must be an integer >= {low} (got {value!r})")


# ---- rule regimes ---------------------------------------------------------------------------
def trend_regimes(
    close: pd.Series, window: int = 200, slope_window: int = 20, band: float = 0.0
) -> pd.Series:
    """Trend label of each bar from the trailing moving average of the close.

    ``ma[t]`` is the mean of the last ``window`` closes up to ``t``; its slope is
    ``ma[t] / ma[t - slope_window] - 1``. A bar is ``bull`` when ``close > ma * (1 + band)``
    and the slope is positive, ``bear`` when ``close < ma * (1 - band)`` and the slope is
    negative, ``sideways`` otherwise, and :data:`WARMUP` for the first
    ``window + slope_window - 1`` bars.

    Parameters
    ----------
    close
        Benchmark closes on the bar index (positive, no gaps).
    window, slope_window
        Lengths of the moving average and of the slope's look-back, in bars.
    band
        Dead band around the average as a fraction of it (0.02 = 2 %).

    Returns
    -------
    pandas.Series
        Labels (str) on ``close``'s index, known at each bar's close.
    """
    _positive_int(window, "window")
    _positive_int(slope_window, "slope_window")
    if not (math.isfinite(band) and 0.0 <= band < 1.0):
        raise ConfigError(f"regimes: band: must be in [0, 1) (got {band!r})")
    c = _checked_close(close)
    ma = c.rolling(window, min_periods=window).mean()
    slope = ma / ma.shift(slope_window) - 1.0
    up = (c > ma * (1.0 + band)) & (slope > 0)
    down = (c < ma * (1.0 - band)) & (slope < 0)
    labels = np.where(up, "bull", np.where(down, "bear", "sideways")).astype(object)
    labels[slope.isna().to_numpy()] = WARMUP
    return pd.Series(labels, index=c.index, name="trend")


def volatility_regimes(close: pd.Series, window: int = 20, min_history: int = 60) -> pd.Series:
    """Volatility label of each bar: trailing realised volatility against its own history.

    ``vol[t]`` is the sample standard deviation of the last ``window`` log returns up to ``t``;
    a bar is ``high_vol`` when ``vol[t]`` is above the median of ``vol`` over all bars up to
    and including ``t`` (an expanding median), else ``low_vol``. The median needs
    ``min_history`` values of ``vol``; earlier bars are :data:`WARMUP`.

    Returns
    -------
    pandas.Series
        Labels (str) on ``close``'s index, known at each bar's close.
    """
    _positive_int(window, "window", 2)
    _positive_int(min_history, "min_history")
    c = _checked_close(close)
    logret = np.log(c).diff()
    vol = logret.rolling(window, min_periods=window).std(ddof=1)
    median = vol.expanding(min_periods=min_history).median()
    labels = np.where(vol > median, "high_vol", "low_vol").astype(object)
    labels[median.isna().to_numpy()] = WARMUP
    return pd.Series(labels, index=c.index, name="volatility")


@dataclass(frozen=True)
class RuleRegimes:
    """Rule-based labels of each bar (known at its close).

    Attributes
    ----------
    trend
        ``bull`` / ``bear`` / ``sideways`` / :data:`WARMUP` (:func:`trend_regimes`).
    volatility
        ``low_vol`` / ``high_vol`` / :data:`WARMUP` (:func:`volatility_regimes`).
    combined
        ``"<trend>/<volatility>"`` (``bull/low_vol`` ...); :data:`WARMUP` while either is.
    """

    trend: pd.Series
    volatility: pd.Series
    combined: pd.Series


def rule_regimes(
    close: pd.Series,
    *,
    window: int = 200,
    slope_window: int = 20,
    band: float = 0.0,
    vol_window: int = 20,
    vol_min_history: int = 60,
) -> RuleRegimes:
    """Trend and volatility labels of ``close`` and their combination (see :class:`RuleRegimes`)."""
    trend = trend_regimes(close, window, slope_window, band)
    vol = volatility_regimes(close, vol_window, vol_min_history)
    warm = (trend == WARMUP) | (vol == WARMUP)
    combined = (trend + "/" + vol).where(~warm, WARMUP).rename("regime")
    return RuleRegimes(trend=trend, volatility=vol, combined=combined)


# ---- hidden Markov model --------------------------------------------------------------------
def filtered_probabilities(
    x: np.ndarray,
    startprob: np.ndarray,
    transmat: np.ndarray,
    means: np.ndarray,
    variances: np.ndarray,
) -> np.ndarray:
    """Filtered state probabilities ``P(s_t | x_0 .. x_t)`` of a 1-D Gaussian HMM.

    The scaled forward recursion: ``a_0 = startprob * b(x_0)``,
    ``a_t = (a_{t-1} @ transmat) * b(x_t)``, each normalised to sum to one; the emission
    densities ``b`` are computed in log space and shifted by their maximum before
    exponentiating, so no bar underflows. Row ``t`` depends on ``x[: t + 1]`` only.

    Parameters
    ----------
    x
        Observations, shape ``(T,)``.
    startprob, transmat
        Initial distribution ``(K,)`` and transition matrix ``(K, K)`` (rows sum to one).
    means, variances
        Emission mean and variance of each state, shape ``(K,)``.

    Returns
    -------
    numpy.ndarray
        ``(T, K)``; each row sums to one.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    mu = np.asarray(means, dtype=np.float64).reshape(-1)
    var = np.asarray(variances, dtype=np.float64).reshape(-1)
    trans = np.asarray(transmat, dtype=np.float64)
    log_b = -0.5 * (np.log(2.0 * np.pi * var)[None, :] + (x[:, None] - mu[None, :]) ** 2 / var)
    b = np.exp(log_b - log_b.max(axis=1, keepdims=True))
    out = np.empty_like(b)
    prior = np.asarray(startprob, dtype=np.float64)
    for t in range(x.size):
        a = prior * b[t]
        total = a.sum()
        out[t] = a / total if total > 0 else np.full(mu.size, 1.0 / mu.size)
        prior = out[t] @ trans
    return out


def _state_names(n_states: int, order_by: OrderBy) -> tuple[str, ...]:
    if order_by == "volatility":
        named = {2: ("calm", "stressed"), 3: ("calm", "normal", "stressed")}
    else:
        named = {2: ("bull", "bear"), 3: ("bull", "neutral", "bear")}
    return named.get(n_states, tuple(f"state{i}" for i in range(n_states)))


@dataclass(frozen=True)
class HmmParams:
    """One fitted model's parameters, its states in label order (log returns in percent).

    Attributes
    ----------
    startprob, transmat
        Initial state distribution ``(K,)`` and transition matrix ``(K, K)``.
    means, variances
        Emission mean and variance of each state ``(K,)``.
    """

    startprob: np.ndarray
    transmat: np.ndarray
    means: np.ndarray
    variances: np.ndarray


def _initial(x: np.ndarray, n_states: int) -> tuple[np.ndarray, np.ndarray]:
    """Starting means (spread quantiles of ``x``, shrunk towards its mean) and variances
    (its variance times factors from 1/4 to 4) of the EM fit, shapes ``(K, 1)``."""
    centre, var = float(x.mean()), max(float(x.var()), 1e-6)
    q = np.quantile(x, (np.arange(n_states) + 0.5) / n_states)
    means = centre + 0.25 * (q - centre)
    variances = var * np.geomspace(0.25, 4.0, n_states)
    return means.reshape(-1, 1), variances.reshape(-1, 1)


def _fit(
    x: np.ndarray, n_states: int, order_by: OrderBy, random_state: int, n_iter: int
) -> HmmParams:
    """Fit a GaussianHMM on ``x`` and reorder its states: by rising variance (``volatility``) or
    falling mean (``mean``), so state 0 is always the calm / bullish one."""
    from hmmlearn.hmm import GaussianHMM

    model = GaussianHMM(
        n_components=n_states,
        covariance_type="diag",
        n_iter=n_iter,
        random_state=random_state,
        min_covar=1e-6,
        init_params="st",  # means and variances start from _initial (no k-means, no threads)
    )
    model.means_, model.covars_ = _initial(x, n_states)
    model.fit(x.reshape(-1, 1))
    means = np.asarray(model.means_, dtype=np.float64)[:, 0]
    variances = np.asarray(model.covars_, dtype=np.float64)[:, 0, 0]
    order = np.argsort(variances, kind="stable") if order_by == "volatility" else np.argsort(-means)
    trans = np.asarray(model.transmat_, dtype=np.float64)
    return HmmParams(
        startprob=np.asarray(model.startprob_, dtype=np.float64)[order],
        transmat=trans[np.ix_(order, order)],
        means=means[order],
        variances=variances[order],
    )


@dataclass(frozen=True)
class HmmRegimes:
    """Causal HMM regimes of a benchmark.

    Attributes
    ----------
    labels
        State name of each bar (the most likely filtered state), :data:`WARMUP` before the
        first fit; known at the bar's close.
    probabilities
        Filtered ``P(state | returns up to the bar)``, one column per state name; NaN rows
        before the first fit.
    states
        State names in model order (calm / low-variance or bullish first).
    fit_bars
        Bar positions at which a model was fitted, each on the returns up to and including
        that bar; it labels the bars from there up to the next fit.
    models
        The model fitted at each of ``fit_bars``.
    """

    labels: pd.Series
    probabilities: pd.DataFrame
    states: tuple[str, ...]
    fit_bars: tuple[int, ...]
    models: tuple[HmmParams, ...]


def _fit_schedule(n_bars: int, min_train: int, refit_every: int | None) -> list[int]:
    """Bar positions of the fits: ``min_train`` and then every ``refit_every`` bars."""
    if min_train >= n_bars:
        return []
    step = refit_every or n_bars
    return list(range(min_train, n_bars, step))


def hmm_regimes(
    close: pd.Series,
    n_states: int = 2,
    *,
    min_train: int = 252,
    refit_every: int | None = 63,
    order_by: OrderBy = "volatility",
    random_state: int = 0,
    n_iter: int = 100,
) -> HmmRegimes:
    """Label each bar with a Gaussian HMM fitted on the log returns known at that bar.

    A model is fitted at bar ``min_train`` on the returns of bars ``1 .. min_train`` and, when
    ``refit_every`` is given, again every ``refit_every`` bars on all returns so far (an
    expanding window); ``refit_every=None`` fits once and applies that model forward. The bars
    from one fit up to the next get the filtered probabilities of that fit's model
    (:func:`filtered_probabilities` over the returns from the first bar), so a label never
    depends on a later bar: appending bars leaves every earlier label unchanged.

    Parameters
    ----------
    close
        Benchmark closes on the bar index (positive, no gaps).
    n_states
        Hidden states (2: ``calm`` / ``stressed``; 3 adds ``normal``; with ``order_by="mean"``
        the names are ``bull`` / (``neutral``) / ``bear``).
    min_train
        Bars before the first fit (:data:`WARMUP` until then).
    refit_every
        Bars between refits; None for a single fit.
    order_by
        Order the states by variance (``volatility``, the more stable choice) or by mean.
    random_state, n_iter
        hmmlearn's seed and EM iterations: the same inputs give the same labels.
    """
    _positive_int(n_states, "n_states", 2)
    _positive_int(min_train, "min_train", max(10, 2 * n_states))
    if refit_every is not None:
        _positive_int(refit_every, "refit_every")
    if order_by not in ("volatility", "mean"):
        raise ConfigError(f"regimes: order_by: must be volatility or mean (got {order_by!r})")
    c = _checked_close(close)
    x = np.diff(np.log(c.to_numpy())) * _HMM_SCALE  # x[i] is the return of bar i + 1
    names = _state_names(n_states, order_by)
    probs = np.full((len(c), n_states), np.nan)
    fits = _fit_schedule(len(c), min_train, refit_every)
    models: list[HmmParams] = []
    for k, bar in enumerate(fits):
        fitted = _fit(x[:bar], n_states, order_by, random_state, n_iter)
        stop = fits[k + 1] if k + 1 < len(fits) else len(c)
        p = filtered_probabilities(
            x[: stop - 1], fitted.startprob, fitted.transmat, fitted.means, fitted.variances
        )
        probs[bar:stop] = p[bar - 1 : stop - 1]
        models.append(fitted)
    labels = np.full(len(c), WARMUP, dtype=object)
    known = ~np.isnan(probs[:, 0])
    labels[known] = np.asarray(names, dtype=object)[np.argmax(probs[known], axis=1)]
    return HmmRegimes(
        labels=pd.Series(labels, index=c.index, name="hmm"),
        probabilities=pd.DataFrame(probs, index=c.index, columns=list(names)),
        states=names,
        fit_bars=tuple(fits),
        models=tuple(models),
    )


# ---- performance by regime ------------------------------------------------------------------
def align_labels(labels: pd.Series, index: pd.Index, lag: int = 1) -> pd.Series:
    """The label of each return of ``index``: the label ``lag`` bars earlier on ``labels``'s
    bar index (``lag=1``: the return from ``t`` to ``t + 1`` gets the label known at ``t``).

    Every timestamp of ``index`` must be a bar of ``labels``; returns with no label ``lag``
    bars back get :data:`WARMUP`.
    """
    if lag < 0 or int(lag) != lag:
        raise ConfigError(f"regimes: lag: must be an integer >= 0 (got {lag!r})")
    missing = index.difference(labels.index)
    if len(missing):
        raise DataError(
            f"regimes: {len(missing)} return(s) fall on no labelled bar (first: {missing[0]})"
        )
    shifted = labels.astype(object).shift(lag).reindex(index)
    return shifted.where(shifted.notna(), WARMUP).rename("regime")


def _order(found: Sequence[Any]) -> list[Any]:
    """Labels in order of first appearance, :data:`WARMUP` last."""
    seen = list(dict.fromkeys(found))
    return [lab for lab in seen if lab != WARMUP] + [lab for lab in seen if lab == WARMUP]


def _row(r: np.ndarray, ppy: float) -> dict[str, float]:
    return {
        "total_return": rm.total_return(r),
        "annual_return": rm.cagr(r, ppy),
        "annual_volatility": rm.annual_volatility(r, ppy),
        "sharpe": rm.sharpe_ratio(r, ppy),
        "max_drawdown": rm.max_drawdown(r),
    }


def performance_by_regime(
    strategy_returns: pd.Series,
    labels: pd.Series,
    periods_per_year: float,
    benchmark_returns: pd.Series | None = None,
    lag: int = 1,
) -> pd.DataFrame:
    """A strategy's performance on the bars of each regime.

    Parameters
    ----------
    strategy_returns
        Simple per-bar returns; the return indexed at ``t`` runs from the close of ``t - 1``
        to the close of ``t`` (``equity.pct_change().dropna()``).
    labels
        Regime labels on the bar index, each known at its bar's close (what the functions of
        this module return); aligned with :func:`align_labels` and ``lag``.
    periods_per_year
        Bars per year for the annualised columns.
    benchmark_returns
        Optional benchmark returns on the same index; adds ``benchmark_return``, the
        benchmark's compounded return over the same bars.

    Returns
    -------
    pandas.DataFrame
        One row per regime (index ``regime``): ``bars``, ``share`` (of all returns),
        ``total_return`` (compounded over the regime's bars, as if only they were held, so
        the products of ``1 + total_return`` over the rows give the whole run's),
        ``annual_return`` (CAGR over those bars), ``annual_volatility``, ``sharpe`` and
        ``max_drawdown`` (negative fraction, of the regime's bars joined end to end); the
        definitions are those of :mod:`alphaforge.analytics.returns_metrics`.
    """
    if not periods_per_year > 0:
        raise ConfigError(f"regimes: periods_per_year: must be > 0 (got {periods_per_year!r})")
    rets = pd.Series(strategy_returns, dtype=np.float64)
    if rets.isna().any():
        raise DataError("regimes: strategy returns contain NaN (drop the first bar's)")
    regime = align_labels(labels, rets.index, lag)
    bench = None
    if benchmark_returns is not None:
        bench = pd.Series(benchmark_returns, dtype=np.float64).reindex(rets.index)
    rows = {}
    for lab in _order(regime.tolist()):
        mask = (regime == lab).to_numpy()
        row: dict[str, float] = {"bars": int(mask.sum()), "share": mask.mean()}
        row.update(_row(rets.to_numpy()[mask], periods_per_year))
        if bench is not None:
            b = bench.to_numpy()[mask]
            row["benchmark_return"] = rm.total_return(b[~np.isnan(b)])
        rows[lab] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "regime"
    if len(table):
        table["bars"] = table["bars"].astype(np.int64)
    return table
