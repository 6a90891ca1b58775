"""Alpaca as an :class:`~alphaforge.ports.ExecutionVenue`, through alpaca-py.

REST goes through alpaca-py's ``TradingClient``, order news through its ``TradingStream`` in
a background thread; :meth:`AlpacaVenue.updates` drains what the stream delivered. Paper
trading by default; the live endpoint only with ``live=True``. Tests point both at the local
stand-in (:mod:`alphaforge.testing.alpaca_broker`) with ``url`` / ``stream_url``.

Safety of retries: reads are retried (429 after ``Retry-After``, network errors with back-off);
a submit is retried only after a 429 (Alpaca did not take it). A submit whose answer was lost
(connection closed, timeout, 5xx) is first looked up by its client order id, and sent again
only when Alpaca does not know it; a duplicate client order id answers with the existing
order's state. So one client order id never opens two orders.

After the stream reconnects, the fills and state changes of the gap are fetched over REST
(``FILL`` account activities and the tracked orders) and delivered in order, before what the
new connection brings; updates seen twice are delivered once (by execution id and by
cumulative quantity). State mapping: :mod:`.alpaca_wire`.

Credentials are kept as ``SecretStr``; they never appear in logs, errors or ``repr``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pandas as pd
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import QueryOrderStatus
from alpaca.trading.requests import GetOrderByIdRequest, GetOrdersRequest, ReplaceOrderRequest
from pydantic import SecretStr

from alphaforge.adapters.brokers.alpaca_tracker import Item, OrderTracker, iso
from alphaforge.adapters.brokers.alpaca_transport import ReadyStream, TimeoutSession
from alphaforge.adapters.brokers.alpaca_wire import (
    RedactingLogger,
    activity_fill,
    bars_json,
    fnum,
    off_loopback,
    order_request,
    scrub,
    state_of,
    stream_url_of,
    value,
    venue_error,
    venue_order,
)
from alphaforge.core.errors import (
    DuplicateOrderError,
    RateLimitedError,
    VenueError,
    VenueUnavailableError,
)
from alphaforge.core.orders import Fill, OrderRequest, OrderState, OrderUpdate
from alphaforge.core.panel import utc_time
from alphaforge.ports import BarSet, VenueAccount, VenueCapabilities, VenueOrder, VenuePosition

T = TypeVar("T")
_RECONNECTED = object()


class AlpacaVenue:
    """Orders at Alpaca (paper by default).

    Parameters
    ----------
    api_key, secret_key:
        Alpaca credentials (``AppSettings.alpaca_api_key`` / ``alpaca_secret_key``).
    live:
        Trade on the live endpoint; without it the paper endpoint is used.
    url, stream_url:
        Override the REST base URL and the ``trade_updates`` WebSocket URL (a stand-in, a
        proxy). ``stream_url`` defaults to ``<url>/stream`` in the ``ws`` scheme.
    replay_url:
        Control URL of a local stand-in that follows a replayed feed (:meth:`on_bar`); only
        ``127.0.0.1`` / ``localhost``, and only with ``url`` and the stream there too
        (:func:`~alphaforge.adapters.brokers.alpaca_wire.off_loopback`).
    timeout:
        Seconds for each REST request; a submit that times out is resolved by client id.
    retries:
        Retries of a read, or of a submit after 429 / an unresolved lost answer.
    reconnect_backoff:
        First wait before the stream reconnects (doubling, capped at 20 times it).
    connect_timeout:
        Seconds :meth:`connect` waits for the stream to listen.
    cancel_wait:
        Seconds a cancel waits for Alpaca to end the order (``pending_cancel``) before it
        returns the order's state as it is then.
    sleep:
        How to wait before a retry or a re-read (tests pass a recorder).
    """

    name = "alpaca"

    def __init__(
        self,
        api_key: SecretStr | str,
        secret_key: SecretStr | str,
        *,
        live: bool = False,
        url: str | None = None,
        stream_url: str | None = None,
        replay_url: str | None = None,
        timeout: float = 10.0,
        retries: int = 3,
        reconnect_backoff: float = 1.0,
        connect_timeout: float = 10.0,
        cancel_wait: float = 10.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._key = api_key if isinstance(api_key, SecretStr) else SecretStr(api_key)
        self._secret = secret_key if isinstance(secret_key, SecretStr) else SecretStr(secret_key)
        self._live, self._url, self._replay_url = live, url, replay_url
        self._stream_url = stream_url or stream_url_of(url)
        self._timeout, self._retries, self._sleep = timeout, retries, sleep
        self._backoff, self._connect_timeout = reconnect_backoff, connect_timeout
        self._cancel_wait = cancel_wait
        replay = replay_url is not None and off_loopback(url, stream_url, replay_url) is None
        self.capabilities = VenueCapabilities(
            brackets=True, fractional=True, shorting=True, replay=replay, through_zero=False
        )
        self._client: Any = None
        self._stream: ReadyStream | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._generation = 0
        self._orders = OrderTracker()

    def __repr__(self) -> str:
        mode = "live" if self._live else "paper"
        return f"AlpacaVenue({mode}, url={self._url!r}, replay={self.capabilities.replay})"

    # -- lifecycle --------------------------------------------------------------------------
    def connect(self) -> None:
        """Check the credentials, then start the ``trade_updates`` stream and wait for it."""
        client = TradingClient(
            api_key=self._key.get_secret_value(),
            secret_key=self._secret.get_secret_value(),
            paper=not self._live,
            url_override=self._url,
        )
        client._retry = 0  # retries are decided here (Retry-After, idempotency)
        client._session = TimeoutSession(self._timeout)
        self._client = client
        self._read(client.get_account, "account")
        clock: Any = self._read(client.get_clock, "clock")
        self._orders.since = iso(clock.timestamp)
        self._start_stream()

    def _start_stream(self) -> None:
        kwargs: dict[str, Any] = {
            "api_key": self._key.get_secret_value(),
            "secret_key": self._secret.get_secret_value(),
            "paper": not self._live,
        }
        if self._stream_url:
            kwargs["url_override"] = self._stream_url
        log = RedactingLogger(logging.getLogger("websockets.client"), self._secrets())
        kwargs["websocket_params"] = {
            "ping_interval": 10,
            "ping_timeout": 180,
            "max_queue": 1024,
            "logger": log,
        }
        stream = ReadyStream(self._on_ready, **kwargs)
        stream._reconnect_min_backoff = self._backoff
        stream._reconnect_max_backoff = self._backoff * 20
        stream.subscribe_trade_updates(self._on_trade_update)
        self._stream = stream
        self._thread = threading.Thread(target=stream.run, name="alpaca-stream", daemon=True)
        self._thread.start()
        if not self._ready.wait(self._connect_timeout):
            self.close()
            raise VenueUnavailableError("alpaca: the trade_updates stream did not connect")

    def _on_ready(self) -> None:
        with self._lock:
            self._generation += 1
            if self._generation > 1:
                self._queue.put(_RECONNECTED)
        self._ready.set()

    def close(self) -> None:
        """Stop the stream thread and the HTTP session."""
        stream, thread = self._stream, self._thread
        self._stream = self._thread = None
        loop = getattr(stream, "_loop", None)
        if stream is not None and loop is not None and loop.is_running():
            for coro in (stream.stop_ws(), stream.close()):
                with contextlib.suppress(Exception):  # already closing: nothing left to stop
                    asyncio.run_coroutine_threadsafe(coro, loop).result(2)
        if thread is not None:
            thread.join(3)
        if self._client is not None:
            self._client._session.close()

    # -- REST plumbing ----------------------------------------------------------------------
    def _secrets(self) -> tuple[str, str]:
        return self._key.get_secret_value(), self._secret.get_secret_value()

    def _call(self, fn: Callable[[], T], action: str) -> T:
        """One REST call; alpaca-py and requests errors become :class:`VenueError`."""
        if self._client is None:
            raise VenueError(f"alpaca: {action}: not connected (call connect() first)")
        try:
            return fn()
        except APIError as exc:
            raise venue_error(exc, action, self._secrets()) from None
        except requests.RequestException as exc:
            text = scrub(type(exc).__name__, self._secrets())
            raise VenueUnavailableError(f"alpaca: {action}: no answer ({text})") from None

    def _read(self, fn: Callable[[], T], action: str) -> T:
        """A read, retried after 429 (``Retry-After``) and network errors."""
        for attempt in range(self._retries + 1):
            try:
                return self._call(fn, action)
            except (RateLimitedError, VenueUnavailableError) as exc:
                if attempt == self._retries:
                    raise
                self._sleep(exc.retry_after if exc.retry_after is not None else 0.5 * 2**attempt)
        raise AssertionError("unreachable")

    def _lookup(self, client_id: str) -> Any | None:
        """The current Alpaca order of ``client_id`` (a replacement followed), or ``None``."""
        try:
            o = self._read(lambda: self._client.get_order_by_client_id(client_id), "order")
        except VenueError as exc:
            if "HTTP 404" in str(exc):
                return None
            raise
        seen = 0
        while value(o.status) == "replaced" and o.replaced_by is not None and seen < 50:
            self._orders.alias(str(o.replaced_by), client_id, str(o.id))
            o = self._read(self._by_id(o.replaced_by), "order")
            seen += 1
        return o

    def _by_id(self, order_id: Any) -> Callable[[], Any]:
        return lambda: self._client.get_order_by_id(order_id)

    # -- orders -----------------------------------------------------------------------------
    def submit(self, request: OrderRequest) -> OrderUpdate:
        """Send ``request``; idempotent by its client order id (see the module notes)."""
        body = order_request(request)
        cid = request.client_id
        for attempt in range(self._retries + 1):
            try:
                o = self._call(lambda: self._client.submit_order(body), "submit")
            except DuplicateOrderError:
                o = self._lookup(cid)
                if o is None:
                    raise
            except RateLimitedError as exc:
                if attempt == self._retries:
                    raise
                self._sleep(exc.retry_after if exc.retry_after is not None else 1.0)
                continue
            except VenueUnavailableError:  # the order may have been taken: ask before resending
                o = self._lookup(cid)
                if o is None:
                    if attempt == self._retries:
                        raise
                    continue
            self._orders.remember(o, cid)
            return self._update_of(o, cid)
        raise AssertionError("unreachable")

    def _update_of(self, o: Any, client_id: str) -> OrderUpdate:
        state = state_of(o.status, fnum(o.filled_qty))
        reason = "rejected by alpaca" if state is OrderState.REJECTED else ""
        ts = iso(o.updated_at or o.submitted_at)
        return OrderUpdate(client_id, state, ts, venue_id=str(o.id), reason=reason)

    def cancel(self, client_id: str) -> OrderUpdate | None:
        """Cancel ``client_id`` (and a bracket's legs); ``None`` when Alpaca does not know it.
        An order already done answers with its final state."""
        o = self._lookup(client_id)
        if o is None:
            return None
        if not state_of(o.status, fnum(o.filled_qty)).terminal:
            order_id = o.id
            try:
                self._call(lambda: self._client.cancel_order_by_id(order_id), "cancel")
            except VenueError as exc:
                if "HTTP 422" not in str(exc):  # 422: it finished meanwhile
                    raise
            o = self._read(lambda: self._client.get_order_by_id(order_id), "order")
            o = self._settle_cancel(o)
        return self._update_of(o, client_id)

    def _settle_cancel(self, o: Any) -> Any:
        """Alpaca cancels asynchronously: until the order has ended it still holds its shares,
        so an exit sent next would be refused ("insufficient qty available"). Wait for the end,
        reading the order again with a doubling pause, for at most ``cancel_wait`` seconds."""
        waited, pause = 0.0, 0.05
        while value(o.status) == "pending_cancel" and waited < self._cancel_wait:
            self._sleep(pause)
            waited += pause
            pause = min(pause * 2, 1.0)
            o = self._read(self._by_id(o.id), "order")
        return o

    def replace(
        self,
        client_id: str,
        *,
        qty: float | None = None,
        limit: float | None = None,
        stop: float | None = None,
    ) -> VenueOrder:
        """Move an open order (a trailing stop's level): Alpaca replaces it with a new order,
        which keeps being reported under ``client_id``."""
        o = self._lookup(client_id)
        if o is None:
            raise VenueError(f"alpaca: replace: unknown order {client_id}")
        req = ReplaceOrderRequest(
            qty=int(qty) if qty is not None else None, limit_price=limit, stop_price=stop
        )
        order_id = o.id
        new = self._call(lambda: self._client.replace_order_by_id(order_id, req), "replace")
        self._orders.alias(str(new.id), client_id, str(order_id))
        return venue_order(new, client_id, self._orders.parent(str(new.id)))

    def order(self, client_id: str) -> VenueOrder | None:
        o = self._lookup(client_id)
        if o is None:
            return None
        self._orders.remember(o, client_id)
        return venue_order(o, client_id, self._orders.parent(str(o.id)))

    def legs(self, client_id: str) -> list[VenueOrder]:
        """The stop / target legs of bracket ``client_id`` in whatever state (those that
        protected a position since its entry filled, filled or cancelled by now included)."""
        o = self._lookup(client_id)
        if o is None:
            return []
        nested = GetOrderByIdRequest(nested=True)
        full: Any = self._read(lambda: self._client.get_order_by_id(o.id, nested), "order")
        self._orders.remember(full, client_id)
        return [venue_order(leg, self._orders.client_id(leg), client_id) for leg in full.legs or []]

    def open_orders(self) -> list[VenueOrder]:
        """Working orders, bracket legs included (``parent_id`` names their parent)."""
        req = GetOrdersRequest(status=QueryOrderStatus.OPEN, nested=True, limit=500)
        out: list[VenueOrder] = []
        for o in self._read(lambda: self._client.get_orders(req), "open orders"):
            cid = self._orders.client_id(o)
            self._orders.remember(o, cid)
            if not state_of(o.status, fnum(o.filled_qty)).terminal:
                out.append(venue_order(o, cid))
            for leg in o.legs or []:
                if not state_of(leg.status, fnum(leg.filled_qty)).terminal:
                    out.append(venue_order(leg, self._orders.client_id(leg), cid))
        return out

    def positions(self) -> list[VenuePosition]:
        rows: Any = self._read(lambda: self._client.get_all_positions(), "positions")
        return [VenuePosition(str(p.symbol), fnum(p.qty), fnum(p.avg_entry_price)) for p in rows]

    def account(self) -> VenueAccount:
        a = self._read(lambda: self._client.get_account(), "account")
        return VenueAccount(
            cash=fnum(a.cash),
            equity=fnum(a.equity),
            buying_power=fnum(a.buying_power),
            currency=str(a.currency or "USD"),
        )

    # -- fills ------------------------------------------------------------------------------
    def _activities(self, after: str | None) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"direction": "asc", "page_size": 100}
            if after:
                params["after"] = after
            if token:
                params["page_token"] = token
            page: Any = self._read(self._fills_page(params), "fills")
            rows += page or []
            if not page or len(page) < 100:
                return rows
            token = str(page[-1]["id"])

    def _fills_page(self, params: dict[str, Any]) -> Callable[[], Any]:
        return lambda: self._client.get("/account/activities/FILL", params)

    def _client_of_venue_id(self, venue_id: str) -> str:
        known = self._orders.known(venue_id)
        if known is not None:
            return known
        o = self._read(self._by_id(venue_id), "order")
        self._orders.remember(o, str(o.client_order_id))
        return str(o.client_order_id)

    def fills(self, since: str | None = None) -> list[Fill]:
        """Executions at or after ``since`` (ISO time), oldest first (``FILL`` activities)."""
        after = None
        if since is not None:
            after = iso(pd.Timestamp(since) - pd.Timedelta(microseconds=1))
        out = [
            activity_fill(a, self._client_of_venue_id(str(a["order_id"])))
            for a in self._activities(after)
        ]
        if since is not None:
            start = utc_time(since)
            out = [f for f in out if utc_time(f.ts) >= start]
        return out

    # -- updates ----------------------------------------------------------------------------
    async def _on_trade_update(self, tu: Any) -> None:
        """Stream thread: queue the update (deduplication happens in :meth:`updates`)."""
        for item in self._orders.items_of(tu):
            self._queue.put(item)

    def updates(self) -> list[OrderUpdate]:
        """Order updates since the last call, oldest first; after a reconnect the gap's
        fills and state changes (from REST) come before the new connection's updates."""
        out: list[OrderUpdate] = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return out
            items = self._catch_up() if item is _RECONNECTED else [item]
            out += [u for u, key in items if self._orders.fresh(u, key)]

    def _catch_up(self) -> list[Item]:
        """What happened while the stream was away: fills, then state changes."""
        since, tracked = self._orders.since, self._orders.open_orders()
        after = iso(pd.Timestamp(since) - pd.Timedelta(seconds=1)) if since else None
        items: list[Item] = []
        for a in self._activities(after):
            vid = str(a["order_id"])
            cid = self._client_of_venue_id(vid)
            state = OrderState.FILLED if a.get("type") == "fill" else OrderState.PARTIALLY_FILLED
            fill = activity_fill(a, cid)
            items.append((OrderUpdate(cid, state, fill.ts, vid, fill), (vid, fnum(a["cum_qty"]))))
        if tracked:
            first = min(v for v in tracked.values() if v) if any(tracked.values()) else None
            start = pd.Timestamp(first) - pd.Timedelta(seconds=1) if first else None
            req = GetOrdersRequest(
                status=QueryOrderStatus.ALL, nested=False, limit=500, after=start, direction="asc"
            )
            for o in self._read(lambda: self._client.get_orders(req), "orders"):
                cid = self._orders.client_id(o)
                state = state_of(o.status, fnum(o.filled_qty))
                if cid in tracked and state not in (
                    OrderState.FILLED,
                    OrderState.PARTIALLY_FILLED,
                ):
                    ts = iso(o.updated_at or o.submitted_at)
                    reason = "rejected by alpaca" if state is OrderState.REJECTED else ""
                    items.append((OrderUpdate(cid, state, ts, str(o.id), reason=reason), None))
        return items

    # -- replay -----------------------------------------------------------------------------
    def on_open(self, bars: BarSet) -> None:
        """Hand the open of a bar alone to the local stand-in (its market orders fill there;
        the rest of the bar follows with :meth:`on_bar`)."""
        self._post_bar(bars, {"phase": "open"})

    def on_bar(self, bars: BarSet) -> None:
        """Hand a complete bar to the local stand-in (``POST /_standin/bar``)."""
        self._post_bar(bars, {})

    def _post_bar(self, bars: BarSet, extra: dict[str, str]) -> None:
        if not self.capabilities.replay or self._replay_url is None:
            raise VenueError(
                "alpaca: replay needs the simulated venue or a local stand-in "
                "(replay_url, base_url and the stream on 127.0.0.1/localhost); refused for a "
                "real Alpaca host"
            )
        body = {**bars_json(bars), **extra}
        try:
            r = requests.post(f"{self._replay_url}/_standin/bar", json=body, timeout=self._timeout)
        except requests.RequestException as exc:
            raise VenueUnavailableError(f"alpaca stand-in: bar not delivered ({exc})") from None
        if r.status_code != 200:
            raise VenueError(f"alpaca stand-in: bar refused (HTTP {r.status_code}): {r.text[:200]}")
