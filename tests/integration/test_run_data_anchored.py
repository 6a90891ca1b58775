"""A run's relative ``data:`` file is anchored where the run starts: ``drift`` and a restart
read the same file from another directory (the stored config named the path relative to the
directory the run was started in, and ``drift`` elsewhere failed to find it)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.cli.conftest import invoke

from alphaforge.data.sample import generate_daily
from alphaforge.ledger import Ledger

pytestmark = pytest.mark.integration

CONFIG = """\
strategy: sma_cross
params: {fast: 5, slow: 20}
symbols: [SYN01]
data: bars.parquet
timeframe: 1d
cash: 100000
broker: {name: simulated}
"""
REPLAY = ("--replay", "--from", "2014-01-02", "--to", "2014-12-31", "-q", "--run-id", "r1")


def test_drift_and_restart_from_another_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    start, elsewhere, home = tmp_path / "start", tmp_path / "elsewhere", tmp_path / "home"
    start.mkdir()
    elsewhere.mkdir()
    generate_daily(seed=5, n_symbols=1, years=2).to_parquet(start / "bars.parquet")
    (start / "paper.yaml").write_text(CONFIG)
    monkeypatch.chdir(start)
    res = invoke(home, "paper", "--config", "paper.yaml", *REPLAY)
    assert res.exit_code == 0, res.output
    with Ledger.open(f"sqlite:///{home / 'ledger.db'}") as ledger:
        run = ledger.run("r1")
        assert run is not None
        stored = json.loads(run.config_text)["data"]
    assert stored == str((start / "bars.parquet").resolve())

    monkeypatch.chdir(elsewhere)
    res = invoke(home, "drift", "r1")
    assert res.exit_code == 0, res.output
    assert "WITHIN TOLERANCE" in res.output

    monkeypatch.chdir(start)  # the same relative config from where it started: the same run
    res = invoke(home, "paper", "--config", "paper.yaml", *REPLAY)
    assert res.exit_code == 0, res.output
    assert "another config" not in res.output
