"""Local stand-ins for market-data vendors, speaking each vendor's documented wire format.

A :class:`VendorServer` listens on ``127.0.0.1`` (ephemeral port) and serves deterministic
synthetic bars the way Yahoo's chart API, Alpaca's ``/v2/stocks/bars``, Polygon's aggregates,
Alpha Vantage's ``/query`` or Binance's ``/api/v3/klines`` would. Tests point the real client
libraries at :attr:`VendorServer.url`, then compare what the adapter returns with
:func:`synthetic_bars` and inspect :attr:`VendorServer.requests`.

Faults are scripted with :meth:`VendorServer.fail_next` (429 + ``Retry-After``, 5xx, 401, ...).

Synthetic prices are a closed-form function of (symbol, bar start), rounded to cents, so any
sub-range request returns exactly the same values and JSON round-trips them exactly.
"""

from __future__ import annotations

import json
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import numpy as np
import pandas as pd

from alphaforge.core.timeframe import parse_timeframe

NEW_YORK = "America/New_York"
DEFAULT_EQUITIES = ("AAPL", "MSFT", "IBM", "SPY")
DEFAULT_CRYPTO = ("BTC/USDT", "ETH/USDT")
HISTORY_START = pd.Timestamp("2020-01-01", tz="UTC")
HISTORY_END = pd.Timestamp("2024-12-31 23:59", tz="UTC")


def bar_starts(
    timeframe: str, start: pd.Timestamp, end: pd.Timestamp, calendar: str = "equity"
) -> pd.DatetimeIndex:
    """UTC bar starts in ``[start, end]`` (daily: session dates at 00:00 UTC).

    ``equity``: Monday-Friday, intraday 09:30-16:00 New York time. ``crypto``: around the clock.
    """
    tf = parse_timeframe(timeframe)
    lo, hi = max(start, HISTORY_START), min(end, HISTORY_END)
    if lo > hi:
        return pd.DatetimeIndex([], tz="UTC")
    days = pd.date_range(lo.normalize(), hi.normalize(), freq="D", tz="UTC")
    if calendar == "equity":
        days = days[days.day_of_week < 5]
    if not tf.is_intraday:
        return days[(days >= lo.normalize()) & (days <= hi)].as_unit("ns")
    if calendar == "crypto":
        idx = pd.date_range(lo.ceil(tf.pandas_freq), hi, freq=tf.pandas_freq, tz="UTC")
        return idx.as_unit("ns")
    parts = []
    for day in days:
        local = day.tz_localize(None).tz_localize(NEW_YORK)
        opens = pd.date_range(
            local + pd.Timedelta(hours=9, minutes=30),
            local + pd.Timedelta(hours=16) - pd.Timedelta(1, "ns"),
            freq=tf.pandas_freq,
        )
        parts.append(opens.tz_convert("UTC").as_unit("ns"))
    if not parts:
        return pd.DatetimeIndex([], tz="UTC")
    idx = pd.DatetimeIndex(parts[0].append(parts[1:]))
    return idx[(idx >= lo) & (idx <= hi)]


def synthetic_bars(
    symbol: str, timeframe: str, start: pd.Timestamp, end: pd.Timestamp, calendar: str = "equity"
) -> pd.DataFrame:
    """The canonical bars a :class:`VendorServer` serves for ``symbol`` (with ``adj_close``)."""
    ts = bar_starts(timeframe, start, end, calendar).as_unit("ns")
    k = (ts.asi8 // 60_000_000_000).astype("float64")  # minutes since epoch
    seed = zlib.crc32(symbol.encode()) % 97
    mid = 50.0 + seed + 10.0 * np.sin(k / 4_000.0) + 0.7 * np.sin(k / 37.0)
    open_ = np.round(mid, 2)
    close = np.round(mid + 0.5 * np.sin(k / 11.0), 2)
    high = np.round(np.maximum(open_, close) + 0.25 + 0.1 * np.abs(np.cos(k / 5.0)), 2)
    low = np.round(np.minimum(open_, close) - 0.25 - 0.1 * np.abs(np.sin(k / 7.0)), 2)
    volume = 1_000.0 + (k % 997) * 10.0
    return pd.DataFrame(
        {
            "symbol": symbol,
            "timestamp": ts.astype("datetime64[ns, UTC]"),
            "open": open_,
            "high": high,
            "low": low,
            "close": close,
            "volume": volume,
            "adj_close": np.round(close * 0.98, 2),
        }
    )


@dataclass
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]


