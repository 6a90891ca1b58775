"""Several strategies on one account: their market orders netted per symbol before the venue.

Each strategy of an account runs its own trading node on its own book (its allocation of the
cash) and talks to a :class:`~alphaforge.engine.sleeve_venue.SleeveVenue`, its view of the one
venue the account has. The :class:`NettingDesk` behind those views:

* **holds** every market order (entries, exits, rebalances, flattens) a node sends at an
  open (submitted: an account limit may still refuse it); an entry with a bracket is held too
  and then sent as it is;
* **nets** them per symbol when every node's open is done (:meth:`NettingDesk.flush`): buys and
  sells of the same symbol cross inside the account, and only the difference goes to the venue,
  as one order per symbol with a deterministic client id (``<run>/_net``, symbol, bar);
* **crosses** the matched part at the bar's open, the reference price before any slippage,
  without commission (no trade reaches the market; a transfer between the strategies' books
  that leaves the account's P&L unchanged whatever its price); the part the venue fills is
  shared among the orders on the net side in proportion to what each still wants, at the
  venue's price, fee and slippage; a net order the venue rejects ends the orders on its side
  with the venue's reason (rejected, or cancelled for one whose crossed part fills);
* **routes** everything else by client id: protective orders go to the venue at once,
  bracketed and limit / stop entries (never netted) at the flush, each unchanged under its
  strategy's client id, and their updates back to the strategy that sent them;
* keeps each strategy's **attributed** positions and recent fills, what reconciliation asks a
  venue for, so the positions of all strategies add up to the venue's.

The netted orders the venue saw are recorded under the strategy ``_net`` (their state changes
only; the fills are booked once, on the strategies' own orders).
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import pandas as pd

from alphaforge.core.errors import OrderRejectedError
from alphaforge.core.orders import (
    Fill,
    Intent,
    OrderRequest,
    OrderState,
    OrderType,
    OrderUpdate,
    Side,
    TimeInForce,
    client_order_id,
    position_after,
    request_dict,
    request_of,
)
from alphaforge.core.recent import RecentIds
from alphaforge.engine.sleeve_venue import SleeveVenue
from alphaforge.ports import BarSet, VenueOrder, VenuePosition

NET = "_net"  # the strategy name of the orders the desk sends
_KEEP_FILLS = 10_000  # recent attributed fills kept per strategy (a broker's recent history)


@dataclass
class _Child:
    """A strategy's netted market order."""

    sleeve: str
    req: dict[str, Any]  # request_dict of the order
    left: float  # quantity still to fill
    filled: float = 0.0
    avg: float = 0.0
    net: str = ""  # the venue order that fills its share, if any
    cross: float = 0.0  # quantity crossing inside the account at the next open
    end: list[str] = field(default_factory=list)  # its net order's end (state, reason) when
    # that order ended unfilled before the crossing: reported after the crossing


@dataclass
class _Net:
    """A netted order at the venue: the children it fills, its quantity and what filled."""

    kids: list[str]
    qty: float = 0.0
    filled: float = 0.0


@dataclass
class _Book:
    """What the desk keeps across bars (its snapshot)."""

    children: dict[str, _Child] = field(default_factory=dict)
    nets: dict[str, _Net] = field(default_factory=dict)  # venue client id -> its net order
    owner: dict[str, str] = field(default_factory=dict)  # passed-through client id -> strategy
    pos: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # qty, avg price


