"""Hand-computed metrics on tiny equity curves, input checks, and summary == full metrics."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from alphaforge.analytics import METRIC_INFO, compute_metrics, summary_metrics
from alphaforge.analytics import benchmark_metrics as bm
from alphaforge.analytics import returns_metrics as rm
from alphaforge.core.errors import DataError

# Equity 100 -> 110 -> 99 -> 108.9: returns +10%, -10%, +10%.
TINY = np.array([100.0, 110.0, 99.0, 108.9])


def test_tiny_curve_by_hand() -> None:
    s = summary_metrics(TINY, periods_per_year=3)  # three bars = one year
    assert s["total_return"] == pytest.approx(0.089)  # 1.1 * 0.9 * 1.1 - 1
    assert s["cagr"] == pytest.approx(0.089)  # exactly one year
    # mean = 1/30; deviations 1/15, -2/15, 1/15 -> sample var = (6/225) / 2 = 1/75.
    # mean / std = (1/30) * sqrt(75) = 1/sqrt(12); Sharpe = sqrt(3 / 12) = 0.5.
    assert s["annual_volatility"] == pytest.approx(math.sqrt(3 / 75))
    assert s["sharpe"] == pytest.approx(0.5)
    # Downside: only -0.1 is below 0: sqrt(0.01 / 3) per bar, times sqrt(3) -> 0.1.
    assert s["downside_risk"] == pytest.approx(0.1)
    # Sortino = mean * ppy / downside = (1/30 * 3) / 0.1 = 1.
    assert s["sortino"] == pytest.approx(1.0)
    assert s["omega"] == pytest.approx(0.2 / 0.1)  # gains 0.1 + 0.1 over loss 0.1
    # Peak 110, trough 99: -10%; 99 and 108.9 both close below 110 -> 2 bars under water.
    assert s["max_drawdown"] == pytest.approx(-0.1)
    assert s["max_drawdown_bars"] == 2
    assert s["calmar"] == pytest.approx(0.089 / 0.1)
    # Drawdowns 0, 0, -0.1, -0.01: sqrt((0.01 + 0.0001) / 4).
    assert s["ulcer_index"] == pytest.approx(math.sqrt(0.0101 / 4))


def test_tiny_curve_full_metrics_by_hand() -> None:
    idx = pd.DatetimeIndex(["2024-01-02", "2024-01-03", "2024-01-05", "2024-01-08"], tz="UTC")
    m = compute_metrics(pd.Series(TINY, idx), timeframe="1d")
    # The drawdown that began at the 110 peak (Jan 3) is still open at the last bar (Jan 8).
    assert m["max_drawdown_days"] == pytest.approx(5.0)
    assert math.isnan(m["recovery_bars"])
    assert m["best_bar"] == pytest.approx(0.1)
    assert m["worst_bar"] == pytest.approx(-0.1)
    # Daily bars: the first day holds only the starting value, so days = bars.
    assert m["best_day"] == pytest.approx(0.1)
    assert m["worst_day"] == pytest.approx(-0.1)
    # Whole sample is January 2024: one month, +8.9%.
    assert m["best_month"] == pytest.approx(0.089)
    assert m["worst_month"] == pytest.approx(0.089)
    # Returns 0.1, -0.1, 0.1: 5th percentile by linear interpolation is -0.1 + 0.1 * (0.1 * 2).
    assert m["var_95"] == pytest.approx(-0.08)
    assert m["cvar_95"] == pytest.approx(-0.1)  # floor(2 * 0.05) + 1 = 1 worst return


def test_drawdown_episodes_and_recovery() -> None:
    # 100 -> 90 -> 95 -> 100 (recovered) -> 120 -> 60 -> 130 (recovered).
    # Episode A: peak day 0, valley day 1 (-10%), recovered day 3, 2 bars under water.
    # Episode B: peak day 4, valley day 5 (-50%), recovered day 6, 1 bar under water.
    idx = pd.date_range("2024-03-01", periods=7, freq="D", tz="UTC")
    eq = pd.Series([100.0, 90.0, 95.0, 100.0, 120.0, 60.0, 130.0], idx)
    m = compute_metrics(eq, timeframe="1d", calendar="24/7")
    assert m["max_drawdown"] == pytest.approx(-0.5)
    assert m["max_drawdown_bars"] == 2  # episode A is the longest
    assert m["max_drawdown_days"] == pytest.approx(3.0)  # day 0 to day 3
    assert m["recovery_bars"] == 1  # deepest (B): valley day 5 to recovery day 6
    assert m["recovery_days"] == pytest.approx(1.0)


def test_benchmark_hand_case() -> None:
    # Strategy returns are exactly twice the benchmark's: beta 2, correlation 1, and the residual
    # (r - rf) - 2 (b - rf) = rf per bar, so the annualised alpha is the risk-free rate itself.
    b = np.array([0.01, -0.02, 0.015, 0.0, -0.005])
    r = 2 * b
    assert bm.beta(r, b) == pytest.approx(2.0)
    assert bm.correlation(r, b) == pytest.approx(1.0)
    assert bm.alpha(r, b, 252, risk_free=0.0) == pytest.approx(0.0, abs=1e-15)
    assert bm.alpha(r, b, 252, risk_free=0.03) == pytest.approx(0.03, rel=1e-12)
    # Active return = b; tracking error is the annualised std of b.
    assert bm.tracking_error(r, b, 252) == pytest.approx(np.std(b, ddof=1) * math.sqrt(252))
    # Up capture: bars with b > 0 are 0.01, 0.015; both CAGRs over 2 bars with ppy 2.
    up = ((1.02 * 1.03) - 1) / ((1.01 * 1.015) - 1)
    assert bm.up_capture(r, b, 2) == pytest.approx(up)


def test_exposure_and_turnover_by_hand() -> None:
    eq = np.array([100.0, 100.0, 100.0, 100.0])
    s = summary_metrics(
        eq,
        periods_per_year=3,
        exposure=np.array([0.0, 50.0, 100.0, 0.0]),
        turnover=np.array([0.0, 100.0, 0.0, 100.0]),
    )
    assert s["exposure_time"] == pytest.approx(0.5)  # 2 of 4 bars hold a position
    assert s["avg_exposure"] == pytest.approx((0 + 0.5 + 1 + 0) / 4)
    # Traded 200 on mean equity 100 over one year (3 return bars, ppy 3): turnover 2.
    assert s["turnover"] == pytest.approx(2.0)
    # Flat equity: no dispersion and no drawdown, so the ratios are undefined.
    assert math.isnan(s["sharpe"]) and math.isnan(s["sortino"]) and math.isnan(s["calmar"])
    assert s["max_drawdown"] == 0.0


def test_moments_and_parametric_var_by_hand() -> None:
    r = np.array([-0.02, 0.0, 0.01, 0.03])
    # mean 0.005; deviations -0.025, -0.005, 0.005, 0.025; m2 = 0.000325, m3 = 0.
    assert rm.skew(r) == pytest.approx(0.0, abs=1e-12)
    # m4 = 2 * (0.025**4 + 0.005**4) / 4; excess kurtosis = m4 / m2**2 - 3.
    m4 = 2 * (0.025**4 + 0.005**4) / 4
    assert rm.kurtosis(r) == pytest.approx(m4 / 0.000325**2 - 3)
    sd = math.sqrt(0.0013 / 3)
    z = -1.6448536269514722  # standard normal 5% quantile
    assert rm.parametric_var(r) == pytest.approx(0.005 + z * sd)
    # With zero skew the Cornish-Fisher quantile only moves by the kurtosis term.
    k = m4 / 0.000325**2 - 3
    assert rm.cornish_fisher_var(r) == pytest.approx(0.005 + (z + (z**3 - 3 * z) * k / 24) * sd)


def test_compute_metrics_rejects_bad_equity() -> None:
    idx = pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC")
    with pytest.raises(DataError, match=r"row 1"):
        compute_metrics(pd.Series([100.0, -1.0, 100.0], idx))
    with pytest.raises(DataError, match="nan"):
        compute_metrics(pd.Series([100.0, 101.0, np.nan], idx))
    with pytest.raises(DataError, match="DatetimeIndex"):
        compute_metrics(pd.Series([100.0, 101.0]))
    with pytest.raises(DataError, match="benchmark"):
        compute_metrics(pd.Series([1.0, 2.0, 3.0], idx), benchmark=pd.Series([1.0, 2.0], idx[:2]))
    with pytest.raises(DataError, match="exposure"):
        summary_metrics(np.ones(3), 252, exposure=np.ones(2))


def test_metric_info_covers_every_key() -> None:
    idx = pd.date_range("2024-01-01", periods=40, freq="D", tz="UTC")
    eq = pd.Series(100 * np.cumprod(1 + np.sin(np.arange(40)) / 50), idx)
    trades = pd.DataFrame(
        {
            "pnl": [1.0, -2.0],
            "return": [0.01, -0.02],
            "bars_held": [3, 4],
            "entry_time": idx[[1, 5]],
            "exit_time": idx[[4, 9]],
        }
    )
    m = compute_metrics(
        eq, trades, eq * 1.01, "1d", "24/7", 0.0, exposure=np.ones(40), turnover=np.ones(40)
    )
    # METRIC_INFO also describes the keys the backtest engine adds to result.metrics
    engine_keys = {"final_equity", "fees", "num_trades", "ambiguous_bars"}
    assert set(m) == set(METRIC_INFO) - engine_keys
    assert m["avg_holding_days"] == pytest.approx(3.5)  # (3 days + 4 days) / 2
    for info in METRIC_INFO.values():
        assert info.label and info.description


def _assert_same(summary: dict[str, float], full: dict[str, float]) -> None:
    assert set(summary) <= set(full)
    for key, value in summary.items():
        ref = full[key]
        if math.isnan(ref):
            assert math.isnan(value), key
        else:
            assert value == pytest.approx(ref, rel=1e-12, abs=1e-15), key


returns_strategy = arrays(
    np.float64,
    st.integers(3, 120),
    elements=st.integers(-2000, 2000).map(lambda bp: bp / 10_000),
)


@settings(max_examples=60, deadline=None)
@given(r=returns_strategy, rf=st.sampled_from([0.0, 0.02]), seed=st.integers(0, 2**16))
def test_summary_equals_full(r: np.ndarray, rf: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2021-01-04", periods=r.size + 1, freq="B", tz="UTC")
    eq = 1000.0 * np.concatenate(([1.0], np.cumprod(1 + r)))
    bench = 500.0 * np.concatenate(([1.0], np.cumprod(1 + rng.normal(0, 0.01, r.size))))
    trades = {
        "pnl": rng.normal(0, 10, 7),
        "return": rng.normal(0, 0.01, 7),
        "bars_held": np.ones(7),
    }
    expo = np.abs(rng.normal(500, 100, r.size + 1))
    s = summary_metrics(eq, 252, rf, bench, trades, expo, expo)
    full = compute_metrics(
        pd.Series(eq, idx),
        pd.DataFrame(trades),
        pd.Series(bench, idx),
        "1d",
        "XNYS",
        rf,
        exposure=expo,
        turnover=expo,
    )
    _assert_same(s, full)


def test_constant_returns_have_no_sharpe() -> None:
    # Equity growing by exactly 0.1% a bar: the returns are equal, so their dispersion is zero
    # (even if rounding leaves a residual of 1e-19 in the mean) and the Sharpe ratio is undefined.
    eq = 100 * 1.001 ** np.arange(11)
    assert math.isnan(rm.sharpe_ratio(np.full(10, 0.001), 252))
    s = summary_metrics(eq, 252)
    assert s["max_drawdown"] == 0.0
    assert math.isnan(s["calmar"])


def test_inferred_annualisation_matches_explicit() -> None:
    # Hourly bars every day of the week: inferred as 1h on a 24/7 calendar (8,760 bars a year).
    idx = pd.date_range("2024-01-01", periods=200, freq="h", tz="UTC")
    eq = pd.Series(100 * np.cumprod(1 + np.cos(np.arange(200)) / 100), idx)
    inferred = compute_metrics(eq, timeframe=None, calendar=None)
    explicit = compute_metrics(eq, timeframe="1h", calendar="24/7")
    assert inferred["sharpe"] == explicit["sharpe"]
    r = eq.to_numpy()[1:] / eq.to_numpy()[:-1] - 1
    assert explicit["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(8760))


def test_summary_rejects_misaligned_benchmark() -> None:
    with pytest.raises(DataError, match="benchmark: length 2"):
        summary_metrics(np.ones(3), 252, benchmark=np.ones(2))
