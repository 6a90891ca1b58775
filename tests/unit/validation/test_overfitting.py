"""PBO by CSCV against a hand computation, noise and planted edges; degradation; walk-forward
efficiency by hand; SPA / Reality Check against arch called directly."""

from __future__ import annotations

import json
import math
import statistics
from itertools import combinations

import numpy as np
import pytest
from arch.bootstrap import SPA, RealityCheck
from scipy import stats

from alphaforge.validation.overfitting import (
    performance_degradation,
    probability_of_backtest_overfitting,
    spa_test,
    walk_forward_efficiency,
)
from alphaforge.validation.significance import sharpe_significance, trials_sharpe_stats

# ----------------------------------------------------------------------------- PBO

# T = 4 bars (rows), N = 3 trials (columns); with S = 4 every block is one row.
TINY = [
    [0.012, -0.021, 0.033],
    [0.025, 0.011, -0.014],
    [-0.008, 0.043, 0.027],
    [0.031, -0.004, 0.009],
]


def _tiny_by_hand() -> tuple[list[int], list[float], list[float], list[float]]:
    """Bailey et al. (2017), section 2 (CSCV steps 1-5), in plain Python for the tiny matrix.

    For every choice of 2 of the 4 rows as IS: the trial with the best IS Sharpe ratio
    (mean / sample std of its two IS returns), its OOS Sharpe ratio on the other two rows, its
    rank among the 3 OOS Sharpe ratios (1 = worst) and the logit of rank / (N + 1).
    """

    def sharpe(values: list[float]) -> float:
        return statistics.mean(values) / statistics.stdev(values)

    selected, logits, is_best, oos_best = [], [], [], []
    for is_rows in combinations(range(4), 2):
        oos_rows = [r for r in range(4) if r not in is_rows]
        is_sr = [sharpe([TINY[r][j] for r in is_rows]) for j in range(3)]
        oos_sr = [sharpe([TINY[r][j] for r in oos_rows]) for j in range(3)]
        best = max(range(3), key=lambda j: is_sr[j])
        rank = 1 + sum(1 for j in range(3) if oos_sr[j] < oos_sr[best])
        w = rank / 4
        selected.append(best)
        logits.append(math.log(w / (1 - w)))
        is_best.append(is_sr[best])
        oos_best.append(oos_sr[best])
    return selected, logits, is_best, oos_best


