"""The writer of one cycle: buffers the cycle's rows and writes them in bulk at commit.

Nothing touches the database while the runtime works through a bar except the look-up that
tells :meth:`CycleWriter.fill` whether an execution is already recorded. At commit the whole
cycle goes in one transaction: one multi-row ``INSERT`` per table, the strategy-state upserts
and the cycle row (see :meth:`alphaforge.ledger.repository.Ledger.cycle`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
from sqlalchemy import Connection, Select, Table, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite

from alphaforge.core.errors import StoreError
from alphaforge.core.orders import Fill, OrderRequest, OrderState, OrderUpdate
from alphaforge.ledger import models as m
from alphaforge.ledger.connect import BulkInsert
from alphaforge.ledger.values import SCALE, amount, float_amount, now_text, utc_text

__all__ = ["CycleWriter", "MarkedCycles"]

Row = dict[str, Any]


def _table(model: type[m.Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _known(model: type[m.Base], column: str) -> Select[Any]:
    """``SELECT column FROM table WHERE column IN (:ids)``, built once: its compiled form is
    cached, so each cycle only binds its ids."""
    c = _table(model).c[column]
    return select(c).where(c.in_(bindparam("ids", expanding=True)))


_KNOWN_ORDERS = _known(m.OrderRecord, "client_id")
_KNOWN_FILLS = _known(m.FillRecord, "fill_id")
_IDS: Any = bindparam("ids", expanding=True)
_LAST_SEQ = (
    select(_table(m.OrderEvent).c.client_id, func.max(_table(m.OrderEvent).c.seq))
    .where(_table(m.OrderEvent).c.client_id.in_(_IDS))
    .group_by(_table(m.OrderEvent).c.client_id)
)
_OWNERS = select(_table(m.OrderRecord).c.client_id, _table(m.OrderRecord).c.strategy).where(
    _table(m.OrderRecord).c.client_id.in_(_IDS)
)


class BatchIds:
    """What the cycles of one transaction must not repeat: the order and fill ids already
    recorded, the last event number of each order and the strategy of each order. Read with
    one query each for all the batch's cycles, then kept current as each cycle is written (a
    later cycle sees what an earlier one added)."""

    def __init__(self, conn: Connection, writers: list[CycleWriter]) -> None:
        orders = list({cid for w in writers for cid in w._orders})
        fills = list({fid for w in writers for fid in w._fills})
        events = list({e["client_id"] for w in writers for e in w._events})
        unowned = list({r["client_id"] for w in writers for r in w._fills.values()
                        if not r["strategy"]})  # fmt: skip
        self.orders: set[str] = (
            set(conn.scalars(_KNOWN_ORDERS, {"ids": orders})) if orders else set()
        )
        self.fills: set[str] = set(conn.scalars(_KNOWN_FILLS, {"ids": fills})) if fills else set()
        self.last_seq: dict[str, int] = (
            {cid: int(n) for cid, n in conn.execute(_LAST_SEQ, {"ids": events})} if events else {}
        )
        self.owners: dict[str, str] = (
            {cid: st for cid, st in conn.execute(_OWNERS, {"ids": unowned})} if unowned else {}
        )


class _KeepsState:
    """Strategy-state rows kept until the commit (upserted there)."""

    _state: dict[tuple[str, str], str]

    def set_state(self, strategy: str, key: str, value: Any) -> None:
        """Keep ``value`` (JSON-serialisable) for ``strategy`` under ``key`` across restarts."""
        self._state[(strategy, key)] = json.dumps(value, sort_keys=True)

    def _write_state(self, conn: Connection) -> None:
        if not self._state:
            return
        rows = [{"strategy": s, "key": k, "value": v} for (s, k), v in self._state.items()]
        write_state(conn, rows)


class CycleWriter(_KeepsState):
    """Records what happened in one cycle (one bar) of a run.

    Obtained from :meth:`Ledger.cycle`; every call only buffers, and the rows reach the
    database together when the ``with`` block ends without an exception."""

    def __init__(
        self, run_id: str, bar: str, fill_known: Callable[[str], bool], exact: bool = True
    ) -> None:
        self.run_id = run_id
        self._num: Callable[[float, str], Any] = amount if exact else float_amount
        self.bar = bar
        self._fill_known = fill_known
        self._rows: dict[type[m.Base], list[Row]] = {}
        self._orders: dict[str, Row] = {}
        self._events: list[Row] = []
        self._fills: dict[str, Row] = {}
        self._state: dict[tuple[str, str], str] = {}

    def _opt(self, x: float | None, what: str) -> Any:
        return None if x is None else self._num(x, what)

    def _add(self, model: type[m.Base], row: Row) -> None:
        self._rows.setdefault(model, []).append(row)

    def signal(self, strategy: str, symbol: str, value: str) -> None:
        """The strategy's signal for ``symbol`` at this bar, as text."""
        self._add(
            m.SignalRecord,
            {"run_id": self.run_id, "strategy": strategy, "symbol": symbol, "bar": self.bar,
             "value": str(value)},
        )  # fmt: skip

    def decision(
        self, strategy: str, symbol: str, action: str, qty: float, reason: str, accepted: bool
    ) -> None:
        """What the runtime decided for ``symbol`` and whether the risk gate accepted it."""
        self._add(
            m.Decision,
            {"run_id": self.run_id, "strategy": strategy, "symbol": symbol, "bar": self.bar,
             "action": action, "qty": self._num(qty, "decision qty"), "reason": reason,
             "accepted": bool(accepted)},
        )  # fmt: skip

    def order(self, request: OrderRequest) -> None:
        """A new order and its 'new' event; a client id already recorded is ignored."""
        if request.client_id in self._orders:
            return
        self._orders[request.client_id] = {
            "client_id": request.client_id, "run_id": self.run_id,
            "strategy": request.strategy, "symbol": request.symbol,
            "side": str(request.side), "qty": self._num(request.qty, "order qty"),
            "type": str(request.type), "limit": self._opt(request.limit, "limit"),
            "stop": self._opt(request.stop, "stop"), "tif": str(request.tif),
            "intent": str(request.intent), "bar": request.bar, "reason": request.reason,
            "stop_loss": self._opt(request.stop_loss, "stop_loss"),
            "take_profit": self._opt(request.take_profit, "take_profit"),
            "created": now_text(),
        }  # fmt: skip

    def order_event(self, update: OrderUpdate) -> None:
        """A venue's update of an order; its fill, when present, is recorded by :meth:`fill`."""
        self._events.append(
            {"client_id": update.client_id, "state": str(update.state),
             "ts": utc_text(update.ts), "venue_id": update.venue_id, "reason": update.reason}
        )  # fmt: skip
        if update.fill is not None:
            self.fill(update.fill)

    def fill(self, fill: Fill) -> bool:
        """Record an execution; False when its ``fill_id`` is already recorded (idempotent)."""
        if fill.fill_id in self._fills or self._fill_known(fill.fill_id):
            return False
        self._fills[fill.fill_id] = {
            "fill_id": fill.fill_id, "client_id": fill.client_id, "run_id": self.run_id,
            "strategy": fill.strategy, "symbol": fill.symbol, "side": str(fill.side),
            "qty": self._num(fill.qty, "fill qty"), "price": self._num(fill.price, "fill price"),
            "fee": self._num(fill.fee, "fee"), "slippage": self._num(fill.slippage, "slippage"),
            "ts": utc_text(fill.ts),
        }  # fmt: skip
        return True

    @property
    def fill_ids(self) -> list[str]:
        """The executions this cycle recorded."""
        return list(self._fills)

    def equity(self, strategy: str, cash: float, equity: float, gross: float, net: float) -> None:
        """The strategy's account at this bar (cash, equity, gross and net exposure)."""
        self._add(
            m.EquitySnapshot,
            {"run_id": self.run_id, "strategy": strategy, "bar": self.bar,
             "cash": self._num(cash, "cash"), "equity": self._num(equity, "equity"),
             "gross": self._num(gross, "gross"), "net": self._num(net, "net")},
        )  # fmt: skip

    def positions(self, strategy: str, rows: dict[str, tuple[float, float]]) -> None:
        """The strategy's positions that changed at this bar: symbol -> (signed qty, average
        price), a closed one as (0, 0). A position at a bar is its symbol's last row at or
        before that bar."""
        for symbol, (qty, avg_price) in rows.items():
            self._add(
                m.PositionSnapshot,
                {"run_id": self.run_id, "strategy": strategy, "bar": self.bar,
                 "symbol": symbol, "qty": self._num(qty, "position qty"),
                 "avg_price": self._num(avg_price, "position average price")},
            )  # fmt: skip

    def risk_event(self, strategy: str, rule: str, value: float, limit: float, action: str) -> None:
        """A risk rule that acted at this bar."""
        self._add(
            m.RiskEvent,
            {"run_id": self.run_id, "strategy": strategy, "bar": self.bar, "rule": rule,
             "value": float(value), "limit": float(limit), "action": action},
        )  # fmt: skip

    def reconcile_event(self, kind: str, symbol: str, client_id: str, detail: str) -> None:
        """A difference found between the ledger and the venue, and what was done about it."""
        self._add(
            m.ReconcileEvent,
            {"run_id": self.run_id, "ts": now_text(), "kind": kind, "symbol": symbol,
             "client_id": client_id, "detail": detail},
        )  # fmt: skip

    # ---- commit ------------------------------------------------------------------------------

    def flush(
        self,
        conn: Connection,
        bulk: BulkInsert,
        seq: int,
        defer: dict[type[m.Base], list[Row]] | None = None,
        known: BatchIds | None = None,
    ) -> None:
        """Write every buffered row on ``conn`` (inside the caller's transaction) as cycle
        ``seq`` of the run. With ``defer``, the rows are added there for the caller to insert
        once for many cycles (orders, their events and fills in that order, then the rest);
        ``known`` is the batch's :class:`BatchIds` (read here for a cycle of its own)."""
        if known is None:
            known = BatchIds(conn, [self])
        orders = {cid: row for cid, row in self._orders.items() if cid not in known.orders}
        known.orders.update(orders)
        known.owners.update({cid: row["strategy"] for cid, row in orders.items()})
        fills = [row for fid, row in self._fills.items() if fid not in known.fills]
        known.fills.update(row["fill_id"] for row in fills)
        for row in fills:
            if not row["strategy"]:
                row["strategy"] = known.owners.get(row["client_id"], "")
        events = [
            {"client_id": cid, "state": OrderState.NEW.value, "ts": row["created"],
             "venue_id": "", "reason": "", "seq": 0}
            for cid, row in orders.items()
        ]  # fmt: skip
        known.last_seq.update({cid: 0 for cid in orders})
        for event in self._events:
            n = known.last_seq.get(event["client_id"], -1) + 1
            known.last_seq[event["client_id"]] = n
            events.append({**event, "seq": n})
        self._write_state(conn)
        cycle = {"run_id": self.run_id, "bar": self.bar, "wall": now_text(), "seq": seq}
        rows: list[tuple[type[m.Base], list[Row]]] = [
            (m.OrderRecord, list(orders.values())), (m.OrderEvent, events), (m.FillRecord, fills),
            *self._rows.items(), (m.Cycle, [cycle]),
        ]  # fmt: skip
        _put(conn, bulk, defer, rows)


