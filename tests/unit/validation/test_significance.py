"""PSR, MinTRL, expected maximum Sharpe and DSR against the papers, scipy and simulation."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from scipy import stats

from alphaforge.validation.significance import (
    EULER_GAMMA,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    mean_return_ttest,
    min_track_record_length,
    probabilistic_sharpe_ratio,
    psr_from_moments,
    sharpe_moments,
    sharpe_significance,
    trials_sharpe_stats,
)

# Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", J. of Portfolio Management 40(5),
# section "A numerical example": N = 100 independent trials, annualised variance of the trials'
# Sharpe ratios 1/2, the best trial has an annualised Sharpe ratio of 2.5 over five years of
# daily returns (T = 1,250, 250 days a year), skewness -3 and kurtosis 10. The paper reports
# E[max SR] ~ 0.1132 (non-annualised) and DSR ~ 0.9004.
PAPER_DAYS = 250
PAPER_N, PAPER_T = 100, 1250
PAPER_VAR = 0.5 / PAPER_DAYS
PAPER_SR = 2.5 / math.sqrt(PAPER_DAYS)
PAPER_SKEW, PAPER_KURT = -3.0, 10.0


def test_euler_gamma_is_numpy_constant() -> None:
    assert pytest.approx(np.euler_gamma, abs=1e-15) == EULER_GAMMA


def test_dsr_paper_expected_maximum_sharpe() -> None:
    """DSR paper (2014), numerical example: E[max SR_n] ~ 0.1132 per day."""
    sr0 = expected_max_sharpe(PAPER_N, PAPER_VAR)
    assert sr0 == pytest.approx(0.1132, abs=5e-5)


def test_dsr_paper_deflated_sharpe_ratio() -> None:
    """DSR paper (2014), numerical example: DSR ~ 0.9004."""
    dsr = deflated_sharpe_ratio(PAPER_SR, PAPER_T, PAPER_SKEW, PAPER_KURT, PAPER_N, PAPER_VAR)
    assert dsr == pytest.approx(0.9004, abs=5e-5)


def test_expected_max_sharpe_against_simulated_maximum() -> None:
    """The paper's approximation of E[max] of N iid normal Sharpe ratios, checked by simulation.

    For N = 100 standard normals E[max] is about 2.508 (order statistics); the approximation
    gives 2.531, so the two agree to about 1%.
    """
    rng = np.random.default_rng(7)
    var = 0.04
    simulated = float(np.max(rng.normal(0.0, math.sqrt(var), (20_000, 100)), axis=1).mean())
    assert expected_max_sharpe(100, var) == pytest.approx(simulated, rel=0.02)
    # the same formula with scipy's normal quantiles
    z = (1 - np.euler_gamma) * stats.norm.ppf(1 - 1 / 100) + np.euler_gamma * stats.norm.ppf(
        1 - 1 / (100 * math.e)
    )
    assert expected_max_sharpe(100, var) == pytest.approx(math.sqrt(var) * z, rel=1e-12)


def test_expected_max_sharpe_one_trial_and_bad_input() -> None:
    assert expected_max_sharpe(1, 0.3) == 0.0
    with pytest.raises(ValueError, match="n_trials"):
        expected_max_sharpe(0, 0.1)
    with pytest.raises(ValueError, match="var_trials"):
        expected_max_sharpe(10, -0.1)


def test_psr_paper_example_2012() -> None:
    """Sharpe Ratio Efficient Frontier (2012), PSR example: a hedge fund with 24 monthly returns,
    annualised SR 1.585, skewness -2.448, kurtosis 10.164 has PSR(0) ~ 0.913 (the paper's
    example as quoted to full precision in the test suite of esvhd/pypbo: 0.9132343)."""
    psr = psr_from_moments(1.585 / math.sqrt(12), 24, -2.448, 10.164, 0.0)
    assert psr == pytest.approx(0.9132343, abs=1e-6)


@pytest.mark.parametrize(
    ("sr_annual", "sr_star_annual", "periods", "skewness", "kurt", "years"),
    [
        (2.0, 1.0, 250, 0.0, 3.0, 2.7312),  # daily, normal returns
        (2.0, 1.0, 52, 0.0, 3.0, 2.8288),  # weekly, normal returns
        (3.0, 2.5, 12, -0.72, 5.78, 27.3529),  # monthly, negative skew and fat tails
    ],
)
def test_min_track_record_length_paper_examples_2012(
    sr_annual: float,
    sr_star_annual: float,
    periods: int,
    skewness: float,
    kurt: float,
    years: float,
) -> None:
    """Sharpe Ratio Efficient Frontier (2012), MinTRL examples in years at 95 %, as quoted in the
    test suite of esvhd/pypbo (which cites the paper's figure 8)."""
    root = math.sqrt(periods)
    n = min_track_record_length(sr_annual / root, skewness, kurt, sr_star_annual / root, 0.95)
    assert n / periods == pytest.approx(years, abs=1e-4)


@given(
    sr=st.floats(-0.5, 0.5),
    n=st.integers(2, 5000),
    sr_star=st.floats(-0.3, 0.3),
)
@settings(max_examples=100, deadline=None)
def test_psr_normal_returns_matches_lo_2002(sr: float, n: int, sr_star: float) -> None:
    """With normal moments (skew 0, kurtosis 3) the variance of the Sharpe estimate is Lo's
    (2002) ``(1 + SR^2 / 2) / (n - 1)``; the PSR is then scipy's normal CDF of the z-score."""
    expected = stats.norm.cdf((sr - sr_star) / math.sqrt((1 + sr * sr / 2) / (n - 1)))
    assert psr_from_moments(sr, n, 0.0, 3.0, sr_star) == pytest.approx(expected, abs=1e-12)


@given(
    sr=st.floats(0.01, 0.5),
    skewness=st.floats(-2.0, 2.0),
    excess=st.floats(0.0, 10.0),
    confidence=st.floats(0.5, 0.999),
)
@settings(max_examples=100, deadline=None)
def test_min_track_record_length_inverts_psr(
    sr: float, skewness: float, excess: float, confidence: float
) -> None:
    """Sharpe Ratio Efficient Frontier (2012), MinTRL: the track record length at which the PSR
    reaches the confidence level, checked with scipy's normal CDF."""
    kurt = skewness**2 + 1 + excess  # a feasible kurtosis
    n = min_track_record_length(sr, skewness, kurt, 0.0, confidence)
    var_term = 1 - skewness * sr + (kurt - 1) / 4 * sr * sr
    psr_at_n = stats.norm.cdf(sr * math.sqrt(n - 1) / math.sqrt(var_term))
    assert psr_at_n == pytest.approx(confidence, abs=1e-9)


def test_min_track_record_length_without_edge_is_infinite() -> None:
    assert min_track_record_length(0.05, sr_benchmark=0.05) == math.inf
    assert min_track_record_length(-0.1) == math.inf


def test_negative_skew_and_fat_tails_need_a_longer_track_record() -> None:
    """Sharpe Ratio Efficient Frontier (2012), section on MinTRL: negative skewness and positive
    excess kurtosis lengthen the track record needed for the same confidence."""
    normal = min_track_record_length(0.1, 0.0, 3.0)
    bad = min_track_record_length(0.1, -1.0, 8.0)
    assert bad > normal
    # normal case in closed form: 1 + (1 + SR^2/2) (z_0.95 / SR)^2
    assert normal == pytest.approx(1 + (1 + 0.005) * (stats.norm.ppf(0.95) / 0.1) ** 2)


def test_inconsistent_moments_are_refused() -> None:
    with pytest.raises(ValueError, match="inconsistent moments"):
        psr_from_moments(1.0, 100, 3.0, 1.0)


def test_sharpe_moments_match_scipy() -> None:
    r = np.random.default_rng(3).standard_t(5, 800) * 0.01 + 0.0005
    m = sharpe_moments(r)
    assert m.sr == pytest.approx(r.mean() / r.std(ddof=1), rel=1e-12)
    assert m.skew == pytest.approx(stats.skew(r), rel=1e-10)
    assert m.kurtosis == pytest.approx(stats.kurtosis(r, fisher=False), rel=1e-10)
    assert m.n == 800


def test_psr_under_the_null_rejects_at_its_nominal_rate() -> None:
    """Under H0 (iid normal returns with zero mean) P(PSR(0) > 0.95) is 5 %: the PSR is a
    one-sided test of size 5 %. 4,000 seeded track records of 250 days; 4 binomial sigmas."""
    rng = np.random.default_rng(11)
    sims = rng.normal(0.0, 0.01, (4000, 250))
    psr = np.array([probabilistic_sharpe_ratio(row) for row in sims])
    rate = float(np.mean(psr > 0.95))
    assert abs(rate - 0.05) < 4 * math.sqrt(0.05 * 0.95 / 4000)


def test_pure_noise_best_trial_is_not_significant_after_deflation() -> None:
    """The best of 100 skill-less trials looks significant alone (PSR > 0.95) but not once
    deflated: over 30 seeded sweeps no DSR reaches 0.95 and the median is near 0.5 (the best
    trial's Sharpe ratio scatters around the expected maximum, which is the DSR's benchmark)."""
    dsr, psr, var = [], [], []
    for seed in range(30):
        trials = np.random.default_rng(seed).normal(0.0, 0.01, (100, 500))
        ts = trials_sharpe_stats(trials)
        best = trials[int(np.nanargmax(ts.sharpes))]
        sig = sharpe_significance(best, 252, n_trials=ts.n_trials, var_trials=ts.var)
        dsr.append(sig.dsr)
        psr.append(sig.psr)
        var.append(ts.var)
    assert min(psr) > 0.95
    assert max(dsr) < 0.95
    assert 0.35 < float(np.median(dsr)) < 0.65
    # the variance of noise Sharpe ratios is about 1/T (Lo 2002 with SR = 0)
    assert float(np.mean(var)) == pytest.approx(1 / 500, rel=0.05)


def test_trials_sharpe_stats_against_numpy_and_nan_handling() -> None:
    rng = np.random.default_rng(2)
    m = rng.normal(0.001, 0.01, (6, 300)).astype(np.float32)
    ts = trials_sharpe_stats(m)
    m64 = m.astype(np.float64)
    expected = m64.mean(axis=1) / m64.std(axis=1, ddof=1)
    np.testing.assert_allclose(ts.sharpes, expected, rtol=1e-10)
    assert ts.var == pytest.approx(np.var(expected, ddof=1), rel=1e-10)
    # NaN bars (warm-up) are ignored; a constant trial has no Sharpe ratio but still counts
    m64[0, :50] = np.nan
    m64[1] = 0.0
    ts2 = trials_sharpe_stats(m64)
    assert ts2.sharpes[0] == pytest.approx(m64[0, 50:].mean() / m64[0, 50:].std(ddof=1))
    assert math.isnan(ts2.sharpes[1])
    assert (ts2.n_trials, ts2.n_valid) == (6, 5)
    with pytest.raises(ValueError, match="at least 2 trials"):
        trials_sharpe_stats(m64[:1])
    with pytest.raises(ValueError, match="trial 2"):
        trials_sharpe_stats(np.vstack([m64[2:4], np.full((1, 300), np.nan)]))


def test_sharpe_significance_fields_and_json() -> None:
    rng = np.random.default_rng(9)
    r = rng.normal(0.0008, 0.01, 1500)
    sig = sharpe_significance(r, 252, n_trials=50, var_trials=0.5 / 252)
    assert sig.sr_annual == pytest.approx(sig.sr * math.sqrt(252))
    assert sig.sr0 == pytest.approx(expected_max_sharpe(50, 0.5 / 252))
    assert sig.dsr == pytest.approx(psr_from_moments(sig.sr, 1500, sig.skew, sig.kurtosis, sig.sr0))
    assert sig.dsr < sig.psr
    assert sig.min_trl_years == pytest.approx(sig.min_trl / 252)
    # one trial: no deflation
    alone = sharpe_significance(r, 252)
    assert alone.dsr == pytest.approx(alone.psr)
    # a losing strategy never reaches the confidence: inf becomes null in JSON
    loser = sharpe_significance(-r, 252)
    assert loser.to_dict()["min_trl"] is None
    json.dumps(loser.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (np.array([]), "at least 2"),
        (np.array([0.01, np.nan, 0.02]), "NaN"),
        (np.full(10, 0.01), "constant"),
        (np.zeros((3, 3)), "1-D"),
    ],
)
def test_bad_returns_are_refused(bad: np.ndarray, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        sharpe_significance(bad, 252)


@given(
    arrays(
        np.float64,
        st.integers(2, 60),
        elements=st.floats(-0.5, 0.5, allow_nan=False, allow_subnormal=False),
    )
)
@settings(max_examples=100, deadline=None)
def test_ttest_matches_scipy(r: np.ndarray) -> None:
    """One-sample t-test of the mean trade return against scipy.stats.ttest_1samp."""
    if np.ptp(r) < 1e-6 * max(1.0, float(np.abs(r).max())):
        return  # (near-)constant samples: scipy's precision rules differ, covered below
    res = mean_return_ttest(r)
    greater = stats.ttest_1samp(r, 0.0, alternative="greater")
    two = stats.ttest_1samp(r, 0.0)
    assert res.t_stat == pytest.approx(float(greater.statistic), rel=1e-9, abs=1e-9)
    assert res.p_one_sided == pytest.approx(float(greater.pvalue), rel=1e-7, abs=1e-12)
    assert res.p_two_sided == pytest.approx(float(two.pvalue), rel=1e-7, abs=1e-12)
    assert res.df == r.size - 1


def test_ttest_edge_cases() -> None:
    assert mean_return_ttest(np.array([0.01, 0.01, 0.01])).p_one_sided == 0.0
    assert math.isnan(mean_return_ttest(np.zeros(4)).t_stat)
    with pytest.raises(ValueError, match="trade_returns: need at least 2"):
        mean_return_ttest(np.array([0.1]))
