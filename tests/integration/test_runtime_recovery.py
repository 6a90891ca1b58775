"""Crash recovery: a replay killed with SIGKILL at random moments and restarted each time ends
with the ledger of an uninterrupted run, and no client order id was ever sent twice.

The simulated venue keeps its book in the ledger, written in the same transaction as the
runtime's cycle, so a kill anywhere inside a cycle (after an order was sent and filled, before
the cycle was recorded) rolls both back together and the restart redoes that bar with the same
idempotent order ids.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alphaforge.cli.app import app
from alphaforge.ledger import Ledger
from alphaforge.testing.ledger_db import KINDS, scratch_ledger_url

pytestmark = [pytest.mark.integration, pytest.mark.slow]
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "paper_sma.yaml"
# twenty symbols, the strategy called on the bars so far at every bar: a run of a few seconds,
# so that 20 kills land inside it, in committed and uncommitted batches alike (a replay
# commits its cycles every quarter second)
SYMBOLS = "[" + ", ".join(f"SYN{k:02d}" for k in range(1, 21)) + "]"
KILLS = 20


def _cycles(ledger: Ledger, run_id: str) -> int:
    """Committed cycles of ``run_id``: one equity snapshot each."""
    return len(ledger.equity_curve(run_id))


def _fills(ledger: Ledger, run_id: str) -> list[tuple[str, str, str, float, float, float]]:
    return [
        (f.ts, f.symbol, f.side, float(f.qty), round(float(f.price), 6), round(float(f.fee), 6))
        for f in ledger.fills(run_id)
    ]


@pytest.mark.parametrize("kind", KINDS)
def test_sigkill_at_random_moments_loses_and_duplicates_nothing(
    kind: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with scratch_ledger_url(kind, tmp_path) as url:
        monkeypatch.setenv("ALPHAFORGE_LEDGER_URL", url)
        _kill_and_restart(tmp_path, url)


def _kill_and_restart(tmp_path: Path, url: str) -> None:
    home = tmp_path / "home"
    runner = CliRunner()
    config = tmp_path / "run.yaml"
    text = EXAMPLE.read_text().replace("symbols: [SYN01]", f"symbols: {SYMBOLS}")
    config.write_text(text.replace("runtime: {", "runtime: {signals: per_bar, "))
    args = ["paper", "--config", str(config), "--replay", "--from", "2012-01-02", "--to",
            "2019-12-31", "-q"]  # fmt: skip
    assert runner.invoke(app, ["--home", str(home), "data", "sample"]).exit_code == 0
    started = time.monotonic()
    ref = runner.invoke(app, ["--home", str(home), *args, "--run-id", "reference"])
    assert ref.exit_code == 0, ref.output
    # kills land within the first part of each restart's share of the run: 20 of them fit on
    # a fast machine too (a fixed window made a quick run finish before its 20th kill)
    window = min(0.6, (time.monotonic() - started) / (1.5 * KILLS))
    ledger = Ledger.open(url)
    total = _cycles(ledger, "reference")
    cmd = [sys.executable, "-m", "alphaforge.cli.app", "--home", str(home), *args,
           "--run-id", "killed"]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    rng = random.Random(7)
    kills = 0
    progress = []
    while kills < KILLS:
        log = home / "logs" / "killed.jsonl"
        size = log.stat().st_size if log.exists() else 0
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        # the runtime logs how it computes signals right before its first bar
        while (not log.exists() or log.stat().st_size == size) and proc.poll() is None:
            assert time.monotonic() < deadline, "the restarted runtime did not start"
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, window))
        if proc.poll() is not None:  # finished before the kill: start over on a fresh run
            assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
            break
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        kills += 1
        progress.append(ledger.last_bar("killed") or "")
    final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert final.returncode == 0, final.stderr
    assert kills == KILLS, f"the run finished after {kills} kills; lengthen the replay"
    assert progress == sorted(progress)  # every restart continued, none went back
    with ledger:
        assert _cycles(ledger, "killed") == total
        assert _fills(ledger, "killed") == _fills(ledger, "reference")
        a = [
            (t.symbol, t.side, float(t.qty), t.entry_ts, t.exit_ts) for t in ledger.trades("killed")
        ]
        b = [
            (t.symbol, t.side, float(t.qty), t.entry_ts, t.exit_ts)
            for t in ledger.trades("reference")
        ]
        assert a == b and len(a) > 5
        orders = ledger.orders("killed")
        ids = [o.client_id for o in orders]
        assert len(ids) == len(set(ids)) == len(ledger.orders("reference"))
        snap = ledger.state("killed/sma_cross", "runtime")
    assert snap is not None
    # the venue's positions (its book, kept in the ledger) equal the ledger's
    venue_qty = {s: q for s, q in snap["venue"]["qty"].items() if q != 0}
    with Ledger.open(url) as ledger:
        held = {p.symbol: float(p.qty) for p in ledger.positions("killed")}
    assert venue_qty == held
