"""``alphaforge report`` / ``compare`` given a file that is not a saved result (missing, not
JSON, JSON of another shape) refuse it as bad input: one line naming the file, exit code 2, no
HTML written. They exited 1, the code of a run that failed; a result of another format named
no file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import invoke, refused

pytestmark = pytest.mark.integration

# (id, file name, bytes, words the one error line must hold besides the file's name)
NOT_RESULTS = [
    ("garbage", "g.json", b"{garbage", ("not valid JSON", "line 1")),
    ("a-list", "l.json", b"[1, 2]", ("a JSON list, expected an object",)),
    ("wrong-shape", "w.json", b'{"a": 1}', ("not an alphaforge backtest result", "no 'format'")),
    ("empty", "e.json", b"", ("not valid JSON",)),
    ("not-utf8", "u.json", b'{"a": "caf\xe9"}', ("not valid JSON",)),
]  # fmt: skip


@pytest.fixture(scope="module")
def saved(seeded: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A good result JSON of ``backtest --json``."""
    out = tmp_path_factory.mktemp("results") / "good.json"
    res = invoke(seeded, "backtest", "sma_cross", "-s", "SYN01", "-q", "--json", str(out))
    assert res.exit_code == 0, res.output
    return out


def bad_file(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("name", "data", "words"), [c[1:] for c in NOT_RESULTS], ids=[c[0] for c in NOT_RESULTS]
)
def test_report_of_a_file_that_is_not_a_result(
    af_home: Path, tmp_path: Path, name: str, data: bytes, words: tuple[str, ...]
) -> None:
    bad = bad_file(tmp_path, name, data)
    res = invoke(af_home, "report", str(bad))
    refused(res, str(bad), *words)
    assert res.exit_code == 2
    assert not bad.with_suffix(".html").exists()


def test_report_of_a_missing_file(af_home: Path, tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    res = invoke(af_home, "report", str(missing))
    refused(res, str(missing), "no such result file")
    assert res.exit_code == 2
    assert not missing.with_suffix(".html").exists()


def test_report_of_a_result_of_another_format_names_the_file(
    af_home: Path, tmp_path: Path, saved: Path
) -> None:
    doc = json.loads(saved.read_text())
    doc["format"] = "something/9"
    other = tmp_path / "other.json"
    other.write_text(json.dumps(doc))
    res = invoke(af_home, "report", str(other))
    refused(res, str(other), "not an alphaforge backtest result")
    assert res.exit_code == 2
    assert not other.with_suffix(".html").exists()


@pytest.mark.parametrize("second", ["garbage", "missing"])
def test_compare_with_one_file_that_is_not_a_result(
    af_home: Path, tmp_path: Path, saved: Path, second: str
) -> None:
    bad = tmp_path / "bad.json"
    if second == "garbage":
        bad.write_text("{garbage")
    out = tmp_path / "compare.html"
    res = invoke(af_home, "compare", str(saved), str(bad), "-o", str(out))
    refused(res, str(bad), "not valid JSON" if second == "garbage" else "no such result file")
    assert res.exit_code == 2
    assert not out.exists()


def test_good_results_still_compare(af_home: Path, tmp_path: Path, saved: Path) -> None:
    out = tmp_path / "compare.html"
    res = invoke(af_home, "compare", str(saved), str(saved), "-o", str(out))
    assert res.exit_code == 0, res.output
    assert out.exists()


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (lambda d: d["series"].update(equity=d["series"]["equity"][:-5]),
         ("series.equity has", "values for the", "bars of series.index")),
        (lambda d: d["metrics"].update(sharpe="high"), ("metrics.sharpe is not a number", "'high'")),
        (lambda d: d["metrics"].update(cagr=True), ("metrics.cagr is not a number",)),
    ],
    ids=["short-series", "text-metric", "bool-metric"],
)  # fmt: skip
def test_report_of_a_result_with_wrong_values(
    af_home: Path, tmp_path: Path, saved: Path, edit: Any, words: tuple[str, ...]
) -> None:
    """Right keys, wrong values: refused as bad input, not drawn into an 'unexpected error'."""
    doc = json.loads(saved.read_text())
    edit(doc)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    for args in (("report", str(bad)), ("compare", str(saved), str(bad))):
        res = invoke(af_home, *args)
        refused(res, str(bad), *words)
        assert res.exit_code == 2
    assert not bad.with_suffix(".html").exists()
