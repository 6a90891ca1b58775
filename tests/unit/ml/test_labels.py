"""Labels and sample weights on hand-computed cases (AFML ch. 3 and 4)."""

from __future__ import annotations

import numpy as np
import pytest

from alphaforge.core.errors import ConfigError
from alphaforge.ml.labels import (
    BarrierSpec,
    fixed_horizon,
    meta_labels,
    triple_barrier,
    uniqueness_weights,
)

CLOSE = np.array([100.0, 101.0, 99.0, 104.0, 103.0, 103.5])


def test_fixed_horizon_sign_and_return() -> None:
    lab = fixed_horizon(CLOSE, 2)
    # close[t+2] / close[t] - 1: 99/100-1 < 0, 104/101-1 > 0, 103/99-1 > 0, 103.5/104-1 < 0
    np.testing.assert_array_equal(lab.values[:4, 0], [0, 1, 1, 0])
    assert np.isnan(lab.values[4:, 0]).all()
    np.testing.assert_array_equal(lab.t1[:, 0], [2, 3, 4, 5, -1, -1])
    assert lab.returns[1, 0] == pytest.approx(104 / 101 - 1)
    ret = fixed_horizon(CLOSE, 2, kind="return")
    assert ret.values[0, 0] == pytest.approx(-0.01)


def test_horizon_longer_than_the_data_is_refused() -> None:
    with pytest.raises(ConfigError, match="horizon: 6 bars is longer than the data"):
        fixed_horizon(CLOSE, 6)
    with pytest.raises(ConfigError, match="horizon: 10 bars is longer than the data"):
        triple_barrier(CLOSE, BarrierSpec(horizon=10))


def test_triple_barrier_first_touch_by_hand() -> None:
    # flat noise for the volatility window, then a path that touches the lower barrier first
    noise = 100 * np.cumprod(np.r_[1.0, np.tile([1.01, 1 / 1.01], 5)])  # 11 bars
    close = np.r_[noise, noise[-1] * np.array([0.995, 0.97, 1.10, 1.10])]
    spec = BarrierSpec(horizon=3, upper=2.0, lower=2.0, vol_window=10)
    lab = triple_barrier(close, spec)
    t = 10
    r = close[1:] / close[:-1] - 1
    sigma = np.std(r[t - 10 : t], ddof=1)  # returns of bars t-9..t
    path = close[t + 1 : t + 4] / close[t] - 1
    first = next(k for k in range(3) if path[k] <= -2 * sigma or path[k] >= 2 * sigma)
    assert path[first] < 0 and first == 1  # -3% at bar t+2 is the first touch
    assert lab.values[t, 0] == 0.0
    assert lab.t1[t, 0] == t + 1 + first
    assert lab.returns[t, 0] == pytest.approx(path[first])
    # the vertical barrier: a quiet path ends at t + horizon, labelled by its sign
    quiet = np.r_[noise, noise[-1] * np.array([1.001, 1.002, 1.003, 1.0])]
    q = triple_barrier(quiet, spec)
    assert q.t1[t, 0] == t + 3 and q.values[t, 0] == 1.0


def test_meta_labels_only_on_primary_entries_and_sided() -> None:
    noise = 100 * np.cumprod(np.r_[1.0, np.tile([1.01, 1 / 1.01], 5)])
    close = np.r_[noise, noise[-1] * np.array([0.995, 0.97, 0.96, 0.96])]
    spec = BarrierSpec(horizon=3, upper=2.0, lower=2.0, vol_window=10)
    long_ = np.zeros(len(close), bool)
    short = np.zeros(len(close), bool)
    long_[10] = True
    lab = meta_labels(close, long_, spec)
    assert np.isfinite(lab.values[:, 0]).sum() == 1
    assert lab.values[10, 0] == 0.0  # the long lost
    short[10] = True
    lab_s = meta_labels(close, np.zeros_like(long_), spec, short_entries=short)
    assert lab_s.values[10, 0] == 1.0  # the same move made the short money


def test_uniqueness_weights_by_hand() -> None:
    # spans [0,2], [1,3], [2,4]: concurrency 1,2,3,2,1 (AFML 4.3)
    w = uniqueness_weights(np.array([0, 1, 2]), np.array([2, 3, 4]))
    np.testing.assert_allclose(w, [(1 + 1 / 2 + 1 / 3) / 3, (1 / 2 + 1 / 3 + 1 / 2) / 3,
                                   (1 / 3 + 1 / 2 + 1) / 3])  # fmt: skip
    # another symbol's labels do not overlap these
    w2 = uniqueness_weights(np.array([0, 1, 0]), np.array([2, 3, 2]), np.array([0, 0, 1]))
    np.testing.assert_allclose(w2, [(1 + 1 / 2 + 1 / 2) / 3, (1 / 2 + 1 / 2 + 1) / 3, 1.0])
