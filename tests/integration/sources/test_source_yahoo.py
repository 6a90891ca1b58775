"""Yahoo adapter: the real yfinance client, every request routed to the local chart stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

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
    with VendorServer("yahoo") as s:
        yield s


def source(server: VendorServer, home: Path, slept: list[float]) -> MarketDataSource:
    settings = AppSettings(home=home, yahoo_base_url=server.url)
    return get_source("yahoo", settings, RetryPolicy(sleep=slept.append))


def test_daily_bars_with_adj_close(server: VendorServer, tmp_path: Path) -> None:
    got = source(server, tmp_path, []).fetch("AAPL", "1d", ts("2023-06-01"), ts("2023-06-30"))
    pd.testing.assert_frame_equal(got, server.bars("AAPL", "1d", "2023-06-01", "2023-06-30"))
    assert len(got) == 22  # June 2023 weekdays
    chart = server.data_requests("/v8/finance/chart/AAPL")
    assert chart and chart[-1].query["interval"] == "1d"
    # 2023-06-01 00:00 New York (EDT) = 04:00 UTC; 2023-07-01 00:00 NY = period2.
    assert chart[-1].query["period1"] == str(1685592000)
    assert chart[-1].query["period2"] == str(1688184000)


def test_intraday_bars_across_dst(server: VendorServer, tmp_path: Path) -> None:
    got = source(server, tmp_path, []).fetch("MSFT", "15m", ts("2023-03-10"), ts("2023-03-13"))
    want = server.bars("MSFT", "15m", "2023-03-10", "2023-03-13 23:59").drop(columns="adj_close")
    pd.testing.assert_frame_equal(got.drop(columns="adj_close"), want)
    firsts = got.groupby(got["timestamp"].dt.date)["timestamp"].min().dt.strftime("%H:%M")
    assert firsts.tolist() == ["14:30", "13:30"]  # 09:30 EST on Fri 10th, EDT on Mon 13th
    assert len(got) == 2 * 26  # 09:30-15:45 starts


def test_rate_limit_retry_after(server: VendorServer, tmp_path: Path) -> None:
    slept: list[float] = []
    # yfinance retries a failed chart call once itself (other cookie strategy): fail both.
    server.fail_next(429, retry_after=2, count=2, path_contains="/v8/finance/chart/")
    got = source(server, tmp_path, slept).fetch("IBM", "1d", ts("2022-02-01"), ts("2022-02-04"))
    assert slept == [2.0]
    assert len(got) == 4


def test_auth_error(server: VendorServer, tmp_path: Path) -> None:
    body = {
        "finance": {
            "result": None,
            "error": {"code": "Unauthorized", "description": "Invalid Crumb"},
        }
    }
    server.fail_next(401, body=body, count=2, path_contains="/v8/finance/chart/")
    with pytest.raises(SourceError, match="yahoo: HTTP 401"):
        source(server, tmp_path, []).fetch("SPY", "1d", ts("2022-03-01"), ts("2022-03-04"))


def test_unknown_symbol(server: VendorServer, tmp_path: Path) -> None:
    with pytest.raises(UnknownSymbolError, match="yahoo: unknown symbol 'NOPE'"):
        source(server, tmp_path, []).fetch("NOPE", "1d", ts("2022-01-03"), ts("2022-01-07"))
    assert server.data_requests("/v8/finance/chart/NOPE")


def test_no_request_leaves_for_real_hosts(server: VendorServer, tmp_path: Path) -> None:
    source(server, tmp_path, []).fetch("AAPL", "1d", ts("2021-05-03"), ts("2021-05-07"))
    # The cookie (fc.yahoo.com), crumb (query1) and chart (query2) calls all arrived here.
    paths = {r.path for r in server.requests}
    assert {"/", "/v8/finance/chart/AAPL"} <= paths


def test_range_without_sessions_is_empty(server: VendorServer, tmp_path: Path) -> None:
    # 6-7 January 2024 is a weekend: no bars, and not an unknown symbol.
    src = source(server, tmp_path, [])
    for tf in ("1d", "1h"):
        got = src.fetch("AAPL", tf, ts("2024-01-06"), ts("2024-01-07"))
        assert got.empty and str(got["timestamp"].dtype) == "datetime64[ns, UTC]"


def test_long_one_minute_range_is_chunked(server: VendorServer, tmp_path: Path) -> None:
    got = source(server, tmp_path, []).fetch("SPY", "1m", ts("2021-03-01"), ts("2021-03-16"))
    want = server.bars("SPY", "1m", "2021-03-01", "2021-03-16 23:59").drop(columns="adj_close")
    pd.testing.assert_frame_equal(got.drop(columns="adj_close"), want)
    assert len(got) == 12 * 390  # 12 sessions of 390 one-minute bars
    data = [r for r in server.data_requests("/v8/finance/chart/SPY") if "period1" in r.query]
    assert len(data) == 3  # 16 days in 7-day requests
