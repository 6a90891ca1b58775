"""A run that a process is running cannot be started again (``--run-id``), and ``status`` says
it is running: a second runtime used to send the orders again, and the first then failed on a
database error."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from alphaforge.ledger import Ledger
from tests.cli.conftest import REPLAY_CONFIG, invoke, refused

pytestmark = pytest.mark.integration

REPLAY = ("--replay", "--from", "2014-01-02", "--to", "2014-12-31", "-q")


def test_a_running_run_is_refused_and_status_says_so(af_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "paper.yaml"
    config.write_text(REPLAY_CONFIG)
    assert (
        invoke(af_home, "paper", "--config", str(config), *REPLAY, "--run-id", "busy").exit_code
        == 0
    )
    holder = Ledger.open(f"sqlite:///{af_home / 'ledger.db'}")  # a runtime running it
    try:
        holder.locks.hold("busy")
        res = invoke(af_home, "status", "--run", "busy")
        assert res.exit_code == 0
        assert f"running (pid {os.getpid()} since " in " ".join(res.stdout.split())
        res = invoke(af_home, "paper", "--config", str(config), *REPLAY, "--run-id", "busy")
        assert res.exit_code == 1
        assert refused(res).startswith(f"error: run busy is running (pid {os.getpid()} since ")
        orders = invoke(af_home, "orders", "--run", "busy", "--json").stdout
    finally:
        holder.close()
    res = invoke(af_home, "paper", "--config", str(config), *REPLAY, "--run-id", "busy")
    assert res.exit_code == 0, res.output  # free again: it finds the run replayed already
    assert invoke(af_home, "orders", "--run", "busy", "--json").stdout == orders
    res = invoke(af_home, "status", "--run", "busy")
    assert "finished: replayed to its last bar" in " ".join(res.stdout.split())
