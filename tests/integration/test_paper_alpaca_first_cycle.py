"""A new paper run on the Alpaca stand-in that dies after its first cycle's orders reached the
broker, before that cycle was recorded (the ledger write of the first cycle never commits, as
when the process is killed then), restarted at once with the same run id: the restart continues
the run, it does not start anew. The lost cycle is redone as it ran (the same client ids: the
broker answers with the orders it has), so the run ends with the trades and fills of an
uninterrupted run from the same start on a fresh stand-in, no client id created twice and the
broker's positions equal to the ledger's. One strategy, and an account of several strategies.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.integration.alpaca_account import account_spec, broker_positions, run_until
from tests.integration.test_paper_alpaca_live import START, Market, _spec, _world

from alphaforge.config.specs import RunSpec
from alphaforge.ledger import Ledger
from alphaforge.services.paper import build_paper
from alphaforge.testing.alpaca_broker import AlpacaBroker

pytestmark = pytest.mark.integration
RUN = "first"
BEGIN = pd.Timestamp("2018-04-16 20:10", tz="UTC")  # after Monday's cycle was due (20:03)
FIRST = "2018-04-17T00:00:00+00:00"  # the first cycle's bar: both runs send orders at its close
END = pd.Timestamp("2018-05-31 22:00", tz="UTC")


class Killed(Exception):
    """The process died before the cycle's ledger transaction committed."""


@contextmanager
def _dies_at_first_write(ledger: Ledger) -> Iterator[None]:
    """Every ledger transaction of cycles raises instead of committing."""
    real = ledger.cycles

    @contextmanager
    def dying(run_id: str) -> Iterator[Any]:
        with real(run_id) as batch:
            yield batch
            raise Killed

    ledger.cycles = dying  # type: ignore[method-assign]
    try:
        yield
    finally:
        del ledger.cycles


def open_market(tmp: Path, broker: AlpacaBroker, begin: pd.Timestamp) -> tuple[Any, Market]:
    """The settings and the market of ``test_paper_alpaca_live``'s world, at ``begin``."""
    settings, store, bars = _world(tmp, broker)
    market = Market(store, bars, broker)
    market.now = begin
    market.deliver()
    return settings, market


def die_in_first_cycle(
    spec: RunSpec, settings: Any, ledger: Ledger, market: Market, run: str, end: pd.Timestamp
) -> None:
    """Start run ``run``; the process dies at its first cycle's ledger write, after sending."""
    with _dies_at_first_write(ledger):
        setup = build_paper(spec, settings, ledger, run, market.now)
        with pytest.raises(Killed):
            run_until(setup, market, end)
        setup.close()


def _posts(broker: AlpacaBroker) -> list[str]:
    with broker.lock:
        return [r.client_order_id or "" for r in broker.requests
                if r.method == "POST" and r.path == "/v2/orders"]  # fmt: skip


def ledger_outcome(ledger: Ledger, run: str, first: str) -> dict[str, Any]:
    """What a run left in the ledger: its fills, round trips, positions summed per symbol, and
    the client ids of the orders of the cycle at bar ``first``."""
    held: dict[str, float] = defaultdict(float)
    for p in ledger.positions(run):
        held[p.symbol] += float(p.qty)
    return {
        "fills": Counter((f.ts, f.strategy, f.symbol, f.side, float(f.qty),
                          round(float(f.price), 6)) for f in ledger.fills(run)),
        "trades": sorted((t.strategy, t.symbol, t.side, t.entry_ts, t.exit_ts, float(t.qty))
                         for t in ledger.trades(run)),
        "held": {s: q for s, q in held.items() if abs(q) > 1e-9},
        "first_orders": [o.client_id for o in ledger.orders(run) if o.bar == first],
    }  # fmt: skip


def _run(tmp: Path, spec_of: Any, die: bool) -> dict[str, Any]:
    """A run from ``BEGIN`` to ``END``; with ``die`` its first cycle is lost after sending."""
    with AlpacaBroker(now=START - pd.Timedelta(days=120)) as broker:
        settings, market = open_market(tmp, broker, BEGIN)
        spec = RunSpec.model_validate(spec_of(broker))
        out: dict[str, Any] = {}
        with Ledger.open(f"sqlite:///{tmp / 'ledger.db'}") as ledger:
            if die:
                die_in_first_cycle(spec, settings, ledger, market, RUN, END)
                out["lost"] = (ledger.last_bar(RUN), list(_posts(broker)), market.now)
            setup = build_paper(spec, settings, ledger, RUN, market.now)
            try:
                run_until(setup, market, END)
            finally:
                setup.close()
            out.update(ledger_outcome(ledger, RUN, FIRST))
        out["created"] = broker.new_order_ids()
        out["at_broker"] = broker_positions(broker)
    return out


@pytest.mark.parametrize("spec_of", [_spec, account_spec], ids=["one_strategy", "account"])
def test_a_new_run_killed_before_its_first_recorded_cycle_continues(
    tmp_path: Path, spec_of: Any
) -> None:
    ref = _run(tmp_path / "whole", spec_of, die=False)
    got = _run(tmp_path / "killed", spec_of, die=True)
    last_bar, posted, died_at = got["lost"]
    assert last_bar is None  # nothing of the first cycle was recorded
    sent_first = [c for c in ref["first_orders"] if c.startswith("af-")]
    assert sent_first and set(sent_first) <= set(posted)  # ... but its orders reached the broker
    assert died_at < pd.Timestamp("2018-04-18", tz="UTC")  # it died in the first cycle
    assert len(got["created"]) == len(set(got["created"]))  # no client id created twice
    assert got["created"] == ref["created"]  # the same orders, in the same order
    assert got["fills"] == ref["fills"]
    assert got["trades"] == ref["trades"] and got["trades"]
    assert got["held"] == got["at_broker"] == ref["at_broker"]
