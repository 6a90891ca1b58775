"""Engle–Granger test against statsmodels; the pairs strategy finds a cointegrated pair."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.tsa.adfvalues import mackinnoncrit
from statsmodels.tsa.stattools import adfuller, coint

from alphaforge.strategy.base import StrategyData, TargetWeights
from alphaforge.strategy.library._cointegration import critical_value, engle_granger
from alphaforge.strategy.library.pairs import PairsTrading, select_pair
from tests.unit.strategy._helpers import make_panel


def cointegrated_universe(n: int = 900, seed: int = 11) -> np.ndarray:
    """Four log-price random walks; column 2 = 0.8 * column 0 + stationary AR(1) noise."""
    rng = np.random.default_rng(seed)
    walks = np.cumsum(rng.normal(0, 0.01, (n, 4)), axis=0) + 4.0
    e = np.zeros(n)
    for t in range(1, n):
        e[t] = 0.8 * e[t - 1] + rng.normal(0, 0.01)
    walks[:, 2] = 0.8 * walks[:, 0] + 1.0 + e
    return np.exp(walks)


@pytest.mark.parametrize("lags", [0, 1, 3])
def test_engle_granger_statistic_matches_statsmodels(lags: int) -> None:
    logp = np.log(cointegrated_universe(300))
    ours = engle_granger(logp[:, 2], logp[:, 0], lags)
    ref = coint(logp[:, 2], logp[:, 0], trend="c", maxlag=lags, autolag=None)
    assert ours.stat == pytest.approx(ref[0], rel=1e-8)
    resid = logp[:, 2] - ours.alpha - ours.beta * logp[:, 0]
    adf = adfuller(resid, maxlag=lags, autolag=None, regression="n", result_object=False)
    assert ours.stat == pytest.approx(adf[0], rel=1e-8)
    assert ours.beta == pytest.approx(np.polyfit(logp[:, 0], logp[:, 2], 1)[0], rel=1e-9)


@pytest.mark.parametrize("nobs", [100, 252, 1000])
def test_critical_values_match_mackinnon(nobs: int) -> None:
    ref = mackinnoncrit(N=2, regression="c", nobs=nobs)
    got = [critical_value(level, nobs) for level in ("1%", "5%", "10%")]
    assert got == pytest.approx(list(ref), rel=1e-9)


def test_select_pair_finds_the_cointegrated_pair() -> None:
    logp = np.log(cointegrated_universe(300))
    assert select_pair(logp, 1, "5%") == (0, 2)
    # without the cointegrated column no pair passes at 1%
    assert select_pair(logp[:, [0, 1, 3]], 1, "1%") is None


def test_pairs_strategy_trades_mostly_the_cointegrated_pair_with_hedged_legs() -> None:
    panel = make_panel(cointegrated_universe(1500), ["A", "B", "C", "D"])
    out = PairsTrading(formation=252, window=40, significance="1%").signals(StrategyData(panel))
    assert isinstance(out, TargetWeights)
    w = out.weights
    opens = [t for t in range(len(w)) if np.nansum(np.abs(w[t])) > 0]
    assert len(opens) >= 5
    on_pair = 0
    for t in opens:  # an entry sets exactly two legs, opposite signs, gross exposure 1
        legs = np.flatnonzero(np.nan_to_num(np.abs(w[t])) > 0)
        assert len(legs) == 2
        assert np.sign(w[t, legs[0]]) == -np.sign(w[t, legs[1]])
        assert abs(w[t, legs[0]]) + abs(w[t, legs[1]]) == pytest.approx(1.0)
        on_pair += set(legs) == {0, 2}
    # random walks pass a 1% test now and then; the cointegrated pair dominates
    assert on_pair / len(opens) > 0.8
