"""alphaforge metrics against empyrical-reloaded on real and generated returns (rel. 1e-9).

Conventions that differ from empyrical and how they are bridged here:

* alphaforge takes *annual* risk-free / target rates and compounds them to a bar rate
  ``(1 + r) ** (1 / ppy) - 1``; empyrical's ``sharpe_ratio(risk_free=)``, ``sortino_ratio`` /
  ``downside_risk(required_return=)`` and ``alpha_beta(risk_free=)`` take the bar rate directly,
  so the tests pass the converted rate to empyrical. ``omega_ratio`` converts like alphaforge.
* alphaforge's information ratio is annualised: ``empyrical.excess_sharpe * sqrt(ppy)``.
* A ratio with a zero denominator is NaN in alphaforge (one rule for every ratio except the
  profit factor); empyrical gives ±inf for some (Sharpe with no dispersion, Sortino with no
  downside, tail ratio with a zero 5th percentile). Where empyrical answers ±inf, alphaforge must
  answer NaN.
* Skew and kurtosis are compared with ``scipy.stats.skew`` / ``kurtosis`` (the functions empyrical
  lists in ``SIMPLE_STAT_FUNCS``): biased, excess kurtosis.

Values whose size is below 1e-12 are compared with that absolute floor: two correct summations
in a different order can differ in the last bits of a number that is essentially zero.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import empyrical as ep
import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from alphaforge.analytics import benchmark_metrics as bm
from alphaforge.analytics import (
    compute_metrics,
    rolling_beta,
    rolling_sharpe,
    rolling_volatility,
    summary_metrics,
)
from alphaforge.analytics import returns_metrics as rm
from alphaforge.analytics.frequency import per_period_rate
from alphaforge.testing import shared_data_file

pytestmark = pytest.mark.parity

SYMBOLS = ("MSFT", "XOM", "JPM", "C")
RTOL = 1e-9
ATOL = 1e-12


def reference(func: Callable[..., float], *args: np.ndarray) -> float:
    """Call a reference function, silencing its divide-by-zero warnings (ours must not warn)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return float(func(*args))


def close(ours: float, ref: float) -> bool:
    if math.isnan(ref) or math.isinf(ref):
        return math.isnan(ours)  # zero denominator (see module doc)
    return math.isclose(ours, float(ref), rel_tol=RTOL, abs_tol=ATOL)


@pytest.fixture(scope="module")
def equities() -> dict[str, pd.Series]:
    """Adjusted closes of a few S&P 500 stocks, 1999-2019, as tz-aware UTC Series."""
    path = shared_data_file("us_equities_daily.parquet")
    df = pd.read_parquet(
        path,
        columns=["symbol", "timestamp", "adj_close"],
        filters=[("symbol", "in", list(SYMBOLS))],
    )
    out = {}
    for sym, g in df.groupby("symbol"):
        idx = pd.DatetimeIndex(g["timestamp"]).tz_localize("UTC")
        out[str(sym)] = pd.Series(g["adj_close"].to_numpy(dtype=float), idx, name=str(sym))
    return out


@pytest.fixture(scope="module")
def spy() -> pd.Series:
    df = pd.read_parquet(
        shared_data_file("us_etfs_daily.parquet"), filters=[("symbol", "==", "SPY")]
    )
    idx = pd.DatetimeIndex(df["timestamp"]).tz_localize("UTC")
    return pd.Series(df["adj_close"].to_numpy(dtype=float), idx, name="SPY")


def _returns(prices: pd.Series) -> np.ndarray:
    v = prices.to_numpy()
    return v[1:] / v[:-1] - 1.0


