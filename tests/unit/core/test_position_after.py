"""A position's quantity and average price after a fill, by hand."""

from __future__ import annotations

import pytest

from alphaforge.core.orders import position_after


@pytest.mark.parametrize(
    ("qty", "avg", "delta", "price", "expected"),
    [
        (0.0, 0.0, 10.0, 100.0, (10.0, 100.0)),  # open
        (10.0, 100.0, 10.0, 110.0, (20.0, 105.0)),  # add: (1000 + 1100) / 20
        (20.0, 105.0, -5.0, 120.0, (15.0, 105.0)),  # reduce: the average stays
        (15.0, 105.0, -15.0, 90.0, (0.0, 105.0)),  # close
        (10.0, 100.0, -25.0, 90.0, (-15.0, 90.0)),  # through zero: the short starts at 90
        (-10.0, 50.0, -10.0, 40.0, (-20.0, 45.0)),  # add to a short
        (5.0, 100.0, 0.0, 80.0, (5.0, 100.0)),  # nothing traded
    ],
)
def test_position_after_a_fill(
    qty: float, avg: float, delta: float, price: float, expected: tuple[float, float]
) -> None:
    assert position_after(qty, avg, delta, price) == pytest.approx(expected)
