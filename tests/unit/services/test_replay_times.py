"""A replay's reported speed leaves out the time a first run spends compiling the engine: the
summary of a first replay on a machine said "252 bars in 37.6 s (7 bars/s)" for a replay that
takes 0.1 s once the kernels are cached."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from alphaforge.cli.trade_account import replay_time
from alphaforge.services import pacing
from alphaforge.services.pacing import replay_clock, replay_times
from alphaforge.services.trading import ReplayOutcome


def _outcome(seconds: float, compiling: float) -> ReplayOutcome:
    return ReplayOutcome(
        run_id="r", bars=252, final_equity=1.0, trades=0, orders=0, rejected=0,
        seconds=seconds, log_file=Path("x.jsonl"), compiling=compiling,
    )  # fmt: skip


def test_replay_times_takes_the_compile_out(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled = [10.0]
    monkeypatch.setattr(pacing, "compile_seconds", lambda: compiled[0])
    start = replay_clock()
    time.sleep(0.05)
    compiled[0] = 10.03  # 30 ms of the 50 compiled a kernel
    got = replay_times(start)
    assert got["compiling"] == pytest.approx(0.03)
    assert 0.0 < got["seconds"] < time.perf_counter() - start[0] - 0.029


def test_replay_times_without_a_compile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pacing, "compile_seconds", lambda: 4.0)
    start = replay_clock()
    time.sleep(0.02)
    got = replay_times(start)
    assert got["compiling"] == 0.0
    assert got["seconds"] >= 0.02


def test_summary_names_the_compile_apart() -> None:
    assert replay_time(_outcome(0.2, 36.2)) == (
        "252 bars in 0.2 s (1,260 bars/s), after 36.2 s compiling the engine for this machine "
        "(once: it is cached)"
    )
    assert replay_time(_outcome(0.5, 0.0)) == "252 bars in 0.5 s (504 bars/s)"
