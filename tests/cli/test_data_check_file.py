"""``data check --file`` refuses what the importer refuses to read, with the importer's line,
column and value and exit code 2; a header without rows no longer passes ``--strict``."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import invoke, refused

pytestmark = pytest.mark.integration

HEADER = "Date,Open,High,Low,Close,Volume\n"
GOOD = "2015-01-02,1,2,0.5,1.5,100\n"

CASES = [
    ("header only", HEADER, "{f}: file has a header but no rows"),
    ("bad date", HEADER + GOOD + "2015-13-45,1,2,0.5,1.5,100\n",
     "{f}: line 3, column 'timestamp': cannot parse date '2015-13-45'"),
    ("missing date", HEADER + GOOD + ",1,2,0.5,1.5,100\n",
     "{f}: line 3, column 'timestamp': missing value"),
    ("text price", HEADER + GOOD + "2015-01-05,abc,2,0.5,1.5,100\n",
     "{f}: line 3, column 'open': not a number: 'abc'"),
    ("no close", "Date,Open,High,Low,Volume\n2015-01-02,1,2,0.5,100\n",
     "{f}: missing column(s) close"),
]  # fmt: skip


@pytest.mark.parametrize(("what", "text", "message"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_file_is_refused_with_exit_2(
    tmp_path: Path, what: str, text: str, message: str
) -> None:
    f = tmp_path / "acme.csv"
    f.write_text(text)
    res = invoke(tmp_path / "home", "data", "check", "--file", str(f), "--strict")
    assert res.exit_code == 2, what
    assert refused(res) == "error: " + message.format(f=f)


def test_a_missing_file_is_refused_with_exit_2(tmp_path: Path) -> None:
    res = invoke(tmp_path / "home", "data", "check", "--file", str(tmp_path / "none.csv"))
    assert res.exit_code == 2
    assert refused(res) == f"error: {tmp_path / 'none.csv'}: no such file"


def test_a_clean_file_passes_strict(tmp_path: Path) -> None:
    f = tmp_path / "acme.csv"
    f.write_text(HEADER + GOOD + "2015-01-05,1.5,2,1,1.6,120\n")
    res = invoke(tmp_path / "home", "data", "check", "--file", str(f), "--strict")
    assert res.exit_code == 0, res.output
