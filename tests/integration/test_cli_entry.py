"""The ``alphaforge`` console entry: usage mistakes are one line, root options go anywhere."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from alphaforge.cli.app import normalize_argv

pytestmark = pytest.mark.integration


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    code = "from alphaforge.cli.app import main; main()"
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120
    )


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["backtest", "--cash", "abc"], "alphaforge backtest: Invalid value for '--cash'"),
        (["nosuch"], "No such command 'nosuch'"),
        (["validate", "x", "--bogus", "1"], "No such option: --bogus"),
        (["validate"], "Missing argument"),
    ],
)
def test_usage_errors_are_one_line(args: list[str], needle: str, tmp_path: Path) -> None:
    res = _run("--home", str(tmp_path / "home"), *args)
    assert res.returncode == 2, res
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], res.stderr
    assert "--help" in lines[0] and "Traceback" not in res.stderr
    assert not (tmp_path / "home").exists()


def test_home_and_debug_work_after_the_subcommand(tmp_path: Path) -> None:
    argv = normalize_argv(["data", "list", "--home", "H", "-s", "A", "B", "--debug"])
    assert argv == ["--home", "H", "--debug", "data", "list", "-s", "A", "-s", "B"]
    assert normalize_argv(["data", "list", "--home=H"])[:1] == ["--home=H"]
    res = _run("data", "list", "--home", str(tmp_path / "h"))
    assert res.returncode == 0, res.stderr
    assert "the store is empty" in res.stdout


def test_a_group_alone_prints_its_help() -> None:
    res = _run("data")
    assert "Usage: alphaforge data" in res.stdout and "Traceback" not in res.stderr
