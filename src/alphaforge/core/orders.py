"""Orders of the trading runtime: requests, their life cycle, fills and idempotent ids.

Pure values, shared by the runtime (:mod:`alphaforge.engine`), every venue adapter and the
ledger. Quantities are positive with a side; prices are floats here and become ``Decimal`` at
the ledger boundary (:func:`money`).

The life cycle is an explicit state machine (:data:`TRANSITIONS`)::

    new -> submitted -> accepted -> partially_filled -> filled
                 \\           \\            \\-> cancelled | expired
                  \\           \\-> cancelled | rejected | expired | filled
                   \\-> rejected | accepted | filled | partially_filled | cancelled | expired

A venue may skip the acknowledgement (a market order reported filled at once), so from
``submitted`` every later state is reachable; a terminal state is final. An update that would
go backwards (a late "accepted" after "filled") is ignored by :func:`advance`, not applied: the
order stream of a broker is not ordered across reconnects.

A client order id is derived from what the order is for (:func:`client_order_id`): the same
strategy, symbol, bar and intent always give the same id, so a retry or a restart after a crash
re-sends the same id and the venue refuses the duplicate instead of trading twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, fields, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from alphaforge.core.errors import AlphaforgeError


class Side(StrEnum):
    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        return 1 if self is Side.BUY else -1

    @staticmethod
    def of(delta: float) -> Side:
        return Side.BUY if delta > 0 else Side.SELL


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"
    STOP_LIMIT = "stop_limit"


class TimeInForce(StrEnum):
    DAY = "day"
    GTC = "gtc"


class Intent(StrEnum):
    """Why an order exists; part of its idempotent id."""

    ENTRY = "entry"
    EXIT = "exit"
    REBALANCE = "rebalance"
    STOP = "stop"  # protective stop held at the venue
    TARGET = "target"  # take-profit held at the venue
    FLATTEN = "flatten"  # kill switch or risk breaker
    ADOPT = "adopt"  # reconciliation: a change made at the broker


class OrderState(StrEnum):
    NEW = "new"
    SUBMITTED = "submitted"
    ACCEPTED = "accepted"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL

    @property
    def open(self) -> bool:
        return self not in TERMINAL and self is not OrderState.NEW


TERMINAL = frozenset(
    {OrderState.FILLED, OrderState.CANCELLED, OrderState.REJECTED, OrderState.EXPIRED}
)

_S = OrderState
TRANSITIONS: dict[OrderState, frozenset[OrderState]] = {
    _S.NEW: frozenset({_S.SUBMITTED, _S.REJECTED}),
    _S.SUBMITTED: frozenset(
        {_S.ACCEPTED, _S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELLED, _S.REJECTED, _S.EXPIRED}
    ),
    _S.ACCEPTED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELLED, _S.EXPIRED}),
    _S.PARTIALLY_FILLED: frozenset({_S.PARTIALLY_FILLED, _S.FILLED, _S.CANCELLED, _S.EXPIRED}),
    _S.FILLED: frozenset(),
    _S.CANCELLED: frozenset(),
    _S.REJECTED: frozenset(),
    _S.EXPIRED: frozenset(),
}
"""Allowed moves of the order life cycle (a partial fill may follow a partial fill)."""

_RANK = {
    _S.NEW: 0,
    _S.SUBMITTED: 1,
    _S.ACCEPTED: 2,
    _S.PARTIALLY_FILLED: 3,
}


class OrderStateError(AlphaforgeError):
    """An order was asked to move where its life cycle does not allow."""


def can_move(src: OrderState, dst: OrderState) -> bool:
    return dst in TRANSITIONS[src]


def transition(src: OrderState, dst: OrderState) -> OrderState:
    """The new state, or :class:`OrderStateError` when the move is not allowed."""
    if not can_move(src, dst):
        raise OrderStateError(f"order state: cannot move from {src} to {dst}")
    return dst


def is_stale(src: OrderState, dst: OrderState) -> bool:
    """True when ``dst`` is an update the order has already moved past (a late
    acknowledgement after a fill, a repeated terminal update): it is ignored, not an error."""
    if src.terminal:
        return True
    return dst in _RANK and dst is not _S.PARTIALLY_FILLED and _RANK[dst] <= _RANK[src]


def client_order_id(strategy: str, symbol: str, bar: str, intent: Intent, leg: int = 0) -> str:
    """The idempotent id of the order that ``strategy`` sends for ``symbol`` at bar ``bar``
    (its timestamp text) with ``intent``; ``leg`` tells apart several orders of one intent in
    one bar (a partial exit and its rest). At most 48 characters (Alpaca allows 128, IB 40 for
    order refs, most crypto venues 32-36: :func:`short_id` gives those)."""
    key = f"{strategy}|{symbol}|{bar}|{intent.value}|{leg}"
    digest = hashlib.blake2b(key.encode(), digest_size=12).hexdigest()
    sym = "".join(ch for ch in symbol if ch.isalnum())[:10]
    return f"af-{sym}-{intent.value[:3]}-{digest}"


def short_id(client_id: str, length: int = 32) -> str:
    """A shorter form of ``client_id`` for venues with tight limits, still deterministic."""
    if len(client_id) <= length:
        return client_id
    return hashlib.blake2b(client_id.encode(), digest_size=length // 2).hexdigest()[:length]


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """What the runtime asks a venue to do. ``qty`` is positive; ``side`` gives the direction.

    ``stop_loss`` / ``take_profit`` attach protective child orders held at the venue
    (a bracket: they become active once the parent fills, and one cancels the other)."""

    client_id: str
    strategy: str
    symbol: str
    side: Side
    qty: float
    intent: Intent
    type: OrderType = OrderType.MARKET
    limit: float | None = None
    stop: float | None = None
    tif: TimeInForce = TimeInForce.DAY
    stop_loss: float | None = None
    take_profit: float | None = None
    bar: str = ""  # the bar (timestamp text) whose decision created the order
    reason: str = ""  # the decision's reason, e.g. "signal", "stop_loss", "kill"

    def __post_init__(self) -> None:
        if not self.qty > 0 or self.qty != self.qty:
            raise OrderStateError(f"order {self.client_id}: qty must be positive (got {self.qty})")
        if self.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and self.limit is None:
            raise OrderStateError(f"order {self.client_id}: a {self.type} order needs a limit")
        if self.type in (OrderType.STOP, OrderType.STOP_LIMIT) and self.stop is None:
            raise OrderStateError(f"order {self.client_id}: a {self.type} order needs a stop")

    @property
    def signed_qty(self) -> float:
        return self.side.sign * self.qty


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution. ``fill_id`` is the venue's execution id: a fill is recorded once."""

    fill_id: str
    client_id: str
    symbol: str
    side: Side
    qty: float
    price: float
    fee: float
    ts: str  # ISO timestamp of the execution (bar time under replay)
    slippage: float = 0.0  # per unit, against the reference price (simulated venue)
    strategy: str = ""

    @property
    def signed_qty(self) -> float:
        return self.side.sign * self.qty


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    """A venue's news about one order: its new state, with the fill that caused it if any."""

    client_id: str
    state: OrderState
    ts: str
    venue_id: str = ""
    fill: Fill | None = None
    reason: str = ""  # rejection or cancellation reason from the venue


