"""Optuna tuning sees only the training rows of its fold, split again with purging."""

from __future__ import annotations

import numpy as np
import pytest

from alphaforge.ml import tuning
from alphaforge.ml.cv import Schedule
from alphaforge.ml.models import ModelSpec
from alphaforge.ml.train import train
from alphaforge.ml.tuning import TuneSpec, tune
from tests.unit.ml.test_models import N_BARS, _dataset


def test_tuning_fits_only_on_the_rows_it_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _dataset(0.7, seed=21)
    rows = np.flatnonzero(data.t0 < 300)
    seen: list[np.ndarray] = []
    real_fit = tuning.fit

    def spy(spec, x, y, w=None):  # type: ignore[no-untyped-def]
        seen.append(x)
        return real_fit(spec, x, y, w)

    monkeypatch.setattr(tuning, "fit", spy)
    tuned = tune(ModelSpec(), data, rows, TuneSpec(trials=3, folds=3))
    allowed = {tuple(r) for r in data.x[rows]}
    assert seen and all(tuple(r) in allowed for x in seen for r in x)
    # each inner fit leaves out its inner test third (and the purged rows around it)
    assert max(len(x) for x in seen) <= len(rows) - len(rows) // 3
    assert 1e-3 <= tuned.params["C"] <= 10.0


def test_tuned_walk_forward_finds_the_planted_signal() -> None:
    data = _dataset(0.7, seed=22)
    res = train(ModelSpec(), data, Schedule(every=200, train_bars=200, start=200), N_BARS,
                tuning=TuneSpec(trials=4, folds=3))  # fmt: skip
    assert all(s.auc > 0.6 for s in res.walk_forward)
    assert all("C" in m.model.spec.params for m in res.models)
