"""The Alpaca stand-in's wash-trade protection against the table of Alpaca's documentation
("User Protection: Preventing Wash Trades"): each row is (existing order, new order, rejected),
written from the documentation, with two limit prices for the rows that depend on them."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from alphaforge.testing.alpaca_model import BookOrder
from alphaforge.testing.alpaca_orders import wash_trade_with

NOW = pd.Timestamp("2024-01-02 15:00", tz="UTC")
ALWAYS, IF_CROSSED = "always", "if the buy's limit >= the sell's limit"

# the documentation's 32 rows: existing (type, side), new (type, side), reject condition
TABLE = [
    ("market", "buy", "market", "sell", ALWAYS),
    ("market", "buy", "limit", "sell", ALWAYS),
    ("market", "buy", "stop", "sell", ALWAYS),
    ("market", "buy", "stop_limit", "sell", ALWAYS),
    ("market", "sell", "market", "buy", ALWAYS),
    ("market", "sell", "limit", "buy", ALWAYS),
    ("market", "sell", "stop", "buy", ALWAYS),
    ("market", "sell", "stop_limit", "buy", ALWAYS),
    ("stop", "buy", "market", "sell", ALWAYS),
    ("stop", "buy", "limit", "sell", ALWAYS),
    ("stop", "buy", "stop", "sell", ALWAYS),
    ("stop", "buy", "stop_limit", "sell", ALWAYS),
    ("stop", "sell", "market", "buy", ALWAYS),
    ("stop", "sell", "limit", "buy", ALWAYS),
    ("stop", "sell", "stop", "buy", ALWAYS),
    ("stop", "sell", "stop_limit", "buy", ALWAYS),
    ("limit", "buy", "market", "sell", ALWAYS),
    ("limit", "buy", "limit", "sell", IF_CROSSED),
    ("limit", "buy", "stop", "sell", ALWAYS),
    ("limit", "buy", "stop_limit", "sell", IF_CROSSED),
    ("limit", "sell", "market", "buy", ALWAYS),
    ("limit", "sell", "limit", "buy", IF_CROSSED),
    ("limit", "sell", "stop", "buy", ALWAYS),
    ("limit", "sell", "stop_limit", "buy", IF_CROSSED),
    ("stop_limit", "buy", "market", "sell", ALWAYS),
    ("stop_limit", "buy", "limit", "sell", IF_CROSSED),
    ("stop_limit", "buy", "stop", "sell", ALWAYS),
    ("stop_limit", "buy", "stop_limit", "sell", IF_CROSSED),
    ("stop_limit", "sell", "market", "buy", ALWAYS),
    ("stop_limit", "sell", "limit", "buy", IF_CROSSED),
    ("stop_limit", "sell", "stop", "buy", ALWAYS),
    ("stop_limit", "sell", "stop_limit", "buy", IF_CROSSED),
]


def order(otype: str, side: str, limit: float | None = None, *, order_class: str = "simple",
          symbol: str = "AAPL", status: str = "new") -> BookOrder:  # fmt: skip
    return BookOrder(
        id=f"{otype}-{side}-{limit}", client_order_id=f"c-{otype}-{side}-{limit}",
        symbol=symbol, side=side, type=otype, time_in_force="day", created_at=NOW, qty=10.0,
        limit_price=limit if otype in ("limit", "stop_limit") else None,
        stop_price=95.0 if otype in ("stop", "stop_limit") else None,
        order_class=order_class, status=status,
    )  # fmt: skip


@pytest.mark.parametrize(("old_type", "old_side", "new_type", "new_side", "rule"), TABLE)
@pytest.mark.parametrize(
    ("buy_limit", "sell_limit"), [(99.0, 100.0), (100.0, 100.0), (101.0, 100.0)]
)
def test_the_documented_table(
    old_type: str, old_side: str, new_type: str, new_side: str, rule: str,
    buy_limit: float, sell_limit: float,
) -> None:  # fmt: skip
    limit = {"buy": buy_limit, "sell": sell_limit}
    old = order(old_type, old_side, limit[old_side])
    new = order(new_type, new_side, limit[new_side])
    rejected = rule == ALWAYS or buy_limit >= sell_limit
    assert (wash_trade_with(new, [old]) is old) is rejected


def test_the_table_covers_every_pair_of_simple_types_on_opposite_sides() -> None:
    types = ("market", "limit", "stop", "stop_limit")
    pairs = {(a, s, b, "sell" if s == "buy" else "buy")
             for a, b in itertools.product(types, types) for s in ("buy", "sell")}  # fmt: skip
    assert {row[:4] for row in TABLE} == pairs


@pytest.mark.parametrize("new_type", ["market", "limit", "stop", "stop_limit"])
def test_the_same_side_another_symbol_or_an_ended_order_is_no_wash_trade(new_type: str) -> None:
    new = order(new_type, "buy", 200.0)
    others = [
        order("market", "buy"),  # the same side
        order("market", "sell", symbol="MSFT"),  # another symbol
        order("market", "sell", status="filled"),
        order("stop", "sell", status="canceled"),
    ]
    assert wash_trade_with(new, others) is None
    assert wash_trade_with(new, [*others, order("stop", "sell", status="pending_cancel")])


@pytest.mark.parametrize("complex_class", ["bracket", "oto", "oco"])
def test_complex_orders_are_exceptions(complex_class: str) -> None:
    """A new bracket / OTO / OCO order is not checked, and the orders of one (an entry and its
    legs, a position's stop / take-profit pair) do not count against a new simple order."""
    resting_sell = order("limit", "sell", 100.0)
    assert (
        wash_trade_with(order("market", "buy", order_class=complex_class), [resting_sell]) is None
    )
    legs = [order("limit", "sell", 110.0, order_class=complex_class),
            order("stop", "sell", order_class=complex_class)]  # fmt: skip
    assert wash_trade_with(order("market", "buy"), legs) is None
