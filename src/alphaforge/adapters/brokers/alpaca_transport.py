"""alpaca-py's transport as :class:`~alphaforge.adapters.brokers.alpaca.AlpacaVenue` uses it:
a REST session whose every request has a timeout, and a trade-updates stream that reports each
(re)connection once Alpaca acknowledges the subscription."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import requests
from alpaca.trading.stream import TradingStream

__all__ = ["ReadyStream", "TimeoutSession"]


class TimeoutSession(requests.Session):
    """alpaca-py sends no timeout; every request of this session has one."""

    def __init__(self, timeout: float) -> None:
        super().__init__()
        self._timeout = timeout

    def request(self, method: Any, url: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("timeout", self._timeout)
        return super().request(method, url, **kwargs)


class ReadyStream(TradingStream):
    """``TradingStream`` that waits for the ``listening`` acknowledgement and reports each
    (re)connection, so no update between connect and subscribe is missed."""

    def __init__(self, on_ready: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._on_ready = on_ready

    async def _start_ws(self) -> None:
        await self._connect()
        await self._auth()
        await self._subscribe_trade_updates()
        assert self._ws is not None
        while True:
            msg = json.loads(await asyncio.wait_for(self._ws.recv(), 10))
            if msg.get("stream") == "listening":
                break
            await self._dispatch(msg)
        self._on_ready()
