"""REST routes of the Alpaca trading stand-in (:class:`~.alpaca_broker.AlpacaBroker`).

Paths, parameters, bodies and status codes of Alpaca's Trading API v2 for the routes
alpaca-py's ``TradingClient`` uses: account, clock, positions, orders (submit, list, get, by
client order id, cancel one or all, replace) and the ``FILL`` account activities.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from alphaforge.testing.alpaca_model import BrokerError, order_json

if TYPE_CHECKING:
    from alphaforge.testing.alpaca_book import Book
    from alphaforge.testing.alpaca_broker import AlpacaBroker, Answer


def route(broker: AlpacaBroker, method: str, path: str, query: dict[str, str], body: Any) -> Answer:
    """Answer one authorised request (raises :class:`BrokerError` for Alpaca's errors)."""
    from alphaforge.testing.alpaca_broker import Answer

    if method == "POST" and path == "/v2/orders":
        return broker.submit(body if isinstance(body, dict) else {})
    with broker.lock:
        book = broker.book
        if method == "GET":
            return Answer(200, _get(broker, path, query))
        if method == "DELETE" and path == "/v2/orders":
            results, events = book.cancel_all()
            broker.emit(events)
            return Answer(207, results)
        if method == "DELETE" and path.startswith("/v2/orders/"):
            broker.cancel(path.rsplit("/", 1)[1])
            return Answer(204)
        if method == "PATCH" and path.startswith("/v2/orders/"):
            new, events = book.replace(path.rsplit("/", 1)[1], body or {})
            broker.emit(events)
            return Answer(200, book.nested(new))
        if method == "DELETE" and path.startswith("/v2/positions/"):
            qty = query.get("qty")
            held = book.positions.get(path.rsplit("/", 1)[1].upper())
            if qty is None and query.get("percentage") and held is not None:
                qty = str(abs(held.qty) * float(query["percentage"]) / 100)
            symbol = path.rsplit("/", 1)[1].upper()
            o = book.close_position(symbol, float(qty) if qty else None)
            broker.emit([_new_event(o, broker)])
            return Answer(200, order_json(o))
        if method == "DELETE" and path == "/v2/positions":
            out = []
            for symbol in list(book.positions):
                o = book.close_position(symbol, None)
                broker.emit([_new_event(o, broker)])
                out.append({"symbol": symbol, "status": 200, "body": order_json(o)})
            return Answer(207, out)
    raise BrokerError(404, 40410000, "endpoint not found")


def _new_event(o: Any, broker: AlpacaBroker) -> dict[str, Any]:
    from alphaforge.testing.alpaca_model import trade_update

    return trade_update("new", order_json(o), broker.book.now)


def _get(broker: AlpacaBroker, path: str, query: dict[str, str]) -> Any:
    book = broker.book
    if path == "/v2/account":
        return book.account_json()
    if path == "/v2/clock":
        return broker.clock()
    if path == "/v2/positions":
        return [book.position_of(s) for s in book.positions]
    if path.startswith("/v2/positions/"):
        return broker.position(path.rsplit("/", 1)[1].upper())
    if path == "/v2/orders":
        return list_orders(book, query)
    if path == "/v2/orders:by_client_order_id":
        return book.nested(broker.read_order(book.by_client_id(query.get("client_order_id", ""))))
    if path.startswith("/v2/orders/"):
        return book.nested(broker.read_order(book.get(path.rsplit("/", 1)[1])))
    if path == "/v2/account/activities/FILL":
        return list_fills(book, query)
    if path == "/v2/account/activities":
        if query.get("activity_types", "FILL") != "FILL":
            return []
        return list_fills(book, query)
    raise BrokerError(404, 40410000, "endpoint not found")


def list_orders(book: Book, q: dict[str, str]) -> list[dict[str, Any]]:
    """``GET /v2/orders`` with Alpaca's filters (status, limit, after, until, direction,
    nested, symbols, side)."""
    status = q.get("status", "open")
    nested = q.get("nested", "false").lower() == "true"
    symbols = {s.strip().upper() for s in q.get("symbols", "").split(",") if s.strip()}
    after, until = _ts_param(q.get("after")), _ts_param(q.get("until"))
    out = []
    for o in book.orders.values():
        if nested and o.parent is not None:
            continue
        live = o.open or (nested and any(book.orders[i].open for i in o.legs))
        if (status == "open" and not live) or (status == "closed" and live):
            continue
        if (symbols and o.symbol not in symbols) or q.get("side") not in (None, o.side):
            continue
        if after is not None and o.created_at <= after:
            continue
        if until is not None and o.created_at >= until:
            continue
        out.append(o)
    out.sort(key=lambda o: o.created_at, reverse=q.get("direction", "desc") == "desc")
    limit = min(int(q.get("limit", 50)), 500)
    return [book.nested(o) if nested else order_json(o) for o in out[:limit]]


def list_fills(book: Book, q: dict[str, str]) -> list[dict[str, Any]]:
    """``GET /v2/account/activities/FILL`` (after, until, direction, page_size, page_token)."""
    after, until = _ts_param(q.get("after")), _ts_param(q.get("until"))
    rows = [
        a
        for a in book.activities
        if (after is None or pd.Timestamp(a["transaction_time"]) > after)
        and (until is None or pd.Timestamp(a["transaction_time"]) < until)
    ]
    if q.get("direction", "desc") == "desc":
        rows = rows[::-1]
    token = q.get("page_token")
    if token:
        ids = [a["id"] for a in rows]
        rows = rows[ids.index(token) + 1 :] if token in ids else []
    return rows[: min(int(q.get("page_size", 100)), 100)]


def _ts_param(text: str | None) -> pd.Timestamp | None:
    if not text:
        return None
    t = pd.Timestamp(text)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
