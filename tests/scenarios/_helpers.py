"""Tiny hand-made markets and a strategy that returns given arrays, for scenario tests."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.core.panel import Panel
from alphaforge.services.backtest import resolve_config
from alphaforge.sim.result import BacktestResult
from alphaforge.sim.vectorized import run_backtest
from alphaforge.strategy.base import Signals, Strategy, StrategyData, TargetWeights

Bar = Sequence[float]


class Given(Strategy):
    """Returns the Signals / TargetWeights it was built with, whatever the data."""

    name = "given"

    def __init__(self, out: Signals | TargetWeights) -> None:
        super().__init__()
        self.out = out

    def signals(self, data: StrategyData) -> Signals | TargetWeights:
        return self.out


def make_panel(
    bars: dict[str, Sequence[Bar]],
    start: str = "2024-01-01",
    freq: str = "B",
    timeframe: str = "1d",
    index: pd.DatetimeIndex | None = None,
) -> Panel:
    """Panel from ``{symbol: [(open, high, low, close[, volume]), ...]}`` (equal lengths).

    Bars without a volume get a huge one (no participation cap binds). The index defaults to
    business days from ``start`` (2024-01-01 is a Monday).
    """
    symbols = tuple(bars)
    n = len(next(iter(bars.values())))
    if index is None:
        index = pd.date_range(start, periods=n, freq=freq, tz="UTC", name="timestamp")
    fields: dict[str, Any] = {}
    for k, name in enumerate(("open", "high", "low", "close", "volume")):
        cols = []
        for s in symbols:
            rows = bars[s]
            assert len(rows) == n, f"{s}: {len(rows)} bars, expected {n}"
            cols.append([r[k] if len(r) > k else 1e9 for r in rows])
        fields[name] = np.asarray(cols, dtype=float).T.copy()
    return Panel(index=index, symbols=symbols, timeframe=timeframe, **fields)


def mask(n: int, *bars: int) -> np.ndarray:
    """Boolean (n,) array True at ``bars``."""
    out = np.zeros(n, dtype=bool)
    out[list(bars)] = True
    return out


def levels(n: int, at: dict[int, float]) -> np.ndarray:
    """Float (n,) array NaN except ``at``."""
    out = np.full(n, np.nan)
    for k, v in at.items():
        out[k] = v
    return out


def run(panel: Panel, out: Signals | TargetWeights, **cfg: Any) -> BacktestResult:
    """Backtest ``out`` on ``panel``; costs default to zero, keyword args are config keys
    (``commission=...`` shortcuts or dotted ``**{"risk.max_positions": 1}``); ``fine=`` passes
    finer bars to the kernel; ``recorded=True`` skips the refusal of rules the strategy's
    orders give nothing to act on (as for a run that happened)."""
    fine: dict[str, np.ndarray] | None = cfg.pop("fine", None)
    recorded = bool(cfg.pop("recorded", False))
    cfg.setdefault("commission", "0")
    cfg.setdefault("slippage", "0")
    config = resolve_config(None, **cfg)
    return run_backtest(Given(out), panel, config, fine=fine, refuse_idle_orders=not recorded)


def sig(n: int, entries: Sequence[int] = (), exits: Sequence[int] = (), **kw: Any) -> Signals:
    """Single-symbol Signals from bar numbers."""
    return Signals(entries=mask(n, *entries), exits=mask(n, *exits), **kw)