@dataclass(slots=True)
class Order:
    """An order the runtime tracks: its request, state and what has filled so far."""

    request: OrderRequest
    state: OrderState = OrderState.NEW
    venue_id: str = ""
    filled_qty: float = 0.0
    avg_price: float = 0.0
    fees: float = 0.0
    reason: str = ""
    fill_ids: set[str] = field(default_factory=set)

    @property
    def client_id(self) -> str:
        return self.request.client_id

    @property
    def remaining(self) -> float:
        return max(self.request.qty - self.filled_qty, 0.0)

    def apply(self, update: OrderUpdate) -> bool:
        """Apply a venue update; False when it was stale or a fill already counted.

        A fill adds to the filled quantity and the average price; the state follows the
        life cycle, and an update the order has moved past is ignored."""
        changed = False
        f = update.fill
        if f is not None and f.fill_id not in self.fill_ids:
            self.fill_ids.add(f.fill_id)
            total = self.filled_qty + f.qty
            self.avg_price = (self.avg_price * self.filled_qty + f.price * f.qty) / total
            self.filled_qty = total
            self.fees += f.fee
            changed = True
        dst = update.state
        if dst is not self.state and not is_stale(self.state, dst):
            self.state = transition(self.state, dst)
            changed = True
        elif dst is OrderState.PARTIALLY_FILLED and self.state is dst:
            changed = changed or f is not None
        if update.venue_id and not self.venue_id:
            self.venue_id = update.venue_id
        if update.reason and self.state in (OrderState.REJECTED, OrderState.CANCELLED):
            self.reason = update.reason
        return changed

    def snapshot(self) -> Order:
        return replace(self, fill_ids=set(self.fill_ids))


def position_after(qty: float, avg: float, delta: float, price: float) -> tuple[float, float]:
    """A position's signed quantity and average entry price after trading ``delta`` units at
    ``price``, as a broker reports them: opening or adding averages the price in, reducing keeps
    the average, and going through zero starts the new side at ``price``."""
    q1 = qty + delta
    if delta == 0.0:
        return qty, avg
    if qty == 0.0 or (qty > 0) == (delta > 0):
        return q1, (avg * abs(qty) + price * abs(delta)) / abs(q1)
    if q1 != 0.0 and (q1 > 0) != (qty > 0):
        return q1, price
    return q1, avg


def money(x: float | Decimal | str, places: int = 6) -> Decimal:
    """The ledger's Decimal of a float amount or price, rounded to ``places`` (the float's
    shortest text first, so 0.1 stays 0.1 and not 0.1000000000000000055...)."""
    d = x if isinstance(x, Decimal) else Decimal(repr(float(x)) if not isinstance(x, str) else x)
    return d.quantize(Decimal(1).scaleb(-places))


_REQUEST_FIELDS = tuple(f.name for f in fields(OrderRequest))
_REQUEST_ENUMS = frozenset(("side", "intent", "type", "tif"))


def request_dict(r: OrderRequest) -> dict[str, Any]:
    """An order request as JSON-safe values (enums as their text). Every field is a number, a
    text or an enum, so a field-by-field copy is the whole request (a restart's snapshot makes
    one per working order)."""
    return {
        k: str(getattr(r, k).value) if k in _REQUEST_ENUMS else getattr(r, k)
        for k in _REQUEST_FIELDS
    }


def request_of(d: dict[str, Any]) -> OrderRequest:
    """The order request of :func:`request_dict`."""
    return OrderRequest(**{
        **d, "side": Side(d["side"]), "intent": Intent(d["intent"]), "type": OrderType(d["type"]),
        "tif": TimeInForce(d["tif"]),
    })  # fmt: skip
