"""Benchmark data, shared rules and the alphaforge side of every workload.

Rules shared by every engine: long only, signals decided at a bar's close and filled at the next
bar's open, 0.1% commission on every fill, no slippage, 100,000 start cash, all-in whole shares
(``floor(cash / (open * 1.001))``), an open position valued at the last close.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from alphaforge.core.calendar import rebalance_mask
from alphaforge.core.rules import BacktestConfig
from alphaforge.data.panel import Panel
from alphaforge.indicators.averages import sma
from alphaforge.strategy.base import (
    Signals,
    Strategy,
    StrategyData,
    StrategyParams,
    TargetWeights,
    crossed_above,
    param,
)
from alphaforge.testing import shared_data_dir

CASH = 100_000.0
COMM = 0.001
# ../shared/data beside the project root (ALPHAFORGE_SHARED_DATA overrides it)
DAILY_FILE = shared_data_dir() / "us_equities_daily.parquet"
START, END = "2010-01-01", "2019-12-31"
FAST = tuple(range(5, 55, 5))
SLOW = tuple(range(20, 220, 10))
GRID = tuple((f, s) for f in FAST for s in SLOW if f < s)
SL_PCT, TP_PCT = 0.05, 0.10
MOM_LOOKBACK, TOP_N = 126, 10
MOM_WEIGHT = 0.099  # 10 names x 9.9%: 1% of equity stays in cash for the commissions


def config(**extra: object) -> BacktestConfig:
    """The shared rules as an alphaforge config (record nothing per bar that is not needed)."""
    base: dict[str, object] = {
        "cash": CASH,
        "costs": {"commission": "0.1%", "slippage": "0"},
        "record_positions": False,
    }
    base.update(extra)
    return BacktestConfig.build(base)


@dataclass
class Daily:
    """Raw (unadjusted) daily bars of symbols fully covering 2010-2019: panel and frames."""

    panel: Panel
    frames: dict[str, pd.DataFrame]

    def wide(self, n_symbols: int | None = None) -> pd.DataFrame:
        """The first ``n_symbols`` as one wide frame shaped like a yfinance download: columns
        ``(Price, Ticker)`` with capitalised field names, tickers in alphabetical order."""
        names = sorted(self.panel.symbols[: n_symbols or len(self.panel.symbols)])
        parts = {
            (f.capitalize(), s): self.frames[s][f] for f in ("open", "high", "low", "close",
                                                             "volume") for s in names
        }  # fmt: skip
        wide = pd.DataFrame(parts)
        wide.columns = wide.columns.set_names(["Price", "Ticker"])
        return wide


def load_daily(n_symbols: int, first: str = "MSFT") -> Daily:
    """``first`` plus the next symbols (alphabetical) with a bar on every day of 2010-2019."""
    span = [("timestamp", ">=", pd.Timestamp(START)), ("timestamp", "<=", pd.Timestamp(END))]
    keys = pd.read_parquet(DAILY_FILE, columns=["symbol", "timestamp"], filters=span)
    counts = keys.groupby("symbol").size()
    full = sorted(counts[counts == counts.max()].index)
    names = [first, *[s for s in full if s != first][: n_symbols - 1]]
    del keys
    raw = pd.read_parquet(
        DAILY_FILE,
        columns=["symbol", "timestamp", "open", "high", "low", "close", "volume"],
        filters=[*span, ("symbol", "in", names)],
    )
    raw["timestamp"] = pd.DatetimeIndex(raw["timestamp"]).tz_localize("UTC")
    panel = Panel.from_long(raw.astype({"volume": float}), timeframe="1d").select(names)
    frames = {s: panel.symbol_frame(s) for s in names}
    return Daily(panel, frames)


def minute_bars(n_bars: int, seed: int = 7) -> pd.DataFrame:
    """Seeded random-walk 1-minute OHLCV (SYNTHETIC), continuous UTC minutes from 2020-01-01."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 6e-4, n_bars)))
    open_ = np.empty(n_bars)
    open_[0] = 100.0
    open_[1:] = close[:-1] * np.exp(rng.normal(0.0, 1e-4, n_bars - 1))
    wick = np.abs(rng.normal(0.0, 3e-4, (2, n_bars)))
    high = np.maximum(open_, close) * (1.0 + wick[0])
    low = np.minimum(open_, close) * (1.0 - wick[1])
    index = pd.date_range("2020-01-01", periods=n_bars, freq="1min", tz="UTC")
    vol = rng.integers(100, 10_000, n_bars).astype(float)
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": vol}, index=index
    )


def frame_panel(df: pd.DataFrame, timeframe: str, symbol: str = "ASSET") -> Panel:
    """One-symbol Panel straight from an OHLCV frame (no copies beyond the column arrays)."""
    cols = {c: np.ascontiguousarray(df[c].to_numpy(dtype=float)).reshape(-1, 1) for c in df}
    return Panel(
        index=pd.DatetimeIndex(df.index, name="timestamp"),
        symbols=(symbol,),
        timeframe=timeframe,
        open=cols["open"],
        high=cols["high"],
        low=cols["low"],
        close=cols["close"],
        volume=cols["volume"],
    )


def sma_signals(close: np.ndarray, fast: int, slow: int) -> tuple[np.ndarray, np.ndarray]:
    """Entries/exits of the SMA crossover (the masks every peer receives)."""
    f, s = sma(close, fast), sma(close, slow)
    return crossed_above(f, s), crossed_above(s, f)


class SmaCrossStops(Strategy):
    """SMA crossover whose entries carry a stop at 95% and a target at 110% of the signal close."""

    name = "bench_sma_stops"

    class Params(StrategyParams):
        fast: int = param(10, ge=2)
        slow: int = param(50, ge=3)

    def signals(self, data: StrategyData) -> Signals:
        p = self.params
        f, s = data.sma(p.fast), data.sma(p.slow)
        return Signals(
            entries=crossed_above(f, s),
            exits=crossed_above(s, f),
            stop_loss=data.close * (1.0 - SL_PCT),
            take_profit=data.close * (1.0 + TP_PCT),
        )


def momentum_weights(close: np.ndarray, decide: np.ndarray) -> np.ndarray:
    """Weights decided at the closes marked in ``decide``: 9.9% in each of the top 10 by 126-bar
    return, 0 elsewhere (rows not decided stay 0 and are never read).

    Ties are broken by column order (a stable sort of the negated momentum); decision bars
    without a full lookback hold nothing.
    """
    w = np.zeros_like(close)
    rows = np.flatnonzero(decide)
    rows = rows[rows >= MOM_LOOKBACK]
    with np.errstate(invalid="ignore", divide="ignore"):
        mom = close[rows] / close[rows - MOM_LOOKBACK] - 1.0
    top = np.argsort(-mom, axis=1, kind="stable")[:, :TOP_N]
    w[rows[:, None], top] = MOM_WEIGHT
    return w


def month_end_mask(panel: Panel | pd.DatetimeIndex) -> np.ndarray:
    """True on the last bar of each calendar month (its close decides, the next open trades)."""
    index = panel if isinstance(panel, pd.DatetimeIndex) else panel.index
    day = index.as_unit("ns").asi8 // 86_400_000_000_000
    return rebalance_mask("monthly", day, (day + 3) // 7)


class MomentumTopN(Strategy):
    """Monthly rebalance into the top 10 of 126-bar momentum, equal weight (9.9% each)."""

    name = "bench_momentum"

    def signals(self, data: StrategyData) -> TargetWeights:
        mask = month_end_mask(data.panel)
        return TargetWeights(weights=momentum_weights(data.close, mask), rebalance=mask)
