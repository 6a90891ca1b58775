"""Donchian channel breakout with an ATR stop (turtle style)."""

from __future__ import annotations

import numpy as np

from alphaforge.indicators.volatility import donchian
from alphaforge.strategy.base import Signals, Strategy, StrategyData, StrategyParams, param, shift


class DonchianParams(StrategyParams):
    entry: int = param(
        55, ge=5, le=250, step=1, description="Breakout window: enter on a new N-bar high"
    )
    exit: int = param(20, ge=2, le=120, step=1, description="Exit window: leave on a new M-bar low")
    atr_period: int = param(20, ge=5, le=100, step=1, description="ATR length of the stop")
    atr_stop: float = param(
        2.0, ge=0.5, le=6.0, step=0.5, description="Stop distance in ATRs from the signal close"
    )


class DonchianBreakout(Strategy[DonchianParams]):
    """Turtle-style breakout: enter on an N-bar high, exit on an M-bar low, stop at k ATRs.

    Enter long when the close exceeds the highest high of the previous ``entry`` bars; exit when
    it falls below the lowest low of the previous ``exit`` bars. Each entry carries a protective
    stop at ``close - atr_stop * ATR(atr_period)`` (a price level in ``Signals.stop_loss``).
    With ``direction: long_short`` the mirror image trades short breakdowns (stop above).
    Warm-up: ``max(entry, exit, 10 * atr_period)`` bars (ATR uses Wilder smoothing).
    """

    name = "donchian_breakout"
    Params = DonchianParams

    def warmup(self) -> int:
        p = self.params
        return max(p.entry + 1, p.exit + 1, 10 * p.atr_period)

    def signals(self, data: StrategyData) -> Signals:
        p = self.params
        c = data.close
        ch_in = donchian(data.high, data.low, p.entry)
        hi_in, lo_in = shift(np.asarray(ch_in.upper)), shift(np.asarray(ch_in.lower))
        ch_out = donchian(data.high, data.low, p.exit)
        hi_out, lo_out = shift(np.asarray(ch_out.upper)), shift(np.asarray(ch_out.lower))
        atr = data.atr(p.atr_period)
        with np.errstate(invalid="ignore"):
            entries, exits = c > hi_in, c < lo_out
            short_entries, short_exits = c < lo_in, c > hi_out
        dist = p.atr_stop * atr
        stop = np.where(entries, c - dist, np.where(short_entries, c + dist, np.nan))
        return Signals(
            entries, exits, short_entries=short_entries, short_exits=short_exits, stop_loss=stop
        )
