"""The rules the SMA and EMA crossovers share: signals and their batch path over a grid."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import ClassVar, Self, TypeVar

import numpy as np
from pydantic import model_validator

from alphaforge.strategy.base import (
    SignalBatch,
    Signals,
    Strategy,
    StrategyData,
    StrategyParams,
    cross_batch,
    crossed_above,
    line_stack,
)


class FastSlowParams(StrategyParams):
    """Base of a crossover's parameters (the subclass gives ``fast`` and ``slow`` their
    defaults, bounds and descriptions)."""

    fast: int
    slow: int

    @model_validator(mode="after")
    def _fast_below_slow(self) -> Self:
        fast, slow = self.fast, self.slow
        if fast >= slow:
            raise ValueError(f"fast ({fast}) must be smaller than slow ({slow})")
        return self


FS = TypeVar("FS", bound=FastSlowParams)


class AverageCross(Strategy[FS]):
    """A fast/slow crossover of two moving averages of the close (``data.sma`` or ``data.ema``,
    named by :attr:`average`) with parameters ``fast`` and ``slow``. Not a strategy of its own:
    the library's ``sma_cross`` and ``ema_cross`` set the average and the parameters.

    Entries when the fast line crosses above the slow one, exits (and short entries) when it
    crosses below. The batch path writes the same masks for a whole grid from one stack of the
    grid's lines, computed once per sweep by :meth:`batch_prepare`.
    """

    average: ClassVar[str] = "sma"

    def signals(self, data: StrategyData) -> Signals:
        p = self.params
        fast = getattr(data, self.average)(p.fast)
        slow = getattr(data, self.average)(p.slow)
        up = crossed_above(fast, slow)
        down = crossed_above(slow, fast)
        return Signals(entries=up, exits=down, short_entries=down, short_exits=up)

    @classmethod
    def _lines(
        cls, data: StrategyData
    ) -> tuple[Callable[[int], np.ndarray], Callable[[Sequence[int]], np.ndarray]]:
        """One line by length, and the stack of many computed in one call."""
        return getattr(data, cls.average), lambda lengths: data.average_stack(cls.average, lengths)

    @classmethod
    def batch_prepare(cls, data: StrategyData, params: Sequence[FS]) -> None:
        lengths = sorted({n for p in params for n in (int(p.fast), int(p.slow))})
        if lengths:
            line, compute = cls._lines(data)
            line_stack(data, line, lengths, compute)

    @classmethod
    def batch_signals(cls, data: StrategyData, params: Sequence[FS], out: SignalBatch) -> bool:
        pairs = [(int(p.fast), int(p.slow)) for p in params]
        line, compute = cls._lines(data)
        cross_batch(data, line, pairs, out, compute)
        return True