def test_cscv_tiny_case_matches_hand_computation() -> None:
    selected, logits, is_best, oos_best = _tiny_by_hand()
    res = probability_of_backtest_overfitting(np.array(TINY), n_blocks=4)
    assert res.n_combinations == 6
    assert res.selected.tolist() == selected
    np.testing.assert_allclose(res.logits, logits, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(res.is_perf, is_best, rtol=1e-10)
    np.testing.assert_allclose(res.oos_perf, oos_best, rtol=1e-10)
    assert res.pbo == pytest.approx(sum(1 for x in logits if x <= 0) / 6)
    assert res.prob_oos_loss == pytest.approx(sum(1 for x in oos_best if x < 0) / 6)


def test_vectorised_sharpe_equals_a_plain_metric_with_uneven_blocks_and_nan() -> None:
    """Block sums against a direct per-combination Sharpe ratio (numpy's nanmean / nanstd),
    with T not a multiple of S and NaN warm-up bars."""
    rng = np.random.default_rng(4)
    m = rng.normal(0.0003, 0.01, (203, 7))
    m[:9, 2] = np.nan

    def nan_sharpe(block: np.ndarray) -> np.ndarray:
        return np.nanmean(block, axis=0) / np.nanstd(block, axis=0, ddof=1)

    fast = probability_of_backtest_overfitting(m, n_blocks=6, periods_per_year=252)
    slow = probability_of_backtest_overfitting(m, n_blocks=6, metric=nan_sharpe)
    assert fast.selected.tolist() == slow.selected.tolist()
    np.testing.assert_allclose(fast.logits, slow.logits, rtol=1e-12)
    np.testing.assert_allclose(fast.is_perf, slow.is_perf * math.sqrt(252), rtol=1e-9)
    np.testing.assert_allclose(fast.oos_perf, slow.oos_perf * math.sqrt(252), rtol=1e-9)


def test_pure_noise_overfits_about_half_the_time() -> None:
    """Bailey et al. (2017): with skill-less trials the IS winner is an OOS coin flip, so PBO is
    about 0.5; averaged over 10 seeded sweeps of 50 trials x 1,000 bars."""
    pbos = [
        probability_of_backtest_overfitting(
            np.random.default_rng(seed).normal(0.0, 0.01, (1000, 50)), n_blocks=10
        ).pbo
        for seed in range(10)
    ]
    assert 0.4 < float(np.mean(pbos)) < 0.65


def test_pure_noise_full_size_sweep_high_pbo_and_low_dsr() -> None:
    """A sweep of 200 noise trials x 2,500 bars (float32, the sweep store's layout transposed),
    S = 16 (12,870 combinations): PBO well above 0 and the best trial's DSR far below 0.95."""
    sweep = np.random.default_rng(21).normal(0.0, 0.01, (200, 2500)).astype(np.float32)
    res = probability_of_backtest_overfitting(sweep.T)
    assert res.n_combinations == math.comb(16, 8)
    assert res.pbo > 0.3
    assert res.degradation.slope < 0.5  # IS performance does not carry over
    ts = trials_sharpe_stats(sweep)
    best = sweep[int(np.nanargmax(ts.sharpes))].astype(np.float64)
    sig = sharpe_significance(best, 252, n_trials=ts.n_trials, var_trials=ts.var)
    assert sig.dsr < 0.8


def test_planted_edge_among_noise_gives_low_pbo() -> None:
    rng = np.random.default_rng(8)
    m = rng.normal(0.0, 0.01, (2000, 40))
    m[:, 13] += 0.002  # annualised Sharpe about 3.2
    res = probability_of_backtest_overfitting(m)
    assert res.pbo < 0.02
    assert np.bincount(res.selected).argmax() == 13
    assert res.prob_oos_loss < 0.02


def test_shared_edge_with_one_better_trial_gives_low_pbo() -> None:
    rng = np.random.default_rng(3)
    m = rng.normal(0.0005, 0.01, (2000, 50))
    m[:, 10] += 0.0015
    res = probability_of_backtest_overfitting(m)
    assert res.pbo < 0.05
    json.dumps(res.to_dict(include_arrays=True), allow_nan=False)


@pytest.mark.parametrize(
    ("matrix", "n_blocks", "match"),
    [
        (np.zeros((20, 1)), 4, "at least 2 trials"),
        (np.zeros((20, 3)), 5, "even number"),
        (np.zeros((20, 3)), 0, "even number"),
        (np.zeros((6, 3)), 8, "6 bars"),
        (np.zeros(20), 4, "matrix"),
        (np.column_stack([np.zeros(20), np.full(20, np.nan)]), 4, "trial 1 has no finite"),
    ],
)
def test_pbo_refuses_bad_input(matrix: np.ndarray, n_blocks: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        probability_of_backtest_overfitting(matrix, n_blocks=n_blocks)


# ----------------------------------------------------------------------------- degradation


def test_performance_degradation_matches_scipy_linregress() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(1.0, 0.5, 300)
    y = 0.3 * x - 0.2 + rng.normal(0, 0.4, 300)
    deg = performance_degradation(x, y)
    ref = stats.linregress(x, y)
    assert deg.slope == pytest.approx(ref.slope, rel=1e-10)
    assert deg.intercept == pytest.approx(ref.intercept, rel=1e-10)
    assert deg.r2 == pytest.approx(ref.rvalue**2, rel=1e-10)
    assert deg.prob_oos_loss == pytest.approx(np.mean(y < 0))
    with pytest.raises(ValueError, match="one length"):
        performance_degradation(x, y[:-1])


# ----------------------------------------------------------------------------- walk-forward


def test_walk_forward_efficiency_by_hand() -> None:
    """WFE = annualised OOS return / annualised IS return (Pardo), CAGRs with 252 bars a year."""
    is_folds = [np.full(252, 0.001), np.full(252, -0.0005)]
    oos_folds = [np.full(63, 0.0005), np.full(63, 0.0002)]
    wfe = walk_forward_efficiency(is_folds, oos_folds, 252)
    is1, oos1 = 1.001**252 - 1, 1.0005**252 - 1
    assert wfe.per_fold[0] == pytest.approx(oos1 / is1)
    assert math.isnan(wfe.per_fold[1])  # the IS return was negative
    growth_is = 1.001**252 * 0.9995**252
    growth_oos = 1.0005**63 * 1.0002**63
    overall = (growth_oos ** (252 / 126) - 1) / (growth_is ** (252 / 504) - 1)
    assert wfe.overall == pytest.approx(overall)
    assert wfe.to_dict()["per_fold"] == [pytest.approx(oos1 / is1), None]
    with pytest.raises(ValueError, match="as many IS as OOS"):
        walk_forward_efficiency(is_folds, oos_folds[:1], 252)
    with pytest.raises(ValueError, match="fold 1"):
        walk_forward_efficiency(is_folds, [oos_folds[0], np.array([])], 252)


# ----------------------------------------------------------------------------- SPA


def test_spa_matches_arch_called_directly() -> None:
    """Same data, block size and seed: identical p-values to arch.bootstrap.SPA on losses
    (negative returns), and White's Reality Check (arch's RealityCheck) equals the upper one."""
    rng = np.random.default_rng(12)
    bench = rng.normal(0.0002, 0.01, 600)
    trials = rng.normal(0.0002, 0.01, (600, 8))
    trials[:, 3] += 0.0008
    res = spa_test(trials, bench, reps=400, block_size=5, seed=42)
    ref = SPA(-bench, -trials, block_size=5, reps=400, seed=42)
    ref.compute()
    assert res.p_lower == ref.pvalues["lower"]
    assert res.p_consistent == ref.pvalues["consistent"]
    assert res.p_upper == ref.pvalues["upper"]
    rc = RealityCheck(-bench, -trials, block_size=5, reps=400, seed=42)
    rc.compute()
    assert res.p_reality_check == rc.pvalues["upper"]
    assert res.p_lower <= res.p_consistent <= res.p_upper
    assert res.best_trial == 3
    assert res.best_mean_excess == pytest.approx(float((trials[:, 3] - bench).mean()))


def test_arch_spa_p_values_do_not_depend_on_studentize() -> None:
    """What SPAResult's docstring says of arch 8: the three p-values come from the
    non-studentised statistic, whatever the ``studentize`` flag. If a release of arch changes
    this, the docstring (and what p_consistent means) must change with it."""
    rng = np.random.default_rng(30)
    losses = rng.normal(0.0, 1.0, (300, 4)) * np.array([1.0, 3.0, 0.5, 2.0])
    bench = rng.normal(0.0, 1.0, 300)
    values = []
    for studentize in (True, False):
        spa = SPA(bench, losses, block_size=4, reps=300, seed=2, studentize=studentize)
        spa.compute()
        values.append(spa.pvalues.to_numpy())
    np.testing.assert_array_equal(values[0], values[1])


def test_spa_strong_edge_is_significant_and_runs_are_reproducible() -> None:
    rng = np.random.default_rng(5)
    trials = rng.normal(0.0, 0.01, (1000, 20))
    trials[:, 7] += 0.002
    res = spa_test(trials, reps=300, seed=1)
    assert res.p_consistent < 0.01
    assert res.p_upper < 0.01
    assert res.block_size >= 1
    assert spa_test(trials, reps=300, seed=1) == res
    json.dumps(res.to_dict(), allow_nan=False)


def test_spa_under_the_null_rarely_rejects() -> None:
    """White (2000) / Hansen (2005): with no trial better than the benchmark the Reality Check
    rejects at 5 % no more often than 5 % (it is conservative); 16 seeded null sweeps."""
    rejections = 0
    for seed in range(16):
        trials = np.random.default_rng(100 + seed).normal(0.0, 0.01, (400, 10))
        rejections += spa_test(trials, reps=200, block_size=3, seed=seed).p_upper < 0.05
    assert rejections <= 3


def test_spa_refuses_bad_input() -> None:
    with pytest.raises(ValueError, match="benchmark"):
        spa_test(np.zeros((50, 3)), np.zeros(49))
    with pytest.raises(ValueError, match="NaN"):
        spa_test(np.full((50, 3), np.nan))
