"""The compiled summary (analytics.kernels) against the NumPy form of summary_metrics.

The NumPy form is the definition (checked against empyrical in tests/parity); the compiled
passes take the same element-wise values and sum in another order, so every key must agree to
1e-12 relative (NaN where NaN), and curves the kernels do not take fall back to the NumPy form.
"""

from __future__ import annotations

import math
from typing import TypedDict

import numpy as np
import pytest

from alphaforge.analytics import metrics
from alphaforge.analytics.metrics import summary_metrics
from alphaforge.core.errors import DataError


class Curves(TypedDict):
    """The curves ``summary_metrics`` takes beside the equity."""

    benchmark: np.ndarray
    exposure: np.ndarray
    turnover: np.ndarray
    trades: dict[str, np.ndarray]


def _curves(seed: int, n: int) -> tuple[np.ndarray, Curves]:
    """An equity curve and the other curves of one run."""
    rng = np.random.default_rng(seed)
    eq = 1e5 * np.exp(np.cumsum(rng.normal(0.0, 1e-3 * rng.uniform(0.2, 5.0), n)))
    bench = 1e5 * np.exp(np.cumsum(rng.normal(0.0, 1e-3, n)))
    gross = np.where(rng.random(n) < 0.5, 0.0, rng.normal(0.0, 1e5, n))
    traded = np.where(rng.random(n) < 0.9, 0.0, rng.random(n) * 1e5)
    trades = {
        "pnl": rng.normal(0, 1, 15),
        "return": rng.normal(0, 0.1, 15),
        "bars_held": rng.integers(1, 9, 15),
    }
    return eq, {"benchmark": bench, "exposure": gross, "turnover": traded, "trades": trades}


def _assert_close(got: dict[str, float], ref: dict[str, float]) -> None:
    assert list(got) == list(ref)
    for key, want in ref.items():
        if math.isnan(want):
            assert math.isnan(got[key]), key
        else:
            assert got[key] == pytest.approx(want, rel=1e-12, abs=1e-15), key


@pytest.mark.parametrize("n", [2, 3, 10, 2_516, 200_003])
@pytest.mark.parametrize("rf", [0.0, 0.03])
def test_compiled_summary_equals_numpy_form(n: int, rf: float) -> None:
    eq, c = _curves(n, n)
    ppy = 252.0 if n < 10_000 else 98_280.0
    got = summary_metrics(eq, ppy, rf, **c)
    ref = metrics._summary_numpy(
        eq, ppy, rf, c["benchmark"], c["trades"], c["exposure"], c["turnover"]
    )
    _assert_close(got, ref)
    assert metrics._summary_compiled(eq, ppy, rf, None, None, None, None) is not None


def test_flat_stretches_and_flat_curves() -> None:
    # equal returns give a standard deviation of exactly 0 (Sharpe NaN), as in the NumPy form
    eq = np.concatenate([np.full(50, 1e5), 1e5 * 1.001 ** np.arange(1, 51)])
    flat = np.full(100, 1e5)
    for e in (eq, flat, 1e5 * 1.001 ** np.arange(100)):
        got = summary_metrics(e, 252.0, 0.02, benchmark=flat, exposure=np.zeros(100))
        ref = metrics._summary_numpy(e, 252.0, 0.02, flat, None, np.zeros(100), None)
        _assert_close(got, ref)
    doubling = summary_metrics(2.0 ** np.arange(20), 252.0)  # every return exactly 1.0
    assert math.isnan(doubling["sharpe"]) and doubling["annual_volatility"] == 0.0
    assert doubling["max_drawdown"] == 0.0 and doubling["max_drawdown_bars"] == 0.0


def test_hand_computed_drawdown() -> None:
    # 100 -> 120 -> 90 -> 95 -> 130: deepest drawdown 90/120 - 1 over two bars below the peak
    s = summary_metrics(np.array([100.0, 120.0, 90.0, 95.0, 130.0]), 4.0)
    assert s["max_drawdown"] == pytest.approx(-0.25)
    assert s["max_drawdown_bars"] == 2.0
    dd = np.array([0.0, 0.0, -0.25, 95 / 120 - 1, 0.0])
    assert s["ulcer_index"] == pytest.approx(math.sqrt((dd @ dd) / 5))
    assert s["total_return"] == pytest.approx(0.3)


