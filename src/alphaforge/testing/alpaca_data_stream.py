"""A local stand-in for Alpaca's market-data stream (``wss://stream.data.alpaca.markets/v2/iex``).

Speaks Alpaca's documented protocol: on connect the server sends ``[{"T": "success", "msg":
"connected"}]``; the client sends ``{"action": "auth", "key", "secret"}`` and gets ``[{"T":
"success", "msg": "authenticated"}]`` (or ``[{"T": "error", "code": 402, "msg": "auth
failed"}]`` and the connection closes); ``{"action": "subscribe", "bars": [...]}`` is answered
with the whole subscription (``{"T": "subscription", "trades": [], "bars": [...], ...}``).
Minute bars are ``{"T": "b", "S", "o", "h", "l", "c", "v", "t", "n", "vw"}``. Every server
message is an array. A client that sends ``Content-Type: application/msgpack`` (alpaca-py does)
gets MessagePack in binary frames, ``t`` as a MessagePack timestamp; any other client gets JSON
in text frames, ``t`` as RFC 3339 text.

The server listens on 127.0.0.1 (ephemeral port) on its own asyncio event loop in a daemon
thread. Tests push bars (:meth:`MarketDataStreamServer.push_bars`), drop every connection
(:meth:`~MarketDataStreamServer.drop`), refuse logins (``accept_auth``) and send an error
message (:meth:`~MarketDataStreamServer.send_error`).
"""

from __future__ import annotations

import asyncio
import json
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import msgpack
import pandas as pd
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from alphaforge.testing.ws_loop import LoopbackWsServer

CHANNELS = ("trades", "quotes", "bars", "updatedBars", "dailyBars", "statuses", "lulds")
_ACK_ONLY = ("corrections", "cancelErrors")


@dataclass
class _Client:
    """One connected client: how it wants messages and what it subscribed to."""

    ws: ServerConnection
    msgpack: bool
    queue: asyncio.Queue[bytes | str | None] = field(default_factory=asyncio.Queue)
    authenticated: bool = False
    subs: dict[str, set[str]] = field(default_factory=lambda: {c: set() for c in CHANNELS})


