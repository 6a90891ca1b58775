"""Bollinger band + RSI mean reversion."""

from __future__ import annotations

import numpy as np

from alphaforge.indicators.oscillators import rsi
from alphaforge.indicators.volatility import bbands
from alphaforge.strategy.base import Signals, Strategy, StrategyData, StrategyParams, param


class BollingerRsiParams(StrategyParams):
    period: int = param(20, ge=5, le=100, step=1, description="Bollinger band length (SMA)")
    nbdev: float = param(
        2.0, ge=1.0, le=3.5, step=0.25, description="Band width in standard deviations"
    )
    rsi_period: int = param(14, ge=2, le=50, step=1, description="RSI length (Wilder)")
    oversold: float = param(
        30.0, ge=5.0, le=45.0, step=5.0, description="RSI below this confirms a long entry"
    )
    overbought: float = param(
        70.0, ge=55.0, le=95.0, step=5.0, description="RSI above this confirms a short entry"
    )


class BollingerRsi(Strategy[BollingerRsiParams]):
    """Mean reversion: buy a close below the lower Bollinger band when RSI is oversold.

    Long entry: ``close < lower band`` and ``RSI < oversold``; long exit: ``close > middle band``
    (the mean was reached). With ``direction: long_short`` the mirror image opens shorts
    (``close > upper`` and ``RSI > overbought``; cover below the middle band).
    Warm-up: ``max(period, 10 * rsi_period)`` bars (RSI's Wilder smoothing is recursive).
    """

    name = "bollinger_rsi"
    Params = BollingerRsiParams

    def warmup(self) -> int:
        p = self.params
        return max(p.period, 10 * p.rsi_period)

    def signals(self, data: StrategyData) -> Signals:
        p = self.params
        c = data.close
        bands = bbands(c, p.period, p.nbdev, p.nbdev)
        r = data.cached(("rsi", p.rsi_period), lambda: np.asarray(rsi(c, p.rsi_period)))
        up, mid, lo = (np.asarray(b) for b in bands[:3])
        with np.errstate(invalid="ignore"):
            entries = (c < lo) & (r < p.oversold)
            exits = c > mid
            short_entries = (c > up) & (r > p.overbought)
            short_exits = c < mid
        return Signals(entries, exits, short_entries=short_entries, short_exits=short_exits)
