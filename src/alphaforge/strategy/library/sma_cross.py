"""SMA crossover."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import model_validator

from alphaforge.strategy.base import (
    SignalBatch,
    Signals,
    Strategy,
    StrategyData,
    StrategyParams,
    average_cross_batch,
    average_cross_prepare,
    crossed_above,
    param,
)


class SmaCrossParams(StrategyParams):
    fast: int = param(10, ge=2, le=200, step=1, description="Fast simple moving average length")
    slow: int = param(50, ge=3, le=400, step=1, description="Slow simple moving average length")

    @model_validator(mode="after")
    def _fast_below_slow(self) -> SmaCrossParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be smaller than slow ({self.slow})")
        return self


class SmaCross(Strategy):
    """Trend following with two simple moving averages of the close.

    Enter long at the next open after the fast SMA crosses above the slow SMA
    (``fast[t-1] < slow[t-1]`` and ``fast[t] > slow[t]``); exit at the next open after it crosses
    below. With ``direction: long_short`` the opposite cross also opens a short.
    Warm-up: ``slow`` bars.
    """

    name = "sma_cross"
    Params = SmaCrossParams

    def warmup(self) -> int:
        return int(self.params.slow)  # type: ignore[attr-defined]

    def signals(self, data: StrategyData) -> Signals:
        p = self.params
        fast = data.sma(p.fast)  # type: ignore[attr-defined]
        slow = data.sma(p.slow)  # type: ignore[attr-defined]
        up = crossed_above(fast, slow)
        down = crossed_above(slow, fast)
        return Signals(entries=up, exits=down, short_entries=down, short_exits=up)

    @classmethod
    def batch_signals(
        cls, data: StrategyData, params: Sequence[StrategyParams], out: SignalBatch
    ) -> bool:
        return average_cross_batch(data, "sma", params, out)

    @classmethod
    def batch_prepare(cls, data: StrategyData, params: Sequence[StrategyParams]) -> None:
        average_cross_prepare(data, "sma", params)
