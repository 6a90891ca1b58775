"""What a worker does: run a chunk of trials and return only their metrics.

A :class:`SweepContext` (strategy, panel, config) is shipped to each worker once; a
:class:`Task` names a chunk of trials and the bar window to run them on. The worker keeps one
:class:`~alphaforge.strategy.base.StrategyData` per (window, symbol) so indicators are computed
once per worker, never per trial. Equity curves stay in the worker: only metrics and the
per-bar returns (float32) travel back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from alphaforge.core.errors import AlphaforgeError, IdleSettingError, StrategyError
from alphaforge.core.panel import FIELDS, Panel
from alphaforge.core.rules import BacktestConfig
from alphaforge.sim.vectorized import run_backtest
from alphaforge.strategy.base import Strategy, StrategyData
from alphaforge.strategy.registry import load_strategy_class

METRIC_COLUMNS: tuple[str, ...] = (
    "total_return", "cagr", "annual_volatility", "sharpe", "sortino", "calmar", "omega",
    "max_drawdown", "ulcer_index", "num_trades", "win_rate", "profit_factor", "expectancy",
    "exposure_time", "turnover", "fees", "final_equity",
)  # fmt: skip
PORTFOLIO = "*"  # the symbol label of a whole-panel (portfolio) backtest
_MAX_WINDOWS = 4


def panel_rows(panel: Panel, lo: int, hi: int) -> Panel:
    """Bars ``lo:hi`` (positions) of ``panel``."""
    return Panel(
        index=panel.index[lo:hi],
        symbols=panel.symbols,
        timeframe=panel.timeframe,
        meta=dict(panel.meta),
        **{f: np.ascontiguousarray(getattr(panel, f)[lo:hi]) for f in FIELDS},
    )


@dataclass
class _Unit:
    label: str
    rows: np.ndarray  # positions of this unit's bars inside the window
    data: StrategyData


@dataclass
class SweepContext:
    """Everything shipped once to each worker."""

    strategy: str | type[Strategy]
    panel: Panel
    config: BacktestConfig
    per_symbol: bool = False
    fast: bool = False  # batched kernel (alphaforge.sim.batch): FAST_METRICS only, no returns
    _units: dict[tuple[int, int], list[_Unit]] = field(default_factory=dict, repr=False)
    _cls: type[Strategy] | None = field(default=None, repr=False)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_units"], state["_cls"] = {}, None
        return state

    def strategy_class(self) -> type[Strategy]:
        if self._cls is None:
            s = self.strategy
            self._cls = s if isinstance(s, type) else load_strategy_class(s)
        return self._cls

    def units(self, window: tuple[int, int]) -> list[_Unit]:
        """Backtest units of a window: the whole panel, or one per symbol with bars."""
        hit = self._units.get(window)
        if hit is not None:
            return hit
        if len(self._units) >= _MAX_WINDOWS:
            self._units.pop(next(iter(self._units)))
        sub = panel_rows(self.panel, *window)
        units: list[_Unit] = []
        if not self.per_symbol:
            units.append(_Unit(PORTFOLIO, np.arange(len(sub.index)), StrategyData(sub)))
        else:
            for j, sym in enumerate(sub.symbols):
                rows = np.flatnonzero(~np.isnan(sub.close[:, j]))
                if len(rows) >= 2:
                    units.append(_Unit(sym, rows, StrategyData(sub.select([sym]))))
        self._units[window] = units
        return units


@dataclass(frozen=True)
class Task:
    """A chunk of trials ``(trial_id, params)`` on bars ``window`` of the panel."""

    trials: tuple[tuple[int, dict[str, Any]], ...]
    window: tuple[int, int]
    want_returns: bool = True


@dataclass
class ChunkResult:
    """Metrics rows (one per trial and unit) and the trials x bars returns matrix."""

    rows: list[dict[str, Any]]
    trial_ids: np.ndarray
    returns: np.ndarray | None
    invalid: list[int]


def _bar_returns(equity: np.ndarray) -> np.ndarray:
    r = np.zeros(len(equity))
    r[1:] = equity[1:] / equity[:-1] - 1.0
    return r


def run_task(ctx: SweepContext, task: Task) -> ChunkResult:
    """Run every trial of ``task``; invalid parameter sets are reported, not run."""
    if ctx.fast:
        got = _run_batched(ctx, task)
        if got is not None:
            return got
    cls = ctx.strategy_class()
    units = ctx.units(task.window)
    n_bars = task.window[1] - task.window[0]
    rows: list[dict[str, Any]] = []
    ids: list[int] = []
    rets: list[np.ndarray] = []
    invalid: list[int] = []
    for tid, params in task.trials:
        try:
            strat = cls(params)
        except StrategyError:
            invalid.append(tid)
            continue
        acc = np.zeros(n_bars)
        for unit in units:
            rows.append(_run_unit(strat, unit, ctx.config, tid, params, acc))
        ids.append(tid)
        if task.want_returns:
            rets.append((acc / max(len(units), 1)).astype(np.float32))
    matrix = np.vstack(rets) if rets else np.zeros((0, n_bars), np.float32)
    return ChunkResult(
        rows, np.asarray(ids, np.int64), matrix if task.want_returns else None, invalid
    )


def _run_unit(
    strat: Strategy,
    unit: _Unit,
    config: BacktestConfig,
    tid: int,
    params: dict[str, Any],
    acc: np.ndarray,
) -> dict[str, Any]:
    row: dict[str, Any] = {"trial_id": tid, "symbol": unit.label, **params, "error": ""}
    try:
        res = run_backtest(strat, unit.data.panel, config, data=unit.data)
    except AlphaforgeError as exc:
        row["error"] = str(exc)
        row.update({m: np.nan for m in METRIC_COLUMNS})
        return row
    except Exception as exc:  # a bug in the strategy: stop the sweep, name the trial
        raise StrategyError(
            f"{strat.name or type(strat).__name__} {params} on {unit.label}: "
            f"{type(exc).__name__}: {exc}"
        ) from exc
    m = res.metrics
    row.update({k: float(m.get(k, np.nan)) for k in METRIC_COLUMNS})
    acc[unit.rows] += _bar_returns(res.equity_values)
    return row


def _run_batched(ctx: SweepContext, task: Task) -> ChunkResult | None:
    """All valid trials of ``task`` through :func:`alphaforge.sim.batch.run_batch`; None when the
    strategy needs something the batched kernel does not take (the caller falls back)."""
    from alphaforge.sim.batch import METRIC_NAMES, run_batch

    cls = ctx.strategy_class()
    valid: list[tuple[int, dict[str, Any]]] = []
    invalid: list[int] = []
    for tid, params in task.trials:
        try:
            cls(params)
            valid.append((tid, params))
        except StrategyError:
            invalid.append(tid)
    rows: list[dict[str, Any]] = []
    by_unit = []
    for unit in ctx.units(task.window):
        try:
            metrics, _ = run_batch(cls, [p for _, p in valid], unit.data.panel, ctx.config,
                                   data=unit.data, n_workers=1)  # fmt: skip
        except IdleSettingError:  # a rule no trial's orders act on: the whole search is refused
            raise
        except AlphaforgeError:
            return None
        by_unit.append((unit, metrics))
    cols = {k: METRIC_NAMES.index(k) for k in METRIC_COLUMNS if k in METRIC_NAMES}
    for k, (tid, params) in enumerate(valid):
        for unit, metrics in by_unit:
            row: dict[str, Any] = {"trial_id": tid, "symbol": unit.label, **params, "error": ""}
            row.update({m: float(metrics[k, cols[m]]) if m in cols else np.nan
                        for m in METRIC_COLUMNS})  # fmt: skip
            rows.append(row)
    ids = np.asarray([t for t, _ in valid], np.int64)
    return ChunkResult(rows, ids, None, invalid)
