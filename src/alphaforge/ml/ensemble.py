"""Voting and stacking over several classifiers of :mod:`alphaforge.ml.models`.

* **Soft voting**: every member is fitted on all training rows with sigmoid calibration (on
  time-ordered splits of those rows) and the ensemble's probability is the mean of the members'
  calibrated probabilities.
* **Stacking**: a logistic meta-model combines the members' log-odds. Its inputs are
  out-of-fold predictions made *inside* the training rows only: the training rows are cut into
  ``stack_folds`` purged folds (:func:`alphaforge.ml.cv.purged_kfold`: a row whose label overlaps
  the held-out block is dropped, and so are the rows of the embargo after it); each member is
  fitted on the rest and predicts the held-out block. The meta-model is fitted on those
  predictions, then the members are refitted on all training rows. Rows outside the training
  set (the walk-forward test rows, later bars) are never passed in, so they cannot shape the
  meta-model.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from alphaforge.core.errors import ConfigError
from alphaforge.ml.cv import purged_kfold

if TYPE_CHECKING:
    from alphaforge.ml.models import FittedModel, ModelSpec

STACK_EMBARGO = 0.01
"""Embargo of the inner stacking folds, as a share of the training bars."""


def _logit(p: np.ndarray) -> np.ndarray:
    q = np.clip(p, 1e-6, 1.0 - 1e-6)
    return np.log(q / (1.0 - q))


@dataclass
class Ensemble:
    """Fitted members and, for stacking, the logistic meta-model on their log-odds."""

    how: str
    members: list[FittedModel]
    meta: Any | None = None

    def member_proba(self, x: np.ndarray) -> np.ndarray:
        """P(label = 1) of every member (rows x members); ``x`` holds finite rows."""
        return np.column_stack([m.estimator.predict_proba(x)[:, 1] for m in self.members])

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = self.member_proba(x)
        q = p.mean(axis=1) if self.meta is None else self.meta.predict_proba(_logit(p))[:, 1]
        return np.column_stack([1.0 - q, q])

    def importance(self) -> np.ndarray:
        """The members' importance shares (each member's importance over its total), averaged."""
        shares = []
        for m in self.members:
            imp = m.importance()
            shares.append(imp / max(float(imp.sum()), 1e-300))
        return np.mean(shares, axis=0)


def member_specs(spec: ModelSpec) -> list[ModelSpec]:
    """The members as fitted: the ensemble's seed and threads; class weights are already in the
    sample weights; voting members are always calibrated."""
    calibrate = True if spec.kind == "voting" else spec.calibrate
    return [
        dataclasses.replace(m, class_weight=None, calibrate=calibrate, seed=spec.seed,
                            n_jobs=spec.n_jobs, calibration_folds=spec.calibration_folds)
        for m in spec.members
    ]  # fmt: skip


def stacking_features(
    spec: ModelSpec,
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    t0: np.ndarray,
    t1: np.ndarray,
) -> np.ndarray:
    """Out-of-fold member probabilities of the training rows ``x`` (rows x members): row ``i``
    is predicted by members fitted on the purged inner folds that do not hold it."""
    from alphaforge.ml.models import fit

    folds = purged_kfold(t0, t1, spec.stack_folds, STACK_EMBARGO, min_samples=1)
    out = np.full((len(y), len(spec.members)), np.nan)
    for k, f in enumerate(folds):
        if len(np.unique(y[f.train])) < 2:
            raise ConfigError(
                f"model: stacking: inner fold {k + 1} of {len(y)} training rows holds one "
                "class only; use fewer stack_folds or more training bars"
            )
        for j, m in enumerate(member_specs(spec)):
            out[f.test, j] = fit(m, x[f.train], y[f.train], w[f.train]).predict_proba(x[f.test])
    return out


def fit_ensemble(
    spec: ModelSpec,
    x: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    times: tuple[np.ndarray, np.ndarray] | None = None,
) -> FittedModel:
    """Fit the voting or stacking ensemble ``spec`` on the training rows (see the module
    docstring); ``times`` are the rows' label start and end bars (default: the row order, one
    bar each)."""
    from alphaforge.ml.models import FittedModel, fit, meta_logistic

    if len(spec.members) < 2:
        raise ConfigError(f"model: members: {spec.kind} needs at least 2 members")
    meta = None
    if spec.kind == "stacking":
        t0, t1 = times if times is not None else (np.arange(len(y)), np.arange(len(y)))
        z = _logit(stacking_features(spec, x, y, w, np.asarray(t0), np.asarray(t1)))
        meta = meta_logistic(spec.seed).fit(z, y, sample_weight=w)
    members = [fit(m, x, y, w) for m in member_specs(spec)]
    return FittedModel(spec, Ensemble(spec.kind, members, meta), x.shape[1])
