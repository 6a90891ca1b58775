"""Small synthetic panels for the ML tests (seeded)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from alphaforge.core.panel import Panel


def ohlcv_panel(
    close: np.ndarray, volume: np.ndarray | None = None, start: str = "2015-01-05"
) -> Panel:
    """A daily panel around ``close`` (bars x symbols) with the given volume (default 1e6)."""
    c = np.asarray(close, dtype=np.float64)
    c = c.reshape(-1, 1) if c.ndim == 1 else c
    n, m = c.shape
    v = (
        np.full((n, m), 1e6)
        if volume is None
        else np.asarray(volume, dtype=np.float64).reshape(n, m)
    )
    opn = np.vstack([c[:1], c[:-1]])
    index = pd.date_range(start, periods=n, freq="B", tz="UTC", name="timestamp")
    return Panel(index=index, symbols=tuple(f"S{j}" for j in range(m)), open=opn,
                 high=np.maximum(opn, c) * 1.005, low=np.minimum(opn, c) * 0.995, close=c,
                 volume=v, timeframe="1d")  # fmt: skip


def random_panel(n: int, m: int, seed: int = 0, vol: float = 0.01) -> Panel:
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, vol, (n, m)), axis=0))
    volume = rng.integers(100_000, 1_000_000, (n, m)).astype(float)
    return ohlcv_panel(close, volume)
