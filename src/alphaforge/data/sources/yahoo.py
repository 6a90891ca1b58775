"""Yahoo Finance through yfinance (chart API ``/v8/finance/chart/{symbol}``).

yfinance builds its URLs from fixed Yahoo hosts (query1/query2, fc.yahoo.com for the cookie,
guce.yahoo.com for consent), so it is given a session, :class:`RoutedSession`, that sends every
request to ``settings.yahoo_base_url`` when that is set (tests; a proxy), and leaves URLs alone
otherwise. The session also remembers the status and ``Retry-After`` of the last response, which
yfinance does not expose, so that a 429 is retried as the vendor asked and a 401 or 404 is told
apart from an empty range.

Bars are requested unadjusted (``auto_adjust=False``) so ``close`` is Yahoo's close and
``adj_close`` is its ``adjclose``. Daily bars are labelled by exchange session date; intraday
bars by their UTC start. Intraday ranges are split into requests no longer than Yahoo serves
(8 days of 1m bars, 60 days of 5m/15m). yfinance's caches live under ``home/cache/yfinance``.
"""

from __future__ import annotations

import functools
import threading
import warnings
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd
from curl_cffi import requests as curl_requests

from alphaforge.core.errors import UnknownSymbolError
from alphaforge.data.schema import Timeframe
from alphaforge.data.sources.base import (
    AUTH_STATUSES,
    SourceBase,
    TransientError,
    chunk_range,
    finish_bars,
    parse_retry_after,
    request_window,
    status_reason,
)

_INTERVALS = {"1d": "1d", "1h": "1h", "15m": "15m", "5m": "5m", "1m": "1m"}
_CONFIG_LOCK = threading.Lock()
# Yahoo's longest span per intraday request (1m: 8 days; 5m/15m: 60 days; 1h: 730 days).
_CHUNK = {
    "1m": pd.Timedelta(days=7),
    "5m": pd.Timedelta(days=55),
    "15m": pd.Timedelta(days=55),
    "1h": pd.Timedelta(days=700),
}


class RoutedSession(curl_requests.Session):
    """A curl_cffi session that can send every request to one base URL.

    Parameters
    ----------
    base_url:
        ``scheme://host:port`` to send all requests to; ``None`` keeps the original URLs.
    """

    def __init__(self, base_url: str | None = None) -> None:
        super().__init__(impersonate="chrome")
        self.base_url = base_url.rstrip("/") if base_url else None
        self.last_status: int | None = None
        self.last_retry_after: float | None = None
        self.data_calls = 0

    def request(self, method: Any, url: str, *args: Any, **kwargs: Any) -> Any:
        """Send the request (re-hosted when ``base_url`` is set) and note its outcome."""
        if self.base_url is not None:
            parts, base = urlsplit(url), urlsplit(self.base_url)
            url = urlunsplit((base.scheme, base.netloc, parts.path, parts.query, ""))
        response = super().request(method, url, *args, **kwargs)
        if "/finance/chart/" in url:
            self.data_calls += 1
            self.last_status = int(response.status_code)
            self.last_retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return response


