"""Classifiers behind one small interface: a logistic-regression baseline (scikit-learn),
LightGBM and XGBoost (CPU), with class weights, sample weights and optional calibration, and
voting or stacking ensembles of them (:mod:`alphaforge.ml.ensemble`).

This is the only module that imports scikit-learn, LightGBM and XGBoost. Seeds are fixed and
threads are few (``n_jobs`` 1 or 2), so the same data gives the same model.
"""

from __future__ import annotations

import io
import os
import pickle
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from alphaforge.core.errors import ConfigError

Kind = Literal["logistic", "lightgbm", "xgboost", "voting", "stacking"]
KINDS: tuple[str, ...] = ("logistic", "lightgbm", "xgboost")
ENSEMBLES: tuple[str, ...] = ("voting", "stacking")

_DEFAULTS: dict[str, dict[str, Any]] = {
    "logistic": {"C": 1.0, "max_iter": 500},
    "lightgbm": {"n_estimators": 200, "learning_rate": 0.03, "num_leaves": 15,
                 "min_child_samples": 100, "subsample": 0.8, "subsample_freq": 1,
                 "colsample_bytree": 0.8, "reg_lambda": 1.0},
    "xgboost": {"n_estimators": 200, "learning_rate": 0.03, "max_depth": 3,
                "min_child_weight": 20.0, "subsample": 0.8, "colsample_bytree": 0.8,
                "reg_lambda": 1.0},
}  # fmt: skip


@dataclass(frozen=True)
class ModelSpec:
    """Which classifier and how: ``params`` overlay the defaults of ``kind``;
    ``class_weight="balanced"`` weights each class by the inverse of its frequency;
    ``calibrate`` wraps the model in a sigmoid calibration fitted on ``calibration_folds``
    contiguous (time-ordered) splits of the training rows. ``kind`` ``voting`` or ``stacking``
    combines ``members`` (stacking on ``stack_folds`` purged inner folds)."""

    kind: str = "logistic"
    params: dict[str, Any] = field(default_factory=dict)
    class_weight: Literal["balanced"] | None = None
    calibrate: bool = False
    calibration_folds: int = 3
    seed: int = 0
    n_jobs: int = 1
    members: tuple[ModelSpec, ...] = ()
    stack_folds: int = 3

    def resolved(self) -> dict[str, Any]:
        if self.kind in ENSEMBLES:
            return {"members": [m.resolved() for m in self.members]}
        if self.kind not in KINDS:
            raise ConfigError(
                f"model: kind: unknown model {self.kind!r}; known: {', '.join(KINDS + ENSEMBLES)}"
            )
        return {**_DEFAULTS[self.kind], **self.params}


def _build(spec: ModelSpec) -> Any:
    params = spec.resolved()
    if spec.kind == "logistic":
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), LogisticRegression(random_state=spec.seed, **params))
    if spec.kind == "lightgbm":
        from lightgbm import LGBMClassifier

        return LGBMClassifier(random_state=spec.seed, n_jobs=spec.n_jobs, verbose=-1,
                              deterministic=True, force_row_wise=True, **params)  # fmt: skip
    from xgboost import XGBClassifier

    return XGBClassifier(random_state=spec.seed, n_jobs=spec.n_jobs, tree_method="hist",
                         eval_metric="logloss", **params)  # fmt: skip


def _estimator(spec: ModelSpec) -> Any:
    try:
        return _build(spec)
    except TypeError as exc:
        raise ConfigError(f"model: params: {exc}") from None


def check_params(spec: ModelSpec) -> None:
    """Refuse parameters the library refuses, before any data is read: each classifier is
    built with its parameters and fitted on a few synthetic rows, so what fails is the
    parameters. The error names the key (``model.params`` or ``model.members[i].params``),
    the parameters and the library's reason."""
    if spec.kind in ENSEMBLES:
        for i, member in enumerate(spec.members):
            _check_one(member, f"model.members[{i}].params")
        return
    _check_one(spec, "model.params")


