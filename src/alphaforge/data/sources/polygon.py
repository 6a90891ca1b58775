"""Polygon.io aggregates (``/v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{from}/{to}``).

Implemented with httpx against the documented REST API: ``apiKey`` query parameter,
``adjusted``/``sort``/``limit`` parameters, ``next_url`` pagination (the key is re-attached to
each ``next_url``), millisecond timestamps. Daily aggregates are stamped 00:00 New York time;
they are labelled by that session date. An empty answer is checked against
``/v3/reference/tickers/{ticker}`` to tell an unknown ticker from a quiet range.
"""

from __future__ import annotations

import functools
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx
import pandas as pd

from alphaforge.core.errors import UnknownSymbolError
from alphaforge.data.schema import Timeframe
from alphaforge.data.sources.base import (
    AUTH_STATUSES,
    SourceBase,
    chunk_range,
    finish_bars,
    request_window,
    session_date,
    status_reason,
)

_SPANS: dict[str, tuple[int, str]] = {
    "1d": (1, "day"),
    "1h": (1, "hour"),
    "15m": (15, "minute"),
    "5m": (5, "minute"),
    "1m": (1, "minute"),
}
_CHUNK = {"1d": pd.Timedelta(days=3650), "1h": pd.Timedelta(days=365)}
_PAGE_LIMIT = 50_000


class PolygonSource(SourceBase):
    """Historical bars from Polygon.io."""

    name = "polygon"

    def fetch(
        self, symbol: str, timeframe: str, start: pd.Timestamp, end: pd.Timestamp
    ) -> pd.DataFrame:
        """Canonical bars for ``symbol`` in ``[start, end]`` (see :class:`MarketDataSource`)."""
        tf, lo, hi = request_window(timeframe, start, end)
        key = self.require("polygon_api_key")
        span = _CHUNK.get(tf.name, pd.Timedelta(days=30))
        rows: list[dict[str, Any]] = []
        with httpx.Client(base_url=self.settings.polygon_base_url, timeout=30.0) as client:
            for a, b in chunk_range(lo, hi, span):
                rows.extend(self._range(client, key, symbol, tf, a, b))
            if not rows:
                self._check_ticker(client, key, symbol, tf)
        df = pd.DataFrame(rows, columns=["t", "o", "h", "l", "c", "v"])
        ts = pd.to_datetime(df["t"].astype("int64"), unit="ms", utc=True)
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

    def _range(
        self,
        client: httpx.Client,
        key: str,
        symbol: str,
        tf: Timeframe,
        lo: pd.Timestamp,
        hi: pd.Timestamp,
    ) -> list[dict[str, Any]]:
        mult, timespan = _SPANS[tf.name]
        if tf.is_intraday:
            frm, to = str(lo.value // 1_000_000), str(hi.value // 1_000_000)
        else:
            frm, to = lo.strftime("%Y-%m-%d"), hi.strftime("%Y-%m-%d")
        url: str | None = f"/v2/aggs/ticker/{symbol}/range/{mult}/{timespan}/{frm}/{to}"
        params = {"adjusted": "true", "sort": "asc", "limit": str(_PAGE_LIMIT), "apiKey": key}
        rows: list[dict[str, Any]] = []
        while url is not None:
            body = self.retry(
                functools.partial(self._page, client, url, params, symbol, tf), symbol, tf
            )
            rows.extend(body.get("results") or [])
            url, params = _next_page(body.get("next_url"), key)
        return rows

    def _page(
        self, client: httpx.Client, url: str, params: dict[str, str], symbol: str, tf: Timeframe
    ) -> dict[str, Any]:
        resp = self.http_get(client, url, params)
        body = _json(resp)
        if resp.status_code in AUTH_STATUSES:
            raise self.error(f"{status_reason(resp.status_code)}: {_msg(body)}", symbol, tf)
        if resp.status_code != 200 or body.get("status") == "ERROR":
            raise self.error(f"{status_reason(resp.status_code)}: {_msg(body)}", symbol, tf)
        return body

    def _check_ticker(self, client: httpx.Client, key: str, symbol: str, tf: Timeframe) -> None:
        url = f"/v3/reference/tickers/{symbol}"
        resp = self.retry(lambda: self.http_get(client, url, {"apiKey": key}), symbol, tf)
        if resp.status_code == 404:
            raise UnknownSymbolError(f"polygon: unknown symbol {symbol!r} (ticker not found)")
        if resp.status_code in AUTH_STATUSES:
            raise self.error(status_reason(resp.status_code), symbol, tf)


def _next_page(next_url: str | None, key: str) -> tuple[str | None, dict[str, str]]:
    """Split ``next_url`` into URL and parameters, re-attaching the key it does not carry."""
    if not next_url:
        return None, {}
    parts = urlsplit(next_url)
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    params["apiKey"] = key
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), params


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        return {"error": resp.text[:200]}
    return body if isinstance(body, dict) else {"error": str(body)[:200]}


def _msg(body: dict[str, Any]) -> str:
    return str(body.get("error") or body.get("message") or body.get("status") or "no detail")
