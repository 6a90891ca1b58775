"""Walk-forward optimization: optimize on a train window, trade the winner on the next window.

Folds are bar positions: train ``[a, b)`` then test ``[b, b + test_len)``; the next fold starts
``stride`` bars later (``anchored``: every train window starts at bar 0). A test window never
overlaps its own train window. The test backtest sees the ``warmup() + 1`` bars before the test
window so its indicators are ready, but every signal before the first test bar is cleared and
an exit is forced at the second-to-last bar (filled at the last bar's open, costs charged), so
trades happen only inside the test window. Each fold's test starts with the previous fold's
ending equity, so the out-of-sample curves join into one stitched :class:`BacktestResult`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from alphaforge.core.calendar import rebalance_mask
from alphaforge.core.errors import ConfigError
from alphaforge.core.panel import FIELDS, Panel
from alphaforge.core.rules import BacktestConfig
from alphaforge.sim.inputs import run_clock
from alphaforge.sim.result import BacktestResult
from alphaforge.sim.vectorized import run_backtest
from alphaforge.strategy.base import Signals, Strategy, StrategyData, TargetWeights


@dataclass(frozen=True)
class Fold:
    """Bar positions of one fold (half-open ranges)."""

    number: int
    train: tuple[int, int]
    test: tuple[int, int]


def make_folds(
    n_bars: int, train_len: int, test_len: int, stride: int | None = None, anchored: bool = False
) -> list[Fold]:
    """Folds over ``n_bars``; ``stride`` defaults to ``test_len`` (back-to-back test windows)."""
    stride = stride or test_len
    if train_len < 2 or test_len < 3:
        raise ConfigError(f"--train-len {train_len} / --test-len {test_len}: need >= 2 / >= 3")
    if stride < test_len:
        raise ConfigError(f"--stride {stride} < --test-len {test_len}: test windows would overlap")
    folds: list[Fold] = []
    start = 0
    while start + train_len + test_len <= n_bars:
        b = start + train_len
        folds.append(Fold(len(folds), (0 if anchored else start, b), (b, b + test_len)))
        start += stride
    if not folds:
        raise ConfigError(
            f"{n_bars} bars are too few for one fold of {train_len} train + {test_len} test bars"
        )
    return folds


def panel_take(panel: Panel, rows: np.ndarray) -> Panel:
    """The bars at positions ``rows`` of ``panel``."""
    return Panel(
        index=panel.index[rows],
        symbols=panel.symbols,
        timeframe=panel.timeframe,
        meta=dict(panel.meta),
        **{f: np.ascontiguousarray(getattr(panel, f)[rows]) for f in FIELDS},
    )


class WindowedStrategy(Strategy):
    """``inner`` with every decision before bar ``first`` cleared and a forced final exit."""

    def __init__(self, inner: Strategy, first: int, config: BacktestConfig) -> None:
        self.inner, self.first, self.config = inner, first, config
        self.params = inner.params
        self.name = inner.name or type(inner).__name__  # type: ignore[misc]

    def warmup(self) -> int:
        return self.inner.warmup()

    def signals(self, data: StrategyData) -> Signals | TargetWeights:
        out = self.inner.signals(data)
        n, last = data.shape[0], data.shape[0] - 2
        if isinstance(out, Signals):
            return _mask_signals(out, n, self.first, last)
        w = np.array(np.broadcast_to(out.weights, data.shape), dtype=float)
        if out.rebalance is not None:
            reb = np.array(out.rebalance, dtype=bool)
        else:
            clock = run_clock(data.panel, self.config, data)
            reb = rebalance_mask(self.config.rebalance, clock.day, clock.week)
        w[: self.first] = np.nan
        reb[: self.first] = False
        w[last:] = 0.0
        reb[last] = True
        return TargetWeights(weights=w, rebalance=reb, priority=out.priority)


def _mask_signals(sig: Signals, n: int, first: int, last: int) -> Signals:
    def clear(a: np.ndarray | None, force: bool) -> np.ndarray | None:
        if a is None and not force:
            return None
        m = np.zeros((n, 1), bool) if a is None else np.array(a, dtype=bool)
        m[:first] = False
        m[last:] = force
        if not force:
            m[last:] = False
        return m

    return Signals(
        entries=clear(sig.entries, False),  # type: ignore[arg-type]
        exits=clear(sig.exits, True),  # type: ignore[arg-type]
        short_entries=clear(sig.short_entries, False),
        short_exits=clear(sig.short_exits, True),
        stop_loss=sig.stop_loss, take_profit=sig.take_profit, limit_price=sig.limit_price,
        stop_price=sig.stop_price, priority=sig.priority,
    )  # fmt: skip


def run_test_window(
    strategy: Strategy, panel: Panel, config: BacktestConfig, test: tuple[int, int], cash: float
) -> tuple[BacktestResult, int]:
    """Backtest ``strategy`` trading only inside bars ``test``; returns the result and the
    position of the first test bar inside it."""
    lo = max(0, test[0] - strategy.warmup() - 1)
    sub = panel_take(panel, np.arange(lo, test[1]))
    cfg = config.model_copy(update={"cash": cash})
    wrapped = WindowedStrategy(strategy, test[0] - lo, cfg)
    return run_backtest(wrapped, sub, cfg), test[0] - lo


def stitch(
    parts: list[tuple[BacktestResult, int]],
    panel: Panel,
    rows: np.ndarray,
    config: BacktestConfig,
    extra: dict[str, Any],
) -> BacktestResult:
    """Join the out-of-sample parts (each from its first test bar) into one result."""
    from alphaforge.analytics.metrics import summary_metrics
    from alphaforge.sim.vectorized import benchmark_curve

    series: dict[str, list[np.ndarray]] = {k: [] for k in ("eq", "cash", "gross", "net")}
    trades, orders, events = [], [], []
    offset = 0
    for res, first in parts:
        for key, arr in (("eq", res.equity_values), ("cash", res.cash_values),
                         ("gross", res.gross_values), ("net", res.net_values)):  # fmt: skip
            series[key].append(arr[first:])
        shift = offset - first
        trades.append(_shift(res.trade_records, ("entry_bar", "exit_bar"), shift))
        orders.append(_shift(res.order_records, ("bar",), shift))
        events.append(_shift(res.event_records, ("bar",), shift))
        offset += len(res.equity_values) - first
    oos = panel_take(panel, rows)
    eq = np.concatenate(series["eq"])
    tr = np.concatenate(trades)
    ppy = float(parts[0][0].config["periods_per_year"])
    bench = benchmark_curve(oos, float(eq[0]), config.benchmark)
    gross = np.concatenate(series["gross"])
    metrics = summary_metrics(
        eq, ppy, config.risk_free, benchmark=bench, exposure=gross,
        trades={"pnl": tr["pnl"], "return": tr["ret"], "bars_held": tr["bars_held"]},
    )  # fmt: skip
    metrics.update(final_equity=float(eq[-1]), num_trades=float(len(tr)))
    first_res = parts[0][0]
    return BacktestResult(
        index=oos.index, symbols=oos.symbols, equity_values=eq,
        cash_values=np.concatenate(series["cash"]), gross_values=gross,
        net_values=np.concatenate(series["net"]), position_values=np.zeros((1, 1)),
        trade_records=tr, order_records=np.concatenate(orders), event_records=np.concatenate(events),
        benchmark_values=bench, metrics=metrics,
        config={**first_res.config, "cash": float(eq[0])},  # a config build() reads back
        strategy=first_res.strategy, params=fold_params(extra.get("fold_params") or []),
        manifest_extra={"walkforward": extra, "bars": len(eq), "symbols": list(oos.symbols)},
    )  # fmt: skip


def fold_params(per_fold: list[dict[str, Any]], listed: int = 8) -> dict[str, str]:
    """What the stitched result traded, not the last fold's values alone: each parameter's value
    in every fold, in order (``{"fast": "per fold: 10, 20, 20"}``), or with more than ``listed``
    folds how many folds used each value (``"per fold: 5 (23 folds), 10 (30 folds)"``)."""
    from collections import Counter

    names = list(per_fold[0]) if per_fold else []
    out = {}
    for n in names:
        values = [f.get(n) for f in per_fold]
        if len(values) <= listed:
            out[n] = "per fold: " + ", ".join(str(v) for v in values)
        else:
            counts = sorted(Counter(values).items(), key=lambda kv: str(kv[0]))
            out[n] = "per fold: " + ", ".join(f"{v} ({c} folds)" for v, c in counts)
    return out


def _shift(records: np.ndarray, fields: tuple[str, ...], by: int) -> np.ndarray:
    """A copy of ``records`` with their bar ``fields`` moved by ``by`` bars."""
    out = records.copy()
    for name in fields:
        out[name] += by
    return out
