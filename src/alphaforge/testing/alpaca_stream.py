"""The ``trade_updates`` WebSocket of the Alpaca trading stand-in.

Speaks Alpaca's documented protocol: the client sends ``{"action": "authenticate", "data":
{"key_id", "secret_key"}}`` and gets ``{"stream": "authorization", "data": {"status":
"authorized", ...}}``; then ``{"action": "listen", "data": {"streams": ["trade_updates"]}}``,
acknowledged by ``{"stream": "listening", ...}``. Messages are JSON in binary frames, as on
Alpaca's paper endpoint. The server runs on its own asyncio event loop in a daemon thread.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from alphaforge.testing.ws_loop import LoopbackWsServer


class TradeStreamServer(LoopbackWsServer):
    """A WebSocket server on 127.0.0.1 that pushes ``trade_updates`` to listening clients."""

    thread_name = "alpaca-standin-ws"

    def __init__(self, api_key: str, secret_key: str) -> None:
        super().__init__()
        self._key, self._secret = api_key, secret_key
        self._lock = threading.Lock()
        self._listeners: dict[ServerConnection, asyncio.Queue[bytes | None]] = {}
        self.accepting = threading.Event()
        self.accepting.set()
        self.connections = 0  # authorized sessions so far (reconnects included)

    # -- lifecycle --------------------------------------------------------------------------
    def _server_cm(self) -> Any:
        log = _Redacting(logging.getLogger("websockets.server"), self._secret)
        return serve(self._session, "127.0.0.1", 0, logger=log)

    async def _close_clients(self) -> None:
        for ws in list(self._listeners):
            await ws.close()

    # -- pushing ----------------------------------------------------------------------------
    @property
    def listeners(self) -> int:
        with self._lock:
            return len(self._listeners)

    def broadcast(self, message: dict[str, Any]) -> None:
        """Queue ``message`` for every listening client (in call order)."""
        data = json.dumps(message).encode()
        loop = self._loop
        if loop is None:
            return
        with self._lock:
            for queue in self._listeners.values():
                loop.call_soon_threadsafe(queue.put_nowait, data)

    def drop(self) -> None:
        """Close every client connection (the clients see the stream drop)."""
        loop = self._loop
        if loop is None:
            return
        with self._lock:
            queues = list(self._listeners.values())
        for queue in queues:
            loop.call_soon_threadsafe(queue.put_nowait, None)

    # -- one client -------------------------------------------------------------------------
    async def _session(self, ws: ServerConnection) -> None:
        if not self.accepting.is_set():
            await ws.close(1013, "try again later")
            return
        try:
            if not await self._authenticate(ws):
                return
            await self._serve(ws)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._listeners.pop(ws, None)

    async def _authenticate(self, ws: ServerConnection) -> bool:
        msg = json.loads(await ws.recv())
        data = msg.get("data") or {}
        ok = (
            msg.get("action") == "authenticate"
            and data.get("key_id") == self._key
            and data.get("secret_key") == self._secret
        )
        status = "authorized" if ok else "unauthorized"
        reply = {"stream": "authorization", "data": {"status": status, "action": "authenticate"}}
        await ws.send(json.dumps(reply).encode())
        if not ok:
            await ws.close(1008, "unauthorized")
        else:
            self.connections += 1
        return ok

    async def _serve(self, ws: ServerConnection) -> None:
        queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        writer = asyncio.create_task(self._write(ws, queue))
        try:
            async for raw in ws:
                msg = json.loads(raw)
                if msg.get("action") != "listen":
                    continue
                wanted = (msg.get("data") or {}).get("streams", [])
                streams = [s for s in wanted if s == "trade_updates"]
                with self._lock:
                    if streams:
                        self._listeners[ws] = queue
                    else:
                        self._listeners.pop(ws, None)
                ack = {"stream": "listening", "data": {"streams": streams}}
                queue.put_nowait(json.dumps(ack).encode())  # after anything queued before
        finally:
            writer.cancel()

    async def _write(self, ws: ServerConnection, queue: asyncio.Queue[bytes | None]) -> None:
        while True:
            data = await queue.get()
            if data is None:
                with self._lock:
                    self._listeners.pop(ws, None)
                await ws.close(1001, "going away")
                return
            await ws.send(data)


class _Redacting(logging.LoggerAdapter):
    """The server's frame log without the client's secret key."""

    def __init__(self, logger: logging.Logger, secret: str) -> None:
        super().__init__(logger, {})
        self._secret = secret

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        if self.isEnabledFor(level):
            text = (str(msg) % args if args else str(msg)).replace(self._secret, "***")
            kwargs.pop("stacklevel", None)
            self.logger.log(level, "%s", text, **kwargs)
