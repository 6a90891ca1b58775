"""Alpha Vantage (``/query``: TIME_SERIES_DAILY_ADJUSTED and TIME_SERIES_INTRADAY).

Alpha Vantage answers most problems with HTTP 200 and a JSON object: ``"Note"`` or
``"Information"`` for call-frequency limits (treated as rate limits and retried with back-off),
``"Error Message"`` for a bad call (an unknown symbol) or a bad key. Daily series are keyed by
session date; intraday series by US/Eastern local bar-start times, one calendar month per call
(``month=YYYY-MM``, ``outputsize=full``).
"""

from __future__ import annotations

from typing import Any

import httpx
import pandas as pd

from alphaforge.core.errors import UnknownSymbolError
from alphaforge.data.schema import Timeframe
from alphaforge.data.sources.base import (
    AUTH_STATUSES,
    SourceBase,
    TransientError,
    finish_bars,
    one_line,
    request_window,
    status_reason,
)

_INTERVALS = {"1m": "1min", "5m": "5min", "15m": "15min", "1h": "60min"}
_EASTERN = "America/New_York"


class AlphaVantageSource(SourceBase):
    """Historical bars from Alpha Vantage."""

    name = "alphavantage"

    def fetch(
        self, symbol: str, timeframe: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """Canonical bars for ``symbol`` in ``[start, end]`` (daily bars carry ``adj_close``)."""
        tf, lo, hi = request_window(timeframe, start, end)
        key = self.require("alphavantage_api_key")
        base = self.settings.alphavantage_base_url
        with httpx.Client(base_url=base, timeout=30.0) as client:
            if not tf.is_intraday:
                params = {"function": "TIME_SERIES_DAILY_ADJUSTED", "outputsize": "full"}
                series = self._series(client, key, params, symbol, tf, "Time Series (Daily)")
                df = _frame(series, adjusted=True)
                df["timestamp"] = pd.to_datetime(df["timestamp"]).dt.tz_localize("UTC")
            else:
                frames = [
                    _frame(self._month(client, key, symbol, tf, month), adjusted=False)
                    for month in _months(lo, hi)
                ]
                df = pd.concat(frames, ignore_index=True)
                local = pd.to_datetime(df["timestamp"]).dt.tz_localize(_EASTERN, ambiguous="NaT")
                df["timestamp"] = local.dt.tz_convert("UTC")
                df = df[df["timestamp"].notna()]
        return finish_bars(df, symbol, tf, lo, hi, self.name)

    def _month(
        self, client: httpx.Client, key: str, symbol: str, tf: Timeframe, month: str
    ) -> dict[str, Any]:
        interval = _INTERVALS[tf.name]
        params = {"function": "TIME_SERIES_INTRADAY", "interval": interval, "month": month}
        params |= {"outputsize": "full", "adjusted": "true", "extended_hours": "false"}
        return self._series(client, key, params, symbol, tf, f"Time Series ({interval})")

    def _series(
        self,
        client: httpx.Client,
        key: str,
        params: dict[str, str],
        symbol: str,
        tf: Timeframe,
        series_key: str,
    ) -> dict[str, Any]:
        query = {**params, "symbol": symbol, "apikey": key, "datatype": "json"}

        def once() -> dict[str, Any]:
            resp = self.http_get(client, "/query", query)
            if resp.status_code in AUTH_STATUSES or resp.status_code != 200:
                raise self.error(status_reason(resp.status_code), symbol, tf)
            return self._check(resp.json(), symbol, tf)

        body = self.retry(once, symbol, tf)
        series = body.get(series_key)
        if not isinstance(series, dict):
            raise self.error(f"response has no {series_key!r} key", symbol, tf)
        return series

    def _check(self, body: Any, symbol: str, tf: Timeframe) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise self.error("response is not a JSON object", symbol, tf)
        if "Error Message" in body:
            text = str(body["Error Message"])
            if "apikey" in text.lower():
                raise self.error("invalid or missing API key", symbol, tf)
            detail = one_line(text.split(".")[0], self.secrets())
            raise UnknownSymbolError(f"alphavantage: unknown symbol {symbol!r} ({detail})")
        for note in ("Note", "Information"):
            if note in body:
                text = str(body[note]).lower()
                if "apikey" in text and "invalid" in text:
                    raise self.error("invalid or missing API key", symbol, tf)
                if "premium" in text:
                    raise self.error("premium endpoint (plan does not include it)", symbol, tf)
                raise TransientError(f"HTTP 200 rate-limited ({note})")
        return body


def _frame(series: dict[str, Any], adjusted: bool) -> pd.DataFrame:
    """Rows of an Alpha Vantage series as a frame with canonical column names."""
    names = {"1. open": "open", "2. high": "high", "3. low": "low", "4. close": "close"}
    if adjusted:
        names |= {"5. adjusted close": "adj_close", "6. volume": "volume"}
    else:
        names["5. volume"] = "volume"
    df = pd.DataFrame.from_dict(series, orient="index")
    cols = list(names.values())
    if df.empty:
        return pd.DataFrame(columns=["timestamp", *cols])
    df = df.rename(columns=names)[cols].astype("float64")
    df.insert(0, "timestamp", df.index.astype(str))
    return df.reset_index(drop=True)


def _months(lo: pd.Timestamp, hi: pd.Timestamp) -> list[str]:
    """Calendar months (``YYYY-MM``, Eastern time) touched by ``[lo, hi]``."""
    first = lo.tz_convert(_EASTERN).tz_localize(None).to_period("M")
    last = hi.tz_convert(_EASTERN).tz_localize(None).to_period("M")
    return [str(p) for p in pd.period_range(first, last, freq="M")]
