"""A home with no run: every command that shows a run exits 1 with one line (they used to exit
0, 1 or 2 depending on the command); ``status`` is a status report and says so with exit 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import invoke, refused

pytestmark = pytest.mark.integration

NO_RUNS = "no runs yet: start one with alphaforge paper --config ..."


@pytest.mark.parametrize(
    "args",
    [("pnl",), ("positions",), ("export", "trades", "--csv", "{tmp}/t.csv"), ("drift",),
     ("reconcile",)],
    ids=["pnl", "positions", "export", "drift", "reconcile"],
)  # fmt: skip
def test_a_command_with_nothing_to_show_exits_1(tmp_path: Path, args: tuple[str, ...]) -> None:
    home = tmp_path / "home"
    home.mkdir()
    res = invoke(home, *(a.format(tmp=tmp_path) for a in args))
    assert refused(res) == f"error: {NO_RUNS}"
    assert res.exit_code == 1
    assert not (tmp_path / "t.csv").exists()


def test_status_reports_no_runs_and_exits_0(tmp_path: Path) -> None:
    res = invoke(tmp_path / "home", "status")
    assert res.exit_code == 0 and res.output.strip() == NO_RUNS


def test_the_rule_is_in_the_help(tmp_path: Path) -> None:
    res = invoke(tmp_path / "home", "--help")
    assert "Exit codes:" in res.output and "no runs yet" in " ".join(res.output.split())
