"""Models, training and out-of-sample scores: chance on noise, found when planted."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from alphaforge.core.errors import ConfigError
from alphaforge.ml.cv import Schedule
from alphaforge.ml.dataset import Dataset
from alphaforge.ml.models import ModelSpec, class_weights, fit, scores
from alphaforge.ml.train import CVSpec, TrainResult, importance_stability, top_share, train

N_BARS, N_SYM, N_FEAT = 600, 4, 5


def _dataset(signal: float, seed: int) -> Dataset:
    """One row per (bar, symbol); y depends on feature 0 with strength ``signal``."""
    rng = np.random.default_rng(seed)
    t0 = np.repeat(np.arange(N_BARS), N_SYM)
    x = rng.normal(size=(len(t0), N_FEAT))
    y = (signal * x[:, 0] + rng.normal(size=len(t0)) > 0).astype(np.int64)
    return Dataset(x=x, y=y, t0=t0, t1=t0 + 1, symbol=np.tile(np.arange(N_SYM), N_BARS),
                   weight=np.ones(len(t0)), returns=np.zeros(len(t0)),
                   names=tuple(f"f{i}" for i in range(N_FEAT)))  # fmt: skip


def _oos_auc(result: TrainResult, data: Dataset) -> tuple[float, int, int]:
    ok = np.isfinite(result.oos_proba)
    y = data.y[ok]
    return float(roc_auc_score(y, result.oos_proba[ok])), int(y.sum()), int((1 - y).sum())


SCHEDULE = Schedule(every=100, train_bars=200, start=200)


@pytest.mark.parametrize("kind", ["logistic", "lightgbm", "xgboost"])
def test_noise_auc_stays_within_chance_bounds(kind: str) -> None:
    data = _dataset(0.0, seed=11)
    res = train(ModelSpec(kind=kind, params={"n_estimators": 50} if kind != "logistic" else {}),
                data, SCHEDULE, N_BARS)  # fmt: skip
    auc, n1, n0 = _oos_auc(res, data)
    # AUC of a classifier with no information: the Mann-Whitney U / (n1 n0) under the null has
    # standard deviation sqrt((n1 + n0 + 1) / (12 n1 n0)); 4 of them is the band
    band = 4 * math.sqrt((n1 + n0 + 1) / (12 * n1 * n0))
    assert abs(auc - 0.5) < band, (auc, band)


@pytest.mark.parametrize("kind", ["logistic", "lightgbm", "xgboost"])
def test_planted_signal_is_found_out_of_sample(kind: str) -> None:
    data = _dataset(0.7, seed=12)
    res = train(ModelSpec(kind=kind, params={"n_estimators": 50} if kind != "logistic" else {}),
                data, SCHEDULE, N_BARS, CVSpec(folds=3, embargo=0.01, min_samples=50))  # fmt: skip
    auc, _, _ = _oos_auc(res, data)
    assert auc > 0.62
    assert all(s.auc > 0.6 for s in res.walk_forward + res.cv)
    assert int(np.argmax(res.importance.mean(axis=0))) == 0  # the planted feature leads
    assert top_share(res.importance, 1)[0] == 1.0
    assert importance_stability(res.importance, 1) == 1.0


def test_walk_forward_predicts_only_after_each_refit() -> None:
    data = _dataset(0.7, seed=13)
    res = train(ModelSpec(), data, SCHEDULE, N_BARS)
    assert np.isnan(res.oos_proba[data.t0 < 200]).all()
    assert np.isfinite(res.oos_proba[data.t0 >= 200]).all()
    assert [m.valid_from for m in res.models] == [200, 300, 400, 500, N_BARS - 1]


def test_scores_match_their_definitions() -> None:
    y = np.array([0, 0, 1, 1, 1])
    p = np.array([0.2, 0.6, 0.7, 0.4, 0.9])
    s = scores(y, p)
    assert s.accuracy == pytest.approx(3 / 5)
    assert s.auc == pytest.approx(5 / 6)  # 5 of the 6 (pos, neg) pairs are ordered right
    assert s.log_loss == pytest.approx(-np.mean(np.log([0.8, 0.4, 0.7, 0.4, 0.9])))


def test_class_weights_and_stability_by_hand() -> None:
    np.testing.assert_allclose(class_weights(np.array([0, 0, 0, 1])), [4 / 6, 4 / 6, 4 / 6, 2.0])
    imp = np.array([[3.0, 2.0, 1.0, 0.0], [3.0, 1.0, 2.0, 0.0]])
    assert importance_stability(imp, 2) == 0.5  # feature 0 stays in the top 2; 1 and 2 swap
    np.testing.assert_allclose(top_share(imp, 2), [1.0, 0.5, 0.5, 0.0])


def test_one_class_and_unknown_model_are_refused() -> None:
    with pytest.raises(ConfigError, match="one class"):
        fit(ModelSpec(), np.zeros((10, 2)), np.zeros(10))
    with pytest.raises(ConfigError, match="unknown model 'svm'"):
        fit(ModelSpec(kind="svm"), np.zeros((10, 2)), np.r_[np.zeros(5), np.ones(5)])


def test_calibrated_and_balanced_models_fit() -> None:
    data = _dataset(0.7, seed=14)
    for kind in ("logistic", "lightgbm"):
        m = fit(ModelSpec(kind=kind, calibrate=True, class_weight="balanced",
                          params={} if kind == "logistic" else {"n_estimators": 30}),
                data.x[:1200], data.y[:1200])  # fmt: skip
        p = m.predict_proba(data.x[1200:])
        assert roc_auc_score(data.y[1200:], p) > 0.6
        assert m.importance().shape == (N_FEAT,)


def test_balanced_class_weights_move_the_logistic_fit_to_even_odds() -> None:
    """A logistic regression with an intercept satisfies its score equation: the weighted mean
    of the fitted probabilities equals the weighted mean of the labels. Unweighted that is the
    base rate (about 0.16 here); with balanced weights it is 0.5 (the L2 penalty on the slopes
    leaves the intercept's equation exact up to the solver tolerance)."""
    rng = np.random.default_rng(21)
    x = rng.normal(size=(4000, 3))
    y = (0.5 * x[:, 0] + rng.normal(size=4000) > 1.1).astype(np.int64)
    plain = fit(ModelSpec(), x, y).predict_proba(x)
    balanced = fit(ModelSpec(class_weight="balanced"), x, y).predict_proba(x)
    assert plain.mean() == pytest.approx(y.mean(), abs=2e-3)
    assert np.average(balanced, weights=class_weights(y)) == pytest.approx(0.5, abs=2e-3)
    assert 0.1 < y.mean() < 0.25


def test_calibration_tames_an_overconfident_model_out_of_sample() -> None:
    """Deep, fast-learning trees on weak signal give extreme probabilities; the sigmoid
    calibration pulls them in, so the held-out log-loss falls."""
    data = _dataset(0.3, seed=15)
    wild = {"n_estimators": 300, "learning_rate": 0.3, "num_leaves": 63, "min_child_samples": 5}
    x, y, xt, yt = data.x[:1800], data.y[:1800], data.x[1800:], data.y[1800:]
    raw = fit(ModelSpec("lightgbm", wild), x, y).predict_proba(xt)
    cal = fit(ModelSpec("lightgbm", wild, calibrate=True), x, y).predict_proba(xt)
    assert scores(yt, cal).log_loss < scores(yt, raw).log_loss
    assert np.std(cal) < np.std(raw)