class YahooSource(SourceBase):
    """Historical bars from Yahoo Finance."""

    name = "yahoo"

    def fetch(
        self, symbol: str, timeframe: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """Canonical bars for ``symbol`` in ``[start, end]`` (with ``adj_close``)."""
        tf, lo, hi = request_window(timeframe, start, end)
        parts = []
        for a, b in chunk_range(lo, hi, _CHUNK.get(tf.name, pd.Timedelta(days=36_500))):
            part = self.retry(functools.partial(self._history, symbol, tf, a, b), symbol, tf)
            if not part.empty:
                parts.append(part)
        if not parts:
            return finish_bars(pd.DataFrame(columns=["timestamp"]), symbol, tf, lo, hi, self.name)
        raw = pd.concat(parts)
        index = pd.DatetimeIndex(raw.index)
        if tf.is_intraday:
            stamps = index.tz_convert("UTC")
        else:  # yfinance labels daily bars with exchange-local midnight of the session date
            stamps = pd.DatetimeIndex(index.tz_localize(None).normalize()).tz_localize("UTC")
        out = pd.DataFrame(
            {
                "timestamp": stamps.as_unit("ns"),
                "open": raw["Open"].to_numpy(),
                "high": raw["High"].to_numpy(),
                "low": raw["Low"].to_numpy(),
                "close": raw["Close"].to_numpy(),
                "volume": raw["Volume"].to_numpy(),
                "adj_close": raw["Adj Close"].to_numpy(),
            }
        )
        return finish_bars(out, symbol, tf, lo, hi, self.name)

    def _history(
        self, symbol: str, tf: Timeframe, lo: pd.Timestamp, hi: pd.Timestamp
    ) -> pd.DataFrame:
        import yfinance as yf
        from yfinance import exceptions as yfe

        session = RoutedSession(self.settings.yahoo_base_url)
        start, end = _bounds(tf, lo, hi)
        cache_dir = self.settings.home / "cache" / "yfinance"
        cache_dir.mkdir(parents=True, exist_ok=True)
        with _CONFIG_LOCK, warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"yfinance(\..*)?")
            yf.set_tz_cache_location(str(cache_dir))
            hide = yf.config.debug.hide_exceptions
            yf.config.debug.hide_exceptions = False  # raise instead of logging and returning {}
            # yfinance memoizes chart answers per URL, failed ones included (a 429 or 401 during
            # its timezone lookup would stick for the life of the process): start clean.
            _clear_response_cache()
            try:
                ticker = yf.Ticker(symbol, session=session)
                return ticker.history(
                    interval=_INTERVALS[tf.name],
                    start=start,
                    end=end,
                    auto_adjust=False,
                    actions=False,
                    prepost=False,
                    repair=False,
                )
            except yfe.YFRateLimitError:
                raise TransientError("HTTP 429 rate-limited", session.last_retry_after) from None
            except yfe.YFPricesMissingError as exc:
                if session.last_status == 200:  # a known symbol without bars in the range
                    return pd.DataFrame()
                raise self._map(exc, session, symbol, tf) from None
            except Exception as exc:
                raise self._map(exc, session, symbol, tf) from None
            finally:
                yf.config.debug.hide_exceptions = hide

    def _map(self, exc: Exception, session: RoutedSession, symbol: str, tf: Timeframe) -> Exception:
        from yfinance import exceptions as yfe

        status = session.last_status
        if status is not None and (status >= 500 or status in (418, 429)):
            return TransientError(status_reason(status), session.last_retry_after)
        if status in AUTH_STATUSES:
            return self.error(status_reason(status), symbol, tf)
        if status == 404 or isinstance(exc, yfe.YFTzMissingError):
            return UnknownSymbolError(f"yahoo: unknown symbol {symbol!r} (no data found)")
        if isinstance(exc, (curl_requests.exceptions.ConnectionError, OSError)):
            return TransientError(f"network error ({type(exc).__name__})")
        return self.error(f"{type(exc).__name__}: {exc}", symbol, tf)


def _clear_response_cache() -> None:
    from yfinance.data import YfData

    clear = getattr(YfData.cache_get, "cache_clear", None)
    if clear is not None:
        clear()


def _bounds(tf: Timeframe, lo: pd.Timestamp, hi: pd.Timestamp) -> tuple[Any, Any]:
    """yfinance's start/end: session dates (read in exchange time) for daily, else instants.

    yfinance's ``end`` is exclusive.
    """
    if tf.is_intraday:
        return lo, hi + pd.Timedelta(1, "ns")
    last = hi.normalize() + pd.Timedelta(days=1)
    return lo.strftime("%Y-%m-%d"), last.strftime("%Y-%m-%d")
