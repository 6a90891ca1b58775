"""Cycle writes: atomic, idempotent; orders and their states; runs; state; the kill switch."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TypedDict

import pytest

from alphaforge.core.errors import StoreError
from alphaforge.core.orders import Fill, Intent, OrderRequest, OrderState, OrderUpdate, Side
from alphaforge.ledger import HaltInfo, Ledger

pytestmark = pytest.mark.integration
RUN = "run-1"
BAR = "2024-01-02T00:00:00+00:00"


def order(cid: str, symbol: str = "AAA", side: Side = Side.BUY, qty: float = 1.0) -> OrderRequest:
    return OrderRequest(cid, "s1", symbol, side, qty, Intent.ENTRY, bar=BAR, reason="signal")


def fill(fid: str, cid: str, qty: float = 1.0, price: float = 10.0) -> Fill:
    return Fill(fid, cid, "AAA", Side.BUY, qty, price, 0.01, BAR, strategy="s1")


def test_a_cycle_is_atomic(started: Ledger) -> None:
    with pytest.raises(RuntimeError, match="boom"), started.cycle(RUN, BAR) as w:
        w.signal("s1", "AAA", "1")
        w.order(order("o1"))
        w.fill(fill("f1", "o1"))
        w.equity("s1", 1.0, 2.0, 0.0, 0.0)
        w.set_state("s1", "k", {"a": 1})
        raise RuntimeError("boom")
    assert started.last_bar(RUN) is None
    assert started.orders(RUN) == [] and started.fills(RUN) == []
    assert started.equity_curve(RUN).empty and started.state("s1", "k") is None
    with started.cycle(RUN, BAR) as w:
        w.order(order("o1"))
        assert w.fill(fill("f1", "o1"))
    assert started.last_bar(RUN) == BAR and len(started.fills(RUN)) == 1


def test_a_failing_commit_writes_nothing(started: Ledger) -> None:
    # the run's foreign key refuses the cycle of an unknown run
    with pytest.raises(StoreError, match="ledger"), started.cycle("no-such-run", BAR) as w:
        w.order(order("o1"))
    assert started.order("o1") is None


def test_fills_are_idempotent(started: Ledger) -> None:
    with started.cycle(RUN, BAR) as w:
        w.order(order("o1", qty=2))
        assert w.fill(fill("f1", "o1"))
        assert not w.fill(fill("f1", "o1"))  # same cycle
    with started.cycle(RUN, "2024-01-03T00:00:00+00:00") as w:
        assert not w.fill(fill("f1", "o1"))  # already committed
        w.order_event(OrderUpdate("o1", OrderState.FILLED, BAR, fill=fill("f1", "o1")))
        assert w.fill(fill("f2", "o1"))
    assert [f.fill_id for f in started.fills(RUN)] == ["f1", "f2"]
    row = started.order("o1")
    assert row is not None and row.filled_qty == 2 and row.state == "filled"


def test_order_states_from_the_latest_events(started: Ledger) -> None:
    with started.cycle(RUN, BAR) as w:
        for cid in ("o1", "o2", "o3", "o4"):
            w.order(order(cid))
        w.order_event(OrderUpdate("o1", OrderState.SUBMITTED, BAR))
        w.order_event(OrderUpdate("o2", OrderState.SUBMITTED, BAR))
        w.order_event(OrderUpdate("o2", OrderState.ACCEPTED, BAR, venue_id="v2"))
        w.order_event(OrderUpdate("o3", OrderState.REJECTED, BAR, reason="no buying power"))
        w.order(order("o1", qty=5))  # a client id already present is ignored
    later = "2024-01-03T00:00:00+00:00"
    with started.cycle(RUN, later) as w:
        w.order(order("o1", qty=7))  # ignored across cycles too
        update = OrderUpdate("o2", OrderState.FILLED, later, fill=fill("f2", "o2", 1, 11))
        w.order_event(update)
        w.order_event(OrderUpdate("o2", OrderState.ACCEPTED, later))  # late: ignored
    states = {o.client_id: o.state for o in started.orders(RUN)}
    assert states == {"o1": "submitted", "o2": "filled", "o3": "rejected", "o4": "new"}
    assert {o.client_id for o in started.orders(RUN, "open")} == {"o1", "o4"}
    assert [o.client_id for o in started.orders(RUN, "rejected")] == ["o3"]
    o1, o2, o3 = started.order("o1"), started.order("o2"), started.order("o3")
    assert o1 is not None and o1.qty == 1
    assert o2 is not None and o2.venue_id == "v2" and o2.avg_fill_price == Decimal(11)
    assert o2.updated.startswith("2024-01-03")
    assert o3 is not None and o3.state_reason == "no buying power"
    assert started.submitted_ids(RUN) == {"o1", "o2", "o3"}
    assert started.submitted_ids() == {"o1", "o2", "o3"}
    assert started.submitted_ids("other") == set()


class RunFields(TypedDict):
    """The fields of ``Ledger.start_run`` shared by the runs of a test."""

    mode: str
    venue: str
    config_hash: str
    config_text: str
    strategies: list[str]


def test_runs_resume_and_order(ledger: Ledger) -> None:
    assert ledger.last_run() is None and ledger.runs() == []
    kw: RunFields = {"mode": "paper", "venue": "alpaca", "config_hash": "h",
                     "config_text": "x: 1", "strategies": ["a", "b"]}  # fmt: skip
    assert ledger.start_run(run_id="r1", started="2024-01-01T00:00:00Z", **kw)
    assert ledger.start_run(run_id="r2", started="2024-01-02T00:00:00Z", **kw)
    assert not ledger.start_run(run_id="r1", started="2024-02-01T00:00:00Z", **kw)
    assert [r.run_id for r in ledger.runs()] == ["r2", "r1"]
    last = ledger.last_run()
    assert last is not None and last.run_id == "r2" and last.strategies == ("a", "b")
    r1 = ledger.run("r1")
    assert r1 is not None and r1.started == "2024-01-01T00:00:00+00:00" and r1.mode == "paper"
    assert ledger.run("nope") is None
    with pytest.raises(StoreError, match="mode"):
        ledger.start_run(run_id="r3", started="2024-01-03T00:00:00Z", **(kw | {"mode": "demo"}))


def test_last_bar_state_and_events(started: Ledger) -> None:
    for i, bar in enumerate(["2024-01-02", "2024-01-03"]):
        with started.cycle(RUN, bar) as w:
            w.set_state("s1", "count", {"n": i, "seen": [bar]})
            w.risk_event("s1", "max_drawdown", 0.2, 0.15, "halt")
            w.reconcile_event("adopt", "AAA", "o9", "position found at the broker")
            w.positions("s1", {"AAA": (1.5, 10.0)})
            w.decision("s1", "AAA", "buy", 1.5, "signal", False)
    assert started.last_bar(RUN) == "2024-01-03"
    assert started.state("s1", "count") == {"n": 1, "seen": ["2024-01-03"]}
    risk = started.risk_events(RUN)
    assert len(risk) == 2 and risk[0].rule == "max_drawdown" and risk[0].limit == 0.15
    rec = started.reconcile_events(RUN)
    assert [r.kind for r in rec] == ["adopt", "adopt"] and rec[0].client_id == "o9"


def test_non_finite_money_is_refused(started: Ledger) -> None:
    with pytest.raises(StoreError, match="equity"), started.cycle(RUN, BAR) as w:
        w.equity("s1", 1.0, float("nan"), 0.0, 0.0)


def test_halt_and_resume_survive_reopening(ledger_url: str) -> None:
    lg = Ledger.open(ledger_url)
    assert lg.halted() is None
    lg.halt(reason="drawdown", flatten=True, by="cli", ts="2024-01-02T10:00:00Z")
    lg.close()
    lg = Ledger.open(ledger_url)
    assert lg.halted() == HaltInfo("drawdown", True, "cli", "2024-01-02T10:00:00+00:00")
    lg.resume(by="ops", ts="2024-01-02T11:00:00Z")
    lg.close()
    lg = Ledger.open(ledger_url)
    assert lg.halted() is None
    lg.halt(reason="again", flatten=False, by="cli", ts="2024-01-02T12:00:00Z")
    halt = lg.halted()
    assert halt is not None and halt.reason == "again" and not halt.flatten
    lg.close()


def test_an_amount_edited_into_text_is_named_not_a_traceback(tmp_path: Path) -> None:
    """SQLite keeps any text written into a NUMERIC column by hand; reading it back was
    'unexpected error: ValueError' from every ledger command."""
    import sqlite3

    path = tmp_path / "ledger.db"
    with Ledger.open(f"sqlite:///{path}") as lg:
        lg.start_run(run_id=RUN, mode="replay", venue="simulated", config_hash="h",
                     config_text="{}", strategies=["s1"], started=BAR)  # fmt: skip
        with lg.cycle(RUN, BAR) as w:
            w.order(order("o1"))
            w.fill(fill("f1", "o1"))
    con = sqlite3.connect(path)
    con.execute("UPDATE fills SET price = 'abc'")
    con.commit()
    con.close()
    with Ledger.open(f"sqlite:///{path}") as lg, pytest.raises(StoreError) as err:
        lg.fills(RUN)
    assert str(err.value) == (
        "ledger: a stored amount is not a number ('abc'): the ledger file was changed outside "
        "alphaforge"
    )
