"""The parts of a drift report: a run's trades, costs and equity against its backtest.

Pure functions of ledger rows and a :class:`~alphaforge.sim.result.BacktestResult`; the use case
that puts them together is :func:`alphaforge.services.drift.drift_report`.

Conventions: price differences are ``(run - backtest) / backtest`` in basis points (a long entry
bought dearer and a long exit sold cheaper both cost the run); money is in the account's
currency; the run's time stamps are put on the backtest's bar that contains them (a broker fill
at 14:31 belongs to that day's daily bar).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.ledger import FillRow, OrderRow, PositionRow, TradeRow
from alphaforge.ledger.fifo import match_fills

__all__ = [
    "CostComparison",
    "MatchedTrade",
    "OpenPosition",
    "ReturnComparison",
    "UnmatchedTrade",
    "compare_costs",
    "compare_open",
    "compare_returns",
    "match_trades",
]

Key = tuple[str, str, pd.Timestamp]  # symbol, side, entry bar


@dataclass(frozen=True)
class MatchedTrade:
    """A round trip found on both sides, keyed by (symbol, side, entry bar)."""

    symbol: str
    side: str
    entry_time: pd.Timestamp
    exit_time_run: pd.Timestamp
    exit_time_backtest: pd.Timestamp
    qty_run: float
    qty_backtest: float
    entry_price_run: float
    entry_price_backtest: float
    exit_price_run: float
    exit_price_backtest: float
    exit_reason_run: str
    exit_reason_backtest: str
    fees_run: float
    fees_backtest: float
    slippage_run: float  # money: slippage per unit x units, entry and exit
    slippage_backtest: float
    pnl_run: float
    pnl_backtest: float

    @property
    def qty_diff(self) -> float:
        return self.qty_run - self.qty_backtest

    @property
    def entry_diff_bps(self) -> float:
        return _bps(self.entry_price_run, self.entry_price_backtest)

    @property
    def exit_diff_bps(self) -> float:
        return _bps(self.exit_price_run, self.exit_price_backtest)

    @property
    def reasons_agree(self) -> bool:
        return self.exit_reason_run == self.exit_reason_backtest

    @property
    def pnl_diff(self) -> float:
        return self.pnl_run - self.pnl_backtest


@dataclass(frozen=True)
class UnmatchedTrade:
    """A round trip on one side only (``source``: 'run' or 'backtest')."""

    source: str
    symbol: str
    side: str
    entry_time: pd.Timestamp
    exit_time: pd.Timestamp
    qty: float
    entry_price: float
    exit_price: float
    exit_reason: str
    pnl: float


@dataclass(frozen=True)
class OpenPosition:
    """A position still open at the end, per symbol; a side absent is a quantity of 0."""

    symbol: str
    qty_run: float  # signed
    qty_backtest: float
    price_run: float  # average entry price (NaN when flat)
    price_backtest: float

    @property
    def matches(self) -> bool:
        return self.qty_run == self.qty_backtest


@dataclass(frozen=True)
class CostComparison:
    """Fees and slippage the run paid against what the backtest's cost model assumed."""

    fees_run: float
    fees_backtest: float
    slippage_run: float
    slippage_backtest: float
    traded_run: float  # traded value (price x units over every fill)
    traded_backtest: float

    @property
    def cost_bps_run(self) -> float:
        return _ratio_bps(self.fees_run + self.slippage_run, self.traded_run)

    @property
    def cost_bps_backtest(self) -> float:
        return _ratio_bps(self.fees_backtest + self.slippage_backtest, self.traded_backtest)


@dataclass(frozen=True)
class ReturnComparison:
    """The run's equity against the backtest's on the bars both have."""

    bars: int  # bars compared
    bars_run_only: int
    bars_backtest_only: int
    cash: float  # starting equity of both
    final_equity_run: float
    final_equity_backtest: float
    return_run: float
    return_backtest: float
    tracking_error: float  # annualised std of the per-bar return differences (NaN: < 2 bars)
    max_equity_gap: float
    max_gap_time: pd.Timestamp | None

    @property
    def final_equity_diff(self) -> float:
        return self.final_equity_run - self.final_equity_backtest

    @property
    def return_diff(self) -> float:
        return self.return_run - self.return_backtest


def _bps(run: float, backtest: float) -> float:
    return (run / backtest - 1.0) * 1e4 if backtest else math.nan


def _ratio_bps(cost: float, traded: float) -> float:
    return cost / traded * 1e4 if traded else math.nan


def bar_of(ts: str | pd.Timestamp, index: pd.DatetimeIndex) -> pd.Timestamp:
    """The bar of ``index`` that contains ``ts`` (the last bar starting at or before it)."""
    t = pd.Timestamp(ts)
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    pos = int(index.searchsorted(t, side="right")) - 1
    return index[pos] if pos >= 0 else t


# ---- trades -----------------------------------------------------------------------------------


