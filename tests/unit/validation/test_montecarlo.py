"""Monte Carlo of trades and bootstraps of bar returns: metrics against alphaforge.analytics and
by hand, interval behaviour, seeds, ruin, the index generators against arch, bad input."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from arch.bootstrap import StationaryBootstrap
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from alphaforge.analytics.returns_metrics import max_drawdown, sharpe_ratio, total_return
from alphaforge.validation.montecarlo import (
    block_bootstrap_indices,
    bootstrap_returns,
    path_metrics,
    stationary_bootstrap_indices,
    trade_monte_carlo,
)


def _longest_underwater(equity: list[float]) -> int:
    """Longest run of steps below the running peak, the start (1.0) counting as a peak."""
    peak, run, best = 1.0, 0, 0
    for e in equity:
        peak = max(peak, e)
        run = run + 1 if e < peak else 0
        best = max(best, run)
    return best


# ----------------------------------------------------------------------------- path metrics


@given(
    arrays(
        np.float64,
        st.integers(2, 80),
        elements=st.floats(-0.3, 0.3, allow_nan=False, allow_subnormal=False),
    )
)
@settings(max_examples=100, deadline=None)
def test_path_metrics_agree_with_analytics(r: np.ndarray) -> None:
    m = path_metrics(r, 252)
    assert m.total_return[0] == pytest.approx(total_return(r), rel=1e-10, abs=1e-12)
    assert m.max_drawdown[0] == pytest.approx(max_drawdown(r), rel=1e-10, abs=1e-12)
    expected_sharpe = sharpe_ratio(r, 252)
    if math.isnan(expected_sharpe):
        assert math.isnan(m.sharpe[0])
    else:
        assert m.sharpe[0] == pytest.approx(expected_sharpe, rel=1e-9, abs=1e-9)
    assert m.longest_drawdown[0] == _longest_underwater(np.cumprod(1 + r).tolist())


def test_pnl_path_by_hand() -> None:
    # start 100, P&L +10, -20, +5, +30: equity 110, 90, 95, 125 (peak 110 until the last trade)
    m = path_metrics(np.array([10.0, -20.0, 5.0, 30.0]) / 100.0, 1.0, additive=True)
    assert m.total_return[0] == pytest.approx(0.25)
    assert m.max_drawdown[0] == pytest.approx(90 / 110 - 1)
    assert m.longest_drawdown[0] == 2
    assert m.min_equity[0] == pytest.approx(0.9)
    assert m.sharpe[0] == pytest.approx(
        np.mean([10, -20, 5, 30]) / np.std([10, -20, 5, 30], ddof=1)
    )


def test_simulated_paths_are_the_documented_draws() -> None:
    """A sample path rebuilt from the generator (same seed, same draw order) has the metrics
    the run reports, by alphaforge.analytics."""
    rng = np.random.default_rng(3)
    trades = rng.normal(0.004, 0.03, 120)
    res = trade_monte_carlo(trades, 60, method="resample", n_sims=200, seed=9)
    path = trades[np.random.default_rng(9).integers(0, trades.size, (200, trades.size))[17]]
    assert res.max_drawdown.samples[17] == pytest.approx(max_drawdown(path), rel=1e-12)
    assert res.sharpe.samples[17] == pytest.approx(sharpe_ratio(path, 60), rel=1e-10)
    bars = rng.normal(0.0003, 0.01, 400)
    boot = bootstrap_returns(bars, 252, block_length=7.5, n_sims=100, seed=4)
    idx = stationary_bootstrap_indices(bars.size, 100, 7.5, np.random.default_rng(4))
    assert boot.total_return.samples[42] == pytest.approx(total_return(bars[idx[42]]), rel=1e-10)
    assert boot.sharpe.samples[42] == pytest.approx(sharpe_ratio(bars[idx[42]], 252), rel=1e-10)


# ----------------------------------------------------------------------------- intervals


@pytest.mark.parametrize("method", ["reshuffle", "resample"])
def test_trade_intervals_contain_the_observed_path(method: str) -> None:
    trades = np.random.default_rng(1).normal(0.005, 0.04, 200)
    res = trade_monte_carlo(trades, 100, method=method, n_sims=2000, seed=2)  # type: ignore[arg-type]
    for dist in res.metrics:
        assert dist.ci_low <= dist.observed <= dist.ci_high, dist.name
    json.dumps(res.to_dict(), allow_nan=False)
    frame = res.to_frame()
    assert list(frame.index) == ["total_return", "max_drawdown", "sharpe", "longest_drawdown"]
    assert frame.loc["total_return", "observed"] == pytest.approx(total_return(trades))


@pytest.mark.parametrize("method", ["stationary", "block"])
def test_bar_bootstrap_intervals_contain_the_observed_path(method: str) -> None:
    bars = np.random.default_rng(6).normal(0.0004, 0.01, 1000)
    res = bootstrap_returns(bars, 252, method=method, block_length=20, n_sims=1000, seed=3)  # type: ignore[arg-type]
    for dist in res.metrics:
        assert dist.ci_low <= dist.observed <= dist.ci_high, dist.name
    assert res.block_length == 20


def test_intervals_shrink_with_more_trades() -> None:
    """Resampled Sharpe ratios: the interval narrows like 1 / sqrt(n) (Lo 2002: the standard
    error of a Sharpe ratio is sqrt((1 + SR^2 / 2) / n)), so 500 trades give an interval about
    sqrt(10) times narrower than 50 trades of the same distribution."""
    pool = np.random.default_rng(10).normal(0.01, 0.05, 500)
    few = trade_monte_carlo(pool[:50], 1, method="resample", n_sims=4000, seed=1)
    many = trade_monte_carlo(pool, 1, method="resample", n_sims=4000, seed=1)
    width_few = few.sharpe.ci_high - few.sharpe.ci_low
    width_many = many.sharpe.ci_high - many.sharpe.ci_low
    assert 2.4 < width_few / width_many < 4.2
    sr = pool.mean() / pool.std(ddof=1)
    assert many.sharpe.std == pytest.approx(math.sqrt((1 + sr * sr / 2) / 500), rel=0.15)


# ----------------------------------------------------------------------------- seeds


def test_fixed_seed_reproduces_and_other_seeds_differ() -> None:
    bars = np.random.default_rng(0).normal(0.0002, 0.01, 500)
    a = bootstrap_returns(bars, 252, block_length=5, n_sims=300, seed=7)
    b = bootstrap_returns(bars, 252, block_length=5, n_sims=300, seed=7)
    c = bootstrap_returns(bars, 252, block_length=5, n_sims=300, seed=8)
    assert a.to_dict() == b.to_dict()
    for x, y, z in zip(a.metrics, b.metrics, c.metrics, strict=True):
        np.testing.assert_array_equal(x.samples, y.samples)
        assert not np.array_equal(x.samples, z.samples)
    t1 = trade_monte_carlo(bars[:100], 50, n_sims=300, seed=7)
    t2 = trade_monte_carlo(bars[:100], 50, n_sims=300, seed=7)
    np.testing.assert_array_equal(t1.max_drawdown.samples, t2.max_drawdown.samples)


# ----------------------------------------------------------------------------- reshuffle


def test_reshuffle_keeps_total_return_and_moves_drawdown() -> None:
    trades = np.random.default_rng(4).normal(0.003, 0.05, 150)
    res = trade_monte_carlo(trades, 75, n_sims=1000, seed=5)
    exact = float(np.prod(1 + trades) - 1)
    assert res.total_return.observed == pytest.approx(exact, rel=1e-12)
    assert np.all(res.total_return.samples == res.total_return.observed)
    assert res.total_return.ci_low == res.total_return.ci_high
    assert res.max_drawdown.std > 0  # the order matters for the drawdown
    assert res.longest_drawdown.ci_low < res.longest_drawdown.ci_high
    # an explicit permutation gives the same product up to rounding
    perm = np.random.default_rng(1).permutation(trades)
    assert path_metrics(perm, 75).total_return[0] == pytest.approx(exact, rel=1e-12)
    pnl = trade_monte_carlo(trades * 1000, 75, pnl=True, start_equity=1000, n_sims=200)
    assert pnl.total_return.observed == pytest.approx(float(trades.sum()), rel=1e-12)


# ----------------------------------------------------------------------------- ruin


def test_probability_of_ruin_extremes() -> None:
    winners = np.random.default_rng(2).uniform(0.001, 0.05, 80)
    res = trade_monte_carlo(winners, 40, method="resample", n_sims=500, ruin_loss=0.01)
    assert res.prob_ruin == 0.0
    assert res.max_drawdown.ci_low == 0.0
    loser = np.full(50, -0.05)  # 0.95 ** 50 = 0.077 of the start
    assert trade_monte_carlo(loser, 50, n_sims=100).prob_ruin == 1.0
    bleed = np.random.default_rng(3).normal(-30.0, 5.0, 60)  # about -1,800 on 1,000
    pnl = trade_monte_carlo(bleed, 60, pnl=True, start_equity=1000, method="resample", n_sims=300)
    assert pnl.prob_ruin == 1.0


def test_probability_of_ruin_matches_a_direct_count() -> None:
    trades = np.random.default_rng(8).normal(0.0, 0.08, 100)
    res = trade_monte_carlo(trades, 50, method="resample", n_sims=500, seed=3, ruin_loss=0.4)
    draws = trades[np.random.default_rng(3).integers(0, 100, (500, 100))]
    equity = np.cumprod(1 + draws, axis=1)
    assert res.prob_ruin == pytest.approx(np.mean(equity.min(axis=1) < 0.6))


# ----------------------------------------------------------------------------- index generators


def _mean_run_length(idx: np.ndarray, n: int) -> float:
    """Mean length of runs of consecutive (circular) indices in each row."""
    breaks = np.count_nonzero(idx[:, 1:] != (idx[:, :-1] + 1) % n)
    return idx.size / (breaks + idx.shape[0])


def test_stationary_indices_against_arch_and_theory() -> None:
    """Politis & Romano (1994): blocks start with probability 1/L, so a path of n bars has
    1 + (n - 1) / L blocks on average; arch's StationaryBootstrap gives the same run lengths."""
    n, mean_block, reps = 300, 8, 600
    ours = stationary_bootstrap_indices(n, reps, mean_block, np.random.default_rng(0))
    bs = StationaryBootstrap(mean_block, np.arange(n), seed=1)
    theirs = np.array([pos[0] for pos, _ in bs.bootstrap(reps)])
    theory = n / (1 + (n - 1) / mean_block)
    assert _mean_run_length(ours, n) == pytest.approx(theory, rel=0.03)
    assert _mean_run_length(theirs, n) == pytest.approx(theory, rel=0.03)
    # every bar is equally likely at every position (the resampled series is stationary)
    counts = np.bincount(ours.ravel(), minlength=n)
    assert counts.min() > 0.75 * reps and counts.max() < 1.25 * reps


