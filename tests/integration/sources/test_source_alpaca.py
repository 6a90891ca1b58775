"""Alpaca adapter: the real alpaca-py client against the local ``/v2/stocks/bars`` stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import pandas as pd
import pytest
from pydantic import SecretStr

from alphaforge.config.settings import AppSettings
from alphaforge.core.errors import SourceError, UnknownSymbolError
from alphaforge.data.sources import RetryPolicy, get_source
from alphaforge.ports import MarketDataSource
from alphaforge.testing.vendor_servers import VendorServer

pytestmark = pytest.mark.integration


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


@pytest.fixture
def server() -> Iterator[VendorServer]:
    with VendorServer("alpaca", page_size=4) as s:
        yield s


def source(
    server: VendorServer, slept: list[float], secret: str | None = None, attempts: int = 5
) -> MarketDataSource:
    settings = AppSettings(
        alpaca_data_url=server.url,
        alpaca_api_key=SecretStr(server.api_key),
        alpaca_secret_key=SecretStr(secret or server.secret_key),
    )
    return get_source("alpaca", settings, RetryPolicy(attempts=attempts, sleep=slept.append))


def truth(server: VendorServer, symbol: str, tf: str, start: str, end: str) -> pd.DataFrame:
    return server.bars(symbol, tf, start, end).drop(columns="adj_close")


def test_daily_bars_follow_next_page_token(server: VendorServer) -> None:
    got = source(server, []).fetch("AAPL", "1d", ts("2024-01-02"), ts("2024-01-12"))
    pd.testing.assert_frame_equal(got, truth(server, "AAPL", "1d", "2024-01-02", "2024-01-12"))
    assert len(got) == 9  # weekdays 2-5 and 8-12 January 2024
    pages = server.data_requests("/v2/stocks/bars")
    assert len(pages) == 3  # 9 bars in pages of 4
    assert [bool(p.query.get("page_token")) for p in pages] == [False, True, True]
    assert pages[0].query["timeframe"] == "1Day" and pages[0].query["symbols"] == "AAPL"
    assert pages[0].headers["apca-api-key-id"] == server.api_key
    # Alpaca stamps the 2 Jan session 2024-01-02T05:00:00Z (00:00 New York, EST).
    assert got["timestamp"].iloc[0] == pd.Timestamp("2024-01-02", tz="UTC")


def test_intraday_bars_are_utc_bar_starts(server: VendorServer) -> None:
    got = source(server, []).fetch("MSFT", "5m", ts("2024-07-01 13:30"), ts("2024-07-01 14:25"))
    pd.testing.assert_frame_equal(
        got, truth(server, "MSFT", "5m", "2024-07-01 13:30", "2024-07-01 14:25")
    )
    # 09:30-10:25 New York in July (EDT, UTC-4): twelve 5-minute bars from 13:30 UTC.
    assert got["timestamp"].dt.strftime("%H:%M").tolist()[:2] == ["13:30", "13:35"]
    assert len(got) == 12


def test_retry_after_is_honoured_not_alpaca_py_default(server: VendorServer) -> None:
    slept: list[float] = []
    server.fail_next(429, retry_after=2)
    got = source(server, slept).fetch("AAPL", "1d", ts("2024-01-02"), ts("2024-01-05"))
    assert slept == [2.0]
    assert len(got) == 4


def test_gives_up_after_attempts(server: VendorServer) -> None:
    slept: list[float] = []
    server.fail_next(500, count=10)
    with pytest.raises(SourceError) as err:
        source(server, slept, attempts=2).fetch("AAPL", "1h", ts("2024-01-02"), ts("2024-01-05"))
    assert str(err.value) == "alpaca: HTTP 500 server error on AAPL 1h after 2 attempts"
    assert len(slept) == 1 and 1.0 <= slept[0] < 1.25


def test_bad_secret_is_a_clean_error(server: VendorServer) -> None:
    secret = "alpaca-secret-DO-NOT-SHOW"
    with pytest.raises(SourceError) as err:
        source(server, [], secret=secret).fetch("AAPL", "1d", ts("2024-01-02"), ts("2024-01-05"))
    assert "alpaca: HTTP 401" in str(err.value)
    assert secret not in str(err.value)
    assert server.requests[0].headers["apca-api-secret-key"] == secret


def test_unknown_symbol(server: VendorServer) -> None:
    with pytest.raises(UnknownSymbolError, match="alpaca: unknown symbol 'NOPE'"):
        source(server, []).fetch("NOPE", "1d", ts("2024-01-02"), ts("2024-01-05"))
