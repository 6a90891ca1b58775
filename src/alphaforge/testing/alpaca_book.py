"""The account of the Alpaca trading stand-in: orders, positions, cash and fills from bars.

Not thread-safe on its own: :class:`~alphaforge.testing.alpaca_broker.AlpacaBroker` holds a
lock around every call. Each operation returns the ``trade_updates`` messages it caused, in
the order they happened.

Fill rules (replay): an order matches from the first bar that starts after it was received.
Market orders fill at that bar's open (a bar's open may come alone first, :meth:`Book.on_open`:
a market order received then fills at the same open); limit and stop orders (and bracket legs) trigger on the
bar's range: through the level at the open (a gap) fills at the open, otherwise at the level.
When both legs of a bracket could trigger in one bar the stop fills and the target is
cancelled (the conservative reading of a bar whose path is unknown). Legs become active when
the parent fills, as Alpaca documents ("once it is filled, either of the last two conditional
orders are activated"): they may trigger later in the same bar at their level, whether the
parent filled at the open or inside the bar (the stand-in cannot know which part of the range
came after the fill and takes all of it). A parent that ends unfilled cancels its held legs;
an OCO's two legs are on one side (exits of one position). ``day`` orders expire when their
session ends: a daily bar is a whole session, so the day orders it matched expire at its end;
an intraday bar does not say when its session ends, so its day orders expire when a bar of a
later session arrives. ``opg`` and ``ioc`` orders only take their first bar. Buying power is
``multiplier * equity - gross position value`` (open orders reserve nothing). An order against
a position may be for at most the position less the shares other open orders on its side hold
(Alpaca's "insufficient qty available for order"): no order takes a position through zero.
A simple order that could trade against an open simple order on the other side of its symbol is
refused as a potential wash trade (:func:`~alphaforge.testing.alpaca_orders.wash_trade_with`).
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.core.panel import utc_time
from alphaforge.ports import BarSet
from alphaforge.testing.alpaca_model import (
    BookOrder,
    BrokerError,
    Holding,
    apply_fill,
    fill_activity,
    num,
    order_json,
    partial_qty,
    position_json,
    session_day,
    trade_update,
    trigger_price,
)
from alphaforge.testing.alpaca_orders import leg_of, parse_order, wash_trade_with

Message = dict[str, Any]


class Book:
    """Orders, positions and cash of one stand-in account."""

    def __init__(
        self,
        cash: float,
        now: pd.Timestamp,
        *,
        multiplier: float = 2.0,
        fee_per_share: float = 0.0,
        through_zero: bool = False,
        wash_trades: bool = True,
    ) -> None:
        self.cash = float(cash)
        # Alpaca refuses an order against a position for more than the shares not held by other
        # open orders (so a reversal takes two orders); ``through_zero`` turns that check off,
        # for tests that compare with a backtest reversing in one bar
        self.through_zero = through_zero
        # Alpaca refuses a simple order that could trade against an open simple order of the
        # account on the other side (see :func:`wash_trade_with`); ``wash_trades=False`` turns
        # that check off
        self.wash_trades = wash_trades
        self.now = now
        self.multiplier = multiplier
        self.fee_per_share = fee_per_share
        self.orders: dict[str, BookOrder] = {}
        self.by_client: dict[str, str] = {}
        self.positions: dict[str, Holding] = {}
        self.last: dict[str, float] = {}
        self.activities: list[dict[str, Any]] = []
        self.partial_next: float | None = None
        self.last_bar_ts: pd.Timestamp | None = None  # the last bar matched (time never goes back)
        self.opened: pd.Timestamp | None = None  # the last bar whose open was matched alone

    # -- account ----------------------------------------------------------------------------
    def price(self, symbol: str, fallback: float = 0.0) -> float:
        return self.last.get(symbol, fallback)

    def market_values(self) -> tuple[float, float]:
        long = sum(
            h.qty * self.price(s, h.avg_price) for s, h in self.positions.items() if h.qty > 0
        )
        short = sum(
            h.qty * self.price(s, h.avg_price) for s, h in self.positions.items() if h.qty < 0
        )
        return long, short

    def equity(self) -> float:
        long, short = self.market_values()
        return self.cash + long + short

    def buying_power(self) -> float:
        long, short = self.market_values()
        return max(self.multiplier * self.equity() - (long - short), 0.0)

    def account_json(self) -> dict[str, Any]:
        long, short = self.market_values()
        equity, bp = self.equity(), self.buying_power()
        return {
            "id": "2a87c088-ffb6-472b-a4a3-cd9305c8605c",
            "account_number": "PA1STANDIN01",
            "status": "ACTIVE",
            "crypto_status": "ACTIVE",
            "currency": "USD",
            "buying_power": num(bp),
            "regt_buying_power": num(bp),
            "daytrading_buying_power": "0",
            "non_marginable_buying_power": num(max(self.cash, 0.0)),
            "cash": num(self.cash),
            "accrued_fees": "0",
            "pending_transfer_out": "0",
            "pending_transfer_in": "0",
            "portfolio_value": num(equity),
            "pattern_day_trader": False,
            "trading_blocked": False,
            "transfers_blocked": False,
            "account_blocked": False,
            "created_at": "2020-01-02T15:00:00.000000Z",
            "trade_suspended_by_user": False,
            "multiplier": num(self.multiplier),
            "shorting_enabled": True,
            "equity": num(equity),
            "last_equity": num(equity),
            "long_market_value": num(long),
            "short_market_value": num(short),
            "initial_margin": num((long - short) / 2),
            "maintenance_margin": num((long - short) * 0.3),
            "last_maintenance_margin": "0",
            "sma": "0",
            "daytrade_count": 0,
        }

    def nested(self, o: BookOrder) -> dict[str, Any]:
        return order_json(o, [order_json(self.orders[i]) for i in o.legs] or None)

    # -- submit -----------------------------------------------------------------------------
    def submit(self, body: dict[str, Any]) -> tuple[BookOrder, list[Message]]:
        """``POST /v2/orders``: validate, check buying power, create the order (and legs)."""
        parent = parse_order(body, self.now)
        client_id = parent.client_order_id
        if client_id in self.by_client:
            raise BrokerError(422, 40010001, "client_order_id must be unique")
        self._check_buying_power(parent)
        self._check_qty_available(parent)
        other = wash_trade_with(parent, self.orders.values()) if self.wash_trades else None
        if other is not None:
            raise BrokerError(
                403, 40310000, "potential wash trade detected. use complex orders",
                existing_order_id=other.id,
            )  # fmt: skip
        order_class = parent.order_class
        legs: list[BookOrder] = []
        tp: dict[str, Any] = body.get("take_profit") or {}
        sl: dict[str, Any] = body.get("stop_loss") or {}
        if order_class == "oco":  # the order itself is the take-profit; the stop is its leg
            parent.type, parent.limit_price = "limit", float(tp["limit_price"])
            legs.append(leg_of(parent, "stop", sl, "new", self.now, side=parent.side))
        elif order_class in ("bracket", "oto"):
            if tp:
                legs.append(leg_of(parent, "limit", tp, "held", self.now))
            if sl:
                legs.append(leg_of(parent, "stop", sl, "held", self.now))
        if self.partial_next is not None:
            parent.partial, self.partial_next = self.partial_next, None
        self._add(parent)
        for leg in legs:
            self._add(leg)
        parent.legs = [leg.id for leg in legs]
        return parent, []

    def _add(self, o: BookOrder) -> None:
        self.orders[o.id] = o
        self.by_client[o.client_order_id] = o.id

    def _check_buying_power(self, o: BookOrder) -> None:
        held = self.positions.get(o.symbol)
        ref = o.limit_price or o.stop_price or self.last.get(o.symbol)
        if o.notional is not None:
            opening_cost = o.notional if not held or held.qty * o.sign >= 0 else 0.0
        elif ref is None:
            return  # no price known yet: nothing to check against
        else:
            assert o.qty is not None
            current = held.qty if held else 0.0
            opening = max(abs(current + o.sign * o.qty) - abs(current), 0.0)
            opening_cost = opening * ref
        bp = self.buying_power()
        if opening_cost > bp + 1e-9:
            raise BrokerError(
                403,
                40310000,
                "insufficient buying power",
                buying_power=num(bp),
                cost_basis=num(opening_cost),
            )

    # -- cancel / replace / close -----------------------------------------------------------
    def position_of(self, symbol: str) -> dict[str, Any]:
        """The ``Position`` object of a held ``symbol`` (its ``qty_available`` net of the
        shares open orders against it hold)."""
        h = self.positions[symbol]
        held = self.held_for_orders(symbol, "sell" if h.qty > 0 else "buy")
        return position_json(symbol, h, self.price(symbol, h.avg_price), held)

    def held_for_orders(self, symbol: str, side: str) -> float:
        """Shares of ``symbol`` held by open ``side`` orders: an OCO's or an active bracket's
        two exit legs hold one quantity between them; legs still held by their parent hold
        nothing yet."""
        per_group: dict[str, float] = {}
        for o in self.orders.values():
            if o.symbol != symbol or o.side != side or not o.working or o.qty is None:
                continue
            group = o.parent or o.id  # an order and its legs, or the legs of one parent
            per_group[group] = max(per_group.get(group, 0.0), o.remaining)
        return sum(per_group.values())

    def _check_qty_available(self, o: BookOrder) -> None:
        """Alpaca does not let one order take a position through zero, nor sell (buy back)
        shares already held for other open orders: an order against the position may be for
        at most the position less what those orders hold (error 40310000, "insufficient qty
        available for order"). A reversal is two orders: close, then open."""
        held = self.positions.get(o.symbol)
        if self.through_zero or o.qty is None or held is None or held.qty * o.sign >= 0:
            return  # (an order that opens or adds to a position)
        reserved = self.held_for_orders(o.symbol, o.side)
        available = max(abs(held.qty) - reserved, 0.0)
        if o.qty > available + 1e-9:
            raise BrokerError(
                403,
                40310000,
                f"insufficient qty available for order (requested: {num(o.qty)}, "
                f"available: {num(available)})",
                available=num(available),
                existing_qty=num(abs(held.qty)),
                held_for_orders=num(reserved),
                symbol=o.symbol,
            )

    def get(self, order_id: str) -> BookOrder:
        if order_id not in self.orders:
            raise BrokerError(404, 40410000, "order not found")
        return self.orders[order_id]

    def by_client_id(self, client_id: str) -> BookOrder:
        if client_id not in self.by_client:
            raise BrokerError(404, 40410000, "order not found")
        return self.orders[self.by_client[client_id]]

    def cancel(self, order_id: str) -> list[Message]:
        o = self.get(order_id)
        if not o.open:
            raise BrokerError(422, 42210000, f'order is already in "{o.status}" state')
        events = self._end(o, "canceled")
        for leg_id in o.legs:
            leg = self.orders[leg_id]
            if leg.open:
                events += self._end(leg, "canceled")
        return events

    def cancel_all(self) -> tuple[list[dict[str, Any]], list[Message]]:
        results, events = [], []
        for o in list(self.orders.values()):
            if o.open and o.parent is None:
                events += self.cancel(o.id)
                results.append({"id": o.id, "status": 200, "body": order_json(o)})
        return results, events

    def replace(self, order_id: str, body: dict[str, Any]) -> tuple[BookOrder, list[Message]]:
        """``PATCH /v2/orders/{id}``: a new order replaces the old one (Alpaca's semantics)."""
        old = self.get(order_id)
        if not old.open:
            raise BrokerError(422, 42210000, f'order is already in "{old.status}" state')
        new = BookOrder(**{**old.__dict__, "legs": list(old.legs)})
        new.id, new.replaces, new.created_at, new.updated_at = (
            str(uuid.uuid4()),
            old.id,
            self.now,
            None,
        )
        new.client_order_id = str(body.get("client_order_id") or uuid.uuid4())
        if new.client_order_id in self.by_client:
            raise BrokerError(422, 40010001, "client_order_id must be unique")
        for key in ("qty", "limit_price", "stop_price"):
            if body.get(key) is not None:
                setattr(new, key, float(body[key]))
        if body.get("time_in_force"):
            new.time_in_force = str(body["time_in_force"])
        old.status, old.replaced_by, old.replaced_at = "replaced", new.id, self.now
        old.updated_at = self.now
        self._add(new)
        if old.parent is not None:  # a leg keeps its place in the bracket
            legs = self.orders[old.parent].legs
            legs[legs.index(old.id)] = new.id
        for leg_id in new.legs:
            self.orders[leg_id].parent = new.id
        replaced = trade_update("replaced", order_json(old), self.now)
        return new, [replaced, trade_update("new", order_json(new), self.now)]

    def close_position(self, symbol: str, qty: float | None) -> BookOrder:
        held = self.positions.get(symbol)
        if held is None:
            raise BrokerError(404, 40410000, "position does not exist")
        size = abs(held.qty) if qty is None else min(qty, abs(held.qty))
        side = "sell" if held.qty > 0 else "buy"
        body = {"symbol": symbol, "side": side, "type": "market", "time_in_force": "day"}
        o, _ = self.submit({**body, "qty": size})
        return o

    def _end(self, o: BookOrder, status: str) -> list[Message]:
        o.status, o.updated_at = status, self.now
        if status == "canceled":
            o.canceled_at = self.now
        elif status == "expired":
            o.expired_at = self.now
        elif status == "rejected":
            o.failed_at = self.now
        events = [trade_update(status, order_json(o), self.now)]
        if o.parent is None and status != "filled":  # legs its fill would have activated
            for leg_id in o.legs:
                if self.orders[leg_id].status == "held":
                    events += self._end(self.orders[leg_id], "canceled")
        return events

    def reject(self, o: BookOrder) -> list[Message]:
        return self._end(o, "rejected")

    # -- fills ------------------------------------------------------------------------------
    def fill(self, o: BookOrder, qty: float, price: float, ts: pd.Timestamp) -> list[Message]:
        """Execute ``qty`` of ``o`` at ``price``: position, cash, activity and stream event."""
        qty = round(qty, 9)
        exec_id = str(uuid.uuid4())
        total = o.filled_qty + qty
        o.filled_avg_price = ((o.filled_avg_price or 0.0) * o.filled_qty + price * qty) / total
        o.filled_qty = round(total, 9)
        o.status = "filled" if o.remaining <= 1e-9 else "partially_filled"
        o.updated_at, o.last_fill_bar = ts, ts
        if o.status == "filled":
            o.filled_at = ts
        held = apply_fill(self.positions.get(o.symbol), o.sign * qty, price)
        if held is None:
            self.positions.pop(o.symbol, None)
        else:
            self.positions[o.symbol] = held
        self.cash -= o.sign * qty * price + self.fee_per_share * qty
        self.last.setdefault(o.symbol, price)
        self.activities.append(fill_activity(exec_id, o, qty, price, ts))
        event = "fill" if o.status == "filled" else "partial_fill"
        pos = held.qty if held else 0.0
        msg = trade_update(
            event, order_json(o), ts, execution_id=exec_id, price=price, qty=qty, position_qty=pos
        )
        events = [msg]
        if o.status == "filled":
            events += self._after_fill(o, ts)
        return events

    def _after_fill(self, o: BookOrder, ts: pd.Timestamp) -> list[Message]:
        """A filled parent activates its legs; a filled leg cancels its OCO sibling."""
        events: list[Message] = []
        if o.parent is not None:
            parent = self.orders[o.parent]
            group = [parent] if parent.order_class == "oco" else []
            group.extend(self.orders[i] for i in parent.legs)
            for other in group:
                if other is not o and other.open:
                    events += self._end(other, "canceled")
            return events
        if o.order_class == "oco":
            for leg_id in o.legs:
                if self.orders[leg_id].open:
                    events += self._end(self.orders[leg_id], "canceled")
            return events
        for leg_id in o.legs:
            leg = self.orders[leg_id]
            if leg.status == "held":
                leg.status, leg.updated_at = "new", ts
                leg.active_from = ts
                leg.triggered = False
                events.append(trade_update("new", order_json(leg), ts))
        return events

    def on_bar(self, bars: BarSet) -> list[Message]:
        """Match every working order against the bars of ``bars.ts``. Time never goes back:
        a bar at or before the last one seen is ignored (a restarted runtime that replays the
        bar it died in cannot make orders fill twice against it)."""
        ts = utc_time(bars.ts)
        if self.last_bar_ts is not None and ts <= self.last_bar_ts:
            return []
        self.last_bar_ts = ts
        self.now = ts
        events: list[Message] = []
        day = session_day(ts)
        whole = ts == ts.normalize()  # a daily bar: its session has closed
        for i, symbol in enumerate(bars.symbols):
            op, hi, lo, cl = (float(a[i]) for a in (bars.open, bars.high, bars.low, bars.close))
            if np.isnan(op) or np.isnan(cl):
                continue
            events += self._expire(symbol, day)
            events += self._match_symbol(symbol, op, hi, lo, ts, day)
            if whole:
                events += self._expire(symbol, day, closed=True)
            self.last[symbol] = cl
        return events

    def on_open(self, bars: BarSet) -> list[Message]:
        """The open of the bars of ``bars.ts`` alone: the market orders received before the bar
        fill at its open, and ``now`` is that open. A market order received after it (before
        :meth:`on_bar` of the same bars) fills at the same open when :meth:`on_bar` completes
        the bar: sent seconds after the open, as the second order of a reversal is once its
        first one filled. A bar's open is matched once, and not after its whole bar."""
        ts = utc_time(bars.ts)
        if (self.last_bar_ts is not None and ts <= self.last_bar_ts) or self.opened == ts:
            return []
        self.opened = self.now = ts
        events: list[Message] = []
        for i, symbol in enumerate(bars.symbols):
            op = float(bars.open[i])
            if np.isnan(op):
                continue
            for o in list(self.orders.values()):
                if (o.symbol == symbol and o.working and o.type == "market" and o.parent is None
                        and o.created_at < ts):  # fmt: skip
                    o.session = o.session or session_day(ts)
                    events += self._match_one(o, self._working_siblings(o), op, op, op, ts, True)
            self.last[symbol] = op
        return events

    def _expire(self, symbol: str, day: pd.Timestamp, closed: bool = False) -> list[Message]:
        """End the day orders of ``symbol`` whose session is over: those of an earlier session
        than ``day``, and with ``closed`` those of ``day`` too."""
        events: list[Message] = []
        for o in list(self.orders.values()):
            if o.symbol != symbol or not o.open or o.session is None:
                continue
            if o.time_in_force == "day" and (day > o.session or (closed and day == o.session)):
                events += self._end(o, "expired")
        return events

    def _match_symbol(
        self, symbol: str, op: float, hi: float, lo: float, ts: pd.Timestamp, day: pd.Timestamp
    ) -> list[Message]:
        events: list[Message] = []
        for o in list(self.orders.values()):
            late = o.created_at >= ts and not (self.opened == ts and o.created_at == ts
                                                and o.type == "market")  # fmt: skip
            if o.symbol != symbol or not o.working or (late and o.parent is None):
                continue
            if o.last_fill_bar == ts or (o.active_from is not None and o.active_from > ts):
                continue
            if o.session is None:
                o.session = day
            siblings = self._working_siblings(o)
            at_open = o.active_from is None or o.active_from < ts or o.parent is None
            events += self._match_one(o, siblings, op, hi, lo, ts, at_open)
        return events

    def _working_siblings(self, o: BookOrder) -> list[BookOrder]:
        if o.parent is None:
            return [self.orders[i] for i in o.legs] if o.order_class == "oco" else []
        parent = self.orders[o.parent]
        group = [parent] if parent.order_class == "oco" else []
        group += [self.orders[i] for i in parent.legs]
        return [x for x in group if x is not o and x.working]

    def _match_one(
        self,
        o: BookOrder,
        siblings: list[BookOrder],
        op: float,
        hi: float,
        lo: float,
        ts: pd.Timestamp,
        at_open: bool,
    ) -> list[Message]:
        if not o.working:
            return []
        stops = [x for x in [o, *siblings] if x.type in ("stop", "stop_limit")]
        first = stops[0] if stops and siblings else o  # OCO: the stop is checked first
        price = trigger_price(first, op, hi, lo, at_open=at_open)
        if price is None and first is not o:
            first, price = o, trigger_price(o, op, hi, lo, at_open=at_open)
        if price is None:
            return self._unfilled(o)
        if first.notional is not None and first.qty is None:
            first.qty = round(first.notional / price, 9)
        qty = first.remaining
        if first.partial is not None:
            qty, first.partial = partial_qty(first.remaining, first.partial), None
        events = self.fill(first, qty, price, ts)
        return events + (self._unfilled(first) if first.open else [])

    def _unfilled(self, o: BookOrder) -> list[Message]:
        """``opg`` / ``ioc`` orders live for one bar only."""
        if o.open and o.time_in_force == "opg":
            return self._end(o, "expired")
        if o.open and o.time_in_force == "ioc":
            return self._end(o, "canceled")
        return []
