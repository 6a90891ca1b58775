"""Conformance checks every :class:`~alphaforge.ports.ExecutionVenue` must pass.

Each ``check_*`` function takes a :class:`VenueHarness`: a connected venue, a way to hand it
a complete bar, a way to wait for an order's updates, and fault hooks. A hook the venue cannot
offer raises ``NotImplementedError`` and the check skips with the reason. Bars are one-minute
bars of ``AAPL`` from 2024-01-02 14:31 UTC on (a regular New York session); a harness starts
its venue's clock before that, with enough cash for a few hundred dollars of stock.

``CHECKS`` lists them all; a test module parametrizes over harness factories × ``CHECKS``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

import numpy as np
import pandas as pd

from alphaforge.core.errors import OrderRejectedError
from alphaforge.core.orders import (
    Fill,
    Intent,
    OrderRequest,
    OrderState,
    OrderType,
    OrderUpdate,
    Side,
    TimeInForce,
)
from alphaforge.ports import BarSet, ExecutionVenue

SYMBOL = "AAPL"
FIRST_BAR = pd.Timestamp("2024-01-02 14:31", tz="UTC")


class VenueHarness(Protocol):
    """What a conformance check needs of a venue under test."""

    venue: ExecutionVenue

    def push_bar(self, bars: BarSet) -> None:
        """Hand the venue one complete bar (replay) and return once it has matched it."""
        ...

    def wait_updates(
        self, client_id: str, state: OrderState, timeout: float = 3.0
    ) -> list[OrderUpdate]:
        """Every update of ``client_id`` seen so far, once one reached ``state``
        (``AssertionError`` after ``timeout`` seconds)."""
        ...

    def reject_next(self, reason: str) -> None: ...

    def partial_next(self, fraction: float) -> None: ...

    def drop_connection(self) -> None: ...

    def fill_while_disconnected(self, client_id: str, price: float) -> None: ...


class UpdateLog:
    """Collects a venue's updates for :meth:`VenueHarness.wait_updates` (polls ``updates()``)."""

    def __init__(self, venue: ExecutionVenue) -> None:
        self.venue = venue
        self.seen: list[OrderUpdate] = []

    def wait(self, client_id: str, state: OrderState, timeout: float = 3.0) -> list[OrderUpdate]:
        deadline = time.monotonic() + timeout
        while True:
            self.seen += self.venue.updates()
            mine = [u for u in self.seen if u.client_id == client_id]
            if any(u.state is state for u in mine):
                return mine
            if time.monotonic() > deadline:
                got = [u.state.value for u in mine]
                raise AssertionError(f"{client_id}: no {state.value} update in {timeout}s: {got}")
            time.sleep(0.005)


def bar(i: int, o: float, h: float, lo: float, c: float, symbol: str = SYMBOL) -> BarSet:
    """The ``i``-th one-minute bar of the checks."""
    ts = FIRST_BAR + pd.Timedelta(minutes=i)
    one = lambda x: np.array([x], dtype="float64")  # noqa: E731
    return BarSet(ts, (symbol,), one(o), one(h), one(lo), one(c), one(10_000.0))


def order(cid: str, side: Side = Side.BUY, qty: float = 10, **kw: object) -> OrderRequest:
    return OrderRequest(cid, "conformance", SYMBOL, side, qty, Intent.ENTRY, **kw)  # type: ignore[arg-type]


def fills_of(updates: list[OrderUpdate]) -> list[Fill]:
    out: dict[str, Fill] = {}
    for u in updates:
        if u.fill is not None:
            out.setdefault(u.fill.fill_id, u.fill)
    return list(out.values())


def hook(fn: Callable[[], None], what: str) -> None:
    """Run a fault hook; skip the check when the venue does not offer it."""
    try:
        fn()
    except NotImplementedError as exc:
        import pytest

        pytest.skip(f"venue has no {what} fault: {exc}")


def position(h: VenueHarness, symbol: str = SYMBOL) -> float:
    return sum(p.qty for p in h.venue.positions() if p.symbol == symbol)


