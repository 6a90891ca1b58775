"""One process runs a run: a second runtime on the same run is refused while the first holds
it, on SQLite (a file lock) and PostgreSQL (an advisory lock); a closed ledger or a killed
process frees it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest
from tests.integration.ledger.conftest import RUN, start

from alphaforge.ledger import Ledger
from alphaforge.ledger.run_lock import RunBusyError


def test_a_second_process_on_a_running_run_is_refused(ledger: Ledger, ledger_url: str) -> None:
    start(ledger)
    other = Ledger.open(ledger_url)  # another runtime: its own connections and lock
    try:
        with pytest.raises(RunBusyError) as err:
            other.locks.hold(RUN, wait=0.0)
        assert str(err.value).startswith(f"run {RUN} is running (")
        assert "one process runs a run; stop it first" in str(err.value)
        assert other.locks.holder(RUN) is not None
        assert ledger.locks.holder(RUN) is None  # (its own run: not 'another process')
        other.locks.hold("run-2", wait=0.0)  # another run of the ledger is free
    finally:
        other.close()


def test_a_restart_in_the_same_process_and_after_close(ledger: Ledger, ledger_url: str) -> None:
    start(ledger)
    start(ledger)  # the same ledger again: re-entrant (a restart resumes the run)
    ledger.close()
    again = Ledger.open(ledger_url)
    try:
        again.locks.hold(RUN, wait=0.0)
        assert again.locks.holder(RUN) is None
    finally:
        again.close()


def test_end_run_lets_another_process_run_it(ledger: Ledger, ledger_url: str) -> None:
    """A runtime that stopped (its setup closed) lets the run go while its ledger stays open."""
    start(ledger)
    ledger.end_run(RUN)
    other = Ledger.open(ledger_url)
    try:
        other.locks.hold(RUN, wait=0.0)
        assert ledger.locks.holder(RUN) is not None  # now the other one runs it
    finally:
        other.close()


def test_start_run_waits_then_refuses_naming_the_holder(ledger: Ledger, ledger_url: str) -> None:
    start(ledger)
    other = Ledger.open(ledger_url)
    try:
        t0 = time.monotonic()
        with pytest.raises(RunBusyError):
            start(other)
        assert time.monotonic() - t0 >= 2.5  # it waited (WAIT_SECONDS) before refusing
        assert other.run(RUN) is not None and other.last_bar(RUN) is None  # nothing written
    finally:
        other.close()


def test_a_killed_holder_frees_the_run(ledger_url: str) -> None:
    """SIGKILL leaves no cleanup to the process: the system (or the server) drops its lock."""
    child = textwrap.dedent(f"""
        import sys, time
        from alphaforge.ledger import Ledger
        from tests.integration.ledger.conftest import start
        lg = Ledger.open({ledger_url!r})
        start(lg)
        print("held", flush=True)
        time.sleep(120)
    """)
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True,
                            cwd=os.getcwd())  # fmt: skip
    assert proc.stdout is not None
    try:
        assert proc.stdout.readline().strip() == "held"
        mine = Ledger.open(ledger_url)
        try:
            holder = mine.locks.holder(RUN)
            assert holder is not None
            if ledger_url.startswith("sqlite"):
                assert holder.startswith(f"pid {proc.pid} since ")
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            mine.locks.hold(RUN)  # within the wait: the server may see the death a bit late
            assert mine.locks.holder(RUN) is None
        finally:
            mine.close()
    finally:
        proc.kill()
        proc.wait(10)
