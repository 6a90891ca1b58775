"""SMA crossover."""

from __future__ import annotations

from alphaforge.strategy.base import param
from alphaforge.strategy.library._average_cross import AverageCross, FastSlowParams


class SmaCrossParams(FastSlowParams):
    fast: int = param(10, ge=2, le=200, step=1, description="Fast simple moving average length")
    slow: int = param(50, ge=3, le=400, step=1, description="Slow simple moving average length")


class SmaCross(AverageCross[SmaCrossParams]):
    """Trend following with two simple moving averages of the close.

    Enter long at the next open after the fast SMA crosses above the slow SMA
    (``fast[t-1] < slow[t-1]`` and ``fast[t] > slow[t]``); exit at the next open after it crosses
    below. With ``direction: long_short`` the opposite cross also opens a short.
    Warm-up: ``slow`` bars.
    """

    name = "sma_cross"
    Params = SmaCrossParams
    average = "sma"

    def warmup(self) -> int:
        return int(self.params.slow)