def _check_one(spec: ModelSpec, key: str) -> None:
    import warnings

    spec.resolved()  # an unknown kind is its own error
    rng = np.random.default_rng(0)
    x = rng.normal(size=(_PROBE_ROWS, 2))
    y = np.arange(_PROBE_ROWS) % 2
    refused = _library_errors(spec.kind)
    try:
        with warnings.catch_warnings(record=True) as caught, _quiet_native_stderr():
            warnings.simplefilter("always")
            _build(spec).fit(x, y, **_fit_kwargs(spec, np.ones(_PROBE_ROWS)))
    except refused as exc:
        raise ConfigError(f"{key}: {dict(spec.params)!r}: {_reason(exc)}") from None
    for w in caught:  # XGBoost only warns of parameters it does not know
        unused = re.search(r"Parameters: \{(.*?)\} (?:are|is) not used", str(w.message), re.S)
        if unused:
            names = unused.group(1).replace('"', "").strip()
            raise ConfigError(f"{key}: {dict(spec.params)!r}: unknown parameter {names} "
                              f"of {spec.kind}")  # fmt: skip


_PROBE_ROWS = 16


def _library_errors(kind: str) -> tuple[type[BaseException], ...]:
    """What the library raises for bad parameters (scikit-learn's InvalidParameterError is a
    ValueError and a TypeError; XGBoostError is a ValueError)."""
    if kind == "lightgbm":
        from lightgbm.basic import LightGBMError

        return (ValueError, TypeError, LightGBMError)
    return (ValueError, TypeError)


def _reason(exc: BaseException) -> str:
    """The library's message on one line, without LightGBM's source location."""
    text = " ".join(str(exc).split())
    return re.sub(r" at \S+, line \d+ ?\.?$", "", text) or type(exc).__name__


@contextmanager
def _quiet_native_stderr() -> Iterator[None]:
    """LightGBM's native library writes its fatal errors straight to file descriptor 2; the
    error is raised as an exception too, so the copy on stderr is dropped."""
    try:
        saved = os.dup(2)
    except OSError:  # pragma: no cover - no stderr to redirect
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def meta_logistic(seed: int) -> Any:
    """The unfitted logistic regression a stacking ensemble combines its members with."""
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(random_state=seed, max_iter=500)


def class_weights(y: np.ndarray) -> np.ndarray:
    """Per-row weights ``n / (2 n_c)`` of the row's class ``c`` (scikit-learn's "balanced")."""
    y = np.asarray(y).astype(int)
    counts = np.bincount(y, minlength=2).astype(float)
    return len(y) / (2.0 * np.maximum(counts, 1.0))[y]


@dataclass
class FittedModel:
    """A fitted classifier and what it was fitted on."""

    spec: ModelSpec
    estimator: Any
    n_features: int

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        """P(label = 1) per row; NaN for rows with a missing feature."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ConfigError(
                f"model: expects {self.n_features} features per row, got shape {x.shape}"
            )
        out = np.full(len(x), np.nan)
        ok = np.isfinite(x).all(axis=1)
        if ok.any():
            out[ok] = self.estimator.predict_proba(x[ok])[:, 1]
        return out

    def importance(self) -> np.ndarray:
        """Feature importance: |coefficient| of the standardised logistic model, total gain
        of the trees; averaged over calibration folds when calibrated; an ensemble averages
        its members' shares."""
        if hasattr(self.estimator, "importance"):
            return np.asarray(self.estimator.importance(), dtype=np.float64)
        inner = getattr(self.estimator, "calibrated_classifiers_", None)
        models = [c.estimator for c in inner] if inner is not None else [self.estimator]
        return np.mean([_importance(m) for m in models], axis=0)


def _importance(model: Any) -> np.ndarray:
    if hasattr(model, "steps"):  # the logistic pipeline
        return np.abs(np.asarray(model.steps[-1][1].coef_[0], dtype=np.float64))
    if hasattr(model, "booster_"):  # LightGBM
        return np.asarray(model.booster_.feature_importance("gain"), dtype=np.float64)
    booster = model.get_booster()
    gain = booster.get_score(importance_type="total_gain")
    return np.array([gain.get(f"f{i}", 0.0) for i in range(model.n_features_in_)])


