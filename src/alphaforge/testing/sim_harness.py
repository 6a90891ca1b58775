"""The simulated venue under the broker conformance suite (:mod:`.venue_conformance`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from alphaforge.core.orders import OrderState, OrderUpdate
from alphaforge.core.rules import BacktestConfig
from alphaforge.ports import BarSet
from alphaforge.sim.settings import settings_from_config
from alphaforge.sim.venue import SimulatedVenue
from alphaforge.testing.venue_conformance import UpdateLog


class SimulatedHarness:
    """A :class:`SimulatedVenue` without costs, fed bar by bar. It lives in the runtime's own
    process, so it has no connection to drop and refuses nothing on request: those checks
    skip."""

    def __init__(self, cash: float = 100_000.0) -> None:
        cfg = BacktestConfig.build(
            {"costs": {"commission": 0, "slippage": 0}, "sizing": {"fractional": True}},
            source="conformance",
        )
        self.venue = SimulatedVenue(settings_from_config(cfg, 252.0 * 390), cash)
        self._log = UpdateLog(self.venue)

    def push_bar(self, bars: BarSet) -> None:
        self.venue.on_bar(bars)

    def wait_updates(
        self, client_id: str, state: OrderState, timeout: float = 3.0
    ) -> list[OrderUpdate]:
        return self._log.wait(client_id, state, timeout)

    def reject_next(self, reason: str) -> None:
        raise NotImplementedError("the simulated venue rejects only what it cannot fill")

    def partial_next(self, fraction: float) -> None:
        raise NotImplementedError("partial fills come from the participation cap")

    def drop_connection(self) -> None:
        raise NotImplementedError("in-process, no connection")

    def fill_while_disconnected(self, client_id: str, price: float) -> None:
        raise NotImplementedError("in-process, no connection")


@contextmanager
def simulated_harness() -> Iterator[SimulatedHarness]:
    yield SimulatedHarness()
