"""Crypto exchanges through ccxt (Binance by default).

``fetch_ohlcv`` is paged with ``since`` and ``limit`` (and ``until`` as the upper bound) until the
requested range is covered. With ``ccxt_base_url`` set, every entry of the exchange's
``urls['api']`` is pointed at that host, so no request can reach the real exchange. ccxt's
``RateLimitExceeded``/``DDoSProtection`` (HTTP 429/418) and network errors are retried per the
retry policy, honouring the ``Retry-After`` header of the last response.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pandas as pd

from alphaforge.core.errors import ConfigError, UnknownSymbolError
from alphaforge.data.schema import Timeframe
from alphaforge.data.sources.base import (
    SourceBase,
    TransientError,
    finish_bars,
    parse_retry_after,
    request_window,
)

PAGE_LIMIT = 1000


class CcxtSource(SourceBase):
    """Historical OHLCV from a ccxt exchange (``settings.ccxt_exchange``)."""

    name = "ccxt"

    def fetch(
        self, symbol: str, timeframe: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """Canonical bars for ``symbol`` (e.g. ``BTC/USDT``) in ``[start, end]``."""
        tf, lo, hi = request_window(timeframe, start, end)
        exchange = self._exchange()
        self.retry(lambda: self._call(exchange, symbol, tf, exchange.load_markets), symbol, tf)
        rows = self._pages(exchange, symbol, tf, lo, hi)
        df = pd.DataFrame(rows, columns=["t", "open", "high", "low", "close", "volume"])
        df.insert(0, "timestamp", pd.to_datetime(df.pop("t").astype("int64"), unit="ms", utc=True))
        return finish_bars(df, symbol, tf, lo, hi, self.name)

    def _pages(
        self, exchange: Any, symbol: str, tf: Timeframe, lo: pd.Timestamp, hi: pd.Timestamp
    ) -> list[list[Any]]:
        step_ms = tf.nanos // 1_000_000
        since, until = lo.value // 1_000_000, hi.value // 1_000_000
        rows: list[list[Any]] = []
        while since <= until:
            page_since = since

            def page(since_ms: int = page_since) -> list[list[Any]]:
                return self._call(
                    exchange,
                    symbol,
                    tf,
                    lambda: exchange.fetch_ohlcv(
                        symbol, tf.name, since_ms, PAGE_LIMIT, {"until": until}
                    ),
                )

            batch = [r for r in self.retry(page, symbol, tf) if since <= r[0] <= until]
            if not batch:
                break
            rows.extend(batch)
            since = int(batch[-1][0]) + step_ms
        return rows

    def _exchange(self) -> Any:
        import ccxt

        exchange_id = self.settings.ccxt_exchange
        cls = getattr(ccxt, exchange_id, None)
        if cls is None:
            raise ConfigError(f"ccxt_exchange: unknown exchange {exchange_id!r}")
        config: dict[str, Any] = {"enableRateLimit": True}
        if self.settings.ccxt_api_key is not None:
            config["apiKey"] = self.settings.ccxt_api_key.get_secret_value()
        if self.settings.ccxt_secret is not None:
            config["secret"] = self.settings.ccxt_secret.get_secret_value()
        exchange = cls(config)
        if exchange_id == "binance":  # historical bars come from spot markets only
            exchange.options["fetchMarkets"] = {"types": ["spot"]}
        if self.settings.ccxt_base_url:
            exchange.urls["api"] = _rebase(exchange.urls["api"], self.settings.ccxt_base_url)
        return exchange

    def _call(self, exchange: Any, symbol: str, tf: Timeframe, fn: Any) -> Any:
        import ccxt

        try:
            return fn()
        except ccxt.BadSymbol:
            raise UnknownSymbolError(f"ccxt: unknown symbol {symbol!r} on {exchange.id}") from None
        except (ccxt.NetworkError, ccxt.ExchangeNotAvailable) as exc:
            raise TransientError(self._reason(exchange, exc), self._retry_after(exchange)) from None
        except (ccxt.AuthenticationError, ccxt.PermissionDenied):
            raise self.error("authentication failed (check the API key)", symbol, tf) from None
        except ccxt.BaseError as exc:
            raise self.error(f"{type(exc).__name__}: {exc}", symbol, tf) from None

    @staticmethod
    def _retry_after(exchange: Any) -> float | None:
        headers = exchange.last_response_headers or {}
        value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
        return parse_retry_after(value)

    @staticmethod
    def _reason(exchange: Any, exc: Exception) -> str:
        match = re.search(r" ([1-5]\d\d) ", f" {exc} ")
        if match and match.group(1) in ("418", "429"):
            return f"HTTP {match.group(1)} rate-limited"
        if match and match.group(1).startswith("5"):
            return f"HTTP {match.group(1)} server error"
        return f"network error ({type(exc).__name__})"


def _rebase(api: Any, base_url: str) -> Any:
    """``urls['api']`` (a URL or nested dict of URLs) with every host replaced by ``base_url``."""
    if isinstance(api, dict):
        return {k: _rebase(v, base_url) for k, v in api.items()}
    if not isinstance(api, str):
        return api
    target = urlsplit(base_url)
    parts = urlsplit(api)
    path = target.path.rstrip("/") + parts.path
    return urlunsplit((target.scheme, target.netloc, path, parts.query, parts.fragment))
