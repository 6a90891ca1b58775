"""A reversal on a venue that takes no position through zero (Alpaca): the exit first, then
the opposite entry once the exit has filled.

The engine's open phase decides a reversal as two orders of one open, the position's exit and
the opposite entry, and the backtest fills both at that open. Alpaca refuses the entry while
the exit still holds the position's shares ("insufficient qty available for order"). On such a
venue (``capabilities.through_zero`` false) the node sends the exit and holds the entry, which
has passed the risk gate against the flat book the exit leaves, until the venue reports the
exit filled:

- **replay**: the venue gets the bar's open alone first (``on_open``; the exit fills there),
  then the held entries, then the whole bar: the entry fills at the same open, as in the
  backtest;
- **live feed**: a close's orders go out for the next open, so the entry leaves between cycles,
  as soon as the broker's stream shows the exit filled (or its order does; it is read once a
  minute in case the stream missed it): :meth:`ReversalEntries.send_after_exits`, which the
  paper / live loop calls while it waits. The entry is recorded with the next cycle.

An entry whose exit ended unfilled (cancelled, rejected, expired) is not sent; neither is one
the kill switch halts, nor one whose exit filled in a bar that has closed since (the runtime
was down through that bar's close: the entry would trade late). Each is a decision of its cycle
(``not sent: ...``) and a ``not_sent`` line of the decision log; a held entry is a ``held``
line.

A restart continues with the entries the last cycle held (they are in its state) and looks for
their exits again: an exit that filled while the process was down sends its entry while that
bar is still open (a send is idempotent by client id, so an entry the broker already has, sent
just before the process died, is taken as sent and its fill booked as the strategy's); at the
bar's close, an entry still held whose exit has filled is dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from alphaforge.core.orders import (
    Intent,
    OrderRequest,
    OrderState,
    OrderType,
    OrderUpdate,
    request_dict,
    request_of,
)
from alphaforge.engine.gate import TradingState
from alphaforge.engine.node_parts import Cycle, NodeState

REST_READ_SECONDS = 60.0
"""How often, at most, a live node reads a held entry's exit from the broker when its stream
has not shown the exit's end (a stream that missed the fill)."""

_CLOSES = (Intent.EXIT, Intent.FLATTEN, Intent.REBALANCE)


@dataclass
class HeldEntry:
    """A reversal's entry held until its exit (client id ``exit_id``) has filled."""

    request: OrderRequest
    exit_id: str


