"""Every command and command group answers ``--help``."""

from __future__ import annotations

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
