"""Alpaca's market-data stream through alpaca-py's ``StockDataStream``: minute bars in real time.

:class:`AlpacaBarStream` runs alpaca-py's client on its own event loop in a daemon thread,
subscribes to the minute bars of the run's symbols and keeps each bar, as it arrives, in a
thread-safe buffer that the runtime drains (:meth:`AlpacaBarStream.drain`). A minute bar is
complete when Alpaca sends it (just after its minute ends); aggregating bars to the run's
timeframe, and filling what the stream missed from the REST source, is the feed's job
(:mod:`alphaforge.services.feeds`).

Every bar carries the *segment* that delivered it: the number of the connection (1 for the
first) whose subscription Alpaca acknowledged. alpaca-py reconnects by itself after a dropped
connection; bars sent while it was away are never resent, so the feed trusts the stream only
inside one segment and fills the rest over REST.

The credentials are the REST source's (``ALPHAFORGE_ALPACA_API_KEY`` / ``_SECRET_KEY``); they
never appear in an error or a log line (alpaca-py's log lines from this thread are kept as
events, redacted, instead of being printed; the WebSocket frame log is never written). A refused
login, a feed the account may not use or a refused subscription stop the stream with a one-line
:class:`~alphaforge.core.errors.SourceError` naming the feed.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from alphaforge.core.errors import SourceError
from alphaforge.core.panel import utc_time
from alphaforge.data.sources.base import SourceBase, one_line
from alphaforge.ports import SourceSettings

StreamFeedName = Literal["iex", "sip"]
_ALPACA_LOGGER = "alpaca.data.live.websocket"
_FRAMES_LOGGER = "alphaforge.data.sources.alpaca_stream.frames"
# Alpaca's stream error codes that no reconnect can cure: invalid syntax, auth failed, symbol
# limit exceeded, insufficient subscription, invalid subscribe action for this feed.
FATAL_CODES = frozenset({400, 402, 405, 409, 410})
# What a login may be refused for and still succeed later (alpaca-py then retries).
_TRANSIENT_LOGIN = ("connection limit exceeded", "auth timeout", "internal error")
_EVENTS_KEPT = 1_000


@dataclass(frozen=True)
class StreamedBar:
    """One minute bar as the stream delivered it (``timestamp``: the minute's start, UTC)."""

    symbol: str
    timestamp: pd.Timestamp
    open: float
    high: float
    low: float
    close: float
    volume: float
    segment: int


@dataclass(frozen=True)
class StreamBatch:
    """What arrived since the last drain: bars in arrival order, and events (one line each:
    subscriptions, reconnects, error messages of the server)."""

    bars: list[StreamedBar]
    events: list[str]


@dataclass
class _State:
    """What the stream thread shares with the runtime (guarded by ``lock``)."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    bars: list[StreamedBar] = field(default_factory=list)
    events: deque[str] = field(default_factory=lambda: deque(maxlen=_EVENTS_KEPT))
    segment: int = 0
    received: int = 0
    failure: str | None = None


class AlpacaBarStream:
    """Minute bars of ``symbols`` from Alpaca's stock market-data stream.

    Parameters
    ----------
    settings:
        Where the Alpaca keys come from (the REST source's settings).
    symbols:
        The symbols whose minute bars to subscribe to.
    feed:
        ``iex`` (every Alpaca account) or ``sip`` (all US exchanges; needs a subscription).
    url:
        Base URL of the stream (default ``wss://stream.data.alpaca.markets``); the feed's path
        ``/v2/<feed>`` is appended. A local stand-in in tests.
    connect_timeout:
        Seconds :meth:`start` waits for the subscription to be acknowledged.
    reconnect_backoff:
        First wait before alpaca-py reconnects (doubling, capped at 30 times it).
    """

    def __init__(
        self,
        settings: SourceSettings,
        symbols: list[str],
        *,
        feed: StreamFeedName = "iex",
        url: str | None = None,
        connect_timeout: float = 10.0,
        reconnect_backoff: float = 1.0,
    ) -> None:
        self._base = SourceBase(settings)
        self._base.name = f"alpaca stream ({feed})"
        self.name = self._base.name
        self.symbols = list(symbols)
        self._by_upper = {s.upper(): s for s in self.symbols}
        self.feed, self.url = feed, url
        self._connect_timeout, self._backoff = connect_timeout, reconnect_backoff
        self._state = _State()
        self._ready = threading.Event()
        self._closing = False
        self._stream: Any = None
        self._thread: threading.Thread | None = None
        self._filter: _Capture | None = None

    def __repr__(self) -> str:
        return f"AlpacaBarStream({self.feed!r}, symbols={self.symbols!r}, url={self.url!r})"

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> AlpacaBarStream:
        """Connect, log in and subscribe; returns once Alpaca acknowledged the subscription.

        Raises
        ------
        SourceError
            The login or the subscription was refused, or nothing was acknowledged within
            ``connect_timeout`` seconds.
        ConfigError
            The Alpaca keys are not set.
        """
        key = self._base.require("alpaca_api_key")
        secret = self._base.require("alpaca_secret_key")
        self._stream = _client(self, key, secret)
        name = f"alpaca-bars-{id(self):x}"
        self._filter = _Capture(name, self._event, self._base.secrets())
        logging.getLogger(_ALPACA_LOGGER).addFilter(self._filter)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()
        self._ready.wait(self._connect_timeout)
        failure = self._state.failure
        if failure is None and self._state.segment == 0:
            failure = (
                f"{self.name}: no subscription acknowledged within {self._connect_timeout:g} s"
            )
        if failure is not None:
            self.close()
            raise SourceError(failure)
        return self

    def close(self) -> None:
        """Stop the stream and its thread (idempotent)."""
        self._closing = True
        stream, thread = self._stream, self._thread
        if thread is not None and self._state.failure is not None:
            thread.join(5)  # a failed stream is ending on its own
        loop = getattr(stream, "_loop", None)
        if stream is not None and loop is not None and loop.is_running():
            for coro in (stream.stop_ws(), stream.close()):
                with contextlib.suppress(Exception):  # already closing: nothing left to stop
                    _run_on(loop, coro)
        if thread is not None:
            thread.join(5)
        if self._filter is not None and (thread is None or not thread.is_alive()):
            logging.getLogger(_ALPACA_LOGGER).removeFilter(self._filter)

    # -- what the runtime reads -------------------------------------------------------------
    def drain(self) -> StreamBatch:
        """The bars and events that arrived since the last call (thread-safe)."""
        st = self._state
        with st.lock:
            bars, st.bars = st.bars, []
            events = list(st.events)
            st.events.clear()
        return StreamBatch(bars, events)

    def check(self) -> None:
        """Raise the stream's failure, if it failed (or stopped on its own)."""
        failure = self._state.failure
        thread = self._thread
        if failure is None and thread is not None and not thread.is_alive() and not self._closing:
            failure = f"{self.name}: the stream stopped"
        if failure is not None:
            raise SourceError(failure)

    @property
    def segment(self) -> int:
        """Connections acknowledged so far (1 after :meth:`start`; one more per reconnect)."""
        return self._state.segment

    @property
    def received(self) -> int:
        """Minute bars of the run's symbols received so far."""
        return self._state.received

    # -- the stream thread ------------------------------------------------------------------
    def _run(self) -> None:
        try:
            self._stream.run()
        except BaseException as exc:  # a crash of the client reaches the runtime as one line
            self._fail(f"{self.name}: the client stopped ({type(exc).__name__})")
        finally:
            self._ready.set()

    def _fail(self, text: str) -> None:
        with self._state.lock:
            if self._state.failure is None:
                self._state.failure = one_line(text, self._base.secrets())
        self._ready.set()

    def _event(self, text: str) -> None:
        with self._state.lock:
            self._state.events.append(one_line(text, self._base.secrets()))

    def login_refused(self, message: str) -> bool:
        """alpaca-py's login failed with ``message``: True when that is final."""
        if any(m in message.lower() for m in _TRANSIENT_LOGIN):
            self._event(f"{self.name}: login refused for now ({message}); retrying")
            return False
        hint = " (check ALPHAFORGE_ALPACA_API_KEY / ALPHAFORGE_ALPACA_SECRET_KEY"
        hint += " and the account's market-data plan)"
        self._fail(f"{self.name}: login refused: {message}{hint}")
        return True

    def control(self, msg: dict[str, Any]) -> bool:
        """A control message of the server; True when it ends the stream."""
        kind = msg.get("T")
        if kind == "subscription":
            got = {str(s).upper() for s in msg.get("bars") or []}
            missing = [s for s in self.symbols if s.upper() not in got and "*" not in got]
            if missing:
                self._fail(f"{self.name}: bars of {', '.join(missing)} were not subscribed")
                return True
            with self._state.lock:
                self._state.segment += 1
                n = self._state.segment
            self._event(f"{self.name}: subscribed to minute bars (connection {n})")
            self._ready.set()
        elif kind == "error":
            code, text = msg.get("code"), str(msg.get("msg", ""))
            if code in FATAL_CODES:
                self._fail(f"{self.name}: the server refused: {text} ({code})")
                return True
            self._event(f"{self.name}: server error: {text} ({code})")
        return False

    async def on_bar(self, msg: Any) -> None:
        """alpaca-py's handler of one minute bar (raw message)."""
        symbol = self._by_upper.get(str(msg.get("S", "")).upper())
        try:
            ts = _time(msg["t"])
            o, h, lo, c, v = (float(msg[k]) for k in ("o", "h", "l", "c", "v"))
        except (KeyError, TypeError, ValueError):
            self._event(f"{self.name}: malformed bar ignored ({sorted(msg)})")
            return
        if symbol is None:
            return
        st = self._state
        with st.lock:
            st.bars.append(StreamedBar(symbol, ts, o, h, lo, c, v, st.segment))
            st.received += 1


class _Capture(logging.Filter):
    """Keeps alpaca-py's log lines of one stream thread as that stream's events (one line,
    redacted, no traceback) instead of letting them reach the handlers; other threads pass."""

    def __init__(self, thread_name: str, sink: Any, secrets: list[str]) -> None:
        super().__init__()
        self._thread, self._sink, self._secrets = thread_name, sink, secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if record.threadName != self._thread:
            return True
        if record.levelno >= logging.WARNING:
            self._sink(f"alpaca-py: {one_line(record.getMessage(), self._secrets)}")
        return False


def _client(owner: AlpacaBarStream, key: str, secret: str) -> Any:
    """alpaca-py's ``StockDataStream`` for ``owner``: raw messages, the feed's URL, its own
    quiet frame logger, and the two hooks the feed needs (a final login refusal stops it; the
    subscription acknowledgement opens a segment)."""
    from alpaca.data.enums import DataFeed
    from alpaca.data.live.stock import StockDataStream

    class _Stream(StockDataStream):
        async def _auth(self) -> None:
            try:
                await super()._auth()
            except ValueError as exc:
                if owner.login_refused(str(exc)):
                    await self.stop_ws()
                raise

        async def _dispatch(self, msg: dict[str, Any]) -> None:
            if owner.control(msg):
                await self.stop_ws()
            elif msg.get("T") != "error":  # an error is the owner's event, not a log line
                await super()._dispatch(msg)

    frames = logging.getLogger(_FRAMES_LOGGER)
    frames.setLevel(logging.INFO)  # the frame log would show the login frame: never written
    url = f"{owner.url.rstrip('/')}/v2/{owner.feed}" if owner.url else None
    stream = _Stream(
        api_key=key, secret_key=secret, raw_data=True, feed=DataFeed(owner.feed),
        url_override=url,
        websocket_params={"ping_interval": 10, "ping_timeout": 180, "max_queue": 1024,
                          "logger": frames},
    )  # fmt: skip
    stream._reconnect_min_backoff = owner._backoff
    stream._reconnect_max_backoff = owner._backoff * 30
    stream.subscribe_bars(owner.on_bar, *owner.symbols)
    return stream


def _time(value: Any) -> pd.Timestamp:
    """A bar's ``t``: a MessagePack timestamp (alpaca-py's default encoding) or RFC 3339 text."""
    if hasattr(value, "to_unix_nano"):
        return pd.Timestamp(int(value.to_unix_nano()), unit="ns", tz="UTC")
    return utc_time(value)


def _run_on(loop: Any, coro: Any) -> None:
    import asyncio

    asyncio.run_coroutine_threadsafe(coro, loop).result(2)
