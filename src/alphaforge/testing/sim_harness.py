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
    process, so it has no connection to drop, and it refuses only what it cannot fill: the
    checks of those faults do not apply to it (see ``NOT_APPLICABLE``)."""

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
        """Partial fills come from the volume participation cap: set it so that the next
        order of ten units fills ``fraction`` of them per bar of 10,000 shares."""
        self.venue.s["participation"] = fraction * 10 / 10_000

    def drop_connection(self) -> None:
        raise NotImplementedError("in-process, no connection")

    def fill_while_disconnected(self, client_id: str, price: float) -> None:
        raise NotImplementedError("in-process, no connection")


@contextmanager
def simulated_harness() -> Iterator[SimulatedHarness]:
    yield SimulatedHarness()


NOT_APPLICABLE = {
    "reject_with_reason": "the simulated venue refuses only order types it cannot fill",
    "reconnect_without_lost_updates": "in the runtime's own process: no connection to drop",
}
"""Conformance checks that test what the simulated venue does not have, with the reason."""
