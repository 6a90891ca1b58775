"""A replay over a period the data do not cover says where they begin and end (it was clipped
without a word, and status then called the run finished at the data's last bar)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.conftest import REPLAY_CONFIG, invoke

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    ("period", "note"),
    [
        (("2013-01-02", "2014-12-31"), "--from 2013-01-02: the data begin at 2014-01-02"),
        (("2015-01-02", "2016-06-30"), "--to 2016-06-30: the data end at 2015-12-31"),
    ],
)
def test_a_period_beyond_the_data_is_noted(
    af_home: Path, tmp_path: Path, period: tuple[str, str], note: str
) -> None:
    config = tmp_path / "p.yaml"
    config.write_text(REPLAY_CONFIG)
    res = invoke(af_home, "paper", "--config", str(config), "--replay", "--from", period[0],
                 "--to", period[1], "-q", "--run-id", "p")  # fmt: skip
    assert res.exit_code == 0, res.output
    text = " ".join(res.stdout.split())
    assert f"note: {note}; the replay runs over the bars there are" in text


def test_a_period_inside_the_data_has_no_note(af_home: Path, tmp_path: Path) -> None:
    config = tmp_path / "p.yaml"
    config.write_text(REPLAY_CONFIG)
    res = invoke(af_home, "paper", "--config", str(config), "--replay", "--from", "2014-01-04",
                 "--to", "2015-12-31", "-q", "--run-id", "inside")  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "note:" not in res.stdout


def test_an_accounts_replay_notes_it_too(af_home: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "paper_account.yaml"
    res = invoke(af_home, "paper", "--config", str(example), "--replay", "--from", "2014-01-02",
                 "--to", "2016-06-30", "-q", "--run-id", "acct")  # fmt: skip
    assert res.exit_code == 0, res.output
    text = " ".join(res.stdout.split())
    assert "note: --to 2016-06-30: the data end at 2015-12-31; the replay runs over" in text
