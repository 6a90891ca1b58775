"""The trading node: one strategy's cycle, bar by bar, from the feed to the venue and the ledger.

A cycle of bar ``t`` (see :mod:`alphaforge.sim.stepper` for why the steps are the vectorized
engine's own phases):

1. **open**: the orders pending from the last close are decided by the engine's open phase
   (exits, a pending rebalance, entries sized and capped by the core's rules); each passes the
   risk gate (:mod:`alphaforge.engine.gate`) and the order manager sends it to the venue.
   Before an exit, the position's protective orders at the venue are cancelled.
2. **market**: the venue fills what it can; under replay the node hands it the complete bar.
3. **fills**: every fill is booked with the engine's accounting; a new position takes its
   protective levels.
4. **close**: the strategy's ``signals`` hook runs on the bars so far; the book is marked, the
   loss limits are evaluated and the signals become the orders of the next open.
5. **protection**: each position's stop (stop-loss, trailing or per-trade max loss, the
   tightest) and take-profit are held at the venue as one pair, replaced when they move.
6. **ledger**: everything of the cycle is written in one transaction.

The kill switch is read from the ledger at every cycle: a halt stops new orders; a halt with
flatten closes every position at the next open.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.core.orders import (
    Intent,
    Order,
    OrderRequest,
    OrderState,
    OrderType,
    OrderUpdate,
    Side,
    TimeInForce,
    client_order_id,
)
from alphaforge.core.panel import Panel, iso_texts
from alphaforge.engine.gate import OrderContext, TradingState
from alphaforge.engine.node_entries import RestingEntries
from alphaforge.engine.node_halt import KillSwitch
from alphaforge.engine.node_parts import (
    REASON_CODE,
    Cycle,
    NodeParts,
    Protection,
    in_venue_order,
    later,
    order_kind,
    reason_name,
    same_level,
)
from alphaforge.engine.node_quiet import QuietBars
from alphaforge.engine.node_records import NodeRecords
from alphaforge.engine.node_reversals import HeldEntry, ReversalEntries
from alphaforge.engine.oms import OrderManager
from alphaforge.engine.reconcile import Difference
from alphaforge.ports import (
    BarSet,
    MarkingVenue,
    ReplayVenue,
    VenueOrder,
)
from alphaforge.sim import codes as C
from alphaforge.sim.stepper import BarRow, OpenPlan, SignalRow, Stretch, levels_of


class TradingNode(NodeRecords, QuietBars, RestingEntries, ReversalEntries, KillSwitch):
    """Runs the cycles of one strategy on one venue (see the module docstring)."""

    def __init__(self, parts: NodeParts, panel: Panel) -> None:
        self.p = parts
        self.panel = panel
        self.st = parts.stepper
        self.oms = OrderManager(parts.venue, parts.gate.sent, parts.sleep)
        self.sig: SignalRow | None = None
        self.protect: dict[int, Protection] = {}
        self.resting: dict[int, str] = {}  # symbol -> its limit / stop entry at the venue
        self._opening: dict[int, float] = {}  # symbol -> position after this open's orders
        self._held: dict[str, tuple[float, float]] = {}  # the positions the ledger last got
        self._events_seen = 0
        self._plan: OpenPlan | None = None
        self._key = f"{parts.run_id}/{parts.strategy_id}"  # client ids are unique per run
        self._booked: dict[str, None] = {}  # fill ids booked, oldest first
        self._reconciled: tuple[list[Difference], list[OrderUpdate]] = ([], [])
        self._batch: Any = None
        self._open_cycle: Any = None
        self._batch_n = 0
        self._batch_t0 = 0.0
        self._last_w: Any = None
        self._halt_checked = -1e18
        self._halt: Any = None  # the kill switch as last read from the ledger
        self._halt_flatten = False
        self._replay_venue = parts.venue if isinstance(parts.venue, ReplayVenue) else None
        self._marking = isinstance(parts.venue, MarkingVenue)  # (a protocol check is slow)
        self._stretch: Stretch | None = None  # built by the first fast_forward
        self._stamps = list(panel.index)  # per-bar lookups without pandas indexing
        self._texts = iso_texts(panel.index)
        self._cyc = Cycle()
        self._after: list[HeldEntry] = []  # reversals' entries held until their exit fills
        self._early: list[OrderUpdate] = []
        self._carry: Cycle | None = None
        self._rest_read: pd.Timestamp | None = None
        self._shared = False  # the ledger batch belongs to an account of several strategies
        self._unprotected: list[tuple[str, float]] = []  # protective orders the venue refused
        self.floor = TradingState.ACTIVE  # the least an account's own limits impose

    # ---- one bar ------------------------------------------------------------------------
    def extend(self, panel: Panel, day: np.ndarray, week: np.ndarray) -> None:
        """Continue on ``panel``, the bars so far plus new ones (a live feed); its first bars
        must be the node's panel."""
        n0 = len(self._stamps)
        if panel.shape[0] < n0 or (n0 and panel.index[n0 - 1] != self._stamps[-1]):
            raise ValueError("extend: the new panel must start with the bars the node has")
        self.panel = panel
        self.p.day, self.p.week = day, week
        new = list(panel.index[n0:])
        self._stamps += new
        self._texts += iso_texts(panel.index[n0:])

    def step(self, t: int, trade: bool = True) -> float:
        """Run the cycle of bar ``t`` of the panel; returns the equity at its close.

        ``trade=False`` (a bar caught up after downtime): what was pending is dropped, not
        sent late, and the bar sends nothing; the venue still matches the protection it holds,
        as a broker would have while the runtime was down."""
        self.begin(t, trade)
        if self._replay_venue is not None:
            self._reference_atr()
            bars = self._barset(t)
            if self._after:  # a reversal's entry waits for its exit (node_reversals)
                self._open_then_release(bars, self._cyc)
            self._replay_venue.on_bar(bars)
            if self._after:
                self._release_held(self._cyc, self._venue_state, last=True)
        return self.finish(t)

    def begin(self, t: int, trade: bool = True) -> None:
        """The first half of bar ``t``'s cycle: the day / week roll, the kill switch and the
        open (or, for a caught-up bar, dropping what was pending). An account of several
        strategies runs every node's first half before its venue sees the bar."""
        self._cyc = Cycle()
        self._start(t)
        self._open_or_drop(t, trade)

    def finish(self, t: int) -> float:
        """The second half of bar ``t``'s cycle, after the venue saw the bar: fills, close,
        protection and the ledger; returns the equity at the close."""
        eq = self._close(t)
        self._end(t, self._texts[t], self._cyc)
        return eq

    def _start(self, t: int) -> None:
        """At the first bar of a day / week the loss limits measure from the last close."""
        p = self.p
        day, week = int(p.day[t]), int(p.week[t])
        self.st.start_bar(t, t > 0 and day != p.day[t - 1], t > 0 and week != p.week[t - 1])

    def _open_or_drop(self, t: int, trade: bool) -> None:
        """The kill switch, then the open's orders (a caught-up bar drops them instead)."""
        cyc = self._cyc
        self._kill_switch(t, cyc)
        if trade:
            self._open(t, self._texts[t], cyc)
        else:
            self._drop_pending(t, cyc)

    def _close(self, t: int) -> float:
        """The fills of bar ``t``, its close and the positions' protection; the equity."""
        p, pnl, cyc = self.p, self.panel, self._cyc
        self._fills(t, cyc)
        row = BarRow(pnl.open[t], pnl.high[t], pnl.low[t], pnl.close[t], pnl.volume[t])
        if self._plan is not None and self._plan.after_open is not None:
            self.st.settle_resting(t, row, self._plan, self._settled())
        sig, _weights = p.signals.row(pnl, t)
        eq = self.st.close_bar(t, row, sig, int(p.day[t]), int(p.week[t]))
        if self.resting:
            self._end_day_entries(cyc)
        self.sig = sig
        self._note_signals(sig, cyc)
        self._protect_positions(t, self._texts[t], cyc)
        return eq

    def _end(self, t: int, bar_txt: str, cyc: Cycle) -> None:
        """Write the cycle; forget the orders it finished."""
        self._write(t, bar_txt, cyc)
        if cyc.updates:
            self.oms.prune()

    def _barset(self, t: int) -> BarSet:
        pnl = self.panel
        return BarSet(
            self._stamps[t], pnl.symbols, pnl.open[t], pnl.high[t], pnl.low[t], pnl.close[t],
            pnl.volume[t],
        )  # fmt: skip

    def _reference_atr(self) -> None:
        """The simulated venue's slippage may scale with the ATR known before the bar."""
        venue = self.p.venue
        if self.st.s["slip_atr"] <= 0.0:
            return  # (the slippage has no ATR part: nothing reads it)
        if self.sig is not None and hasattr(venue, "reference_atr"):
            venue.reference_atr = {
                s: float(a) for s, a in zip(self.panel.symbols, self.sig.atr, strict=True)
            }

    # ---- open ---------------------------------------------------------------------------
    def _plan_open(self, t: int) -> OpenPlan:
        """The engine's open phase of bar ``t``, sized with its open."""
        day, week = int(self.p.day[t]), int(self.p.week[t])
        return self.st.plan_open(t, self.panel.open[t], self.sig, day, week)

    def _open(self, t: int, bar_txt: str, cyc: Cycle) -> None:
        pnl = self.panel
        plan = self._plan_open(t)
        self._plan = plan
        self._opening = {}  # what this open's orders leave, per symbol (see _send)
        for j, side, reason in plan.rejected:
            sym = pnl.symbols[j]
            act = "buy" if side > 0 else "sell"
            why = reason_name(reason)
            cyc.decisions.append((sym, act, 0.0, why, False))
            self.p.log("not_sent", bar=bar_txt, symbol=sym, side=act, reason=why)
        for k, po in enumerate(plan.orders):
            j = po.symbol
            sym = pnl.symbols[j]
            exiting = po.reason != C.REASON_ENTRY
            intent = Intent.EXIT if exiting else Intent.ENTRY
            if po.reason == C.EXIT_REBALANCE:
                intent = Intent.REBALANCE
            if self.p.gate.state is TradingState.HALTED and exiting and self._halt_flatten:
                intent = Intent.FLATTEN  # a halt sends nothing but the flatten it asks for
            if exiting or self.st.qty(j) != 0.0:
                self._cancel_protection(j, cyc)
            stop, target = self._bracket(j, po.reason, plan)
            req = OrderRequest(
                client_id=client_order_id(self._key, sym, bar_txt, intent, k),
                strategy=self.p.strategy_id, symbol=sym, side=Side.of(po.delta),
                qty=abs(po.delta), intent=intent, type=OrderType.MARKET, stop_loss=stop,
                take_profit=target, bar=bar_txt, reason=reason_name(po.reason),
                tif=TimeInForce.GTC if stop is not None or target is not None else TimeInForce.DAY,
            )  # fmt: skip
            self._send(req, po.price, j, cyc)
        self._cancel_resting({ro.symbol for ro in plan.resting}, cyc)
        for k, ro in enumerate(plan.resting, start=len(plan.orders)):
            self._rest(ro, k, bar_txt, plan, cyc)

    def _bracket(
        self, j: int, reason: int, plan: OpenPlan, resting: bool = False
    ) -> tuple[float | None, float | None]:
        """Protective levels sent with an entry when stops act on the entry bar (a limit /
        stop entry: when the position is flat after the open's exits)."""
        if reason != C.REASON_ENTRY or not self.st.s["stop_on_entry"] or plan.levels is None:
            return None, None
        held = self.st.qty(j)
        if resting and plan.after_open is not None:
            held = float(plan.after_open.pos[j]["qty"])
        if held != 0.0:
            return None, None
        level, _r, tp = levels_of(plan.levels, j)
        return (level if level == level else None), (tp if tp == tp else None)

    def _send(self, req: OrderRequest, price: float, j: int, cyc: Cycle) -> bool:
        """Send an order of this open through the risk gate, which judges it against the
        position the open's earlier orders leave (a reversal's entry against the flat book its
        exit leaves, not the position the exit closes)."""
        held = self._opening.get(j, self.st.qty(j))
        ctx = OrderContext(price=price, last_trade=float(self.st.book.last_px[j]), position=held)
        verdict = self.p.gate.check(req, ctx)
        act = req.side.value
        if not verdict.ok:
            cyc.decisions.append(
                (req.symbol, act, req.qty, f"{verdict.check}: {verdict.reason}", False)
            )
            self.p.log(
                "refused", bar=req.bar, symbol=req.symbol, check=verdict.check,
                reason=verdict.reason,
            )  # fmt: skip
            return False
        cyc.decisions.append((req.symbol, act, req.qty, req.reason, True))
        self._opening[j] = held + req.signed_qty
        if not self._hold_reversal(req, j, cyc):
            self._submit(req, cyc)
        return True

    # ---- fills --------------------------------------------------------------------------
    def _venue_updates(self, t: int) -> list[OrderUpdate]:
        """The venue's updates; a venue in another process is also asked for the fills of
        this bar, so none waits for its stream (a fill is booked once, by its id), and the
        fills are booked in the venue's order: after a restart the stream has only the fills
        since, and a reversal's exit, filled before, must come before its entry."""
        ups = self.p.venue.updates()
        if self._early:  # read between cycles (a held reversal's watch): they come first
            ups = self._take_early() + ups
        if getattr(self.p.venue, "synchronous", False):
            return ups
        streamed = {u.fill.fill_id for u in ups if u.fill is not None}
        until = self._texts[t + 1] if t + 1 < len(self._texts) else None
        bar = [
            f
            for f in self.p.venue.fills(since=self._texts[t])
            if until is None or not later(f.ts, until)
        ]  # (a later bar's: booked with it)
        for f in bar:
            if f.fill_id not in streamed and f.fill_id not in self._booked:
                o = self.oms.orders.get(f.client_id)
                done = o is not None and o.filled_qty + f.qty >= o.request.qty - 1e-9
                state = OrderState.FILLED if done else OrderState.PARTIALLY_FILLED
                ups.append(OrderUpdate(f.client_id, state, f.ts, fill=f))
        return in_venue_order(ups, bar)

    def _fills(self, t: int, cyc: Cycle) -> None:
        guards = {cid: j for j, pr in self.protect.items() for cid in pr.ids}
        for u in self._venue_updates(t):
            order, changed = self.oms.apply(u)
            f = u.fill
            if f is not None and f.fill_id in self._booked:
                continue
            if changed or f is not None:
                cyc.updates.append(u)
            if f is None:
                continue
            self._booked[f.fill_id] = None
            if len(self._booked) > 10_000:  # a stream repeats recent fills, not old ones
                del self._booked[next(iter(self._booked))]
            cyc.positions_changed = True
            j = self.panel.symbols.index(f.symbol)
            fill = (f.price, f.fee, f.slippage)
            if order is None:
                order = self._bracket_leg(j, u.client_id, cyc)
                if order is not None:
                    self.oms.apply(u)  # the leg's own update, now that it is tracked
            if u.client_id in guards or (order is not None and order.request.intent is Intent.STOP):
                self._log_fill(t, f, self._protective_fill(t, j, u, fill))
                continue
            if order is None:
                self._unplaced(u.client_id, f)
                continue
            req = order.request
            code = REASON_CODE.get(req.reason, C.REASON_ENTRY)
            was_flat = self.st.qty(j) == 0.0
            self.st.book_fill(t, j, f.signed_qty, fill, code, req.qty)
            self._log_fill(t, f, req.reason)
            if code == C.REASON_ENTRY and was_flat and self._plan is not None:
                self.st.adopt_levels(j, self._plan)
                if req.stop_loss is not None or req.take_profit is not None:
                    self._adopt_bracket(j, req, cyc)

    def _bracket_leg(self, j: int, client_id: str, cyc: Cycle) -> Order | None:
        """A protective leg the venue made for one of this cycle's entries and filled before
        the runtime saw it (a stop hit in the entry's own bar): recorded, then booked."""
        vo = self.p.venue.order(client_id)
        parent = self.oms.orders.get(vo.parent_id) if vo is not None and vo.parent_id else None
        if vo is None or parent is None:
            return None
        _level, reason, _tp = self.st.protection(j)
        self._record_leg(vo, parent.request, reason if reason >= 0 else C.EXIT_STOP_LOSS, cyc)
        return self.oms.orders.get(client_id)

    def _protective_fill(
        self, t: int, j: int, u: OrderUpdate, fill: tuple[float, float, float]
    ) -> str:
        """Book a fill of a protective order; returns the exit reason it books."""
        prot = self.protect.get(j)
        if prot is not None and u.client_id in prot.ids:
            kind = prot.ids[u.client_id]
        else:
            vo = self.p.venue.order(u.client_id)
            kind = order_kind(vo) if vo is not None else "stop"
        if kind == "target" or (kind == "pair" and u.reason.startswith("target")):
            code = C.EXIT_TAKE_PROFIT
        elif prot is not None:
            code = prot.reason
        else:
            _level, code, _tp = self.st.protection(j)
            code = code if code >= 0 else C.EXIT_STOP_LOSS
        if "ambiguous" in u.reason:
            self.st.mark_ambiguous(j)
        self.st.protective_fill(t, j, fill, code)
        if self.st.qty(j) == 0.0:
            self.protect.pop(j, None)
        return reason_name(code)

    def _adopt_bracket(self, j: int, req: OrderRequest, cyc: Cycle) -> None:
        """The bracket's protective orders at the venue now protect position ``j``; each is
        recorded as an order of its own."""
        legs_of = getattr(self.p.venue, "legs_of", None)  # (a venue that can pick them out)
        if legs_of is not None:
            legs = legs_of(req.client_id)
        else:
            legs = [o for o in self.p.venue.open_orders() if o.parent_id == req.client_id]
        if not legs:
            return
        reason = self._protect_with(j, legs)
        for o in legs:
            self._record_leg(o, req, reason, cyc)

    def _protect_with(self, j: int, legs: list[VenueOrder]) -> int:
        """Position ``j``'s protection becomes a bracket's ``legs`` (the stop level is the stop
        leg's, the target and the stop reason the book's); returns the stop reason."""
        _level, reason, tp = self.st.protection(j)
        stop = next((o.stop for o in legs if o.stop is not None), None)
        self.protect[j] = Protection(
            {o.client_id: order_kind(o) for o in legs}, stop if stop is not None else np.nan, tp,
            legs[0].qty, reason,
        )  # fmt: skip
        return reason

    # ---- close --------------------------------------------------------------------------
    def _note_signals(self, sig: SignalRow, cyc: Cycle) -> None:
        some = sig.entries | sig.exits | sig.short_entries | sig.short_exits
        if sig.rebalance:
            some = some | (sig.weights == sig.weights)
        if sig.score is not None:
            some = some | (sig.score == sig.score)
        symbols = self.panel.symbols
        for j in np.flatnonzero(some).tolist():
            sym = symbols[j]
            names = [
                n
                for n, a in (
                    ("entry", sig.entries), ("exit", sig.exits),
                    ("short_entry", sig.short_entries), ("short_exit", sig.short_exits),
                )
                if a[j]
            ]  # fmt: skip
            if sig.rebalance and sig.weights[j] == sig.weights[j]:
                names.append(f"weight={sig.weights[j]:.6g}")
            if sig.score is not None and sig.score[j] == sig.score[j]:
                names.append(f"p={sig.score[j]:.4f}")  # the prediction behind the masks
            if names:
                cyc.signals.append((sym, ",".join(names)))

    def _cancel_protection(self, j: int, cyc: Cycle) -> None:
        prot = self.protect.pop(j, None)
        if prot is None:
            return
        for cid in prot.ids:
            self._cancel_at_venue(cid, cyc)

    def _protect_positions(self, t: int, bar_txt: str, cyc: Cycle) -> None:
        """Hold each position's stop / target pair at the venue; replace it when it moved."""
        closing = self._closing()
        table = self.st.protections()
        for j, sym in enumerate(self.panel.symbols):
            q = table.qty[j]
            prot = self.protect.get(j)
            if (q == 0.0 and prot is None) or j in closing:
                continue
            if q == 0.0:
                self._cancel_protection(j, cyc)
                continue
            stop, reason, tp = table.stop[j], table.reason[j], table.target[j]
            if stop != stop and tp != tp:
                if prot is not None:
                    self._cancel_protection(j, cyc)
                continue
            same = (
                prot is not None
                and (prot.stop == stop or same_level(prot.stop, stop))
                and (prot.target == tp or same_level(prot.target, tp))
            )
            if same and prot is not None and abs(prot.qty - abs(q)) < 1e-9:
                prot.reason = reason
                continue
            self._cancel_protection(j, cyc)
            req = OrderRequest(
                client_id=client_order_id(self._key, sym, bar_txt, Intent.STOP, j),
                strategy=self.p.strategy_id, symbol=sym, side=Side.SELL if q > 0 else Side.BUY,
                qty=abs(q), intent=Intent.STOP, type=OrderType.STOP, tif=TimeInForce.GTC,
                stop=stop if stop == stop else None,
                take_profit=tp if tp == tp else None, bar=bar_txt, reason=reason_name(reason),
            )  # fmt: skip
            cyc.requests.append(req)
            _o, ups = self.oms.submit(req, bar_txt)
            cyc.updates.extend(ups)
            self._log_order(req)
            if not self._rejected(req, ups):
                ids = {req.client_id: "pair" if stop == stop and tp == tp else
                       ("stop" if stop == stop else "target")}  # fmt: skip
                for o in self.p.venue.open_orders():
                    if o.client_id == req.client_id:
                        ids[o.client_id] = order_kind(o)
                    elif o.parent_id == req.client_id:  # a leg of its own at the venue
                        ids[o.client_id] = order_kind(o)
                        self._record_leg(o, req, reason, cyc)
                if ids[req.client_id] == "target":  # the pair's parent is its limit side
                    cyc.requests[cyc.requests.index(req)] = replace(req, reason="take_profit")
                self.protect[j] = Protection(ids, stop, tp, abs(q), reason)

    def _closing(self) -> set[int]:
        """Positions a working order is already closing (their protection waits for it); in a
        replay every order of an open is done by its close, so there are none."""
        return set()

    def _record_leg(self, o: VenueOrder, parent: OrderRequest, reason: int, cyc: Cycle) -> None:
        """Record a protective leg the venue made for ``parent`` as an order of its own."""
        leg = OrderRequest(
            client_id=o.client_id, strategy=parent.strategy, symbol=parent.symbol, side=o.side,
            qty=o.qty, intent=Intent.STOP, type=o.type, limit=o.limit, stop=o.stop,
            bar=parent.bar,
            reason="take_profit" if order_kind(o) == "target" else reason_name(reason),
        )  # fmt: skip
        cyc.requests.append(leg)
        self.oms.orders[leg.client_id] = Order(leg, OrderState.ACCEPTED, o.venue_id)
        if not o.state.terminal:  # the venue holds it: the ledger says so (not 'new')
            cyc.updates.append(OrderUpdate(o.client_id, o.state, parent.bar, o.venue_id))