def single_series_cases(ppy: float, rf: float) -> dict[str, tuple[Callable, Callable]]:
    """metric -> (alphaforge function of r, empyrical/scipy function of r)."""
    rf_bar = per_period_rate(rf, ppy)
    return {
        "total_return": (rm.total_return, ep.cum_returns_final),
        "cagr": (lambda r: rm.cagr(r, ppy), lambda r: ep.annual_return(r, annualization=ppy)),
        "annual_volatility": (
            lambda r: rm.annual_volatility(r, ppy),
            lambda r: ep.annual_volatility(r, annualization=ppy),
        ),
        "sharpe": (
            lambda r: rm.sharpe_ratio(r, ppy, rf),
            lambda r: ep.sharpe_ratio(r, risk_free=rf_bar, annualization=ppy),
        ),
        "sortino": (
            lambda r: rm.sortino_ratio(r, ppy, rf),
            lambda r: ep.sortino_ratio(r, required_return=rf_bar, annualization=ppy),
        ),
        "downside_risk": (
            lambda r: rm.downside_risk(r, ppy, rf),
            lambda r: ep.downside_risk(r, required_return=rf_bar, annualization=ppy),
        ),
        "omega": (
            lambda r: rm.omega_ratio(r, ppy, rf),
            lambda r: ep.omega_ratio(r, required_return=rf, annualization=ppy),
        ),
        "max_drawdown": (rm.max_drawdown, ep.max_drawdown),
        "calmar": (
            lambda r: rm.calmar_ratio(r, ppy),
            lambda r: ep.calmar_ratio(r, annualization=ppy),
        ),
        "tail_ratio": (rm.tail_ratio, ep.tail_ratio),
        "var": (rm.value_at_risk, ep.value_at_risk),
        "cvar": (rm.conditional_value_at_risk, ep.conditional_value_at_risk),
        "var_1pct": (
            lambda r: rm.value_at_risk(r, 0.01),
            lambda r: ep.value_at_risk(r, 0.01),
        ),
        "cvar_1pct": (
            lambda r: rm.conditional_value_at_risk(r, 0.01),
            lambda r: ep.conditional_value_at_risk(r, 0.01),
        ),
        "stability": (rm.stability_of_timeseries, ep.stability_of_timeseries),
        "skew": (rm.skew, stats.skew),
        "kurtosis": (rm.kurtosis, stats.kurtosis),
    }


def pair_cases(ppy: float, rf: float) -> dict[str, tuple[Callable, Callable]]:
    """metric -> (alphaforge function of (r, b), empyrical function of (r, b))."""
    rf_bar = per_period_rate(rf, ppy)
    return {
        "alpha": (
            lambda r, b: bm.alpha(r, b, ppy, rf),
            lambda r, b: ep.alpha_beta(r, b, risk_free=rf_bar, annualization=ppy)[0],
        ),
        "beta": (bm.beta, lambda r, b: ep.alpha_beta(r, b, risk_free=rf_bar)[1]),
        "information_ratio": (
            lambda r, b: bm.information_ratio(r, b, ppy),
            lambda r, b: ep.excess_sharpe(r, b) * math.sqrt(ppy),
        ),
        "correlation": (bm.correlation, lambda r, b: stats.pearsonr(r, b)[0]),
        "tracking_error": (
            lambda r, b: bm.tracking_error(r, b, ppy),
            lambda r, b: np.std(r - b, ddof=1) * math.sqrt(ppy),
        ),
    }


def capture_cases() -> dict[str, tuple[Callable, Callable]]:
    # empyrical's capture ratios always annualise with 252 bars a year.
    return {
        "up_capture": (lambda r, b: bm.up_capture(r, b, 252), ep.up_capture),
        "down_capture": (lambda r, b: bm.down_capture(r, b, 252), ep.down_capture),
    }


@pytest.mark.parametrize("symbol", SYMBOLS)
@pytest.mark.parametrize(("ppy", "rf"), [(252.0, 0.0), (252.0, 0.04), (365.0, 0.02)])
def test_single_series_real(
    equities: dict[str, pd.Series], symbol: str, ppy: float, rf: float
) -> None:
    r = _returns(equities[symbol])
    failures = {}
    for name, (ours, ref) in single_series_cases(ppy, rf).items():
        a, b = ours(r), reference(ref, r)
        if not close(a, b):
            failures[name] = (a, b)
    assert not failures


@pytest.mark.parametrize("symbol", SYMBOLS)
@pytest.mark.parametrize("rf", [0.0, 0.03])
def test_benchmark_relative_real(
    equities: dict[str, pd.Series], spy: pd.Series, symbol: str, rf: float
) -> None:
    stock = equities[symbol].reindex(spy.index)
    assert not stock.isna().any()  # same 2017-2019 sessions
    r, b = _returns(stock), _returns(spy)
    cases = {**pair_cases(252.0, rf), **capture_cases()}
    failures = {}
    for name, (ours, ref) in cases.items():
        x, y = ours(r, b), reference(ref, r, b)
        if not close(x, y):
            failures[name] = (x, y)
    assert not failures


