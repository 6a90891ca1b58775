"""Ledger commands at the edges: a --day outside the run is refused with the run's days (it
printed an empty answer and exit 0, or ``[]`` with --json); a day inside the run without a bar
(a Saturday) is still an empty answer."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.cli.conftest import invoke, refused

pytestmark = pytest.mark.integration

# the seeded replay r1 runs over 2014 on the XNYS sessions: 2 January (1 January is a holiday)
# to 31 December (a Wednesday)
FIRST, LAST = "2014-01-02", "2014-12-31"


@pytest.mark.parametrize("day", ["2015-03-02", "2014-01-01", "2013-12-31"])
@pytest.mark.parametrize("as_json", [False, True], ids=["table", "json"])
def test_pnl_day_outside_the_run(af_home: Path, day: str, as_json: bool) -> None:
    res = invoke(af_home, "pnl", "--run", "r1", "--day", day, *(["--json"] if as_json else []))
    refused(res, f"--day {day}", "r1", f"{FIRST} to {LAST}")


def test_pnl_day_inside_the_run_without_a_bar(af_home: Path) -> None:
    res = invoke(af_home, "pnl", "--run", "r1", "--day", "2014-06-07")  # a Saturday
    assert res.exit_code == 0, res.output
    assert "no equity recorded in r1 on 2014-06-07" in res.stdout
    res = invoke(af_home, "pnl", "--run", "r1", "--day", "2014-06-07", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout) == []


@pytest.mark.parametrize("day", [FIRST, LAST])
def test_pnl_first_and_last_day(af_home: Path, day: str) -> None:
    res = invoke(af_home, "pnl", "--run", "r1", "--day", day, "--json")
    assert res.exit_code == 0, res.output
    assert [row["day"] for row in json.loads(res.stdout)] == [day]


def test_pnl_shows_each_days_exposure(af_home: Path) -> None:
    """The daily summary holds the day's exposure (gross and net at its last bar) beside its
    P&L; the JSON counts are integers (they were written as 1.0)."""
    res = invoke(af_home, "pnl", "--run", "r1", "--json")
    assert res.exit_code == 0, res.output
    days = json.loads(res.stdout)
    assert all(type(d["trades"]) is int and type(d["risk_events"]) is int for d in days)
    held = [d for d in days if d["gross"] > 0]
    assert held, "the seeded replay holds positions on some days"
    assert all(abs(d["net"]) <= d["gross"] + 1e-9 for d in days)
    day = held[0]
    table = invoke(af_home, "pnl", "--run", "r1", "--day", day["day"])
    assert table.exit_code == 0, table.output
    text = " ".join(table.stdout.split())
    assert "gross exp." in text and "net exp." in text
    assert f"{day['gross'] / day['end_equity']:.1%}" in text


def test_pnl_json_amounts_have_no_binary_noise(af_home: Path) -> None:
    """A day's P&L is the exact difference of its two equities (each at the ledger's 10
    places), not a float subtraction's ``-37.15111999999499``."""
    res = invoke(af_home, "pnl", "--run", "r1", "--json")
    assert res.exit_code == 0, res.output
    days = json.loads(res.stdout)
    moved = [d for d in days if d["pnl"] != 0]
    assert moved, "the seeded replay's equity moves"
    for d in days:
        start, end = Decimal(str(d["start_equity"])), Decimal(str(d["end_equity"]))
        assert Decimal(str(d["pnl"])) == end - start, d
        for key in ("start_equity", "end_equity", "pnl", "fees", "gross", "net"):
            exponent = Decimal(str(d[key])).as_tuple().exponent
            assert isinstance(exponent, int) and exponent >= -10, (key, d[key])
        if start:  # the ratio of the two exact amounts, to a float's precision
            assert d["return"] == pytest.approx(float((end - start) / start), rel=1e-15, abs=0)


def test_status_says_a_finished_replay_is_finished(af_home: Path) -> None:
    """It said 'state trading' for a replay that had run its last bar (and for a stopped one,
    and a crashed one): nothing was trading."""
    res = invoke(af_home, "status", "--run", "r1", "--json")
    assert res.exit_code == 0, res.output
    s = json.loads(res.output)
    assert s["finished"] is True and s["replay_to"] == s["last_bar"]
    res = invoke(af_home, "status", "--run", "r1")
    text = " ".join(res.output.split())
    assert "│ run │ finished: replayed to its last bar" in text and "trading" not in text


def test_status_says_how_to_continue_a_stopped_replay() -> None:
    from alphaforge.cli.ledger import _finished, _run_state
    from alphaforge.ledger.rows import RunInfo

    run = RunInfo(run_id="r9", mode="replay", venue="simulated", config_hash="h",
                  config_text="{}", strategies=("s",), started="2026-01-01T00:00:00+00:00",
                  replay_from="2014-01-02T00:00:00+00:00",
                  replay_to="2014-12-31T00:00:00+00:00")  # fmt: skip
    assert _finished(run, "2014-06-30T00:00:00+00:00") is False
    assert _finished(run, None) is False
    state = _run_state({"finished": False, "replay_to": run.replay_to, "run_id": "r9"})
    assert state.startswith("stopped before its last bar") and "--run-id r9" in state
    held = {"finished": False, "replay_to": run.replay_to, "run_id": "r9", "running": "pid 7"}
    assert _run_state(held) == "running (pid 7)"  # not 'stopped': its process runs it
    paper = dataclasses.replace(run, mode="paper", replay_to=None)
    assert _finished(paper, "2014-06-30T00:00:00+00:00") is None