def test_block_indices_are_circular_runs_of_fixed_length() -> None:
    n, block = 103, 10
    idx = block_bootstrap_indices(n, 50, block, np.random.default_rng(2))
    assert idx.shape == (50, n)
    steps = (idx[:, 1:] - idx[:, :-1]) % n
    inside = (np.arange(1, n) % block) != 0
    assert np.all(steps[:, inside] == 1)
    bars = np.random.default_rng(2).normal(0.0, 0.01, n)
    assert (
        bootstrap_returns(bars, 252, method="block", block_length=7.5, n_sims=20).block_length == 8
    )


def test_default_block_length_is_politis_white() -> None:
    bars = np.random.default_rng(5).normal(0.0, 0.01, 600)
    res = bootstrap_returns(bars, 252, n_sims=50)
    assert res.block_length is not None and 1.0 <= res.block_length <= 600


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("trades", "kwargs", "match"),
    [
        (np.array([]), {}, "trades: empty"),
        (np.array([0.01, np.nan]), {}, "1 NaN"),
        (np.array([0.01, -1.0]), {}, "-100%"),
        (np.array([0.01, 0.02]), {"n_sims": 0}, "n_sims"),
        (np.array([0.01, 0.02]), {"confidence": 1.5}, "confidence"),
        (np.array([0.01, 0.02]), {"ruin_loss": 0.0}, "ruin_loss"),
        (np.array([0.01, 0.02]), {"method": "jackknife"}, "method"),
        (np.array([10.0, -5.0]), {"pnl": True, "start_equity": 0.0}, "start_equity"),
    ],
)
def test_trade_monte_carlo_refuses_bad_input(trades: np.ndarray, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        trade_monte_carlo(trades, 50, **kwargs)


@pytest.mark.parametrize(
    ("returns", "kwargs", "match"),
    [
        (np.array([]), {}, "returns: empty"),
        (np.array([0.01, np.inf, 0.0]), {}, "NaN or infinite"),
        (np.zeros((3, 2)), {}, "1-D"),
        (np.full(10, 0.01), {"block_length": 0.5}, "block_length"),
        (np.full(10, 0.01), {"block_length": 11}, "block_length"),
        (np.full(10, 0.01), {"periods_per_year": 0.0}, "periods_per_year"),
    ],
)
def test_bootstrap_refuses_bad_input(returns: np.ndarray, kwargs: dict, match: str) -> None:
    ppy = kwargs.pop("periods_per_year", 252)
    with pytest.raises(ValueError, match=match):
        bootstrap_returns(returns, ppy, **kwargs)
