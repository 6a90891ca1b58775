"""Every venue passes the same conformance checks (:mod:`alphaforge.testing.venue_conformance`).

To add a venue, append a factory (a context manager yielding a harness) to ``HARNESSES``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest

from alphaforge.testing.alpaca_harness import alpaca_harness
from alphaforge.testing.sim_harness import simulated_harness
from alphaforge.testing.venue_conformance import CHECKS, VenueHarness

pytestmark = pytest.mark.integration

HARNESSES: dict[str, Callable[[], AbstractContextManager[Any]]] = {
    "alpaca-standin": alpaca_harness,
    "simulated": simulated_harness,
}


@pytest.mark.timeout(20)
@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__.removeprefix("check_") for c in CHECKS])
@pytest.mark.parametrize("venue", list(HARNESSES))
def test_venue_conformance(venue: str, check: Callable[[VenueHarness], None]) -> None:
    with HARNESSES[venue]() as harness:
        check(harness)
