"""The netting desk of an account on a broker with a live feed.

On the simulated venue the desk hands the venue each bar and routes what it did
(:class:`~alphaforge.engine.netting.NettingDesk`). A broker sees the market on its own: the
netted orders of a close leave at once, as market orders for the next open, and fill there
before the runtime hears of the bar. So at the close of bar ``t``
(:meth:`BrokerDesk.settle`):

* the crossings held at the close of ``t - 1`` fill at the open of ``t``, the bar they filled
  in, without commission (the price the simulated account uses, so replay and broker agree);
* the broker's updates are routed: its fills of a net order are shared among the orders on the
  net side in proportion to what each still wants, at the broker's price and fee; the updates
  of protective orders and bracketed entries go back to the strategy that sent them. The
  broker's stream may lag, so its fills since the last bar are also read over REST (each fill
  is routed once, by its id); a fill of a later bar (a restart catching up) waits for that bar.

On a restart (:meth:`BrokerDesk.catch_up`) the desk routes what the broker filled before the
bar the run resumes at, resolves its net orders the broker no longer knows or ended, and makes
the strategies' attributed positions add up to the broker's (:meth:`BrokerDesk.reconcile`):
a difference nobody's order explains (a trade by hand) is adopted by the first strategy that
trades the symbol, as one strategy adopts it alone.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pandas as pd

from alphaforge.core.orders import Fill, OrderState, OrderUpdate, position_after
from alphaforge.core.panel import utc_time
from alphaforge.engine.netting import NettingDesk
from alphaforge.engine.reconcile import Difference
from alphaforge.ports import BarSet


class BrokerDesk(NettingDesk):
    """A :class:`NettingDesk` in front of a broker (see the module docstring).

    ``symbols`` gives each strategy's symbols, in the account's order (who adopts a position
    nobody's order explains)."""

    def __init__(
        self, venue: Any, run_id: str, strategies: list[str], symbols: dict[str, list[str]]
    ) -> None:
        super().__init__(venue, run_id, strategies)
        self.symbols = symbols
        self._later: list[OrderUpdate] = []  # streamed fills of a bar not run yet

    # ---- the cycle -------------------------------------------------------------------------
    def settle(self, bars: BarSet, until: str | None) -> None:
        """The close of bar ``bars``: its crossings, then the broker's updates of fills before
        ``until`` (the next bar's time, None on a live feed), then its closes."""
        since = self.clock or pd.Timestamp(bars.ts).isoformat()
        self.cross(bars)
        for u in self._updates(since, until):
            self._route(u)
        self.mark(bars)

    def _updates(self, since: str, until: str | None) -> list[OrderUpdate]:
        """The stream's updates, then the fills at or after ``since`` it has not brought."""
        ups: list[OrderUpdate] = []
        later: list[OrderUpdate] = []
        for u in [*self._later, *self.venue.updates()]:
            due = u.fill is None or until is None or utc_time(u.fill.ts) < utc_time(until)
            (ups if due else later).append(u)
        self._later = later
        streamed = {u.fill.fill_id for u in ups + later if u.fill is not None}
        for f in self.venue.fills(since=since):
            if until is not None and utc_time(f.ts) >= utc_time(until):
                continue  # a later bar's fill: routed with that bar
            if f.fill_id not in streamed and f.fill_id not in self._seen:
                ups.append(self._fill_update(f))
        return ups

    def _fill_update(self, f: Fill) -> OrderUpdate:
        """An update carrying fill ``f`` read over REST, with the state it leaves its order in."""
        net = self._b.nets.get(f.client_id)
        if net is not None:
            done = net.filled + f.qty >= net.qty - 1e-9
        else:
            vo = self.venue.order(f.client_id)
            done = vo is not None and vo.state is OrderState.FILLED
        state = OrderState.FILLED if done else OrderState.PARTIALLY_FILLED
        return OrderUpdate(f.client_id, state, f.ts, fill=f)

    def _route(self, u: OrderUpdate) -> None:
        """As the simulated account routes, with each fill named by the strategy it is for."""
        f = u.fill
        if f is not None and u.client_id not in self._b.nets:
            owner = self._owner(u.client_id)
            if owner is not None and f.strategy != owner:
                u = replace(u, fill=replace(f, strategy=owner))
        super()._route(u)

    def _owner(self, client_id: str) -> str | None:
        owner = self._b.owner.get(client_id)
        if owner is None:
            vo = self.venue.order(client_id)  # a bracket's leg: its parent's strategy
            owner = self._b.owner.get(vo.parent_id) if vo is not None else None
            if owner is not None:
                self._b.owner[client_id] = owner
        return owner

    def _ours(self, f: Fill) -> bool:
        """Whether a strategy's order (or the desk's) made fill ``f``, not a trade by hand."""
        return f.client_id in self._b.nets or self._owner(f.client_id) is not None

    # ---- restart ---------------------------------------------------------------------------
    def remember(self, fill_ids: list[str]) -> None:
        """The broker's fills the ledger has (a net order's share is recorded as
        ``<broker fill id>/<order>``): a restart routes none of them again."""
        self._seen.update(fid.split("/", 1)[0] for fid in fill_ids)

    def catch_up(self, since: str | None, until: str) -> list[Difference]:
        """Route the broker's fills in ``[since, until)`` (what filled while the runtime was
        down, before the bar it resumes at) and resolve the net orders the broker no longer
        knows or ended without more to fill; returns what was found."""
        diffs: list[Difference] = []
        for f in self.venue.fills(since=since):
            if utc_time(f.ts) < utc_time(until) and f.fill_id not in self._seen and self._ours(f):
                self._route(self._fill_update(f))
        for cid, net in list(self._b.nets.items()):
            vo = self.venue.order(cid)
            if vo is None:
                u = OrderUpdate(cid, OrderState.CANCELLED, self.now, reason="unknown at venue")
                diffs.append(Difference("unknown_at_venue", "", cid, "net order marked cancelled"))
            elif vo.state.terminal and vo.filled_qty <= net.filled + 1e-9:
                u = OrderUpdate(cid, vo.state, self.now, vo.venue_id)
            else:
                continue  # fills to come: routed with the bars they filled in
            self._route(u)
        return diffs

    def reconcile(self, since: str | None, until: str) -> list[Difference]:
        """Make the strategies' attributed positions add up to the broker's: the broker's
        position, less every strategy's and less our fills at or after ``until`` (the cycles
        that redo those bars route them), is adopted by the first strategy of the symbol."""
        redo: dict[str, float] = {}
        for f in self.venue.fills(since=since):
            if utc_time(f.ts) >= utc_time(until) and f.fill_id not in self._seen and self._ours(f):
                redo[f.symbol] = redo.get(f.symbol, 0.0) + f.signed_qty
        at_broker = {p.symbol: p for p in self.venue.positions()}
        attributed: dict[str, float] = {}
        for pos in self._b.pos.values():
            for sym, (q, _avg) in pos.items():
                attributed[sym] = attributed.get(sym, 0.0) + q
        diffs = []
        for sym in sorted(set(at_broker) | set(attributed) | set(redo)):
            vp = at_broker.get(sym)
            held = attributed.get(sym, 0.0) + redo.get(sym, 0.0)
            gap = (vp.qty if vp is not None else 0.0) - held
            if abs(gap) <= 1e-9:
                continue
            who = next((s for s, syms in self.symbols.items() if sym in syms), None)
            if who is None:
                diffs.append(Difference("position_not_traded", sym, "",
                                        f"broker {gap:+g} left alone: no strategy trades it"))  # fmt: skip
                continue
            px = vp.avg_price if vp is not None else self.last.get(sym, 0.0)
            q0, avg = self._b.pos[who].get(sym, [0.0, 0.0])
            self._b.pos[who][sym] = list(position_after(q0, avg, gap, px))
            diffs.append(Difference("position_attributed", sym, "",
                                    f"broker {gap:+g} @ {px:.4f} to strategy {who}"))  # fmt: skip
        return diffs
