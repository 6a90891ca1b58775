"""A strategy whose orders depend on a parameter: limit entries with ``limit=True``, market
entries otherwise. A run setting that acts only on limit / stop entries (``time_in_force``)
acts on some trials of a search over ``limit`` and is idle in the others."""

from __future__ import annotations

import numpy as np

from alphaforge.strategy import Signals, Strategy, StrategyData, StrategyParams, param


class LimitSomeParams(StrategyParams):
    fast: int = param(5, ge=2, le=50)
    slow: int = param(20, ge=5, le=200)
    limit: bool = param(False)


class LimitSome(Strategy[LimitSomeParams]):
    """A moving-average cross entering 1% under the close with ``limit=True``."""

    name = "limit_some"

    def warmup(self) -> int:
        return self.params.slow

    def signals(self, data: StrategyData) -> Signals:
        fast, slow = data.sma(self.params.fast), data.sma(self.params.slow)
        with np.errstate(invalid="ignore"):
            up, down = fast > slow, fast < slow
        price = data.close * 0.99 if self.params.limit else None
        return Signals(entries=up, exits=down, limit_price=price)
