"""The life cycle the WebSocket stand-ins share: a server on 127.0.0.1 (an ephemeral port) that
runs on its own asyncio event loop in a daemon thread, started and stopped from test code."""

from __future__ import annotations

import asyncio
import threading
from contextlib import AbstractAsyncContextManager
from typing import Any, Self

from websockets.asyncio.server import Server


class LoopbackWsServer:
    """Start, stop and the event loop of a stand-in; a subclass says how it serves
    (:meth:`_server_cm`) and how its clients are closed at the stop (:meth:`_close_clients`)."""

    thread_name = "standin-ws"

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self.port = 0

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
        self._thread.start()
        if not self._ready.wait(5):
            raise RuntimeError(f"{self.thread_name} did not start")
        return self

    def stop(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and loop.is_running():
            loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with self._server_cm() as server:
            self._server = server
            self.port = int(next(iter(server.sockets)).getsockname()[1])
            self._ready.set()
            await self._stop.wait()
            await self._close_clients()

    def _server_cm(self) -> AbstractAsyncContextManager[Any]:
        """``websockets.asyncio.server.serve(...)`` on 127.0.0.1, port 0."""
        raise NotImplementedError

    async def _close_clients(self) -> None:
        """Close the connections still open when the server stops."""
