"""Portfolio allocation strategy: hold every symbol, weighted by an allocator."""

from __future__ import annotations

from pydantic import model_validator

from alphaforge.portfolio.allocators import METHODS, rolling_weights
from alphaforge.strategy.base import Strategy, StrategyData, StrategyParams, TargetWeights, param
from alphaforge.strategy.library._common import PERIODS, period_start_mask


class AllocationParams(StrategyParams):
    method: str = param(
        "risk_parity",
        choices=list(METHODS),
        description="Allocator: equal, inverse_vol, risk_parity, min_variance, max_sharpe or hrp",
    )
    lookback: int = param(
        126,
        ge=20,
        le=756,
        step=21,
        description="Trailing bars of returns the allocator estimates from",
    )
    min_weight: float = param(
        0.0, ge=0.0, le=0.5, step=0.05, description="Lower weight bound per symbol"
    )
    max_weight: float = param(
        1.0, ge=0.05, le=1.0, step=0.05, description="Upper weight bound per symbol"
    )
    rebalance: str = param(
        "monthly", choices=list(PERIODS), description="Re-estimate on the first bar of each period"
    )

    @model_validator(mode="after")
    def _check(self) -> AllocationParams:
        if self.min_weight > self.max_weight:
            raise ValueError(
                f"min_weight ({self.min_weight}) exceeds max_weight ({self.max_weight})"
            )
        return self


class Allocation(Strategy[AllocationParams]):
    """A fully invested, long-only portfolio of all symbols, rebalanced by an allocator.

    On the first bar of each ``rebalance`` period the allocator (see
    :mod:`alphaforge.portfolio.allocators`) turns the last ``lookback`` one-bar returns of the
    symbols with a complete window into weights within ``[min_weight, max_weight]``; symbols
    without a full window get 0. Warm-up: ``lookback + 1`` bars.
    """

    name = "allocation"
    Params = AllocationParams

    def warmup(self) -> int:
        return int(self.params.lookback) + 1

    def signals(self, data: StrategyData) -> TargetWeights:
        p = self.params
        rows = period_start_mask(data.index, data.panel.timeframe, p.rebalance)
        w = rolling_weights(
            p.method, data.close, rows, p.lookback, min_weight=p.min_weight, max_weight=p.max_weight
        )
        return TargetWeights(weights=w, rebalance=rows)
