"""RSI + MACD confirmation."""

from __future__ import annotations

import numpy as np
from pydantic import model_validator

from alphaforge.indicators.oscillators import macd, rsi
from alphaforge.strategy.base import (
    Signals,
    Strategy,
    StrategyData,
    StrategyParams,
    crossed_above,
    param,
)


class RsiMacdParams(StrategyParams):
    rsi_period: int = param(14, ge=2, le=50, step=1, description="RSI length (Wilder)")
    macd_fast: int = param(12, ge=2, le=50, step=1, description="MACD fast EMA length")
    macd_slow: int = param(26, ge=5, le=100, step=1, description="MACD slow EMA length")
    macd_signal: int = param(9, ge=2, le=50, step=1, description="MACD signal EMA length")
    rsi_entry: float = param(
        50.0, ge=30.0, le=70.0, step=5.0, description="RSI must be above this to enter"
    )
    rsi_exit: float = param(
        75.0,
        ge=55.0,
        le=95.0,
        step=5.0,
        description="Exit when RSI crosses above this (overbought)",
    )

    @model_validator(mode="after")
    def _check(self) -> RsiMacdParams:
        if self.macd_fast >= self.macd_slow:
            raise ValueError(
                f"macd_fast ({self.macd_fast}) must be smaller than macd_slow ({self.macd_slow})"
            )
        if self.rsi_entry >= self.rsi_exit:
            raise ValueError(
                f"rsi_entry ({self.rsi_entry}) must be below rsi_exit ({self.rsi_exit})"
            )
        return self


class RsiMacd(Strategy[RsiMacdParams]):
    """Momentum entries on a MACD cross, confirmed by RSI.

    Enter long when the MACD line crosses above its signal line while RSI is above
    ``rsi_entry`` (momentum confirms the cross); exit when the MACD line crosses below the signal
    line or RSI crosses above ``rsi_exit`` (overbought: take the move). Long only.
    Warm-up: ``max(10 * rsi_period, 5 * (macd_slow + macd_signal))`` bars, enough for the
    recursive Wilder and EMA smoothings to forget their seeds.
    """

    name = "rsi_macd"
    Params = RsiMacdParams

    def warmup(self) -> int:
        p = self.params
        return max(10 * p.rsi_period, 5 * (p.macd_slow + p.macd_signal))

    def signals(self, data: StrategyData) -> Signals:
        p = self.params
        key = ("macd", p.macd_fast, p.macd_slow, p.macd_signal)
        res = macd(data.close, p.macd_fast, p.macd_slow, p.macd_signal)
        line = data.cached((*key, "line"), lambda: np.asarray(res.macd))
        sig = data.cached((*key, "signal"), lambda: np.asarray(res.signal))
        r = data.cached(("rsi", p.rsi_period), lambda: np.asarray(rsi(data.close, p.rsi_period)))
        with np.errstate(invalid="ignore"):
            entries = crossed_above(line, sig) & (r > p.rsi_entry)
        level = np.full_like(r, p.rsi_exit)
        exits = crossed_above(sig, line) | crossed_above(r, level)
        return Signals(entries=entries, exits=exits)
