"""Model parameters are checked against the library before any data is read: what it refuses
is a ConfigError naming the key, the parameters and the library's reason; what it takes
passes (the example configs among them)."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphaforge.core.errors import ConfigError
from alphaforge.ml.models import ENSEMBLES, ModelSpec, check_params
from alphaforge.ml.spec import load_ml_spec

EXAMPLES = sorted((Path(__file__).parents[3] / "examples" / "ml").glob("*.yaml"))


@pytest.mark.parametrize("kind", ["logistic", "lightgbm", "xgboost"])
def test_defaults_pass(kind: str) -> None:
    check_params(ModelSpec(kind))


def test_valid_overrides_pass() -> None:
    check_params(ModelSpec("logistic", {"C": 0.5, "penalty": "l2"}))
    check_params(ModelSpec("lightgbm", {"num_leaves": 7, "min_child_samples": 200}))
    check_params(ModelSpec("xgboost", {"max_depth": 2, "n_estimators": 10}))


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (ModelSpec("logistic", {"C": -1}), ("model.params", "'C': -1", "LogisticRegression")),
        (ModelSpec("logistic", {"bogus": 1}), ("model.params", "bogus")),
        (ModelSpec("lightgbm", {"learning_rate": -0.1}), ("model.params", "learning_rate")),
        (ModelSpec("xgboost", {"subsample": 2.0}), ("model.params", "subsample")),
        (ModelSpec("xgboost", {"bogus": 1}), ("model.params", "unknown parameter bogus")),
        (
            ModelSpec(
                "stacking",
                members=(ModelSpec("logistic"), ModelSpec("lightgbm", {"num_leaves": 0})),
            ),
            ("model.members[1].params", "num_leaves"),
        ),
    ],
)
def test_refused_parameters_name_the_key(spec: ModelSpec, words: tuple[str, ...]) -> None:
    with pytest.raises(ConfigError) as exc:
        check_params(spec)
    msg = str(exc.value)
    assert "\n" not in msg and ".cpp" not in msg, msg
    for word in words:
        assert word in msg, (word, msg)


def test_there_are_example_configs() -> None:
    assert len(EXAMPLES) >= 2  # (an empty list would skip the test below)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_configs_load(path: Path) -> None:
    assert load_ml_spec(path).model.spec().kind in ("logistic", "lightgbm", "xgboost", *ENSEMBLES)
