"""Bad input exits 2, as ``alphaforge --help`` says ("2 bad input: a config, option or argument
refused"): an unknown strategy, symbol, benchmark or run id, a parameter the strategy refuses,
a strategy file that is not there. These used to exit 1, the code of a run that failed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import invoke, refused, tree_hash

pytestmark = pytest.mark.integration

BT = ("backtest", "-q")
CASES = [
    ("unknown-strategy", (*BT, "sma_cros", "-s", "SYN01"), ("unknown strategy 'sma_cros'",)),
    ("unknown-symbol", (*BT, "sma_cross", "-s", "NOPE"), ("unknown symbol 'NOPE'",)),
    ("param-text", (*BT, "sma_cross", "-s", "SYN01", "--param", "fast=abc"), ("fast", "abc")),
    ("params-inverted",
     (*BT, "sma_cross", "-s", "SYN01", "--param", "fast=60", "--param", "slow=20"),
     ("fast (60) must be smaller than slow (20)",)),
    ("benchmark-unknown", (*BT, "sma_cross", "-s", "SYN01", "--benchmark", "NOPE"),
     ("benchmark: NOPE",)),
    ("strategy-file-missing", (*BT, "/nonexistent/s.py:X", "-s", "SYN01"),
     ("strategy file not found",)),
    ("direction", (*BT, "sma_cross", "-s", "SYN01", "--direction", "sideways"), ("direction",)),
    ("run-unknown", ("runs", "show", "nope"), ("unknown run 'nope'",)),
    # a seed changed nothing on a grid but the job id
    ("sweep-grid-seed", ("sweep", "sma_cross", "-s", "SYN01", "-q", "--grid", "fast=5,10",
                         "--grid", "slow=20", "--seed", "3"), ("--seed 3", "--random or --optuna")),
    ("walkforward-grid-seed", ("walkforward", "sma_cross", "-s", "SYN01", "-q", "--grid",
                               "fast=5,10", "--grid", "slow=20", "--seed", "3"), ("--seed 3",)),
    ("data-show-unknown", ("data", "show", "NOPE"), ("unknown symbol 'NOPE'",)),
    ("data-file-missing", (*BT, "sma_cross", "--data", "/nonexistent/bars.csv"),
     ("/nonexistent/bars.csv: no such data file",)),
]  # fmt: skip


@pytest.mark.parametrize(("args", "names"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_exits_2(af_home: Path, args: tuple[str, ...], names: tuple[str, ...]) -> None:
    before = tree_hash(af_home)
    res = invoke(af_home, *args)
    refused(res, *names)
    assert res.exit_code == 2
    assert tree_hash(af_home) == before


@pytest.mark.parametrize(
    ("text", "names"),
    [("garbage", ("not valid JSON",)),
     ('{"a": 1}', ("not an alphaforge backtest result",))],
)  # fmt: skip
def test_validate_of_a_file_that_is_not_a_result_exits_2(
    af_home: Path, tmp_path: Path, text: str, names: tuple[str, ...]
) -> None:
    """``validate`` exits 1 when its gate fails: a file it cannot read is bad input, not that."""
    bad = tmp_path / "result.json"
    bad.write_text(text)
    before = tree_hash(af_home)
    res = invoke(af_home, "validate", str(bad))
    refused(res, str(bad), *names)
    assert res.exit_code == 2
    assert tree_hash(af_home) == before
