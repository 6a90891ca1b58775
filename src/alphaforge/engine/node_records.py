"""The trading node's ledger, its decision log and restart: a cycle's rows, batches of cycles
in one transaction, the decision log's lines of orders and fills, the state a restart continues
from, and reconciliation with the venue before a run goes on."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.core.orders import (
    Fill,
    Intent,
    Order,
    OrderRequest,
    OrderState,
    OrderUpdate,
    request_dict,
    request_of,
)
from alphaforge.engine.node_parts import Cycle, NodeState, Protection
from alphaforge.engine.reconcile import Difference, Reconciler
from alphaforge.ports import CycleLog
from alphaforge.sim import codes as C


class NodeRecords(NodeState):
    """What a trading node writes to the ledger and the decision log, and reads back on a
    restart."""

    # ---- ledger -------------------------------------------------------------------------
    def _write(self, t: int, bar_txt: str, cyc: Cycle) -> None:
        """Write the cycle; cycles are committed in batches (``NodeParts.batch``: at most that
        many, and at most ``batch_seconds`` of work), each batch one transaction that ends
        with the state a restart continues from."""
        if self._batch is None:
            self._begin_batch()
        w = self._open_cycle(bar_txt)
        sid = self.p.strategy_id
        for sym, value in cyc.signals:
            w.signal(sid, sym, value)
        for sym, act, qty, reason, ok in cyc.decisions:
            w.decision(sid, sym, act, qty, reason, ok)
        for req in cyc.requests:
            w.order(req)
        for u in cyc.updates:
            w.order_event(u)
        gross, net = self.st.exposure
        w.equity(sid, self.st.cash, self.st.equity, gross, net)
        if cyc.positions_changed:
            w.positions(sid, self._position_rows())
        self._risk_events(w)
        diffs, ups = self._reconciled
        for d in diffs:
            w.reconcile_event(d.kind, d.symbol, d.client_id, d.detail)
        for u in ups:
            w.order_event(u)
        self._reconciled = ([], [])
        self._batch_n += 1
        self._last_w = (w, t)
        if self._shared:
            return  # the account commits
        full = self._batch_n >= self.p.batch
        if full or time.monotonic() - self._batch_t0 >= self.p.batch_seconds:
            self.commit()

    # ---- orders sent ----------------------------------------------------------------------
    def _submit(self, req: OrderRequest, cyc: Cycle) -> None:
        """Send ``req`` through the order manager; the request, the venue's answers and the
        decision log's line go with the cycle."""
        cyc.requests.append(req)
        _order, updates = self.oms.submit(req, req.bar)
        cyc.updates.extend(updates)
        self._log_order(req)
        self._rejected(req, updates)

    def _rejected(self, req: OrderRequest, updates: list[OrderUpdate]) -> bool:
        """Whether the venue refused ``req``; its refusal is logged with the venue's reason
        (the ledger has it too), and a refused protective order, which leaves its position
        unprotected at the venue until a later close places one, is a risk event too."""
        refusal = next((u for u in updates if u.state is OrderState.REJECTED), None)
        if refusal is None:
            return False
        protective = req.intent is Intent.STOP
        self.p.log("protection_rejected" if protective else "rejected", bar=req.bar,
                   symbol=req.symbol, client_id=req.client_id, side=req.side.value,
                   qty=req.qty, reason=refusal.reason)  # fmt: skip
        if protective:
            self._unprotected.append((req.symbol, req.qty))
        return True

    # ---- decision log ---------------------------------------------------------------------
    def _log_order(self, req: OrderRequest) -> None:
        """The decision log's line of an order sent: what, why, and the protective levels a
        bracket entry or a protective order carries."""
        levels = {k: v for k, v in (("stop", req.stop), ("stop_loss", req.stop_loss),
                                    ("take_profit", req.take_profit)) if v is not None}  # fmt: skip
        self.p.log("protect" if req.intent is Intent.STOP else "order", bar=req.bar,
                   symbol=req.symbol, side=req.side.value, qty=req.qty, type=req.type.value,
                   reason=req.reason, **levels, client_id=req.client_id)  # fmt: skip

    def _log_fill(self, t: int, f: Fill, reason: str) -> None:
        """The decision log's line of a fill booked at bar ``t``, with what it was for."""
        self.p.log("fill", bar=self._texts[t], symbol=f.symbol, side=f.side.value, qty=f.qty,
                   price=f.price, fee=f.fee, reason=reason, client_id=f.client_id)  # fmt: skip

    def share_batch(self, batch: Any) -> None:
        """Write the next cycles into ``batch``, an open ledger batch an account of several
        strategies commits (with :meth:`write_state` of each node)."""
        self._shared = True
        self._batch = batch
        self._open_cycle = batch
        self._batch_n = 0

    def write_state(self) -> None:
        """Put the state after the last written cycle into its writer (see :meth:`commit`)."""
        if self._last_w is not None:
            w, t = self._last_w
            w.set_state(self._key, "runtime", self.snapshot(t))

    def _begin_batch(self) -> None:
        self._batch = self.p.ledger.cycles(self.p.run_id)
        self._open_cycle = self._batch.__enter__()
        self._batch_n = 0
        self._batch_t0 = time.monotonic()

    def commit(self) -> None:
        """Commit the open batch of cycles (with the state after its last cycle)."""
        if self._batch is None or self._shared:
            return
        self.write_state()
        batch, self._batch = self._batch, None
        batch.__exit__(None, None, None)

    # ---- restart ------------------------------------------------------------------------
    def snapshot(self, t: int) -> dict[str, Any]:
        """What a restart needs to continue after bar ``t``, written with the cycle."""
        working = [
            {"req": request_dict(o.request), "state": o.state.value, "filled": o.filled_qty,
             "avg": o.avg_price, "venue_id": o.venue_id}
            for o in self.oms.orders.values()
            if not o.state.terminal
        ]  # fmt: skip
        snap: dict[str, Any] = {
            "t": t, "stepper": self.st.snapshot(), "working": working,
            "protect": {str(j): {**vars(p), "ids": dict(p.ids)} for j, p in self.protect.items()},
            "resting": {str(j): cid for j, cid in self.resting.items()},
        }  # fmt: skip
        venue_snapshot = getattr(self.p.venue, "snapshot", None)
        if venue_snapshot is not None:
            snap["venue"] = venue_snapshot()
        return snap

    def restore(self, snap: dict[str, Any]) -> int:
        """Continue from :meth:`snapshot`; returns the next bar to run."""
        t = int(snap["t"])
        self.st.restore(snap["stepper"])
        self.protect = {int(j): Protection(**p) for j, p in snap["protect"].items()}
        self.resting = {int(j): str(cid) for j, cid in snap.get("resting", {}).items()}
        for d in snap["working"]:
            o = Order(request_of(d["req"]), OrderState(d["state"]), d["venue_id"], d["filled"],
                      d["avg"])  # fmt: skip
            self.oms.orders[o.client_id] = o
        venue_restore = getattr(self.p.venue, "restore", None)
        if venue_restore is not None and "venue" in snap:
            venue_restore(snap["venue"])
        self._events_seen = 0
        self._held = self._book_positions()
        self.sig, _w = self.p.signals.row(self.panel, t)
        return t + 1

    def reconcile(self, t: int, since: str | None, known_fills: set[str]) -> list[Difference]:
        """Reconcile with the venue before running bar ``t`` (see
        :mod:`alphaforge.engine.reconcile`); the events are written with the next cycle."""
        resume_at = self._resume_at(t)
        working: dict[str, object] = {
            cid: o for cid, o in self.oms.orders.items() if not o.state.terminal
        }
        booked = known_fills | set(self._booked)
        rec = Reconciler(self.p.venue, self.st, self.panel.symbols, self.p.strategy_id)
        diffs, updates = rec.run(since, resume_at, t, working, booked)
        for u in updates:
            self.oms.apply(u)
            if u.fill is not None:
                self._booked[u.fill.fill_id] = None
        for d in diffs:
            self.p.log("reconcile", kind=d.kind, symbol=d.symbol, client_id=d.client_id,
                       detail=d.detail)  # fmt: skip
        self._reconciled = (diffs, updates)
        return diffs

    def _resume_at(self, t: int) -> str:
        """The time from which a venue's fills are left to the bars still to run (``t`` on):
        bar ``t``'s; past the last bar (a finished replay) none is."""
        n = self.panel.shape[0]
        if t >= n:
            return (self.panel.index[-1] + pd.Timedelta(days=3650)).isoformat()
        return self._texts[t]

    def _unplaced(self, client_id: str, f: Fill) -> None:
        """A venue's fill no order of this run made (a trade by hand, an order a lost cycle
        sent): not booked on the strategy, but logged and recorded as a reconciliation event
        of this cycle; the next reconciliation (a restart, ``alphaforge reconcile --apply``)
        books it, as it books a fill made while the process was down."""
        self._booked.pop(f.fill_id, None)
        side = f.side.value
        self.p.log("unplaced_fill", client_id=client_id, symbol=f.symbol, side=side, qty=f.qty,
                   price=f.price, ts=f.ts)  # fmt: skip
        diffs, ups = self._reconciled
        note = (f"venue {side} {f.qty:g} @ {f.price:.4f} at {f.ts}: no order of this run made "
                "it; booked by the next reconciliation")  # fmt: skip
        self._reconciled = ([*diffs, Difference("unplaced_fill", f.symbol, client_id, note)], ups)

    def pending_reconciliation(self) -> list[Difference]:
        """The differences the last :meth:`reconcile` found, not yet written."""
        return list(self._reconciled[0])

    def write_reconciliation(self, bar_txt: str, t: int) -> None:
        """Write what :meth:`reconcile` resolved now, as a cycle of its own at ``bar_txt``
        (the run's last bar), with the state that continues from bar ``t``."""
        diffs, ups = self._reconciled
        with self.p.ledger.cycle(self.p.run_id, bar_txt) as w:
            for d in diffs:
                w.reconcile_event(d.kind, d.symbol, d.client_id, d.detail)
            for u in ups:
                w.order_event(u)
            w.set_state(self._key, "runtime", self.snapshot(t))
        self._reconciled = ([], [])

    def _book_positions(self) -> dict[str, tuple[float, float]]:
        """symbol -> (signed quantity, entry price) of the book's open positions."""
        pos, symbols = self.st.book.pos, self.panel.symbols
        held = np.flatnonzero(pos["qty"])
        return {
            symbols[j]: (q, px)
            for j, q, px in zip(
                held.tolist(),
                pos["qty"][held].tolist(),
                pos["entry_px"][held].tolist(),
                strict=True,
            )
        }

    def _position_rows(self) -> dict[str, tuple[float, float]]:
        """The positions that changed since the rows written last (a closed one as (0, 0))."""
        now = self._book_positions()
        rows = {s: v for s, v in now.items() if self._held.get(s) != v}
        rows.update({s: (0.0, 0.0) for s in self._held if s not in now})
        self._held = now
        return rows

    def _risk_events(self, w: CycleLog) -> None:
        for symbol, qty in self._unprotected:  # a position the venue holds no protection for
            w.risk_event(self.p.strategy_id, "protection_refused", qty, 0.0,
                         f"unprotected {symbol}")  # fmt: skip
        self._unprotected = []
        events, self._events_seen = self.st.events_after(self._events_seen)
        if not len(events):
            return
        limits = {
            C.RULE_DAILY_LOSS: float(self.st.s["daily_loss"]),
            C.RULE_WEEKLY_LOSS: float(self.st.s["weekly_loss"]),
            C.RULE_MAX_DD: float(self.st.s["max_dd"]),
            C.RULE_TRADE_MAX_LOSS: float(self.st.s["trade_max_loss"]),
        }
        for e in events:
            rule = int(e["rule"])
            w.risk_event(self.p.strategy_id, C.RULE_NAMES[rule], float(e["value"]),
                         limits[rule], "block" if rule != C.RULE_TRADE_MAX_LOSS else "exit")  # fmt: skip
