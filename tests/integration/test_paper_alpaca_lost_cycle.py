"""One strategy on the Alpaca stand-in whose cycle dies after its orders reached the broker,
before the cycle was recorded, and restarts only after downtime: the broker filled the lost
cycle's orders at the next open and that bar closed while the process was down. The restart
redoes the lost cycle as it ran (the same client ids: the broker answers with the orders it
has; what it does not have is not sent late), so its fills are the strategy's own trades, booked
in their bar, not positions adopted from the broker. The run ends as a run that recorded that
cycle and was down for the same time: the same fills and trades, no client id created twice, no
unplaced fill or adoption, and the broker's positions equal to the ledger's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.integration.alpaca_account import broker_positions, run_until
from tests.integration.test_paper_alpaca_first_cycle import (
    _posts,
    die_in_first_cycle,
    ledger_outcome,
    open_market,
)
from tests.integration.test_paper_alpaca_live import START, _spec

from alphaforge.config.specs import RunSpec
from alphaforge.ledger import Ledger
from alphaforge.services.paper import build_paper
from alphaforge.testing.alpaca_broker import AlpacaBroker

pytestmark = pytest.mark.integration
RUN = "lost"
BEGIN = pd.Timestamp("2018-04-16 20:10", tz="UTC")  # after Monday's cycle was due (20:03)
FIRST = "2018-04-17T00:00:00+00:00"  # the first cycle's bar: it sends orders at its close
STOPPED = pd.Timestamp("2018-04-17 21:00", tz="UTC")  # after the first cycle, before the next
RESTART = pd.Timestamp("2018-04-18 23:30", tz="UTC")  # 04-18 closed while down: caught up
END = pd.Timestamp("2018-05-31 22:00", tz="UTC")


def _run(tmp: Path, lose: bool) -> dict[str, Any]:
    """From ``BEGIN``: the first cycle is recorded and the process stops (``lose`` False), or
    the process dies before the first cycle is recorded; either way it restarts at
    ``RESTART`` and runs until ``END``."""
    with AlpacaBroker(now=START - pd.Timedelta(days=120)) as broker:
        settings, market = open_market(tmp, broker, BEGIN)
        spec = RunSpec.model_validate(_spec(broker))
        out: dict[str, Any] = {}
        with Ledger.open(f"sqlite:///{tmp / 'ledger.db'}") as ledger:
            if lose:
                die_in_first_cycle(spec, settings, ledger, market, RUN, END)
            else:
                setup = build_paper(spec, settings, ledger, RUN, market.now)
                run_until(setup, market, STOPPED)
                setup.close()
            out["down"] = (ledger.last_bar(RUN), list(_posts(broker)), market.now)
            market.now = RESTART  # the market goes on while the process is down
            market.deliver()
            setup = build_paper(spec, settings, ledger, RUN, market.now)
            try:
                run_until(setup, market, END)
            finally:
                setup.close()
            out.update(ledger_outcome(ledger, RUN, FIRST))
            out["events"] = sorted({e.kind for e in ledger.reconcile_events(RUN)})
        out["created"] = broker.new_order_ids()
        out["at_broker"] = broker_positions(broker)
    return out


def test_a_cycle_lost_before_downtime_is_redone_as_it_ran(tmp_path: Path) -> None:
    ref = _run(tmp_path / "recorded", lose=False)
    got = _run(tmp_path / "lost", lose=True)
    assert ref["down"][0] == FIRST  # the reference recorded the first cycle ...
    assert got["down"][0] is None  # ... the lost run did not
    sent_first = [c for c in ref["first_orders"] if c.startswith("af-")]
    assert sent_first and set(sent_first) <= set(got["down"][1])  # its orders reached the broker
    assert len(got["created"]) == len(set(got["created"]))  # no client id created twice
    assert got["created"] == ref["created"]
    assert got["fills"] == ref["fills"]  # the lost cycle's fills are the strategy's own
    assert got["trades"] == ref["trades"] and got["trades"]
    assert "unplaced_fill" not in got["events"] and "position_adopted" not in got["events"]
    assert got["held"] == got["at_broker"] == ref["at_broker"]
