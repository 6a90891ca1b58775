"""The trading node's limit, stop and stop-limit entries: held at the venue for the bar the open
sized them for (a gtc entry is replaced when its size or levels change), ended at the close
where the backtest expires them, forgotten once the venue finished them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from alphaforge.core.orders import (
    Intent,
    OrderRequest,
    OrderType,
    Side,
    TimeInForce,
    client_order_id,
)
from alphaforge.engine.node_parts import Cycle, NodeState, reason_name, same_request
from alphaforge.sim import codes as C
from alphaforge.sim.stepper import OpenPlan, RestingOrder


class RestingEntries(NodeState):
    """The limit / stop entries a node holds at the venue."""

    if TYPE_CHECKING:  # the node's own steps

        def _bracket(
            self, j: int, reason: int, plan: OpenPlan, resting: bool = False
        ) -> tuple[float | None, float | None]: ...

        def _send(self, req: OrderRequest, price: float, j: int, cyc: Cycle) -> bool: ...

    # ---- limit / stop entries -----------------------------------------------------------
    def _rest(self, ro: RestingOrder, k: int, bar_txt: str, plan: OpenPlan, cyc: Cycle) -> None:
        """Hold limit / stop entry ``ro`` at the venue for this bar: the working order stays
        when it is the same order, else a new one replaces it (a gtc entry is sized again at
        every open, as the backtest sizes it when it fills)."""
        j, sym = ro.symbol, self.panel.symbols[ro.symbol]
        lim = ro.limit if ro.limit == ro.limit else None
        stp = ro.stop if ro.stop == ro.stop else None
        kind = OrderType.STOP_LIMIT if lim and stp else OrderType.LIMIT if lim else OrderType.STOP
        stop, target = self._bracket(j, C.REASON_ENTRY, plan, resting=True)
        req = OrderRequest(
            client_id=client_order_id(self._key, sym, bar_txt, Intent.ENTRY, k),
            strategy=self.p.strategy_id, symbol=sym, side=Side.of(ro.delta), qty=abs(ro.delta),
            intent=Intent.ENTRY, type=kind, limit=lim, stop=stp, stop_loss=stop,
            take_profit=target, bar=bar_txt, reason=reason_name(C.REASON_ENTRY),
            tif=TimeInForce.GTC if self.st.s["tif_gtc"] else TimeInForce.DAY,
        )  # fmt: skip
        cid = self.resting.get(j)
        if cid is not None:
            o = self.oms.orders.get(cid)
            if o is not None and not o.state.terminal and same_request(o.request, req):
                return  # the working order is this bar's order
            self._cancel_entry(j, cyc)
        order_atr = getattr(self.p.venue, "order_atr", None)
        if order_atr is not None:
            order_atr[req.client_id] = self.st.entry_atr(j)
        if self._send(req, ro.price, j, cyc):
            self.resting[j] = req.client_id
        else:
            self.st.book.pend[j]["entry"] = 0.0  # refused: dropped like a refused market entry
            if order_atr is not None:
                order_atr.pop(req.client_id, None)

    def _cancel_resting(self, keep: set[int], cyc: Cycle) -> None:
        """Cancel the working limit / stop entries of the symbols not in ``keep``."""
        for j in [j for j in self.resting if j not in keep]:
            self._cancel_entry(j, cyc)

    def _cancel_entry(self, j: int, cyc: Cycle) -> None:
        self._cancel_at_venue(self.resting.pop(j), cyc)

    def _end_day_entries(self, cyc: Cycle) -> None:
        """At the close, a day entry not filled in its bar ends: expired where the close
        expired it (as the backtest records it), cancelled where a new signal replaced it."""
        for j, cid in list(self.resting.items()):
            o = self.oms.orders.get(cid)
            if o is not None and o.request.tif is TimeInForce.GTC and not o.state.terminal:
                continue
            del self.resting[j]
            if o is None or o.state.terminal:
                continue
            venue = self.p.venue
            end = getattr(venue, "expire", venue.cancel) if j in self.st.expired else venue.cancel
            u = end(cid)
            if u is not None:
                self.oms.apply(u)
                cyc.updates.append(u)

    def _settled(self) -> set[int]:
        """The symbols whose limit / stop entry the venue filled in this bar; the finished
        ones are forgotten."""
        filled = set()
        for j, cid in list(self.resting.items()):
            o = self.oms.orders.get(cid)
            if o is None or o.state.terminal:
                del self.resting[j]
            if o is not None and o.filled_qty > 0.0 and o.state.terminal:
                filled.add(j)
        return filled
