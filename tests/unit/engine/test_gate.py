"""The risk gate's ordered checks, each refusing with its reason."""

from __future__ import annotations

from alphaforge.core.orders import Intent, OrderRequest, Side
from alphaforge.engine.gate import GateLimits, OrderContext, RiskGate, TradingState


def _req(
    side: Side = Side.BUY, qty: float = 10.0, intent: Intent = Intent.ENTRY, cid: str = "c"
) -> OrderRequest:
    return OrderRequest(cid, "s", "MSFT", side, qty, intent)


CTX = OrderContext(price=100.0, last_trade=100.0, position=0.0)


def test_accepts_an_ordinary_order() -> None:
    assert RiskGate(GateLimits(), set()).check(_req(), CTX).ok


def test_halted_refuses_all_but_a_flatten() -> None:
    gate = RiskGate(GateLimits(), set())
    gate.state = TradingState.HALTED
    v = gate.check(_req(), CTX)
    assert (v.ok, v.check) == (False, "trading_state")
    held = OrderContext(100.0, 100.0, position=10.0)
    assert gate.check(_req(Side.SELL, 10.0, Intent.FLATTEN), held).ok


def test_reducing_allows_only_reductions_never_past_flat() -> None:
    gate = RiskGate(GateLimits(), set())
    gate.state = TradingState.REDUCING
    held = OrderContext(100.0, 100.0, position=10.0)
    assert gate.check(_req(Side.SELL, 10.0, Intent.EXIT), held).ok
    assert not gate.check(_req(Side.SELL, 11.0, Intent.EXIT), held).ok  # would go short
    assert not gate.check(_req(Side.BUY, 1.0), held).ok


def test_price_band_value_quantity_and_duplicates_in_that_order() -> None:
    gate = RiskGate(GateLimits(max_order_value=500.0, max_order_qty=8.0, price_band=0.1), {"dup"})
    gapped = OrderContext(price=120.0, last_trade=100.0, position=0.0)
    v = gate.check(_req(qty=1.0), gapped)
    assert v.check == "price_band" and "+20.0%" in v.reason
    assert gate.check(_req(qty=6.0), CTX).check == "max_order_value"  # 600 > 500
    small = OrderContext(price=10.0, last_trade=10.0, position=0.0)
    assert gate.check(_req(qty=9.0), small).check == "max_order_qty"
    assert gate.check(_req(qty=1.0, cid="dup"), small).check == "duplicate"
    # an exit is never held back by the size limits or the band
    held = OrderContext(price=120.0, last_trade=100.0, position=9.0)
    assert gate.check(_req(Side.SELL, 9.0, Intent.EXIT), held).ok
    assert gate.refused == 4  # the four refusals above (a replay's summary reports them)
