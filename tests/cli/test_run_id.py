"""``--run-id`` is a plain name: it names the run's log file under the home, and
``--run-id ../../x`` wrote that log outside the home; an empty one was silently replaced by a
generated id."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import REPLAY_CONFIG, invoke, refused, tree_hash

pytestmark = pytest.mark.integration

REPLAY = ("--replay", "--from", "2014-03-03", "--to", "2014-06-30", "-q")


@pytest.mark.parametrize("run_id", ["../../escaped", "a/b", "", ".hidden", "x" * 101, "sp ace"])
def test_run_id_that_is_not_a_plain_name(af_home: Path, tmp_path: Path, run_id: str) -> None:
    config = tmp_path / "paper.yaml"
    config.write_text(REPLAY_CONFIG)
    before = tree_hash(af_home)
    res = invoke(af_home, "paper", "--config", str(config), *REPLAY, "--run-id", run_id)
    refused(res, "--run-id", repr(run_id))
    assert tree_hash(af_home) == before
    assert not list(tmp_path.rglob("escaped*"))


def test_live_refuses_it_too(af_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "live.yaml"
    config.write_text(REPLAY_CONFIG + "mode: live\n")
    refused(invoke(af_home, "live", "--config", str(config), "--run-id", "../x"), "--run-id")


@pytest.mark.parametrize("run_id", ["sma-2024.v2_b", "R" + "1" * 99])
def test_plain_names_still_run(af_home: Path, tmp_path: Path, run_id: str) -> None:
    config = tmp_path / "paper.yaml"
    config.write_text(REPLAY_CONFIG)
    res = invoke(af_home, "paper", "--config", str(config), *REPLAY, "--run-id", run_id)
    assert res.exit_code == 0, res.output
    assert (af_home / "logs" / f"{run_id}.jsonl").is_file()
