"""Usage mistakes through the console entry point: one line naming the command whose help to
read, exit code 2 (``alphaforge.cli.app.main``, as the installed ``alphaforge`` runs it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest


def _run(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "alphaforge.cli.app", "--home", str(home), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    ("args", "where", "what"),
    [
        (["export", "trades", "--csv"], "alphaforge export trades", "'--csv' requires an argument"),
        (["pnl", "--day"], "alphaforge pnl", "'--day' requires an argument"),
        (
            ["backtest", "sma_cross", "--cash"],
            "alphaforge backtest",
            "'--cash' requires an argument",
        ),
        (["data", "import", "x.csv", "--symbol"], "alphaforge data import", "'--symbol' requires"),
        (
            ["backtest", "sma_cross", "--bogus", "1"],
            "alphaforge backtest",
            "No such option: --bogus",
        ),
    ],
)
def test_a_usage_error_names_the_command_and_its_help(
    tmp_path: Path, args: list[str], where: str, what: str
) -> None:
    out = _run(tmp_path / "home", *args)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(f"error: {where}: ")
    assert what in lines[0]
    assert lines[0].endswith(f"(see {where} --help)")
    assert "Traceback" not in out.stderr
