"""Regimes: causal labels (truncation never changes the past), the filtered HMM probabilities
against hmmlearn, recovery of planted regimes, and performance split by regime."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hmmlearn.hmm import GaussianHMM

from alphaforge.analytics import returns_metrics as rm
from alphaforge.core.errors import ConfigError, DataError
from alphaforge.validation.regimes import (
    WARMUP,
    HmmParams,
    align_labels,
    filtered_probabilities,
    hmm_regimes,
    performance_by_regime,
    rule_regimes,
    trend_regimes,
    volatility_regimes,
)


def _close(returns: np.ndarray, start: str = "2020-01-01") -> pd.Series:
    idx = pd.date_range(start, periods=len(returns) + 1, freq="D", tz="UTC")
    return pd.Series(100.0 * np.exp(np.r_[0.0, np.cumsum(returns)]), index=idx)


def _segments(seed: int = 7) -> pd.Series:
    """Calm up-trending, volatile down-trending, calm up-trending again (300 bars each)."""
    rng = np.random.default_rng(seed)
    calm = lambda: rng.normal(0.0008, 0.006, 300)  # noqa: E731
    return _close(np.r_[calm(), rng.normal(-0.0015, 0.025, 300), calm()])


# ---- rule regimes -------------------------------------------------------------------------------
def test_trend_rule_by_hand() -> None:
    close = pd.Series([1.0, 2, 3, 4, 5, 4, 3, 2, 1])
    got = trend_regimes(close, window=3, slope_window=1).tolist()
    # ma from bar 2: 2, 3, 4, 13/3, 4, 3, 2; slope from bar 3
    assert got == [WARMUP] * 3 + ["bull", "bull", "sideways", "bear", "bear", "bear"]


def test_volatility_rule_by_hand() -> None:
    close = _close(np.array([0.01, 0.01, 0.05, -0.05, 0.0, 0.0]))
    got = volatility_regimes(close, window=2, min_history=1).tolist()
    # vol from bar 2: 0, .0283, .0707, .0354, 0; expanding medians 0, .0141, .0283, .0318, .0283
    assert got == [WARMUP, WARMUP, "low_vol", "high_vol", "high_vol", "high_vol", "low_vol"]


def test_rule_labels_do_not_change_when_bars_are_appended() -> None:
    close = _segments()
    full = rule_regimes(close, window=50, slope_window=10, vol_window=10, vol_min_history=30)
    for t in (60, 200, 301, 450, 777):
        part = rule_regimes(
            close.iloc[: t + 1], window=50, slope_window=10, vol_window=10, vol_min_history=30
        )
        for name in ("trend", "volatility", "combined"):
            pd.testing.assert_series_equal(
                getattr(part, name), getattr(full, name).iloc[: t + 1], check_names=False
            )


def test_combined_is_warmup_while_either_rule_is() -> None:
    close = _segments()
    r = rule_regimes(close, window=50, slope_window=10, vol_window=10, vol_min_history=100)
    warm = (r.trend == WARMUP) | (r.volatility == WARMUP)
    assert (r.combined[warm] == WARMUP).all()
    assert (r.combined[~warm] == r.trend[~warm] + "/" + r.volatility[~warm]).all()
    assert warm.sum() == 100 + 10 - 1  # the volatility median needs 100 values of vol


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(DataError, match="positive and finite"):
        trend_regimes(pd.Series([1.0, np.nan, 2.0]), window=2)
    with pytest.raises(ConfigError, match="window"):
        trend_regimes(pd.Series([1.0, 2.0]), window=0)


# ---- HMM ----------------------------------------------------------------------------------------
def test_filtered_probabilities_equal_smoothing_on_each_prefix() -> None:
    rng = np.random.default_rng(3)
    x = np.r_[rng.normal(0.1, 0.5, 150), rng.normal(-0.2, 2.0, 150)].reshape(-1, 1)
    model = GaussianHMM(2, covariance_type="diag", n_iter=20, random_state=1).fit(x)
    got = filtered_probabilities(
        x[:, 0], model.startprob_, model.transmat_, model.means_[:, 0], model.covars_[:, 0, 0]
    )
    for t in (0, 1, 17, 149, 150, 151, 299):
        np.testing.assert_allclose(got[t], model.predict_proba(x[: t + 1])[-1], atol=1e-10)
    np.testing.assert_allclose(got.sum(axis=1), 1.0)


def _model(params: HmmParams) -> GaussianHMM:
    m = GaussianHMM(2, covariance_type="diag")
    m.startprob_ = params.startprob
    m.transmat_ = params.transmat
    m.means_ = params.means.reshape(-1, 1)
    m.covars_ = params.variances.reshape(-1, 1)
    return m


def test_hmm_probability_of_a_bar_uses_the_returns_up_to_that_bar() -> None:
    close = _segments()
    res = hmm_regimes(close, min_train=400, refit_every=None)
    assert res.fit_bars == (400,)
    x = 100.0 * np.diff(np.log(close.to_numpy())).reshape(-1, 1)  # x[i]: return of bar i + 1
    model = _model(res.models[0])
    for t in (400, 401, 650, 900):
        expected = model.predict_proba(x[:t])[-1]
        np.testing.assert_allclose(res.probabilities.iloc[t].to_numpy(), expected, atol=1e-10)
    assert (res.labels.iloc[:400] == WARMUP).all()
    assert res.probabilities.iloc[:400].isna().all().all()


def test_hmm_labels_do_not_change_when_bars_are_appended() -> None:
    close = _segments()
    kw = {"min_train": 150, "refit_every": 100, "random_state": 5}
    full = hmm_regimes(close, **kw)  # type: ignore[arg-type]
    assert full.fit_bars == (150, 250, 350, 450, 550, 650, 750, 850)
    for t in (420, 613):
        part = hmm_regimes(close.iloc[: t + 1], **kw)  # type: ignore[arg-type]
        pd.testing.assert_series_equal(part.labels, full.labels.iloc[: t + 1])
        pd.testing.assert_frame_equal(part.probabilities, full.probabilities.iloc[: t + 1])


def test_hmm_recovers_planted_regimes_and_is_reproducible() -> None:
    close = _segments()
    res = hmm_regimes(close, min_train=100, refit_every=100, random_state=0)
    assert res.states == ("calm", "stressed")
    assert res.models[-1].variances[0] < res.models[-1].variances[1]
    # once a model has seen both regimes (the fit at bar 400 onwards) they are told apart
    assert (res.labels.iloc[320:601] == "stressed").mean() > 0.9
    assert (res.labels.iloc[620:] == "calm").mean() > 0.9
    again = hmm_regimes(close, min_train=100, refit_every=100, random_state=0)
    pd.testing.assert_frame_equal(res.probabilities, again.probabilities)


def test_hmm_ordered_by_mean() -> None:
    close = _segments()
    res = hmm_regimes(close, min_train=700, refit_every=None, order_by="mean")
    assert res.states == ("bull", "bear")
    assert res.models[0].means[0] > res.models[0].means[1]


# ---- performance by regime ----------------------------------------------------------------------
def test_performance_by_regime_by_hand() -> None:
    idx = pd.date_range("2024-01-01", periods=5, freq="D", tz="UTC")
    labels = pd.Series(["a", "a", "b", "a", "b"], index=idx)
    rets = pd.Series([0.1, -0.05, 0.02, 0.03], index=idx[1:])
    bench = pd.Series([0.01, 0.02, 0.03, 0.04], index=idx[1:])
    table = performance_by_regime(rets, labels, 252.0, bench)
    # the return of bar t + 1 takes the label of bar t: a -> .1, -.05, .03 ; b -> .02
    assert table.index.tolist() == ["a", "b"]
    assert table["bars"].tolist() == [3, 1]
    assert table["share"].tolist() == [0.75, 0.25]
    a = table.loc["a"]
    assert a["total_return"] == pytest.approx(1.1 * 0.95 * 1.03 - 1)
    assert a["max_drawdown"] == pytest.approx(1.045 / 1.1 - 1)
    mean = (0.1 - 0.05 + 0.03) / 3
    std = math.sqrt(sum((r - mean) ** 2 for r in (0.1, -0.05, 0.03)) / 2)
    assert a["sharpe"] == pytest.approx(mean / std * math.sqrt(252))
    assert a["annual_return"] == pytest.approx((1.1 * 0.95 * 1.03) ** (252 / 3) - 1)
    assert a["benchmark_return"] == pytest.approx(1.01 * 1.02 * 1.04 - 1)
    assert table.loc["b", "total_return"] == pytest.approx(0.02)
    assert table["sharpe"].isna().tolist() == [False, True]  # one bar: no standard deviation


def test_performance_by_regime_adds_up_to_the_whole_run() -> None:
    close = _segments()
    labels = rule_regimes(close, window=50, slope_window=10).combined
    rng = np.random.default_rng(11)
    rets = pd.Series(rng.normal(0.0004, 0.01, len(close) - 1), index=close.index[1:])
    table = performance_by_regime(rets, labels, 252.0)
    assert table["bars"].sum() == len(rets)
    assert table["share"].sum() == pytest.approx(1.0)
    assert np.prod(1.0 + table["total_return"]) == pytest.approx(
        1.0 + rm.total_return(rets.to_numpy())
    )
    assert table.index[-1] == WARMUP
    # warm-up: the trend's first 50 + 10 - 1 bars, the volatility rule's first 20 + 60 - 1
    # (defaults); the returns of bars 1 .. 79 take the labels of bars 0 .. 78
    assert table.loc[WARMUP, "bars"] == max(50 + 10 - 1, 20 + 60 - 1)


def test_align_labels_lag_and_missing_bars() -> None:
    idx = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
    labels = pd.Series(["x", "y", "z"], index=idx)
    assert align_labels(labels, idx, lag=0).tolist() == ["x", "y", "z"]
    assert align_labels(labels, idx).tolist() == [WARMUP, "x", "y"]
    with pytest.raises(DataError, match="no labelled bar"):
        align_labels(labels, idx.shift(1, freq="D"))
