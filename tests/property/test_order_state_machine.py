"""The order life cycle under any sequence of venue updates (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alphaforge.core.orders import (
    TERMINAL,
    TRANSITIONS,
    Fill,
    Intent,
    Order,
    OrderRequest,
    OrderState,
    OrderStateError,
    OrderUpdate,
    Side,
    can_move,
    client_order_id,
    transition,
)

STATES = list(OrderState)


def _req(qty: float = 10.0) -> OrderRequest:
    return OrderRequest("c1", "s", "MSFT", Side.BUY, qty, Intent.ENTRY)


def test_terminal_states_have_no_way_out() -> None:
    for s in TERMINAL:
        assert TRANSITIONS[s] == frozenset()
        for d in STATES:
            with pytest.raises(OrderStateError):
                transition(s, d)


def test_the_documented_path() -> None:
    path = [OrderState.SUBMITTED, OrderState.ACCEPTED, OrderState.PARTIALLY_FILLED,
            OrderState.PARTIALLY_FILLED, OrderState.FILLED]  # fmt: skip
    s = OrderState.NEW
    for d in path:
        s = transition(s, d)
    assert s is OrderState.FILLED
    assert not can_move(OrderState.NEW, OrderState.FILLED)  # never filled before it was sent


updates = st.lists(
    st.tuples(st.sampled_from(STATES), st.one_of(st.none(), st.integers(1, 6))), max_size=25
)


@given(updates)
def test_any_update_sequence_keeps_the_order_consistent(
    seq: list[tuple[OrderState, int | None]],
) -> None:
    order = Order(_req())
    order.apply(OrderUpdate("c1", OrderState.SUBMITTED, "t"))
    filled_before = 0.0
    was_terminal = False
    for k, (state, fill_n) in enumerate(seq):
        fill = None
        if fill_n is not None:
            fill = Fill(f"f{fill_n}", "c1", "MSFT", Side.BUY, 1.0, 100.0 + fill_n, 0.1, "t")
        before = order.state
        try:
            order.apply(OrderUpdate("c1", state, f"t{k}", fill=fill))
        except OrderStateError:
            assert not can_move(before, state)  # refused moves are exactly the illegal ones
            continue
        if was_terminal:
            assert order.state is before  # a terminal state is final
        was_terminal = order.state.terminal
        assert order.filled_qty >= filled_before  # fills never go away
        filled_before = order.filled_qty
    # each fill id counts once however often the venue repeats it
    assert order.filled_qty == len(order.fill_ids)


def test_a_repeated_fill_counts_once_and_the_average_is_qty_weighted() -> None:
    order = Order(_req(3.0))
    order.apply(OrderUpdate("c1", OrderState.SUBMITTED, "t"))
    f1 = Fill("a", "c1", "MSFT", Side.BUY, 1.0, 10.0, 0.0, "t")
    f2 = Fill("b", "c1", "MSFT", Side.BUY, 2.0, 13.0, 0.0, "t")
    for f in (f1, f1, f2):
        order.apply(OrderUpdate("c1", OrderState.PARTIALLY_FILLED, "t", fill=f))
    assert order.filled_qty == 3.0
    assert order.avg_price == pytest.approx((10.0 + 2 * 13.0) / 3)
    # a late acknowledgement after the fill is stale: ignored, not an error
    order.apply(OrderUpdate("c1", OrderState.FILLED, "t"))
    assert order.apply(OrderUpdate("c1", OrderState.ACCEPTED, "t")) is False
    assert order.state is OrderState.FILLED


@given(st.text(min_size=1, max_size=12), st.sampled_from(["MSFT", "BTC/USDT", "BRK.B"]),
       st.sampled_from(list(Intent)), st.integers(0, 3))  # fmt: skip
def test_client_ids_are_deterministic_short_and_distinct(
    strategy: str, symbol: str, intent: Intent, leg: int
) -> None:
    a = client_order_id(strategy, symbol, "2019-01-02T00:00:00+00:00", intent, leg)
    assert a == client_order_id(strategy, symbol, "2019-01-02T00:00:00+00:00", intent, leg)
    assert len(a) <= 48
    assert a != client_order_id(strategy, symbol, "2019-01-03T00:00:00+00:00", intent, leg)
    assert a != client_order_id(strategy, symbol, "2019-01-02T00:00:00+00:00", intent, leg + 1)
