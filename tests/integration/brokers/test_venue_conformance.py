"""Every venue passes the same conformance checks (:mod:`alphaforge.testing.venue_conformance`).

To add a venue, append a factory (a context manager yielding a harness) to ``HARNESSES``.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import pytest

from alphaforge.testing.alpaca_harness import alpaca_harness
from alphaforge.testing.sim_harness import NOT_APPLICABLE as SIM_NOT_APPLICABLE
from alphaforge.testing.sim_harness import simulated_harness
from alphaforge.testing.venue_conformance import CHECKS, VenueHarness

pytestmark = pytest.mark.integration

HARNESSES: dict[str, Callable[[], AbstractContextManager[Any]]] = {
    "alpaca-standin": alpaca_harness,
    "simulated": simulated_harness,
}


# checks of faults a venue does not have are not generated for it (never skipped at run time)
EXCLUDED: dict[str, dict[str, str]] = {"simulated": SIM_NOT_APPLICABLE}
CASES = [
    pytest.param(venue, check, id=f"{venue}-{check.__name__.removeprefix('check_')}")
    for venue in HARNESSES
    for check in CHECKS
    if check.__name__.removeprefix("check_") not in EXCLUDED.get(venue, {})
]


@pytest.mark.timeout(20)
@pytest.mark.parametrize(("venue", "check"), CASES)
def test_venue_conformance(venue: str, check: Callable[[VenueHarness], None]) -> None:
    with HARNESSES[venue]() as harness:
        check(harness)
