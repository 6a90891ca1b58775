"""Polygon adapter against the local Polygon stand-in (real httpx traffic on 127.0.0.1)."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pandas as pd
import pytest
from pydantic import SecretStr

from alphaforge.config.settings import AppSettings
from alphaforge.core.errors import ConfigError, SourceError, UnknownSymbolError
from alphaforge.data.sources import RetryPolicy, get_source
from alphaforge.ports import MarketDataSource
from alphaforge.testing.vendor_servers import VendorServer

pytestmark = pytest.mark.integration


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


UTC = "UTC"


@pytest.fixture
def server() -> Iterator[VendorServer]:
    with VendorServer("polygon", page_size=5) as s:
        yield s


def source(
    server: VendorServer, slept: list[float], key: str | None = None, attempts: int = 5
) -> MarketDataSource:
    settings = AppSettings(
        polygon_base_url=server.url, polygon_api_key=SecretStr(key or server.api_key)
    )
    return get_source("polygon", settings, RetryPolicy(attempts=attempts, sleep=slept.append))


def truth(server: VendorServer, symbol: str, tf: str, start: str, end: str) -> pd.DataFrame:
    return server.bars(symbol, tf, start, end).drop(columns="adj_close")


def test_daily_bars_paginated_and_exact(server: VendorServer) -> None:
    slept: list[float] = []
    got = source(server, slept).fetch("AAPL", "1d", ts("2024-01-02"), ts("2024-01-31"))
    pd.testing.assert_frame_equal(got, truth(server, "AAPL", "1d", "2024-01-02", "2024-01-31"))
    # January 2024 has 23 weekdays; the range starts on the 2nd, so 22 sessions.
    assert len(got) == 22
    assert got["timestamp"].is_unique and got["timestamp"].is_monotonic_increasing
    # Polygon stamps the 2024-01-02 bar 00:00 New York = 05:00 UTC; we label the session date.
    assert got["timestamp"].iloc[0] == pd.Timestamp("2024-01-02", tz=UTC)
    assert str(got["timestamp"].dtype) == "datetime64[ns, UTC]"
    pages = server.data_requests("/v2/aggs/")
    assert len(pages) == 5  # 22 bars in pages of 5
    assert all(r.query["apiKey"] == server.api_key for r in pages)
    assert sum("cursor" in r.query for r in pages) == 4
    assert slept == []


def test_intraday_utc_starts_across_dst(server: VendorServer) -> None:
    got = source(server, []).fetch("MSFT", "1h", ts("2024-03-08"), ts("2024-03-11"))
    pd.testing.assert_frame_equal(
        got, truth(server, "MSFT", "1h", "2024-03-08", "2024-03-11 23:59")
    )
    # 09:30 New York is 14:30 UTC on Fri 8 Mar (EST) and 13:30 UTC on Mon 11 Mar (EDT).
    days = got.groupby(got["timestamp"].dt.date)["timestamp"]
    assert days.min().dt.strftime("%H:%M").tolist() == ["14:30", "13:30"]
    assert days.size().tolist() == [7, 7]  # 09:30 ... 15:30


def test_long_intraday_range_is_chunked_without_gaps(server: VendorServer) -> None:
    server.page_size = 400  # 1,300 bars: still several pages per chunk
    got = source(server, []).fetch("AAPL", "15m", ts("2024-01-02"), ts("2024-02-20"))
    pd.testing.assert_frame_equal(
        got, truth(server, "AAPL", "15m", "2024-01-02", "2024-02-20 23:59")
    )
    first_pages = [r for r in server.data_requests("/v2/aggs/") if "cursor" not in r.query]
    assert len(first_pages) == 2  # 30-day chunks


def test_retry_after_is_honoured(server: VendorServer) -> None:
    slept: list[float] = []
    server.fail_next(429, retry_after=2, path_contains="/v2/aggs/")
    got = source(server, slept).fetch("AAPL", "1d", ts("2024-01-02"), ts("2024-01-05"))
    assert slept == [2.0]
    pd.testing.assert_frame_equal(got, truth(server, "AAPL", "1d", "2024-01-02", "2024-01-05"))


def test_server_errors_back_off_exponentially_with_seeded_jitter(server: VendorServer) -> None:
    slept: list[float] = []
    server.fail_next(503, count=2)
    source(server, slept).fetch("AAPL", "1d", ts("2024-01-02"), ts("2024-01-05"))
    rng = random.Random(0)  # RetryPolicy default: seed 0, base 1 s, doubling, jitter 25 %
    assert slept == pytest.approx([1 * (1 + 0.25 * rng.random()), 2 * (1 + 0.25 * rng.random())])


def test_gives_up_with_one_line_error(server: VendorServer) -> None:
    slept: list[float] = []
    server.fail_next(429, retry_after=1, count=10)
    with pytest.raises(SourceError) as err:
        source(server, slept, attempts=3).fetch("MSFT", "1d", ts("2024-01-02"), ts("2024-01-05"))
    assert str(err.value) == "polygon: HTTP 429 rate-limited on MSFT 1d after 3 attempts"
    assert slept == [1.0, 1.0]


def test_bad_key_is_a_clean_error_without_the_key(server: VendorServer) -> None:
    secret = "pk-secret-0123456789"
    src = source(server, [], key=secret)
    with pytest.raises(SourceError) as err:
        src.fetch("AAPL", "1d", ts("2024-01-02"), ts("2024-01-05"))
    assert "HTTP 401" in str(err.value) and "\n" not in str(err.value)
    assert secret not in str(err.value) and secret not in repr(src)
    assert server.requests[0].query["apiKey"] == secret  # it did reach the stand-in


def test_unknown_symbol(server: VendorServer) -> None:
    with pytest.raises(UnknownSymbolError, match="polygon: unknown symbol 'NOPE'"):
        source(server, []).fetch("NOPE", "1d", ts("2024-01-02"), ts("2024-01-05"))
    assert server.data_requests("/v3/reference/tickers/NOPE")


def test_missing_key_is_a_config_error(server: VendorServer) -> None:
    src = get_source("polygon", AppSettings(polygon_base_url=server.url))
    with pytest.raises(ConfigError, match="ALPHAFORGE_POLYGON_API_KEY"):
        src.fetch("AAPL", "1d", ts("2024-01-02"), ts("2024-01-05"))
    assert server.requests == []


def test_range_without_sessions_is_empty(server: VendorServer) -> None:
    # 6-7 January 2024 is a weekend: an empty answer, and the ticker check says it exists.
    got = source(server, []).fetch("AAPL", "1h", ts("2024-01-06"), ts("2024-01-07"))
    assert got.empty and list(got.columns)[:2] == ["symbol", "timestamp"]
    assert server.data_requests("/v3/reference/tickers/AAPL")
