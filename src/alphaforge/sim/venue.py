"""The simulated venue: fills the runtime's orders against a live or replayed feed with the
vectorized engine's fill rules.

* A market order rests until the next bar it sees and fills at that bar's open, at most the
  volume participation cap of that bar (the rest keeps working at the following opens).
* A protective exit (a stop with an optional take-profit, one cancels the other) held for a
  position fills where the engine's intrabar phase would: a gap through a level at the open,
  otherwise at the level; when both levels are inside one bar the ambiguity policy decides
  (:func:`~alphaforge.sim.stepper.touch`, i.e. the engine's ``level_touch_nb``).
* A limit / stop / stop-limit entry fills inside the bar's range where the engine's intrabar
  entry step would (:func:`~alphaforge.sim.kernels_rules.trigger_price_nb`), after the market
  orders of the open and before the protective pairs, without the participation cap; it
  works until it fills or is cancelled, or expired by the runtime (:meth:`expire`: a day
  entry at the close of its bar, as the backtest expires it).
* An entry carrying ``stop_loss`` / ``take_profit`` is a bracket: the pair becomes active once
  the entry has filled, inside the same bar. After a limit / stop entry the rest of that bar
  starts at its fill price, and the target waits for the next bar (the engine's rule for a
  position entered inside a bar).
* Slippage, commission and the participation cap are the rules of
  :mod:`alphaforge.sim.kernels_rules`, read from the run's settings record; the ATR that
  slippage may scale with is the one known before the bar (``reference_atr``).

The venue keeps its own account (cash, positions): the broker's truth that the runtime
reconciles against. Submitting a client order id it already knows returns that order's state.

**History.** Like a broker, the venue answers for its recent past, not for all of it: besides
its working orders it keeps the last ``history`` finished orders (:data:`HISTORY`, 1,000 by
default) and the last ``history`` fills, and never drops those of the bar it last matched or
marked, however many they are. That is what the runtime asks of it: a late look-up of an order
by client id (a lost response, a protective leg filled in its entry's bar), ``fills(since=...)``
since the last committed bar, and a repeated submit of a known client id, which returns the
existing order's state. Older orders and fills are the ledger's, so a long run's memory stays
flat. :meth:`SimulatedVenue.snapshot` holds the account and the working orders only.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
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
    position_after,
    request_dict,
    request_of,
)
from alphaforge.ports import BarSet, VenueAccount, VenueCapabilities, VenueOrder, VenuePosition
from alphaforge.sim import codes as C
from alphaforge.sim.kernels_rules import (
    commission_nb,
    participation_nb,
    slippage_nb,
    trigger_price_nb,
)
from alphaforge.sim.stepper import touch

HISTORY = 1_000  # finished orders and fills the venue keeps (see the module docstring)


@dataclass
class _Working:
    """An order the venue holds."""

    req: OrderRequest
    state: OrderState
    venue_id: str
    filled: float = 0.0
    avg: float = 0.0
    parent: str = ""  # bracket leg: the parent's client id (active once the parent filled)
    active: bool = True
    fills: int = 0
    entered: float | None = None  # bracket leg of a limit / stop entry filled in this bar at


@dataclass
class _Account:
    cash: float
    qty: dict[str, float] = field(default_factory=dict)
    avg: dict[str, float] = field(default_factory=dict)
    last: dict[str, float] = field(default_factory=dict)


class SimulatedVenue:
    """An :class:`~alphaforge.ports.ExecutionVenue` and :class:`~alphaforge.ports.ReplayVenue`
    that fills with the vectorized engine's rules (see the module docstring)."""

    name = "simulated"
    synchronous = True  # every update of a bar is out when on_bar returns
    capabilities = VenueCapabilities(brackets=True, fractional=True, shorting=True, replay=True)

    def __init__(
        self, settings: np.void, cash: float, history: int | None = None, shared: bool = False
    ) -> None:
        self.s = settings
        # an account's strategies share the venue: its position is their net, and a strategy's
        # protective order closes that strategy's position whatever the others hold
        self.shared = shared
        self.history = HISTORY if history is None else history
        self._acct = _Account(cash=float(cash))
        self._orders: dict[str, _Working] = {}  # orders by client id, until they finish
        self._working: dict[str, _Working] = {}  # those not yet in a terminal state
        # recent history (see the module docstring): finished orders by client id with the
        # bar they finished in, those bars and ids oldest first, and the fills with their bar
        self._done: dict[str, tuple[int, _Working]] = {}  # (a finished order is not changed)
        self._finished: deque[tuple[int, str]] = deque()
        self._fills: deque[tuple[int, Fill]] = deque()
        self._bar = 0  # bars matched or marked so far
        self._seq = 0
        self._updates: list[OrderUpdate] = []
        self._cols_of: Sequence[str] | None = None  # the symbols of the last bar, and their
        self._cols: dict[str, int] = {}  # columns
        self.now = ""
        self.reference_atr: dict[str, float] = {}
        self.order_atr: dict[str, float] = {}  # an entry's own ATR (that of its signal bar)

    # ---- port ---------------------------------------------------------------------------
    def connect(self) -> None:
        return None

    def close(self) -> None:
        return None

    def submit(self, request: OrderRequest) -> OrderUpdate:
        known = self.order(request.client_id)
        if known is not None:
            return OrderUpdate(request.client_id, known.state, self.now, known.venue_id)
        if request.intent is not Intent.ENTRY and request.type is OrderType.STOP_LIMIT:
            raise OrderRejectedError(
                f"simulated venue: {request.type} orders are entries only (order "
                f"{request.client_id})"
            )
        self._seq += 1
        w = _Working(request, OrderState.NEW, f"sim-{self._seq}")
        self._orders[request.client_id] = w
        self._working[request.client_id] = w
        if request.intent is not Intent.STOP and (request.stop_loss or request.take_profit):
            self._add_bracket(request)
        self._emit(w, OrderState.SUBMITTED)
        return self._emit(w, OrderState.ACCEPTED)

    def _add_bracket(self, parent: OrderRequest) -> None:
        """The protective pair of a bracket entry, active once the entry fills."""
        leg = OrderRequest(
            client_id=f"{parent.client_id}-p",
            strategy=parent.strategy,
            symbol=parent.symbol,
            side=Side.SELL if parent.side is Side.BUY else Side.BUY,
            qty=parent.qty,
            intent=Intent.STOP,
            type=OrderType.STOP,
            stop=parent.stop_loss if parent.stop_loss is not None else float("nan"),
            take_profit=parent.take_profit,
            bar=parent.bar,
            reason=parent.reason,
        )
        self._seq += 1
        w = _Working(
            leg, OrderState.ACCEPTED, f"sim-{self._seq}", parent=parent.client_id, active=False
        )
        self._orders[leg.client_id] = w
        self._working[leg.client_id] = w

    def cancel(self, client_id: str) -> OrderUpdate | None:
        w = self._orders.get(client_id)
        if w is None or w.state.terminal:
            return None
        return self._emit(w, OrderState.CANCELLED)

    def order(self, client_id: str) -> VenueOrder | None:
        w = self._orders.get(client_id)
        if w is not None:
            return self._view(w)
        done = self._done.get(client_id)
        return self._view(done[1]) if done is not None else None

    def open_orders(self) -> list[VenueOrder]:
        return [self._view(w) for w in self._working.values()]

    def legs_of(self, parent_id: str) -> list[VenueOrder]:
        """The working bracket legs of the entry ``parent_id`` (what :meth:`open_orders` lists
        with that parent, without a view of every working order)."""
        return [self._view(w) for w in self._working.values() if w.parent == parent_id]

    def open_ids(self) -> set[str]:
        return set(self._working)

    def positions(self) -> list[VenuePosition]:
        a = self._acct
        return [VenuePosition(s, q, a.avg[s]) for s, q in a.qty.items() if q != 0.0]

    def account(self) -> VenueAccount:
        a = self._acct
        value = sum(q * a.last.get(s, a.avg[s]) for s, q in a.qty.items())
        eq = a.cash + value
        return VenueAccount(cash=a.cash, equity=eq, buying_power=max(eq, 0.0))

    def fills(self, since: str | None = None) -> list[Fill]:
        return [f for _bar, f in self._fills if since is None or f.ts >= since]

    def updates(self) -> list[OrderUpdate]:
        out, self._updates = self._updates, []
        return out

    # ---- matching -----------------------------------------------------------------------
    def on_bar(self, bars: BarSet) -> None:
        """Match the working orders against one complete bar: market orders at its open (in
        the order they came), then the protective pairs over its range."""
        self._next_bar()
        self.now = pd.Timestamp(bars.ts).isoformat()
        col = self._columns(bars.symbols)
        opens = bars.open.tolist()
        for w in list(self._working.values()):
            if w.state.terminal or w.req.type is not OrderType.MARKET:
                continue
            k = col.get(w.req.symbol)
            if k is None or opens[k] != opens[k]:
                continue
            self._fill_market(w, opens[k], float(bars.volume[k]))
        self._match_entries(bars, col)
        highs, lows = bars.high.tolist(), bars.low.tolist()
        for w in list(self._working.values()):
            if not w.active or w.req.intent is not Intent.STOP or w.state.terminal:
                continue
            k = col.get(w.req.symbol)
            if k is None or opens[k] != opens[k]:
                continue
            self._match_pair(w, opens[k], highs[k], lows[k])
        for w in self._working.values():
            w.entered = None
        closes = bars.close.tolist()
        self._acct.last.update((s, c) for s, c in zip(bars.symbols, closes, strict=True) if c == c)

    def _columns(self, symbols: Sequence[str]) -> dict[str, int]:
        """Each symbol's column in a bar of ``symbols`` (the same list on every bar of a run)."""
        if symbols is not self._cols_of:
            self._cols_of, self._cols = symbols, {s: k for k, s in enumerate(symbols)}
        return self._cols

    def mark(self, ts: str, last: dict[str, float]) -> None:
        """Move past bars on which nothing fills (a replay's quiet bars, see
        :class:`~alphaforge.ports.MarkingVenue`): the time and the symbols' last prices."""
        self._next_bar()
        self.now = ts
        self._acct.last.update(last)

    def _next_bar(self) -> None:
        """Move to the next bar: forget the oldest finished orders and fills beyond
        ``history`` each, but none of the bar that just ended (see the module docstring)."""
        last = self._bar
        self._bar += 1
        fills, finished = self._fills, self._finished
        while len(fills) > self.history and fills[0][0] < last:
            fills.popleft()
        while len(finished) > self.history and finished[0][0] < last:
            bar, cid = finished.popleft()
            done = self._done.get(cid)
            if done is not None and done[0] == bar:  # (not finished again since)
                del self._done[cid]

    def _fill_market(self, w: _Working, o: float, volume: float) -> None:
        want = w.req.qty - w.filled
        qty = participation_nb(want, volume, self.s)
        if qty <= 0.0:
            return
        self._execute(w, qty, o)

    def _match_entries(self, bars: BarSet, col: dict[str, int]) -> None:
        """Limit / stop / stop-limit entries over the bar's range; a day entry that did not
        fill expires."""
        for w in list(self._working.values()):
            req = w.req
            if w.state.terminal or req.type is OrderType.MARKET or req.intent is not Intent.ENTRY:
                continue
            k = col.get(req.symbol)
            if k is None or bars.open[k] != bars.open[k]:
                continue
            lim = req.limit if req.limit is not None else np.nan
            stp = req.stop if req.stop is not None else np.nan
            o, h, lo = float(bars.open[k]), float(bars.high[k]), float(bars.low[k])
            raw = float(trigger_price_nb(float(req.side.sign), o, h, lo, lim, stp))
            if raw == raw:
                self._execute(w, req.qty - w.filled, raw)

    def expire(self, client_id: str) -> OrderUpdate | None:
        """End a working day order at the close of its bar (state ``expired``)."""
        w = self._orders.get(client_id)
        if w is None or w.state.terminal:
            return None
        return self._emit(w, OrderState.EXPIRED, reason="day order not filled in its bar")

    def _match_pair(self, w: _Working, o: float, h: float, lo: float) -> None:
        pos_sign = -w.req.side.sign
        stop = w.req.stop if w.req.stop is not None else np.nan
        target = w.req.take_profit if w.req.take_profit is not None else np.nan
        if w.entered is not None:  # the rest of the bar after its entry's fill
            o = min(max(w.entered, lo), h)
            target = np.nan
        raw, which, both = touch(pos_sign, stop, target, o, h, lo)
        if which == 0:
            return
        if both and self.s["ambiguity"] == C.AMB_TARGET_FIRST:
            raw, which = target, 2
        qty = w.req.qty - w.filled
        if not self.shared:  # never past flat: one strategy's position is the venue's
            qty = min(qty, abs(self._acct.qty.get(w.req.symbol, 0.0)))
        if qty <= 0.0:
            self._emit(w, OrderState.CANCELLED, reason="no position left to protect")
            return
        self._execute(w, qty, raw, leg="target" if which == 2 else "stop", ambiguous=both)

    def _execute(
        self, w: _Working, qty: float, raw: float, leg: str = "", ambiguous: bool = False
    ) -> None:
        req = w.req
        d = req.side.sign
        atr = self.order_atr.get(req.client_id)
        if atr is None:
            atr = self.reference_atr.get(req.symbol, np.nan)
        slip = slippage_nb(raw, atr, self.s)
        px = raw + d * slip
        fee = commission_nb(qty, px, self.s)
        w.fills += 1
        w.avg = (w.avg * w.filled + px * qty) / (w.filled + qty)
        w.filled += qty
        a = self._acct
        sym = req.symbol
        a.qty[sym], a.avg[sym] = position_after(a.qty.get(sym, 0.0), a.avg.get(sym, 0.0),
                                                d * qty, px)  # fmt: skip
        a.cash -= d * qty * px + fee
        fill = Fill(
            fill_id=f"{req.client_id}#{w.fills}",
            client_id=req.client_id,
            symbol=req.symbol,
            side=req.side,
            qty=qty,
            price=px,
            fee=fee,
            ts=self.now,
            slippage=slip,
            strategy=req.strategy,
        )
        self._fills.append((self._bar, fill))
        done = w.filled >= req.qty - 1e-12
        state = OrderState.FILLED if done else OrderState.PARTIALLY_FILLED
        reason = f"{leg}{' (ambiguous bar)' if ambiguous else ''}" if leg else ""
        self._emit(w, state, fill=fill, reason=reason)
        if done and req.intent is not Intent.STOP:
            self.order_atr.pop(req.client_id, None)
            for leg_w in self._working.values():
                if leg_w.parent == req.client_id and not leg_w.state.terminal:
                    leg_w.active = True
                    if req.type is not OrderType.MARKET:
                        leg_w.entered = px

    def _emit(
        self, w: _Working, state: OrderState, fill: Fill | None = None, reason: str = ""
    ) -> OrderUpdate:
        w.state = state
        if state.terminal:
            self.order_atr.pop(w.req.client_id, None)
            self._working.pop(w.req.client_id, None)
            self._done[w.req.client_id] = (self._bar, w)
            self._finished.append((self._bar, w.req.client_id))
            self._orders.pop(w.req.client_id, None)
        u = OrderUpdate(w.req.client_id, state, self.now, w.venue_id, fill, reason)
        self._updates.append(u)
        if state in (OrderState.CANCELLED, OrderState.EXPIRED) and w.req.intent is Intent.ENTRY:
            for leg in list(self._working.values()):  # a bracket whose entry never filled
                if leg.parent == w.req.client_id and not leg.active:
                    self._emit(leg, OrderState.CANCELLED, reason="its entry did not fill")
        return u

    def _view(self, w: _Working) -> VenueOrder:
        r = w.req
        return VenueOrder(
            client_id=r.client_id,
            venue_id=w.venue_id,
            symbol=r.symbol,
            side=r.side,
            qty=r.qty,
            type=r.type,
            state=w.state,
            filled_qty=w.filled,
            avg_price=w.avg,
            limit=r.take_profit if r.intent is Intent.STOP else r.limit,  # a pair's target
            stop=r.stop,
            parent_id=w.parent,
        )

    # ---- persistence --------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The venue's book (account and working orders), JSON-safe: the simulated venue keeps
        its account in the ledger, written in the same transaction as the runtime's cycle."""
        a = self._acct
        working = []
        for w in self._working.values():
            d = dict(vars(w))  # numbers and texts but these two (a copy: no deep copy needed)
            d["req"] = request_dict(w.req)
            d["state"] = w.state.value
            working.append(d)
        return {
            "cash": a.cash, "qty": a.qty, "avg": a.avg, "last": a.last, "seq": self._seq,
            "working": working, "now": self.now, "order_atr": dict(self.order_atr),
        }  # fmt: skip

    def restore(self, snap: dict[str, Any]) -> None:
        self._acct = _Account(
            cash=float(snap["cash"]), qty=dict(snap["qty"]), avg=dict(snap["avg"]),
            last=dict(snap["last"]),
        )  # fmt: skip
        self._seq = int(snap["seq"])
        self.now = str(snap["now"])
        self._working = {}
        for d in snap["working"]:
            req = request_of(d["req"])
            w = _Working(
                req, OrderState(d["state"]), d["venue_id"], d["filled"], d["avg"], d["parent"],
                d["active"], d["fills"], d.get("entered"),
            )  # fmt: skip
            self._working[req.client_id] = w
            self._orders[req.client_id] = w
        self.order_atr = {k: float(v) for k, v in snap.get("order_atr", {}).items()}
        self._updates = []

    # ---- reconciliation tests: a change made by hand at the broker -----------------------
    def adjust_position(self, symbol: str, qty: float, price: float) -> None:
        """Change a position as a user would by hand at the broker (tests of reconciliation)."""
        a = self._acct
        q0 = a.qty.get(symbol, 0.0)
        a.cash -= (qty - q0) * price
        a.qty[symbol] = qty
        a.avg[symbol] = price