class ReversalEntries(NodeState):
    """The held entries of reversals (see the module docstring)."""

    _after: list[HeldEntry]
    _early: list[OrderUpdate]  # venue updates read between cycles, for the next cycle
    _carry: Cycle | None  # what was sent between cycles, written with the next cycle
    _rest_read: pd.Timestamp | None  # when a held entry's exit was last read from the broker

    if TYPE_CHECKING:  # the node's own send path

        def _submit(self, req: OrderRequest, cyc: Cycle) -> None: ...

    def _hold_reversal(self, req: OrderRequest, j: int, cyc: Cycle) -> bool:
        """Whether ``req`` is a reversal's entry the venue cannot take with its exit; it is
        then held (see the module docstring)."""
        venue = self.p.venue
        through_zero = getattr(getattr(venue, "capabilities", None), "through_zero", True)
        if through_zero or getattr(venue, "netted", False) or req.intent is not Intent.ENTRY:
            return False  # (an account's desk nets its strategies' orders: engine/netting.py)
        pos = self.st.qty(j)
        if req.type is not OrderType.MARKET or pos == 0.0 or pos * req.signed_qty > 0.0:
            return False
        exit_req = next((r for r in reversed(cyc.requests)
                         if r.symbol == req.symbol and r.intent in _CLOSES), None)  # fmt: skip
        if exit_req is None:  # no exit this open (refused): the venue judges the entry
            return False
        self._after.append(HeldEntry(req, exit_req.client_id))
        self.p.log("held", bar=req.bar, symbol=req.symbol, side=req.side.value, qty=req.qty,
                   client_id=req.client_id, until=exit_req.client_id,
                   reason="a reversal's entry, sent once its exit has filled")  # fmt: skip
        return True

    def _release_held(
        self,
        cyc: Cycle,
        state_of: Callable[[str], OrderState | None],
        last: bool = False,
        halted: bool = False,
    ) -> None:
        """Send each held entry whose exit has filled, unless trading is halted (``halted``: a
        halt set since the cycle); drop those whose exit ended unfilled (and with ``last``
        every one still waiting)."""
        keep: list[HeldEntry] = []
        state_now = TradingState.HALTED if halted else self.p.gate.state
        for h in self._after:
            state = state_of(h.exit_id)
            if state is OrderState.FILLED:
                if state_now is TradingState.ACTIVE:
                    self._submit(h.request, cyc)
                else:
                    self._drop_held(h, cyc, f"trading is {state_now}")
            elif last or (state is not None and state.terminal):
                why = "did not fill" if state is None else f"is {state.value}"
                self._drop_held(h, cyc, f"the exit it follows ({h.exit_id}) {why}")
            else:
                keep.append(h)
        self._after = keep

    def _drop_held(self, h: HeldEntry, cyc: Cycle, why: str) -> None:
        req = h.request
        cyc.decisions.append((req.symbol, req.side.value, req.qty, f"not sent: {why}", False))
        self.p.log("not_sent", bar=req.bar, symbol=req.symbol, client_id=req.client_id,
                   reason=why)  # fmt: skip

    def _venue_state(self, client_id: str) -> OrderState | None:
        o = self.p.venue.order(client_id)
        return None if o is None else o.state

    # ---- replay: the bar's open alone, then the held entries ------------------------------
    def _open_then_release(self, bars: Any, cyc: Cycle) -> None:
        """Before the whole bar: its open alone (the exits fill), then the held entries whose
        exit filled. A venue without ``on_open`` gets them after the bar (its next open)."""
        on_open = getattr(self.p.venue, "on_open", None)
        if on_open is not None:
            on_open(bars)
            self._release_held(cyc, self._venue_state)

    # ---- live feed: between cycles --------------------------------------------------------
    @property
    def holding(self) -> bool:
        """Whether entries wait for their exits (the loop then calls
        :meth:`send_after_exits` while it waits)."""
        return bool(self._after)

    def send_after_exits(self, now: pd.Timestamp) -> None:
        """Between cycles (``now``: the run's clock): send each held entry whose exit the
        broker's stream (or, at most once a minute, its order) shows filled; recorded with the
        next cycle."""
        if not self._after:
            return
        if self._carry is None:
            self._carry = Cycle()
        self._early += self.p.venue.updates()
        seen: dict[str, OrderState | None] = {u.client_id: u.state for u in self._early}
        last = self._rest_read
        rest = last is None or (now - last).total_seconds() >= REST_READ_SECONDS
        if rest:
            self._rest_read = now

        def state_of(cid: str) -> OrderState | None:
            state = seen.get(cid)
            if (state is None or not state.terminal) and rest:
                state = seen[cid] = self._venue_state(cid)
            return state

        # a halt set in the ledger since the last cycle (alphaforge kill) stops them too
        filled = any(state_of(h.exit_id) is OrderState.FILLED for h in self._after)
        halted = filled and self.p.ledger.halted() is not None
        self._release_held(self._carry, state_of, halted=halted)

    def _take_early(self) -> list[OrderUpdate]:
        """The venue updates read between cycles (they come before the venue's new ones)."""
        early, self._early = self._early, []
        return early

    def _settle_held(self, cyc: Cycle) -> None:
        """At a live cycle's close, before its fills: an entry the broker has (sent just before
        the process died) is taken as sent; one whose exit filled unseen is dropped (its bar
        has closed: it would trade late); the others keep waiting."""
        if not self._after:
            return
        keep: list[HeldEntry] = []
        for h in self._after:
            if self.p.venue.order(h.request.client_id) is not None:
                self._submit(h.request, cyc)  # the venue answers with the order it has
                continue
            state = self._venue_state(h.exit_id)
            if state is OrderState.FILLED:
                self._drop_held(h, cyc, "its exit filled in a bar that has closed since")
            elif state is None or state.terminal:
                self._drop_held(h, cyc, f"the exit it follows ({h.exit_id}) did not fill")
            else:
                keep.append(h)
        self._after = keep

    # ---- restart --------------------------------------------------------------------------
    def _held_snapshot(self) -> list[dict[str, Any]]:
        return [{"req": request_dict(h.request), "exit": h.exit_id} for h in self._after]

    def _restore_held(self, saved: list[dict[str, Any]]) -> None:
        self._after = [HeldEntry(request_of(d["req"]), str(d["exit"])) for d in saved]
