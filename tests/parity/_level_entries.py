"""A small strategy for the runtime's limit / stop entry tests: an SMA crossover whose entries
are limit, stop or stop-limit orders a fraction of the signal bar's close away."""

from __future__ import annotations

import numpy as np

from alphaforge.strategy.base import (
    Signals,
    Strategy,
    StrategyData,
    StrategyParams,
    crossed_above,
    param,
)


class LevelParams(StrategyParams):
    fast: int = param(5, ge=2, le=200, step=1, description="Fast SMA")
    slow: int = param(20, ge=3, le=400, step=1, description="Slow SMA")
    kind: str = param("limit", description="limit, stop or stop_limit")
    offset: float = param(0.01, ge=0.0, le=0.5, description="Distance from the close")


class LevelEntries(Strategy[LevelParams]):
    """Long on an up-cross, short on a down-cross; the entry waits for a better price
    (``limit``), a breakout (``stop``) or both (``stop_limit``: the limit beyond the stop)."""

    name = "level_entries"
    Params = LevelParams

    def warmup(self) -> int:
        return int(self.params.slow)

    def signals(self, data: StrategyData) -> Signals:
        p = self.params
        fast, slow = data.sma(p.fast), data.sma(p.slow)
        up = crossed_above(fast, slow)
        down = crossed_above(slow, fast)
        c = data.close
        d = np.where(up, 1.0, np.where(down, -1.0, np.nan))  # the entry's direction
        limit = c * (1.0 - d * p.offset)  # a buy below the close, a sell above
        stop = c * (1.0 + d * p.offset)  # a buy above the close, a sell below
        if p.kind == "stop_limit":
            limit = stop * (1.0 + d * p.offset / 2)  # beyond the stop
        return Signals(
            entries=up, exits=down, short_entries=down, short_exits=up,
            limit_price=None if p.kind == "stop" else limit,
            stop_price=None if p.kind == "limit" else stop,
        )  # fmt: skip
