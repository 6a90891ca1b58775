"""One strategy on Alpaca with a live feed: a fill the broker reports that no order of the run
made (a trade by hand in Alpaca's web UI while the runtime runs) is not booked on the strategy,
but logged with its quantity and recorded as a reconciliation event of the next cycle; the next
reconciliation books it, so the ledger's positions equal the broker's again. alpaca-py's own
clients against the local stand-in, on the driven clock of ``test_paper_alpaca_live``."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from tests.integration.test_paper_alpaca_live import START, Market, _spec, _world

from alphaforge.config.specs import RunSpec
from alphaforge.ledger import Ledger
from alphaforge.services.paper import build_paper, run_paper
from alphaforge.services.reconcile import reconcile_run
from alphaforge.testing.alpaca_broker import AlpacaBroker

pytestmark = pytest.mark.integration


def _held(ledger: Ledger, run_id: str) -> dict[str, float]:
    return {p.symbol: float(p.qty) for p in ledger.positions(run_id) if float(p.qty)}


def test_a_fill_no_order_of_the_run_made_is_reported_then_reconciled(tmp_path: Path) -> None:
    with AlpacaBroker(now=START - pd.Timedelta(days=120)) as broker:
        settings, store, bars = _world(tmp_path, broker)
        market = Market(store, bars, broker)
        spec = RunSpec.model_validate(_spec(broker))
        with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
            setup = build_paper(spec, settings, ledger, None, market.now)
            run_id = setup.run_id
            hand = ""
            try:
                mid = pd.Timestamp("2018-06-01 21:30", tz="UTC")
                run_paper(setup, lambda: market.now, market.sleep, lambda: market.now > mid)
                hand = broker.manual_trade("SYN03", 25)  # by hand, while the runtime runs
                end = pd.Timestamp("2018-06-08 21:30", tz="UTC")
                run_paper(setup, lambda: market.now, market.sleep, lambda: market.now > end)
                at_broker = {p.symbol: p.qty for p in setup.node.p.venue.positions()}
            finally:
                setup.close()
            events = [(e.kind, e.symbol, e.client_id) for e in ledger.reconcile_events(run_id)]
            assert events.count(("unplaced_fill", "SYN03", hand)) == 1
            lines = [json.loads(x) for x in setup.log_file.read_text().splitlines() if hand in x]
            assert [(x["event"], x["symbol"], float(x["qty"])) for x in lines] == [
                ("unplaced_fill", "SYN03", 25.0)
            ]
            held = _held(ledger, run_id)
            # not booked on the strategy: the ledger is 25 short of the broker
            assert at_broker.get("SYN03", 0.0) - held.get("SYN03", 0.0) == 25.0
            _run, found = reconcile_run(settings, ledger, run_id, apply=True)
            assert any(d.symbol == "SYN03" for d in found), found
            assert _held(ledger, run_id) == pytest.approx(
                {s: q for s, q in at_broker.items() if q}, rel=1e-12
            )
