"""The model registry round trip and refusals; ml_signal through the look-ahead detector."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from alphaforge.core.errors import ConfigError, StrategyError
from alphaforge.core.panel import Panel
from alphaforge.ml import features as feat
from alphaforge.ml.cv import Schedule
from alphaforge.ml.features import Columns, FeatureSpec, parse_features
from alphaforge.ml.models import ModelSpec
from alphaforge.ml.pipeline import LabelSpec, run_training, save_run
from alphaforge.ml.registry import list_versions, load_version, resolve
from alphaforge.strategy.base import StrategyData
from alphaforge.strategy.library.ml_signal import MlSignal, probabilities
from alphaforge.strategy.lookahead import check_lookahead
from tests.unit.ml._helpers import random_panel

FEATURES = [{"returns": {"windows": [1, 5]}}, {"volatility": {"windows": [10]}},
            {"indicator": {"name": "rsi", "period": 14}}, "calendar"]  # fmt: skip


def _train(tmp_path: Path, features: list, horizon: int = 5, name: str = "m"):  # type: ignore[no-untyped-def]
    panel = random_panel(500, 3, seed=4)
    fs = parse_features(features)
    run = run_training(panel, fs, LabelSpec(horizon=horizon), ModelSpec(),
                       Schedule(every=50, train_bars=150, start=200))  # fmt: skip
    return panel, run, save_run(tmp_path / "models", name, run)


def test_registry_round_trip(tmp_path: Path) -> None:
    panel, run, version = _train(tmp_path, FEATURES)
    assert version.path == tmp_path / "models" / "m" / "v1"
    assert {p.name for p in version.path.iterdir()} == {"models.pkl", "metadata.json"}
    meta = json.loads((version.path / "metadata.json").read_text())
    assert meta["feature_hash"] == parse_features(FEATURES).hash
    assert meta["data_range"]["start"] == panel.index[0].isoformat()
    assert meta["label"]["horizon"] == 5 and meta["model"]["kind"] == "logistic"
    assert len(meta["walk_forward_scores"]) == len(run.result.walk_forward)
    assert set(meta["library_versions"]) >= {"scikit-learn", "lightgbm", "xgboost"}
    loaded = load_version(resolve(tmp_path / "models", "m"))
    x = run.data.x[:50]
    for stored, trained in zip(loaded.models, run.result.models, strict=True):
        np.testing.assert_array_equal(stored.model.predict_proba(x), trained.model.predict_proba(x))
        assert stored.valid_from == panel.index[trained.valid_from]
    again = save_run(tmp_path / "models", "m", run)
    assert again.metadata["version"] == "v2"
    assert resolve(tmp_path / "models", "m").name == "v2"
    assert [m["version"] for m in list_versions(tmp_path / "models")] == ["v1", "v2"]


def test_registry_refuses_another_feature_set(tmp_path: Path) -> None:
    _, _, version = _train(tmp_path, FEATURES)
    other = parse_features([*FEATURES[:-1], {"amihud": {"window": 5}}])
    with pytest.raises(
        ConfigError, match=r"m/v1: trained on feature set \w+, refused for feature set"
    ):
        load_version(version.path, features=other)
    meta_path = version.path / "metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["feature_hash"] = "0" * 16  # as if the feature code had changed since training
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ConfigError, match="retrain it"):
        load_version(version.path)
    with pytest.raises(ConfigError, match="no version 'v9'"):
        resolve(tmp_path / "models", "m/v9")
    with pytest.raises(ConfigError, match="no such model"):
        resolve(tmp_path / "models", "nope")


def test_ml_signal_uses_the_model_current_at_each_bar(tmp_path: Path) -> None:
    panel, run, version = _train(tmp_path, FEATURES)
    proba = probabilities(load_version(version.path), StrategyData(panel))
    assert np.isnan(proba[:200]).all()  # no model before the first refit
    rows = run.data.t0 >= 200
    got = proba[run.data.t0[rows], run.data.symbol[rows]]
    np.testing.assert_allclose(got, run.result.oos_proba[rows])  # the walk-forward OOS values
    strat = MlSignal(model=str(version.path), entry=0.5, exit=0.5)
    assert strat.warmup() == parse_features(FEATURES).warmup()
    out = strat.signals(StrategyData(panel))
    assert out.entries.any() and out.exits.any()
    with pytest.raises(StrategyError, match=r"parameter model: .*not a model version"):
        MlSignal(model=str(tmp_path / "missing")).signals(StrategyData(panel))


def test_ml_signal_passes_the_lookahead_detector(tmp_path: Path) -> None:
    panel, _, version = _train(tmp_path, FEATURES)
    report = check_lookahead("ml_signal", panel, params={"model": str(version.path), "entry": 0.5},
                             cuts=15, starts=2)  # fmt: skip
    assert report.ok, report.summary()
    assert report.compared > 0


def test_a_feature_that_peeks_is_caught_by_the_detector(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def peek(panel: Panel, spec: FeatureSpec) -> Columns:
        nxt = np.full(panel.shape, np.nan)
        nxt[:-1] = np.log(panel.close[1:] / panel.close[:-1])  # tomorrow's return: look-ahead
        return {"next_return": nxt}

    monkeypatch.setitem(feat.BUILDERS, "peek", peek)
    monkeypatch.setitem(feat.ALLOWED, "peek", ())
    _, _, version = _train(tmp_path, ["peek", {"returns": {"windows": [1]}}], horizon=1)
    panel = random_panel(500, 3, seed=4)
    report = check_lookahead("ml_signal", panel, params={"model": str(version.path), "entry": 0.5},
                             cuts=15, starts=0)  # fmt: skip
    assert not report.ok
    assert {i.check for i in report.issues} == {"lookahead"}
