"""Pairs trading on a cointegrated pair (Engle–Granger), as target weights."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from pydantic import model_validator

from alphaforge.strategy.base import Strategy, StrategyData, StrategyParams, TargetWeights, param
from alphaforge.strategy.library._cointegration import critical_value, engle_granger
from alphaforge.strategy.library._common import PERIODS, period_start_mask


class PairsParams(StrategyParams):
    formation: int = param(
        252, ge=60, le=1000, step=21, description="Bars of log prices in the cointegration test"
    )
    window: int = param(
        60,
        ge=10,
        le=250,
        step=5,
        description="Rolling window of the hedge ratio and of the spread z-score",
    )
    entry_z: float = param(
        2.0,
        ge=1.0,
        le=4.0,
        step=0.25,
        description="Open when the spread z-score crosses beyond +/- this",
    )
    exit_z: float = param(
        0.5, ge=0.0, le=2.0, step=0.25, description="Close when |z| falls below this"
    )
    significance: str = param(
        "5%", choices=["1%", "5%", "10%"], description="Engle–Granger test level a pair must pass"
    )
    lags: int = param(
        1, ge=0, le=10, step=1, description="Lagged differences in the ADF regression"
    )
    reselect: str = param(
        "quarterly",
        choices=list(PERIODS),
        description="Re-run the pair selection on the first bar of each period",
    )
    gross: float = param(
        1.0,
        ge=0.1,
        le=2.0,
        step=0.1,
        description="Gross exposure of an open pair (sum of |weights|)",
    )

    @model_validator(mode="after")
    def _check(self) -> PairsParams:
        if self.exit_z >= self.entry_z:
            raise ValueError(
                f"exit_z ({self.exit_z}) must be smaller than entry_z ({self.entry_z})"
            )
        return self


def select_pair(logp: np.ndarray, lags: int, level: str) -> tuple[int, int] | None:
    """Columns ``(y, x)`` of the most cointegrated complete pair passing the test, or None."""
    ok = [j for j in range(logp.shape[1]) if not np.isnan(logp[:, j]).any()]
    best: tuple[float, int, int] | None = None
    crit = critical_value(level, logp.shape[0] - 1)
    for i, j in itertools.combinations(ok, 2):
        stat = engle_granger(logp[:, i], logp[:, j], lags).stat
        if stat < crit and (best is None or stat < best[0]):
            best = (stat, i, j)
    return None if best is None else (best[1], best[2])


def spread_z(y: np.ndarray, x: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Rolling hedge ratio ``beta = cov(y, x) / var(x)`` and the z-score of ``y - beta x``."""
    fy, fx = pd.Series(y), pd.Series(x)
    beta = (fy.rolling(window).cov(fx) / fx.rolling(window).var()).to_numpy()
    spread = pd.Series(y - beta * x)
    roll = spread.rolling(window)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = ((spread - roll.mean()) / roll.std()).to_numpy()
    return beta, z


class PairsTrading(Strategy[PairsParams]):
    """Statistical arbitrage on the most cointegrated pair of the universe.

    On the first bar of each ``reselect`` period, every pair of symbols with complete data over
    the last ``formation`` bars is tested (Engle–Granger on log prices, ADF on the residuals
    against MacKinnon's critical value at ``significance``); the pair with the most negative
    statistic is traded until the next selection, every other symbol is set to weight 0.
    Rolling over ``window`` bars: hedge ratio ``beta`` of log y on log x, spread
    ``log y - beta log x`` and its z-score. When z crosses above ``entry_z`` the spread is sold
    (y short, x long ``beta`` units); below ``-entry_z`` it is bought; when ``|z| < exit_z``
    both legs go to 0. Leg weights are ``gross / (1 + |beta|)`` and ``gross * beta / (1 + |beta|)``.
    Needs ``direction: long_short``. Warm-up: ``max(formation, 2 * window)`` bars plus one
    ``reselect`` period.
    """

    name = "pairs_trading"
    Params = PairsParams
    directions = ("long_short",)  # one leg of every trade is short

    def warmup(self) -> int:
        p = self.params
        period = {"daily": 1, "weekly": 5, "monthly": 23, "quarterly": 66}[p.reselect]
        return max(p.formation, 2 * p.window) + period

    def signals(self, data: StrategyData) -> TargetWeights:
        p = self.params
        with np.errstate(divide="ignore", invalid="ignore"):
            logp = np.log(data.close)
        n = data.shape[0]
        w = np.full(data.shape, np.nan)
        starts = np.flatnonzero(period_start_mask(data.index, data.panel.timeframe, p.reselect))
        need = max(p.formation, 2 * p.window)
        prev: tuple[int, int] | None = None
        for k, f in enumerate(starts):
            end = starts[k + 1] if k + 1 < len(starts) else n
            w[f] = 0.0
            pair = None
            if f + 1 >= need:
                pair = select_pair(logp[f + 1 - p.formation : f + 1], p.lags, p.significance)
            if pair is not None:
                if pair == prev:  # the same pair keeps any open position
                    w[f, list(pair)] = np.nan
                self._trade_segment(w, logp, pair, int(f), int(end), p)
            prev = pair
        return TargetWeights(weights=w, rebalance=np.ones(n, dtype=bool))

    @staticmethod
    def _trade_segment(
        w: np.ndarray, logp: np.ndarray, pair: tuple[int, int], f: int, end: int, p: PairsParams
    ) -> None:
        """Write the pair's entry/exit weights for bars ``f .. end - 1`` (NaN = hold)."""
        i, j = pair
        lo = f + 1 - 2 * p.window
        beta, z = spread_z(logp[lo:end, i], logp[lo:end, j], p.window)
        for t in range(f, end):
            zt, zp, b = z[t - lo], z[t - lo - 1], beta[t - lo]
            if np.isnan(zt) or np.isnan(b):
                continue
            scale = p.gross / (1.0 + abs(b))
            if zt > p.entry_z >= zp:
                w[t, i], w[t, j] = -scale, scale * b
            elif zt < -p.entry_z <= zp:
                w[t, i], w[t, j] = scale, -scale * b
            elif abs(zt) < p.exit_z:
                w[t, i] = w[t, j] = 0.0
