"""Training that reports only out-of-sample results.

:func:`train` takes a feature matrix and labels and returns

* the walk-forward models (each refitted on the trailing bars known at its refit bar) and
  their out-of-sample probabilities: every row is predicted by a model that never saw it nor
  any label ending after the row's bar;
* purged k-fold scores with embargo (AFML ch. 7), a second out-of-sample view;
* the final model, refitted at the last bar on the same trailing window, for use after the
  data ends;
* feature importance per walk-forward fold and its stability.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from alphaforge.core.errors import ConfigError
from alphaforge.ml.cv import Fold, Schedule, purged_kfold, walk_forward
from alphaforge.ml.dataset import Dataset
from alphaforge.ml.labels import uniqueness_weights
from alphaforge.ml.models import FittedModel, ModelSpec, fit, scores
from alphaforge.ml.tuning import TuneSpec, tune

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class CVSpec:
    """Purged k-fold settings: ``folds``, ``embargo`` (share of bars), ``min_samples``."""

    folds: int = 5
    embargo: float = 0.01
    min_samples: int = 100


@dataclass(frozen=True)
class FoldScore:
    """Out-of-sample scores of one fold (bars are positions in the panel)."""

    fold: int
    start: int
    stop: int
    n_train: int
    n_test: int
    accuracy: float
    auc: float
    log_loss: float
    base_rate: float


@dataclass(frozen=True)
class WalkForwardModel:
    """A model and the first bar it predicts (its refit bar)."""

    valid_from: int
    model: FittedModel


@dataclass
class TrainResult:
    """Everything :func:`train` learnt; see the module docstring."""

    models: list[WalkForwardModel]
    final: FittedModel
    oos_proba: np.ndarray  # per dataset row, NaN where no walk-forward model predicted it
    walk_forward: list[FoldScore]
    cv: list[FoldScore]
    importance: np.ndarray  # walk-forward folds x features
    notes: list[str] = field(default_factory=list)


def fold_weights(data: Dataset, rows: np.ndarray) -> np.ndarray:
    """Uniqueness weights of ``rows`` among themselves: a label's overlap with labels outside
    the training rows (later ones, whose end times a triple barrier learns from the future)
    must not shape the fit."""
    return uniqueness_weights(data.t0[rows], data.t1[rows], data.symbol[rows])


def _fit_rows(
    spec: ModelSpec, data: Dataset, rows: np.ndarray, tuning: TuneSpec | None = None
) -> FittedModel:
    """Fit on ``rows``; with ``tuning``, the parameters are first chosen by Optuna on inner
    purged folds of these rows only."""
    if tuning is not None:
        spec = tune(spec, data, rows, tuning)
    return fit(spec, data.x[rows], data.y[rows], fold_weights(data, rows),
               (data.t0[rows], data.t1[rows]))  # fmt: skip


def _score(i: int, f: Fold, data: Dataset, proba: np.ndarray) -> FoldScore:
    s = scores(data.y[f.test], proba)
    return FoldScore(i, f.start, f.stop, len(f.train), len(f.test), s.accuracy, s.auc,
                     s.log_loss, float(np.mean(data.y[f.test])))  # fmt: skip


def run_cv(
    spec: ModelSpec,
    data: Dataset,
    cv: CVSpec,
    progress: Progress | None = None,
    tuning: TuneSpec | None = None,
) -> list[FoldScore]:
    """Purged k-fold out-of-sample scores (tuned inside each training fold when asked)."""
    folds = purged_kfold(data.t0, data.t1, cv.folds, cv.embargo, cv.min_samples)
    out = []
    for i, f in enumerate(folds):
        if progress:
            progress("purged k-fold", i, len(folds))
        model = _fit_rows(spec, data, f.train, tuning)
        out.append(_score(i, f, data, model.predict_proba(data.x[f.test])))
    return out


def train(
    spec: ModelSpec,
    data: Dataset,
    schedule: Schedule,
    n_bars: int,
    cv: CVSpec | None = None,
    progress: Progress | None = None,
    tuning: TuneSpec | None = None,
) -> TrainResult:
    """Walk-forward models and OOS probabilities, purged k-fold scores and the final model;
    with ``tuning``, each fit is tuned by Optuna on its own training rows only."""
    if len(data) == 0:
        raise ConfigError("no training rows: every row lacks a feature or a label")
    min_samples = cv.min_samples if cv else 50
    folds = walk_forward(data.t0, data.t1, schedule, n_bars, min_samples)
    proba = np.full(len(data), np.nan)
    models, wf_scores, imps, notes = [], [], [], []
    for i, f in enumerate(folds):
        if progress:
            progress("walk-forward", i, len(folds))
        model = _fit_rows(spec, data, f.train, tuning)
        models.append(WalkForwardModel(f.start, model))
        imps.append(model.importance())
        if len(f.test) == 0:
            continue
        proba[f.test] = model.predict_proba(data.x[f.test])
        if len(np.unique(data.y[f.test])) == 2:
            wf_scores.append(_score(i, f, data, proba[f.test]))
        else:
            notes.append(f"walk-forward fold {i}: one class in its test rows, not scored")
    cv_scores = run_cv(spec, data, cv, progress, tuning) if cv is not None else []
    last = n_bars - 1
    lo = -1 if schedule.train_bars is None else last - schedule.train_bars
    final = _fit_rows(spec, data, np.flatnonzero((data.t1 <= last) & (data.t0 >= lo)), tuning)
    models.append(WalkForwardModel(last, final))
    return TrainResult(models, final, proba, wf_scores, cv_scores, np.array(imps), notes)


def importance_stability(importance: np.ndarray, top_k: int) -> float:
    """Share of the ``top_k`` places held by features that are in the top ``top_k`` of every
    fold (1: the same features lead in every fold; 0: no feature stays on top)."""
    imp = np.asarray(importance, dtype=np.float64)
    if imp.ndim != 2 or imp.shape[0] == 0:
        return float("nan")
    k = max(1, min(int(top_k), imp.shape[1]))
    tops = [set(np.argsort(-row, kind="stable")[:k].tolist()) for row in imp]
    return len(set.intersection(*tops)) / k


def top_share(importance: np.ndarray, top_k: int) -> np.ndarray:
    """Per feature, the share of folds in which it ranks in the top ``top_k``."""
    imp = np.asarray(importance, dtype=np.float64)
    k = max(1, min(int(top_k), imp.shape[1]))
    hits = np.zeros(imp.shape[1])
    for row in imp:
        hits[np.argsort(-row, kind="stable")[:k]] += 1
    return hits / max(len(imp), 1)
