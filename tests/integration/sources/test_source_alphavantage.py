"""Alpha Vantage adapter against the local ``/query`` stand-in (HTTP-200 errors and notes)."""

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


NOTE = {
    "Note": "Thank you for using Alpha Vantage! Our standard API call frequency is 5 calls per "
    "minute and 500 calls per day."
}


@pytest.fixture
def server() -> Iterator[VendorServer]:
    with VendorServer("alphavantage") as s:
        yield s


def source(
    server: VendorServer, slept: list[float], key: str | None = None, attempts: int = 5
) -> MarketDataSource:
    settings = AppSettings(
        alphavantage_base_url=server.url, alphavantage_api_key=SecretStr(key or server.api_key)
    )
    return get_source("alphavantage", settings, RetryPolicy(attempts=attempts, sleep=slept.append))


def test_daily_adjusted_with_adj_close(server: VendorServer) -> None:
    got = source(server, []).fetch("IBM", "1d", ts("2024-01-02"), ts("2024-01-12"))
    pd.testing.assert_frame_equal(got, server.bars("IBM", "1d", "2024-01-02", "2024-01-12"))
    (req,) = server.requests
    assert req.query["function"] == "TIME_SERIES_DAILY_ADJUSTED"
    assert req.query["outputsize"] == "full"


def test_intraday_month_by_month_in_utc(server: VendorServer) -> None:
    got = source(server, []).fetch("IBM", "15m", ts("2024-02-28"), ts("2024-03-12"))
    want = server.bars("IBM", "15m", "2024-02-28", "2024-03-12 23:59").drop(columns="adj_close")
    pd.testing.assert_frame_equal(got, want)
    assert [r.query["month"] for r in server.requests] == ["2024-02", "2024-03"]
    # Eastern local "2024-03-11 09:30:00" (EDT, UTC-4) is 13:30 UTC; on 8 March (EST) 14:30.
    firsts = got.groupby(got["timestamp"].dt.date)["timestamp"].min()
    assert firsts[pd.Timestamp("2024-03-08").date()].strftime("%H:%M") == "14:30"
    assert firsts[pd.Timestamp("2024-03-11").date()].strftime("%H:%M") == "13:30"


def test_note_is_a_rate_limit_and_backs_off(server: VendorServer) -> None:
    slept: list[float] = []
    server.fail_next(200, body=NOTE, count=2)
    got = source(server, slept).fetch("IBM", "1d", ts("2024-01-02"), ts("2024-01-05"))
    assert len(got) == 4 and len(slept) == 2
    assert 1.0 <= slept[0] < 1.25 and 2.0 <= slept[1] < 2.5  # base 1 s, doubling, 25 % jitter


def test_information_limit_gives_up_with_one_line(server: VendorServer) -> None:
    server.fail_next(200, body={"Information": "rate limit is 25 requests per day."}, count=9)
    with pytest.raises(SourceError) as err:
        source(server, [], attempts=3).fetch("IBM", "1d", ts("2024-01-02"), ts("2024-01-05"))
    assert str(err.value) == (
        "alphavantage: HTTP 200 rate-limited (Information) on IBM 1d after 3 attempts"
    )


def test_http_429_retry_after(server: VendorServer) -> None:
    slept: list[float] = []
    server.fail_next(429, retry_after=2)
    source(server, slept).fetch("IBM", "1d", ts("2024-01-02"), ts("2024-01-05"))
    assert slept == [2.0]


def test_error_message_means_unknown_symbol(server: VendorServer) -> None:
    with pytest.raises(UnknownSymbolError, match="alphavantage: unknown symbol 'NOPE'"):
        source(server, []).fetch("NOPE", "1d", ts("2024-01-02"), ts("2024-01-05"))


def test_bad_key(server: VendorServer) -> None:
    key = "AVKEY-SECRET-55555"
    with pytest.raises(SourceError) as err:
        source(server, [], key=key).fetch("IBM", "1d", ts("2024-01-02"), ts("2024-01-05"))
    assert "invalid or missing API key" in str(err.value)
    assert key not in str(err.value)
    assert server.requests[0].query["apikey"] == key