class MarkedCycles(_KeepsState):
    """Cycles of a run on which the runtime only marked its book (a replay's quiet bars, see
    :mod:`alphaforge.sim.kernels_replay`): one equity snapshot and one cycle row per bar,
    written in bulk, numbered in order with the batch's other cycles."""

    def __init__(
        self, run_id: str, strategy: str, bars: list[str], values: dict[str, Any], exact: bool
    ) -> None:
        self.run_id = run_id
        self.strategy = strategy
        self.bars = bars
        self.values = values  # cash, equity, gross, net: one float per bar
        self._num: Callable[[float, str], Any] = amount if exact else float_amount
        self._state: dict[tuple[str, str], str] = {}

    def __len__(self) -> int:
        return len(self.bars)

    def _column(self, name: str) -> list[Any]:
        """One value per bar as the ledger stores it (see :func:`amount`, :func:`float_amount`);
        on SQLite checked in one pass."""
        values = np.asarray(self.values[name], dtype=np.float64)
        if self._num is amount:
            return [amount(float(x), name) for x in values]
        bad = ~np.isfinite(values)
        if bad.any():
            raise StoreError(f"ledger: {name} is not a finite number ({values[bad][0]})")
        return [round(x, SCALE) for x in values.tolist()]

    def flush(
        self,
        conn: Connection,
        bulk: BulkInsert,
        seq: int,
        defer: dict[type[m.Base], list[Row]] | None = None,
    ) -> None:
        """Write the cycles as numbers ``seq, seq + 1, ...`` (see :meth:`CycleWriter.flush`)."""
        cols = {name: self._column(name) for name in ("cash", "equity", "gross", "net")}
        wall = now_text()
        snaps = [
            {"run_id": self.run_id, "strategy": self.strategy, "bar": bar, "cash": c,
             "equity": e, "gross": g, "net": n}
            for bar, c, e, g, n in zip(
                self.bars, cols["cash"], cols["equity"], cols["gross"], cols["net"], strict=True
            )
        ]  # fmt: skip
        cycles = [
            {"run_id": self.run_id, "bar": bar, "wall": wall, "seq": seq + k}
            for k, bar in enumerate(self.bars)
        ]
        self._write_state(conn)
        _put(conn, bulk, defer, [(m.EquitySnapshot, snaps), (m.Cycle, cycles)])


def _put(
    conn: Connection,
    bulk: BulkInsert,
    defer: dict[type[m.Base], list[Row]] | None,
    rows: list[tuple[type[m.Base], list[Row]]],
) -> None:
    """Insert each table's rows now, or add them to ``defer`` for the caller's batch insert."""
    for model, model_rows in rows:
        if defer is None:
            bulk(conn, _table(model), model_rows)
        else:
            defer.setdefault(model, []).extend(model_rows)


def write_state(conn: Connection, rows: list[Row]) -> None:
    """Upsert strategy-state rows (``strategy``, ``key``, ``value`` JSON text)."""
    t = _table(m.StrategyState)
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(t)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[t.c.strategy, t.c.key], set_={"value": stmt.excluded.value}
        ),
        rows,
    )
