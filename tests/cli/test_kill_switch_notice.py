"""A replay under the kill switch says so: `alphaforge kill` in a home with a run arms the
switch for every run of its ledger, and the next replay used to end with "0 closed trades" and
nothing saying why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.conftest import REPLAY_CONFIG, invoke

pytestmark = pytest.mark.integration

REPLAY = ("--replay", "--from", "2014-01-02", "--to", "2014-12-31", "-q")


def _orders(home: Path, run_id: str) -> list[dict[str, object]]:
    res = invoke(home, "orders", "--run", run_id, "--json")
    assert res.exit_code == 0, res.output
    return list(json.loads(res.stdout))


@pytest.mark.parametrize("switch", ["kill", "kill --reduce-only"])
def test_replay_under_the_kill_switch_says_so(af_home: Path, tmp_path: Path, switch: str) -> None:
    config = tmp_path / "paper.yaml"
    config.write_text(REPLAY_CONFIG)
    assert invoke(af_home, *switch.split(), "--reason", "desk closed").exit_code == 0
    res = invoke(af_home, "paper", "--config", str(config), *REPLAY, "--run-id", "halted")
    assert res.exit_code == 0, res.output
    text = " ".join(res.stdout.split())
    state = "REDUCE ONLY" if "reduce" in switch else "HALTED"
    assert f"{state} by the kill switch" in text and "desk closed" in text
    assert "alphaforge resume" in text
    assert _orders(af_home, "halted") == []  # flat all along: nothing to reduce either
    out = tmp_path / "drift.json"
    res = invoke(af_home, "drift", "halted", "--json", str(out))
    assert res.exit_code == 1, res.output  # the backtest traded: out of tolerance, and why
    (switch,) = [n for n in json.loads(out.read_text())["inherent"] if "kill switch" in n]
    assert switch.startswith("the kill switch refused ") and "halted or reduce-only" in switch

    assert invoke(af_home, "resume").exit_code == 0
    res = invoke(af_home, "paper", "--config", str(config), *REPLAY, "--run-id", "free")
    assert res.exit_code == 0, res.output
    assert "kill switch" not in res.stdout
    assert len(_orders(af_home, "free")) == len(_orders(af_home, "r1")) > 0  # the seeded run
