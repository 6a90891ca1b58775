"""One case run by both simulators, and the comparison of everything they report."""

from __future__ import annotations

import inspect
import itertools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.data.panel import Panel
from alphaforge.indicators import atr as atr_indicator
from alphaforge.sim.result import BacktestResult
from alphaforge.sim.vectorized import run_backtest
from alphaforge.strategy.base import Signals, TargetWeights
from tests.reference.harness import ATOL, RTOL, Bars, engine_config
from tests.reference.model import Market, RefConfig, SignalInput, WeightInput
from tests.reference.records import RefResult
from tests.reference.simulator import simulate
from tests.scenarios._helpers import Given


@dataclass
class Case:
    bars: Bars
    cfg: RefConfig
    out: Signals | TargetWeights
    order_type: str = "market"
    schedule: str = "monthly"
    atr_period: int = 3
    fine: dict[str, np.ndarray] | None = None
    symbols: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not self.symbols:
            self.symbols = tuple(f"S{k}" for k in range(self.bars.shape[1]))


def _grid(a: np.ndarray | None) -> list[list[float]] | None:
    return None if a is None else [[float(x) for x in row] for row in np.asarray(a, float)]


def _flags(a: np.ndarray | None) -> list[list[bool]] | None:
    return None if a is None else [[bool(x) for x in row] for row in np.asarray(a, bool)]


