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
each fill no order of the runtime made (a trade by hand; on a first start, every fill of the
account, as one strategy adopts them alone) is shared out as fills of the strategies. What
reduces the account's position comes off the strategies that hold the symbol; the rest goes to
the first strategy that trades it. Each strategy's node then books and records its share, so
the ledger's positions add up to the broker's.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pandas as pd

from alphaforge.core.orders import Fill, OrderState, OrderType, OrderUpdate, Side
from alphaforge.core.panel import utc_time
from alphaforge.engine.netting import NettingDesk, SleeveVenue
from alphaforge.engine.reconcile import Difference, made_by_runtime
from alphaforge.ports import BarSet, VenueOrder


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
        # a restart found orders at the broker that the cycle it redoes sent before it was
        # lost: that cycle is redone as it ran, even when its bar is caught up
        self.lost_cycle = False
        self.unplaced: list[Fill] = []  # fills no strategy's order made, for the account to report
        self._reported: set[str] = set()
        # the strategies' working orders sent with a bracket, client id -> strategy (the
        # account's nodes, after a restart restored them): a restart learns their legs
        self.brackets: Callable[[], dict[str, str]] = dict

    def view(self, strategy: str) -> BrokerSleeve:
        return BrokerSleeve(self, strategy)

    # ---- the cycle -------------------------------------------------------------------------
    def flush(self, bar: str, only_known: bool = False) -> None:
        """As :meth:`NettingDesk.flush`, with the market orders (net orders, bracketed market
        entries) sent before the limit / stop entries, as one strategy's node sends its exits
        before its entries: a broker that fills in the order it took orders (the stand-in) fills
        an exit at the open before a reversing entry it triggers in the same bar."""
        b = self._unnetted
        later = [c for c in self._held if c in b and b[c].type is not OrderType.MARKET]
        if not later:
            super().flush(bar, only_known)
            return
        self._held = [c for c in self._held if c not in later]
        super().flush(bar, only_known)
        self._held = later
        super().flush(bar, only_known)

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
        # a net order fills at the open, before any limit / stop entry or leg of the bar (the
        # stream and the REST fills may bring them in another order)
        ups.sort(key=lambda u: u.client_id not in self._b.nets)
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
        """As the simulated account routes, with each fill named by the strategy it is for; a
        fill no strategy's order made is not booked but reported (:meth:`_unplaced`)."""
        f = u.fill
        if f is not None and u.client_id not in self._b.nets:
            owner = self._owner(u.client_id)
            if owner is None:
                self._unplaced(f)
                return
            if f.strategy != owner:
                u = replace(u, fill=replace(f, strategy=owner))
        super()._route(u)

    def _unplaced(self, f: Fill) -> None:
        """Fill ``f`` of an order no strategy owns (an order of the runtime the desk does not
        know, a trade by hand while the run goes on): put in :attr:`unplaced` once, for the
        account to log and record, and left unseen, so the next reconciliation books it
        (:meth:`reconcile`: shared out as a trade by hand, or adopted with the position the
        broker holds for an order of the runtime)."""
        if f.fill_id not in self._reported:
            self._reported.add(f.fill_id)
            self.unplaced.append(f)

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
        self._learn_legs()
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

    def _learn_legs(self) -> None:
        """Own the legs of the strategies' working bracketed orders (:attr:`brackets`), in
        whatever state they are now: the broker activated them while the runtime was down
        (their news never came) and may have filled or ended them since, and a new process's
        adapter no longer knows a finished leg's parent. Their fills are then the strategy's,
        not trades made by hand."""
        legs_of = getattr(self.venue, "legs", None)
        if legs_of is None:
            return
        for cid, who in self.brackets().items():
            for leg in legs_of(cid):
                self._b.owner.setdefault(leg.client_id, who)

    def reconcile(self, since: str | None, until: str, at: str) -> list[Difference]:
        """Make the strategies' attributed positions add up to the broker's.

        The broker's fills since ``since`` that no order of the runtime made (trades by hand;
        every fill, on a first start) are shared out as fills (:meth:`_adopt`), so each
        strategy books and records them at the broker's price and time. What the fills do not
        explain (the broker's position, less every strategy's and less our fills at or after
        ``until``, which the cycles that redo those bars route) is adopted as one fill at
        ``at``, the time of the last bar before the run resumes, at the broker's average
        price. Orders of the runtime the broker has and the desk does not know were sent by
        the cycle the restart redoes before it was recorded: :attr:`lost_cycle`."""
        redo: dict[str, float] = {}
        diffs: list[Difference] = []
        lost = False
        for f in self.venue.fills(since=since):
            if f.fill_id in self._seen:
                continue
            if self._ours(f) or made_by_runtime(f.client_id):
                if utc_time(f.ts) >= utc_time(until):
                    redo[f.symbol] = redo.get(f.symbol, 0.0) + f.signed_qty
                    lost = lost or not self._ours(f)
            elif any(f.symbol in syms for syms in self.symbols.values()):
                diffs.append(self._adopt(f, "by hand"))
        b = self._b
        self.lost_cycle = since is not None and (lost or any(
            made_by_runtime(o.client_id) and o.client_id not in b.nets
            and o.client_id not in b.owner and o.parent_id not in b.owner
            for o in self.venue.open_orders()
        ))  # fmt: skip
        at_broker = {p.symbol: p for p in self.venue.positions()}
        attributed: dict[str, float] = {}
        for pos in self._b.pos.values():
            for sym, (q, _avg) in pos.items():
                attributed[sym] = attributed.get(sym, 0.0) + q
        for sym in sorted(set(at_broker) | set(attributed) | set(redo)):
            vp = at_broker.get(sym)
            held = attributed.get(sym, 0.0) + redo.get(sym, 0.0)
            gap = (vp.qty if vp is not None else 0.0) - held
            if abs(gap) <= 1e-9:
                continue
            if not any(sym in syms for syms in self.symbols.values()):
                if since is None:  # reported when the run starts, not the run's to resolve
                    diffs.append(Difference("position_not_traded", sym, "",
                                            f"broker {gap:+g} left alone: no strategy trades it"))  # fmt: skip
                continue
            px = vp.avg_price if vp is not None else self.last.get(sym, 0.0)
            side = Side.BUY if gap > 0 else Side.SELL
            f = Fill(f"adopt:{sym}:{at}", f"adopt:{sym}", sym, side, abs(gap), px, 0.0, at)
            diffs.append(self._adopt(f, "not explained by its fills"))
        return diffs

    def _adopt(self, f: Fill, why: str) -> Difference:
        """Share fill ``f``, which no order of the runtime made, among the strategies of its
        symbol: what reduces the account's position comes off the strategies holding it on
        the other side, in the account's order, as far as each holds; the rest goes to the
        first strategy that trades the symbol. Each share is a fill ``<fill id>/<strategy>``
        of that strategy, booked by its node's reconciliation."""
        self._seen.add(f.fill_id)
        left, shares = f.signed_qty, {}
        for who in self.symbols:
            held = self._b.pos[who].get(f.symbol, [0.0, 0.0])[0]
            if held * left < 0:
                take = math.copysign(min(abs(held), abs(left)), left)
                shares[who], left = take, left - take
        if abs(left) > 1e-9:
            first = next(s for s, syms in self.symbols.items() if f.symbol in syms)
            shares[first] = shares.get(first, 0.0) + left
        parts = []
        for who, q in shares.items():
            side = Side.BUY if q > 0 else Side.SELL
            self._book(who, replace(f, fill_id=f"{f.fill_id}/{who}", side=side, qty=abs(q),
                                    fee=f.fee * abs(q) / f.qty, strategy=who))  # fmt: skip
            parts.append(f"{q:+g} to strategy {who}")
        detail = f"broker {f.side.value} {f.qty:g} @ {f.price:.4f} {why}: {', '.join(parts)}"
        return Difference("position_attributed", f.symbol, f.client_id, detail)


