"""Z-score mean reversion."""

from __future__ import annotations

import numpy as np
from pydantic import model_validator

from alphaforge.indicators.volatility import zscore
from alphaforge.strategy.base import Signals, Strategy, StrategyData, StrategyParams, param


class ZScoreParams(StrategyParams):
    period: int = param(
        20, ge=5, le=250, step=1, description="Rolling window of the mean and standard deviation"
    )
    entry_z: float = param(
        2.0, ge=0.5, le=4.0, step=0.25, description="Enter when |z| exceeds this"
    )
    exit_z: float = param(
        0.0, ge=-1.0, le=2.0, step=0.25, description="Exit when z reverts past this"
    )

    @model_validator(mode="after")
    def _check(self) -> ZScoreParams:
        if self.exit_z >= self.entry_z:
            raise ValueError(
                f"exit_z ({self.exit_z}) must be smaller than entry_z ({self.entry_z})"
            )
        return self


class ZScoreReversion(Strategy[ZScoreParams]):
    """Mean reversion on the z-score of the close against its rolling mean.

    ``z = (close - SMA(period)) / std(period)`` (population std). Long entry when
    ``z < -entry_z``, exit when ``z > -exit_z``; with ``direction: long_short`` short when
    ``z > entry_z`` and cover when ``z < exit_z``. Warm-up: ``period`` bars.
    """

    name = "zscore_reversion"
    Params = ZScoreParams

    def warmup(self) -> int:
        return int(self.params.period)

    def signals(self, data: StrategyData) -> Signals:
        p = self.params
        z = data.cached(("zscore", p.period), lambda: np.asarray(zscore(data.close, p.period)))
        with np.errstate(invalid="ignore"):
            entries = z < -p.entry_z
            exits = z > -p.exit_z
            short_entries = z > p.entry_z
            short_exits = z < p.exit_z
        return Signals(entries, exits, short_entries=short_entries, short_exits=short_exits)