@dataclass
class Reply:
    """A response: status, JSON-able body (or raw text) and extra headers."""

    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    status: int
    retry_after: str | None
    body: Any
    path_contains: str | None
    remaining: int


Handler = Callable[["VendorServer", RecordedRequest], Reply]


class VendorServer:
    """A threaded HTTP server on 127.0.0.1 that imitates one vendor.

    Parameters
    ----------
    vendor:
        ``yahoo``, ``alpaca``, ``polygon``, ``alphavantage`` or ``binance``.
    api_key, secret_key:
        Credentials the server accepts (where the vendor checks any).
    symbols:
        Symbols the server knows; others get the vendor's unknown-symbol answer.
    page_size:
        Largest page the server returns (forces pagination in tests).
    """

    def __init__(
        self,
        vendor: str,
        *,
        api_key: str = "test-key-123",
        secret_key: str = "test-secret-456",
        symbols: tuple[str, ...] | None = None,
        page_size: int = 1_000,
    ) -> None:
        from alphaforge.testing import vendor_routes

        routes = vendor_routes.ROUTES
        if vendor not in routes:
            raise ValueError(f"vendor: unknown {vendor!r}; expected one of {', '.join(routes)}")
        self.vendor = vendor
        self.api_key = api_key
        self.secret_key = secret_key
        self.calendar = "crypto" if vendor == "binance" else "equity"
        default = DEFAULT_CRYPTO if vendor == "binance" else DEFAULT_EQUITIES
        self.symbols = tuple(symbols or default)
        self.page_size = page_size
        self.requests: list[RecordedRequest] = []
        self._handler: Handler = routes[vendor]
        self._faults: list[_Fault] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        if self._httpd is None:
            raise RuntimeError("server not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> VendorServer:
        server = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server._serve(self)

            do_POST = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> VendorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- scripting -------------------------------------------------------------------------
    def fail_next(
        self,
        status: int,
        *,
        count: int = 1,
        retry_after: float | str | None = None,
        body: Any = None,
        path_contains: str | None = None,
    ) -> None:
        """Answer the next ``count`` matching requests with ``status`` (and ``Retry-After``)."""
        ra = None if retry_after is None else str(retry_after)
        with self._lock:
            self._faults.append(_Fault(status, ra, body, path_contains, count))

    def bars(self, symbol: str, timeframe: str, start: Any, end: Any) -> pd.DataFrame:
        """The truth: canonical bars this server holds for ``symbol`` in ``[start, end]``."""
        return synthetic_bars(symbol, timeframe, _ts(start), _ts(end), self.calendar)

    def data_requests(self, needle: str) -> list[RecordedRequest]:
        """Recorded requests whose path contains ``needle``."""
        return [r for r in self.requests if needle in r.path]

    # -- plumbing --------------------------------------------------------------------------
    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.remaining > 0 and (
                    fault.path_contains is None or fault.path_contains in path
                ):
                    fault.remaining -= 1
                    return fault
        return None

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(h.path)
        req = RecordedRequest(
            method=h.command,
            path=parts.path,
            query=dict(parse_qsl(parts.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in h.headers.items()},
        )
        with self._lock:
            self.requests.append(req)
        fault = self._take_fault(req.path)
        if fault is not None:
            body = fault.body if fault.body is not None else {"message": "injected fault"}
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            reply = Reply(fault.status, body, headers)
        else:
            try:
                reply = self._handler(self, req)
            except Exception as exc:  # a bug in a stand-in must show, not hang the client
                reply = Reply(500, {"message": f"stand-in error: {exc!r}"})
        payload = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
        data = payload.encode()
        h.send_response(reply.status)
        ctype = "text/plain" if isinstance(reply.body, str) else "application/json"
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(data)))
        for key, value in reply.headers.items():
            h.send_header(key, value)
        h.end_headers()
        h.wfile.write(data)


def _ts(value: Any) -> pd.Timestamp:
    t = pd.Timestamp(value)
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")