def _exit_reason(trade: TradeRow, orders: Mapping[str, OrderRow]) -> str:
    """The exit reason of a round trip: a protective pair's target leg is a take-profit (the
    pair is one order whose reason is its stop's; the venue names the leg that filled)."""
    order = orders.get(trade.exit_client_id)
    if order is not None and order.state_reason.startswith("target"):
        return "take_profit"
    return trade.exit_reason


@dataclass(frozen=True)
class _RunTrade:
    symbol: str
    side: str
    entry: pd.Timestamp  # bar
    exit: pd.Timestamp  # bar
    qty: float
    entry_price: float
    exit_price: float
    reason: str
    fees: float
    slippage: float
    pnl: float


def _run_trades(
    trades: Sequence[TradeRow],
    slippage: Sequence[Decimal],
    orders: Mapping[str, OrderRow],
    index: pd.DatetimeIndex,
) -> list[_RunTrade]:
    out = []
    for tr, slip in zip(trades, slippage, strict=True):
        x = _RunTrade(
            tr.symbol, tr.side, bar_of(tr.entry_ts, index), bar_of(tr.exit_ts, index),
            float(tr.qty), float(tr.entry_price), float(tr.exit_price),
            _exit_reason(tr, orders), float(tr.fees), float(slip), float(tr.pnl),
        )  # fmt: skip
        out.append(x)
    return out


def trade_slippage(fills: Iterable[FillRow]) -> list[Decimal]:
    """The slippage money of each FIFO round trip of ``fills``: the round trips of the same
    fills with each fee replaced by its slippage x units (shared out as fees are)."""
    as_fees = [replace(f, fee=f.slippage * f.qty) for f in fills]
    return [t.fees for t in match_fills(as_fees)[1]]


def match_trades(
    trades: Sequence[TradeRow],
    slippage: Sequence[Decimal],
    orders: Mapping[str, OrderRow],
    bt_trades: pd.DataFrame,
    index: pd.DatetimeIndex,
) -> tuple[list[MatchedTrade], list[UnmatchedTrade], list[UnmatchedTrade]]:
    """Closed round trips matched one to one by (symbol, side, entry bar). A position entered
    at one bar is one trade on each side, whatever its exit fills: the backtest records an exit
    filled in parts (a volume cap) as a trade per part, the ledger's round trips may differ;
    both are summed per key first (quantities, fees, slippage and P&L; prices weighted by
    quantity; the last exit bar and reason). Returns matched, run only, backtest only."""
    run: dict[Key, list[_RunTrade]] = defaultdict(list)
    for x in _run_trades(trades, slippage, orders, index):
        run[(x.symbol, x.side, x.entry)].append(x)
    run = {k: [_merge_run(v)] for k, v in run.items()}
    matched: list[MatchedTrade] = []
    bt_only: list[UnmatchedTrade] = []
    r: Any
    for r in _merge_backtest(bt_trades).itertuples(index=False):
        key: Key = (str(r.symbol), str(r.direction), pd.Timestamp(r.entry_time))
        if run.get(key):
            matched.append(_matched(run[key].pop(0), r))
        else:
            bt_only.append(
                UnmatchedTrade("backtest", key[0], key[1], key[2], pd.Timestamp(r.exit_time),
                               float(r.quantity), float(r.entry_price), float(r.exit_price),
                               str(r.exit_reason), float(r.pnl))
            )  # fmt: skip
    run_only = [
        UnmatchedTrade("run", x.symbol, x.side, x.entry, x.exit, x.qty, x.entry_price,
                       x.exit_price, x.reason, x.pnl)
        for rows in run.values() for x in rows
    ]  # fmt: skip
    run_only.sort(key=lambda u: (u.entry_time, u.symbol))
    return matched, run_only, bt_only


def _merge_run(parts: list[_RunTrade]) -> _RunTrade:
    """The run's round trips of one entry as one trade (see :func:`match_trades`)."""
    if len(parts) == 1:
        return parts[0]
    qty = sum(x.qty for x in parts)
    last = max(parts, key=lambda x: x.exit)
    return replace(
        last, entry=parts[0].entry, qty=qty,
        entry_price=sum(x.entry_price * x.qty for x in parts) / qty,
        exit_price=sum(x.exit_price * x.qty for x in parts) / qty,
        fees=sum(x.fees for x in parts), slippage=sum(x.slippage for x in parts),
        pnl=sum(x.pnl for x in parts),
    )  # fmt: skip


