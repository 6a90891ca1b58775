"""The trading node on a broker with a live feed: what a close decides is sent at once.

In a replay the cycle of bar ``t`` sends, at ``t``'s open, what the close of ``t - 1`` decided,
and the venue fills it on ``t``'s bar (:mod:`alphaforge.engine.node`). On a live feed the next
open has not happened when a close is handled; sending at the next cycle would send every order
a bar late. A live node therefore runs the same phases of the simulation core, in this order,
at the close of bar ``t``:

1. **fills**: what the broker filled since the last cycle (the orders sent at the close of
   ``t - 1`` fill at ``t``'s open, their limit / stop entries inside ``t``'s range) is booked at
   bar ``t`` with the engine's accounting; a new position takes the protective levels its entry
   was planned with, moved by the difference between the planned and the actual fill price when
   they are distances; the limit / stop entries of ``t`` are settled as the backtest settles
   them (filled, or refused by the rule the plan found), with the plan made at ``t - 1``'s close;
2. **close**: the strategy's ``signals`` hook on the bars so far; the book is marked, the loss
   limits are evaluated and the signals become the pending orders of the next open; a day entry
   that did not fill ends (Alpaca expired it at the session's close; cancelling an order that
   has ended only reads its final state);
3. **protection**: each position's stop / take-profit pair is held at the broker, except for a
   position a working exit is already closing; a pair an order of which ended unfilled (a day
   bracket's legs expire with their session) is placed again;
4. **kill switch**: read after the close, so a flatten replaces what the close decided;
5. **next open**: the engine's open phase of bar ``t + 1`` decides, sizes and caps the pending
   orders, priced at the close of ``t`` (the next open is unknown), with the trading day and week
   of bar ``t + 1`` from the exchange calendar (``next_period``), so the loss limits and the day
   blocks see the day the orders will fill in. The orders go to the broker now, as market orders
   for the next open, and limit, stop and stop-limit entries for the next bar with their
   bracket (a gtc entry stays working while its order is the same, else it is cancelled, then
   sent again); their client ids carry the decision bar ``t``;
6. **ledger**: the cycle, in one transaction.

What differs from the backtest, by construction: quantities are sized with the last close
instead of the next open (a gap changes a quantity, never a decision), a bracket sent with an
entry holds the levels planned from the close (a market entry) or from the entry's limit / stop
price, so until the next close a gap moves the fill but not the bracket; and the fills are the
broker's. ``alphaforge drift`` measures both against the backtest of the same bars. A restart
continues from the plan of the last close (its levels, the book it left, its refusals), so the
entries sent then are settled as without a restart. An entry the node ends at the broker (a day
entry at its bar's close, a gtc entry replaced) may still fill before the cancel arrives on
intraday bars; its fill is booked on that entry when it comes.

After downtime the missed bars are caught up without trading, each booking the fills the broker
made in it. The broker's orders are as they are now, after all of those fills, so a restart
first finds the legs of the brackets it left working (in any state) and the fills to come: a
position opened while down takes its entry's planned levels and its legs as protection, a
leg's fill is booked in its bar (not taken for a trade by hand), and a symbol's protection is
left as the broker held it while a fill of it is still to come. A working entry stays working
while the caught-up closes keep it pending, as the backtest does, or when the broker filled it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np

from alphaforge.core.orders import (
    Fill,
    Intent,
    Order,
    OrderRequest,
    OrderState,
    OrderUpdate,
    TimeInForce,
    client_order_id,
)
from alphaforge.core.panel import Panel
from alphaforge.engine.node import NodeParts, TradingNode
from alphaforge.engine.node_parts import Cycle
from alphaforge.engine.reconcile import Difference
from alphaforge.ports import VenueOrder
from alphaforge.sim import codes as C
from alphaforge.sim.records import POSITION, Book
from alphaforge.sim.stepper import OpenPlan, decode_array, encode_array

# (the bars so far, bar t) -> (day id, week id) of bar t + 1
NextPeriod = Callable[[Panel, int], tuple[int, int]]

_CLOSING = (Intent.EXIT, Intent.FLATTEN, Intent.REBALANCE)
_ENDED = (OrderState.CANCELLED, OrderState.EXPIRED, OrderState.REJECTED)


class LiveNode(TradingNode):
    """A :class:`TradingNode` whose orders leave at the close that decides them (see the module
    docstring). ``next_period(panel, t)`` gives the trading-day and week ids of the bar after
    bar ``t`` of ``panel``."""

    def __init__(self, parts: NodeParts, panel: Panel, next_period: NextPeriod) -> None:
        super().__init__(parts, panel)
        self.next_period = next_period
        self._started = -1  # the bar whose start (day / week roll) the book has seen
        self._next: tuple[int, int] = (0, 0)
        self._ended: dict[str, Order] = {}  # limit / stop entries ended at the broker, by id
        self._behind = False  # the bar being run is caught up (see step)
        self._ahead: dict[str, Fill] = {}  # fills a restart found for later bars, by fill id
        self._legs: dict[str, list[VenueOrder]] = {}  # a working bracket's legs at a restart
        self._redo_at: int | None = None  # the bar a restart runs first (see step)
        self._known_only = False  # send only what the broker has (a lost cycle's redo)

    def step(self, t: int, trade: bool = True) -> float:
        """Run the cycle of the close of bar ``t``; returns the equity at that close.

        ``trade=False`` (a bar caught up after downtime): its fills and close are booked, what
        the close leaves pending is dropped, not sent late; a limit / stop entry still working
        at the broker stays working while the caught-up closes keep it pending
        (:meth:`_drop_pending`).

        The first bar a restart runs may be a cycle lost after its orders reached the broker
        (the process died before the cycle was recorded). When that bar is caught up, its open
        is redone as it ran, but only the orders the broker has are sent (their client ids are
        the same, so the broker answers with the orders it has; :meth:`_send`): their fills
        are then the strategy's own, booked in their bar, and what never reached the broker is
        not sent late."""
        redo, self._redo_at = not trade and t == self._redo_at, None
        self._behind = not trade
        eq = self.close_phase(t)
        if trade:  # what a restart found is booked by now
            self._ahead, self._legs = {}, {}
        self._known_only = redo
        try:
            self.open_phase(t, trade or redo)
        finally:
            self._known_only = False
        self._end(t, self._texts[t], self._cyc)
        return eq

    def close_phase(self, t: int) -> float:
        """Steps 1-3 of the cycle of bar ``t`` (fills, close, protection); the equity at the
        close. An account of several strategies runs every node's close before any open."""
        self._cyc, self._carry = self._carry or Cycle(), None  # (sent between cycles)
        if self._started != t:  # the first cycle of a run or of a restart
            self._start(t)
        self._settle_held(self._cyc)
        return self._close(t)

    def open_phase(self, t: int, trade: bool) -> None:
        """Steps 4-5: the kill switch and the open of bar ``t + 1`` (its orders sent now), or,
        for a caught-up bar, dropping what the close left pending."""
        p = self.p
        nday, nweek = self.next_period(self.panel, t)
        self._next = (nday, nweek)
        self.st.start_bar(t + 1, nday != int(p.day[t]), nweek != int(p.week[t]))
        self._started = t + 1
        self._open_or_drop(t, trade)

    def end_cycle(self, t: int) -> None:
        """Step 6 for a node of an account: what the venue answered since the open (an
        account limit's refusal of an order it held) is applied, then the cycle is written."""
        self._fills(t, self._cyc)
        self._end(t, self._texts[t], self._cyc)

    def fast_forward(
        self, t: int, t_end: int, on_bar: Callable[[int, float], None] | None = None
    ) -> int:
        return t  # a live feed has no stretch of known bars to run ahead

    def _plan_open(self, t: int) -> OpenPlan:
        """The open phase of bar ``t + 1``, priced at the close of ``t``."""
        nday, nweek = self._next
        return self.st.plan_open(t + 1, self.panel.close[t], self.sig, nday, nweek)

    def _send(self, req: OrderRequest, price: float, j: int, cyc: Cycle) -> bool:
        """Send an order of this open (:meth:`TradingNode._send`); in a lost cycle's redo
        (:meth:`step`) only an order the broker has, which is held working until the bar of
        its fill books it (the broker may have filled it while the process was down)."""
        if self._known_only and self.p.venue.order(req.client_id) is None:
            cyc.decisions.append(
                (req.symbol, req.side.value, req.qty, "stale: the bar was caught up", False)
            )
            return False
        sent = super()._send(req, price, j, cyc)
        if sent and self._known_only:
            self._hold_until_fill(req.client_id, cyc)
        return sent

    def _hold_until_fill(self, client_id: str, cyc: Cycle) -> None:
        """An order the broker filled in a bar still to run stays working until that bar books
        its fill (as :meth:`reconcile` keeps the node's own orders)."""
        o = self.oms.orders.get(client_id)
        if o is None or not o.state.terminal:
            return
        if client_id not in {f.client_id for f in self._pending_ahead()}:
            return
        self.oms.orders[client_id] = Order(o.request, OrderState.ACCEPTED, o.venue_id,
                                           o.filled_qty, o.avg_price)  # fmt: skip
        cyc.updates[:] = [
            replace(u, state=OrderState.ACCEPTED)
            if u.client_id == client_id and u.state.terminal else u
            for u in cyc.updates
        ]  # fmt: skip

    # ---- an entry the broker filled before its cancel reached it -------------------------
    def _cancel_entry(self, j: int, cyc: Cycle) -> None:
        self._remember_entry(self.resting.get(j))
        super()._cancel_entry(j, cyc)

    def _end_day_entries(self, cyc: Cycle) -> None:
        for cid in self.resting.values():
            o = self.oms.orders.get(cid)
            if o is not None and o.request.tif is not TimeInForce.GTC:  # (gtc ones stay)
                self._remember_entry(cid)
        super()._end_day_entries(cyc)

    def _remember_entry(self, client_id: str | None) -> None:
        """Keep a working entry the node ends at the broker (the last 1,000): the broker may
        fill it before the cancel arrives (intraday bars), after the node forgot it."""
        o = self.oms.orders.get(client_id) if client_id is not None else None
        if o is None or o.state.terminal:
            return
        self._ended[o.client_id] = Order(o.request, OrderState.ACCEPTED, o.venue_id,
                                         o.filled_qty, o.avg_price)  # fmt: skip
        if len(self._ended) > 1_000:
            del self._ended[next(iter(self._ended))]

    def _venue_updates(self, t: int) -> list[OrderUpdate]:
        """The broker's updates; the fill of an entry the node ended and forgot is booked on
        that entry (a position the broker made, so the ledger's stays the broker's)."""
        ups = super()._venue_updates(t)
        for u in ups:
            if u.fill is None or u.client_id in self.oms.orders:
                continue
            o = self._ended.pop(u.client_id, None)
            if o is not None:
                self.oms.orders[u.client_id] = o
                self.p.log("filled_before_cancel", client_id=u.client_id, symbol=u.fill.symbol)
        return ups

    def _protect_positions(self, t: int, bar_txt: str, cyc: Cycle) -> None:
        """The node's protection, after forgetting a pair an order of which ended at the broker
        unfilled while its position is still held (a day bracket's legs expire with the
        session; a leg cancelled by hand): that position gets a new pair at this close."""
        frozen = self._frozen()
        for j, prot in list(self.protect.items()):
            if j not in frozen and any(self._ended_unfilled(cid) for cid in prot.ids):
                self._cancel_protection(j, cyc)
        super()._protect_positions(t, bar_txt, cyc)

    def _ended_unfilled(self, client_id: str) -> bool:
        o = self.oms.orders.get(client_id)
        return o is not None and o.state in _ENDED and o.filled_qty == 0.0

    def _closing(self) -> set[int]:
        symbols = self.panel.symbols
        return self._frozen() | {
            symbols.index(o.request.symbol)
            for o in self.oms.orders.values()
            if not o.state.terminal and o.request.intent in _CLOSING
        }

    # ---- bars caught up after downtime ----------------------------------------------------
    # The broker went on while the process was down; its orders are as they are now, after
    # the fills the caught-up bars book one by one. A restart finds those fills (``_ahead``)
    # and the legs of the brackets it left working (``_legs``), whatever their state now.
    def _drop_pending(self, t: int, cyc: Cycle) -> None:
        """A caught-up close sends nothing: what it leaves pending is dropped, never sent late.
        A limit / stop entry working at the broker is kept where this close keeps it pending
        as the backtest does (the same signal's entry; a new signal or an exit signal replaced
        or cancelled it: it is cancelled), and where the broker filled it in a later bar (that
        fill is booked in its bar). Kept entries are settled with the plan they were sent
        with; the first traded close sizes them again (a gtc entry is then replaced when its
        size changed)."""
        same, filling = self._kept()
        pend = self.st.book.pend
        for j, sym in enumerate(self.panel.symbols):
            if pend[j]["exit"] or (pend[j]["entry"] != 0.0 and j not in same):
                cyc.decisions.append((sym, "skip", 0.0, "stale: the bar was caught up", False))
            pend[j]["exit"] = False
            if j not in same:
                pend[j]["entry"], pend[j]["left"] = 0.0, 0.0
        self.st.book.account[0]["pend_rebal"] = -1
        if not (same or filling):
            self._plan = None
        self._cancel_resting(same | filling, cyc)

    def _kept(self) -> tuple[set[int], set[int]]:
        """The symbols whose working entry this caught-up close keeps: pending as it was sent
        (its signal bar and side), and, besides, filled by the broker in a later bar."""
        plan, pend = self._plan, self.st.book.pend
        sent = plan.after_open.pend if plan is not None and plan.after_open is not None else None
        later = {f.client_id for f in self._pending_ahead()}
        same, filling = set(), set()
        for j, cid in self.resting.items():
            o = self.oms.orders.get(cid)
            if o is None or o.state.terminal:
                continue
            if (
                sent is not None
                and pend[j]["entry"] * sent[j]["entry"] > 0.0
                and (pend[j]["sig_bar"] == sent[j]["sig_bar"])
            ):
                same.add(j)
            elif cid in later:
                filling.add(j)
        return same, filling

    def _pending_ahead(self) -> list[Fill]:
        """The fills a restart found for later bars that no cycle has booked yet."""
        if self._ahead:
            self._ahead = {k: f for k, f in self._ahead.items() if k not in self._booked}
        return list(self._ahead.values())

    def _frozen(self) -> set[int]:
        """In a caught-up bar, the symbols the broker has a fill of in a later bar: their
        protection stays as the broker held it (it may have filled or ended since) until that
        fill is booked."""
        if not self._behind:
            return set()
        symbols = self.panel.symbols
        return {symbols.index(f.symbol) for f in self._pending_ahead() if f.symbol in symbols}

    def _adopt_bracket(self, j: int, req: OrderRequest, cyc: Cycle) -> None:
        """The bracket's legs protect position ``j`` (as :meth:`TradingNode._adopt_bracket`);
        for an entry a restart found working, the legs it found then, in whatever state they
        are now: in a caught-up bar they held the position, and a later bar books their fill.
        A leg that ended unfilled with no fill of the position ahead (cancelled by hand) is
        ended here, so the position gets a new pair at this close."""
        legs = self._legs.pop(req.client_id, None)
        if not legs:
            super()._adopt_bracket(j, req, cyc)
            return
        reason = self._protect_with(j, legs)
        frozen = j in self._frozen()
        for o in legs:
            self._record_leg(o, req, reason, cyc)
            if not frozen and o.state in _ENDED and o.filled_qty == 0.0:
                u = OrderUpdate(o.client_id, o.state, "", o.venue_id)
                self.oms.apply(u)
                cyc.updates.append(u)

    def _protective_fill(
        self, t: int, j: int, u: OrderUpdate, fill: tuple[float, float, float]
    ) -> str:
        """Book a protective fill; in a caught-up bar, a fill that closes the position also
        reads the end of the position's other protective orders (the broker cancelled them
        with it; their news came while the process was down)."""
        prot = self.protect.get(j)
        reason = super()._protective_fill(t, j, u, fill)
        if self._behind and prot is not None and j not in self.protect:
            for cid in prot.ids:
                if cid != u.client_id:
                    self._cancel_at_venue(cid, self._cyc)
        return reason

    # ---- restart --------------------------------------------------------------------------
    def reconcile(self, t: int, since: str | None, known_fills: set[str]) -> list[Difference]:
        """Reconcile with the broker before bar ``t`` (:meth:`NodeRecords.reconcile`), with
        the legs of the brackets left working known as the node's own (a leg's fill in a bar
        to catch up is booked in that bar, not taken for a trade made by hand). An order with
        a fill in a bar to catch up keeps its state until that bar books the fill."""
        legs_of = getattr(self.p.venue, "legs", None)
        if legs_of is None:  # an account's strategy on its share of the venue
            return super().reconcile(t, since, known_fills)
        self._redo_at = t if self._lost_cycle_at(t) else None  # (see step)
        legs, scratch = self._bracket_legs(legs_of), Cycle()
        before = {cid: o.snapshot() for cid, o in self.oms.orders.items() if not o.state.terminal}
        for parent, of_parent in legs.items():
            for leg in of_parent:
                if leg.client_id not in self.oms.orders:  # the node's own while it reconciles
                    self._record_leg(leg, before[parent].request, C.EXIT_STOP_LOSS, scratch)
        taken = {r.client_id for r in scratch.requests}
        try:
            diffs = super().reconcile(t, since, known_fills)
        finally:
            for cid in taken:
                self.oms.orders.pop(cid, None)
        self._legs = legs
        self._ahead = {}
        if self._texts:
            booked = known_fills | set(self._booked)
            # an account's strategy: the broker's fills of its orders, not only those the
            # desk has routed so far (the bars to run route the rest)
            ahead = getattr(self.p.venue, "fills_ahead", None) or self.p.venue.fills
            fills = ahead(since=self._resume_at(t))
            self._ahead = {f.fill_id: f for f in fills if f.fill_id not in booked}
        later = {f.client_id for f in self._ahead.values()}
        found, updates = self._reconciled
        kept = []
        for u in updates:
            if u.fill is None and (u.client_id in taken or u.client_id in later):
                if u.client_id in before:
                    self.oms.orders[u.client_id] = before[u.client_id]
                continue
            kept.append(u)
        self._reconciled = (found, kept)
        return diffs

    def _resume_at(self, t: int) -> str:
        """Bar ``t``'s time, or, when the restart comes before bar ``t`` has arrived, the last
        bar's: the broker's fills since that bar's last cycle (an entry filled at this
        session's open, before a crash inside the session) belong to the bars to come, which
        book them with their orders (a bracket's legs become the position's protection), not
        to the restart."""
        return self._texts[min(t, len(self._texts) - 1)]

    def _lost_cycle_at(self, t: int) -> bool:
        """Whether the broker has an order the open of bar ``t`` sends (working, or filled
        since): the cycle of ``t`` reached the broker, then the process died before it was
        recorded. Its client ids are computed, not guessed (every intent and order number the
        open can give a symbol), so another run's or a hand-made order is never taken for it."""
        if t >= len(self._texts):
            return False
        bar, symbols = self._texts[t], self.panel.symbols
        intents = (Intent.ENTRY, Intent.EXIT, Intent.REBALANCE, Intent.FLATTEN)
        ids = {client_order_id(self._key, sym, bar, intent, k)
               for sym in symbols for intent in intents for k in range(3 * len(symbols) + 1)}  # fmt: skip
        venue = self.p.venue
        at_broker = {o.client_id for o in venue.open_orders()}
        at_broker |= {f.client_id for f in venue.fills(since=bar)}
        return not ids.isdisjoint(at_broker)

    def _bracket_legs(
        self, legs_of: Callable[[str], list[VenueOrder]]
    ) -> dict[str, list[VenueOrder]]:
        """The legs at the broker of each working order sent with a bracket, in any state."""
        out: dict[str, list[VenueOrder]] = {}
        for cid, o in list(self.oms.orders.items()):
            req = o.request
            if not o.state.terminal and (req.stop_loss is not None or req.take_profit is not None):
                found = legs_of(cid)
                if found:
                    out[cid] = found
        return out

    def note_differences(self, diffs: list[Difference]) -> None:
        """Differences found for the whole account (its netting desk against the broker),
        reported and written with this node's reconciliation."""
        found, updates = self._reconciled
        self._reconciled = ([*diffs, *found], updates)

    def snapshot(self, t: int) -> dict[str, Any]:
        """The node's state plus what the last open planned: an entry sent at this close fills
        after a restart and still takes the levels it was planned with, and the limit / stop
        entries it sent are settled against the book the plan left (with the refusals the
        plan found)."""
        snap = super().snapshot(t)
        if self._after:  # reversals' entries waiting for their exits (node_reversals)
            snap["held"] = self._held_snapshot()
        plan = self._plan
        if plan is not None and plan.levels is not None:
            snap["plan_levels"] = encode_array(np.asarray(plan.levels))
        if plan is not None and plan.after_open is not None:
            snap["plan_after_open"] = {
                name: encode_array(a) for name, a in zip(Book._fields, plan.after_open, strict=True)
            }
            snap["plan_refused"] = {str(j): list(r) for j, r in plan.refused.items()}
        return snap

    def restore(self, snap: dict[str, Any]) -> int:
        nxt = super().restore(snap)
        self._restore_held(snap.get("held", []))
        if "plan_levels" in snap:
            self._plan = OpenPlan(levels=decode_array(snap["plan_levels"], POSITION))
        if self._plan is not None and "plan_after_open" in snap:
            book, saved = self.st.book, snap["plan_after_open"]
            self._plan.after_open = Book(
                *(decode_array(saved[name], getattr(book, name).dtype) for name in Book._fields)
            )
            self._plan.refused = {
                int(j): (float(r[0]), int(r[1]), float(r[2]))
                for j, r in snap["plan_refused"].items()
            }
        self._started = nxt  # the snapshot was taken after the next bar's start
        return nxt