class MarketDataStreamServer(LoopbackWsServer):
    """A WebSocket server on 127.0.0.1 speaking Alpaca's stock market-data stream.

    Parameters
    ----------
    api_key, secret_key:
        The credentials it accepts.
    feed:
        The feed in the path (``/v2/iex`` or ``/v2/sip``); other paths get HTTP 404.
    """

    thread_name = "alpaca-data-standin"

    def __init__(self, api_key: str, secret_key: str, feed: str = "iex") -> None:
        super().__init__()
        self._key, self._secret, self.feed = api_key, secret_key, feed
        self._lock = threading.Lock()
        self._clients: list[_Client] = []
        self.accept_auth = True  # False: every login is refused (402 auth failed)
        self.logins = 0  # successful logins so far (reconnects included)
        self.subscriptions = 0  # subscription acknowledgements sent so far
        self.paths: list[str] = []  # the request path of every connection

    @property
    def url(self) -> str:
        """The base URL (``ws://127.0.0.1:PORT``); clients connect to ``<url>/v2/<feed>``."""
        return f"ws://127.0.0.1:{self.port}"

    # -- lifecycle: see LoopbackWsServer

    def _server_cm(self) -> Any:
        return serve(self._session, "127.0.0.1", 0, process_request=self._route)

    async def _close_clients(self) -> None:
        for client in self._snapshot():
            await client.ws.close()

    def _route(self, ws: ServerConnection, request: Request) -> Response | None:
        self.paths.append(request.path)
        if request.path != f"/v2/{self.feed}":
            return ws.respond(HTTPStatus.NOT_FOUND, "Not Found\n")
        return None

    # -- what tests do ----------------------------------------------------------------------
    def push_bars(self, bars: pd.DataFrame) -> int:
        """Send minute bars (canonical columns ``symbol, timestamp, open, high, low, close,
        volume``) to the clients subscribed to their symbol's bars, one message per minute in
        time order. Returns the number of bars sent to at least one client."""
        sent = 0
        ordered = bars.sort_values(["timestamp", "symbol"], kind="stable")
        for _, minute in ordered.groupby("timestamp", sort=True):
            rows = [_bar_message(row) for row in minute.itertuples(index=False)]
            sent += self._send_bars(rows)
        return sent

    def send_error(self, code: int, msg: str) -> None:
        """Send ``[{"T": "error", "code", "msg"}]`` to every logged-in client."""
        for client in self._snapshot():
            if client.authenticated:
                self._post(client, [{"T": "error", "code": code, "msg": msg}])

    def drop(self) -> None:
        """Close every client connection (the clients see the stream drop)."""
        for client in self._snapshot():
            self._post_raw(client, None)

    @property
    def subscribers(self) -> int:
        """Clients subscribed to bars of at least one symbol."""
        return sum(1 for c in self._snapshot() if c.subs["bars"])

    # -- plumbing ---------------------------------------------------------------------------
    def _snapshot(self) -> list[_Client]:
        with self._lock:
            return list(self._clients)

    def _send_bars(self, rows: list[dict[str, Any]]) -> int:
        delivered: set[int] = set()
        for client in self._snapshot():
            wanted = client.subs["bars"]
            mine = [r for r in rows if "*" in wanted or r["S"] in wanted]
            if mine:
                self._post(client, mine)
                delivered.update(i for i, r in enumerate(rows) if r in mine)
        return len(delivered)

    def _post(self, client: _Client, messages: list[dict[str, Any]]) -> None:
        self._post_raw(client, _encode(messages, client.msgpack))

    def _post_raw(self, client: _Client, data: bytes | str | None) -> None:
        loop = self._loop
        if loop is not None:
            loop.call_soon_threadsafe(client.queue.put_nowait, data)

    async def _session(self, ws: ServerConnection) -> None:
        kind = ws.request.headers.get("Content-Type", "") if ws.request else ""
        client = _Client(ws, msgpack=kind.lower() == "application/msgpack")
        with self._lock:
            self._clients.append(client)
        writer = asyncio.create_task(self._write(client))
        try:
            self._post(client, [{"T": "success", "msg": "connected"}])
            async for raw in ws:
                await self._handle(client, _decode(raw, client.msgpack))
        except ConnectionClosed:
            pass
        finally:
            writer.cancel()
            with self._lock:
                self._clients.remove(client)

    async def _handle(self, client: _Client, msg: Any) -> None:
        action = msg.get("action") if isinstance(msg, dict) else None
        if action == "auth":
            await self._auth(client, msg)
        elif not client.authenticated:
            self._post(client, [{"T": "error", "code": 401, "msg": "not authenticated"}])
        elif action in ("subscribe", "unsubscribe"):
            self._subscribe(client, msg, action == "subscribe")
        else:
            self._post(client, [{"T": "error", "code": 400, "msg": "invalid syntax"}])

    async def _auth(self, client: _Client, msg: dict[str, Any]) -> None:
        if client.authenticated:
            self._post(client, [{"T": "error", "code": 403, "msg": "already authenticated"}])
            return
        ok = self.accept_auth and msg.get("key") == self._key and msg.get("secret") == self._secret
        if not ok:
            self._post(client, [{"T": "error", "code": 402, "msg": "auth failed"}])
            self._post_raw(client, None)  # Alpaca closes the connection after a failed login
            return
        client.authenticated = True
        self.logins += 1
        self._post(client, [{"T": "success", "msg": "authenticated"}])

    def _subscribe(self, client: _Client, msg: dict[str, Any], add: bool) -> None:
        for channel in CHANNELS:
            symbols = msg.get(channel) or []
            if not isinstance(symbols, list):
                self._post(client, [{"T": "error", "code": 400, "msg": "invalid syntax"}])
                return
            if add:
                client.subs[channel].update(str(s) for s in symbols)
            else:
                client.subs[channel].difference_update(str(s) for s in symbols)
        ack: dict[str, Any] = {"T": "subscription"}
        ack |= {c: sorted(client.subs[c]) for c in CHANNELS}
        ack |= {c: [] for c in _ACK_ONLY}
        self.subscriptions += 1
        self._post(client, [ack])

    async def _write(self, client: _Client) -> None:
        while True:
            data = await client.queue.get()
            if data is None:
                await client.ws.close(1000, "going away")
                return
            await client.ws.send(data)


def _bar_message(row: Any) -> dict[str, Any]:
    """Alpaca's minute-bar message of one canonical bar row (``n`` and ``vw`` made up)."""
    ts = pd.Timestamp(row.timestamp)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return {
        "T": "b", "S": str(row.symbol), "o": float(row.open), "h": float(row.high),
        "l": float(row.low), "c": float(row.close), "v": int(row.volume), "t": ts,
        "n": 100, "vw": float(row.close),
    }  # fmt: skip


def _encode(messages: list[dict[str, Any]], as_msgpack: bool) -> bytes | str:
    if as_msgpack:
        return bytes(msgpack.packb([_wire(m, True) for m in messages], datetime=False))
    return json.dumps([_wire(m, False) for m in messages])


def _wire(message: dict[str, Any], as_msgpack: bool) -> dict[str, Any]:
    ts = message.get("t")
    if not isinstance(ts, pd.Timestamp):
        return message
    if as_msgpack:
        return {**message, "t": msgpack.Timestamp.from_unix_nano(int(ts.value))}
    text = ts.strftime("%Y-%m-%dT%H:%M:%S") + f".{ts.value % 1_000_000_000:09d}Z"
    return {**message, "t": text}


def _decode(raw: bytes | str, as_msgpack: bool) -> Any:
    if isinstance(raw, bytes) and as_msgpack:
        return msgpack.unpackb(raw)
    return json.loads(raw)
