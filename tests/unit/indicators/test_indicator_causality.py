"""No look-ahead: an indicator's value at bar t never depends on bars after t.

For every registered indicator, the output computed on the first ``t`` bars equals the first
``t`` rows of the output computed on the whole input (bit for bit), on random panels whose
second column starts late. Computing bar by bar (streaming) therefore reproduces the batch
result. Also checks the kernels' running sums against exact per-window sums on long series.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _indicator_testkit import call, random_bars, rows
from hypothesis import given, settings
from hypothesis import strategies as st

from alphaforge.indicators import INDICATORS, rolling_std, sma, wma

NAMES = sorted(INDICATORS)


@pytest.mark.parametrize("name", NAMES)
@settings(max_examples=12, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 240), data=st.data())
def test_prefix_equals_full_run(name: str, seed: int, n: int, data: st.DataObject) -> None:
    t = data.draw(st.integers(1, n), label="t")
    late = data.draw(st.integers(0, n), label="late start")
    bars = random_bars(n, 2, seed, start_rows=(0, late))
    spec = INDICATORS[name]
    full = call(spec, bars)
    prefix = call(spec, rows(bars, slice(0, t)))
    for f, p in zip(full, prefix, strict=True):
        np.testing.assert_array_equal(p, f[:t])


@pytest.mark.parametrize("name", NAMES)
def test_streaming_bar_by_bar_equals_batch(name: str) -> None:
    spec = INDICATORS[name]
    bars = rows(random_bars(130, 1, seed=99), slice(None), col=0)
    batch = call(spec, bars)
    for t in range(1, 131):
        step = call(spec, rows(bars, slice(0, t)))
        for b, s in zip(batch, step, strict=True):
            np.testing.assert_array_equal(s[-1], b[t - 1])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), period=st.integers(2, 60), level=st.sampled_from([1.0, 1e4]))
def test_running_sums_stay_exact_over_long_series(seed: int, period: int, level: float) -> None:
    # references: math.fsum (exactly rounded) per window, numpy's two-pass std per window
    rng = np.random.default_rng(seed)
    x = level * np.exp(np.cumsum(rng.normal(0, 0.02, 5000)))
    w = np.lib.stride_tricks.sliding_window_view(x, period)
    exact_mean = np.array([math.fsum(r) / period for r in w])
    np.testing.assert_allclose(sma(x, period)[period - 1 :], exact_mean, rtol=1e-12)
    weights = np.arange(1, period + 1)
    exact_wma = np.array([math.fsum(r * weights) for r in w]) / weights.sum()
    np.testing.assert_allclose(wma(x, period)[period - 1 :], exact_wma, rtol=1e-11)
    std = rolling_std(x, period)[period - 1 :]
    np.testing.assert_allclose(std, w.std(axis=1), rtol=1e-9, atol=1e-12 * x.max())
