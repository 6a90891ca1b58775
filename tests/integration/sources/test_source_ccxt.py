"""ccxt adapter: the real ccxt Binance client against the local ``/api/v3`` stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest

from alphaforge.config.settings import AppSettings
from alphaforge.core.errors import SourceError, UnknownSymbolError
from alphaforge.data.sources import RetryPolicy
from alphaforge.data.sources.ccxt_source import CcxtSource
from alphaforge.testing.vendor_servers import VendorServer

pytestmark = pytest.mark.integration


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.fixture
def server() -> Iterator[VendorServer]:
    with VendorServer("binance", page_size=100) as s:
        yield s


def source(server: VendorServer, slept: list[float], attempts: int = 5) -> CcxtSource:
    settings = AppSettings(ccxt_base_url=server.url)
    return CcxtSource(settings, RetryPolicy(attempts=attempts, sleep=slept.append))


def truth(server: VendorServer, symbol: str, tf: str, start: str, end: str) -> pd.DataFrame:
    return server.bars(symbol, tf, start, end).drop(columns="adj_close")


def test_every_api_url_points_at_the_local_server(server: VendorServer) -> None:
    exchange = source(server, [])._exchange()
    urls = list(exchange.urls["api"].values())
    assert urls and all(u.startswith(server.url + "/") for u in urls)


def test_hourly_bars_paged_with_since_and_limit(server: VendorServer) -> None:
    got = source(server, []).fetch("BTC/USDT", "1h", ts("2024-01-01"), ts("2024-01-10"))
    pd.testing.assert_frame_equal(
        got, truth(server, "BTC/USDT", "1h", "2024-01-01", "2024-01-10 23:59")
    )
    assert len(got) == 240  # 10 days x 24 h, around the clock
    assert got["timestamp"].diff().dropna().eq(pd.Timedelta(hours=1)).all()
    klines = server.data_requests("/api/v3/klines")
    # 240 bars in pages of 100, each next page starting one hour after the previous last bar.
    starts = [int(r.query["startTime"]) for r in klines]
    assert starts[:3] == [
        1704067200000,
        1704067200000 + 100 * 3_600_000,
        1704067200000 + 200 * 3_600_000,
    ]
    assert all(r.query["symbol"] == "BTCUSDT" and r.query["interval"] == "1h" for r in klines)
    assert server.data_requests("/api/v3/exchangeInfo")


def test_daily_bars(server: VendorServer) -> None:
    got = source(server, []).fetch("ETH/USDT", "1d", ts("2024-02-27"), ts("2024-03-02"))
    pd.testing.assert_frame_equal(got, truth(server, "ETH/USDT", "1d", "2024-02-27", "2024-03-02"))
    assert len(got) == 5  # 27, 28, 29 Feb (leap year), 1, 2 Mar


def test_429_and_418_honour_retry_after(server: VendorServer) -> None:
    slept: list[float] = []
    server.fail_next(429, retry_after=2, path_contains="/klines")
    server.fail_next(418, retry_after=3, path_contains="/klines")
    got = source(server, slept).fetch("BTC/USDT", "1d", ts("2024-01-01"), ts("2024-01-05"))
    assert slept == [2.0, 3.0]
    assert len(got) == 5


def test_gives_up_after_attempts(server: VendorServer) -> None:
    server.fail_next(429, retry_after=1, count=10, path_contains="/klines")
    with pytest.raises(SourceError) as err:
        source(server, [], attempts=4).fetch("BTC/USDT", "1d", ts("2024-01-01"), ts("2024-01-05"))
    assert str(err.value) == "ccxt: HTTP 429 rate-limited on BTC/USDT 1d after 4 attempts"


def test_auth_error(server: VendorServer) -> None:
    body = {"code": -2014, "msg": "API-key format invalid."}
    server.fail_next(401, body=body, path_contains="/klines")
    with pytest.raises(SourceError, match="ccxt: authentication failed"):
        source(server, []).fetch("BTC/USDT", "1d", ts("2024-01-01"), ts("2024-01-05"))


def test_unknown_symbol(server: VendorServer) -> None:
    with pytest.raises(UnknownSymbolError, match="ccxt: unknown symbol 'DOGE/USDT'"):
        source(server, []).fetch("DOGE/USDT", "1d", ts("2024-01-01"), ts("2024-01-05"))
    assert server.data_requests("/api/v3/klines") == []
