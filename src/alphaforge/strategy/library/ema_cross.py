"""EMA crossover."""

from __future__ import annotations

from alphaforge.strategy.base import param
from alphaforge.strategy.library._average_cross import AverageCross, FastSlowParams


class EmaCrossParams(FastSlowParams):
    fast: int = param(
        12, ge=2, le=200, step=1, description="Fast exponential moving average length"
    )
    slow: int = param(
        26, ge=3, le=400, step=1, description="Slow exponential moving average length"
    )


class EmaCross(AverageCross[EmaCrossParams]):
    """Trend following with two exponential moving averages of the close.

    Enter long at the next open after the fast EMA crosses above the slow EMA; exit (and, with
    ``direction: long_short``, go short) after it crosses below.
    Warm-up: ``5 * slow`` bars. An EMA is recursive: its TA-Lib seed (the SMA of the first
    ``slow`` closes) still weighs ``(1 - 2 / (slow + 1)) ** k`` after ``k`` bars, about
    ``exp(-10)`` after ``5 * slow`` bars, so earlier signals depend on where the data starts.
    """

    name = "ema_cross"
    Params = EmaCrossParams
    average = "ema"

    def warmup(self) -> int:
        return 5 * int(self.params.slow)