def test_compute_metrics_pipeline_real(equities: dict[str, pd.Series], spy: pd.Series) -> None:
    """The full report path (equity Series in) against empyrical on the same bars."""
    equity = 1e6 * equities["MSFT"].reindex(spy.index) / equities["MSFT"].reindex(spy.index).iloc[0]
    m = compute_metrics(equity, benchmark=spy, timeframe="1d", calendar="XNYS", risk_free=0.02)
    r, b = _returns(equity), _returns(spy)
    rf_bar = per_period_rate(0.02, 252)
    alpha, beta = ep.alpha_beta(r, b, risk_free=rf_bar)
    expected = {
        "total_return": ep.cum_returns_final(r),
        "cagr": ep.annual_return(r),
        "annual_volatility": ep.annual_volatility(r),
        "sharpe": ep.sharpe_ratio(r, risk_free=rf_bar),
        "sortino": ep.sortino_ratio(r, required_return=rf_bar),
        "downside_risk": ep.downside_risk(r, required_return=rf_bar),
        "calmar": ep.calmar_ratio(r),
        "omega": ep.omega_ratio(r, required_return=0.02),
        "max_drawdown": ep.max_drawdown(r),
        "var_95": ep.value_at_risk(r),
        "cvar_95": ep.conditional_value_at_risk(r),
        "tail_ratio": ep.tail_ratio(r),
        "stability": ep.stability_of_timeseries(r),
        "skew": stats.skew(r),
        "kurtosis": stats.kurtosis(r),
        "alpha": alpha,
        "beta": beta,
        "information_ratio": ep.excess_sharpe(r, b) * math.sqrt(252),
        "up_capture": ep.up_capture(r, b),
        "down_capture": ep.down_capture(r, b),
        "benchmark_return": ep.cum_returns_final(b),
    }
    bad = {k: (m[k], float(v)) for k, v in expected.items() if not close(m[k], float(v))}
    assert not bad
    # The engine's fast path gives the same numbers on the same real curve.
    fast = summary_metrics(equity.to_numpy(), 252, 0.02, benchmark=spy.to_numpy())
    assert set(fast) <= set(m)
    differ = {k: (v, m[k]) for k, v in fast.items() if not math.isclose(v, m[k], rel_tol=1e-12)}
    assert not differ


def test_rolling_real(equities: dict[str, pd.Series], spy: pd.Series) -> None:
    stock = equities["JPM"].reindex(spy.index)
    r = pd.Series(_returns(stock), spy.index[1:])
    b = pd.Series(_returns(spy), spy.index[1:])
    window = 63
    ours_sharpe = rolling_sharpe(r, window, 252).to_numpy()[window - 1 :]
    ours_vol = rolling_volatility(r, window, 252).to_numpy()[window - 1 :]
    ours_beta = rolling_beta(r, b, window).to_numpy()[window - 1 :]
    np.testing.assert_allclose(
        ours_sharpe, np.asarray(ep.roll_sharpe_ratio(r.to_numpy(), window=window)), rtol=RTOL
    )
    np.testing.assert_allclose(
        ours_vol, np.asarray(ep.roll_annual_volatility(r.to_numpy(), window=window)), rtol=RTOL
    )
    np.testing.assert_allclose(
        ours_beta, np.asarray(ep.roll_beta(r.to_numpy(), b.to_numpy(), window=window)), rtol=RTOL
    )


basis_points = st.integers(-3000, 3000).map(lambda bp: bp / 10_000)
returns_arrays = arrays(np.float64, st.integers(3, 400), elements=basis_points)


@settings(max_examples=150, deadline=None)
@given(
    r=returns_arrays, ppy=st.sampled_from([252.0, 365.0, 1764.0]), rf=st.sampled_from([0.0, 0.05])
)
def test_single_series_generated(r: np.ndarray, ppy: float, rf: float) -> None:
    failures = {}
    for name, (ours, ref) in single_series_cases(ppy, rf).items():
        a, b = ours(r), reference(ref, r)
        if not close(a, b):
            failures[name] = (a, b)
    assert not failures


@settings(max_examples=100, deadline=None)
@given(
    pair=st.integers(3, 300).flatmap(
        lambda n: st.tuples(
            arrays(np.float64, n, elements=basis_points),
            arrays(np.float64, n, elements=basis_points),
        )
    ),
    rf=st.sampled_from([0.0, 0.05]),
)
def test_benchmark_relative_generated(pair: tuple[np.ndarray, np.ndarray], rf: float) -> None:
    r, b = pair
    assume(np.ptp(b) > 0 and np.ptp(r) > 0 and np.ptp(r - b) > 0)
    failures = {}
    for name, (ours, ref) in pair_cases(252.0, rf).items():
        x, y = ours(r, b), reference(ref, r, b)
        if not close(x, y):
            failures[name] = (x, y)
    assert not failures


def test_zero_dispersion_is_nan_where_empyrical_is_inf() -> None:
    r = np.full(10, 0.001)
    assert math.isinf(ep.sharpe_ratio(r))
    assert math.isnan(rm.sharpe_ratio(r, 252))