def _merge_backtest(bt: pd.DataFrame) -> pd.DataFrame:
    """The backtest's trades of one entry as one trade (see :func:`match_trades`)."""
    keys = ["symbol", "direction", "entry_time"]
    if not len(bt) or not bt.duplicated(keys).any():
        return bt
    bt = bt.sort_values("exit_time", kind="stable").assign(
        _entry_value=bt["entry_price"] * bt["quantity"],
        _exit_value=bt["exit_price"] * bt["quantity"],
    )
    out = bt.groupby(keys, sort=False, as_index=False).agg(
        exit_time=("exit_time", "last"), quantity=("quantity", "sum"),
        _entry_value=("_entry_value", "sum"), _exit_value=("_exit_value", "sum"),
        exit_reason=("exit_reason", "last"), fees=("fees", "sum"),
        slippage=("slippage", "sum"), pnl=("pnl", "sum"),
    )  # fmt: skip
    out["entry_price"] = out["_entry_value"] / out["quantity"]
    out["exit_price"] = out["_exit_value"] / out["quantity"]
    return out.drop(columns=["_entry_value", "_exit_value"]).sort_values(
        "entry_time", kind="stable"
    )


def _matched(x: _RunTrade, r: Any) -> MatchedTrade:
    return MatchedTrade(
        symbol=x.symbol, side=x.side, entry_time=x.entry, exit_time_run=x.exit,
        exit_time_backtest=pd.Timestamp(r.exit_time),
        qty_run=x.qty, qty_backtest=float(r.quantity),
        entry_price_run=x.entry_price, entry_price_backtest=float(r.entry_price),
        exit_price_run=x.exit_price, exit_price_backtest=float(r.exit_price),
        exit_reason_run=x.reason, exit_reason_backtest=str(r.exit_reason),
        fees_run=x.fees, fees_backtest=float(r.fees),
        slippage_run=x.slippage, slippage_backtest=float(r.slippage),
        pnl_run=x.pnl, pnl_backtest=float(r.pnl),
    )  # fmt: skip


def compare_open(positions: Sequence[PositionRow], bt_open: pd.DataFrame) -> list[OpenPosition]:
    """Positions open at the end: the run's (from its fills) against the backtest's (its
    ``end_of_data`` trades), per symbol."""
    run: dict[str, tuple[float, float]] = {}
    for p in positions:  # one per strategy and symbol
        q = run.get(p.symbol, (0.0, math.nan))[0]
        run[p.symbol] = (q + float(p.qty), float(p.avg_price))
    bt: dict[str, tuple[float, float]] = {}
    for sym, g in bt_open.groupby("symbol", sort=True):
        signed = np.where(g["direction"] == "long", 1.0, -1.0) * g["quantity"].to_numpy()
        units = float(g["quantity"].sum())
        px = float((g["entry_price"] * g["quantity"]).sum() / units) if units else math.nan
        bt[str(sym)] = (float(signed.sum()), px)
    out = []
    for sym in sorted(set(run) | set(bt)):
        qr, pr = run.get(sym, (0.0, math.nan))
        qb, pb = bt.get(sym, (0.0, math.nan))
        out.append(OpenPosition(sym, qr, qb, pr, pb))
    return out


# ---- costs and returns ------------------------------------------------------------------------


def compare_costs(
    fills: Sequence[FillRow], bt_orders: pd.DataFrame, bt_trades: pd.DataFrame
) -> CostComparison:
    """Totals over every fill: the run's fee and slippage columns against the backtest's order
    fees and trade slippage (its ``end_of_data`` trades carry their entries' slippage)."""
    done = bt_orders[bt_orders["status"].isin(["filled", "partial"]) & (bt_orders["quantity"] > 0)]
    return CostComparison(
        fees_run=float(sum((f.fee for f in fills), Decimal(0))),
        fees_backtest=float(done["fee"].sum()),
        slippage_run=float(sum((f.slippage * f.qty for f in fills), Decimal(0))),
        slippage_backtest=float(bt_trades["slippage"].sum()),
        traded_run=float(sum((f.price * f.qty for f in fills), Decimal(0))),
        traded_backtest=float((done["price"] * done["quantity"]).sum()),
    )


def compare_returns(
    curve: pd.DataFrame, equity: pd.Series, cash: float, periods_per_year: float
) -> ReturnComparison | None:
    """The run's equity snapshots against the backtest's equity on the bars both have; both
    start from ``cash``. None when they share no bar."""
    run = curve["equity"].astype(float)
    common = run.index.intersection(equity.index)
    if len(common) == 0:
        return None
    a, b = run.loc[common], equity.loc[common].astype(float)
    ra = a / a.shift(1, fill_value=cash) - 1.0
    rb = b / b.shift(1, fill_value=cash) - 1.0
    diff = (ra - rb).to_numpy()
    te = float(np.std(diff, ddof=1) * math.sqrt(periods_per_year)) if len(diff) > 1 else math.nan
    gap = (a - b).abs().to_numpy()
    return ReturnComparison(
        bars=len(common), bars_run_only=len(run.index.difference(common)),
        bars_backtest_only=len(equity.index.difference(common)), cash=cash,
        final_equity_run=float(a.iloc[-1]), final_equity_backtest=float(b.iloc[-1]),
        return_run=float(a.iloc[-1]) / cash - 1.0, return_backtest=float(b.iloc[-1]) / cash - 1.0,
        tracking_error=te, max_equity_gap=float(gap.max()), max_gap_time=common[int(np.argmax(gap))],
    )  # fmt: skip
