"""Allocators: hand-computed cases, bounds and sums, and no look-ahead in rolling estimates."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alphaforge.core.errors import ConfigError
from alphaforge.portfolio.allocators import (
    METHODS,
    AllocatorFallback,
    allocate,
    apply_bounds,
    equal_weight,
    inverse_volatility,
    max_sharpe,
    min_variance,
    risk_parity,
    rolling_weights,
)


def two_asset_returns() -> np.ndarray:
    # asset 0: +1%/-1% alternating (std s), asset 1: +2%,+2%,-2%,-2% (std 2s); zero covariance
    a = np.tile([0.01, -0.01, 0.01, -0.01], 25)
    b = np.tile([0.02, 0.02, -0.02, -0.02], 25)
    return np.column_stack([a, b])


def test_equal_weight() -> None:
    assert equal_weight(np.zeros((10, 4))).tolist() == [0.25] * 4


def test_inverse_vol_hand_computed() -> None:
    # std ratio 1 : 2 -> weights proportional to 1 : 1/2 -> 2/3, 1/3
    w = inverse_volatility(two_asset_returns())
    assert w == pytest.approx([2 / 3, 1 / 3], rel=1e-12)


def test_min_variance_two_asset_closed_form() -> None:
    rng = np.random.default_rng(2)
    r = rng.multivariate_normal([0, 0], [[1e-4, 3e-5], [3e-5, 4e-4]], 500)
    c = np.cov(r, rowvar=False)
    # w0 = (s1^2 - c12) / (s0^2 + s1^2 - 2 c12), the textbook two-asset minimum-variance weight
    w0 = (c[1, 1] - c[0, 1]) / (c[0, 0] + c[1, 1] - 2 * c[0, 1])
    assert min_variance(r) == pytest.approx([w0, 1 - w0], abs=1e-5)


def test_max_sharpe_matches_tangency_formula() -> None:
    rng = np.random.default_rng(4)
    r = rng.multivariate_normal([5e-4, 8e-4, 6e-4], np.diag([1e-4, 3e-4, 2e-4]), 1000)
    mu, c = r.mean(axis=0), np.cov(r, rowvar=False)
    raw = np.linalg.solve(c, mu)  # tangency portfolio with rf = 0: w ~ C^-1 mu (all > 0 here)
    assert (raw > 0).all()
    assert max_sharpe(r) == pytest.approx(raw / raw.sum(), abs=1e-4)


def test_max_sharpe_two_assets_hand_computed_with_a_risk_free_rate() -> None:
    # zero sample covariance, variances v and 4v: the tangency weights are proportional to
    # (mu - rf) / var = (0.002 - 0.0005) / v : (0.003 - 0.0005) / (4 v) = 0.0015 : 0.000625
    r = two_asset_returns() + np.array([0.002, 0.003])
    assert np.cov(r, rowvar=False)[0, 1] == pytest.approx(0.0, abs=1e-18)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AllocatorFallback)  # the normal path does not fall back
        w = max_sharpe(r, risk_free=0.0005)
    assert w == pytest.approx([0.0015 / 0.002125, 0.000625 / 0.002125], abs=1e-5)


def test_max_sharpe_without_a_positive_excess_mean_says_it_used_min_variance() -> None:
    r = two_asset_returns() - 0.001
    with pytest.warns(AllocatorFallback, match="max_sharpe: returned the min_variance") as rec:
        w = max_sharpe(r)
    assert "exceeds the risk-free rate" in str(rec[0].message)
    assert w == pytest.approx(min_variance(r), abs=1e-9)


def _failing_solver(monkeypatch: pytest.MonkeyPatch, exc: Exception) -> None:
    import pypfopt

    def fail(self: object, risk_free_rate: float = 0.0) -> None:
        raise exc

    monkeypatch.setattr(pypfopt.EfficientFrontier, "max_sharpe", fail)


def test_max_sharpe_solver_failure_falls_back_with_a_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pypfopt.exceptions import OptimizationError

    r = two_asset_returns() + 0.002
    expected = min_variance(r)
    _failing_solver(monkeypatch, OptimizationError("Solver status: infeasible"))
    with pytest.warns(AllocatorFallback, match="solver failed .*Solver status: infeasible") as rec:
        w = max_sharpe(r)
    warning = rec[0].message
    assert isinstance(warning, AllocatorFallback)
    assert (warning.method, warning.used) == ("max_sharpe", "min_variance")
    assert w == pytest.approx(expected, abs=1e-9)
    with warnings.catch_warnings():
        warnings.simplefilter("error", AllocatorFallback)
        with pytest.raises(AllocatorFallback, match="solver failed"):
            allocate("max_sharpe", r)


def test_max_sharpe_cvxpy_solver_error_falls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    from cvxpy.error import SolverError

    r = two_asset_returns() + 0.002
    _failing_solver(monkeypatch, SolverError("solver crashed"))
    with pytest.warns(AllocatorFallback, match="SolverError: solver crashed"):
        assert max_sharpe(r) == pytest.approx(min_variance(r), abs=1e-9)


def test_max_sharpe_does_not_hide_other_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    _failing_solver(monkeypatch, RuntimeError("a bug, not a numerical failure"))
    with pytest.raises(RuntimeError, match="a bug"):
        max_sharpe(two_asset_returns() + 0.002)


def test_rolling_max_sharpe_lists_the_bars_that_fell_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pypfopt.exceptions import OptimizationError

    rng = np.random.default_rng(3)
    close = 100 * np.exp(np.cumsum(rng.normal(1e-3, 0.01, (120, 2)), axis=0))
    rows = np.zeros(120, bool)
    rows[[30, 70, 110]] = True
    _failing_solver(monkeypatch, OptimizationError("Solver status: infeasible"))
    with pytest.warns(AllocatorFallback) as rec:
        w = rolling_weights("max_sharpe", close, rows, 20)
    fallbacks = [x.message for x in rec if isinstance(x.message, AllocatorFallback)]
    assert len(fallbacks) == 1 and fallbacks[0].bars == (30, 70, 110)
    assert "at 3 rebalance bar(s) (30, 70, 110)" in str(fallbacks[0])
    rets = close[1:] / close[:-1] - 1.0
    assert w[70] == pytest.approx(min_variance(rets[50:70]), abs=1e-6)


def test_risk_parity_equalises_risk_contributions() -> None:
    rng = np.random.default_rng(8)
    cov = np.array([[4e-4, 1e-4, 0.0], [1e-4, 1e-4, 2e-5], [0.0, 2e-5, 9e-4]])
    r = rng.multivariate_normal([0, 0, 0], cov, 800)
    w = risk_parity(r)
    c = np.cov(r, rowvar=False)
    contrib = w * (c @ w)
    assert contrib / contrib.sum() == pytest.approx([1 / 3] * 3, abs=1e-8)
    # two_asset_returns are exactly uncorrelated (each 4-bar block sums a*b to 0): ERC equals
    # inverse volatility, 2/3 and 1/3
    assert risk_parity(two_asset_returns()) == pytest.approx([2 / 3, 1 / 3], rel=1e-8)


def test_apply_bounds_caps_and_redistributes() -> None:
    w = apply_bounds(np.array([0.7, 0.2, 0.1]), 0.0, 0.4)
    # 0.3 excess spread pro rata over 0.2 and 0.1 -> 0.4, 0.2 -> 0.4 cap again -> 0.4, 0.4, 0.2
    assert w == pytest.approx([0.4, 0.4, 0.2])
    assert apply_bounds(np.array([1.0, 0.0]), 0.0, 0.3) == pytest.approx([0.5, 0.5])  # 1/n floor


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(2, 6),
    method=st.sampled_from(METHODS),
    hi=st.sampled_from([1.0, 0.6, 0.4]),
    lo=st.sampled_from([0.0, 0.05]),
)
def test_weights_sum_to_one_within_bounds(
    seed: int, n: int, method: str, hi: float, lo: float
) -> None:
    rng = np.random.default_rng(seed)
    vols = rng.uniform(0.005, 0.03, n)
    r = rng.normal(2e-4, vols, (200, n))
    w = allocate(method, r, min_weight=lo, max_weight=hi)
    assert w.sum() == pytest.approx(1.0, abs=1e-9)
    top, bottom = max(hi, 1 / n), min(lo, 1 / n)
    assert (w <= top + 1e-8).all() and (w >= bottom - 1e-8).all()


def test_unknown_method() -> None:
    with pytest.raises(ConfigError, match="unknown allocation method 'magic'"):
        allocate("magic", np.zeros((10, 2)))


@pytest.mark.parametrize("method", METHODS)
def test_rolling_weights_use_no_future_returns(method: str) -> None:
    rng = np.random.default_rng(1)
    close = 100 * np.exp(np.cumsum(rng.normal(3e-4, 0.01, (300, 3)), axis=0))
    rows = np.zeros(300, bool)
    rows[[50, 150, 250]] = True
    base = rolling_weights(method, close, rows, 60)
    changed = close.copy()
    changed[151:] *= np.exp(rng.normal(0, 0.05, (149, 3)))  # rewrite everything after bar 150
    again = rolling_weights(method, changed, rows, 60)
    np.testing.assert_allclose(again[:151], base[:151], equal_nan=True, atol=1e-9)
    assert (base[50] == 0).all()  # bar 50 < lookback 60: no full window -> weight 0
    assert base[150].sum() == pytest.approx(1.0)
    assert np.isnan(base[~rows]).all()
