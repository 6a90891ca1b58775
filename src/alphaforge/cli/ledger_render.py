"""Tables and JSON of the trading ledger for the CLI (``alphaforge status``, ``positions`` ...)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from rich.table import Table

if TYPE_CHECKING:
    import pandas as pd

    from alphaforge.ledger import FillRow, OrderRow, PositionRow
    from alphaforge.ledger.protection import HeldProtection

    Held = dict[tuple[str, str], HeldProtection]


__all__ = [
    "daily_table",
    "fills_table",
    "money",
    "order_type",
    "orders_table",
    "position_record",
    "positions_table",
    "qty",
    "to_json",
]


def money(x: Decimal | float | None) -> str:
    """``1,234.50``; an empty cell for None."""
    return "" if x is None else f"{float(x):,.2f}"


def qty(x: Decimal | float) -> str:
    """A quantity with its significant decimals only: ``1,500``, ``0.25``."""
    d = x if isinstance(x, Decimal) else Decimal(repr(float(x)))
    return f"{d.normalize():,f}" if d == d else "nan"


def _signed_money(x: Decimal | float) -> str:
    return f"[{'green' if x >= 0 else 'red'}]{money(x)}[/]"


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and value != value:
        return None
    return value


def to_json(value: Any) -> str:
    """JSON text of row dataclasses, dicts and lists of them (Decimals as numbers)."""

    def convert(v: Any) -> Any:
        if dataclasses.is_dataclass(v) and not isinstance(v, type):
            return {f.name: convert(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, dict):
            return {str(k): convert(x) for k, x in v.items()}
        if isinstance(v, list | tuple):
            return [convert(x) for x in v]
        return _plain(v)

    return json.dumps(convert(value), indent=2)


FOLD = frozenset({"client id", "fill id", "strategy"})
"""Columns whose text is never cut short: an id (two ids of one order and its protective leg
differ only at their end) or a strategy name wraps inside its cell on a narrow terminal or a
pipe; other text may end in an ellipsis."""


MIN_WIDTH = {"bar (UTC)": 10, "time (UTC)": 10}
"""Columns kept at least this wide on a narrow terminal: a whole day."""


def _table(title: str, columns: Sequence[str], right: set[str]) -> Table:
    table = Table(title=title, title_justify="left", header_style="bold")
    for col in columns:
        table.add_column(
            col, justify="right" if col in right else "left",
            overflow="fold" if col in FOLD else "ellipsis", min_width=MIN_WIDTH.get(col),
        )  # fmt: skip
    return table


def stamp(ts: str | None) -> str:
    """A ledger time as :func:`~alphaforge.core.panel.short_time` shows it; an empty cell for
    none, the text as it is when it is not a time."""
    if not ts:
        return ""
    from alphaforge.core.panel import short_time

    try:
        return short_time(ts)
    except ValueError:
        return ts


def positions_table(rows: list[PositionRow], run_id: str, held: Held) -> Table:
    """The open positions with the stop and target their working protective orders hold at
    the venue (``held``, see :func:`~alphaforge.ledger.protection.held_protection`)."""
    cols = ["strategy", "symbol", "qty", "avg price", "stop", "target", "realized P&L", "fees"]
    table = _table(f"Open positions of {run_id}", cols, set(cols[2:]))
    for p in rows:
        h = held[(p.strategy, p.symbol)]
        table.add_row(p.strategy, p.symbol, qty(p.qty), money(p.avg_price), money(h.stop),
                      money(h.target), _signed_money(p.realized_pnl), money(p.fees))  # fmt: skip
    table.caption = "stop / target: held at the venue by working orders (blank: none)"
    return table


def position_record(p: PositionRow, held: Held) -> dict[str, Any]:
    """A position as ``positions --json`` gives it: its row, and the stop and target held for
    it at the venue (null: none)."""
    h = held[(p.strategy, p.symbol)]
    return {**dataclasses.asdict(p), "stop": h.stop, "target": h.target}


def orders_table(rows: list[OrderRow], title: str) -> Table:
    """The orders; the strategy is a column when they are of several, else in the title (a
    narrow terminal keeps the room for the ids and the bars)."""
    strategies = sorted({o.strategy for o in rows})
    several = len(strategies) > 1
    cols = ["client id", *(["strategy"] if several else []), "symbol", "side", "qty", "type",
            "limit", "stop", "state", "filled", "avg fill", "bar (UTC)", "reason"]  # fmt: skip
    if len(strategies) == 1:
        title = f"{title} · strategy {strategies[0]}"
    table = _table(title, cols, {"qty", "limit", "stop", "filled", "avg fill"})
    pairs = False
    for o in rows:
        kind, limit = _type_and_limit(o)
        pairs = pairs or kind == "oco"
        table.add_row(
            o.client_id, *([o.strategy] if several else []), o.symbol, o.side, qty(o.qty),
            kind, money(limit), money(o.stop), o.state, qty(o.filled_qty),
            money(o.avg_fill_price) if o.filled_qty else "", stamp(o.bar),
            o.state_reason or o.reason,
        )  # fmt: skip
    if pairs:
        table.caption = "oco: a position's protective pair, its stop and its target (limit); "
        table.caption += "the first touched fills, and cancels the other"
    return table


def order_type(o: OrderRow) -> str:
    """The type a reader knows the order by: a protective order holding both a stop and a
    target (the venue's one-cancels-other pair) is ``oco``, not a stop with a limit price; one
    holding only a target is ``target``."""
    return _type_and_limit(o)[0]


def _type_and_limit(o: OrderRow) -> tuple[str, Decimal | None]:
    """:func:`order_type` and the price of the order's limit column (a protective order's
    target is its limit side, wherever the ledger keeps it)."""
    from alphaforge.ledger.protection import protective_levels  # (the ledger loads SQLAlchemy)

    stop, target = protective_levels(o)
    if target is None:
        return o.type, o.limit
    if stop is not None:
        return "oco", target
    return (o.type if o.type == "limit" else "target"), target


def fills_table(rows: list[FillRow], run_id: str) -> Table:
    cols = ["time (UTC)", "strategy", "symbol", "side", "qty", "price", "fee", "slippage",
            "fill id"]  # fmt: skip
    table = _table(f"Fills of {run_id}", cols, {"qty", "price", "fee", "slippage"})
    for f in rows:
        table.add_row(stamp(f.ts), f.strategy, f.symbol, f.side, qty(f.qty), money(f.price),
                      money(f.fee), money(f.slippage), f.fill_id)  # fmt: skip
    return table


def daily_table(frame: pd.DataFrame, run_id: str) -> Table:
    cols = ["day", "start equity", "end equity", "P&L", "return", "trades", "fees",
            "risk events", "gross exp.", "net exp."]  # fmt: skip
    table = _table(f"Daily P&L of {run_id}", cols, set(cols[1:]))
    for day, r in frame.iterrows():
        table.add_row(
            str(day), money(r["start_equity"]), money(r["end_equity"]), _signed_money(r["pnl"]),
            f"{float(r['return']):+.2%}", str(int(r["trades"])), money(r["fees"]),
            str(int(r["risk_events"])), _of_equity(r["gross"], r["end_equity"], ""),
            _of_equity(r["net"], r["end_equity"], "+"),
        )  # fmt: skip
    table.caption = "exposure at the day's last bar, in % of its end equity"
    return table


def _of_equity(value: float, equity: float, sign: str) -> str:
    """``value`` in % of ``equity`` (the day's exposure); the money itself when the equity is
    not positive."""
    if not float(equity) > 0.0:
        return money(value)
    return f"{float(value) / float(equity):{sign}.1%}"


def daily_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One JSON record per day: the counts as integers, the amounts as numbers."""
    return [
        {"day": str(rec.pop("day")), **{str(k): _plain(v) for k, v in rec.items()}}
        for rec in frame.reset_index().to_dict("records")
    ]
