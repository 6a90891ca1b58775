"""A config or a file of bars that is not UTF-8 text is refused naming the file, the line and the
byte, exit code 2, nothing written (it was an "unexpected error: UnicodeDecodeError" that named
no file, for every reader but ``data check --file``)."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tests.cli.conftest import REPLAY_CONFIG, invoke, refused, tree_hash

pytestmark = pytest.mark.integration

NOT_UTF8 = b"\xf0\x28\x8c\x28"
DAILY = b"Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10.5,1000\n"

# (id, the command; FILE is the file that is not UTF-8)
READERS = [
    ("backtest-config", ("backtest", "-q", "--config", "FILE")),
    ("paper-config", ("paper", "--replay", "-q", "--config", "FILE")),
    ("demo-config", ("demo", "--config", "FILE")),
    ("ml-train-config", ("ml", "train", "--config", "FILE")),
    ("validate-gate", ("validate", "some-sweep", "--gate", "FILE")),
    ("data-import", ("data", "import", "FILE")),
    ("data-check", ("data", "check", "--file", "FILE")),
    ("backtest-data", ("backtest", "sma_cross", "-s", "SYN01", "-q", "--data", "FILE")),
]


@pytest.mark.parametrize("args", [r[1] for r in READERS], ids=[r[0] for r in READERS])
def test_file_not_utf8_is_refused(af_home: Path, tmp_path: Path, args: tuple[str, ...]) -> None:
    bad = tmp_path / "bin.yaml"
    bad.write_bytes(NOT_UTF8)
    before = tree_hash(af_home)
    res = invoke(af_home, *(str(bad) if a == "FILE" else a for a in args))
    err = refused(res, str(bad), "not UTF-8 text", "line 1", "0xf0")
    assert "unexpected" not in err
    assert res.exit_code == 2
    assert tree_hash(af_home) == before


def test_config_not_utf8_in_a_later_line(af_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "latin1.yaml"
    config.write_bytes(REPLAY_CONFIG.encode() + b"# caf\xe9\n")
    before = tree_hash(af_home)
    res = invoke(af_home, "backtest", "-q", "-c", str(config))
    refused(res, str(config), "not UTF-8 text", "line 7", "0xe9")
    assert res.exit_code == 2
    assert tree_hash(af_home) == before


@pytest.mark.parametrize(
    ("name", "raw", "line"),
    [
        # a byte in a number column (it was "not a number: b'1000\xe9'")
        ("volume.csv", DAILY.replace(b"1000", b"1000\xe9"), "line 2"),
        # in the date column (it was Arrow's "CSV conversion error to string")
        ("date.csv", DAILY.replace(b"2024-01-02", b"2024-01-02\xe9"), "line 2"),
        # in the header
        ("header.csv", DAILY.replace(b"Volume", b"Vol\xe9"), "line 1"),
    ],
    ids=["number", "date", "header"],
)
@pytest.mark.parametrize("command", ["import", "check", "backtest"])
def test_csv_not_utf8_names_the_line(
    af_home: Path, tmp_path: Path, command: str, name: str, raw: bytes, line: str
) -> None:
    bars = tmp_path / name
    bars.write_bytes(raw)
    args = {
        "import": ("data", "import", str(bars), "--symbol", "ACME"),
        "check": ("data", "check", "--file", str(bars)),
        "backtest": ("backtest", "sma_cross", "-s", "ACME", "-q", "--data", str(bars)),
    }[command]
    before = tree_hash(af_home)
    res = invoke(af_home, *args)
    refused(res, str(bars), "not UTF-8 text", line, "0xe9")
    assert res.exit_code == 2
    assert tree_hash(af_home) == before


def test_compressed_csv_not_utf8(af_home: Path, tmp_path: Path) -> None:
    bars = tmp_path / "acme.csv.gz"
    bars.write_bytes(gzip.compress(DAILY + b"2024-01-03,10.5,11.5,10,11,1200\xe9\n"))
    before = tree_hash(af_home)
    res = invoke(af_home, "data", "import", str(bars), "--symbol", "ACME")
    refused(res, str(bars), "not UTF-8 text", "line 3", "0xe9")
    assert res.exit_code == 2
    assert tree_hash(af_home) == before


def test_utf8_csv_still_imports(af_home: Path, tmp_path: Path) -> None:
    bars = tmp_path / "acme.csv"
    bars.write_bytes(DAILY)
    res = invoke(af_home, "data", "import", str(bars), "--symbol", "ACME")
    assert res.exit_code == 0, res.output
    assert "inserted=1" in res.stdout
