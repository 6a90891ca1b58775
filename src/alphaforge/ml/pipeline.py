"""From a panel to a stored model version: features, labels, walk-forward training, metadata."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alphaforge.core.errors import ConfigError
from alphaforge.core.panel import Panel
from alphaforge.ml.cv import Schedule, refit_bars
from alphaforge.ml.dataset import Dataset, build_dataset
from alphaforge.ml.features import FeatureMatrix, FeatureSet
from alphaforge.ml.labels import (
    BarrierSpec,
    Labels,
    check_horizon,
    fixed_horizon,
    meta_labels,
    triple_barrier,
)
from alphaforge.ml.models import ModelSpec, library_versions
from alphaforge.ml.registry import ModelVersion, StoredModel, save_version
from alphaforge.ml.train import CVSpec, FoldScore, Progress, TrainResult, train
from alphaforge.ml.tuning import TuneSpec


@dataclass(frozen=True)
class LabelSpec:
    """What to predict: ``fixed`` (sign of the ``horizon``-bar return above ``threshold``),
    ``triple_barrier`` or ``meta`` (on a primary strategy's entries), with barriers at
    ``upper`` / ``lower`` times the trailing ``vol_window``-bar volatility."""

    kind: str = "fixed"
    horizon: int = 5
    threshold: float = 0.0
    upper: float = 2.0
    lower: float = 2.0
    vol_window: int = 20


@dataclass(frozen=True)
class PrimarySignals:
    """A primary strategy's entries (bars x symbols), for meta-labels."""

    entries: np.ndarray
    short_entries: np.ndarray | None = None


def make_labels(panel: Panel, spec: LabelSpec, primary: PrimarySignals | None = None) -> Labels:
    """The labels of ``spec`` on the panel's closes."""
    barrier = BarrierSpec(spec.horizon, spec.upper, spec.lower, spec.vol_window)
    if spec.kind == "fixed":
        return fixed_horizon(panel.close, spec.horizon, "sign", spec.threshold)
    if spec.kind == "triple_barrier":
        return triple_barrier(panel.close, barrier)
    if spec.kind == "meta":
        if primary is None:
            raise ConfigError("label: kind meta needs a primary strategy (label.primary)")
        return meta_labels(panel.close, primary.entries, barrier, primary.short_entries)
    raise ConfigError(f"label: kind: {spec.kind!r}; expected fixed, triple_barrier or meta")


@dataclass
class TrainRun:
    """A finished training: its rows, what was learnt, and the settings behind it."""

    panel: Panel
    features: FeatureSet
    label: LabelSpec
    model: ModelSpec
    schedule: Schedule
    cv: CVSpec | None
    data: Dataset
    result: TrainResult
    tuning: TuneSpec | None = None


def default_start(features: FeatureSet, schedule_train_bars: int | None) -> int:
    """First refit: the features' warm-up plus one training window (252 bars if expanding)."""
    return features.warmup() + (schedule_train_bars or 252)


def check_bars(label: LabelSpec, schedule: Schedule, n_bars: int) -> None:
    """Refuse, before features are computed, a label horizon or a walk-forward schedule the
    ``n_bars`` bars of the data cannot hold."""
    check_horizon(label.horizon, n_bars)
    refit_bars(schedule, n_bars)


def run_training(
    panel: Panel,
    features: FeatureSet,
    label: LabelSpec,
    model: ModelSpec,
    schedule: Schedule,
    cv: CVSpec | None = None,
    primary: PrimarySignals | None = None,
    progress: Progress | None = None,
    tuning: TuneSpec | None = None,
    matrix: FeatureMatrix | None = None,
) -> TrainRun:
    """Compute features (unless ``matrix`` holds them already) and labels, build the rows and
    train (walk-forward, purged k-fold)."""
    check_bars(label, schedule, panel.shape[0])
    if progress:
        progress("features", 0, 1)
    fm = features.compute(panel) if matrix is None else matrix
    labels = make_labels(panel, label, primary)
    data = build_dataset(fm, labels, features.warmup())
    if len(data) == 0:
        raise ConfigError("no training rows: every bar lacks a feature or a label")
    result = train(model, data, schedule, panel.shape[0], cv, progress, tuning)
    return TrainRun(panel, features, label, model, schedule, cv, data, result, tuning)


def _fold_rows(scores: list[FoldScore], run: TrainRun) -> list[dict[str, Any]]:
    idx = run.panel.index
    rows = []
    for s in scores:
        row = asdict(s)
        row["start"] = idx[s.start].isoformat()
        row["stop"] = idx[min(s.stop, len(idx)) - 1].isoformat()
        rows.append(row)
    return rows


def metadata(run: TrainRun, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON-able record of a training (see :mod:`alphaforge.ml.registry`)."""
    idx = run.panel.index
    res = run.result
    return {
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "features": run.features.to_json(),
        "feature_hash": run.features.hash,
        "feature_names": list(run.data.names),
        "symbols": list(run.panel.symbols),
        "timeframe": run.panel.timeframe,
        "data_range": {
            "start": idx[0].isoformat(),
            "end": idx[-1].isoformat(),
            "bars": len(idx),
            "rows": len(run.data),
        },
        "label": asdict(run.label),
        "model": {**asdict(run.model), "resolved_params": run.model.resolved()},
        "walk_forward": asdict(run.schedule),
        "cv": asdict(run.cv) if run.cv else None,
        "cv_scores": _fold_rows(res.cv, run),
        "walk_forward_scores": _fold_rows(res.walk_forward, run),
        "importance": res.importance.tolist(),
        "models_valid_from": [idx[m.valid_from].isoformat() for m in res.models],
        "tuning": asdict(run.tuning) if run.tuning else None,
        "models_params": [m.model.spec.params for m in res.models],
        "library_versions": library_versions(),
        "notes": res.notes,
        **(extra or {}),
    }


def save_run(
    root: Path, name: str, run: TrainRun, extra: dict[str, Any] | None = None
) -> ModelVersion:
    """Store the walk-forward and final models of ``run`` as a new version of ``name``."""
    idx = run.panel.index
    models = [StoredModel(idx[m.valid_from], m.model) for m in run.result.models]
    return save_version(root, name, models, metadata(run, extra))
