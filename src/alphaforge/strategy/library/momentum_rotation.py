"""Cross-sectional momentum rotation."""

from __future__ import annotations

import numpy as np
from pydantic import model_validator

from alphaforge.strategy.base import Strategy, StrategyData, StrategyParams, TargetWeights, param
from alphaforge.strategy.library._common import (
    PERIODS,
    period_start_mask,
    top_n_weights,
    trailing_return,
)


class MomentumRotationParams(StrategyParams):
    lookback: int = param(252, ge=20, le=504, step=21, description="Trailing return window (bars)")
    skip: int = param(
        21, ge=0, le=63, step=1, description="Most recent bars left out (short-term reversal)"
    )
    top_n: int = param(3, ge=1, le=50, step=1, description="Number of symbols held")
    absolute: bool = param(
        False,
        choices=[False, True],
        description="Hold only symbols whose trailing return is positive (dual momentum)",
    )
    rebalance: str = param(
        "monthly", choices=list(PERIODS), description="Rebalance on the first bar of each period"
    )

    @model_validator(mode="after")
    def _check(self) -> MomentumRotationParams:
        if self.skip >= self.lookback:
            raise ValueError(f"skip ({self.skip}) must be smaller than lookback ({self.lookback})")
        return self


class MomentumRotation(Strategy[MomentumRotationParams]):
    """Hold the ``top_n`` symbols with the best trailing return, equally weighted.

    Score: ``close[t - skip] / close[t - lookback] - 1`` (12-1 momentum by default). On the first
    bar of each ``rebalance`` period the top ``top_n`` scores get weight ``1 / k`` (``k`` = ``top_n``
    or fewer when fewer symbols have a score) and every other symbol 0 (with ``absolute``, symbols with a non-positive score are left out and their
    share stays in cash). Warm-up: ``lookback`` bars.
    """

    name = "momentum_rotation"
    Params = MomentumRotationParams

    def warmup(self) -> int:
        return int(self.params.lookback)

    def signals(self, data: StrategyData) -> TargetWeights:
        p = self.params
        score = trailing_return(data.close, p.lookback, p.skip)
        rows = period_start_mask(data.index, data.panel.timeframe, p.rebalance)
        w = top_n_weights(score, p.top_n, rows)
        if p.absolute:
            with np.errstate(invalid="ignore"):
                w = np.where(rows[:, None] & ~(score > 0), 0.0, w)
        return TargetWeights(weights=w, rebalance=rows)
