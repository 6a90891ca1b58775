"""The order manager: every order's life cycle, sent once, retried only where that is safe.

Client order ids are idempotent (:func:`alphaforge.core.orders.client_order_id`), so the
manager never needs to guess whether a request reached the venue: after a lost response it asks
the venue for that id before anything is sent again, and a venue that already has the id
returns the existing order instead of a second one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from alphaforge.core.errors import (
    DuplicateOrderError,
    OrderRejectedError,
    RateLimitedError,
    VenueError,
    VenueUnavailableError,
)
from alphaforge.core.orders import Order, OrderRequest, OrderState, OrderUpdate
from alphaforge.core.recent import RecentIds
from alphaforge.ports import ExecutionVenue


@dataclass
class OrderManager:
    venue: ExecutionVenue
    sent: RecentIds  # the client ids sent (the risk gate's duplicate guard reads them)
    sleep: Callable[[float], None]
    retries: int = 5
    orders: dict[str, Order] = field(default_factory=dict)

    def submit(self, req: OrderRequest, now: str) -> tuple[Order, list[OrderUpdate]]:
        """Send ``req`` once; returns the order and the updates it produced (a rejection is an
        update with its reason, not an exception)."""
        order = self.orders.get(req.client_id) or Order(req)
        self.orders[req.client_id] = order
        updates = [OrderUpdate(req.client_id, OrderState.SUBMITTED, now)]
        order.apply(updates[0])
        self.sent.add(req.client_id)
        for attempt in range(self.retries + 1):
            try:
                got = self.venue.submit(req)
            except RateLimitedError as exc:
                self.sleep(exc.retry_after or 2.0**attempt)
                continue
            except (VenueUnavailableError, DuplicateOrderError):
                known = self._lookup(req, now)  # did it arrive? ask before sending again
                if known is None:
                    self.sleep(min(2.0**attempt, 30.0))
                    continue
                got = known
            except OrderRejectedError as exc:
                got = OrderUpdate(req.client_id, OrderState.REJECTED, now, reason=str(exc))
            order.apply(got)
            updates.append(got)
            return order, updates
        raise VenueError(f"order {req.client_id}: venue unavailable after {self.retries} retries")

    def _lookup(self, req: OrderRequest, now: str) -> OrderUpdate | None:
        try:
            known = self.venue.order(req.client_id)
        except VenueError:
            return None
        if known is None:
            return None
        return OrderUpdate(req.client_id, known.state, now, known.venue_id)

    def apply(self, update: OrderUpdate) -> tuple[Order | None, bool]:
        """The order an update is about, and whether it changed it (a repeated or stale
        update does not)."""
        order = self.orders.get(update.client_id)
        if order is None:
            return None, True
        return order, order.apply(update)

    def prune(self) -> None:
        """Forget orders in a terminal state (the ledger has them; a late update of one is
        stale anyway): memory stays flat over a long run."""
        done = [cid for cid, o in self.orders.items() if o.state.terminal]
        for cid in done:
            del self.orders[cid]

    def cancel(self, client_id: str) -> OrderUpdate | None:
        order = self.orders.get(client_id)
        if order is not None and order.state.terminal:
            return None
        return self.venue.cancel(client_id)