def _fit_kwargs(spec: ModelSpec, weight: np.ndarray) -> dict[str, Any]:
    if spec.kind == "logistic":
        return {"logisticregression__sample_weight": weight}
    return {"sample_weight": weight}


def fit(
    spec: ModelSpec,
    x: np.ndarray,
    y: np.ndarray,
    weight: np.ndarray | None = None,
    times: tuple[np.ndarray, np.ndarray] | None = None,
) -> FittedModel:
    """Fit ``spec`` on rows ``x`` (finite), binary labels ``y`` and optional sample weights;
    ``times`` (the rows' label start and end bars) let stacking purge its inner folds."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y).astype(int)
    if len(np.unique(y)) < 2:
        raise ConfigError(f"model: the training rows hold one class only ({len(y)} rows)")
    w = np.ones(len(y)) if weight is None else np.asarray(weight, dtype=np.float64)
    if spec.class_weight == "balanced":
        w = w * class_weights(y)
    w = w * (len(w) / w.sum())
    if spec.kind in ENSEMBLES:
        from alphaforge.ml.ensemble import fit_ensemble

        return fit_ensemble(spec, x, y, w, times)
    est = _estimator(spec)
    if spec.calibrate:
        from sklearn.calibration import CalibratedClassifierCV

        splits = [(np.r_[0:a, b : len(y)], np.arange(a, b)) for a, b in _blocks(len(y), spec)]
        cal = CalibratedClassifierCV(est, method="sigmoid", cv=splits)
        cal.fit(x, y, **_calibrated_kwargs(spec, w))
        return FittedModel(spec, cal, x.shape[1])
    est.fit(x, y, **_fit_kwargs(spec, w))
    return FittedModel(spec, est, x.shape[1])


def _calibrated_kwargs(spec: ModelSpec, w: np.ndarray) -> dict[str, Any]:
    # CalibratedClassifierCV routes sample_weight to the estimator; a Pipeline cannot take it
    # under that name, so the logistic baseline is calibrated without sample weights.
    return {} if spec.kind == "logistic" else {"sample_weight": w}


def _blocks(n: int, spec: ModelSpec) -> list[tuple[int, int]]:
    k = max(2, int(spec.calibration_folds))
    edges = np.linspace(0, n, k + 1).round().astype(int)
    return [(int(edges[i]), int(edges[i + 1])) for i in range(k)]


def dumps(model: FittedModel) -> bytes:
    """The model as bytes (pickle; load only files you wrote yourself)."""
    buf = io.BytesIO()
    pickle.dump(model, buf, protocol=pickle.HIGHEST_PROTOCOL)
    return buf.getvalue()


def loads(data: bytes) -> FittedModel:
    model = pickle.loads(data)
    if not isinstance(model, FittedModel):
        raise ConfigError("model file does not hold an alphaforge model")
    return model


def library_versions() -> dict[str, str]:
    """Versions of the libraries a stored model depends on."""
    import lightgbm
    import sklearn
    import xgboost

    return {
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "lightgbm": lightgbm.__version__,
        "xgboost": xgboost.__version__,
    }


@dataclass(frozen=True)
class Scores:
    """Classification scores of probabilities against labels."""

    accuracy: float
    auc: float
    log_loss: float


def scores(y: np.ndarray, proba: np.ndarray) -> Scores:
    """Accuracy (at 0.5), ROC AUC and log-loss (scikit-learn's definitions) on the rows with a
    probability; AUC and log-loss are NaN when only one class is present."""
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    y = np.asarray(y).astype(int)
    p = np.asarray(proba, dtype=np.float64)
    ok = np.isfinite(p)
    y, p = y[ok], p[ok]
    if len(y) == 0:
        return Scores(float("nan"), float("nan"), float("nan"))
    acc = float(accuracy_score(y, p > 0.5))
    if len(np.unique(y)) < 2:
        return Scores(acc, float("nan"), float("nan"))
    pc = np.clip(p, 1e-15, 1 - 1e-15)
    return Scores(acc, float(roc_auc_score(y, p)), float(log_loss(y, pc, labels=[0, 1])))
