"""Backtest results on seeded random walks for the report tests (built once per session)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from alphaforge.services.backtest import backtest


def random_walk(
    seed: int, n: int, freq: str = "B", start: str = "2015-01-02", drift: float = 3e-4
) -> pd.DataFrame:
    """Seeded OHLCV bars with a DatetimeIndex: log-normal closes, opens near the prior close."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(drift, 0.015, n)))
    open_ = np.concatenate(([100.0], close[:-1])) * (1 + rng.normal(0, 0.002, n))
    span = np.abs(rng.normal(0, 0.006, n))
    index = pd.date_range(start, periods=n, freq=freq, tz="UTC")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * (1 + span),
            "low": np.minimum(open_, close) * (1 - span),
            "close": close,
            "volume": rng.integers(1_000, 10_000, n).astype(float),
        },
        index=index,
    )


def long_bars(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    parts = [
        f.rename_axis("timestamp").reset_index().assign(symbol=sym) for sym, f in frames.items()
    ]
    return pd.concat(parts, ignore_index=True)


SMA = {"fast": 5, "slow": 20}


@pytest.fixture(scope="session")
def single_result() -> Any:
    """One symbol, about three years of business days, a few dozen trades."""
    return backtest("sma_cross", random_walk(1, 800), params=SMA)


@pytest.fixture(scope="session")
def zero_trade_result() -> Any:
    """Strictly rising closes: the fast SMA never crosses up through the slow one."""
    bars = random_walk(2, 300)
    rising = 100.0 * np.exp(np.arange(300) * 0.001)
    bars = bars.assign(open=rising, high=rising * 1.001, low=rising * 0.999, close=rising)
    return backtest("sma_cross", bars, params=SMA)


SECTORS = {"AAA": "Tech", "BBB": "Tech", "CCC": "Energy"}


@pytest.fixture(scope="session")
def portfolio_result() -> Any:
    """Three symbols with sectors, so weights, correlation and sector charts are drawn."""
    bars = long_bars({s: random_walk(10 + i, 600) for i, s in enumerate(SECTORS)})
    return backtest(
        "sma_cross",
        bars,
        params=SMA,
        risk={"sectors": SECTORS},
        sizing={"method": "fraction", "value": 0.3},
    )


@pytest.fixture(scope="session")
def intraday_result() -> Any:
    """Hourly bars around the clock (24/7), one symbol."""
    bars = random_walk(3, 900, freq="h", start="2024-01-01")
    return backtest("sma_cross", bars, params=SMA, timeframe="1h")


@pytest.fixture(scope="session")
def costless_close_result() -> Any:
    """No commission, no slippage and same-bar close fills: every cost/fill warning applies."""
    return backtest(
        "sma_cross", random_walk(1, 400), params=SMA, commission="0", slippage="0bps", fill="close"
    )
