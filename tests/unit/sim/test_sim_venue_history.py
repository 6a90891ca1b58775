"""The simulated venue keeps a bounded recent history: the last ``history`` finished orders and
fills, and every one of the bar it last matched, so that late look-ups, ``fills(since=...)`` and
repeated submits of recent client ids work while a long run's memory stays flat."""

from __future__ import annotations

from alphaforge.core.orders import OrderState
from alphaforge.core.rules import BacktestConfig
from alphaforge.sim.settings import settings_from_config
from alphaforge.sim.venue import SimulatedVenue
from alphaforge.testing.venue_conformance import FIRST_BAR, bar, order


def _venue(history: int) -> SimulatedVenue:
    cfg = BacktestConfig.build({"costs": {"commission": 0, "slippage": 0}}, source="test")
    return SimulatedVenue(settings_from_config(cfg, 252.0 * 390), 1e9, history=history)


def test_finished_orders_and_fills_beyond_the_history_are_forgotten() -> None:
    v = _venue(history=5)
    for i in range(40):
        v.submit(order(f"o{i}", qty=1))
        v.on_bar(bar(i, 100.0, 101.0, 99.0, 100.0))
    assert v.order("o0") is None
    recent = v.order("o39")
    assert recent is not None and recent.state is OrderState.FILLED
    fills = v.fills(since=FIRST_BAR.isoformat())
    assert 5 <= len(fills) <= 6 and fills[-1].client_id == "o39"
    assert len(v._done) <= 6 and len(v._finished) <= 6
    again = v.submit(order("o39", qty=1))  # a repeated submit answers the existing order
    assert again.state is OrderState.FILLED and again.venue_id == recent.venue_id
    assert v.open_orders() == [] and v.positions()[0].qty == 40


def test_the_last_bars_orders_are_kept_however_many() -> None:
    v = _venue(history=3)
    for k in range(10):
        v.submit(order(f"b{k}", qty=1))
    v.on_bar(bar(0, 100.0, 101.0, 99.0, 100.0))  # all ten fill in this bar
    v.mark(bar(1, 1, 1, 1, 1).ts.isoformat(), {})  # a quiet bar: the ten are still answered
    assert all(v.order(f"b{k}") is not None for k in range(10))
    assert len(v.fills()) == 10
    v.on_bar(bar(2, 100.0, 101.0, 99.0, 100.0))
    assert [v.order(f"b{k}") is not None for k in range(10)] == [False] * 7 + [True] * 3
    assert [f.client_id for f in v.fills()] == ["b7", "b8", "b9"]
