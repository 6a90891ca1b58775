"""Multi-factor scoring from price data."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import model_validator

from alphaforge.strategy.base import Strategy, StrategyData, StrategyParams, TargetWeights, param
from alphaforge.strategy.library._common import (
    PERIODS,
    cross_rank,
    log_returns,
    period_start_mask,
    top_n_weights,
    trailing_return,
)


class MultiFactorParams(StrategyParams):
    momentum_lookback: int = param(
        252, ge=63, le=504, step=21, description="Momentum window (bars, skipping the last 21)"
    )
    reversal_lookback: int = param(
        756,
        ge=252,
        le=1260,
        step=63,
        description="Long-term reversal window (value proxy), skipping the last 252 bars",
    )
    vol_lookback: int = param(
        126, ge=21, le=504, step=21, description="Window of the volatility and stability factors"
    )
    w_momentum: float = param(
        1.0, ge=0.0, le=1.0, step=0.25, description="Weight of the momentum rank"
    )
    w_value: float = param(
        0.5, ge=0.0, le=1.0, step=0.25, description="Weight of the long-term reversal rank"
    )
    w_low_vol: float = param(
        1.0, ge=0.0, le=1.0, step=0.25, description="Weight of the low-volatility rank"
    )
    w_quality: float = param(
        0.5, ge=0.0, le=1.0, step=0.25, description="Weight of the return-stability rank"
    )
    top_n: int = param(5, ge=1, le=100, step=1, description="Number of symbols held")
    rebalance: str = param(
        "monthly", choices=list(PERIODS), description="Rebalance on the first bar of each period"
    )

    @model_validator(mode="after")
    def _check(self) -> MultiFactorParams:
        if self.w_momentum + self.w_value + self.w_low_vol + self.w_quality <= 0:
            raise ValueError("at least one factor weight must be positive")
        return self


def factor_scores(close: np.ndarray, p: MultiFactorParams) -> dict[str, np.ndarray]:
    """Raw factor values (higher is better) per bar and symbol."""
    roll = pd.DataFrame(log_returns(close)).rolling(p.vol_lookback)
    vol = roll.std().to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        stability = roll.mean().to_numpy() / vol
    return {
        "momentum": trailing_return(close, p.momentum_lookback, 21),
        "value": -trailing_return(close, p.reversal_lookback, 252),
        "low_vol": -vol,
        "quality": stability,
    }


class MultiFactor(Strategy[MultiFactorParams]):
    """Rank-combine four price-based factors and hold the best ``top_n`` symbols equally.

    Factors (each ranked across symbols into (0, 1] every bar, higher = better):

    - momentum: return from ``momentum_lookback`` bars ago to 21 bars ago;
    - value proxy: long-term reversal, minus the return from ``reversal_lookback`` to 252 bars
      ago (long-run losers tend to be cheap);
    - low volatility: minus the std of daily log returns over ``vol_lookback`` bars;
    - quality proxy: return stability, mean / std of daily log returns over ``vol_lookback``.

    The composite is the weighted mean of the ranks of the factors with a positive weight; a
    symbol needs all of them. On the first bar of each ``rebalance`` period the top ``top_n``
    composites get equal weight. Warm-up: the longest window (``reversal_lookback`` by default).
    """

    name = "multi_factor"
    Params = MultiFactorParams

    def warmup(self) -> int:
        p = self.params
        return max(p.momentum_lookback, p.reversal_lookback, p.vol_lookback + 1)

    def signals(self, data: StrategyData) -> TargetWeights:
        p = self.params
        raw = factor_scores(data.close, p)
        weights = {"momentum": p.w_momentum, "value": p.w_value, "low_vol": p.w_low_vol,
                   "quality": p.w_quality}  # fmt: skip
        total = np.zeros(data.shape)
        for name, w in weights.items():
            if w > 0:
                total = total + w * cross_rank(raw[name])
        composite = total / sum(weights.values())
        rows = period_start_mask(data.index, data.panel.timeframe, p.rebalance)
        return TargetWeights(weights=top_n_weights(composite, p.top_n, rows), rebalance=rows)
