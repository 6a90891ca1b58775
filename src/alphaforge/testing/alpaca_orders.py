"""Orders sent to the Alpaca trading stand-in: a ``POST /v2/orders`` body validated as Alpaca
validates it, and the legs of bracket, OTO and OCO orders."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import pandas as pd

from alphaforge.testing.alpaca_model import BookOrder, BrokerError

__all__ = ["leg_of", "parse_order", "wash_trade_with"]

_TYPES = ("market", "limit", "stop", "stop_limit")
_TIFS = ("day", "gtc", "opg", "ioc")


def parse_order(body: dict[str, Any], now: pd.Timestamp) -> BookOrder:
    """The order of a ``POST /v2/orders`` body, validated as Alpaca does (422 otherwise)."""

    def bad(msg: str) -> BrokerError:
        return BrokerError(422, 40010001, msg)

    symbol = str(body.get("symbol") or "").upper()
    side, otype = body.get("side"), body.get("type", "market")
    tif = body.get("time_in_force")
    if not symbol:
        raise bad("symbol is required")
    if side not in ("buy", "sell"):
        raise bad("invalid side")
    if otype not in _TYPES:
        raise bad(f"invalid order type: {otype}")
    if tif not in _TIFS:
        raise bad(f"invalid time_in_force: {tif}")
    qty = _float(body.get("qty"))
    notional = _float(body.get("notional"))
    if (qty is None) == (notional is None):
        raise bad("qty or notional is required" if qty is None else "qty and notional")
    if (qty is not None and qty <= 0) or (notional is not None and notional <= 0):
        raise bad("qty must be > 0")
    limit, stop = _float(body.get("limit_price")), _float(body.get("stop_price"))
    if otype in ("limit", "stop_limit") and limit is None:
        raise bad("limit_price is required")
    if otype in ("stop", "stop_limit") and stop is None:
        raise bad("stop_price is required")
    order_class = body.get("order_class") or "simple"
    if order_class in ("bracket", "oco") and not (
        body.get("take_profit") and body.get("stop_loss")
    ):
        raise bad(f"{order_class} orders require take_profit and stop_loss")
    return BookOrder(
        id=str(uuid.uuid4()),
        client_order_id=str(body.get("client_order_id") or uuid.uuid4()),
        symbol=symbol,
        side=str(side),
        type=str(otype),
        time_in_force=str(tif),
        created_at=now,
        qty=qty,
        notional=notional,
        limit_price=limit,
        stop_price=stop,
        order_class=str(order_class),
    )


def leg_of(
    parent: BookOrder,
    kind: str,
    spec: dict[str, Any],
    status: str,
    now: pd.Timestamp,
    side: str = "",
) -> BookOrder:
    """A leg of ``parent``: on the other side (a bracket's exits), or on ``side``."""
    stop = _float(spec.get("stop_price")) if kind == "stop" else None
    limit = _float(spec.get("limit_price"))
    otype = "stop_limit" if kind == "stop" and limit is not None else kind
    return BookOrder(
        id=str(uuid.uuid4()),
        client_order_id=str(uuid.uuid4()),
        symbol=parent.symbol,
        side=side or ("sell" if parent.side == "buy" else "buy"),
        type=otype,
        time_in_force=parent.time_in_force,
        created_at=now,
        qty=parent.qty,
        limit_price=limit,
        stop_price=stop,
        order_class=parent.order_class,
        status=status,
        parent=parent.id,
    )


def wash_trade_with(new: BookOrder, orders: Iterable[BookOrder]) -> BookOrder | None:
    """The open order ``new`` could trade against, for which Alpaca refuses ``new`` as a
    potential wash trade (403, code 40310000, "potential wash trade detected. use complex
    orders"), or None.

    Alpaca's table ("User Protection: Preventing Wash Trades"): an order on the other side of
    the same symbol interacts with ``new`` when either of the two is a market or a stop order;
    two limit / stop-limit orders interact when the buy's limit is at or above the sell's.
    Bracket, OTO and OCO orders are exceptions to the rule: a new one is not checked, and the
    orders of one (an entry and its legs) do not count against a new simple order. That second
    half is the stand-in's reading of "these complex orders ... are exceptions"; the
    documentation gives no example of it."""
    if new.order_class != "simple":
        return None
    for o in orders:
        if o.symbol != new.symbol or o.side == new.side or not o.open:
            continue
        if o.order_class != "simple":
            continue
        if "market" in (o.type, new.type) or "stop" in (o.type, new.type):
            return o
        buy, sell = (new, o) if new.side == "buy" else (o, new)
        if (buy.limit_price or 0.0) >= (sell.limit_price or 0.0):
            return o
    return None


def _float(value: Any) -> float | None:
    return None if value is None or value == "" else float(value)
