"""The strategy's decision at one bar, from its own ``signals`` hook on the trailing window.

There is no second strategy API: the runtime calls the same vectorized hook the backtest calls,
on the bars up to and including the current one, and keeps the last row. The window starts at
the first bar the runtime has (``window=None``: every bar, which gives exactly the backtest's
values for any causal strategy) or is the last ``window`` bars (recursive indicators such as an
EMA then start from a shorter history and may differ in their last digits).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from alphaforge.core.errors import StrategyError
from alphaforge.core.panel import Panel
from alphaforge.core.rules import BacktestConfig
from alphaforge.sim.inputs import RunClock, intents_of, market_of, order_type_of
from alphaforge.sim.stepper import SignalRow
from alphaforge.strategy.base import Signals, Strategy, StrategyData, TargetWeights


def _row(a: np.ndarray, k: int, n: int) -> np.ndarray:
    """Row ``k`` of a (bars x symbols) array that may broadcast (1 row or 1 column)."""
    r = a[k if a.shape[0] > 1 else 0]
    if r.shape[0] == n:
        return r.copy()
    return np.full(n, r[0], dtype=a.dtype)


def _has_prices(it: Any) -> bool:
    """Whether the entries carry limit / stop prices (limit, stop or stop-limit orders)."""
    for a in (it.limit, it.stop):
        if a.size == 1:  # a broadcast constant (NaN: market entries)
            if a.flat[0] == a.flat[0]:
                return True
        elif np.any(a == a):
            return True
    return False


@dataclass
class SignalSource:
    """Rows of the strategy's output, bar by bar, on a panel that grows as bars arrive."""

    strategy: Strategy
    config: BacktestConfig
    clock: RunClock  # day and week ids of every bar of ``panel``
    window: int | None = None
    precomputed: bool = False  # replay only: one call on the stored history (see below)
    _all: Any = field(default=None, init=False, repr=False)
    _score: np.ndarray | None = field(default=None, init=False, repr=False)
    _prices: tuple[np.ndarray, np.ndarray] | None = field(default=None, init=False, repr=False)

    def row(self, panel: Panel, t: int) -> tuple[SignalRow, bool]:
        """The signal row of bar ``t`` of ``panel`` and whether the strategy gives weights.

        ``precomputed`` (replay of a strategy the look-ahead detector passed) evaluates the
        hook once on the whole stored history and reads row ``t``: for a causal strategy the
        same values as on the bars up to ``t``, without recomputing the history each bar."""
        if self.precomputed:
            if self._all is None:
                self._all = self._full(panel)
            rows, weights = self._all
            e, x, se, sx, w, rb, lv, pr, atr, vol = rows
            sc = None if self._score is None else self._score[t]
            row = SignalRow(e[t], x[t], se[t], sx[t], w[t], bool(rb[t]), lv[:, t, :], pr[t],
                            atr[t], vol[t], sc)  # fmt: skip
            if self._prices is not None:
                row = replace(row, limit=self._prices[0][t], stop=self._prices[1][t])
            return row, weights
        w0 = 0 if self.window is None else max(0, t + 1 - self.window)
        out, market, it, weights = self._intents(panel, w0, t)
        k, n = t - w0, panel.shape[1]
        extra: dict[str, np.ndarray] = {}
        if _has_prices(it):
            extra.update(limit=_row(it.limit, k, n), stop=_row(it.stop, k, n))
        score = getattr(out, "score", None)
        if score is not None:
            extra["score"] = _row(np.asarray(score, dtype=np.float64), k, n)
        return self._extract(it, market, k, n, weights, extra), weights

    @property
    def scored(self) -> bool:
        """Whether the precomputed strategy gives a score per bar (see ``Signals.score``)."""
        return self._score is not None

    def full(self, panel: Panel) -> list[np.ndarray] | None:
        """Every bar's row (in :class:`SignalRow`'s order) when precomputed, else None."""
        if not self.precomputed:
            return None
        if self._all is None:
            self._all = self._full(panel)
        rows: list[np.ndarray] = self._all[0]
        return rows

    def _full(self, panel: Panel) -> tuple[list[np.ndarray], bool]:
        """Every input of every bar, broadcast to (bars, symbols), in SignalRow's order."""
        out, market, it, weights = self._intents(panel, 0, panel.shape[0] - 1)
        shape = panel.shape
        score = getattr(out, "score", None)
        if score is not None:
            self._score = np.ascontiguousarray(np.broadcast_to(score, shape), dtype=np.float64)

        def full(a: np.ndarray, dtype: Any) -> np.ndarray:
            return np.ascontiguousarray(np.broadcast_to(a, shape), dtype=dtype)

        if _has_prices(it):
            self._prices = (full(it.limit, np.float64), full(it.stop, np.float64))
        levels = np.empty((len(it.levels), *shape))  # the rows of Levels, each broadcast
        for k, a in enumerate(it.levels):
            levels[k] = a
        rebalance = np.asarray(it.rebalance, dtype=bool) if weights else np.zeros(shape[0], bool)
        rows = [
            full(it.entries, bool), full(it.exits, bool), full(it.short_entries, bool),
            full(it.short_exits, bool), full(it.weights, np.float64), rebalance, levels,
            full(it.priority, np.float64), full(market.atr, np.float64),
            full(market.vol, np.float64),
        ]  # fmt: skip
        return rows, weights

    def _intents(self, panel: Panel, w0: int, t: int) -> tuple[Any, Any, Any, bool]:
        """The strategy's output and the kernel inputs of bars ``[w0, t]``."""
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
        return out, market, it, weights

    @staticmethod
    def _extract(
        it: Any, market: Any, k: int, n: int, weights: bool, extra: dict[str, np.ndarray]
    ) -> SignalRow:
        """Row ``k`` of the kernel inputs of a window (``extra``: score, limit, stop)."""
        levels = np.empty((len(it.levels), n))
        for i, a in enumerate(it.levels):  # each row broadcast from its (1 or bars) rows
            levels[i] = a[k if a.shape[0] > 1 else 0]
        return SignalRow(
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
            **extra,
        )
