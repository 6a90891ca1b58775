"""Orders, positions and wire shapes of the Alpaca trading stand-in (see :mod:`.alpaca_broker`).

The JSON shapes follow Alpaca's documented Trading API v2 objects (``Order``, ``Position``,
``Account``, ``Clock``, the ``FILL`` account activity and the ``trade_updates`` event): numbers
are strings where Alpaca sends strings, timestamps are RFC 3339 in UTC, bracket legs are
nested under ``legs``. alpaca-py's models parse every shape produced here.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

NEW_YORK = "America/New_York"
TERMINAL = frozenset({"filled", "canceled", "expired", "rejected", "replaced", "done_for_day"})
_ASSET_NS = uuid.UUID("6ba7b811-9dad-11d1-80b4-00c04fd430c8")


class BrokerError(Exception):
    """A refusal with Alpaca's HTTP status and JSON error body."""

    def __init__(self, status: int, code: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body: dict[str, Any] = {"code": code, "message": message, **extra}


def iso(ts: pd.Timestamp | None) -> str | None:
    """Alpaca's timestamp text: UTC with microseconds and ``Z``."""
    if ts is None:
        return None
    return ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def num(x: float | None) -> str | None:
    """A number as Alpaca's decimal string (no float noise, no exponent)."""
    if x is None:
        return None
    text = f"{round(float(x), 9):.9f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def asset_id(symbol: str) -> str:
    return str(uuid.uuid5(_ASSET_NS, symbol))


def session_day(ts: pd.Timestamp) -> pd.Timestamp:
    """The exchange session a bar belongs to: daily bars (00:00 UTC) are their date,
    intraday bars the New York date of their start."""
    utc = ts.tz_convert("UTC")
    if utc == utc.normalize():
        return utc.normalize().tz_localize(None)
    return utc.tz_convert(NEW_YORK).normalize().tz_localize(None)


@dataclass
class BookOrder:
    """One order at the stand-in, in Alpaca's terms."""

    id: str
    client_order_id: str
    symbol: str
    side: str
    type: str
    time_in_force: str
    created_at: pd.Timestamp
    qty: float | None = None
    notional: float | None = None
    limit_price: float | None = None
    stop_price: float | None = None
    order_class: str = "simple"
    status: str = "new"
    filled_qty: float = 0.0
    filled_avg_price: float | None = None
    updated_at: pd.Timestamp | None = None
    filled_at: pd.Timestamp | None = None
    canceled_at: pd.Timestamp | None = None
    expired_at: pd.Timestamp | None = None
    failed_at: pd.Timestamp | None = None
    replaced_at: pd.Timestamp | None = None
    replaced_by: str | None = None
    replaces: str | None = None
    legs: list[str] = field(default_factory=list)
    parent: str | None = None
    session: pd.Timestamp | None = None  # the session of the first bar it was matched on
    partial: float | None = None  # fault: fraction filled at the first fill
    last_fill_bar: pd.Timestamp | None = None
    active_from: pd.Timestamp | None = None  # legs: first bar they may trigger on
    triggered: bool = False  # stop-limit orders once their stop is hit

    @property
    def open(self) -> bool:
        return self.status not in TERMINAL

    @property
    def working(self) -> bool:
        """Eligible for matching (held bracket legs are not)."""
        return self.open and self.status != "held"

    @property
    def remaining(self) -> float:
        return max((self.qty or 0.0) - self.filled_qty, 0.0)

    @property
    def sign(self) -> int:
        return 1 if self.side == "buy" else -1


def order_json(o: BookOrder, legs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The ``Order`` object of Alpaca's REST API and of ``trade_updates`` events."""
    return {
        "id": o.id,
        "client_order_id": o.client_order_id,
        "created_at": iso(o.created_at),
        "updated_at": iso(o.updated_at or o.created_at),
        "submitted_at": iso(o.created_at),
        "filled_at": iso(o.filled_at),
        "expired_at": iso(o.expired_at),
        "canceled_at": iso(o.canceled_at),
        "failed_at": iso(o.failed_at),
        "replaced_at": iso(o.replaced_at),
        "replaced_by": o.replaced_by,
        "replaces": o.replaces,
        "asset_id": asset_id(o.symbol),
        "symbol": o.symbol,
        "asset_class": "us_equity",
        "notional": num(o.notional),
        "qty": num(o.qty),
        "filled_qty": num(o.filled_qty),
        "filled_avg_price": num(o.filled_avg_price),
        "order_class": o.order_class,
        "order_type": o.type,
        "type": o.type,
        "side": o.side,
        "position_intent": None,
        "time_in_force": o.time_in_force,
        "limit_price": num(o.limit_price),
        "stop_price": num(o.stop_price),
        "status": o.status,
        "extended_hours": False,
        "legs": legs,
        "trail_percent": None,
        "trail_price": None,
        "hwm": None,
    }


@dataclass
class Holding:
    """A position: signed quantity and average entry price."""

    qty: float
    avg_price: float


def position_json(symbol: str, h: Holding, price: float, held: float = 0.0) -> dict[str, Any]:
    """The ``Position`` object; ``held``: shares open orders against it hold."""
    value = h.qty * price
    cost = h.qty * h.avg_price
    pl = value - cost
    return {
        "asset_id": asset_id(symbol),
        "symbol": symbol,
        "exchange": "NASDAQ",
        "asset_class": "us_equity",
        "asset_marginable": True,
        "avg_entry_price": num(h.avg_price),
        "qty": num(h.qty),
        "qty_available": num(math.copysign(max(abs(h.qty) - held, 0.0), h.qty)),
        "side": "long" if h.qty > 0 else "short",
        "market_value": num(value),
        "cost_basis": num(cost),
        "unrealized_pl": num(pl),
        "unrealized_plpc": num(pl / abs(cost) if cost else 0.0),
        "unrealized_intraday_pl": num(pl),
        "unrealized_intraday_plpc": num(pl / abs(cost) if cost else 0.0),
        "current_price": num(price),
        "lastday_price": num(price),
        "change_today": "0",
    }


def apply_fill(h: Holding | None, signed_qty: float, price: float) -> Holding | None:
    """The position after a fill (average cost; a flip starts a new average at ``price``)."""
    if h is None or h.qty == 0:
        return Holding(signed_qty, price)
    new_qty = round(h.qty + signed_qty, 9)
    if new_qty == 0:
        return None
    if h.qty * signed_qty > 0:  # adding to the position
        avg = (abs(h.qty) * h.avg_price + abs(signed_qty) * price) / abs(new_qty)
        return Holding(new_qty, avg)
    if h.qty * new_qty > 0:  # reducing
        return Holding(new_qty, h.avg_price)
    return Holding(new_qty, price)  # flipped through zero


def clock_json(now: pd.Timestamp) -> dict[str, Any]:
    """``/v2/clock``: regular sessions 09:30-16:00 New York, Monday to Friday (no holidays)."""
    local = now.tz_convert(NEW_YORK)
    day = local.normalize()

    def at(d: pd.Timestamp, hour: int, minute: int) -> pd.Timestamp:
        return d + pd.Timedelta(hours=hour, minutes=minute)

    def next_weekday(d: pd.Timestamp) -> pd.Timestamp:
        # calendar days, not 24 hours: on the 25-hour day DST ends, 24 hours after midnight is
        # still the same date, and normalizing it would never get past that Sunday
        d = (d + pd.DateOffset(days=1)).normalize()
        while d.weekday() >= 5:
            d = (d + pd.DateOffset(days=1)).normalize()
        return d

    is_open = day.weekday() < 5 and at(day, 9, 30) <= local < at(day, 16, 0)
    open_day = day if day.weekday() < 5 and local < at(day, 9, 30) else next_weekday(day)
    close_day = day if day.weekday() < 5 and local < at(day, 16, 0) else next_weekday(day)
    return {
        "timestamp": local.isoformat(),
        "is_open": bool(is_open),
        "next_open": at(open_day, 9, 30).isoformat(),
        "next_close": at(close_day, 16, 0).isoformat(),
    }


def trigger_price(o: BookOrder, op: float, hi: float, lo: float, *, at_open: bool) -> float | None:
    """Where a working order fills on a bar (``None``: it does not).

    Market orders fill at the open. A limit fills at the open when the open is already
    through the level (a gap), otherwise at the level when the range reaches it; a stop
    likewise (a gap fills at the open, a touch at the stop). ``at_open=False`` (a bracket
    leg that became active inside this bar) ignores the open: only the level can fill."""
    buy = o.side == "buy"
    if o.type == "market":
        return op if at_open else None
    if o.type == "stop_limit" and not o.triggered:
        stop = o.stop_price
        assert stop is not None
        touched = hi >= stop if buy else lo <= stop
        if not touched:
            return None
        o.triggered = True
        gap = at_open and (op >= stop if buy else op <= stop)
        start = op if gap else stop
        limit = o.limit_price
        assert limit is not None
        if (buy and start <= limit) or (not buy and start >= limit):
            return start
        reached = lo <= limit if buy else hi >= limit
        return limit if reached else None
    if o.type in ("limit", "stop_limit"):
        limit = o.limit_price
        assert limit is not None
        if at_open and ((buy and op <= limit) or (not buy and op >= limit)):
            return op
        return limit if (lo <= limit if buy else hi >= limit) else None
    stop = o.stop_price  # stop
    assert stop is not None
    if at_open and ((buy and op >= stop) or (not buy and op <= stop)):
        return op
    return stop if (hi >= stop if buy else lo <= stop) else None


def partial_qty(total: float, fraction: float) -> float:
    """The first slice of a partially filled order (whole shares when the order is whole)."""
    if float(total).is_integer() and total >= 2:
        return float(min(max(math.floor(total * fraction), 1), total - 1))
    return round(total * fraction, 9)


def trade_update(
    event: str,
    order: dict[str, Any],
    ts: pd.Timestamp,
    *,
    execution_id: str | None = None,
    price: float | None = None,
    qty: float | None = None,
    position_qty: float | None = None,
) -> dict[str, Any]:
    """A message of the ``trade_updates`` stream."""
    data: dict[str, Any] = {"event": event, "timestamp": iso(ts), "order": order}
    if execution_id is not None:
        data.update(
            execution_id=execution_id,
            price=num(price),
            qty=num(qty),
            position_qty=num(position_qty),
        )
    return {"stream": "trade_updates", "data": data}


def fill_activity(
    execution_id: str, o: BookOrder, qty: float, price: float, ts: pd.Timestamp
) -> dict[str, Any]:
    """A ``FILL`` account activity; its id is ``<time>::<execution id>`` as at Alpaca."""
    stamp = ts.tz_convert("UTC").strftime("%Y%m%d%H%M%S%f")[:-3]
    return {
        "id": f"{stamp}::{execution_id}",
        "activity_type": "FILL",
        "transaction_time": iso(ts),
        "type": "fill" if o.status == "filled" else "partial_fill",
        "price": num(price),
        "qty": num(qty),
        "side": o.side,
        "symbol": o.symbol,
        "leaves_qty": num(o.remaining),
        "order_id": o.id,
        "cum_qty": num(o.filled_qty),
        "order_status": o.status,
    }
