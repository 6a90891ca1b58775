"""ml_signal without a stored model: quarterly walk-forward refits on the bars it is given."""

from __future__ import annotations

import numpy as np

from alphaforge.ml.inline import InlineSpec, inline_probabilities, quarter_starts
from alphaforge.strategy.lookahead import check_lookahead
from tests.unit.ml._helpers import random_panel


def test_quarter_starts_are_the_first_bars_of_each_quarter() -> None:
    idx = random_panel(300, 1).index  # business days from 2015-01-05
    starts = quarter_starts(idx)
    assert [str(idx[i].date()) for i in starts[:3]] == ["2015-04-01", "2015-07-01", "2015-10-01"]


def test_predictions_start_at_the_first_quarter_after_the_window() -> None:
    panel = random_panel(700, 3, seed=2)
    spec = InlineSpec(horizon=5, train_bars=120)
    proba = inline_probabilities(panel, spec)
    first = spec.features.warmup() + spec.train_bars
    r0 = next(int(r) for r in quarter_starts(panel.index) if r >= first)
    assert np.isnan(proba[:r0]).all()
    assert np.isfinite(proba[r0:]).all()
    assert r0 <= spec.warmup()


def test_inline_ml_signal_passes_both_checks_of_the_detector() -> None:
    panel = random_panel(900, 3, seed=5)
    report = check_lookahead("ml_signal", panel, params={"train_bars": 120, "entry": 0.5},
                             cuts=12, starts=2)  # fmt: skip
    assert report.ok, report.summary()
    assert len(report.starts) == 2
