"""Walk-forward training on the bars a strategy is given, for ``ml_signal`` without a stored
model.

At the first bar of each calendar quarter (bar ``r``) a model is fitted on the rows of the
trailing ``train_bars`` bars whose labels have ended by ``r`` (``t1 <= r``) and predicts the
bars up to the next quarter's first bar. A refit is made only when the whole trailing window
and the features' warm-up lie inside the data, so the same bar gets the same model however
much earlier history the data holds (the refit bars are calendar dates, not bar counts), and
appending bars never changes an earlier prediction.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from alphaforge.core.panel import Panel
from alphaforge.ml.dataset import build_dataset
from alphaforge.ml.features import FeatureSet, parse_features
from alphaforge.ml.labels import fixed_horizon
from alphaforge.ml.models import FittedModel, ModelSpec, fit
from alphaforge.ml.train import fold_weights

DEFAULT_FEATURES: FeatureSet = parse_features(
    [{"returns": {"windows": [1, 5, 20]}}, {"volatility": {"windows": [20]}}]
)
QUARTER_BARS = 66
"""Most trading days in a calendar quarter: the longest wait for the first refit."""


@dataclass(frozen=True)
class InlineSpec:
    """Label horizon, trailing window and model of the inline walk-forward."""

    horizon: int = 5
    train_bars: int = 252
    features: FeatureSet = DEFAULT_FEATURES
    model: ModelSpec = field(default_factory=ModelSpec)
    min_rows: int = 50

    def warmup(self) -> int:
        """Bars before the first refit can have happened."""
        return self.features.warmup() + self.train_bars + QUARTER_BARS


_FITTED: OrderedDict[str, FittedModel] = OrderedDict()
_CACHE_SIZE = 256


def _fit_cached(model: ModelSpec, x: np.ndarray, y: np.ndarray, w: np.ndarray) -> FittedModel:
    """``fit``, remembered by a digest of its inputs: the fit is deterministic, and the
    look-ahead detector and sweeps ask for the same refits on the same rows many times."""
    h = hashlib.blake2b(repr(model).encode(), digest_size=16)
    for a in (x, y, w):
        arr = np.ascontiguousarray(a)
        h.update(str(arr.shape).encode())
        h.update(arr.tobytes())
    key = h.hexdigest()
    hit = _FITTED.get(key)
    if hit is None:
        hit = fit(model, x, y, w)
        _FITTED[key] = hit
        while len(_FITTED) > _CACHE_SIZE:
            _FITTED.popitem(last=False)
    else:
        _FITTED.move_to_end(key)
    return hit


def quarter_starts(index: pd.DatetimeIndex) -> np.ndarray:
    """Positions of the bars that open a calendar quarter (the first bar is never one)."""
    key = np.asarray(index.year * 4 + (index.month - 1) // 3)
    return np.flatnonzero(key[1:] != key[:-1]) + 1


def inline_probabilities(panel: Panel, spec: InlineSpec) -> np.ndarray:
    """P(up over ``horizon`` bars) per bar and symbol; NaN where no refit has happened yet."""
    n, m = panel.shape
    proba = np.full((n, m), np.nan)
    if n <= spec.horizon + 1:
        return proba
    fm = spec.features.compute(panel)
    data = build_dataset(fm, fixed_horizon(panel.close, spec.horizon))
    refits = quarter_starts(panel.index)
    first = spec.features.warmup() + spec.train_bars
    for i, r in enumerate(refits):
        if r < first:
            continue
        rows = np.flatnonzero((data.t1 <= r) & (data.t0 >= r - spec.train_bars))
        y = data.y[rows]
        if len(rows) < spec.min_rows or len(np.unique(y)) < 2:
            continue
        model = _fit_cached(spec.model, data.x[rows], y, fold_weights(data, rows))
        stop = int(refits[i + 1]) if i + 1 < len(refits) else n
        x = fm.values[r:stop].reshape(-1, fm.values.shape[2])
        proba[r:stop] = model.predict_proba(x).reshape(stop - r, m)
    return proba
