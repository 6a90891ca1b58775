"""Voting and stacking ensembles: what they average, that stacking's meta-features come from
the training rows only, and their configuration."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from alphaforge.core.errors import ConfigError
from alphaforge.ml.cv import Schedule
from alphaforge.ml.dataset import Dataset
from alphaforge.ml.ensemble import stacking_features
from alphaforge.ml.features import parse_features
from alphaforge.ml.models import ModelSpec, fit
from alphaforge.ml.pipeline import LabelSpec, run_training, save_run
from alphaforge.ml.registry import load_version
from alphaforge.ml.spec import load_ml_spec
from alphaforge.ml.train import train
from tests.unit.ml._helpers import random_panel

LOGISTIC = ModelSpec("logistic")
TREES = ModelSpec("lightgbm", {"n_estimators": 30, "min_child_samples": 20})


def _rows(n: int, signal: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = (signal * x[:, 0] + rng.normal(size=n) > 0).astype(np.int64)
    return x, y


def _dataset(n_bars: int, signal: float, seed: int) -> Dataset:
    x, y = _rows(n_bars * 2, signal, seed)
    t0 = np.repeat(np.arange(n_bars), 2)
    return Dataset(x=x, y=y, t0=t0, t1=t0 + 2, symbol=np.tile([0, 1], n_bars),
                   weight=np.ones(len(y)), returns=np.zeros(len(y)), names=("a", "b", "c"))  # fmt: skip


def test_soft_voting_is_the_mean_of_the_calibrated_members() -> None:
    x, y = _rows(600, 0.8, seed=1)
    spec = ModelSpec("voting", members=(LOGISTIC, TREES), seed=3)
    model = fit(spec, x, y)
    members = [fit(dataclasses.replace(m, calibrate=True, seed=3), x, y) for m in (LOGISTIC, TREES)]
    expected = np.mean([m.predict_proba(x[:50]) for m in members], axis=0)
    np.testing.assert_allclose(model.predict_proba(x[:50]), expected, rtol=1e-12)
    assert model.importance().shape == (3,)
    assert int(np.argmax(model.importance())) == 0


def test_stacking_meta_features_are_out_of_fold_by_hand() -> None:
    """One row per bar, labels one bar long: 3 inner folds of 100 bars, embargo ceil(1% of 300)
    = 3 bars, so fold 1 (bars 0-99) trains on bars 103-299, fold 2 (100-199) on 0-99 and
    203-299, fold 3 on 0-199. Each block is predicted by a logistic regression fitted on
    those rows only (scikit-learn directly)."""
    x, y = _rows(300, 0.8, seed=2)
    t = np.arange(300)
    spec = ModelSpec("stacking", members=(LOGISTIC, LOGISTIC), stack_folds=3)
    z = stacking_features(spec, x, y, np.ones(300), t, t)
    for test, train_rows in (
        (np.r_[0:100], np.r_[103:300]),
        (np.r_[100:200], np.r_[0:100, 203:300]),
        (np.r_[200:300], np.r_[0:200]),
    ):
        ref = make_pipeline(
            StandardScaler(), LogisticRegression(C=1.0, max_iter=500, random_state=0)
        )
        ref.fit(x[train_rows], y[train_rows])
        np.testing.assert_allclose(z[test, 0], ref.predict_proba(x[test])[:, 1], rtol=1e-8)
    np.testing.assert_array_equal(z[:, 0], z[:, 1])


def test_stacking_in_walk_forward_learns_only_from_its_training_rows() -> None:
    """Scrambling every row the first refit may not learn from (labels ending after its refit
    bar) leaves that refit's meta-model and members unchanged."""
    data = _dataset(400, 0.8, seed=3)
    schedule = Schedule(every=100, train_bars=150, start=200)
    spec = ModelSpec("stacking", members=(LOGISTIC, TREES), stack_folds=3)
    rng = np.random.default_rng(9)
    future = data.t1 > schedule.start
    x2 = data.x.copy()
    x2[future] = rng.normal(size=(int(future.sum()), 3)) * 5
    y2 = data.y.copy()
    y2[future] = rng.integers(0, 2, int(future.sum()))
    other = dataclasses.replace(data, x=x2, y=y2)
    first = train(spec, data, schedule, 400).models[0].model
    again = train(spec, other, schedule, 400).models[0].model
    np.testing.assert_array_equal(first.estimator.meta.coef_, again.estimator.meta.coef_)
    probe = np.random.default_rng(5).normal(size=(40, 3))
    np.testing.assert_array_equal(first.predict_proba(probe), again.predict_proba(probe))


