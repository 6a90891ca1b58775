"""The Alpaca adapter's order tracker: an update seen twice is delivered once, and its memory
stays bounded over a long run while open orders and their bracket legs stay known."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from alphaforge.adapters.brokers import alpaca_tracker as tracker_mod
from alphaforge.adapters.brokers.alpaca_tracker import OrderTracker
from alphaforge.core.orders import Fill, OrderState, OrderUpdate, Side

TS = "2024-01-02T15:00:00.000000Z"


def _order(k: int, status: str, legs: list[Any] | None = None) -> Any:
    return SimpleNamespace(id=f"v{k}", client_order_id=f"c{k}", status=status, filled_qty="0",
                           submitted_at=TS, legs=legs or [])  # fmt: skip


def _fill(k: int) -> OrderUpdate:
    f = Fill(f"x{k}", f"c{k}", "MSFT", Side.BUY, 1.0, 100.0, 0.0, TS)
    return OrderUpdate(f"c{k}", OrderState.FILLED, TS, f"v{k}", f)


def test_an_update_seen_twice_is_delivered_once() -> None:
    t = OrderTracker()
    t.remember(_order(1, "new"), "c1")
    assert t.fresh(OrderUpdate("c1", OrderState.ACCEPTED, TS, "v1"), None)
    assert not t.fresh(OrderUpdate("c1", OrderState.ACCEPTED, TS, "v1"), None)
    assert t.fresh(_fill(1), ("v1", 1.0))
    assert not t.fresh(_fill(1), ("v1", 1.0))  # the stream and the catch-up both had it
    assert not t.fresh(OrderUpdate("c1", OrderState.FILLED, TS, "v1"), None)
    assert not t.fresh(OrderUpdate("c1", OrderState.ACCEPTED, TS, "v1"), None)  # stale
    assert "c1" not in t.open_orders()


def test_memory_is_bounded_and_open_orders_and_legs_stay_known(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tracker_mod, "KEEP", 50)
    t = OrderTracker()
    leg = SimpleNamespace(id="vleg", client_order_id="cleg", status="held", filled_qty="0",
                          submitted_at=TS)  # fmt: skip
    t.remember(_order(0, "filled", [leg]), "c0")  # an entry filled, its stop leg works
    for k in range(1, 2_000):
        t.remember(_order(k, "new"), f"c{k}")
        assert t.fresh(_fill(k), (f"v{k}", 1.0))
    sizes = [len(t._client_of), len(t._parent_of), len(t._last)]
    assert max(sizes) <= 2 * 50 + 2
    assert len(t._seen_fills) <= 50 and len(t._done) <= 50
    assert t.parent("vleg") == "c0" and t.known("vleg") == "cleg"
    assert "cleg" in t.open_orders()
    assert not t.fresh(_fill(1_999), ("v1999", 1.0))  # recent ones are still remembered
