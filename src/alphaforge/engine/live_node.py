"""The trading node on a broker with a live feed: what a close decides is sent at once.

In a replay the cycle of bar ``t`` sends, at ``t``'s open, what the close of ``t - 1`` decided,
and the venue fills it on ``t``'s bar (:mod:`alphaforge.engine.node`). On a live feed the next
open has not happened when a close is handled; sending at the next cycle would send every order
a bar late. A live node therefore runs the same phases of the simulation core, in this order,
at the close of bar ``t``:

1. **fills**: what the broker filled since the last cycle (the orders sent at the close of
   ``t - 1`` fill at ``t``'s open) is booked at bar ``t`` with the engine's accounting; a new
   position takes the protective levels its entry was planned with, moved by the difference
   between the planned and the actual fill price when they are distances;
2. **close**: the strategy's ``signals`` hook on the bars so far; the book is marked, the loss
   limits are evaluated and the signals become the pending orders of the next open;
3. **protection**: each position's stop / take-profit pair is held at the broker, except for a
   position a working exit is already closing;
4. **kill switch**: read after the close, so a flatten replaces what the close decided;
5. **next open**: the engine's open phase of bar ``t + 1`` decides, sizes and caps the pending
   orders, priced at the close of ``t`` (the next open is unknown), with the trading day and week
   of bar ``t + 1`` from the exchange calendar (``next_period``), so the loss limits and the day
   blocks see the day the orders will fill in. The orders go to the broker now, as market orders
   for the next open; their client ids carry the decision bar ``t``;
6. **ledger**: the cycle, in one transaction.

What differs from the backtest, by construction: quantities are sized with the last close
instead of the next open (a gap changes a quantity, never a decision), and the fills are the
broker's. ``alphaforge drift`` measures both against the backtest of the same bars.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from alphaforge.core.orders import Intent
from alphaforge.core.panel import Panel
from alphaforge.engine.node import NodeParts, TradingNode
from alphaforge.engine.node_parts import Cycle
from alphaforge.engine.reconcile import Difference
from alphaforge.sim.records import POSITION
from alphaforge.sim.stepper import OpenPlan, decode_array, encode_array

# (the bars so far, bar t) -> (day id, week id) of bar t + 1
NextPeriod = Callable[[Panel, int], tuple[int, int]]

_CLOSING = (Intent.EXIT, Intent.FLATTEN, Intent.REBALANCE)


class LiveNode(TradingNode):
    """A :class:`TradingNode` whose orders leave at the close that decides them (see the module
    docstring). ``next_period(panel, t)`` gives the trading-day and week ids of the bar after
    bar ``t`` of ``panel``."""

    def __init__(self, parts: NodeParts, panel: Panel, next_period: NextPeriod) -> None:
        super().__init__(parts, panel)
        self.next_period = next_period
        self._started = -1  # the bar whose start (day / week roll) the book has seen
        self._next: tuple[int, int] = (0, 0)

    def step(self, t: int, trade: bool = True) -> float:
        """Run the cycle of the close of bar ``t``; returns the equity at that close.

        ``trade=False`` (a bar caught up after downtime): its fills and close are booked, what
        the close leaves pending is dropped, not sent late."""
        eq = self.close_phase(t)
        self.open_phase(t, trade)
        self._end(t, self._texts[t], self._cyc)
        return eq

    def close_phase(self, t: int) -> float:
        """Steps 1-3 of the cycle of bar ``t`` (fills, close, protection); the equity at the
        close. An account of several strategies runs every node's close before any open."""
        self._cyc = Cycle()
        if self._started != t:  # the first cycle of a run or of a restart
            self._start(t)
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

    def _closing(self) -> set[int]:
        symbols = self.panel.symbols
        return {
            symbols.index(o.request.symbol)
            for o in self.oms.orders.values()
            if not o.state.terminal and o.request.intent in _CLOSING
        }

    # ---- restart --------------------------------------------------------------------------
    def note_differences(self, diffs: list[Difference]) -> None:
        """Differences found for the whole account (its netting desk against the broker),
        reported and written with this node's reconciliation."""
        found, updates = self._reconciled
        self._reconciled = ([*diffs, *found], updates)

    def snapshot(self, t: int) -> dict[str, Any]:
        """The node's state plus the levels the last open planned: an entry sent at this close
        fills after a restart and still takes them."""
        snap = super().snapshot(t)
        plan = self._plan
        if plan is not None and plan.levels is not None:
            snap["plan_levels"] = encode_array(np.asarray(plan.levels))
        return snap

    def restore(self, snap: dict[str, Any]) -> int:
        nxt = super().restore(snap)
        if "plan_levels" in snap:
            self._plan = OpenPlan(levels=decode_array(snap["plan_levels"], POSITION))
        self._started = nxt  # the snapshot was taken after the next bar's start
        return nxt
