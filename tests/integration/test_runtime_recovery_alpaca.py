"""Crash recovery on Alpaca: a replay on the Alpaca stand-in killed with SIGKILL at random
moments and restarted each time with the same ``--run-id`` ends with the ledger of an
uninterrupted run on a fresh stand-in, and no client order id was ever sent twice as a new order.

Unlike the simulated venue, the broker outlives the runtime: what it did before a kill (orders
taken, fills made, bars matched) stays done. Half of the kills land right after the stand-in has
taken a ``POST /v2/orders``, before the cycle that sent it is recorded: the restart reconciles
with the broker, redoes the bar with the same idempotent client order ids (the stand-in answers
a repeated id with the existing order, never a second one) and books the bar's fills once.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml
from pydantic import SecretStr

from alphaforge.config.settings import AppSettings
from alphaforge.ledger import Ledger
from alphaforge.testing import shared_data_file
from alphaforge.testing.alpaca_broker import AlpacaBroker

pytestmark = [pytest.mark.integration, pytest.mark.slow]
START, END = "2014-01-01", "2015-12-31"
CASH = 100_000.0
NOW = pd.Timestamp("2014-01-02 14:30", tz="UTC")
KILLS = 20
SYMBOLS = ["MSFT", "JPM"]


def _data(tmp_path: Path) -> Path:
    """The shared real bars of the two symbols, in a small file each restart reads quickly."""
    path = tmp_path / "bars.parquet"
    src = shared_data_file("us_equities_daily.parquet")
    pd.read_parquet(src, filters=[("symbol", "in", SYMBOLS)]).to_parquet(path)
    return path


def _config(path: Path, data: Path, broker: AlpacaBroker) -> Path:
    spec = {
        "strategy": "sma_cross", "params": {"fast": 10, "slow": 40}, "symbols": SYMBOLS,
        "data": str(data), "timeframe": "1d",
        "cash": CASH, "costs": {"commission": 0, "slippage": 0},
        "sizing": {"method": "fraction", "value": 0.4}, "exits": {"stop_loss": "4%"},
        "broker": {"name": "alpaca", "base_url": broker.url, "stream_url": broker.stream_url,
                   "replay_url": broker.url},
        "runtime": {"signals": "per_bar"},  # as paper and live run (and no check per restart)
    }  # fmt: skip
    path.write_text(yaml.safe_dump(spec))
    return path


def _settings(home: Path, broker: AlpacaBroker) -> AppSettings:
    return AppSettings(
        home=home, alpaca_api_key=SecretStr(broker.api_key),
        alpaca_secret_key=SecretStr(broker.secret_key),
    )  # fmt: skip


def _cycles(db: Path, run_id: str) -> int:
    """Committed cycles of ``run_id`` (0 before the ledger exists)."""
    if not db.exists():
        return 0
    try:
        with sqlite3.connect(db, timeout=5) as c:
            row = c.execute("select count(*) from cycles where run_id=?", (run_id,)).fetchone()
            return int(row[0])
    except sqlite3.Error:
        return 0


def _recorded(db: Path, client_id: str) -> bool:
    """Whether the ledger holds the order ``client_id`` (its cycle was committed)."""
    try:
        with sqlite3.connect(db, timeout=5) as c:
            row = c.execute("select count(*) from orders where client_id=?", (client_id,))
            return int(row.fetchone()[0]) > 0
    except sqlite3.Error:
        return False


def _posts(broker: AlpacaBroker) -> list[str]:
    """Client order ids of every ``POST /v2/orders`` the stand-in received, repeats included."""
    with broker.lock:
        return [
            r.client_order_id or ""
            for r in broker.requests
            if r.method == "POST" and r.path == "/v2/orders"
        ]


Fills = list[tuple[str, str, str, float, float]]
Trades = list[tuple[str, str, float, str, str]]


def _book(ledger: Ledger, run_id: str) -> tuple[Fills, Trades]:
    fills = [
        (f.ts, f.symbol, f.side, float(f.qty), round(float(f.price), 6))
        for f in ledger.fills(run_id)
    ]
    trades = [
        (t.symbol, t.side, float(t.qty), t.entry_ts, t.exit_ts) for t in ledger.trades(run_id)
    ]
    return fills, trades


def _command(home: Path, cfg: Path, run_id: str) -> list[str]:
    return [sys.executable, "-m", "alphaforge.cli.app", "--home", str(home), "paper", "--config",
            str(cfg), "--replay", "--from", START, "--to", END, "-q", "--run-id", run_id]  # fmt: skip


def _env(broker: AlpacaBroker) -> dict[str, str]:
    return {
        **os.environ, "PYTHONUNBUFFERED": "1", "ALPHAFORGE_ALPACA_API_KEY": broker.api_key,
        "ALPHAFORGE_ALPACA_SECRET_KEY": broker.secret_key,
    }  # fmt: skip


def _at_broker(broker: AlpacaBroker) -> dict[str, float]:
    with broker.lock:
        return {s: h.qty for s, h in broker.book.positions.items() if h.qty != 0}


def _filled_at_broker(broker: AlpacaBroker, client_id: str) -> bool:
    with broker.lock:
        return broker.book.by_client_id(client_id).filled_qty > 0


def _kill_after_submit(
    proc: subprocess.Popen[bytes], broker: AlpacaBroker, db: Path, how: str, rng: random.Random
) -> None:
    """Wait until an order the broker did not have reaches it, then wait as ``how`` says:
    ``taken`` not at all (the runtime may not even have the answer), ``filled`` until the
    broker has filled it (the fill is made, the ledger does not know), ``later`` a few ms."""
    known, deadline = set(_posts(broker)), time.monotonic() + 60
    new: list[str] = []
    while not new and proc.poll() is None:
        assert time.monotonic() < deadline, "the restarted runtime sent no new order"
        time.sleep(0.001)
        new = [cid for cid in _posts(broker) if cid not in known]
    if how == "filled" and new:
        cycles = _cycles(db, "killed")
        while not _filled_at_broker(broker, new[0]) and proc.poll() is None:
            if _cycles(db, "killed") != cycles or time.monotonic() > deadline:
                break  # recorded (or never filled): a kill after the record, as well
            time.sleep(0.001)
    elif how == "later":
        time.sleep(rng.uniform(0.0, 0.04))


def _kill_at_random(proc: subprocess.Popen[bytes], db: Path, rng: random.Random) -> None:
    """Let the restarted runtime commit a cycle, then kill it anywhere in the next ones."""
    before, deadline = _cycles(db, "killed"), time.monotonic() + 60
    while _cycles(db, "killed") == before and proc.poll() is None:
        assert time.monotonic() < deadline, "the restarted runtime made no progress"
        time.sleep(0.01)
    time.sleep(rng.uniform(0.0, 0.15))


def test_sigkill_on_alpaca_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    data = _data(tmp_path)
    ref_home, home = tmp_path / "reference", tmp_path / "killed"
    ref_home.mkdir()
    home.mkdir()
    db = home / "ledger.db"
    rng = random.Random(11)
    kills, progress = 0, []
    between: list[tuple[str, str]] = []  # (client id, its state at the broker) per such kill
    with AlpacaBroker(cash=CASH, now=NOW) as ref_broker, AlpacaBroker(cash=CASH, now=NOW) as broker:
        # the uninterrupted run, on its own fresh stand-in, alongside the killed one
        ref_cfg = _config(ref_home / "paper.yaml", data, ref_broker)
        reference = subprocess.Popen(
            _command(ref_home, ref_cfg, "reference"), env=_env(ref_broker),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        cmd = _command(home, _config(home / "paper.yaml", data, broker), "killed")
        env = _env(broker)
        while kills < KILLS:
            posted = len(_posts(broker))
            proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)  # fmt: skip
            if kills % 2:  # every other kill: once an order has reached the broker
                how = ("taken", "filled", "later")[kills // 2 % 3]
                _kill_after_submit(proc, broker, db, how, rng)
            else:
                _kill_at_random(proc, db, rng)
            if proc.poll() is not None:  # finished before the kill
                assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
                break
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            kills += 1
            progress.append(_cycles(db, "killed"))
            sent = _posts(broker)[posted:]
            if sent and not _recorded(db, sent[-1]):
                between.append((sent[-1], broker.order(sent[-1]).status))
        final = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
        assert final.returncode == 0, final.stderr
        _out, err = reference.communicate(timeout=300)
        assert reference.returncode == 0, err
        created = broker.new_order_ids()
        at_broker, ref_at_broker = _at_broker(broker), _at_broker(ref_broker)
    assert kills == KILLS, f"the run finished after {kills} kills; lengthen the replay"
    # kills between an order reaching the broker and the cycle that sent it being recorded,
    # some of them after the broker had filled it
    assert len(between) >= KILLS // 4, between
    assert sum(state == "filled" for _cid, state in between) >= 2, between
    assert progress == sorted(progress)  # every restart continued, none went back
    assert created and len(created) == len(set(created))  # no client order id created twice
    with Ledger.open(f"sqlite:///{ref_home / 'ledger.db'}") as ledger:
        ref_fills, ref_trades = _book(ledger, "reference")
    with Ledger.open(f"sqlite:///{db}") as ledger:
        fills, trades = _book(ledger, "killed")
        fill_ids = [f.fill_id for f in ledger.fills("killed")]
        held = {p.symbol: float(p.qty) for p in ledger.positions("killed")}
        events = [(e.kind, e.symbol, e.detail) for e in ledger.reconcile_events("killed")]
    assert len(ref_trades) > 5
    assert len(fill_ids) == len(set(fill_ids))  # every fill booked once
    assert trades == ref_trades
    assert fills == ref_fills
    assert held == at_broker, events  # the broker's positions are the ledger's
    assert at_broker == ref_at_broker
