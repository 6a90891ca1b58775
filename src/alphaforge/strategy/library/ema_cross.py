"""EMA crossover."""

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


class EmaCrossParams(StrategyParams):
    fast: int = param(
        12, ge=2, le=200, step=1, description="Fast exponential moving average length"
    )
    slow: int = param(
        26, ge=3, le=400, step=1, description="Slow exponential moving average length"
    )

    @model_validator(mode="after")
    def _fast_below_slow(self) -> EmaCrossParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be smaller than slow ({self.slow})")
        return self


class EmaCross(Strategy):
    """Trend following with two exponential moving averages of the close.

    Enter long at the next open after the fast EMA crosses above the slow EMA; exit (and, with
    ``direction: long_short``, go short) after it crosses below.
    Warm-up: ``5 * slow`` bars. An EMA is recursive: its TA-Lib seed (the SMA of the first
    ``slow`` closes) still weighs ``(1 - 2 / (slow + 1)) ** k`` after ``k`` bars, about
    ``exp(-10)`` after ``5 * slow`` bars, so earlier signals depend on where the data starts.
    """

    name = "ema_cross"
    Params = EmaCrossParams

    def warmup(self) -> int:
        return 5 * int(self.params.slow)  # type: ignore[attr-defined]

    def signals(self, data: StrategyData) -> Signals:
        p = self.params
        fast = data.ema(p.fast)  # type: ignore[attr-defined]
        slow = data.ema(p.slow)  # type: ignore[attr-defined]
        up = crossed_above(fast, slow)
        down = crossed_above(slow, fast)
        return Signals(entries=up, exits=down, short_entries=down, short_exits=up)

    @classmethod
    def batch_signals(
        cls, data: StrategyData, params: Sequence[StrategyParams], out: SignalBatch
    ) -> bool:
        return average_cross_batch(data, "ema", params, out)

    @classmethod
    def batch_prepare(cls, data: StrategyData, params: Sequence[StrategyParams]) -> None:
        average_cross_prepare(data, "ema", params)