# -- checks ---------------------------------------------------------------------------------
def check_submit_fills_at_next_open(h: VenueHarness) -> None:
    """A market order fills at the open of the first bar after it was sent."""
    ack = h.venue.submit(order("cf-mkt"))
    assert ack.client_id == "cf-mkt" and not ack.state.terminal
    h.push_bar(bar(0, 100.0, 101.0, 99.0, 100.5))
    ups = h.wait_updates("cf-mkt", OrderState.FILLED)
    fills = fills_of(ups)
    assert [(f.qty, f.price, f.side) for f in fills] == [(10, 100.0, Side.BUY)]
    assert position(h) == 10


def check_partial_fill_then_rest(h: VenueHarness) -> None:
    """A partial fill, then the rest on the next bar (at that bar's open)."""
    hook(lambda: h.partial_next(0.5), "partial fill")
    h.venue.submit(order("cf-part"))
    h.push_bar(bar(0, 100.0, 101.0, 99.0, 100.5))
    h.wait_updates("cf-part", OrderState.PARTIALLY_FILLED)
    assert position(h) == 5
    h.push_bar(bar(1, 102.0, 103.0, 101.0, 102.5))
    fills = fills_of(h.wait_updates("cf-part", OrderState.FILLED))
    assert [(f.qty, f.price) for f in fills] == [(5, 100.0), (5, 102.0)]
    assert position(h) == 10


def check_cancel(h: VenueHarness) -> None:
    """A resting limit order is cancelled and never fills afterwards."""
    h.venue.submit(order("cf-cxl", type=OrderType.LIMIT, limit=90.0, tif=TimeInForce.GTC))
    h.push_bar(bar(0, 100.0, 101.0, 95.0, 100.0))
    answer = h.venue.cancel("cf-cxl")
    assert answer is not None
    if answer.state is not OrderState.CANCELLED:
        h.wait_updates("cf-cxl", OrderState.CANCELLED)
    h.push_bar(bar(1, 95.0, 96.0, 85.0, 88.0))
    assert h.venue.open_orders() == []
    assert position(h) == 0
    assert h.venue.cancel("cf-unknown") is None


def check_reject_with_reason(h: VenueHarness) -> None:
    """A rejection says why: an ``OrderRejectedError`` or a ``rejected`` update with it."""
    reason = "symbol halted by conformance test"
    hook(lambda: h.reject_next(reason), "rejection")
    try:
        ack = h.venue.submit(order("cf-rej"))
    except OrderRejectedError as exc:
        assert reason in str(exc)
    else:
        if ack.state is not OrderState.REJECTED:
            ack = h.wait_updates("cf-rej", OrderState.REJECTED)[-1]
        assert reason in ack.reason
    h.push_bar(bar(0, 100.0, 101.0, 99.0, 100.5))
    assert position(h) == 0


def check_idempotent_resubmit(h: VenueHarness) -> None:
    """The same client id sent again opens no second order and answers the first one's state."""
    first = h.venue.submit(order("cf-idem"))
    again = h.venue.submit(order("cf-idem"))
    assert again.venue_id == first.venue_id and again.state is first.state
    h.push_bar(bar(0, 100.0, 101.0, 99.0, 100.5))
    h.wait_updates("cf-idem", OrderState.FILLED)
    late = h.venue.submit(order("cf-idem"))
    assert late.state is OrderState.FILLED and late.venue_id == first.venue_id
    h.push_bar(bar(1, 101.0, 102.0, 100.0, 101.5))
    assert position(h) == 10


