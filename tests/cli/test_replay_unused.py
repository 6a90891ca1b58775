"""A replay says which sections of its config it does not use (``feed:``, ``schedule:``,
``mode: live``): the same file drives paper and live runs, so they are not refused, but a
replay feeds the stored bars, one cycle per bar, and never reaches a live account."""

from __future__ import annotations

from pathlib import Path

import pytest

from alphaforge.cli.trade import replay_unused
from alphaforge.config.specs import load_run_spec
from tests.cli.conftest import REPLAY_CONFIG, invoke

pytestmark = pytest.mark.integration

PAPER = ("paper", "--replay", "--from", "2014-03-03", "--to", "2014-04-30", "--config")


@pytest.mark.parametrize(
    ("added", "named"),
    [("", None), ("feed: {source: store, history_bars: 300}\n", "feed: is for paper and live"),
     ("schedule: {delay_seconds: 30}\n", "schedule: is for paper and live"),
     ("feed: {source: yahoo}\nschedule: {every_minutes: 5}\n", "feed: and schedule: are for paper"),
     ("mode: live\nrisk: {max_weight: 0.5, daily_loss_limit: 0.02, max_drawdown: 0.1}\n",
      "mode: live is for alphaforge live; a replay trades on the simulated venue, as paper"),
     ("mode: live\nschedule: {delay_seconds: 30}\n", "schedule: is for paper and live runs; "
      "a replay feeds the stored bars, one cycle per bar, and does not use it; mode: live")],
    ids=["none", "feed", "schedule", "both", "mode-live", "schedule-and-mode-live"],
)  # fmt: skip
def test_the_note_names_what_the_replay_does_not_use(
    tmp_path: Path, added: str, named: str | None
) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(REPLAY_CONFIG + added)
    note = replay_unused(load_run_spec(config))
    if named is None:
        assert note is None
    else:
        assert note is not None and note.startswith(f"{config}: {named}")


def test_a_replay_prints_the_note_and_runs(af_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "run.yaml"
    config.write_text(REPLAY_CONFIG + "schedule: {delay_seconds: 30}\n")
    res = invoke(af_home, *PAPER, str(config))
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert f"note: {config}: schedule: is for paper and live runs" in text
    quiet = invoke(af_home, *PAPER, str(config), "-q", "--run-id", "quiet")
    assert quiet.exit_code == 0, quiet.output  # -q hides the live view, not what is ignored
    assert f"note: {config}: schedule: is for paper and live runs" in " ".join(quiet.output.split())
