"""A replay whose equity falls to zero or below says so, with the backtest's words, bar and
value for the same config and period (no margin call is modelled in either engine); it used
to end with a negative final equity and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.cli.conftest import REPLAY_CONFIG, invoke

pytestmark = pytest.mark.integration

LEVERED = REPLAY_CONFIG + (
    "direction: long_short\nsizing: {method: fraction, value: 8.0}\n"
    "risk: {max_gross_leverage: 10}\n"
)


def _warning(text: str) -> str:
    flat = " ".join(text.split())
    found = re.search(r"warning: (equity fell to .*? and stops\))", flat)
    assert found is not None, flat
    return found.group(1)


def test_a_bankrupt_replay_warns_as_its_backtest(af_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "levered.yaml"
    config.write_text(LEVERED)
    period = ("2014-01-02", "2015-12-31")
    bt = invoke(af_home, "backtest", "--config", str(config), "--start", period[0],
                "--end", period[1])  # fmt: skip
    assert bt.exit_code == 0, bt.output
    replay = invoke(af_home, "paper", "--config", str(config), "--replay", "--from", period[0],
                    "--to", period[1], "-q", "--run-id", "levered")  # fmt: skip
    assert replay.exit_code == 0, replay.output
    assert _warning(replay.stdout) == _warning(bt.stdout)
    assert _warning(bt.stdout).startswith("equity fell to -")


def test_a_sound_replay_has_no_such_warning(af_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "plain.yaml"
    config.write_text(LEVERED.replace("sizing: {method: fraction, value: 8.0}\n", ""))
    replay = invoke(af_home, "paper", "--config", str(config), "--replay", "--from",
                    "2014-01-02", "--to", "2015-12-31", "-q", "--run-id", "plain")  # fmt: skip
    assert replay.exit_code == 0, replay.output
    assert "warning:" not in replay.stdout
