"""Rows for learning: one per (bar, symbol) with all features and a label, ordered by bar."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alphaforge.ml.features import FeatureMatrix
from alphaforge.ml.labels import Labels, uniqueness_weights


@dataclass(frozen=True)
class Dataset:
    """Training rows ordered by start bar then symbol.

    ``x`` (rows x features), ``y`` (0/1), ``t0``/``t1`` (start and end bar of the label),
    ``symbol`` (column of the panel), ``weight`` (average uniqueness among all rows, AFML
    ch. 4; training recomputes it among each fold's own rows) and
    ``returns`` (what the label realised).
    """

    x: np.ndarray
    y: np.ndarray
    t0: np.ndarray
    t1: np.ndarray
    symbol: np.ndarray
    weight: np.ndarray
    returns: np.ndarray
    names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.y)


def build_dataset(features: FeatureMatrix, labels: Labels, warmup: int = 0) -> Dataset:
    """Rows where every feature is finite and a label exists, from bar ``warmup`` on."""
    n = features.values.shape[0]
    ok = np.isfinite(features.values).all(axis=2) & np.isfinite(labels.values) & (labels.t1 >= 0)
    ok[: min(warmup, n)] = False
    t0, sym = np.nonzero(ok)  # row-major: ordered by bar, then symbol
    t1 = labels.t1[t0, sym]
    return Dataset(
        x=features.values[t0, sym],
        y=labels.values[t0, sym].astype(np.int64),
        t0=t0.astype(np.int64),
        t1=t1.astype(np.int64),
        symbol=sym.astype(np.int64),
        weight=uniqueness_weights(t0, t1, sym) if len(t0) else np.empty(0),
        returns=labels.returns[t0, sym],
        names=features.names,
    )
