"""Crash recovery of an account of several strategies on Alpaca: the paper run of
:mod:`tests.integration.alpaca_account` runs in a process of its own
(:mod:`tests.integration.alpaca_account_child`), is killed with SIGKILL at random moments and
restarted each time with the same run id, and ends with the trades and fills of an
uninterrupted run of the same account on a fresh stand-in; no client order id reached the
broker twice as a new order, and the broker's positions are the strategies' summed.

The test keeps the market clock: the child's ``now`` and ``sleep`` are calls to it, so time
passes only when the child sleeps between cycles, never while it is dead (a restart resumes at
the bar it died in, as a prompt restart does), but for one kind of kill. Both runs start the day
before a cycle that sends orders. The first kill is ``first``: once every order of the new
run's first cycle has reached the broker (the answer of the last is held), before that cycle is
recorded; the restart continues the run (it does not start anew). Then the kills take turns:

* ``posted``: as soon as an order the broker did not have reaches it, within the cycle that
  sent it (before the cycle is recorded, or just after);
* ``filled``: while the child sleeps after a cycle, once the market has reached the open that
  filled its orders at the broker, before the next cycle books the fills;
* ``random``: anywhere in the cycles after one was recorded;
* ``posted_down``: as ``posted``, then the market goes on while the child is dead until the
  next bar is in the store and due (the broker filled what the lost cycle sent at its open):
  the restart catches the lost bar up and trades the next one.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.integration.alpaca_account import (
    account_world,
    broker_positions,
    ledger_positions,
    summed,
    trips,
)
from tests.integration.test_paper_alpaca_live import START, Market, _world

from alphaforge.ledger import Ledger
from alphaforge.testing.alpaca_broker import AlpacaBroker

pytestmark = [pytest.mark.integration, pytest.mark.slow]
END = pd.Timestamp("2018-06-15 22:00", tz="UTC")
BEGIN = pd.Timestamp("2018-04-16 20:10", tz="UTC")  # the first cycle (04-17) sends orders
KILLS = 9
RUN = "killed"
ROOT = Path(__file__).resolve().parents[2]


class Clock:
    """The market clock of the child process, served on 127.0.0.1: ``GET /now`` and
    ``POST /sleep`` (``{"seconds": s}``: the market moves on, never past ``until`` by more than a
    second). ``after_sleep`` runs once time has passed, before the child gets the answer."""

    def __init__(self, market: Market, until: pd.Timestamp) -> None:
        self.market, self.until = market, until
        self.after_sleep: Callable[[], None] | None = None
        self.errors: list[str] = []
        self.lock = threading.Lock()
        clock = self

        class _Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                clock._serve(self)

            do_POST = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        with self.lock:
            try:
                if h.path == "/sleep":
                    body = json.loads(h.rfile.read(int(h.headers.get("Content-Length") or 0)))
                    m = self.market
                    m.sleep(min(body["seconds"], max((self.until - m.now).total_seconds() + 1, 1)))
                    if self.after_sleep is not None:
                        self.after_sleep()
            except Exception as exc:  # shown by the test, not lost in a server thread
                self.errors.append(repr(exc))
                raise
            data = json.dumps({"now": self.market.now.isoformat()}).encode()
        with contextlib.suppress(OSError):  # the child may be dead by now
            h.send_response(200)
            h.send_header("Content-Type", "application/json")
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def _posts(broker: AlpacaBroker) -> list[str]:
    """Client order ids of every ``POST /v2/orders`` the stand-in received, repeats included."""
    with broker.lock:
        return [r.client_order_id or "" for r in broker.requests
                if r.method == "POST" and r.path == "/v2/orders"]  # fmt: skip


def _broker_fills(broker: AlpacaBroker) -> list[str]:
    """The execution ids of the broker's fills (an activity id is ``<time>::<execution id>``)."""
    with broker.lock:
        return [str(a["id"]).rsplit("::", 1)[-1] for a in broker.book.activities]


def _read(db: Path, query: str, *args: str) -> list[Any]:
    """Rows of ``query`` on the killed run's ledger (none before it exists)."""
    if not db.exists():
        return []
    try:
        with sqlite3.connect(db, timeout=5) as c:
            return [row[0] for row in c.execute(query, args)]
    except sqlite3.Error:
        return []


def _cycles(db: Path) -> int:
    rows = _read(db, "select count(*) from cycles where run_id=?", RUN)
    return int(rows[0]) if rows else 0


