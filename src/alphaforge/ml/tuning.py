"""Hyper-parameter tuning with Optuna, only inside a training set.

:func:`tune` sees only the training rows of one outer fold. It splits them again with purged
k-fold and embargo (so inner validation labels do not overlap inner training labels) and
picks the parameters with the lowest mean inner log-loss. The outer test rows are never
looked at, so the outer scores stay out of sample.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alphaforge.core.errors import ConfigError
from alphaforge.ml.cv import purged_kfold
from alphaforge.ml.dataset import Dataset
from alphaforge.ml.labels import uniqueness_weights
from alphaforge.ml.models import ENSEMBLES, ModelSpec, fit, scores

# name -> (low, high, "int" | "log" | "float")
SPACES: dict[str, dict[str, tuple[float, float, str]]] = {
    "logistic": {"C": (1e-3, 10.0, "log")},
    "lightgbm": {"num_leaves": (4, 31, "int"), "learning_rate": (0.01, 0.1, "log"),
                 "min_child_samples": (20, 300, "int"), "n_estimators": (50, 300, "int")},
    "xgboost": {"max_depth": (2, 5, "int"), "learning_rate": (0.01, 0.1, "log"),
                "min_child_weight": (1.0, 100.0, "log"), "n_estimators": (50, 300, "int")},
}  # fmt: skip


@dataclass(frozen=True)
class TuneSpec:
    """``trials`` Optuna trials (TPE, seeded), scored on ``folds`` purged inner folds with
    ``embargo``; ``space`` overrides the default ranges of the model kind."""

    trials: int = 20
    folds: int = 3
    embargo: float = 0.01
    seed: int = 0
    space: dict[str, tuple[float, float, str]] = field(default_factory=dict)


def _suggest(trial: Any, name: str, low: float, high: float, kind: str) -> Any:
    if kind == "int":
        return trial.suggest_int(name, int(low), int(high))
    if kind == "log":
        return trial.suggest_float(name, float(low), float(high), log=True)
    if kind == "float":
        return trial.suggest_float(name, float(low), float(high))
    raise ConfigError(f"tune: space: {name}: kind {kind!r}; expected int, log or float")


def tune(spec: ModelSpec, data: Dataset, rows: np.ndarray, how: TuneSpec) -> ModelSpec:
    """The parameters of ``spec`` with the lowest inner purged-CV log-loss on ``rows``."""
    import optuna

    if spec.kind in ENSEMBLES:
        raise ConfigError(
            "tune: Optuna tuning of an ensemble is not supported; tune each member on its own"
        )
    space = {**SPACES[spec.kind], **how.space} if spec.kind in SPACES else dict(how.space)
    inner = purged_kfold(data.t0[rows], data.t1[rows], how.folds, how.embargo, min_samples=20)
    x, y = data.x[rows], data.y[rows]

    def objective(trial: Any) -> float:
        params = {k: _suggest(trial, k, *v) for k, v in space.items()}
        trial_spec = dataclasses.replace(spec, params={**spec.params, **params})
        losses = []
        for f in inner:
            if len(np.unique(y[f.train])) < 2 or len(np.unique(y[f.test])) < 2:
                continue
            w = uniqueness_weights(data.t0[rows][f.train], data.t1[rows][f.train],
                                   data.symbol[rows][f.train])  # fmt: skip
            model = fit(trial_spec, x[f.train], y[f.train], w)
            losses.append(scores(y[f.test], model.predict_proba(x[f.test])).log_loss)
        return float(np.mean(losses)) if losses else float("inf")

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="minimize",
                                sampler=optuna.samplers.TPESampler(seed=how.seed))  # fmt: skip
    study.optimize(objective, n_trials=how.trials)
    return dataclasses.replace(spec, params={**spec.params, **study.best_params})
