"""``data fetch`` of a symbol the vendor does not know is bad input: one line naming every unknown
symbol, exit code 2 (it exited 1, the code of a failed download, one line per symbol). The other
symbols are still fetched and stored (each whole), and the line says which. Vendors are local
stand-ins on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alphaforge.data.store import ParquetStore
from alphaforge.testing.vendor_servers import VendorServer
from tests.cli.conftest import invoke, refused

pytestmark = pytest.mark.integration

PERIOD = ("--start", "2024-01-02", "--end", "2024-01-12")


@pytest.fixture
def polygon(monkeypatch: pytest.MonkeyPatch) -> Iterator[VendorServer]:
    with VendorServer("polygon") as server:
        monkeypatch.setenv("ALPHAFORGE_POLYGON_BASE_URL", server.url)
        monkeypatch.setenv("ALPHAFORGE_POLYGON_API_KEY", server.api_key)
        yield server


@pytest.fixture
def yahoo(monkeypatch: pytest.MonkeyPatch) -> Iterator[VendorServer]:
    with VendorServer("yahoo") as server:
        monkeypatch.setenv("ALPHAFORGE_YAHOO_BASE_URL", server.url)
        yield server


def stored(home: Path) -> set[str]:
    return {i.symbol for i in ParquetStore(home / "store").list()}


@pytest.mark.usefixtures("polygon")
def test_one_unknown_symbol(tmp_path: Path) -> None:
    home = tmp_path / "home"
    res = invoke(home, "data", "fetch", "NOPE", "--source", "polygon", *PERIOD)
    refused(res, "polygon: unknown symbol 'NOPE'", "ticker not found")
    assert res.exit_code == 2
    assert stored(home) == set()


@pytest.mark.usefixtures("yahoo")
def test_one_unknown_symbol_of_yahoo(tmp_path: Path) -> None:
    home = tmp_path / "home"
    res = invoke(home, "data", "fetch", "NOPE", *PERIOD)
    refused(res, "yahoo: unknown symbol 'NOPE'")
    assert res.exit_code == 2
    assert stored(home) == set()


@pytest.mark.usefixtures("polygon")
def test_some_unknown_symbols_the_others_are_fetched(tmp_path: Path) -> None:
    home = tmp_path / "home"
    res = invoke(
        home, "data", "fetch", "AAPL", "NOPE", "MSFT", "ZZZ", "--source", "polygon", *PERIOD
    )
    err = refused(res, "polygon: unknown symbols 'NOPE', 'ZZZ'", "fetched the others: AAPL, MSFT")
    assert res.exit_code == 2
    assert "unknown symbol" in res.stdout  # the summary's status of each
    assert stored(home) == {"AAPL", "MSFT"}
    assert "AAPL" not in err.split(";")[0]


def test_unknown_and_failed_download_exits_2_naming_both(
    tmp_path: Path, polygon: VendorServer
) -> None:
    """A download that failed is reported on its own line; the unknown symbol still makes it bad
    input (the command line must change; running it again then retries the failed one)."""
    polygon.fail_next(400, count=10, path_contains="/v2/aggs/ticker/AAPL/")
    home = tmp_path / "home"
    res = invoke(home, "data", "fetch", "AAPL", "NOPE", "MSFT", "--source", "polygon", *PERIOD)
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 2, lines
    assert lines[0].startswith("error: polygon: HTTP 400") and "AAPL" in lines[0]
    assert lines[1].startswith("error: polygon: unknown symbol 'NOPE'")
    assert lines[1].endswith("; fetched: MSFT")
    assert stored(home) == {"MSFT"}


def test_help_says_what_an_unknown_symbol_does() -> None:
    res = invoke(Path("unused"), "data", "fetch", "--help")
    assert res.exit_code == 0
    text = " ".join(res.stdout.replace("│", " ").split())
    assert "exits 2 with one line naming every unknown symbol" in text