@contextmanager
def _killed_world(tmp: Path) -> Iterator[tuple[AlpacaBroker, Clock, list[str], dict[str, str]]]:
    """The stand-in, its market and the clock of the child, and how to start the child."""
    with AlpacaBroker(now=START - pd.Timedelta(days=120)) as broker:
        _settings, store, bars = _world(tmp, broker)
        market = Market(store, bars, broker)
        market.sleep((BEGIN - market.now).total_seconds())
        clock = Clock(market, END)
        cmd = [sys.executable, "-m", "tests.integration.alpaca_account_child", str(tmp),
               broker.url, broker.stream_url, clock.url, RUN, END.isoformat()]  # fmt: skip
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
               "ALPHAFORGE_ALPACA_API_KEY": broker.api_key,
               "ALPHAFORGE_ALPACA_SECRET_KEY": broker.secret_key}  # fmt: skip
        try:
            yield broker, clock, cmd, env
        finally:
            clock.close()


def _wait(proc: subprocess.Popen[bytes], ready: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 60
    while not ready() and proc.poll() is None:
        if time.monotonic() > deadline:
            proc.send_signal(signal.SIGUSR1)  # the child's stacks, into its stderr
            time.sleep(1.0)
            raise AssertionError(f"the restarted run: {what}")
        time.sleep(0.002)


class Killer:
    """Kills the child as each kind says (see the module docstring), once its run has recorded
    a cycle (a new run killed before its first cycle is recorded starts anew). ``sent`` are
    the client ids the uninterrupted run (same run id, so the same ids) sent, with the bar
    they were sent at; ``brackets`` the bars it sent an entry with a bracket at."""

    def __init__(
        self, broker: AlpacaBroker, clock: Clock, db: Path, sent: dict[str, str],
        brackets: set[str],
    ) -> None:  # fmt: skip
        self.broker, self.clock, self.db, self.sent = broker, clock, db, sent
        self.brackets = brackets
        self.rng = random.Random(5)
        self.hold: str | None = None  # a bar: hold the answer of its last order's POST
        self.held = threading.Event()
        real = broker.submit

        def submit(body: dict[str, Any], rec: Any = None) -> Any:
            answer = real(body, rec)
            bar = self.sent.get(str(body.get("client_order_id")))
            if (
                bar is not None
                and bar == self.hold
                and answer.status == 200
                and not {c for c, b in self.sent.items() if b == bar} - set(broker.new_order_ids())
            ):
                self.held.set()  # every order of the bar is taken; its cycle never hears
                time.sleep(10.0)
            return answer

        broker.submit = submit  # type: ignore[method-assign]

    def kill(self, proc: subprocess.Popen[bytes], kind: str) -> None:
        if kind == "first":
            self._first(proc)
            return
        _wait(proc, lambda: _cycles(self.db) > 0, "recorded no cycle")
        if kind == "posted":
            known = len(_posts(self.broker))
            _wait(proc, lambda: len(_posts(self.broker)) > known, "sent no order")
            time.sleep(self.rng.choice([0.0, self.rng.uniform(0.0, 0.03)]))
        elif kind == "filled":
            self._filled(proc)
        elif kind == "random":
            before = _cycles(self.db)
            _wait(proc, lambda: _cycles(self.db) > before, "made no progress")
            time.sleep(self.rng.uniform(0.0, 0.15))
        else:
            self._posted_down(proc)
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()

    def _filled(self, proc: subprocess.Popen[bytes]) -> None:
        done, seen = threading.Event(), len(_broker_fills(self.broker))

        def after_sleep() -> None:
            if len(_broker_fills(self.broker)) > seen:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                self.clock.after_sleep = None
                done.set()

        self.clock.after_sleep = after_sleep
        _wait(proc, done.is_set, "no order filled")
        self.clock.after_sleep = None

    def _first(self, proc: subprocess.Popen[bytes]) -> None:
        """Kill once every order of the run's first cycle has reached the broker (the answer
        of the last is held), before the cycle is recorded; the restart is prompt."""
        self.held.clear()
        self.hold = min(self.sent.values())
        _wait(proc, self.held.is_set, f"did not send the orders of {self.hold}")
        assert _cycles(self.db) == 0
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.hold = None

    def _posted_down(self, proc: subprocess.Popen[bytes]) -> None:
        """Kill once the next bar that sends an entry with a bracket has sent all its orders
        (the answer of the last is held), then let the market go on to the next bar's cycle:
        the restart finds them filled."""
        m = self.clock.market
        self.held.clear()
        self.hold = min((b for b in self.brackets if b > m.now.isoformat()), default=None)
        assert self.hold is not None, "no order left to send"
        _wait(proc, self.held.is_set, f"did not send the orders of {self.hold}")
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        self.hold = None
        close = min(c for c in m.closes.values() if c > m.now)
        m.sleep((close - m.now).total_seconds() + 200.0)


def _unbooked(broker: AlpacaBroker, db: Path) -> list[str]:
    """The broker's fills the killed run's ledger has not booked (a net order's share is booked
    as ``<broker fill id>/<order>``)."""
    booked = {
        f.split("/", 1)[0] for f in _read(db, "select fill_id from fills where run_id=?", RUN)
    }
    return [f for f in _broker_fills(broker) if f not in booked]


def test_sigkill_of_an_account_on_alpaca_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    with account_world(tmp_path / "reference") as ref:  # the uninterrupted run
        ref.run_id = RUN  # the same run id: the same client ids
        ref.market.sleep((BEGIN - ref.market.now).total_seconds())
        ref.session(END)
        ref_trips, ref_fills = trips(ref.ledger, RUN), _fills(ref.ledger, RUN)
        ref_positions = broker_positions(ref.broker)
        with ref.broker.lock:  # what it sent, at which bar
            orders = [o for o in ref.broker.book.orders.values() if o.parent is None]
            sent = {o.client_order_id: o.created_at.isoformat() for o in orders}
            brackets = {o.created_at.isoformat() for o in orders if o.type == "market" and o.legs}
    tmp = tmp_path / "killed"
    tmp.mkdir()
    db = tmp / "ledger.db"
    kinds: list[tuple[str, bool, bool]] = []  # (kind, order not recorded, fill not booked)
    progress: list[int] = []
    with _killed_world(tmp) as (broker, clock, cmd, env):
        killer = Killer(broker, clock, db, sent, brackets)
        err = (tmp / "child.err").open("wb")
        while len(kinds) < KILLS:
            kind = ("posted", "filled", "random", "posted_down")[(len(kinds) - 1) % 4]
            kind = kind if kinds else "first"
            proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                    stderr=err)  # fmt: skip
            killer.kill(proc, kind)
            assert clock.errors == []
            assert proc.returncode == -signal.SIGKILL, (kind, (tmp / "child.err").read_text())
            last = _posts(broker)[-1]
            recorded = _read(db, "select client_id from orders where client_id=?", last)
            kinds.append((kind, not recorded, bool(_unbooked(broker, db))))
            progress.append(_cycles(db))
        final = subprocess.run(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=err,
                               timeout=120)  # fmt: skip
        err.close()
        assert final.returncode == 0, (tmp / "child.err").read_text()[-3000:]
        created = broker.new_order_ids()
        at_broker = broker_positions(broker)
    assert progress == sorted(progress) and progress[-1] > progress[0]
    # kills between an order reaching the broker and its cycle being recorded, and between the
    # broker's fill of an order and its booking
    assert any(kind == "posted" and unrecorded for kind, unrecorded, _f in kinds), kinds
    assert any(kind == "filled" and unbooked for kind, _u, unbooked in kinds), kinds
    assert kinds[0] == ("first", True, False), kinds  # the first cycle, lost after sending
    # and a cycle lost after it sent orders, which the broker filled before the restart
    assert any(k == "posted_down" and unrecorded and unbooked for k, unrecorded, unbooked in kinds)
    assert created and len(created) == len(set(created))  # no client order id created twice
    with Ledger.open(f"sqlite:///{db}") as ledger:
        got_trips, got_fills = trips(ledger, RUN), _fills(ledger, RUN)
        held = summed(ledger_positions(ledger, RUN))
        ids = [f.fill_id for f in ledger.fills(RUN)]
        events = [(e.kind, e.symbol, e.detail) for e in ledger.reconcile_events(RUN)]
    assert len(ids) == len(set(ids))  # each fill booked once
    assert sum(len(v) for v in ref_trips.values()) >= 6
    assert got_trips == ref_trips
    assert got_fills == ref_fills
    assert held == at_broker == ref_positions, events


def _fills(ledger: Ledger, run_id: str) -> Counter[tuple[str, str, str, str, float, float]]:
    """The run's fills without their ids (the broker's execution ids differ between runs)."""
    return Counter((f.ts, f.strategy, f.symbol, f.side, float(f.qty), round(float(f.price), 6))
                   for f in ledger.fills(run_id))  # fmt: skip
