"""A strategy's view of its account's venue: :class:`SleeveVenue`.

Each strategy of an account runs its trading node against one of these views; behind it the
:class:`~alphaforge.engine.netting.NettingDesk` holds and nets the strategy's market orders and
keeps its attributed positions and fills, and the account's one venue does the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from alphaforge.core.orders import Fill, OrderRequest, OrderUpdate
from alphaforge.ports import VenueAccount, VenueOrder, VenuePosition

if TYPE_CHECKING:
    from alphaforge.engine.netting import NettingDesk


class SleeveVenue:
    """One strategy's view of the account's venue through the
    :class:`~alphaforge.engine.netting.NettingDesk`: an :class:`~alphaforge.ports.ExecutionVenue`
    whose positions, orders and fills are that strategy's."""

    synchronous = True
    netted = True  # the desk nets the account's orders (a reversal there: netting.py)

    def __init__(self, desk: NettingDesk, strategy: str) -> None:
        self.desk = desk
        self.strategy = strategy
        self.name = desk.venue.name
        self.capabilities = desk.venue.capabilities

    @property
    def reference_atr(self) -> dict[str, float]:
        return dict(self.desk.venue.reference_atr)

    @reference_atr.setter
    def reference_atr(self, value: dict[str, float]) -> None:
        self.desk.venue.reference_atr.update(value)  # the ATRs this strategy's rules use

    def connect(self) -> None:
        return None

    def close(self) -> None:
        """Disconnect the account's venue (every strategy's view closes the one venue)."""
        self.desk.venue.close()

    def submit(self, request: OrderRequest) -> OrderUpdate:
        return self.desk.submit(self.strategy, request)

    def cancel(self, client_id: str) -> OrderUpdate | None:
        return self.desk.cancel(self.strategy, client_id)

    @property
    def order_atr(self) -> dict[str, float] | None:  # a limit / stop entry's ATR, if any
        return getattr(self.desk.venue, "order_atr", None)

    def expire(self, client_id: str) -> OrderUpdate | None:
        """End this strategy's day entry at its bar's close (expired, where the venue can)."""
        if self.desk.order(self.strategy, client_id) is None:
            return None
        return getattr(self.desk.venue, "expire", self.desk.venue.cancel)(client_id)

    def order(self, client_id: str) -> VenueOrder | None:
        return self.desk.order(self.strategy, client_id)

    def open_orders(self) -> list[VenueOrder]:
        return self.desk.open_orders(self.strategy)

    def positions(self) -> list[VenuePosition]:
        return self.desk.positions(self.strategy)

    def account(self) -> VenueAccount:
        return self.desk.venue.account()  # the whole account's (one cash balance)

    def fills(self, since: str | None = None) -> list[Fill]:
        return self.desk.fills(self.strategy, since)

    def updates(self) -> list[OrderUpdate]:
        return self.desk.updates(self.strategy)