@pytest.mark.parametrize("how", ["voting", "stacking"])
def test_ensembles_find_a_planted_signal_out_of_sample(how: str) -> None:
    data = _dataset(400, 0.8, seed=4)
    res = train(ModelSpec(how, members=(LOGISTIC, TREES)), data,
                Schedule(every=100, train_bars=150, start=200), 400)  # fmt: skip
    ok = np.isfinite(res.oos_proba)
    assert roc_auc_score(data.y[ok], res.oos_proba[ok]) > 0.65
    assert int(np.argmax(res.importance.mean(axis=0))) == 0


def test_the_registry_records_the_ensemble(tmp_path: Path) -> None:
    panel = random_panel(400, 2, seed=6)
    spec = ModelSpec("stacking", class_weight="balanced", members=(LOGISTIC, TREES))
    run = run_training(panel, parse_features([{"returns": {"windows": [1, 5]}}]), LabelSpec(),
                       spec, Schedule(every=100, train_bars=150, start=200))  # fmt: skip
    version = save_run(tmp_path, "ens", run)
    meta = json.loads((version.path / "metadata.json").read_text())
    assert meta["model"]["kind"] == "stacking" and meta["model"]["stack_folds"] == 3
    assert [m["kind"] for m in meta["model"]["members"]] == ["logistic", "lightgbm"]
    assert meta["model"]["class_weight"] == "balanced"
    loaded = load_version(version.path)
    x = run.data.x[:20]
    np.testing.assert_array_equal(loaded.models[-1].model.predict_proba(x),
                                  run.result.final.predict_proba(x))  # fmt: skip


def _config(tmp_path: Path, model: str, extra: str = "") -> Path:
    path = tmp_path / "ml.yaml"
    path.write_text(f"name: m\nsymbols: [A]\nfeatures: [calendar]\nmodel: {model}\n{extra}")
    return path


def test_ensemble_config(tmp_path: Path) -> None:
    two = "members: [{kind: logistic}, {kind: xgboost, params: {max_depth: 2}}]"
    spec = load_ml_spec(_config(tmp_path, f"{{ensemble: voting, {two}}}")).model.spec()
    assert spec.kind == "voting" and spec.calibrate
    assert [m.kind for m in spec.members] == ["logistic", "xgboost"]
    assert spec.members[1].params == {"max_depth": 2}
    stack = load_ml_spec(_config(tmp_path, f"{{ensemble: stacking, stack_folds: 4, {two}}}"))
    assert stack.model.spec().stack_folds == 4 and not stack.model.spec().calibrate
    for model, match in (
        ("{ensemble: voting, members: [{kind: logistic}]}", "model: members: ensemble voting"),
        (f"{{ensemble: voting, kind: lightgbm, {two}}}", "model: kind: with an ensemble"),
        (f"{{ensemble: voting, calibrate: false, {two}}}", "model: calibrate: voting"),
        (f"{{ensemble: voting, stack_folds: 4, {two}}}", "model: stack_folds: only with"),
        (f"{{kind: logistic, {two}}}", "model: members: only with ensemble"),
        ("{ensemble: bagging}", "model.ensemble|model: ensemble"),
    ):
        with pytest.raises(ConfigError, match=match):
            load_ml_spec(_config(tmp_path, model))
    with pytest.raises(ConfigError, match="tune: Optuna tuning of an ensemble"):
        load_ml_spec(_config(tmp_path, f"{{ensemble: stacking, {two}}}", "tune: {trials: 2}\n"))
