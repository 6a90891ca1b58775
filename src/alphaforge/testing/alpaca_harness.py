"""The Alpaca venue on the local stand-in, as a conformance harness (and a test fixture).

``alpaca_harness()`` starts an :class:`~.alpaca_broker.AlpacaBroker`, connects an
:class:`~alphaforge.adapters.brokers.alpaca.AlpacaVenue` to it (short reconnect back-off, no
real sleeping before retries) and yields a :class:`AlpacaHarness`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alphaforge.adapters.brokers.alpaca import AlpacaVenue
from alphaforge.core.orders import OrderState, OrderUpdate
from alphaforge.ports import BarSet
from alphaforge.testing.alpaca_broker import AlpacaBroker
from alphaforge.testing.venue_conformance import UpdateLog


class AlpacaHarness:
    """:class:`~alphaforge.testing.venue_conformance.VenueHarness` of Alpaca + stand-in."""

    def __init__(self, broker: AlpacaBroker, venue: AlpacaVenue) -> None:
        self.broker = broker
        self.venue = venue
        self.slept: list[float] = []
        self.log = UpdateLog(venue)

    def push_bar(self, bars: BarSet) -> None:
        self.venue.on_bar(bars)  # through the adapter's replay path, as the runtime does

    def wait_updates(
        self, client_id: str, state: OrderState, timeout: float = 3.0
    ) -> list[OrderUpdate]:
        return self.log.wait(client_id, state, timeout)

    def reject_next(self, reason: str) -> None:
        self.broker.reject_next(reason)

    def partial_next(self, fraction: float) -> None:
        self.broker.partial_next(fraction)

    def drop_connection(self) -> None:
        self.broker.drop_stream()

    def fill_while_disconnected(self, client_id: str, price: float) -> None:
        self.broker.fill_while_disconnected(client_id, price)


@contextmanager
def alpaca_harness(**venue_kwargs: object) -> Iterator[AlpacaHarness]:
    """A started stand-in and a connected venue; both stopped on exit."""
    with AlpacaBroker() as broker:
        slept: list[float] = []
        kwargs: dict[str, object] = {
            "url": broker.url,
            "stream_url": broker.stream_url,
            "replay_url": broker.url,
            "timeout": 2.0,
            "reconnect_backoff": 0.02,
            "connect_timeout": 3.0,
            "sleep": slept.append,
        }
        kwargs.update(venue_kwargs)
        venue = AlpacaVenue(broker.api_key, broker.secret_key, **kwargs)  # type: ignore[arg-type]
        venue.connect()
        harness = AlpacaHarness(broker, venue)
        harness.slept = slept
        try:
            yield harness
        finally:
            venue.close()
