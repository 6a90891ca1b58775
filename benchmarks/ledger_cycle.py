"""Cost of one ledger cycle write (a replay writes thousands of them).

A cycle like a replay's on a 10-symbol, 2-strategy run: a signal and a decision per symbol and
strategy, equity and position snapshots, and an order with its events and a fill every fifth
cycle. Run: ``python benchmarks/ledger_cycle.py [POSTGRES_URL] [--cycles N]`` (default a temp SQLite
file; with a URL, a scratch database created beside it and dropped after).
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alphaforge.core.orders import (
    Fill,
    Intent,
    OrderRequest,
    OrderState,
    OrderUpdate,
    Side,
    client_order_id,
)
from alphaforge.ledger import Ledger

SYMBOLS = [f"S{i:02d}" for i in range(10)]
STRATEGIES = ["sma_cross", "momentum"]


def write_cycle(ledger: Ledger, run_id: str, i: int) -> None:
    bar = (
        "2024-01-01T00:00:00+00:00"
        if i == 0
        else f"2024-01-{1 + i // 24 % 28:02d}T{i % 24:02d}:00:00+00:00"
    )
    with ledger.cycle(run_id, f"{bar}#{i}") as w:
        for strategy in STRATEGIES:
            for symbol in SYMBOLS:
                w.signal(strategy, symbol, "1")
                w.decision(strategy, symbol, "hold", 0.0, "signal", True)
            w.equity(strategy, 10_000.0 + i, 10_500.0 + i, 500.0, 500.0)
            w.positions(strategy, {s: (1.0, 100.0) for s in SYMBOLS[:3]})
        if i % 5 == 0:
            cid = client_order_id("sma_cross", "S00", str(i), Intent.ENTRY)
            req = OrderRequest(cid, "sma_cross", "S00", Side.BUY, 1.0, Intent.ENTRY, bar=bar)
            w.order(req)
            w.order_event(OrderUpdate(cid, OrderState.SUBMITTED, bar))
            fill = Fill(f"f{i}", cid, "S00", Side.BUY, 1.0, 100.0 + i, 0.1, bar, 0.01, "sma_cross")
            w.order_event(OrderUpdate(cid, OrderState.FILLED, bar, venue_id=f"v{i}", fill=fill))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url", nargs="?")
    parser.add_argument("--cycles", type=int, default=2000)
    args = parser.parse_args()
    if args.url:
        with scratch_database(args.url) as url:
            bench(url, args.cycles)
    else:
        bench(f"sqlite:///{Path(tempfile.mkdtemp()) / 'ledger.db'}", args.cycles)


@contextmanager
def scratch_database(url: str) -> Iterator[str]:
    """A PostgreSQL database created beside ``url``'s for the run and dropped after it."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"af_ledger_bench_{uuid.uuid4().hex[:8]}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def bench(url: str, cycles: int) -> None:
    ledger = Ledger.open(url)
    run_id = f"bench-{time.time_ns()}"
    ledger.start_run(run_id=run_id, mode="replay", venue="sim", config_hash="x", config_text="",
                     strategies=STRATEGIES, started="2024-01-01T00:00:00Z")  # fmt: skip
    for i in range(50):  # warm-up
        write_cycle(ledger, run_id, i)
    t0 = time.perf_counter()
    for i in range(50, 50 + cycles):
        write_cycle(ledger, run_id, i)
    dt = (time.perf_counter() - t0) / cycles
    rows = 2 * (2 * len(SYMBOLS) + 1 + 3)
    print(
        f"{ledger.url_display}: {dt * 1e3:.3f} ms per cycle ({rows}+ rows; order, 3 events "
        f"and a fill every 5th cycle), {cycles} cycles"
    )
    t0 = time.perf_counter()
    n = len(ledger.trades(run_id)), len(ledger.orders(run_id)), len(ledger.fills(run_id))
    print(f"reads (trades, orders, fills = {n}): {(time.perf_counter() - t0) * 1e3:.1f} ms")
    ledger.close()


if __name__ == "__main__":
    main()
