"""A file of bars that cannot be read as bars is bad input: ``data import`` (and ``backtest
--data``) refuse it with one line naming the file, the line, the column and the value, exit code
2, nothing stored. These exited 1, the code of a run that failed; a row with too few or too many
fields named no line."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import invoke, refused, tree_hash

pytestmark = pytest.mark.integration

HEAD = "timestamp,open,high,low,close,volume\n"
GOOD = "2024-01-02,10,11,9,10.5,100\n"

# (id, file name, text, words the one error line must hold besides the file's name)
BAD_FILES = [
    ("not-a-number", "n.csv", HEAD + GOOD + "2024-01-03,10,abc,9,10.5,100\n",
     ("line 3", "column 'high'", "not a number", "'abc'")),
    ("missing-column", "m.csv", "timestamp,open,high,low,volume\n2024-01-02,10,11,9,100\n",
     ("missing column(s) close",)),
    ("bad-timestamp", "t.csv", HEAD + GOOD + "notadate,10,11,9,10.5,100\n",
     ("line 3", "column 'timestamp'", "cannot parse date 'notadate'")),
    ("impossible-date", "d.csv", HEAD + GOOD + "2024-13-45,10,11,9,10.5,100\n",
     ("line 3", "column 'timestamp'", "'2024-13-45'")),
    ("too-few-fields", "f.csv", HEAD + GOOD + "2024-01-03,10,11,9\n",
     ("line 3", "4 fields where the header has 6", "'2024-01-03,10,11,9'")),
    ("too-many-fields", "g.csv", HEAD + GOOD + GOOD.replace("02", "03") + "2024-01-04,1,2,3,4,5,6\n",
     ("line 4", "7 fields where the header has 6")),
    ("empty", "e.csv", "", ("file is empty",)),
    ("header-only", "h.csv", HEAD, ("header but no rows",)),
    ("not-parquet", "p.parquet", "garbage", ("not a readable Parquet file",)),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "text", "words"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES]
)
def test_import_of_a_bad_file_exits_2(
    af_home: Path, tmp_path: Path, name: str, text: str, words: tuple[str, ...]
) -> None:
    bad = tmp_path / name
    bad.write_text(text)
    before = tree_hash(af_home)
    res = invoke(af_home, "data", "import", str(bad), "--symbol", "ACME")
    err = refused(res, str(bad), *words)
    assert "unexpected" not in err
    assert res.exit_code == 2
    assert tree_hash(af_home) == before


def test_import_of_a_missing_file_exits_2(af_home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.csv"
    before = tree_hash(af_home)
    res = invoke(af_home, "data", "import", str(missing), "--symbol", "ACME")
    refused(res, str(missing), "no such file")
    assert res.exit_code == 2
    assert tree_hash(af_home) == before


def test_a_bad_second_file_stores_neither(af_home: Path, tmp_path: Path) -> None:
    good = tmp_path / "AAA.csv"
    good.write_text(HEAD + GOOD)
    bad = tmp_path / "BBB.csv"
    bad.write_text(HEAD + GOOD + "2024-01-03,10,abc,9,10.5,100\n")
    before = tree_hash(af_home)
    res = invoke(af_home, "data", "import", str(good), str(bad))
    refused(res, str(bad), "line 3", "no file was imported (at file 2 of 2)")
    assert res.exit_code == 2
    assert tree_hash(af_home) == before


def test_backtest_data_file_that_is_not_bars_exits_2(af_home: Path, tmp_path: Path) -> None:
    """``backtest --data`` reads its file with the same reader: the same refusal."""
    bad = tmp_path / "bars.csv"
    bad.write_text("symbol," + HEAD + "SYN01," + GOOD + "SYN01,2024-01-03,10,abc,9,10.5,100\n")
    before = tree_hash(af_home)
    res = invoke(af_home, "backtest", "sma_cross", "-s", "SYN01", "-q", "--data", str(bad))
    refused(res, str(bad), "line 3", "column 'high'", "'abc'")
    assert res.exit_code == 2
    assert tree_hash(af_home) == before