@pytest.mark.parametrize("bad", [0.0, -5.0, np.nan, np.inf])
def test_curves_the_kernels_refuse_take_the_numpy_form(bad: float) -> None:
    eq = 1e5 * 1.001 ** np.arange(20)
    eq[7] = bad
    assert metrics._summary_compiled(eq, 252.0, 0.0, None, None, None, None) is None
    bench = 1e5 * 1.002 ** np.arange(20)
    with np.errstate(all="ignore"):
        _assert_close(summary_metrics(eq, 252.0, benchmark=bench),
                      metrics._summary_numpy(eq, 252.0, 0.0, bench, None, None, None))  # fmt: skip
    good = 1e5 * 1.001 ** np.arange(20)
    bench[3] = bad
    assert metrics._summary_compiled(good, 252.0, 0.0, bench, None, None, None) is None


def test_length_mismatches_are_refused() -> None:
    eq, short = np.full(5, 1e5), np.ones(4)
    calls = {
        "benchmark": lambda: summary_metrics(eq, 252.0, benchmark=short),
        "exposure": lambda: summary_metrics(eq, 252.0, exposure=short),
        "turnover": lambda: summary_metrics(eq, 252.0, turnover=short),
    }
    for key, call in calls.items():
        with pytest.raises(DataError, match=key):
            call()


@pytest.mark.parametrize("n", [2, 512, 513, 1_024, 5_000])
def test_turnover_from_fills_equals_the_per_bar_array(n: int) -> None:
    # fills as (bars, notional): several on a bar, on block edges (multiples of 512), the last
    # bar, signed values and a sum of exactly zero; the same number to the last bit
    rng = np.random.default_rng(n)
    eq = 1e5 * np.exp(np.cumsum(rng.normal(0.0, 1e-3, n)))
    bars = np.sort(np.concatenate([rng.integers(0, n, 40), [0, n - 1, n - 1, min(511, n - 1)]]))
    values = rng.normal(0.0, 1e4, bars.size)
    values[1] = -values[0] if bars[1] == bars[0] else values[1]
    for fills in ((bars, values), (bars[::-1], values[::-1])):  # in order, or not
        dense = np.zeros(n)
        np.add.at(dense, *fills)
        for form in (metrics._summary_compiled, metrics._summary_numpy):
            want = form(eq, 252.0, 0.0, None, None, None, dense)
            got = form(eq, 252.0, 0.0, None, None, None, fills)
            assert got is not None and want is not None
            assert got["turnover"] == want["turnover"]
    none = summary_metrics(eq, 252.0, turnover=(np.empty(0, np.int64), np.empty(0)))
    assert none["turnover"] == 0.0
    with pytest.raises(DataError, match="turnover"):
        summary_metrics(eq, 252.0, turnover=(np.array([n]), np.array([1.0])))


def test_deviations_from_the_benchmark_pass_equal_their_own_passes() -> None:
    # with a benchmark the squared deviations of the returns come from its pass: bit for bit
    # what the equity pass sums on its own
    from alphaforge.analytics import kernels as k

    rng = np.random.default_rng(11)
    for n in (2, 512, 1_025, 20_000):
        e = 1e5 * np.exp(np.cumsum(rng.normal(0.0, 1e-3, n + 1)))
        b = 1e5 * np.exp(np.cumsum(rng.normal(0.0, 1e-3, n + 1)))
        for rf_bar in (0.0, 1e-5):
            r = np.empty(n)
            own = k.equity_stats_nb(e, rf_bar, r, True)
            bs = k.benchmark_stats_nb(b, r, rf_bar, own[k.EQ_SUM_EX] / n, np.empty(n))
            assert bs[k.BM_SSD_EX] == own[k.EQ_SSD_EX] and bs[k.BM_DR2] == own[k.EQ_SSD_R]
