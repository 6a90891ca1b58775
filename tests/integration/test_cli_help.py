"""Every command and command group answers ``--help``, and the help reads as written: no
``<bool>`` type on flags, no bracketed default swallowed as a style tag (which left " .")."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from alphaforge.cli.app import app

pytestmark = pytest.mark.integration


def _paths(cmd: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix]
    if hasattr(cmd, "commands"):  # a group (typer ships its own click)
        for name, sub in sorted(cmd.commands.items()):
            out += _paths(sub, (*prefix, name))
    return out


ROOT = typer.main.get_command(app)
PATHS = _paths(ROOT)


def test_the_tree_has_the_documented_commands() -> None:
    names = {" ".join(p) for p in PATHS}
    for expected in (
        "backtest", "report", "compare", "demo", "lookahead", "sweep", "walkforward",
        "data fetch", "data import", "data list", "data show", "data check", "data sample",
        "strategy list", "strategy show", "strategy new",
    ):  # fmt: skip
        assert expected in names


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "root")
def test_help(path: tuple[str, ...]) -> None:
    res = CliRunner().invoke(app, [*path, "--help"])
    assert res.exit_code == 0, res.output
    assert "Usage" in res.output


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "root")
def test_help_has_no_placeholders(path: tuple[str, ...]) -> None:
    res = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "<bool>" not in res.output
    assert not re.search(r" \.(\s|$)", res.output), res.output


def test_bracketed_defaults_are_shown_as_written() -> None:
    sweep = CliRunner().invoke(app, ["sweep", "--help"], env={"COLUMNS": "200"}).output
    assert "Local worker processes [cores]." in sweep
    assert "Trials per task [auto]." in sweep
    root = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    debug = next(line for line in root.splitlines() if "--debug" in line)
    assert "Show tracebacks instead of one-line errors." in debug
