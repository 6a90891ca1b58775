"""What :class:`~alphaforge.adapters.brokers.alpaca.AlpacaVenue` knows about its orders.

Thread-safe: the stream thread and the caller's thread both use it. It maps Alpaca order ids
to client order ids (a replacement keeps its original's client id; bracket legs know their
parent), remembers which orders are still open (for the catch-up after a reconnect) and what
:meth:`AlpacaVenue.updates` has delivered, so that an update seen twice (stream and REST
catch-up) is delivered once.

Memory stays flat over a long run: the id maps keep their last :data:`KEEP` entries (the orders
still open always stay), a finished order's last state moves to a set of the last
:data:`KEEP` finished orders, and delivered fills are remembered for the last :data:`KEEP`.
The stream and the catch-up repeat recent events, not old ones; the ledger keeps every id.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pandas as pd

from alphaforge.adapters.brokers.alpaca_wire import EVENT_STATES, fnum, state_of, value
from alphaforge.core.orders import Fill, OrderState, OrderUpdate, Side, is_stale
from alphaforge.core.recent import RecentIds

FillKey = tuple[str, float]  # (Alpaca order id, cumulative filled quantity after the fill)
Item = tuple[OrderUpdate, FillKey | None]
KEEP = 10_000  # recent entries each memory of the tracker keeps


def _trim(d: dict[str, str], keep: Callable[[str], bool]) -> None:
    """Once ``d`` holds twice :data:`KEEP` entries, forget the oldest beyond :data:`KEEP`, but
    those ``keep`` says still matter (an open order's)."""
    if len(d) <= 2 * KEEP:
        return
    for k in list(d)[: len(d) - KEEP]:
        if not keep(k):
            del d[k]


def iso(ts: Any) -> str:
    """UTC ISO text of a datetime (alpaca-py) or timestamp text; ``""`` for ``None``."""
    if ts is None or ts == "":
        return ""
    t = pd.Timestamp(ts)
    t = t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class OrderTracker:
    """Client ids, bracket parents, open orders and delivered updates."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client_of: dict[str, str] = {}  # Alpaca id -> client id
        self._parent_of: dict[str, str] = {}  # leg's Alpaca id -> parent's client id
        self._open: dict[str, str] = {}  # client id -> submitted_at, until it ends
        self._last: dict[str, OrderState] = {}  # orders not finished
        self._done = RecentIds(cap=KEEP)  # client ids of finished orders
        self._seen_fills = RecentIds(cap=KEEP)
        self._seen_keys = RecentIds(cap=KEEP)  # FillKey as text
        self.since = ""  # venue time of the latest event seen

    def client_id(self, o: Any) -> str:
        with self._lock:
            return self._client_of.get(str(o.id), str(o.client_order_id))

    def known(self, venue_id: str) -> str | None:
        with self._lock:
            return self._client_of.get(venue_id)

    def parent(self, venue_id: str) -> str:
        with self._lock:
            return self._parent_of.get(venue_id, "")

    def alias(self, new_id: str, client_id: str, old_id: str = "") -> None:
        """Report the order ``new_id`` (a replacement of ``old_id``) as ``client_id``."""
        with self._lock:
            self._client_of[new_id] = client_id
            parent = self._parent_of.get(old_id)
            if parent:
                self._parent_of[new_id] = parent

    def remember(self, o: Any, client_id: str) -> None:
        """Record an alpaca-py ``Order`` (and its legs) seen under ``client_id``."""
        with self._lock:
            self._client_of[str(o.id)] = client_id
            for leg in o.legs or []:
                self._client_of.setdefault(str(leg.id), str(leg.client_order_id))
                self._parent_of[str(leg.id)] = client_id
                if not state_of(leg.status, fnum(leg.filled_qty)).terminal:
                    self._open.setdefault(str(leg.client_order_id), iso(leg.submitted_at))
            if not state_of(o.status, fnum(o.filled_qty)).terminal:
                self._open.setdefault(client_id, iso(o.submitted_at))
            live, of = self._open, self._client_of
            _trim(self._parent_of, lambda k: of.get(k) in live)  # a working leg's parent
            _trim(of, lambda k: of[k] in live)

    def open_orders(self) -> dict[str, str]:
        """Client ids not known to have ended, with their submission time."""
        with self._lock:
            return dict(self._open)

    def items_of(self, tu: Any) -> list[Item]:
        """The updates of an alpaca-py ``TradeUpdate`` (stream thread)."""
        o, event = tu.order, value(tu.event)
        ts = iso(tu.timestamp)
        with self._lock:
            self.since = max(self.since, ts)
        cid = self.client_id(o)
        self.remember(o, cid)
        if event == "replaced" and o.replaced_by is not None:
            self.alias(str(o.replaced_by), cid, str(o.id))
            return []
        state = EVENT_STATES.get(event)
        if state is None:
            return []
        fill, key = None, None
        if state in (OrderState.FILLED, OrderState.PARTIALLY_FILLED) and tu.qty:
            fill = Fill(
                fill_id=str(tu.execution_id),
                client_id=cid,
                symbol=str(o.symbol),
                side=Side(value(o.side)),
                qty=float(tu.qty),
                price=float(tu.price),
                fee=0.0,
                ts=ts,
            )
            key = (str(o.id), fnum(o.filled_qty))
        reason = "rejected by alpaca" if state is OrderState.REJECTED else ""
        return [(OrderUpdate(cid, state, ts, str(o.id), fill, reason), key)]

    def fresh(self, u: OrderUpdate, key: FillKey | None) -> bool:
        """Whether ``u`` is news (a fill not yet delivered, or a state moved forward); if so
        it counts as delivered."""
        with self._lock:
            last = self._last.get(u.client_id)
            text = None if key is None else f"{key[0]}@{key[1]!r}"
            if u.fill is not None:
                if u.fill.fill_id in self._seen_fills or (text is not None
                                                          and text in self._seen_keys):  # fmt: skip
                    return False
                self._seen_fills.add(u.fill.fill_id)
                if text is not None:
                    self._seen_keys.add(text)
            elif u.client_id in self._done:
                return False  # the order has finished: a state after that is stale
            elif last is not None and (u.state is last or is_stale(last, u.state)):
                return False
            if u.state.terminal:
                self._open.pop(u.client_id, None)
                self._last.pop(u.client_id, None)
                self._done.add(u.client_id)
            elif last is None or not is_stale(last, u.state):
                self._last[u.client_id] = u.state
            return True
