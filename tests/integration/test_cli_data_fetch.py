"""``alphaforge data fetch`` end to end: real CLI, real ParquetStore, local Polygon stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from alphaforge.cli.app import app
from alphaforge.data.store import ParquetStore
from alphaforge.testing.vendor_servers import VendorServer

pytestmark = pytest.mark.integration

runner = CliRunner()


@pytest.fixture
def polygon() -> Iterator[VendorServer]:
    with VendorServer("polygon", page_size=7) as server:
        yield server


def cli(home: Path, server: VendorServer, *args: str, key: str | None = None) -> tuple[int, str]:
    env = {
        "COLUMNS": "200",
        "ALPHAFORGE_POLYGON_BASE_URL": server.url,
        "ALPHAFORGE_POLYGON_API_KEY": key or server.api_key,
    }
    result = runner.invoke(app, ["--home", str(home), "data", *args], env=env)
    return result.exit_code, result.output


def agg_ranges(server: VendorServer) -> list[tuple[str, str]]:
    """(from, to) of every first-page aggregates request (pages carry a cursor)."""
    return [
        (r.path.split("/")[-2], r.path.split("/")[-1])
        for r in server.data_requests("/v2/aggs/")
        if "cursor" not in r.query
    ]


def stored(home: Path, symbol: str, tf: str = "1d") -> pd.DataFrame:
    return ParquetStore(home / "store").read([symbol], tf)


def expected(server: VendorServer, symbol: str, start: str, end: str) -> pd.DataFrame:
    return server.bars(symbol, "1d", start, end).drop(columns="adj_close")


def same_bars(got: pd.DataFrame, want: pd.DataFrame) -> None:
    cols = ["timestamp", "open", "high", "low", "close", "volume"]
    pd.testing.assert_frame_equal(
        got[cols].reset_index(drop=True), want[cols].reset_index(drop=True), check_dtype=False
    )


def test_help() -> None:
    result = runner.invoke(app, ["data", "fetch", "--help"])
    assert result.exit_code == 0
    assert "--source" in result.output


def test_fetch_then_incremental_fetch(tmp_path: Path, polygon: VendorServer) -> None:
    home = tmp_path / "home"
    code, out = cli(
        home, polygon, "fetch", "AAPL", "MSFT", "--source", "polygon",
        "--start", "2024-01-02", "--end", "2024-01-31",
    )  # fmt: skip
    assert code == 0, out
    assert "fetch summary" in out
    for sym in ("AAPL", "MSFT"):
        same_bars(stored(home, sym), expected(polygon, sym, "2024-01-02", "2024-01-31"))
    assert agg_ranges(polygon) == [("2024-01-02", "2024-01-31")] * 2

    # Second run without --start: only from the newest stored bar (2024-01-31) onward.
    polygon.requests.clear()
    code, out = cli(home, polygon, "fetch", "AAPL", "--source", "polygon", "--end", "2024-02-09")
    assert code == 0, out
    assert agg_ranges(polygon) == [("2024-01-31", "2024-02-09")]
    same_bars(stored(home, "AAPL"), expected(polygon, "AAPL", "2024-01-02", "2024-02-09"))

    # An earlier --start fills only the part before the first stored bar (and the tail).
    polygon.requests.clear()
    code, out = cli(
        home, polygon, "fetch", "AAPL", "--source", "polygon",
        "--start", "2023-12-20", "--end", "2024-02-09",
    )  # fmt: skip
    assert code == 0, out
    assert agg_ranges(polygon) == [("2023-12-20", "2024-01-01"), ("2024-02-09", "2024-02-09")]
    same_bars(stored(home, "AAPL"), expected(polygon, "AAPL", "2023-12-20", "2024-02-09"))


def test_unknown_symbol_fails_alone(tmp_path: Path, polygon: VendorServer) -> None:
    home = tmp_path / "home"
    code, out = cli(
        home, polygon, "fetch", "AAPL", "NOPE", "MSFT", "--source", "polygon",
        "--start", "2024-01-02", "--end", "2024-01-12",
    )  # fmt: skip
    assert code == 2  # an unknown symbol is bad input; the others are still fetched
    assert "polygon: unknown symbol 'NOPE'" in out
    # The other symbols were committed.
    same_bars(stored(home, "AAPL"), expected(polygon, "AAPL", "2024-01-02", "2024-01-12"))
    same_bars(stored(home, "MSFT"), expected(polygon, "MSFT", "2024-01-02", "2024-01-12"))
    assert "NOPE" not in {i.symbol for i in ParquetStore(home / "store").list()}


def test_bad_key_is_one_line_and_never_printed(tmp_path: Path, polygon: VendorServer) -> None:
    home = tmp_path / "home"
    secret = "sk-live-DO-NOT-PRINT-9876"
    code, out = cli(
        home, polygon, "fetch", "AAPL", "--source", "polygon",
        "--start", "2024-01-02", "--end", "2024-01-12", key=secret,
    )  # fmt: skip
    assert code == 1
    assert "polygon: HTTP 401 authentication failed" in out
    assert secret not in out
    assert polygon.requests, "the stand-in server must have been called"
    assert ParquetStore(home / "store").list() == []


def test_first_fetch_needs_start(tmp_path: Path, polygon: VendorServer) -> None:
    code, out = cli(tmp_path / "home", polygon, "fetch", "AAPL", "--source", "polygon")
    assert code == 2
    assert "--start: required for AAPL" in out
    assert polygon.requests == []


def test_unknown_source_is_a_config_error(tmp_path: Path, polygon: VendorServer) -> None:
    code, out = cli(tmp_path / "home", polygon, "fetch", "AAPL", "--source", "bloomberg")
    assert code == 2
    assert "source: unknown value 'bloomberg'" in out


def test_ccxt_intraday_fetch_is_incremental(tmp_path: Path) -> None:
    home = tmp_path / "home"
    with VendorServer("binance", page_size=30) as binance:
        env = {"COLUMNS": "200", "ALPHAFORGE_CCXT_BASE_URL": binance.url}

        def run(*args: str) -> None:
            result = runner.invoke(app, ["--home", str(home), "data", "fetch", *args], env=env)
            assert result.exit_code == 0, result.output

        run("BTC/USDT", "--source", "ccxt", "--timeframe", "1h",
            "--start", "2024-01-01", "--end", "2024-01-02")  # fmt: skip
        got = stored(home, "BTC/USDT", "1h")
        assert len(got) == 48  # two days, around the clock
        binance.requests.clear()
        run("BTC/USDT", "--source", "ccxt", "--timeframe", "1h", "--end", "2024-01-03")
        klines = binance.data_requests("/api/v3/klines")
        # Resumes at the newest stored bar, 2024-01-02 23:00 UTC = 1704236400 s.
        assert int(klines[0].query["startTime"]) == 1_704_236_400_000
        got = stored(home, "BTC/USDT", "1h")
        want = binance.bars("BTC/USDT", "1h", "2024-01-01", "2024-01-03 23:59")
        same_bars(got, want)
