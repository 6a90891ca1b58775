"""Synthetic panels for strategy tests (seeded, small)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphaforge.core.panel import Panel


def make_panel(close: np.ndarray, symbols: list[str] | None = None, freq: str = "B",
               start: str = "2010-01-04", timeframe: str = "1d") -> Panel:  # fmt: skip
    """OHLCV panel around ``close`` (bars x symbols): open = previous close, high/low +-0.5%."""
    close = np.asarray(close, dtype=np.float64)
    if close.ndim == 1:
        close = close.reshape(-1, 1)
    n, m = close.shape
    index = pd.date_range(start, periods=n, freq=freq, tz="UTC")
    opn = np.vstack([close[:1], close[:-1]])
    high = np.maximum(opn, close) * 1.005
    low = np.minimum(opn, close) * 0.995
    return Panel(
        index=index,
        symbols=tuple(symbols or [f"S{j}" for j in range(m)]),
        open=opn, high=high, low=low, close=close, volume=np.full((n, m), 1e6),
        timeframe=timeframe,
    )  # fmt: skip


def random_walks(n: int, m: int, seed: int = 7, vol: float = 0.015) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.asarray(100.0 * np.exp(np.cumsum(rng.normal(0.0003, vol, (n, m)), axis=0)))