def check_bracket_stop_cancels_target(h: VenueHarness) -> None:
    """A bracket's legs start when the parent fills; the stop fills, the target is cancelled."""
    if not h.venue.capabilities.brackets:
        import pytest

        pytest.skip("venue holds no brackets")
    h.venue.submit(order("cf-brk", stop_loss=95.0, take_profit=110.0))
    h.push_bar(bar(0, 100.0, 101.0, 99.0, 100.5))
    h.wait_updates("cf-brk", OrderState.FILLED)
    legs = [o for o in h.venue.open_orders() if o.parent_id == "cf-brk"]
    if len(legs) == 1 and legs[0].type is OrderType.STOP:
        # the pair held as one order: a stop whose limit is the target (one fill ends both)
        assert legs[0].stop == 95.0 and legs[0].limit == 110.0, legs
        h.push_bar(bar(1, 99.0, 100.0, 94.0, 96.0))
        fills = fills_of(h.wait_updates(legs[0].client_id, OrderState.FILLED))
        assert [(f.qty, f.price, f.side) for f in fills] == [(10, 95.0, Side.SELL)]
        assert position(h) == 0 and h.venue.open_orders() == []
        return
    stop = [o for o in legs if o.type in (OrderType.STOP, OrderType.STOP_LIMIT)]
    target = [o for o in legs if o.type is OrderType.LIMIT]
    assert len(stop) == 1 and len(target) == 1, legs
    assert stop[0].stop == 95.0 and target[0].limit == 110.0
    h.push_bar(bar(1, 99.0, 100.0, 94.0, 96.0))
    fills = fills_of(h.wait_updates(stop[0].client_id, OrderState.FILLED))
    assert [(f.qty, f.price, f.side) for f in fills] == [(10, 95.0, Side.SELL)]
    h.wait_updates(target[0].client_id, OrderState.CANCELLED)
    assert position(h) == 0 and h.venue.open_orders() == []


def check_reconnect_without_lost_updates(h: VenueHarness) -> None:
    """Updates are not lost when the venue's connection drops, nor delivered twice."""
    hook(h.drop_connection, "connection drop")
    h.venue.submit(order("cf-rc1"))
    h.push_bar(bar(0, 100.0, 101.0, 99.0, 100.5))
    assert len(fills_of(h.wait_updates("cf-rc1", OrderState.FILLED))) == 1
    h.venue.submit(order("cf-rc2", qty=3, type=OrderType.LIMIT, limit=90.0, tif=TimeInForce.GTC))
    hook(lambda: h.fill_while_disconnected("cf-rc2", 90.0), "fill while disconnected")
    ups = h.wait_updates("cf-rc2", OrderState.FILLED)
    assert [(f.qty, f.price) for f in fills_of(ups)] == [(3, 90.0)]
    h.push_bar(bar(1, 101.0, 102.0, 100.0, 101.5))
    time.sleep(0.05)
    ups = h.wait_updates("cf-rc2", OrderState.FILLED)
    assert sum(1 for u in ups if u.fill is not None) == 1, "a fill was delivered twice"
    assert position(h) == 13


def check_reconcile(h: VenueHarness) -> None:
    """Positions, open orders and cash at the venue equal what its fills imply."""
    cash0 = h.venue.account().cash
    start = FIRST_BAR.isoformat()
    h.venue.submit(order("cf-r1", qty=10))
    h.push_bar(bar(0, 100.0, 101.0, 99.0, 100.5))
    h.wait_updates("cf-r1", OrderState.FILLED)
    h.venue.submit(order("cf-r2", side=Side.SELL, qty=4))
    h.push_bar(bar(1, 102.0, 103.0, 101.0, 102.5))
    h.wait_updates("cf-r2", OrderState.FILLED)
    # (sent while the sell worked, Alpaca would refuse the buy as a potential wash trade)
    h.venue.submit(order("cf-r3", qty=5, type=OrderType.LIMIT, limit=90.0, tif=TimeInForce.GTC))
    fills = h.venue.fills(since=start)
    assert sorted(f.client_id for f in fills) == ["cf-r1", "cf-r2"]
    implied = sum(f.signed_qty for f in fills)
    assert position(h) == implied == 6
    assert [o.client_id for o in h.venue.open_orders()] == ["cf-r3"]
    spent = sum(f.signed_qty * f.price + f.fee for f in fills)
    assert abs(h.venue.account().cash - (cash0 - spent)) < 1e-6


CHECKS: tuple[Callable[[VenueHarness], None], ...] = (
    check_submit_fills_at_next_open,
    check_partial_fill_then_rest,
    check_cancel,
    check_reject_with_reason,
    check_idempotent_resubmit,
    check_bracket_stop_cancels_target,
    check_reconnect_without_lost_updates,
    check_reconcile,
)
