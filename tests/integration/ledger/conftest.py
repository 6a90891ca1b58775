"""Ledgers on SQLite (a temp file) and on a fresh PostgreSQL database per test, and a small
hand-written run whose positions, round trips and daily P&L the tests compute by hand."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from alphaforge.core.orders import Fill, Intent, OrderRequest, OrderState, OrderUpdate, Side
from alphaforge.ledger import Ledger
from alphaforge.testing.ledger_db import KINDS, scratch_ledger_url

RUN = "run-1"


@pytest.fixture(params=KINDS)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A ledger URL on an empty database: a SQLite file, or a PostgreSQL database created for
    this test and dropped after it."""
    with scratch_ledger_url(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:
    lg = Ledger.open(ledger_url)
    yield lg
    lg.close()


def start(ledger: Ledger, run_id: str = RUN, started: str = "2024-01-01T00:00:00+00:00") -> None:
    ledger.start_run(
        run_id=run_id, mode="replay", venue="sim", config_hash="abc", config_text="a: 1",
        strategies=["s1", "s2"], started=started, replay_from="2024-01-01",
        replay_to="2024-01-05",
    )  # fmt: skip


def request(
    cid: str, symbol: str, side: Side, qty: float, reason: str, strategy: str = "s1"
) -> OrderRequest:
    return OrderRequest(cid, strategy, symbol, side, qty, Intent.ENTRY, bar="b", reason=reason)


def trade(
    ledger: Ledger,
    bar: str,
    cid: str,
    symbol: str,
    side: Side,
    fills: list[tuple[float, float, float]],
    reason: str,
    strategy: str = "s1",
) -> None:
    """One order of ``strategy`` filled in ``fills`` (qty, price, fee) at ``bar``."""
    total = sum(q for q, _, _ in fills)
    with ledger.cycle(RUN, bar) as w:
        w.order(request(cid, symbol, side, total, reason, strategy))
        w.order_event(OrderUpdate(cid, OrderState.SUBMITTED, bar))
        for i, (qty, price, fee) in enumerate(fills):
            last = i == len(fills) - 1
            state = OrderState.FILLED if last else OrderState.PARTIALLY_FILLED
            fill = Fill(f"{cid}-f{i}", cid, symbol, side, qty, price, fee, bar)
            w.order_event(OrderUpdate(cid, state, bar, venue_id=f"v-{cid}", fill=fill))


@pytest.fixture
def scenario(ledger: Ledger) -> Ledger:
    """Fills of the hand-computed run (see test_ledger_accounting), equity and a risk event."""
    start(ledger)
    buy, sell = Side.BUY, Side.SELL
    trade(ledger, "2024-01-01T10:00:00+00:00", "o1", "AAA", buy, [(10, 100, 1)], "signal")
    trade(ledger, "2024-01-01T11:00:00+00:00", "o2", "AAA", sell, [(4, 110, 0.4)], "take_profit")
    trade(ledger, "2024-01-02T10:00:00+00:00", "o3", "AAA", sell, [(10, 90, 1)], "reversal")
    trade(ledger, "2024-01-02T11:00:00+00:00", "o4", "AAA", buy,
          [(2, 94, 0.1), (2, 96, 0.1)], "stop_loss")  # fmt: skip
    trade(ledger, "2024-01-02T12:00:00+00:00", "o5", "BBB", buy, [(5, 20, 0.5)], "signal")
    trade(ledger, "2024-01-02T13:00:00+00:00", "o6", "BBB", buy, [(5, 30, 0.5)], "signal")
    trade(ledger, "2024-01-03T10:00:00+00:00", "o7", "BBB", sell, [(3, 40, 0.3)], "exit")
    trade(ledger, "2024-01-03T11:00:00+00:00", "o8", "CCC", sell, [(2, 50, 0.2)], "short", "s2")
    equity = [  # bar, equity, gross and net exposure
        ("2024-01-01T09:00:00+00:00", 10_000.0, 500.0, 500.0),
        ("2024-01-01T15:00:00+00:00", 10_100.0, 800.0, -200.0),
        ("2024-01-02T09:00:00+00:00", 10_050.0, 300.0, 100.0),
        ("2024-01-02T15:00:00+00:00", 9_900.0, 500.0, 500.0),
        ("2024-01-03T15:00:00+00:00", 9_950.0, 1_000.0, -400.0),
    ]  # fmt: skip
    for bar, eq, gross, net in equity:
        with ledger.cycle(RUN, bar) as w:
            w.equity("s1", eq - 500.0, eq, gross, net)
            if bar.startswith("2024-01-02T15"):
                w.risk_event("s1", "daily_loss", -0.02, -0.015, "block_entries")
    return ledger


@pytest.fixture
def started(ledger: Ledger) -> Ledger:
    """The ledger with the run ``run-1`` registered."""
    start(ledger)
    return ledger
