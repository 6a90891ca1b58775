"""Multi-timeframe momentum: a daily trend filter on intraday entries."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pydantic import model_validator

from alphaforge.strategy.base import (
    Signals,
    Strategy,
    StrategyData,
    StrategyParams,
    crossed_above,
    param,
)
from alphaforge.strategy.library._common import local_days


class MtfMomentumParams(StrategyParams):
    trend_days: int = param(20, ge=2, le=200, step=1, description="Sessions in the daily trend SMA")
    fast: int = param(12, ge=2, le=200, step=1, description="Fast intraday SMA length (bars)")
    slow: int = param(48, ge=3, le=500, step=1, description="Slow intraday SMA length (bars)")
    session_bars: int = param(
        78,
        ge=1,
        le=1440,
        step=1,
        description="Typical bars per session (only sizes the declared warm-up)",
    )

    @model_validator(mode="after")
    def _check(self) -> MtfMomentumParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast ({self.fast}) must be smaller than slow ({self.slow})")
        return self


def daily_trend(close: np.ndarray, day: np.ndarray, trend_days: int) -> np.ndarray:
    """+1/-1/NaN per bar: previous completed session's close above/below its ``trend_days`` SMA.

    Each session's close is its last bar's close. The value for a bar of session ``d`` uses
    sessions ``< d`` only, so the bar never sees its own session's close.
    """
    frame = pd.DataFrame(close)
    sess_close = frame.groupby(day, sort=True).last()
    sma = sess_close.rolling(trend_days).mean()
    with np.errstate(invalid="ignore"):
        up = np.sign(sess_close.to_numpy() - sma.to_numpy())
    up[np.isnan(sma.to_numpy())] = np.nan
    prev = np.vstack([np.full((1, close.shape[1]), np.nan), up[:-1]])  # completed sessions only
    pos = np.searchsorted(sess_close.index.to_numpy(), day)
    return np.asarray(prev[pos], dtype=np.float64)


class MtfMomentum(Strategy[MtfMomentumParams]):
    """Intraday SMA crossover that only trades with the daily trend.

    Daily trend: the last completed session's close against the SMA of the last ``trend_days``
    session closes (sessions are New York trading days for intraday bars). The trend of a bar
    comes from previous sessions only: today's close is unknown until the session ends.
    Enter long when the fast intraday SMA crosses above the slow one while the daily trend is
    up; exit on the opposite cross or when the daily trend turns down. Works on daily bars too
    (each bar is a session). Warm-up: ``max(slow, (trend_days + 1) * session_bars)`` bars.
    """

    name = "mtf_momentum"
    Params = MtfMomentumParams

    def warmup(self) -> int:
        p = self.params
        return max(p.slow, (p.trend_days + 1) * p.session_bars)

    def signals(self, data: StrategyData) -> Signals:
        p = self.params
        day = local_days(data.index, data.panel.timeframe)
        trend = data.cached(
            ("daily_trend", p.trend_days),
            lambda: daily_trend(data.close, day, p.trend_days),
        )
        fast, slow = data.sma(p.fast), data.sma(p.slow)
        entries = crossed_above(fast, slow) & (trend > 0)
        exits = crossed_above(slow, fast) | (trend < 0)
        return Signals(entries=entries, exits=exits)
