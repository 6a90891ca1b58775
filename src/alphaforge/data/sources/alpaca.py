"""Alpaca market data v2 through alpaca-py (``StockHistoricalDataClient`` + ``StockBarsRequest``).

alpaca-py pages through ``/v2/stocks/bars`` with ``next_page_token``; its own 429 retry loop
(fixed 3 s sleeps) is switched off so that :class:`~alphaforge.data.sources.base.RetryPolicy`
decides, honouring ``Retry-After``. Bars are split-adjusted (``adjustment=split``). Alpaca stamps
daily bars with 00:00 New York time; they are labelled by that session date.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd

from alphaforge.core.errors import UnknownSymbolError
from alphaforge.data.schema import Timeframe
from alphaforge.data.sources.base import (
    AUTH_STATUSES,
    RATE_LIMIT_STATUSES,
    SourceBase,
    TransientError,
    finish_bars,
    one_line,
    parse_retry_after,
    request_window,
    session_date,
    status_reason,
)


class AlpacaSource(SourceBase):
    """Historical stock bars from Alpaca."""

    name = "alpaca"

    def fetch(
        self, symbol: str, timeframe: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """Canonical bars for ``symbol`` in ``[start, end]`` (see :class:`MarketDataSource`)."""
        tf, lo, hi = request_window(timeframe, start, end)
        client = self._client()
        request = _request(symbol, tf, lo, hi)
        raw = self.retry(lambda: self._get(client, request, symbol, tf), symbol, tf)
        rows = raw.get(symbol, [])
        df = pd.DataFrame(rows, columns=["t", "o", "h", "l", "c", "v"])
        ts = pd.to_datetime(df["t"], utc=True, format="ISO8601")
        out = pd.DataFrame(
            {
                "timestamp": ts if tf.is_intraday else session_date(ts, "America/New_York"),
                "open": df["o"],
                "high": df["h"],
                "low": df["l"],
                "close": df["c"],
                "volume": df["v"],
            }
        )
        return finish_bars(out, symbol, tf, lo, hi, self.name)

    def _client(self) -> Any:
        from alpaca.data.historical import StockHistoricalDataClient

        client = StockHistoricalDataClient(
            api_key=self.require("alpaca_api_key"),
            secret_key=self.require("alpaca_secret_key"),
            raw_data=True,
            url_override=self.settings.alpaca_data_url,
        )
        # alpaca-py would sleep 3 s per 429 on its own; the retry policy owns back-off here.
        client._retry = 0
        return client

    def _get(self, client: Any, request: Any, symbol: str, tf: Timeframe) -> dict[str, Any]:
        from alpaca.common.exceptions import APIError
        from requests.exceptions import RequestException

        try:
            return dict(client.get_stock_bars(request))
        except APIError as exc:
            raise self._map(exc, symbol, tf) from None
        except RequestException as exc:
            raise TransientError(f"network error ({type(exc).__name__})") from None

    def _map(self, exc: Any, symbol: str, tf: Timeframe) -> Exception:
        status = int(exc.status_code or 0)
        headers = exc.response.headers if exc.response is not None else {}
        if status in RATE_LIMIT_STATUSES or status >= 500:
            return TransientError(
                status_reason(status), parse_retry_after(headers.get("Retry-After"))
            )
        message = one_line(_message(str(exc)), self.secrets())
        if status in (400, 404, 422) and "symbol" in message.lower():
            return UnknownSymbolError(f"alpaca: unknown symbol {symbol!r} ({message})")
        if status in AUTH_STATUSES:
            return self.error(f"{status_reason(status)}: {message}", symbol, tf)
        return self.error(f"{status_reason(status)}: {message}", symbol, tf)


def _request(symbol: str, tf: Timeframe, lo: pd.Timestamp, hi: pd.Timestamp) -> Any:
    from alpaca.data.enums import Adjustment
    from alpaca.data.requests import StockBarsRequest
    from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

    frames = {
        "1d": TimeFrame(1, TimeFrameUnit.Day),
        "1h": TimeFrame(1, TimeFrameUnit.Hour),
        "15m": TimeFrame(15, TimeFrameUnit.Minute),
        "5m": TimeFrame(5, TimeFrameUnit.Minute),
        "1m": TimeFrame(1, TimeFrameUnit.Minute),
    }
    if not tf.is_intraday:  # daily bars are stamped 00:00 New York: widen to whole NY days
        lo = lo.normalize().tz_localize(None).tz_localize("America/New_York").tz_convert("UTC")
        hi = hi.normalize().tz_localize(None).tz_localize("America/New_York").tz_convert("UTC")
    return StockBarsRequest(
        symbol_or_symbols=symbol,
        timeframe=frames[tf.name],
        start=lo.floor("us").to_pydatetime(),
        end=hi.floor("us").to_pydatetime(),
        adjustment=Adjustment.SPLIT,
    )


def _message(text: str) -> str:
    try:
        body = json.loads(text)
    except ValueError:
        return text[:200]
    return str(body.get("message", text))[:200] if isinstance(body, dict) else text[:200]
