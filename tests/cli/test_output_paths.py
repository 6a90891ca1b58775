"""An output path that cannot be written (a read-only place such as /proc) is refused before any
work is done: one line naming the option and the path, a non-zero exit, and nothing saved under
the home (a backtest used to save its run, then fail on a temp file's name)."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from alphaforge.atomic import atomic_write_text
from tests.cli.conftest import invoke, refused, tree_hash

pytestmark = pytest.mark.integration

UNWRITABLE = Path("/proc/alphaforge-out")  # procfs: no file can be created there, even by root

BT = ("backtest", "sma_cross", "-s", "SYN01", "-q", "--param", "fast=5", "--param", "slow=20")
CASES = [
    ("backtest-json", (*BT, "--json"), "r.json", "--json"),
    ("backtest-report", (*BT, "--report"), "r.html", "--report"),
    ("backtest-trades-csv", (*BT, "--trades-csv"), "t.csv", "--trades-csv"),
    ("backtest-equity-csv", (*BT, "--equity-csv"), "sub/e.csv", "--equity-csv"),
    ("export-trades", ("export", "trades", "--run", "r1", "--csv"), "t.csv", "--csv"),
    ("drift-json", ("drift", "r1", "--json"), "d.json", "--json"),
    ("drift-csv", ("drift", "r1", "--csv"), "d.csv", "--csv"),
    ("sweep-out", ("sweep", "sma_cross", "-s", "SYN01", "-q", "--grid", "fast=5,10",
                   "--grid", "slow=20", "--min-trades", "0", "--out"), "sweep", "--out"),
]  # fmt: skip


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux procfs")
@pytest.mark.parametrize(
    ("args", "name", "option"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_unwritable_output_is_refused_before_any_work(
    af_home: Path, args: tuple[str, ...], name: str, option: str
) -> None:
    before = tree_hash(af_home)
    target = UNWRITABLE / name
    res = invoke(af_home, *args, str(target))
    refused(res, option, str(target), "cannot write")
    assert ".tmp" not in res.stderr  # the path the user gave, not a temp file's
    assert tree_hash(af_home) == before


@pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="needs Linux procfs")
def test_report_of_a_saved_result_to_an_unwritable_place(af_home: Path, tmp_path: Path) -> None:
    saved = tmp_path / "r.json"
    assert invoke(af_home, *BT, "--json", str(saved)).exit_code == 0
    res = invoke(af_home, "report", str(saved), "-o", str(UNWRITABLE / "r.html"))
    refused(res, "--output", str(UNWRITABLE / "r.html"))
    res = invoke(af_home, "compare", str(saved), str(saved), "-o", str(UNWRITABLE / "c.html"))
    refused(res, "--output", str(UNWRITABLE / "c.html"))


def test_writable_outputs_still_written(af_home: Path, tmp_path: Path) -> None:
    """The probe leaves nothing behind, and new folders are made for the outputs."""
    out = tmp_path / "new" / "deeper"
    res = invoke(af_home, "export", "trades", "--run", "r1", "--csv", str(out / "t.csv"))
    assert res.exit_code == 0, res.output
    header = (out / "t.csv").read_text().splitlines()[0]
    assert header == "day,strategy,symbol,trades,wins,losses,qty,pnl,fees"
    assert sorted(p.name for p in (tmp_path / "new").rglob("*")) == ["deeper", "t.csv"]


@pytest.mark.parametrize("case", ["backtest-json", "backtest-report", "export-trades"])
def test_a_device_or_a_pipe_is_refused_and_left_as_it_is(
    af_home: Path, tmp_path: Path, case: str
) -> None:
    """An output that is not a regular file used to be replaced by the rename of the temp file
    (``--json /dev/full`` turned the device into a file); it is refused before any work."""
    args, _name, option = next(c[1:] for c in CASES if c[0] == case)
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    before = tree_hash(af_home)
    res = invoke(af_home, *args, str(pipe))
    refused(res, option, str(pipe), "not a regular file")
    assert stat.S_ISFIFO(pipe.lstat().st_mode)  # still the pipe
    assert tree_hash(af_home) == before


def test_a_symbolic_link_is_written_through(af_home: Path, tmp_path: Path) -> None:
    """The link stays a link and its target gets the result (the rename used to replace the
    link by a file, leaving the target as it was)."""
    target, link = tmp_path / "target.json", tmp_path / "link.json"
    target.write_text("{}")
    link.symlink_to(target)
    assert invoke(af_home, *BT, "--json", str(link)).exit_code == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert json.loads(target.read_text())["strategy"] == "sma_cross"


def test_the_atomic_writer_refuses_what_is_not_a_file(tmp_path: Path) -> None:
    pipe = tmp_path / "pipe"
    os.mkfifo(pipe)
    with pytest.raises(OSError, match="not a regular file"):
        atomic_write_text(pipe, "x")
    with pytest.raises(IsADirectoryError):
        atomic_write_text(tmp_path, "x")
    assert stat.S_ISFIFO(pipe.lstat().st_mode) and sorted(tmp_path.iterdir()) == [pipe]