class BrokerSleeve(SleeveVenue):
    """One strategy's view of the broker through a :class:`BrokerDesk`: a
    :class:`~alphaforge.engine.netting.SleeveVenue` that also finds the legs of the strategy's
    bracketed orders in any state (a restart with a limit / stop entry working knows its legs
    as the strategy's own, as :class:`~alphaforge.engine.live_node.LiveNode` does alone)."""

    desk: BrokerDesk

    def legs(self, client_id: str) -> list[VenueOrder]:
        if self.desk.order(self.strategy, client_id) is None:
            return []
        legs: list[VenueOrder] = self.desk.venue.legs(client_id)
        for leg in legs:  # the strategy's, whatever the adapter still knows of its parent
            self.desk._b.owner.setdefault(leg.client_id, self.strategy)
        return legs

    def fills_ahead(self, since: str | None = None) -> list[Fill]:
        """The broker's fills since ``since`` of this strategy's own orders (its limit / stop
        and bracketed entries, their legs, its protective orders), routed or not: after a
        restart, the fills the bars still to run will book (a net order's fills are shared out
        by the desk as it routes them, so they are not among them)."""
        desk, out = self.desk, []
        for f in desk.venue.fills(since=since):
            if f.client_id not in desk._b.nets and desk._owner(f.client_id) == self.strategy:
                out.append(replace(f, strategy=self.strategy))
        return out
