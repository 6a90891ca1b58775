"""A local stand-in for Alpaca's trading API: REST v2 and the ``trade_updates`` WebSocket.

:class:`AlpacaBroker` listens on ``127.0.0.1`` (free ports) and answers the routes alpaca-py's
``TradingClient`` calls, with Alpaca's JSON shapes, status codes and error bodies; its
``trade_updates`` stream (:mod:`.alpaca_stream`) speaks the protocol of ``TradingStream``.
Orders fill against a replayed feed: :meth:`AlpacaBroker.on_bar` (or ``POST /_standin/bar``
from another process) matches resting orders on each bar; see :mod:`.alpaca_book` for the
rules. ``now`` follows the bars.

Faults, as Python methods and through ``POST /_standin/fault`` (``{"kind": <method>, ...}``):
:meth:`~AlpacaBroker.reject_next`, :meth:`~AlpacaBroker.partial_next`,
:meth:`~AlpacaBroker.delay_acks`, :meth:`~AlpacaBroker.drop_stream`,
:meth:`~AlpacaBroker.lose_next_response`, :meth:`~AlpacaBroker.rate_limit`,
:meth:`~AlpacaBroker.manual_trade`, :meth:`~AlpacaBroker.manual_close` and
:meth:`~AlpacaBroker.fill_while_disconnected`. Every request is recorded
(:attr:`AlpacaBroker.requests`); :meth:`AlpacaBroker.new_order_ids` lists the client order ids
that created an order, so a test can assert that none was ever sent twice as a new order.

Example::

    with AlpacaBroker() as broker:
        client = TradingClient(broker.api_key, broker.secret_key, url_override=broker.url)
        stream = TradingStream(broker.api_key, broker.secret_key, url_override=broker.stream_url)
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

import pandas as pd

from alphaforge.ports import BarSet
from alphaforge.testing.alpaca_book import Book, Message
from alphaforge.testing.alpaca_model import (
    BookOrder,
    BrokerError,
    clock_json,
    order_json,
    trade_update,
)
from alphaforge.testing.alpaca_routes import route
from alphaforge.testing.alpaca_stream import TradeStreamServer

UNAUTHORIZED = {"code": 40110000, "message": "request is not authorized"}
RATE_LIMITED = {"code": 42910000, "message": "rate limit exceeded"}
DEFAULT_NOW = pd.Timestamp("2024-01-02 14:30", tz="UTC")


@dataclass
class BrokerRequest:
    """One request the stand-in received (``client_order_id`` for order submissions)."""

    method: str
    path: str
    query: dict[str, str]
    client_order_id: str | None = None
    status: int = 0


@dataclass
class Answer:
    status: int
    body: Any = None
    headers: dict[str, str] | None = None
    drop: bool = False  # close the connection without replying


class AlpacaBroker:
    """The stand-in: REST on :attr:`url`, the stream on :attr:`stream_url`.

    Parameters
    ----------
    api_key, secret_key:
        Credentials the stand-in accepts (headers ``APCA-API-KEY-ID`` / ``-SECRET-KEY``).
    cash:
        Starting cash of the account.
    multiplier:
        Margin multiplier of buying power (Alpaca: 1 cash account, 2 margin, 4 day trading).
    fee_per_share:
        Charged on every fill (Alpaca charges no commission: 0).
    now:
        The initial clock; :meth:`on_bar` moves it to each bar's start.
    """

    def __init__(
        self,
        *,
        api_key: str = "PKSTANDIN000KEY",
        secret_key: str = "standin-secret-0000",
        cash: float = 100_000.0,
        multiplier: float = 2.0,
        fee_per_share: float = 0.0,
        now: pd.Timestamp = DEFAULT_NOW,
        through_zero: bool = False,
    ) -> None:
        self.api_key, self.secret_key = api_key, secret_key
        self.book = Book(
            cash, now, multiplier=multiplier, fee_per_share=fee_per_share,
            through_zero=through_zero,
        )  # fmt: skip
        self.requests: list[BrokerRequest] = []
        self.stream = TradeStreamServer(api_key, secret_key)
        self.lock = threading.RLock()
        self._reject: tuple[str, str] | None = None
        self._ack_delay: list[float] = []
        self._lose_next = 0
        self._slow_cancels: list[int] = []  # reads each next cancel stays pending for
        self.pending_cancel: dict[str, int] = {}  # order id -> reads left before it ends
        self._rate_limits: list[tuple[int, str | None]] = []  # (retry_after, path filter)
        self._httpd: ThreadingHTTPServer | None = None

    # -- lifecycle --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL of the REST API, e.g. ``http://127.0.0.1:54321`` (alpaca-py adds ``/v2``)."""
        if self._httpd is None:
            raise RuntimeError("stand-in not started")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    @property
    def stream_url(self) -> str:
        """URL of the ``trade_updates`` WebSocket."""
        return f"ws://127.0.0.1:{self.stream.port}/stream"

    @property
    def now(self) -> pd.Timestamp:
        return self.book.now

    def start(self) -> AlpacaBroker:
        broker = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                broker._serve(self)

            do_POST = do_DELETE = do_PATCH = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.stream.start()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        self.stream.stop()

    def __enter__(self) -> AlpacaBroker:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- replay -----------------------------------------------------------------------------
    def on_bar(self, bars: BarSet) -> None:
        """Match resting orders against ``bars`` (complete bars of one timestamp)."""
        with self.lock:
            self.emit(self.book.on_bar(bars))

    def on_open(self, bars: BarSet) -> None:
        """Match the market orders resting before ``bars`` at their open alone (the rest of the
        bar comes with :meth:`on_bar`)."""
        with self.lock:
            self.emit(self.book.on_open(bars))

    def emit(self, messages: list[Message]) -> None:
        """Push ``messages`` to every listening stream client."""
        for m in messages:
            self.stream.broadcast(m)

    # -- faults -----------------------------------------------------------------------------
    def reject_next(self, reason: str = "rejected by the stand-in", mode: str = "http") -> None:
        """Reject the next order: ``http`` answers 403 with ``reason`` as Alpaca's message;
        ``event`` accepts it and then sends a ``rejected`` trade update."""
        if mode not in ("http", "event"):
            raise ValueError(f"reject_next: mode must be 'http' or 'event', got {mode!r}")
        with self.lock:
            self._reject = (reason, mode)

    def partial_next(self, fraction: float = 0.5) -> None:
        """Fill only ``fraction`` of the next order at its first fill; the rest fills on a
        later bar."""
        with self.lock:
            self.book.partial_next = fraction

    def delay_acks(self, seconds: float, count: int = 1) -> None:
        """Hold the reply (and the ``new`` event) of the next ``count`` order submissions."""
        with self.lock:
            self._ack_delay += [seconds] * count

    def slow_cancels(self, reads: int = 2, count: int = 1) -> None:
        """The next ``count`` cancels are asynchronous, as Alpaca's are: the order answers
        ``pending_cancel`` (still holding its shares, and still able to fill) for ``reads``
        reads of it, then ends ``canceled``."""
        with self.lock:
            self._slow_cancels += [reads] * count

    def cancel(self, order_id: str) -> None:
        """``DELETE /v2/orders/{id}``: at once, or ``pending_cancel`` first (see above)."""
        with self.lock:
            if not self._slow_cancels:
                self.emit(self.book.cancel(order_id))
                return
            o = self.book.get(order_id)
            if not o.open:
                raise BrokerError(422, 42210000, f'order is already in "{o.status}" state')
            o.status, o.updated_at = "pending_cancel", self.book.now
            self.pending_cancel[order_id] = self._slow_cancels.pop(0)
            self.emit([trade_update("pending_cancel", order_json(o), self.book.now)])

    def read_order(self, o: BookOrder) -> BookOrder:
        """A read of ``o``: a pending cancel ends after its reads."""
        left = self.pending_cancel.pop(o.id, None)
        if left is None or not o.open:  # (an order may fill before its cancel is carried out)
            return o
        if left > 1:
            self.pending_cancel[o.id] = left - 1
        else:
            self.emit(self.book.cancel(o.id))
        return o

    def drop_stream(self) -> None:
        """Close every ``trade_updates`` connection (clients must reconnect)."""
        self.stream.drop()

    def lose_next_response(self, count: int = 1) -> None:
        """Execute the next ``count`` ``POST /v2/orders`` but close the connection unanswered."""
        with self.lock:
            self._lose_next += count

    def rate_limit(self, times: int = 1, retry_after: int = 1, path: str | None = None) -> None:
        """Answer the next ``times`` API requests (whose path contains ``path``) with 429."""
        with self.lock:
            self._rate_limits += [(retry_after, path)] * times

    def manual_trade(
        self, symbol: str, qty: float, price: float | None = None, client_id: str | None = None
    ) -> str:
        """A trade made by hand at the broker (web UI): fills ``qty`` (signed) at once at
        ``price`` (default: the last close). Returns the order's client order id (``client_id``
        when given: an order of the runtime the runtime does not know, as one it forgot)."""
        with self.lock:
            px = price if price is not None else self.book.price(symbol, 100.0)
            side = "buy" if qty > 0 else "sell"
            body: dict[str, Any] = {"symbol": symbol, "qty": abs(qty), "side": side,
                                    "type": "market"}  # fmt: skip
            if client_id is not None:
                body["client_order_id"] = client_id
            o, _ = self.book.submit({**body, "time_in_force": "day"})
            self.emit([trade_update("new", order_json(o), self.book.now)])
            self.emit(self.book.fill(o, abs(qty), px, self.book.now))
            return o.client_order_id

    def manual_close(self, symbol: str, price: float | None = None) -> str | None:
        """Close ``symbol``'s position by hand at once (``None`` when there is none)."""
        with self.lock:
            held = self.book.positions.get(symbol)
            if held is None:
                return None
            return self.manual_trade(symbol, -held.qty, price)

    def fill_while_disconnected(self, client_order_id: str, price: float | None = None) -> None:
        """Drop the stream, keep clients out while the order fills (the events are lost, as
        they would be at Alpaca), then let them reconnect."""
        self.stream.accepting.clear()
        self.stream.drop()
        deadline = time.monotonic() + 2.0
        while self.stream.listeners and time.monotonic() < deadline:
            time.sleep(0.005)
        try:
            with self.lock:
                o = self.book.by_client_id(client_order_id)
                px = price or o.limit_price or o.stop_price or self.book.price(o.symbol, 100.0)
                self.book.fill(o, o.remaining, px, self.book.now)
        finally:
            self.stream.accepting.set()

    def fault(self, kind: str, **kwargs: Any) -> Any:
        """Run the fault method ``kind`` (the ``POST /_standin/fault`` entry point)."""
        allowed = {
            "reject_next",
            "partial_next",
            "delay_acks",
            "drop_stream",
            "lose_next_response",
            "rate_limit",
            "manual_trade",
            "manual_close",
            "fill_while_disconnected",
        }
        if kind not in allowed:
            raise ValueError(f"fault: unknown kind {kind!r}; expected one of {sorted(allowed)}")
        return getattr(self, kind)(**kwargs)

    # -- inspection -------------------------------------------------------------------------
    def new_order_ids(self) -> list[str]:
        """Client order ids of every ``POST /v2/orders`` that created an order, in order."""
        return [
            r.client_order_id or ""
            for r in self.requests
            if r.method == "POST" and r.path == "/v2/orders" and r.status == 200
        ]

    def order(self, client_order_id: str) -> BookOrder:
        with self.lock:
            return self.book.by_client_id(client_order_id)

    # -- order entry (called by the routes) -------------------------------------------------
    def submit(self, body: dict[str, Any], rec: BrokerRequest | None = None) -> Answer:
        """``POST /v2/orders`` with the scripted faults (reject, delay, lost answer)."""
        with self.lock:
            reject, self._reject = self._reject, None
            if reject is not None and reject[1] == "http":
                return Answer(403, {"code": 40310000, "message": reject[0]})
            o, _ = self.book.submit(body)
            if rec is not None:
                rec.status = 200  # created, whatever happens to the answer
            delay = self._ack_delay.pop(0) if self._ack_delay else 0.0
            lose = self._lose_next > 0
            self._lose_next -= int(lose)
            if reject is not None:
                self.emit(self.book.reject(o))
        if delay:
            time.sleep(delay)
        with self.lock:
            if reject is None:
                self.emit([trade_update("new", order_json(o), self.book.now)])
            return Answer(200, self.book.nested(o), drop=lose)

    def position(self, symbol: str) -> dict[str, Any]:
        held = self.book.positions.get(symbol)
        if held is None:
            raise BrokerError(404, 40410000, "position does not exist")
        return self.book.position_of(symbol)

    def clock(self) -> dict[str, Any]:
        return clock_json(self.book.now)

    # -- HTTP plumbing ----------------------------------------------------------------------
    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        path = unquote(parts.path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        length = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(length) if length else b""
        body = json.loads(raw) if raw else {}
        rec = BrokerRequest(h.command, path, query)
        if h.command == "POST" and path == "/v2/orders" and isinstance(body, dict):
            rec.client_order_id = body.get("client_order_id")
        with self.lock:
            self.requests.append(rec)
        answer = self._answer(h, rec, body)
        rec.status = rec.status or answer.status
        if answer.drop:
            h.close_connection = True
            return
        self._reply(h, answer)

    def _answer(self, h: BaseHTTPRequestHandler, rec: BrokerRequest, body: Any) -> Answer:
        if rec.path.startswith("/_standin/"):
            return self._control(rec.path, body)
        key = h.headers.get("APCA-API-KEY-ID")
        secret = h.headers.get("APCA-API-SECRET-KEY")
        if key != self.api_key or secret != self.secret_key:
            return Answer(401, UNAUTHORIZED)
        limited = self._take_rate_limit(rec.path)
        if limited is not None:
            return Answer(429, RATE_LIMITED, {"Retry-After": str(limited)})
        try:
            if rec.method == "POST" and rec.path == "/v2/orders":
                return self.submit(body if isinstance(body, dict) else {}, rec)
            return route(self, rec.method, rec.path, rec.query, body)
        except BrokerError as exc:
            return Answer(exc.status, exc.body)
        except Exception as exc:  # a bug in the stand-in must show, not hang the client
            return Answer(500, {"code": 50010000, "message": f"stand-in error: {exc!r}"})

    def _take_rate_limit(self, path: str) -> int | None:
        with self.lock:
            for i, (after, needle) in enumerate(self._rate_limits):
                if needle is None or needle in path:
                    del self._rate_limits[i]
                    return after
        return None

    def _control(self, path: str, body: Any) -> Answer:
        try:
            if path == "/_standin/bar":  # {"phase": "open"}: the bar's open alone
                bars = bars_from_json(body)
                (self.on_open if body.get("phase") == "open" else self.on_bar)(bars)
                return Answer(200, {"now": self.now.isoformat()})
            if path == "/_standin/fault":
                args = dict(body)
                result = self.fault(str(args.pop("kind", "")), **args)
                return Answer(200, {"ok": True, "result": result})
        except (ValueError, TypeError, KeyError, BrokerError) as exc:
            return Answer(400, {"code": 40010000, "message": str(exc)})
        return Answer(404, {"code": 40410000, "message": "not found"})

    @staticmethod
    def _reply(h: BaseHTTPRequestHandler, answer: Answer) -> None:
        data = b"" if answer.body is None else json.dumps(answer.body).encode()
        h.close_connection = True
        with contextlib.suppress(OSError):  # the client gave up waiting (delayed answers)
            h.send_response(answer.status)
            if data:
                h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.send_header("X-Request-ID", uuid.uuid4().hex)
            for k, v in (answer.headers or {}).items():
                h.send_header(k, v)
            h.end_headers()
            h.wfile.write(data)


def bars_to_json(bars: BarSet) -> dict[str, Any]:
    """The ``POST /_standin/bar`` body of ``bars`` (NaN as ``null``)."""

    def col(a: Any) -> list[float | None]:
        return [None if v != v else float(v) for v in a]

    return {
        "ts": bars.ts.isoformat(),
        "symbols": list(bars.symbols),
        "open": col(bars.open),
        "high": col(bars.high),
        "low": col(bars.low),
        "close": col(bars.close),
        "volume": col(bars.volume),
    }


def bars_from_json(body: dict[str, Any]) -> BarSet:
    """The :class:`~alphaforge.ports.BarSet` of a ``POST /_standin/bar`` body."""
    import numpy as np

    def col(name: str) -> Any:
        return np.array([np.nan if v is None else v for v in body[name]], dtype="float64")

    ts = pd.Timestamp(body["ts"])
    return BarSet(
        ts=ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC"),
        symbols=tuple(body["symbols"]),
        open=col("open"),
        high=col("high"),
        low=col("low"),
        close=col("close"),
        volume=col("volume") if "volume" in body else np.zeros(len(body["symbols"])),
    )
