"""The strategy's decision at one bar, from its own ``signals`` hook on the trailing window.

There is no second strategy API: the runtime calls the same vectorized hook the backtest calls,
on the bars up to and including the current one, and keeps the last row. The window starts at
the first bar the runtime has (``window=None``: every bar, which gives exactly the backtest's
values for any causal strategy) or is the last ``window`` bars (recursive indicators such as an
EMA then start from a shorter history and may differ in their last digits).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alphaforge.core.errors import StrategyError
from alphaforge.core.panel import Panel
from alphaforge.core.rules import BacktestConfig
from alphaforge.sim.inputs import RunClock, intents_of, market_of, order_type_of
from alphaforge.sim.stepper import SignalRow
from alphaforge.strategy.base import Signals, Strategy, StrategyData, TargetWeights


def _row(a: np.ndarray, k: int, n: int) -> np.ndarray:
    """Row ``k`` of a (bars x symbols) array that may broadcast (1 row or 1 column)."""
    r = np.asarray(a[k if a.shape[0] > 1 else 0])
    return np.array(np.broadcast_to(r, (n,)))


@dataclass
class SignalSource:
    """Rows of the strategy's output, bar by bar, on a panel that grows as bars arrive."""

    strategy: Strategy
    config: BacktestConfig
    clock: RunClock  # day and week ids of every bar of ``panel``
    window: int | None = None

    def row(self, panel: Panel, t: int) -> tuple[SignalRow, bool]:
        """The signal row of bar ``t`` of ``panel`` and whether the strategy gives weights."""
        w0 = 0 if self.window is None else max(0, t + 1 - self.window)
        sub = Panel(
            index=panel.index[w0 : t + 1], symbols=panel.symbols, timeframe=panel.timeframe,
            open=panel.open[w0 : t + 1], high=panel.high[w0 : t + 1], low=panel.low[w0 : t + 1],
            close=panel.close[w0 : t + 1], volume=panel.volume[w0 : t + 1],
        )  # fmt: skip
        sdata = StrategyData(sub)
        out = self.strategy.signals(sdata)
        if not isinstance(out, Signals | TargetWeights):
            raise StrategyError(
                f"{self.strategy.name}: signals() must return Signals or TargetWeights"
            )
        clock = RunClock(
            self.clock.timeframe, self.clock.calendar, self.clock.periods_per_year,
            self.clock.day[w0 : t + 1], self.clock.week[w0 : t + 1],
        )  # fmt: skip
        market = market_of(sub, self.config, sdata, clock)
        weights = isinstance(out, TargetWeights)
        order_type = "market" if isinstance(out, TargetWeights) else order_type_of(self.config, out)
        it = intents_of(out, sub, self.config, market, clock, order_type)
        k = t - w0
        n = panel.shape[1]
        lv = it.levels
        levels = np.stack([_row(lv[i], k, n) for i in range(8)])
        return (
            SignalRow(
                entries=_row(it.entries, k, n).astype(bool),
                exits=_row(it.exits, k, n).astype(bool),
                short_entries=_row(it.short_entries, k, n).astype(bool),
                short_exits=_row(it.short_exits, k, n).astype(bool),
                weights=_row(it.weights, k, n),
                rebalance=bool(it.rebalance[k]) if weights else False,
                levels=levels,
                priority=_row(it.priority, k, n),
                atr=_row(market.atr, k, n),
                vol=_row(market.vol, k, n),
            ),
            weights,
        )
