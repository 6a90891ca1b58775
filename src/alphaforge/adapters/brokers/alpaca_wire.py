"""Translation between alphaforge's order values and Alpaca's, through alpaca-py's models.

Order states (Alpaca status -> :class:`~alphaforge.core.orders.OrderState`):

==============================================================  =====================
``pending_new``, ``accepted_for_bidding``                       ``submitted``
``new``, ``accepted``, ``held`` (bracket legs waiting),         ``accepted``
``pending_cancel``, ``pending_replace``, ``calculated``,
``stopped``, ``suspended``, ``pending_review``, ``done_for_day``
``partially_filled`` (and any working status with fills)        ``partially_filled``
``filled``                                                      ``filled``
``canceled``                                                    ``cancelled``
``expired``                                                     ``expired``
``rejected``                                                    ``rejected``
``replaced``                                                    the replacement's state
==============================================================  =====================

``pending_cancel`` stays ``accepted`` because the order can still fill until Alpaca confirms
the cancel; ``done_for_day`` is a working order that takes no more fills today. A
``replaced`` order continues as its replacement under the original client order id.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from alphaforge.core.errors import (
    DuplicateOrderError,
    InsufficientBuyingPowerError,
    OrderRejectedError,
    RateLimitedError,
    VenueError,
    VenueUnavailableError,
)
from alphaforge.core.orders import (
    Fill,
    Intent,
    OrderRequest,
    OrderState,
    OrderType,
    Side,
    TimeInForce,
)
from alphaforge.ports import BarSet, VenueOrder

_S = OrderState
STATES: dict[str, OrderState] = {
    "pending_new": _S.SUBMITTED,
    "accepted_for_bidding": _S.SUBMITTED,
    "new": _S.ACCEPTED,
    "accepted": _S.ACCEPTED,
    "held": _S.ACCEPTED,
    "pending_cancel": _S.ACCEPTED,
    "pending_replace": _S.ACCEPTED,
    "calculated": _S.ACCEPTED,
    "stopped": _S.ACCEPTED,
    "suspended": _S.ACCEPTED,
    "pending_review": _S.ACCEPTED,
    "done_for_day": _S.ACCEPTED,
    "replaced": _S.ACCEPTED,
    "partially_filled": _S.PARTIALLY_FILLED,
    "filled": _S.FILLED,
    "canceled": _S.CANCELLED,
    "expired": _S.EXPIRED,
    "rejected": _S.REJECTED,
}
EVENT_STATES: dict[str, OrderState] = {
    "pending_new": _S.SUBMITTED,
    "new": _S.ACCEPTED,
    "accepted": _S.ACCEPTED,
    "fill": _S.FILLED,
    "partial_fill": _S.PARTIALLY_FILLED,
    "canceled": _S.CANCELLED,
    "expired": _S.EXPIRED,
    "rejected": _S.REJECTED,
}
"""Trade-update events that move an order (``replaced``, ``pending_*``, ``restated`` and
``done_for_day`` do not)."""


def value(x: Any) -> str:
    """The text of an alpaca-py enum member or plain value."""
    return str(getattr(x, "value", x))


def state_of(status: Any, filled_qty: float) -> OrderState:
    s = STATES.get(value(status), _S.ACCEPTED)
    if s is _S.ACCEPTED and filled_qty > 0:
        return _S.PARTIALLY_FILLED
    return s


def fnum(x: Any) -> float:
    return 0.0 if x is None or x == "" else float(x)


def order_request(req: OrderRequest) -> Any:
    """The alpaca-py request model of ``req`` (a bracket when it carries stop / target)."""
    from alpaca.trading.enums import OrderClass, OrderSide
    from alpaca.trading.enums import TimeInForce as Tif
    from alpaca.trading.requests import (
        LimitOrderRequest,
        MarketOrderRequest,
        StopLimitOrderRequest,
        StopLossRequest,
        StopOrderRequest,
        TakeProfitRequest,
    )

    common: dict[str, Any] = {
        "symbol": req.symbol,
        "qty": req.qty,
        "side": OrderSide.BUY if req.side is Side.BUY else OrderSide.SELL,
        "time_in_force": Tif.GTC if req.tif is TimeInForce.GTC else Tif.DAY,
        "client_order_id": req.client_id,
    }
    if req.intent is Intent.STOP and req.take_profit is not None and req.stop is not None:
        # a protective pair for a position held: one-cancels-other, the limit is the target
        return LimitOrderRequest(
            limit_price=req.take_profit,
            order_class=OrderClass.OCO,
            take_profit=TakeProfitRequest(limit_price=req.take_profit),
            stop_loss=StopLossRequest(stop_price=req.stop),
            **common,
        )
    if req.take_profit is not None and req.stop_loss is not None:
        common["order_class"] = OrderClass.BRACKET
    elif req.take_profit is not None or req.stop_loss is not None:
        common["order_class"] = OrderClass.OTO
    if req.take_profit is not None:
        common["take_profit"] = TakeProfitRequest(limit_price=req.take_profit)
    if req.stop_loss is not None:
        common["stop_loss"] = StopLossRequest(stop_price=req.stop_loss)
    if req.type is OrderType.LIMIT:
        return LimitOrderRequest(limit_price=req.limit, **common)
    if req.type is OrderType.STOP:
        return StopOrderRequest(stop_price=req.stop, **common)
    if req.type is OrderType.STOP_LIMIT:
        return StopLimitOrderRequest(limit_price=req.limit, stop_price=req.stop, **common)
    return MarketOrderRequest(**common)


def venue_order(o: Any, client_id: str, parent_id: str = "") -> VenueOrder:
    """A :class:`VenueOrder` of an alpaca-py ``Order`` (reported under ``client_id``)."""
    filled = fnum(o.filled_qty)
    otype = value(o.type or o.order_type)
    return VenueOrder(
        client_id=client_id,
        venue_id=str(o.id),
        symbol=str(o.symbol),
        side=Side(value(o.side)),
        qty=fnum(o.qty) or fnum(o.notional),
        type=OrderType(otype) if otype in OrderType._value2member_map_ else OrderType.MARKET,
        state=state_of(o.status, filled),
        filled_qty=filled,
        avg_price=fnum(o.filled_avg_price),
        limit=float(o.limit_price) if o.limit_price is not None else None,
        stop=float(o.stop_price) if o.stop_price is not None else None,
        parent_id=parent_id,
    )


def activity_fill(a: dict[str, Any], client_id: str) -> Fill:
    """A :class:`Fill` of a ``FILL`` account activity; the fill id is the execution id (the
    part of the activity id after ``::``), the same id the stream's ``execution_id`` has."""
    return Fill(
        fill_id=str(a["id"]).rsplit("::", 1)[-1],
        client_id=client_id,
        symbol=str(a["symbol"]),
        side=Side(str(a["side"]).lower().replace("sell_short", "sell")),
        qty=fnum(a["qty"]),
        price=fnum(a["price"]),
        fee=0.0,
        ts=str(a["transaction_time"]),
    )


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` on one line, without any of ``secrets``, at most 300 characters."""
    for s in secrets:
        if s:
            text = text.replace(s, "***")
    return " ".join(text.split())[:300]


class RedactingLogger(logging.LoggerAdapter):
    """A logger that formats each message and replaces ``secrets`` in it: handed to the
    WebSocket client, whose debug log shows every frame (the authentication one too)."""

    def __init__(self, logger: logging.Logger, secrets: Iterable[str]) -> None:
        super().__init__(logger, {})
        self._secrets = [s for s in secrets if s]

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        for s in self._secrets:
            text = text.replace(s, "***")
        kwargs.pop("stacklevel", None)
        self.logger.log(level, "%s", text, stacklevel=2, **kwargs)


def api_message(exc: Any) -> str:
    """Alpaca's ``message`` of an alpaca-py ``APIError`` (its text when not JSON)."""
    raw = str(exc)
    try:
        body = json.loads(raw)
    except ValueError:
        return raw
    return str(body.get("message", raw)) if isinstance(body, dict) else raw


def venue_error(exc: Any, action: str, secrets: Iterable[str]) -> VenueError:
    """The :class:`VenueError` of an alpaca-py ``APIError`` raised while doing ``action``."""
    status = int(exc.status_code or 0)
    msg = scrub(api_message(exc), secrets)
    text = f"alpaca: {action}: {msg} (HTTP {status})"
    if status == 429:
        headers = exc.response.headers if exc.response is not None else {}
        return RateLimitedError(text, retry_after=retry_after(headers.get("Retry-After")))
    if status >= 500:
        return VenueUnavailableError(text)
    if status == 422 and "client_order_id must be unique" in msg:
        return DuplicateOrderError(text)
    if action == "submit" and "buying power" in msg.lower():
        return InsufficientBuyingPowerError(text)
    if action == "submit" and status in (400, 403, 422):
        return OrderRejectedError(text)
    return VenueError(text)


def retry_after(header: str | None) -> float | None:
    if not header:
        return None
    try:
        return max(float(header), 0.0)
    except ValueError:
        return None


def bars_json(bars: BarSet) -> dict[str, Any]:
    """The stand-in's ``POST /_standin/bar`` body of ``bars`` (NaN as ``null``)."""

    def col(a: Any) -> list[float | None]:
        return [None if v != v else float(v) for v in a]

    return {
        "ts": pd.Timestamp(bars.ts).isoformat(),
        "symbols": list(bars.symbols),
        "open": col(bars.open),
        "high": col(bars.high),
        "low": col(bars.low),
        "close": col(bars.close),
        "volume": col(bars.volume),
    }


def stream_url_of(url: str | None) -> str | None:
    """The ``trade_updates`` URL beside a REST base URL (``<url>/stream``, ws scheme)."""
    if url is None:
        return None
    parts = urlsplit(url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return f"{scheme}://{parts.netloc}{parts.path.rstrip('/')}/stream"


LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def off_loopback(
    url: str | None, stream_url: str | None, replay_url: str | None
) -> tuple[str, str | None] | None:
    """The first of a replay's URLs (``base_url``, ``stream_url``, ``replay_url``: the key and
    its value) that is not a local stand-in on loopback, or None when all are. A replay feeds
    old bars: its orders must never reach Alpaca's own servers (paper or live), so the REST and
    stream endpoints must be the stand-in's too, not only the control URL."""
    stream = stream_url or stream_url_of(url)
    for key, value in (("base_url", url), ("stream_url", stream), ("replay_url", replay_url)):
        if value is None or urlsplit(value).hostname not in LOCAL_HOSTS:
            return key, value
    return None
