"""Data commands at the edges: ``data check --file`` of an empty or blank file names the file
(it was an unexpected csv "Could not determine delimiter"), and ``data import --tz`` refuses a
zone that does not exist (a daily file accepted and ignored it)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import invoke, refused, tree_hash

pytestmark = pytest.mark.integration

DAILY = "Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10.5,1000\n2024-01-03,10.5,11.5,10,11,1200\n"


@pytest.mark.parametrize(("text", "words"), [("", "file is empty"), ("\n\n", "cannot be read")],
                         ids=["empty", "blank-lines"])  # fmt: skip
def test_check_file_that_holds_no_bars(
    af_home: Path, tmp_path: Path, text: str, words: str
) -> None:
    raw = tmp_path / "raw.csv"
    raw.write_text(text)
    refused(invoke(af_home, "data", "check", "--file", str(raw)), str(raw), words)


@pytest.mark.parametrize("tz", ["Mars/Base", "../../etc/passwd", "Nowhere"])
def test_import_unknown_zone(af_home: Path, tmp_path: Path, tz: str) -> None:
    bars = tmp_path / "acme.csv"
    bars.write_text(DAILY)
    before = tree_hash(af_home)
    res = invoke(af_home, "data", "import", str(bars), "--symbol", "ACME", "--tz", tz)
    refused(res, "--tz", tz, "unknown time zone")
    assert tree_hash(af_home) == before


def test_import_known_zone(af_home: Path, tmp_path: Path) -> None:
    bars = tmp_path / "acme.csv"
    bars.write_text(DAILY)
    res = invoke(
        af_home, "data", "import", str(bars), "--symbol", "ACME", "--tz", "America/New_York"
    )
    assert res.exit_code == 0, res.output
    assert "inserted=2" in res.stdout


@pytest.mark.parametrize("symbol", ["", "  "])
def test_import_with_an_empty_symbol(af_home: Path, tmp_path: Path, symbol: str) -> None:
    """``--symbol ''`` was read as no --symbol ("no symbol column; pass --symbol")."""
    bars = tmp_path / "acme.csv"
    bars.write_text(DAILY)
    before = tree_hash(af_home)
    res = invoke(af_home, "data", "import", str(bars), "--symbol", symbol)
    refused(res, "--symbol: empty")
    assert res.exit_code == 2
    assert tree_hash(af_home) == before
