"""What a trading node is made of: its parts (:class:`NodeParts`), the record of one cycle, a
position's protection at the venue, and the state every part of the node reads
(:class:`NodeState`); :mod:`alphaforge.engine.node` runs the cycle."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from alphaforge.core.orders import Fill, OrderRequest, OrderType, OrderUpdate
from alphaforge.core.panel import Panel
from alphaforge.engine.gate import RiskGate
from alphaforge.engine.oms import OrderManager
from alphaforge.engine.reconcile import Difference
from alphaforge.engine.signals import SignalSource
from alphaforge.ports import ExecutionVenue, TradeLedger, VenueOrder
from alphaforge.sim import codes as C
from alphaforge.sim.stepper import OpenPlan, SignalRow, Stepper, Stretch

REASON_CODE = {name: code for code, name in C.REASON_NAMES.items()}


def reason_name(code: int) -> str:
    return C.REASON_NAMES.get(code, str(code))


@dataclass
class Protection:
    """A position's protective orders at the venue: client id -> what the order is ("pair":
    one order holding both levels, "stop", "target"), the levels, quantity and stop reason."""

    ids: dict[str, str]
    stop: float
    target: float
    qty: float
    reason: int


def order_kind(o: VenueOrder) -> str:
    if o.type is OrderType.LIMIT:
        return "target"
    return "pair" if o.limit is not None else "stop"


@dataclass
class Cycle:
    """What one cycle has to write."""

    requests: list[OrderRequest] = field(default_factory=list)
    updates: list[OrderUpdate] = field(default_factory=list)
    decisions: list[tuple[str, str, float, str, bool]] = field(default_factory=list)
    signals: list[tuple[str, str]] = field(default_factory=list)
    positions_changed: bool = False


REPLAY_BATCH = 4096
"""Cycles a replay on an in-process venue writes in one ledger transaction at most; the batch
also ends after ``batch_seconds``, which is what bounds the work a crash loses (a restart
redoes it). Fewer, larger transactions cost less per cycle: on 2,516 daily bars a bound of 256
cycles made ten commits, each cutting the run of quiet bars it fell in."""


@dataclass
class NodeParts:
    """What a node is built from (the composition root chooses them)."""

    run_id: str
    strategy_id: str
    stepper: Stepper
    signals: SignalSource
    venue: ExecutionVenue
    ledger: TradeLedger
    gate: RiskGate
    day: np.ndarray  # trading-day id of every bar of the panel
    week: np.ndarray
    sleep: Callable[[float], None]
    log: Callable[..., None]
    batch: int = 1  # cycles per ledger transaction (a replay batches; paper and live do not)
    batch_seconds: float = 0.25
    halt_poll_seconds: float = 0.0  # how often the kill switch is read (0: every cycle)


class NodeState:
    """The state of a trading node that its parts share (set by ``TradingNode.__init__``; the
    parts of the cycle live in :mod:`alphaforge.engine.node`, its quiet bars in
    :mod:`alphaforge.engine.node_quiet`, its limit / stop entries in
    :mod:`alphaforge.engine.node_entries`, its ledger and restart in
    :mod:`alphaforge.engine.node_records`)."""

    p: NodeParts
    panel: Panel
    st: Stepper
    oms: OrderManager
    sig: SignalRow | None
    protect: dict[int, Protection]
    resting: dict[int, str]  # symbol -> its limit / stop entry at the venue
    _held: dict[str, tuple[float, float]]  # the positions the ledger last got
    _events_seen: int
    _unprotected: list[tuple[str, float]]
    _plan: OpenPlan | None
    _key: str  # client ids are unique per run
    _booked: dict[str, None]  # fill ids booked, oldest first
    _reconciled: tuple[list[Difference], list[OrderUpdate]]
    _batch: Any
    _open_cycle: Any
    _batch_n: int
    _batch_t0: float
    _last_w: Any
    _marking: bool
    _stretch: Stretch | None
    _stamps: list[pd.Timestamp]
    _texts: list[str]
    _shared: bool  # the ledger batch belongs to an account of several strategies

    if TYPE_CHECKING:  # the node's own step

        def _closing(self) -> set[int]: ...

    def venue_protection(self, j: int) -> str:
        """Whether the venue holds symbol ``j``'s protection now: ``held`` (an order for the
        whole position at the book's levels), ``closing`` (a working exit closes it first),
        ``NOT HELD`` (the book has a stop or target the venue does not hold, e.g. one the
        venue refused), or ``-`` (no position, or no levels)."""
        q = self.st.qty(j)
        stop, _r, tp = self.st.protection(j)
        if q == 0.0 or (stop != stop and tp != tp):
            return "-"
        if j in self._closing():
            return "closing"
        prot = self.protect.get(j)
        if prot is None or abs(prot.qty - abs(q)) >= 1e-9:
            return "NOT HELD"
        return "held"

    def _cancel_at_venue(self, client_id: str, cyc: Cycle) -> None:
        """Cancel an order at the venue unless the node knows it finished; the venue's answer
        goes to the order manager and into the cycle."""
        known = self.oms.orders.get(client_id)
        if known is not None and known.state.terminal:
            return
        u = self.p.venue.cancel(client_id)
        if u is not None:
            self.oms.apply(u)
            cyc.updates.append(u)


def in_venue_order(ups: list[OrderUpdate], fills: list[Fill]) -> list[OrderUpdate]:
    """``ups`` with their fills in the order of ``fills`` (the venue's), the other updates
    where they are; fills not in ``fills`` keep their order, after those that are."""
    rank = {f.fill_id: k for k, f in enumerate(fills)}
    slots = [i for i, u in enumerate(ups) if u.fill is not None]
    ordered = sorted((ups[i] for i in slots), key=lambda u: rank.get(u.fill.fill_id, len(rank)))  # type: ignore[union-attr]
    out = list(ups)
    for i, u in zip(slots, ordered, strict=True):
        out[i] = u
    return out


def later(ts: str, bound: str) -> bool:
    """Whether ISO time ``ts`` is at or after ``bound``."""
    return pd.Timestamp(ts) >= pd.Timestamp(bound)


def same_request(a: OrderRequest, b: OrderRequest) -> bool:
    """Whether two entries are the same order at the venue (all but their ids and bar)."""
    keys = ("side", "qty", "type", "limit", "stop", "tif", "stop_loss", "take_profit")
    return all(getattr(a, k) == getattr(b, k) for k in keys)


def same_level(a: float, b: float) -> bool:
    return (a != a and b != b) or abs(a - b) <= 1e-9 * max(1.0, abs(b))
