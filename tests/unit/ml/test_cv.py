"""Purged k-fold with embargo and walk-forward splits on constructed timestamps."""

from __future__ import annotations

import numpy as np
import pytest

from alphaforge.core.errors import ConfigError
from alphaforge.ml.cv import Schedule, purged_kfold, walk_forward


def test_purged_kfold_by_hand() -> None:
    # 20 bars, one row each, every label spans 3 bars: t1 = t0 + 3
    t0 = np.arange(20)
    t1 = t0 + 3
    folds = purged_kfold(t0, t1, n_splits=4, embargo=0.1, min_samples=1)  # embargo 2 bars
    f = folds[1]  # test bars 5..9; its labels end at bar 12
    np.testing.assert_array_equal(f.test, [5, 6, 7, 8, 9])
    # before: t1 < 5 -> t0 <= 1; after: t0 > 12 + 2 -> 15..19
    np.testing.assert_array_equal(f.train, [0, 1, 15, 16, 17, 18, 19])
    first = folds[0]  # test 0..4, labels end at 7: train from t0 > 9
    np.testing.assert_array_equal(first.train, np.arange(10, 20))
    last = folds[3]  # test 15..19: train t1 < 15 -> t0 <= 11
    np.testing.assert_array_equal(last.train, np.arange(0, 12))
    no_embargo = purged_kfold(t0, t1, n_splits=4, embargo=0.0, min_samples=1)[1]
    np.testing.assert_array_equal(no_embargo.train, [0, 1, 13, 14, 15, 16, 17, 18, 19])


def test_purged_kfold_keeps_a_bar_in_one_fold_and_purges_by_t1() -> None:
    # two symbols per bar; one label of bar 2 ends far later (bar 9)
    t0 = np.repeat(np.arange(10), 2)
    t1 = t0 + 1
    t1[5] = 9  # bar 2, second symbol
    folds = purged_kfold(t0, t1, n_splits=2, embargo=0.0, min_samples=0)
    test_bars = [set(t0[f.test].tolist()) for f in folds]
    assert test_bars == [{0, 1, 2, 3, 4}, {5, 6, 7, 8, 9}]
    # fold 0's labels end at bar 9 (the long one): nothing after it can train
    assert len(folds[0].train) == 0
    # fold 1 (bars 5..9) keeps rows ending before bar 5: rows 0..4 (bars 0-2, t1 <= 3) and
    # 6, 7 (bar 3, t1 = 4); row 5 (bar 2, t1 = 9) and rows 8, 9 (bar 4, t1 = 5) are purged
    np.testing.assert_array_equal(folds[1].train, [0, 1, 2, 3, 4, 6, 7])


def test_too_few_samples_per_fold_is_refused() -> None:
    t0 = np.arange(30)
    with pytest.raises(ConfigError, match="fold 1 has 6 test samples, fewer than min_samples 50"):
        purged_kfold(t0, t0 + 1, n_splits=5, embargo=0.0, min_samples=50)


def test_walk_forward_by_hand() -> None:
    t0 = np.arange(20)
    t1 = t0 + 2
    folds = walk_forward(t0, t1, Schedule(every=5, train_bars=6, start=8), 20, min_samples=1)
    assert [(f.start, f.stop) for f in folds] == [(8, 13), (13, 18), (18, 20)]
    # refit at 8: labels known by 8 (t1 <= 8 -> t0 <= 6) from bar 8 - 6 = 2
    np.testing.assert_array_equal(folds[0].train, [2, 3, 4, 5, 6])
    np.testing.assert_array_equal(folds[0].test, [8, 9, 10, 11, 12])
    np.testing.assert_array_equal(folds[1].train, [7, 8, 9, 10, 11])
    np.testing.assert_array_equal(folds[2].test, [18, 19])
    for f in folds:
        assert t1[f.train].max() <= f.start  # no training label ends after its refit bar
    expanding = walk_forward(t0, t1, Schedule(5, None, 8), 20, min_samples=1)
    np.testing.assert_array_equal(expanding[1].train, np.arange(0, 12))
    with pytest.raises(ConfigError, match="refit at bar 8 has 5 training samples"):
        walk_forward(t0, t1, Schedule(5, 6, 8), 20, min_samples=10)
