"""Alpaca: alpaca-py's own clients against the local stand-in, and AlpacaVenue's faults."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderClass, OrderSide, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import (
    GetOrdersRequest,
    LimitOrderRequest,
    MarketOrderRequest,
    ReplaceOrderRequest,
    StopLimitOrderRequest,
    StopLossRequest,
    StopOrderRequest,
    TakeProfitRequest,
)
from alpaca.trading.stream import TradingStream
from pydantic import SecretStr

from alphaforge.adapters.brokers.alpaca import AlpacaVenue
from alphaforge.adapters.brokers.alpaca_wire import order_request, scrub, state_of
from alphaforge.core.errors import (
    InsufficientBuyingPowerError,
    OrderRejectedError,
    RateLimitedError,
    VenueError,
)
from alphaforge.core.orders import OrderState, OrderType, Side
from alphaforge.ports import ExecutionVenue, ReplayVenue
from alphaforge.testing.alpaca_broker import AlpacaBroker, bars_from_json, bars_to_json
from alphaforge.testing.alpaca_harness import AlpacaHarness, alpaca_harness
from alphaforge.testing.venue_conformance import bar, fills_of, order

pytestmark = [pytest.mark.integration, pytest.mark.timeout(20)]


@pytest.fixture
def broker() -> Iterator[AlpacaBroker]:
    with AlpacaBroker() as b:
        yield b


@pytest.fixture
def client(broker: AlpacaBroker) -> TradingClient:
    c = TradingClient(broker.api_key, broker.secret_key, url_override=broker.url)
    c._retry = 0
    return c


@pytest.fixture
def h() -> Iterator[AlpacaHarness]:
    with alpaca_harness() as harness:
        yield harness


def market(cid: str, qty: float = 10, side: OrderSide = OrderSide.BUY, **kw: Any) -> Any:
    return MarketOrderRequest(
        symbol="AAPL", qty=qty, side=side, time_in_force=TimeInForce.DAY, client_order_id=cid, **kw
    )


# -- REST routes through TradingClient --------------------------------------------------------
def test_account_clock_and_auth(broker: AlpacaBroker, client: TradingClient) -> None:
    acct: Any = client.get_account()
    assert acct.cash == "100000" and acct.equity == "100000" and acct.status == "ACTIVE"
    clock: Any = client.get_clock()
    assert clock.is_open and clock.next_close.hour == 16
    bad = TradingClient(broker.api_key, "wrong", url_override=broker.url)
    with pytest.raises(APIError) as info:
        bad.get_account()
    assert info.value.status_code == 401
    assert info.value.code == 40110000 and info.value.message == "request is not authorized"


def test_order_types_and_lookups(broker: AlpacaBroker, client: TradingClient) -> None:
    base = {"symbol": "AAPL", "qty": 2, "side": OrderSide.BUY, "time_in_force": TimeInForce.GTC}
    made: list[Any] = [
        client.submit_order(market("m1")),
        client.submit_order(
            MarketOrderRequest(
                symbol="AAPL", notional=500, side=OrderSide.BUY, time_in_force=TimeInForce.DAY
            )
        ),
        client.submit_order(LimitOrderRequest(limit_price=90, client_order_id="l1", **base)),
        client.submit_order(StopOrderRequest(stop_price=120, client_order_id="s1", **base)),
        client.submit_order(
            StopLimitOrderRequest(stop_price=120, limit_price=121, client_order_id="sl1", **base)
        ),
    ]
    assert [o.type.value for o in made] == ["market", "market", "limit", "stop", "stop_limit"]
    assert made[1].qty is None and made[1].notional == "500"
    assert client.get_order_by_client_id("l1").limit_price == "90"  # type: ignore[union-attr]
    assert client.get_order_by_id(made[3].id).client_order_id == "s1"  # type: ignore[union-attr]
    with pytest.raises(APIError) as dup:
        client.submit_order(market("m1"))
    assert dup.value.status_code == 422 and "unique" in dup.value.message
    everything: Any = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL))
    assert len(everything) == 5
    asc: Any = client.get_orders(GetOrdersRequest(direction="asc", limit=2))
    assert [o.client_order_id for o in asc] == ["m1", made[1].client_order_id]
    none: Any = client.get_orders(GetOrdersRequest(symbols=["MSFT"]))
    assert none == []
    with pytest.raises(APIError) as missing:
        client.get_order_by_client_id("nope")
    assert missing.value.status_code == 404


def test_fills_positions_cancel_replace_close(broker: AlpacaBroker, client: TradingClient) -> None:
    client.submit_order(market("buy1"))
    resting: Any = client.submit_order(
        LimitOrderRequest(
            symbol="AAPL", qty=5, side=OrderSide.BUY, time_in_force=TimeInForce.GTC, limit_price=80
        )
    )
    broker.on_bar(bar(0, 100.0, 101.0, 99.0, 100.5))
    pos: Any = client.get_open_position("AAPL")
    assert pos.qty == "10" and pos.avg_entry_price == "100" and pos.side == "long"
    moved: Any = client.replace_order_by_id(resting.id, ReplaceOrderRequest(limit_price=85))
    assert moved.replaces == resting.id and moved.limit_price == "85"
    assert client.get_order_by_id(resting.id).status == "replaced"  # type: ignore[union-attr]
    client.cancel_order_by_id(moved.id)
    assert client.get_order_by_id(moved.id).status == "canceled"  # type: ignore[union-attr]
    with pytest.raises(APIError) as done:
        client.cancel_order_by_id(moved.id)
    assert done.value.status_code == 422
    closing: Any = client.close_position("AAPL")
    assert closing.side == "sell" and closing.qty == "10"
    broker.on_bar(bar(1, 102.0, 103.0, 101.0, 102.5))
    assert client.get_all_positions() == []
    acts = client.get("/account/activities/FILL", {"direction": "asc", "page_size": 1})
    assert len(acts) == 1 and acts[0]["side"] == "buy" and "::" in acts[0]["id"]
    rest = client.get("/account/activities/FILL", {"direction": "asc", "page_token": acts[0]["id"]})
    assert [a["price"] for a in rest] == ["102"]
    client.submit_order(LimitOrderRequest(limit_price=1, client_order_id="x", **_lim()))
    assert len(client.cancel_orders()) == 1


def _lim() -> dict[str, Any]:
    return {"symbol": "AAPL", "qty": 1, "side": OrderSide.BUY, "time_in_force": TimeInForce.GTC}


def test_bracket_oco_and_buying_power(broker: AlpacaBroker, client: TradingClient) -> None:
    tp, sl = TakeProfitRequest(limit_price=110), StopLossRequest(stop_price=95)
    o: Any = client.submit_order(
        market("b1", order_class=OrderClass.BRACKET, take_profit=tp, stop_loss=sl)
    )
    assert o.order_class == "bracket" and [leg.status for leg in o.legs] == ["held", "held"]
    assert {leg.type for leg in o.legs} == {"limit", "stop"}
    broker.on_bar(bar(0, 100.0, 101.0, 99.0, 100.5))
    nested: Any = client.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN, nested=True))
    assert len(nested) == 1 and [leg.status for leg in nested[0].legs] == ["new", "new"]
    broker.on_bar(bar(1, 105.0, 111.0, 94.0, 100.0))  # both levels inside one bar: the stop
    legs = {leg.type: leg.status for leg in client.get_order_by_id(o.id).legs}  # type: ignore[union-attr]
    assert legs == {"stop": "filled", "limit": "canceled"}
    oco: Any = client.submit_order(
        LimitOrderRequest(
            order_class=OrderClass.OCO, take_profit=tp, stop_loss=sl, limit_price=110, **_lim()
        )
    )
    assert oco.type == "limit" and len(oco.legs) == 1
    with pytest.raises(APIError) as poor:
        client.submit_order(market("big", qty=10_000))
    assert poor.value.status_code == 403 and poor.value.message == "insufficient buying power"


def test_no_order_takes_a_position_through_zero(
    broker: AlpacaBroker, client: TradingClient
) -> None:
    """Alpaca's rule: an order against a position is for at most the shares not held for other
    open orders on its side (an OCO's two legs hold one quantity); a reversal takes two
    orders ("insufficient qty available for order", 403, code 40310000)."""
    client.submit_order(market("long"))
    broker.on_bar(bar(0, 100.0, 101.0, 99.0, 100.5))
    with pytest.raises(APIError) as flip:
        client.submit_order(market("flip", qty=15, side=OrderSide.SELL))
    assert flip.value.status_code == 403 and flip.value.code == 40310000
    assert (
        flip.value.message == "insufficient qty available for order (requested: 15, available: 10)"
    )
    oco: Any = client.submit_order(
        LimitOrderRequest(
            symbol="AAPL", qty=10, side=OrderSide.SELL, time_in_force=TimeInForce.GTC,
            limit_price=110, order_class=OrderClass.OCO,
            take_profit=TakeProfitRequest(limit_price=110), stop_loss=StopLossRequest(stop_price=95),
        )
    )  # fmt: skip
    pos: Any = client.get_open_position("AAPL")
    assert pos.qty == "10" and pos.qty_available == "0"  # the OCO holds all ten, once
    with pytest.raises(APIError) as held:
        client.submit_order(market("exit", qty=5, side=OrderSide.SELL))
    assert held.value.message.endswith("(requested: 5, available: 0)")
    assert client.submit_order(market("more")).side == "buy"  # type: ignore[union-attr]
    broker.on_bar(bar(1, 100.0, 101.0, 99.0, 100.5))
    assert client.get_open_position("AAPL").qty == "20"  # type: ignore[union-attr]
    with pytest.raises(APIError) as still_held:
        client.submit_order(market("exit", qty=20, side=OrderSide.SELL))
    assert still_held.value.message.endswith("(requested: 20, available: 10)")
    client.cancel_order_by_id(oco.id)
    assert client.submit_order(market("exit", qty=20, side=OrderSide.SELL)).qty == "20"  # type: ignore[union-attr]
    broker.on_bar(bar(2, 100.0, 101.0, 99.0, 100.5))
    assert client.submit_order(market("short", side=OrderSide.SELL)).side == "sell"  # type: ignore[union-attr]


def test_a_refused_reversal_is_a_rejection_at_the_venue(h: AlpacaHarness) -> None:
    h.push_bar(bar(0, 100.0, 101.0, 99.0, 100.5))
    h.venue.submit(order("long", qty=10))
    h.push_bar(bar(1, 100.0, 101.0, 99.0, 100.5))
    with pytest.raises(OrderRejectedError, match=r"insufficient qty available for order"):
        h.venue.submit(order("flip", side=Side.SELL, qty=20))


def test_a_cancel_waits_until_alpaca_has_ended_the_order(h: AlpacaHarness) -> None:
    """Alpaca cancels asynchronously (``pending_cancel``), and the order holds its shares
    until it ends: the venue's cancel reads the order again until then, so an exit sent next
    is not refused for the shares a protective order still held."""
    h.push_bar(bar(0, 100.0, 101.0, 99.0, 100.5))
    h.venue.submit(order("long", qty=10))
    h.push_bar(bar(1, 100.0, 101.0, 99.0, 100.5))
    h.venue.submit(order("target", side=Side.SELL, qty=10, type=OrderType.LIMIT, limit=120.0))
    h.broker.slow_cancels(reads=3)
    ended = h.venue.cancel("target")
    assert ended is not None and ended.state is OrderState.CANCELLED
    assert len(h.slept) == 2  # two more reads found it pending_cancel
    assert h.venue.submit(order("exit", side=Side.SELL, qty=10)).state is OrderState.ACCEPTED
    h.broker.slow_cancels(reads=10)  # a cancel Alpaca does not carry out in time
    slow = alpaca_slow_cancel(h, "exit", wait=0.1)
    assert slow is not None and slow.state is OrderState.ACCEPTED  # returned as it is then
    assert h.broker.order("exit").status == "pending_cancel"


def alpaca_slow_cancel(h: AlpacaHarness, client_id: str, wait: float) -> Any:
    """``cancel`` of a venue whose ``cancel_wait`` is ``wait`` seconds, on the same broker."""
    venue = AlpacaVenue(
        h.broker.api_key, h.broker.secret_key, url=h.broker.url,
        stream_url=h.broker.stream_url, cancel_wait=wait, sleep=lambda s: None,
    )  # fmt: skip
    venue.connect()
    try:
        return venue.cancel(client_id)
    finally:
        venue.close()


def test_the_stand_in_may_take_a_reversal_in_one_order() -> None:
    """``through_zero`` (tests that compare with a backtest reversing at one open)."""
    with AlpacaBroker(through_zero=True) as broker:
        c = TradingClient(broker.api_key, broker.secret_key, url_override=broker.url)
        c.submit_order(market("long"))
        broker.on_bar(bar(0, 100.0, 101.0, 99.0, 100.5))
        c.submit_order(market("flip", qty=20, side=OrderSide.SELL))
        broker.on_bar(bar(1, 100.0, 101.0, 99.0, 100.5))
        assert c.get_open_position("AAPL").qty == "-10"  # type: ignore[union-attr]


def test_a_bars_open_alone_fills_market_orders_there_and_takes_a_reversals_entry(
    broker: AlpacaBroker, client: TradingClient
) -> None:
    """``POST /_standin/bar`` with ``"phase": "open"``: the market orders received before the
    bar fill at its open; a market order received then (a reversal's entry, once its exit has
    filled) fills at the same open when the whole bar follows; a limit received then waits
    for the next bar; an open is matched once, and not after its whole bar."""
    client.submit_order(market("long"))
    broker.on_bar(bar(0, 100.0, 101.0, 99.0, 100.5))
    client.submit_order(market("exit", side=OrderSide.SELL))
    one = bar(1, 102.0, 103.0, 90.0, 95.0)
    r = requests.post(f"{broker.url}/_standin/bar", json={**bars_to_json(one), "phase": "open"},
                      timeout=5)  # fmt: skip
    assert r.status_code == 200
    assert (
        broker.order("exit").status == "filled" and broker.order("exit").filled_avg_price == 102.0
    )
    client.submit_order(market("short", side=OrderSide.SELL))  # accepted: the position is flat
    client.submit_order(LimitOrderRequest(symbol="AAPL", qty=5, side=OrderSide.SELL,
                                          time_in_force=TimeInForce.DAY, limit_price=102.5,
                                          client_order_id="pop"))  # fmt: skip
    broker.on_open(one)  # matched once
    assert broker.order("short").status == "new"  # not filled yet
    broker.on_bar(one)
    assert broker.order("short").filled_avg_price == 102.0  # the same open
    assert broker.order("pop").status == "new"  # the range reached 102.5: next bar
    broker.on_open(one)  # after its whole bar: nothing
    assert client.get_open_position("AAPL").qty == "-10"  # type: ignore[union-attr]


# -- the stream through TradingStream ---------------------------------------------------------
def test_trade_stream_events(broker: AlpacaBroker, client: TradingClient) -> None:
    got: list[Any] = []
    stream = TradingStream(broker.api_key, broker.secret_key, url_override=broker.stream_url)

    async def handler(update: Any) -> None:
        got.append(update)

    stream.subscribe_trade_updates(handler)
    threading.Thread(target=stream.run, daemon=True).start()
    deadline = time.monotonic() + 3
    while broker.stream.listeners == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    broker.partial_next(0.5)
    client.submit_order(market("p1"))
    day: Any = client.submit_order(
        LimitOrderRequest(
            limit_price=50, client_order_id="d1", **{**_lim(), "time_in_force": "day"}
        )
    )
    broker.on_bar(bar(0, 100.0, 101.0, 99.0, 100.5))
    broker.on_bar(bar(1, 101.0, 102.0, 100.0, 101.5))
    client.replace_order_by_id(day.id, ReplaceOrderRequest(limit_price=55))
    broker.reject_next("no", mode="event")
    client.submit_order(market("r1"))
    client.submit_order(LimitOrderRequest(limit_price=40, client_order_id="c1", **_lim()))
    client.cancel_order_by_id(client.get_order_by_client_id("c1").id)  # type: ignore[union-attr]
    broker.on_bar(bar(24 * 60, 100.0, 101.0, 99.0, 100.0))  # next session: day orders expire
    while len(got) < 10 and time.monotonic() < deadline + 2:
        time.sleep(0.01)
    asyncio.run_coroutine_threadsafe(stream.stop_ws(), stream._loop).result(2)  # type: ignore[arg-type]
    events = [(_event(u), u.order.client_order_id[:2]) for u in got]
    assert ("partial_fill", "p1") in events and ("fill", "p1") in events
    assert ("replaced", "d1") in events and ("rejected", "r1") in events
    assert ("canceled", "c1") in events
    assert any(e == "expired" for e, _ in events)
    part = next(u for u in got if _event(u) == "partial_fill")
    assert (part.qty, part.price, part.position_qty) == (5, 100.0, 5)
    assert part.execution_id is not None


def _event(update: Any) -> str:
    return str(getattr(update.event, "value", update.event))


def test_bar_json_round_trip_and_control_route(broker: AlpacaBroker) -> None:
    b = bar(3, 1.0, 2.0, 0.5, 1.5)
    assert bars_from_json(bars_to_json(b)).ts == b.ts
    r = requests.post(f"{broker.url}/_standin/bar", json=bars_to_json(b), timeout=2)
    assert r.status_code == 200 and broker.now == b.ts
    r = requests.post(f"{broker.url}/_standin/fault", json={"kind": "nope"}, timeout=2)
    assert r.status_code == 400


# -- AlpacaVenue: mapping, faults and secrets -------------------------------------------------
def test_mapping() -> None:
    assert state_of("pending_new", 0) is OrderState.SUBMITTED
    assert state_of("new", 0) is OrderState.ACCEPTED and state_of("held", 0) is OrderState.ACCEPTED
    assert state_of("pending_cancel", 3) is OrderState.PARTIALLY_FILLED
    assert state_of("canceled", 0) is OrderState.CANCELLED
    req = order_request(order("x", type=OrderType.STOP_LIMIT, stop=10.0, limit=9.5))
    assert type(req).__name__ == "StopLimitOrderRequest" and req.client_order_id == "x"
    bracket = order_request(order("y", stop_loss=9.0, take_profit=12.0))
    assert bracket.order_class == "bracket" and bracket.stop_loss.stop_price == 9.0


def test_venue_ports_and_replay_refusal(h: AlpacaHarness) -> None:
    assert isinstance(h.venue, ExecutionVenue) and isinstance(h.venue, ReplayVenue)
    assert h.venue.capabilities.replay and h.venue.capabilities.brackets
    remote = AlpacaVenue("k", "s", replay_url="https://paper-api.alpaca.markets")
    assert not remote.capabilities.replay
    with pytest.raises(VenueError, match="replay needs the simulated venue or a local stand-in"):
        remote.on_bar(bar(0, 1.0, 1.0, 1.0, 1.0))


def test_lost_response_opens_no_second_order(h: AlpacaHarness) -> None:
    h.broker.lose_next_response()
    ack = h.venue.submit(order("lost-1"))
    assert ack.state is OrderState.ACCEPTED and ack.venue_id
    assert h.venue.submit(order("lost-1")).venue_id == ack.venue_id
    h.broker.delay_acks(2.5)  # longer than the venue's 2 s timeout
    slow = h.venue.submit(order("slow-1"))
    assert slow.venue_id == h.broker.order("slow-1").id
    ids = h.broker.new_order_ids()
    assert sorted(ids) == ["lost-1", "slow-1"] and len(ids) == len(set(ids))


def test_rate_limit_is_retried_after_retry_after(h: AlpacaHarness) -> None:
    h.broker.rate_limit(2, retry_after=2, path="/v2/orders")
    assert h.venue.submit(order("rl-1")).state is OrderState.ACCEPTED
    h.broker.rate_limit(1, retry_after=3, path="/v2/positions")
    assert h.venue.positions() == []
    assert h.slept == [2.0, 2.0, 3.0]
    h.broker.rate_limit(10, retry_after=1, path="/v2/account")
    with pytest.raises(RateLimitedError) as info:
        h.venue.account()
    assert info.value.retry_after == 1.0 and info.value.retry_safe


def test_insufficient_buying_power(h: AlpacaHarness) -> None:
    h.push_bar(bar(0, 100.0, 101.0, 99.0, 100.5))
    with pytest.raises(InsufficientBuyingPowerError, match="insufficient buying power"):
        h.venue.submit(order("huge", qty=5_000))


def test_reconnect_and_manual_change(h: AlpacaHarness) -> None:
    h.broker.drop_stream()
    deadline = time.monotonic() + 3
    while h.broker.stream.connections < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert h.broker.stream.connections == 2
    cid = h.broker.manual_trade("MSFT", 7, price=50.0)
    fills = fills_of(h.wait_updates(cid, OrderState.FILLED))
    assert [(f.qty, f.price) for f in fills] == [(7, 50.0)]
    assert [(p.symbol, p.qty) for p in h.venue.positions()] == [("MSFT", 7)]
    h.broker.manual_close("MSFT", price=51.0)
    assert h.venue.positions() == []
    assert [f.price for f in h.venue.fills(since=str(h.broker.now))] == [50.0, 51.0]


def test_secrets_stay_out_of_logs_errors_and_repr(
    broker: AlpacaBroker, caplog: pytest.LogCaptureFixture
) -> None:
    secret = broker.secret_key
    caplog.set_level(logging.DEBUG)
    venue = AlpacaVenue(
        SecretStr(broker.api_key), SecretStr(secret), url=broker.url, stream_url=broker.stream_url
    )
    venue.connect()
    venue.submit(order("sec-1"))
    venue.close()
    wrong = AlpacaVenue(broker.api_key, secret + "x", url=broker.url, sleep=lambda s: None)
    with pytest.raises(VenueError) as info:
        wrong.connect()
    assert "not authorized" in str(info.value) and "HTTP 401" in str(info.value)
    texts = [str(info.value), repr(info.value), repr(venue), repr(wrong)]
    texts += [r.getMessage() for r in caplog.records]
    assert caplog.records and not [t for t in texts if secret in t or broker.api_key in t]
    assert scrub(f"bad key {secret}\nline", [secret]) == "bad key *** line"