class NettingDesk:
    """Nets the market orders of an account's strategies (see the module docstring)."""

    def __init__(self, venue: Any, run_id: str, strategies: list[str]) -> None:
        self.venue = venue
        self._key = f"{run_id}/{NET}"
        self._b = _Book(pos={s: {} for s in strategies})
        self._held: list[str] = []  # orders waiting for the flush, in arrival order
        # held orders sent as they are, never netted: bracketed entries, limit / stop entries
        self._unnetted: dict[str, OrderRequest] = {}
        self._queues: dict[str, list[OrderUpdate]] = {s: [] for s in strategies}
        self._fills: dict[str, deque[Fill]] = {s: deque(maxlen=_KEEP_FILLS) for s in strategies}
        self.sent: list[OrderRequest] = []  # net orders sent since the last records()
        self.events: list[OrderUpdate] = []  # their state changes (to record)
        self.last: dict[str, float] = {}  # last close of each symbol
        self.clock = ""  # the time of the last bar seen (a venue without a clock of its own)
        self._seen = RecentIds()  # fill ids routed (a venue's stream may repeat one)

    @property
    def now(self) -> str:
        return str(getattr(self.venue, "now", "") or self.clock)

    def records(self) -> tuple[list[OrderRequest], list[OrderUpdate]]:
        """The net orders sent and their state changes since the last call (to record)."""
        out = (self.sent, self.events)
        self.sent, self.events = [], []
        return out

    def view(self, strategy: str) -> SleeveVenue:
        return SleeveVenue(self, strategy)

    # ---- orders from the strategies ------------------------------------------------------
    def submit(self, strategy: str, req: OrderRequest) -> OrderUpdate:
        now = self.now
        known = self._b.children.get(req.client_id)
        if known is not None:  # held orders stay submitted: the account may still refuse them
            return OrderUpdate(req.client_id, OrderState.SUBMITTED, now, known.net)
        if req.client_id in self._unnetted:
            return OrderUpdate(req.client_id, OrderState.SUBMITTED, now)
        netted = req.type is OrderType.MARKET and req.intent is not Intent.STOP
        if not netted and req.intent is not Intent.ENTRY:
            self._b.owner[req.client_id] = strategy
            return self._submit(req)  # protection: the venue's own, at once
        if not netted or req.stop_loss is not None or req.take_profit is not None:
            self._b.owner[req.client_id] = strategy  # a bracketed or limit / stop entry:
            self._unnetted[req.client_id] = req  # held for the account's limits, sent as it is
            self._held.append(req.client_id)
            return OrderUpdate(req.client_id, OrderState.SUBMITTED, now)
        self._b.children[req.client_id] = _Child(strategy, request_dict(req), req.qty)
        self._held.append(req.client_id)
        return OrderUpdate(req.client_id, OrderState.SUBMITTED, now)

    def held(self) -> list[OrderRequest]:
        """The orders waiting for :meth:`flush` (market orders, and limit / stop entries),
        in arrival order."""
        b = self._unnetted
        return [b[c] if c in b else request_of(self._b.children[c].req) for c in self._held]

    def refuse(self, client_id: str, reason: str) -> None:
        """Reject a held order (an account limit): the strategy gets the rejection."""
        if client_id in self._unnetted:
            del self._unnetted[client_id]
            who = self._b.owner.pop(client_id)
            getattr(self.venue, "order_atr", {}).pop(client_id, None)  # never sent
        else:
            who = self._b.children.pop(client_id).sleeve
        self._held.remove(client_id)
        u = OrderUpdate(client_id, OrderState.REJECTED, self.now, reason=reason)
        self._queues[who].append(u)

    def flush(self, bar: str, only_known: bool = False) -> None:
        """Send the held bracketed entries as they are; net the other held orders per symbol
        and send each symbol's difference to the venue. ``only_known``: send only what the
        venue already has (a lost cycle redone after a restart sent it in time); the rest is
        not sent late, its orders end cancelled as stale (what crosses still crosses)."""
        by_symbol: dict[str, list[str]] = {}
        for cid in self._held:
            if cid in self._unnetted:
                req = self._unnetted.pop(cid)
                sent = not only_known or self.venue.order(cid) is not None
                self._queues[self._b.owner[cid]].append(
                    self._submit(req) if sent else self._stale(cid)
                )
                continue
            by_symbol.setdefault(self._b.children[cid].req["symbol"], []).append(cid)
        self._held = []
        for k, (sym, all_ids) in enumerate(by_symbol.items()):
            ids = self._not_through_zero(sym, all_ids)
            kids = [self._b.children[c] for c in ids]
            buys = sum(ch.left for ch in kids if ch.req["side"] == "buy")
            sells = sum(ch.left for ch in kids if ch.req["side"] != "buy")
            crossed = min(buys, sells)
            for ch in kids:
                side_total = buys if ch.req["side"] == "buy" else sells
                ch.cross = crossed * ch.left / side_total if side_total > 0 else 0.0
            net = buys - sells
            if abs(net) <= 1e-12:
                continue
            req = OrderRequest(
                client_id=client_order_id(self._key, sym, bar, Intent.REBALANCE, k),
                strategy=NET, symbol=sym, side=Side.BUY if net > 0 else Side.SELL, qty=abs(net),
                intent=Intent.REBALANCE, type=OrderType.MARKET, tif=TimeInForce.DAY, bar=bar,
                reason="netted: " + ", ".join(sorted({ch.sleeve for ch in kids})),
            )  # fmt: skip
            side = req.side.value
            mine = [c for c in ids if self._b.children[c].req["side"] == side]
            if only_known and self.venue.order(req.client_id) is None:
                for c in mine:
                    self._net_ended(c, self._stale(req.client_id))
                continue
            self._b.nets[req.client_id] = _Net(mine, req.qty)
            for c in mine:
                self._b.children[c].net = req.client_id
            self.sent.append(req)
            self._sent(self._submit(req))

    def _not_through_zero(self, sym: str, ids: list[str]) -> list[str]:
        """``ids`` without the entries that would make the symbol's net order take the
        account's position through zero on a venue that refuses that (Alpaca: a reversal is
        two orders), or ask for more shares than the other strategies' protective orders leave
        free. Such entries are left out, the latest first, until the net order at most closes
        what is free of the position; each is rejected to its strategy with the reason. The
        exits stay, as for one strategy, whose exit is sent and whose reversing entry is
        refused: netted with the entry into one order, the exit would be refused with it."""
        caps = getattr(self.venue, "capabilities", None)
        if getattr(caps, "through_zero", True):
            return ids
        held = sum(p.get(sym, [0.0])[0] for p in self._b.pos.values())
        keep = list(ids)
        room: float | None = None  # what of the position other orders leave free (read once)
        while abs(held) > 1e-12:
            kids = [self._b.children[c] for c in keep]
            net = sum(ch.left if ch.req["side"] == "buy" else -ch.left for ch in kids)
            if held * net >= 0.0:
                break  # the net order adds to the position: nothing to check at the venue
            if room is None:
                room = abs(held) - self._held_for_orders(sym, "sell" if held > 0 else "buy")
            if abs(net) <= room + 1e-9:
                break
            side = "buy" if net > 0 else "sell"
            entries = [c for c in keep if self._b.children[c].req["side"] == side
                       and self._b.children[c].req["intent"] == Intent.ENTRY.value]  # fmt: skip
            if not entries:
                break
            keep.remove(entries[-1])
            ch = self._b.children.pop(entries[-1])
            reason = (
                f"not sent: netted with the account's other orders it would {side} more of "
                f"{sym} than the account's position of {held:g} has free ({max(room, 0.0):g}; "
                f"the rest is held for protective orders), which "
                f"{getattr(self.venue, 'name', 'the venue')} refuses: no order takes a position "
                "through zero, a reversal is two orders"
            )
            self._queues[ch.sleeve].append(
                OrderUpdate(entries[-1], OrderState.REJECTED, self.now, reason=reason)
            )
        return keep

    def _held_for_orders(self, sym: str, side: str) -> float:
        """Shares of ``sym`` the venue's open ``side`` orders hold against the position (the
        other strategies' protection): an order and its legs, or the two legs of an OCO, hold
        one quantity between them."""
        per_group: dict[str, float] = {}
        for o in self.venue.open_orders():
            if o.symbol == sym and o.side.value == side:
                group = o.parent_id or o.client_id
                per_group[group] = max(per_group.get(group, 0.0), o.qty - o.filled_qty)
        return sum(per_group.values())

    def _stale(self, client_id: str) -> OrderUpdate:
        reason = "stale: decided at a bar caught up after a restart, not sent late"
        return OrderUpdate(client_id, OrderState.CANCELLED, self.now, reason=reason)

    def _submit(self, req: OrderRequest) -> OrderUpdate:
        """Send ``req`` to the venue; a rejection is its answer, with the venue's reason, as the
        order manager has it for one strategy, not an exception. An order the venue has filled
        already (sent by a cycle lost before it was recorded, sent again by the restart: the
        venue answers with the order it has) is acknowledged as accepted: its fills come with
        the bar they filled in and are booked there."""
        try:
            u = self.venue.submit(req)
        except OrderRejectedError as exc:
            return OrderUpdate(req.client_id, OrderState.REJECTED, self.now, reason=str(exc))
        if u.fill is None and u.state in (OrderState.FILLED, OrderState.PARTIALLY_FILLED):
            return replace(u, state=OrderState.ACCEPTED)
        return u

    def _sent(self, u: OrderUpdate) -> None:
        """The venue's answer to a net order (its later updates come with a bar): a rejection
        ends it at once, and with it what each order on its side does not cross."""
        if u.state is OrderState.REJECTED:
            self._net_update(u)
            return
        self.events.append(u)

    # ---- the bar ---------------------------------------------------------------------------
    def on_bar(self, bars: BarSet) -> None:
        """The venue sees the bar; the crossings fill at its open; every update goes to the
        strategy it belongs to."""
        self.venue.on_bar(bars)
        self.cross(bars)
        for u in self.venue.updates():
            self._route(u)
        self.mark(bars)

    def cross(self, bars: BarSet) -> None:
        """The crossings held for this bar fill at its open."""
        ts = pd.Timestamp(bars.ts).isoformat()
        self.clock = ts
        opens = dict(zip(bars.symbols, bars.open, strict=True))
        for cid, ch in list(self._b.children.items()):
            o = opens.get(ch.req["symbol"], float("nan"))
            if ch.cross > 0 and o == o:
                fill = self._child_fill(cid, ch, ch.cross, float(o), 0.0, 0.0, f"x:{ts}:{cid}", ts)
                ch.cross = 0.0
                self._emit(cid, ch, fill, ts)

    def mark(self, bars: BarSet) -> None:
        """The bar's closes (the prices an account limit values orders at)."""
        self._prune_owners()
        for s, c in zip(bars.symbols, bars.close, strict=True):
            if c == c:
                self.last[s] = float(c)

    def _route(self, u: OrderUpdate) -> None:
        if u.fill is not None:
            fid = u.fill.fill_id
            if fid in self._seen:  # delivered twice: its state change only
                u = OrderUpdate(u.client_id, u.state, u.ts, u.venue_id, None, u.reason)
            else:
                self._seen.add(fid)
        if u.client_id in self._b.nets:
            self._net_update(u)
            return
        owner = self._b.owner.get(u.client_id)
        if owner is None:
            vo = self.venue.order(u.client_id)  # a bracket's leg: its parent's strategy
            owner = self._b.owner.get(vo.parent_id) if vo is not None else None
            if owner is None:
                return
            self._b.owner[u.client_id] = owner
        if u.fill is not None:
            self._book(owner, u.fill)
        self._queues[owner].append(u)

    def _prune_owners(self) -> None:
        """Forget the owners of finished orders, but a bracket's parent while a leg works (the
        legs are found by their parent): the map stays as small as the open orders."""
        b = self._b
        if len(b.owner) < 1024:
            return
        working = self.venue.open_orders()
        live = {o.client_id for o in working} | {o.parent_id for o in working if o.parent_id}
        b.owner = {c: s for c, s in b.owner.items() if c in live}

    def _net_update(self, u: OrderUpdate) -> None:
        self.events.append(OrderUpdate(u.client_id, u.state, u.ts, u.venue_id, None, u.reason))
        net = self._b.nets[u.client_id]
        kids = [c for c in net.kids if c in self._b.children]
        f = u.fill
        if f is not None:
            net.filled += f.qty
            want = sum(self._b.children[c].left - self._b.children[c].cross for c in kids)
            for c in kids:
                ch = self._b.children[c]
                share = f.qty * (ch.left - ch.cross) / want if want > 0 else 0.0
                if share <= 0.0:
                    continue
                fee = f.fee * share / f.qty
                fill = self._child_fill(c, ch, share, f.price, fee, f.slippage,
                                        f"{f.fill_id}/{c}", f.ts)  # fmt: skip
                self._emit(c, ch, fill, f.ts)
        if u.state.terminal:
            for c in kids:
                self._net_ended(c, u)
            del self._b.nets[u.client_id]

    def _net_ended(self, cid: str, u: OrderUpdate) -> None:
        """Child ``cid``'s net order ended (``u``): what it did not fill ends with it, but a
        crossing still to come fills first (a venue that answers before the bar). A child that
        fills in part and whose rest the venue rejected ends cancelled, with the venue's reason
        (a rejected order has filled nothing)."""
        ch = self._b.children.get(cid)
        if ch is None:
            return
        unfilled = ch.left - ch.cross > 1e-12 and u.state is not OrderState.FILLED
        state, reason = u.state, u.reason
        if state is OrderState.REJECTED and (ch.cross > 1e-12 or ch.filled > 0.0):
            state, reason = OrderState.CANCELLED, f"the venue rejected the rest: {u.reason}"
        if ch.cross > 1e-12:
            ch.net, ch.left = "", ch.cross
            ch.end = [state.value, reason] if unfilled else []
            return
        del self._b.children[cid]
        if unfilled:
            self._queues[ch.sleeve].append(OrderUpdate(cid, state, u.ts, reason=reason))

    def _child_fill(
        self, cid: str, ch: _Child, qty: float, px: float, fee: float, slip: float, fid: str,
        ts: str,
    ) -> Fill:  # fmt: skip
        ch.avg = (ch.avg * ch.filled + px * qty) / (ch.filled + qty)
        ch.filled += qty
        ch.left = max(ch.left - qty, 0.0)
        side = Side(ch.req["side"])
        fill = Fill(fid, cid, ch.req["symbol"], side, qty, px, fee, ts, slip, ch.sleeve)
        self._book(ch.sleeve, fill)
        return fill

    def _emit(self, cid: str, ch: _Child, fill: Fill, ts: str) -> None:
        done = ch.left <= 1e-9 * max(1.0, ch.filled)
        state = OrderState.FILLED if done and not ch.end else OrderState.PARTIALLY_FILLED
        self._queues[ch.sleeve].append(OrderUpdate(cid, state, ts, ch.net, fill))
        if done and ch.cross <= 0.0:
            self._b.children.pop(cid, None)
            if ch.end:
                end = OrderUpdate(cid, OrderState(ch.end[0]), ts, reason=ch.end[1])
                self._queues[ch.sleeve].append(end)

    def _book(self, strategy: str, f: Fill) -> None:
        """The strategy's attributed position after fill ``f`` (average price of the open
        side, as a broker reports it)."""
        self._fills[strategy].append(f)
        q0, avg = self._b.pos[strategy].get(f.symbol, [0.0, 0.0])
        q1, avg = position_after(q0, avg, f.signed_qty, f.price)
        self._b.pos[strategy][f.symbol] = [q1, avg]

    # ---- a strategy's view -----------------------------------------------------------------
    def updates(self, strategy: str) -> list[OrderUpdate]:
        out, self._queues[strategy] = self._queues[strategy], []
        return out

    def order(self, strategy: str, client_id: str) -> VenueOrder | None:
        ch = self._b.children.get(client_id)
        if ch is not None and ch.sleeve == strategy:
            return self._child_view(client_id, ch)
        vo = self.venue.order(client_id)
        if vo is None:
            return None
        who = self._b.owner.get(client_id) or self._b.owner.get(vo.parent_id)
        return vo if who == strategy else None

    def open_orders(self, strategy: str) -> list[VenueOrder]:
        out = [
            self._child_view(c, ch) for c, ch in self._b.children.items() if ch.sleeve == strategy
        ]
        for o in self.venue.open_orders():
            who = self._b.owner.get(o.client_id) or self._b.owner.get(o.parent_id)
            if who == strategy:
                out.append(o)
        return out

    def _child_view(self, cid: str, ch: _Child) -> VenueOrder:
        r = ch.req
        state = OrderState.PARTIALLY_FILLED if ch.filled > 0 else OrderState.ACCEPTED
        return VenueOrder(cid, ch.net, r["symbol"], Side(r["side"]), float(r["qty"]),
                          OrderType.MARKET, state, ch.filled, ch.avg)  # fmt: skip

    def positions(self, strategy: str) -> list[VenuePosition]:
        return [VenuePosition(s, q, a) for s, (q, a) in self._b.pos[strategy].items() if q != 0.0]

    def fills(self, strategy: str, since: str | None) -> list[Fill]:
        return [f for f in self._fills[strategy] if since is None or f.ts >= since]

    def cancel(self, strategy: str, client_id: str) -> OrderUpdate | None:
        if client_id in self._unnetted and self._b.owner.get(client_id) == strategy:
            del self._unnetted[client_id]
            self._held.remove(client_id)
            return OrderUpdate(client_id, OrderState.CANCELLED, self.now)
        ch = self._b.children.get(client_id)
        if ch is None:  # the venue's, if it is this strategy's (a bracket's leg included)
            mine = self.order(strategy, client_id) is not None
            return self.venue.cancel(client_id) if mine else None
        if client_id not in self._held:
            return None  # netted and sent: it fills at the open with the others
        self._held.remove(client_id)
        del self._b.children[client_id]
        return OrderUpdate(client_id, OrderState.CANCELLED, self.now)

    # ---- restart ---------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The desk's book and the venue's, written with the account's cycles."""
        b = self._b
        snap = {
            "children": {c: asdict(ch) for c, ch in b.children.items()},
            "nets": {c: asdict(n) for c, n in b.nets.items()}, "owner": b.owner, "pos": b.pos,
            "last": self.last, "clock": self.clock,
        }  # fmt: skip
        if hasattr(self.venue, "snapshot"):  # a simulated venue's book lives in the ledger
            snap["venue"] = self.venue.snapshot()
        return snap

    def restore(self, snap: dict[str, Any]) -> None:
        nets = {c: _Net(n) if isinstance(n, list) else _Net(**n) for c, n in snap["nets"].items()}
        self._b = _Book(
            {c: _Child(**ch) for c, ch in snap["children"].items()}, nets,
            dict(snap["owner"]), {s: dict(p) for s, p in snap["pos"].items()},
        )  # fmt: skip
        self.last = dict(snap["last"])
        self.clock = str(snap.get("clock", ""))
        if "venue" in snap:
            self.venue.restore(snap["venue"])