def schedule_mask(index: pd.DatetimeIndex, schedule: str) -> list[bool]:
    """The last bar of each period (its close decides, the next open trades)."""
    dates = [ts.date() for ts in index]
    keys: list[Any]
    if schedule == "every_bar":
        return [True] * len(dates)
    if schedule == "daily":
        keys = dates
    elif schedule == "weekly":
        keys = [d.toordinal() - d.weekday() for d in dates]
    elif schedule == "monthly":
        keys = [(d.year, d.month) for d in dates]
    else:
        keys = [(d.year, (d.month - 1) // 3) for d in dates]
    return [a != b for a, b in itertools.pairwise(keys)] + [False]


def reference_market(case: Case) -> Market:
    b = case.bars
    dates = [ts.date() for ts in b.index]
    atr = atr_indicator(b.high, b.low, b.close, case.atr_period)
    fine = None
    if case.fine is not None:
        f = case.fine
        fine = {}
        for t in range(b.shape[0]):
            for j in range(b.shape[1]):
                s, e = int(f["start"][t, j]), int(f["end"][t, j])
                if s >= 0:
                    fine[(t, j)] = [(float(f["high"][k]), float(f["low"][k])) for k in range(s, e)]
    return Market(
        open=_grid(b.open) or [],
        high=_grid(b.high) or [],
        low=_grid(b.low) or [],
        close=_grid(b.close) or [],
        volume=_grid(b.volume) or [],
        day=[d.toordinal() for d in dates],
        week=[d.toordinal() - d.weekday() for d in dates],
        atr=_grid(atr),
        fine=fine,
    )


def reference_input(case: Case) -> SignalInput | WeightInput:
    o = case.out
    if isinstance(o, TargetWeights):
        mask = (
            [bool(x) for x in o.rebalance]
            if o.rebalance is not None
            else schedule_mask(case.bars.index, case.schedule)
        )
        return WeightInput(_grid(o.weights) or [], mask, _grid(o.priority))
    return SignalInput(
        _flags(o.entries) or [], _flags(o.exits) or [], _flags(o.short_entries),
        _flags(o.short_exits), _grid(o.limit_price), _grid(o.stop_price), _grid(o.stop_loss),
        _grid(o.take_profit), _grid(o.priority),
    )  # fmt: skip


def run_engine(case: Case, fast_paths: bool | None) -> BacktestResult:
    b = case.bars
    panel = Panel(b.index, case.symbols, b.open, b.high, b.low, b.close, b.volume)
    own = isinstance(case.out, TargetWeights) and case.out.rebalance is not None
    config = engine_config(
        case.cfg, case.symbols, case.order_type, case.schedule, case.atr_period, own
    )
    kw: dict[str, Any] = {} if fast_paths is None else {"fast_paths": fast_paths}
    if "refuse_idle_orders" in inspect.signature(run_backtest).parameters:
        kw["refuse_idle_orders"] = False  # every rule combination, idle ones included
    return run_backtest(Given(case.out), panel, config, fine=case.fine, **kw)


def run_reference(case: Case) -> RefResult:
    return simulate(case.cfg, reference_market(case), reference_input(case))


# ---- comparison ---------------------------------------------------------------------------------
def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        fa, fb = float(a), float(b)
        if math.isnan(fa) or math.isnan(fb):
            return math.isnan(fa) and math.isnan(fb)
        return abs(fa - fb) <= ATOL + RTOL * max(abs(fa), abs(fb))
    return bool(a == b)


def _rows_differ(kind: str, ours: list[tuple[Any, ...]], theirs: list[tuple[Any, ...]]) -> str:
    """'' when equal, else where the two lists of records first differ."""
    for k, (a, b) in enumerate(zip(ours, theirs, strict=False)):
        if len(a) != len(b) or not all(_same(x, y) for x, y in zip(a, b, strict=True)):
            return f"{kind} #{k}: reference {a} != engine {b}"
    if len(ours) != len(theirs):
        k = min(len(ours), len(theirs))
        extra = ("reference", ours[k]) if len(ours) > k else ("engine", theirs[k])
        return f"{kind}: reference has {len(ours)}, engine {len(theirs)}; first extra ({extra[0]}): {extra[1]}"
    return ""


def _columns(df: pd.DataFrame) -> dict[str, list[Any]]:
    return {str(c): df[c].tolist() for c in df.columns}


def engine_orders(res: BacktestResult) -> list[tuple[Any, ...]]:
    o = _columns(res.orders)
    bars = res.index.get_indexer(pd.DatetimeIndex(o["time"]))
    return [
        (int(bars[k]), res.symbols.index(o["symbol"][k]), 1 if o["side"][k] == "buy" else -1,
         float(o["quantity"][k]), float(o["price"][k]), float(o["fee"][k]), o["status"][k],
         o["reason"][k], float(o["requested"][k]))
        for k in range(len(bars))
    ]  # fmt: skip


def engine_trades(res: BacktestResult) -> list[tuple[Any, ...]]:
    tr = _columns(res.trades)
    ent = res.index.get_indexer(pd.DatetimeIndex(tr["entry_time"]))
    ext = res.index.get_indexer(pd.DatetimeIndex(tr["exit_time"]))
    return [
        (int(ent[k]), res.symbols.index(tr["symbol"][k]),
         1 if tr["direction"][k] == "long" else -1, int(ext[k]),
         float(tr["entry_price"][k]), float(tr["exit_price"][k]), float(tr["quantity"][k]),
         float(tr["fees"][k]), float(tr["slippage"][k]), float(tr["pnl"][k]),
         float(tr["mae"][k]), float(tr["mfe"][k]), int(tr["bars_held"][k]),
         tr["exit_reason"][k], bool(tr["ambiguous"][k]))
        for k in range(len(ent))
    ]  # fmt: skip


def reference_trades(ref: RefResult) -> list[tuple[Any, ...]]:
    rows = [
        (x.entry_bar, x.symbol, x.direction, x.exit_bar, x.entry_price, x.exit_price,
         x.quantity, x.fees, x.slippage, x.pnl, x.mae, x.mfe, x.bars_held, x.exit_reason,
         x.ambiguous)
        for x in ref.trades
    ]  # fmt: skip
    return sorted(rows, key=lambda r: (r[0], r[1]))  # the engine's order: entry, then symbol


def differences(case: Case, res: BacktestResult, ref: RefResult) -> list[str]:
    """Every way the engine's result differs from the reference's ('' parts dropped)."""
    out = []
    eq, cash = np.asarray(ref.equity), np.asarray(ref.cash)
    for name, ours, theirs in (("equity", eq, res.equity_values), ("cash", cash, res.cash_values)):
        bad = ~np.isclose(ours, theirs, rtol=RTOL, atol=ATOL, equal_nan=True)
        if bad.any():
            t = int(np.argmax(bad))
            out.append(
                f"{name} first differs at bar {t}: reference {ours[t]!r}, engine {theirs[t]!r}"
            )
    pos = np.asarray(ref.positions)
    if not np.allclose(pos, res.position_values, rtol=RTOL, atol=1e-9):
        t = int(np.argmax(~np.isclose(pos, res.position_values, rtol=RTOL, atol=1e-9).all(axis=1)))
        out.append(f"positions first differ at bar {t}: {pos[t]} vs {res.position_values[t]}")
    ref_orders = [
        (o.bar, o.symbol, o.side, o.quantity, o.price, o.fee, o.status, o.reason, o.requested)
        for o in ref.orders
    ]
    out.append(_rows_differ("order", ref_orders, engine_orders(res)))
    out.append(_rows_differ("trade", reference_trades(ref), engine_trades(res)))
    ev = _columns(res.risk_events)
    ev_bars = res.index.get_indexer(pd.DatetimeIndex(ev["time"]))
    engine_events = sorted(
        (int(ev_bars[k]), ev["rule"][k],
         res.symbols.index(ev["symbol"][k]) if isinstance(ev["symbol"][k], str) else -1,
         float(ev["value"][k]))
        for k in range(len(ev_bars))
    )  # fmt: skip
    ref_events = sorted((e.bar, e.rule, e.symbol, e.value) for e in ref.events)
    out.append(_rows_differ("risk event", ref_events, engine_events))
    if ref.ambiguous_bars != res.ambiguous_bars:
        out.append(f"ambiguous bars: reference {ref.ambiguous_bars}, engine {res.ambiguous_bars}")
    return [d for d in out if d]


def check(case: Case, fast_paths: bool | None) -> None:
    """Assert that the engine reports exactly what the reference does."""
    ref = run_reference(case)
    res = run_engine(case, fast_paths)
    diffs = differences(case, res, ref)
    assert not diffs, "engine != reference:\n  " + "\n  ".join(diffs)
