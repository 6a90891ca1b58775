"""Derived reads of the ledger: current order states, fills, positions, round trips, equity.

Functions of a :class:`sqlalchemy.Connection`; :class:`~alphaforge.ledger.repository.Ledger`
calls them with a connection of its engine and turns database errors into ``StoreError``.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import Connection, Row, Select, Table, select

from alphaforge.core.orders import OrderState, is_stale
from alphaforge.ledger import models as m
from alphaforge.ledger.fifo import match_fills
from alphaforge.ledger.rows import FillRow, OrderRow, PositionRow, TradeRow

__all__ = [
    "equity_curve",
    "fills",
    "order_rows",
    "positions",
    "submitted_ids",
    "trades",
]

ZERO = Decimal(0)
EQUITY_COLUMNS = ["cash", "equity", "gross", "net"]


def table(model: type[m.Base]) -> Table:
    t = model.__table__
    assert isinstance(t, Table)
    return t


def fills(conn: Connection, run_id: str, strategy: str | None = None) -> list[FillRow]:
    """The run's fills, oldest first (by time, then by when they were recorded)."""
    t = table(m.FillRecord)
    query = select(t).where(t.c.run_id == run_id)
    if strategy is not None:
        query = query.where(t.c.strategy == strategy)
    rows = conn.execute(query.order_by(t.c.ts, t.c.id))
    return [
        FillRow(r.fill_id, r.client_id, r.run_id, r.strategy, r.symbol, r.side, r.qty, r.price,
                r.fee, r.slippage, r.ts)
        for r in rows
    ]  # fmt: skip


def _reasons(conn: Connection, run_id: str) -> dict[str, str]:
    """The reason of each order of the run; a protective pair held as one order whose target
    side filled (the venue says so in the fill's update) closed its trade as a take-profit."""
    t = table(m.OrderRecord)
    query = select(t.c.client_id, t.c.reason).where(t.c.run_id == run_id)
    reasons = {cid: reason for cid, reason in conn.execute(query)}
    e = table(m.OrderEvent)
    target = (
        select(e.c.client_id)
        .join(t, t.c.client_id == e.c.client_id)
        .where(t.c.run_id == run_id, e.c.reason.like("target%"))
    )
    for (cid,) in conn.execute(target):
        reasons[cid] = "take_profit"
    return reasons


def positions(conn: Connection, run_id: str, strategy: str | None = None) -> list[PositionRow]:
    """Open positions derived from the fills."""
    return match_fills(fills(conn, run_id, strategy))[0]


def trades(conn: Connection, run_id: str, strategy: str | None = None) -> list[TradeRow]:
    """Round trips matched FIFO from the fills, with the closing order's reason."""
    return match_fills(fills(conn, run_id, strategy), _reasons(conn, run_id))[1]


def _fold_state(events: Sequence[Row[Any]]) -> tuple[OrderState, str, str, str]:
    """(state, time, venue id, reason) after the events, oldest first; an update the order has
    already moved past (a late acknowledgement) does not move it back."""
    state, ts, venue_id, reason = OrderState.NEW, "", "", ""
    for e in events:
        dst = OrderState(e.state)
        venue_id = venue_id or e.venue_id
        if dst is state and dst is not OrderState.PARTIALLY_FILLED and ts:
            continue
        if ts and is_stale(state, dst):
            continue
        state, ts = dst, e.ts
        reason = e.reason or reason
    return state, ts, venue_id, reason


def _order_query(run_id: str | None, client_id: str | None) -> Select[Any]:
    t = table(m.OrderRecord)
    query = select(t)
    if run_id is not None:
        query = query.where(t.c.run_id == run_id)
    if client_id is not None:
        query = query.where(t.c.client_id == client_id)
    return query.order_by(t.c.id)


def order_rows(
    conn: Connection, run_id: str | None = None, client_id: str | None = None
) -> list[OrderRow]:
    """Orders of a run (or the one order ``client_id``) with their current state."""
    orders = list(conn.execute(_order_query(run_id, client_id)))
    if not orders:
        return []
    ids = [o.client_id for o in orders]
    e, f = table(m.OrderEvent), table(m.FillRecord)
    events: dict[str, list[Row[Any]]] = {}
    query = select(e).where(e.c.client_id.in_(ids)).order_by(e.c.client_id, e.c.seq, e.c.id)
    for ev in conn.execute(query):
        events.setdefault(ev.client_id, []).append(ev)
    filled: dict[str, tuple[Decimal, Decimal, Decimal]] = {}
    query = select(f.c.client_id, f.c.qty, f.c.price, f.c.fee).where(f.c.client_id.in_(ids))
    for cid, qty, price, fee in conn.execute(query):
        q, v, fees = filled.get(cid, (ZERO, ZERO, ZERO))
        filled[cid] = (q + qty, v + qty * price, fees + fee)
    return [_order_row(o, events.get(o.client_id, []), filled.get(o.client_id)) for o in orders]


def _order_row(
    o: Row[Any], events: Sequence[Row[Any]], filled: tuple[Decimal, Decimal, Decimal] | None
) -> OrderRow:
    state, ts, venue_id, reason = _fold_state(events)
    qty, value, fees = filled or (ZERO, ZERO, ZERO)
    return OrderRow(
        client_id=o.client_id, run_id=o.run_id, strategy=o.strategy, symbol=o.symbol,
        side=o.side, qty=o.qty, type=o.type, intent=o.intent, tif=o.tif, limit=o.limit,
        stop=o.stop, stop_loss=o.stop_loss, take_profit=o.take_profit, bar=o.bar,
        reason=o.reason, created=o.created, state=state.value, updated=ts or o.created,
        venue_id=venue_id, state_reason=reason, filled_qty=qty,
        avg_fill_price=(value / qty).quantize(Decimal("1e-10")) if qty else ZERO, fees=fees,
    )  # fmt: skip


def submitted_ids(conn: Connection, run_id: str | None = None) -> set[str]:
    """Client ids that ever reached 'submitted' or a later state (or have a fill)."""
    e, o, f = table(m.OrderEvent), table(m.OrderRecord), table(m.FillRecord)
    events = select(e.c.client_id).where(e.c.state != OrderState.NEW.value)
    filled = select(f.c.client_id)
    if run_id is not None:
        events = events.join(o, o.c.client_id == e.c.client_id).where(o.c.run_id == run_id)
        filled = filled.where(f.c.run_id == run_id)
    return set(conn.scalars(events.distinct())) | set(conn.scalars(filled.distinct()))


def equity_curve(conn: Connection, run_id: str, strategy: str | None = None) -> pd.DataFrame:
    """Equity snapshots by bar (UTC timestamps), summed over strategies when ``strategy`` is
    None; columns cash, equity, gross, net as floats."""
    t = table(m.EquitySnapshot)
    query = select(t.c.bar, t.c.cash, t.c.equity, t.c.gross, t.c.net).where(t.c.run_id == run_id)
    if strategy is not None:
        query = query.where(t.c.strategy == strategy)
    rows = conn.execute(query.order_by(t.c.id)).all()
    if not rows:
        empty = pd.DataFrame(columns=EQUITY_COLUMNS, dtype=float)
        empty.index = pd.DatetimeIndex([], tz="UTC", name="bar")
        return empty
    frame = pd.DataFrame(
        [[float(x) for x in r[1:]] for r in rows],
        columns=EQUITY_COLUMNS,
        index=pd.DatetimeIndex(pd.to_datetime([r[0] for r in rows], utc=True), name="bar"),
    )
    return frame.groupby(level="bar", sort=True).sum()
