"""Request handlers of :class:`alphaforge.testing.vendor_servers.VendorServer`, one per vendor.

Each handler answers in the vendor's documented wire format (paths, parameter names, JSON keys,
timestamp conventions, pagination and error bodies) from the server's synthetic bars.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING, Any

import pandas as pd

from alphaforge.testing.vendor_servers import NEW_YORK, RecordedRequest, Reply

if TYPE_CHECKING:
    from alphaforge.testing.vendor_servers import Handler, VendorServer

_FAR_PAST = pd.Timestamp("1970-01-01", tz="UTC")
_FAR_FUTURE = pd.Timestamp("2100-01-01", tz="UTC")


def _enc(obj: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode()


def _dec(token: str) -> Any:
    return json.loads(base64.urlsafe_b64decode(token.encode()).decode())


def _rows(bars: pd.DataFrame) -> list[Any]:
    """Rows as attribute tuples (typed loosely: the columns are known)."""
    return list(bars.itertuples(index=False))


def _ms(ts: pd.Timestamp) -> int:
    return int(ts.value // 1_000_000)


def _ny_midnight(day: pd.Timestamp) -> pd.Timestamp:
    """UTC instant of 00:00 New York time on the session date ``day``."""
    return day.tz_localize(None).tz_localize(NEW_YORK).tz_convert("UTC")


def _ny_date_start(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).tz_localize(NEW_YORK).tz_convert("UTC")


# -- Yahoo chart API -------------------------------------------------------------------------
_YF_INTERVALS = {"1d": "1d", "1h": "1h", "60m": "1h", "15m": "15m", "5m": "5m", "1m": "1m"}


def yahoo(server: VendorServer, req: RecordedRequest) -> Reply:
    """``/v8/finance/chart/{symbol}`` plus the cookie and crumb endpoints yfinance calls."""
    if req.path == "/v1/test/getcrumb":
        return Reply(200, "testcrumb42")
    if not req.path.startswith("/v8/finance/chart/"):
        return Reply(200, "ok", {"Set-Cookie": "A3=d=alphaforge-test; Path=/"})
    symbol = req.path.rsplit("/", 1)[1].upper()
    if symbol not in server.symbols:
        error = {"code": "Not Found", "description": "No data found, symbol may be delisted"}
        return Reply(404, {"chart": {"result": None, "error": error}})
    interval = _YF_INTERVALS[req.query.get("interval", "1d")]
    if "period1" in req.query:
        lo = pd.Timestamp(int(req.query["period1"]), unit="s", tz="UTC")
        hi = pd.Timestamp(int(req.query["period2"]), unit="s", tz="UTC") - pd.Timedelta(1)
    else:  # range=1d etc.: the last session the server has
        lo, hi = pd.Timestamp("2024-12-31", tz="UTC"), pd.Timestamp("2024-12-31 23:59", tz="UTC")
    daily = interval == "1d"
    bars = server.bars(symbol, interval, lo.normalize() if daily else lo, hi)
    stamps = bars["timestamp"]
    if daily:  # Yahoo stamps daily bars with the session's opening instant
        stamps = stamps.map(lambda d: _ny_midnight(d) + pd.Timedelta(hours=9, minutes=30))
        keep = (stamps >= lo) & (stamps <= hi)
        bars, stamps = bars[keep.to_numpy()], stamps[keep]
    quote = {c: bars[c].tolist() for c in ("open", "high", "low", "close")}
    quote["volume"] = [int(v) for v in bars["volume"]]
    meta = _yahoo_meta(symbol, interval, bars)
    if bars.empty:  # Yahoo omits the timestamps and leaves the quote empty
        empty: dict[str, Any] = {"meta": meta, "indicators": {"quote": [{}], "adjclose": [{}]}}
        return Reply(200, {"chart": {"result": [empty], "error": None}})
    result: dict[str, Any] = {
        "meta": meta,
        "timestamp": [int(t.value // 1_000_000_000) for t in stamps],
        "indicators": {"quote": [quote], "adjclose": [{"adjclose": bars["adj_close"].tolist()}]},
    }
    return Reply(200, {"chart": {"result": [result], "error": None}})


def _yahoo_meta(symbol: str, interval: str, bars: pd.DataFrame) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "currency": "USD",
        "symbol": symbol,
        "exchangeName": "NMS",
        "fullExchangeName": "NasdaqGS",
        "instrumentType": "EQUITY",
        "firstTradeDate": 345479400,
        "regularMarketTime": 1735678800,
        "hasPrePostMarketData": True,
        "gmtoffset": -18000,
        "timezone": "EST",
        "exchangeTimezoneName": NEW_YORK,
        "regularMarketPrice": float(bars["close"].iloc[-1]) if len(bars) else 100.0,
        "priceHint": 2,
        "dataGranularity": interval,
        "range": "",
        "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"],
    }
    if interval != "1d":
        days = sorted({t.tz_convert(NEW_YORK).normalize() for t in bars["timestamp"]})
        meta["tradingPeriods"] = [
            [
                {
                    "timezone": "EST",
                    "start": int((d + pd.Timedelta(hours=9, minutes=30)).timestamp()),
                    "end": int((d + pd.Timedelta(hours=16)).timestamp()),
                    "gmtoffset": int(d.utcoffset().total_seconds()),
                }
            ]
            for d in days
        ]
    return meta


# -- Alpaca market data v2 -------------------------------------------------------------------
_ALPACA_TF = {"1Day": "1d", "1Hour": "1h", "15Min": "15m", "5Min": "5m", "1Min": "1m"}


def alpaca(server: VendorServer, req: RecordedRequest) -> Reply:
    """``GET /v2/stocks/bars`` (multi-symbol, ``next_page_token``), key headers checked."""
    if (
        req.headers.get("apca-api-key-id") != server.api_key
        or req.headers.get("apca-api-secret-key") != server.secret_key
    ):
        return Reply(401, {"message": "unauthorized."})
    if req.path != "/v2/stocks/bars":
        return Reply(404, {"message": "Not Found"})
    symbols = [s for s in req.query.get("symbols", "").split(",") if s]
    for sym in symbols:
        if sym not in server.symbols:
            return Reply(400, {"code": 42210000, "message": f"invalid symbol: {sym}"})
    tf = _ALPACA_TF[req.query.get("timeframe", "1Day")]
    lo = pd.Timestamp(req.query.get("start", "2020-01-01T00:00:00Z"))
    hi = pd.Timestamp(req.query["end"]) if req.query.get("end") else _FAR_FUTURE
    rows: list[tuple[str, dict[str, Any]]] = []
    for sym in sorted(symbols):
        bars = server.bars(sym, tf, lo.normalize() if tf == "1d" else lo, hi)
        for b in _rows(bars):
            t = _ny_midnight(b.timestamp) if tf == "1d" else b.timestamp
            if not lo <= t <= hi:
                continue
            bar = {"t": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "o": b.open, "h": b.high}
            bar |= {"l": b.low, "c": b.close, "v": int(b.volume), "n": 100, "vw": b.close}
            rows.append((sym, bar))
    offset = _dec(req.query["page_token"]) if req.query.get("page_token") else 0
    limit = min(int(req.query.get("limit") or 1000), server.page_size)
    page = rows[offset : offset + limit]
    out: dict[str, list[dict[str, Any]]] = {}
    for sym, bar in page:
        out.setdefault(sym, []).append(bar)
    token = _enc(offset + limit) if offset + limit < len(rows) else None
    return Reply(200, {"bars": out, "next_page_token": token})


# -- Polygon aggregates ----------------------------------------------------------------------
_POLY_SPAN = {("1", "day"): "1d", ("1", "hour"): "1h", ("15", "minute"): "15m"}
_POLY_SPAN |= {("5", "minute"): "5m", ("1", "minute"): "1m"}


def polygon(server: VendorServer, req: RecordedRequest) -> Reply:
    """``/v2/aggs/ticker/...`` with ``next_url`` cursors and ``/v3/reference/tickers/{t}``."""
    key = req.query.get("apiKey") or req.headers.get("authorization", "").removeprefix("Bearer ")
    if key != server.api_key:
        return Reply(401, {"status": "ERROR", "request_id": "r1", "error": "Unknown API Key"})
    parts = req.path.strip("/").split("/")
    if parts[:3] == ["v3", "reference", "tickers"]:
        if parts[3] in server.symbols:
            return Reply(200, {"status": "OK", "results": {"ticker": parts[3], "active": True}})
        return Reply(
            404, {"status": "NOT_FOUND", "request_id": "r2", "message": "Ticker not found."}
        )
    if parts[:3] != ["v2", "aggs", "ticker"] or len(parts) != 9:
        return Reply(404, {"status": "NOT_FOUND", "message": "Not Found"})
    ticker, mult, span, frm, to = parts[3], parts[5], parts[6], parts[7], parts[8]
    query = _dec(req.query["cursor"]) if "cursor" in req.query else dict(req.query)
    query.pop("apiKey", None)
    offset = int(query.pop("offset", 0))
    tf = _POLY_SPAN[(mult, span)]
    lo = pd.Timestamp(int(frm), unit="ms", tz="UTC") if frm.isdigit() else _ny_date_start(frm)
    hi = (
        pd.Timestamp(int(to), unit="ms", tz="UTC")
        if to.isdigit()
        else _ny_date_start(to) + pd.Timedelta(days=1) - pd.Timedelta(1)
    )
    bars = pd.DataFrame()
    if ticker in server.symbols:
        bars = server.bars(ticker, tf, lo.normalize() - pd.Timedelta(days=1), hi)
    results = []
    for b in _rows(bars):
        t = _ny_midnight(b.timestamp) if tf == "1d" else b.timestamp
        if lo <= t <= hi:
            results.append({"v": b.volume, "vw": b.close, "o": b.open, "c": b.close})
            results[-1] |= {"h": b.high, "l": b.low, "t": _ms(t), "n": 100}
    if query.get("sort") == "desc":
        results.reverse()
    limit = min(int(query.get("limit", 5000)), server.page_size)
    page = results[offset : offset + limit]
    body: dict[str, Any] = {"ticker": ticker, "queryCount": len(page), "resultsCount": len(page)}
    body |= {"adjusted": query.get("adjusted", "true") == "true", "status": "OK"}
    body |= {"request_id": "r3", "count": len(page)}
    if page:
        body["results"] = page
    if offset + limit < len(results):
        cursor = _enc({**query, "offset": offset + limit})
        body["next_url"] = f"{server.url}{req.path}?cursor={cursor}"
    return Reply(200, body)


# -- Alpha Vantage ---------------------------------------------------------------------------
_AV_BAD_KEY = (
    "the parameter apikey is invalid or missing. Please claim your free API key on "
    "(https://www.alphavantage.co/support/#api-key). It should take less than 20 seconds."
)
_AV_INTERVALS = {"1min": "1m", "5min": "5m", "15min": "15m", "60min": "1h"}


def alphavantage(server: VendorServer, req: RecordedRequest) -> Reply:
    """``/query`` for TIME_SERIES_DAILY_ADJUSTED and TIME_SERIES_INTRADAY (HTTP 200 errors)."""
    q = req.query
    if q.get("apikey") != server.api_key:
        return Reply(200, {"Error Message": _AV_BAD_KEY})
    function, symbol = q.get("function", ""), q.get("symbol", "")
    if symbol not in server.symbols or function not in (
        "TIME_SERIES_DAILY_ADJUSTED",
        "TIME_SERIES_INTRADAY",
    ):
        msg = "Invalid API call. Please retry or visit the documentation "
        msg += f"(https://www.alphavantage.co/documentation/) for {function}."
        return Reply(200, {"Error Message": msg})
    full = q.get("outputsize", "compact") == "full"
    if function == "TIME_SERIES_DAILY_ADJUSTED":
        bars = server.bars(symbol, "1d", "2000-01-01", "2100-01-01")
        series = {
            b.timestamp.strftime("%Y-%m-%d"): _av_fields(b, adjusted=True) for b in _rows(bars)
        }
        meta = {"1. Information": "Daily Time Series with Splits and Dividend Events"}
        key = "Time Series (Daily)"
    else:
        interval = q.get("interval", "5min")
        month = q.get("month", "2024-12")
        lo = pd.Timestamp(month + "-01").tz_localize(NEW_YORK)
        hi = lo + pd.offsets.MonthBegin(1) - pd.Timedelta(1)
        bars = server.bars(symbol, _AV_INTERVALS[interval], lo, hi)
        series = {
            b.timestamp.tz_convert(NEW_YORK).strftime("%Y-%m-%d %H:%M:%S"): _av_fields(b, False)
            for b in _rows(bars)
        }
        meta = {"1. Information": f"Intraday ({interval}) open, high, low, close prices and volume"}
        key = f"Time Series ({interval})"
    items = sorted(series.items(), reverse=True)
    if not full:
        items = items[:100]
    meta |= {"2. Symbol": symbol, "3. Last Refreshed": items[0][0] if items else ""}
    meta |= {"4. Output Size": "Full size" if full else "Compact", "5. Time Zone": "US/Eastern"}
    return Reply(200, {"Meta Data": meta, key: dict(items)})


def _av_fields(b: Any, adjusted: bool) -> dict[str, str]:
    out = {"1. open": f"{b.open:.4f}", "2. high": f"{b.high:.4f}", "3. low": f"{b.low:.4f}"}
    out["4. close"] = f"{b.close:.4f}"
    if adjusted:
        out["5. adjusted close"] = f"{b.adj_close:.4f}"
        out["6. volume"] = str(int(b.volume))
        out["7. dividend amount"] = "0.0000"
        out["8. split coefficient"] = "1.0"
    else:
        out["5. volume"] = str(int(b.volume))
    return out


# -- Binance spot ----------------------------------------------------------------------------
def binance(server: VendorServer, req: RecordedRequest) -> Reply:
    """``/api/v3/exchangeInfo`` (minimal, valid for ccxt) and ``/api/v3/klines``."""
    if req.path == "/api/v3/exchangeInfo":
        return Reply(200, _exchange_info(server.symbols))
    if req.path != "/api/v3/klines":
        return Reply(404, {"code": -1, "msg": "stand-in: unsupported path"})
    wire = {s.replace("/", ""): s for s in server.symbols}
    if req.query.get("symbol") not in wire:
        return Reply(400, {"code": -1121, "msg": "Invalid symbol."})
    tf = req.query.get("interval", "1h")
    limit = min(int(req.query.get("limit", 500)), 1000, server.page_size)
    lo = pd.Timestamp(int(req.query.get("startTime", 0)), unit="ms", tz="UTC")
    hi = (
        pd.Timestamp(int(req.query["endTime"]), unit="ms", tz="UTC")
        if "endTime" in req.query
        else _FAR_FUTURE
    )
    bars = server.bars(wire[req.query["symbol"]], tf, lo, hi)
    bars = bars.iloc[:limit] if "startTime" in req.query else bars.iloc[-limit:]
    step = pd.Timedelta(_binance_nanos(tf), "ns")
    rows = [
        [_ms(b.timestamp), f"{b.open:.8f}", f"{b.high:.8f}", f"{b.low:.8f}", *_kline_tail(b, step)]
        for b in _rows(bars)
    ]
    return Reply(200, rows)


def _kline_tail(b: Any, step: pd.Timedelta) -> list[Any]:
    return [
        f"{b.close:.8f}",
        f"{b.volume:.8f}",
        _ms(b.timestamp + step) - 1,
        "0.0",
        100,
        "0.0",
        "0.0",
        "0",
    ]


def _binance_nanos(tf: str) -> int:
    from alphaforge.core.timeframe import parse_timeframe

    return parse_timeframe(tf).nanos


def _exchange_info(symbols: tuple[str, ...]) -> dict[str, Any]:
    infos = []
    for sym in symbols:
        base, quote = sym.split("/")
        infos.append(
            {
                "symbol": base + quote,
                "status": "TRADING",
                "baseAsset": base,
                "baseAssetPrecision": 8,
                "quoteAsset": quote,
                "quotePrecision": 8,
                "quoteAssetPrecision": 8,
                "orderTypes": ["LIMIT", "MARKET"],
                "isSpotTradingAllowed": True,
                "isMarginTradingAllowed": False,
                "permissions": [],
                "permissionSets": [["SPOT"]],
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000.00"}
                    | {"tickSize": "0.01"},
                    {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000.0"}
                    | {"stepSize": "0.00001"},
                ],
            }
        )
    return {"timezone": "UTC", "serverTime": 1735689600000, "rateLimits": [], "symbols": infos}


ROUTES: dict[str, Handler] = {
    "yahoo": yahoo,
    "alpaca": alpaca,
    "polygon": polygon,
    "alphavantage": alphavantage,
    "binance": binance,
}
