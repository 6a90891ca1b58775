"""Reconciliation with the broker on restart, on the Alpaca stand-in: a position changed by
hand, a fill while the runtime was down, a submit whose response was lost."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pytest
from pydantic import SecretStr

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.ledger import Ledger
from alphaforge.services.trading import ReplayRequest, ReplaySetup, build_replay, run_replay
from alphaforge.testing import shared_data_file
from alphaforge.testing.alpaca_broker import AlpacaBroker

pytestmark = pytest.mark.integration
REQ = ReplayRequest(None, None, None, run_id="rec")


def _spec(broker: AlpacaBroker) -> RunSpec:
    return RunSpec.model_validate({
        "strategy": "sma_cross", "params": {"fast": 10, "slow": 40}, "symbols": ["MSFT", "JPM"],
        "data": str(shared_data_file("us_equities_daily.parquet")),
        "start": "2014-01-01", "end": "2014-12-31", "timeframe": "1d",
        "costs": {"commission": 0, "slippage": 0},
        "sizing": {"method": "fraction", "value": 0.4}, "exits": {"stop_loss": "4%"},
        "broker": {"name": "alpaca", "base_url": broker.url, "stream_url": broker.stream_url,
                   "replay_url": broker.url},
    })  # fmt: skip


@contextmanager
def _world(tmp_path: Path) -> Iterator[tuple[AlpacaBroker, AppSettings, Ledger]]:
    with AlpacaBroker(now=pd.Timestamp("2014-01-02 14:30", tz="UTC")) as broker:
        settings = AppSettings(
            home=tmp_path, alpaca_api_key=SecretStr(broker.api_key),
            alpaca_secret_key=SecretStr(broker.secret_key),
        )  # fmt: skip
        with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
            yield broker, settings, ledger


def _run_until(setup: ReplaySetup, k: int) -> None:
    """Run bars [start, k), then drop the runtime as a crash would (no further writes)."""
    for t in range(setup.start, k):
        setup.node.step(t)
    setup.close()


def _finish(spec: RunSpec, settings: AppSettings, ledger: Ledger) -> ReplaySetup:
    setup = build_replay(spec, settings, ledger, REQ)
    try:
        run_replay(setup, None)
    finally:
        setup.close()
    return setup


def _venue_equals_ledger(broker: AlpacaBroker, ledger: Ledger) -> None:
    at_broker = {s: h.qty for s, h in broker.book.positions.items() if h.qty != 0}
    held = {p.symbol: float(p.qty) for p in ledger.positions("rec")}
    assert held == at_broker


def test_a_position_changed_by_hand_is_adopted_and_reported(tmp_path: Path) -> None:
    with _world(tmp_path) as (broker, settings, ledger):
        spec = _spec(broker)
        _run_until(build_replay(spec, settings, ledger, REQ), 60)
        broker.manual_trade("JPM", 25)
        _finish(spec, settings, ledger)
        kinds = [(e.kind, e.symbol) for e in ledger.reconcile_events("rec")]
        assert ("position_adopted", "JPM") in kinds
        _venue_equals_ledger(broker, ledger)


def test_a_fill_while_down_is_booked_once(tmp_path: Path) -> None:
    with _world(tmp_path) as (broker, settings, ledger):
        spec = _spec(broker)
        setup = build_replay(spec, settings, ledger, REQ)
        k = 0
        for t in range(setup.panel.shape[0]):  # run until a protective stop is working
            setup.node.step(t)
            k = t + 1
            if setup.node.protect:
                break
        setup.close()
        stop_id = next(iter(next(iter(setup.node.protect.values())).ids))
        broker.fill_while_disconnected(stop_id)
        _finish(spec, settings, ledger)
        events = ledger.reconcile_events("rec")
        assert any(e.kind == "fill_while_down" and e.client_id == stop_id for e in events)
        fills = [f.fill_id for f in ledger.fills("rec")]
        assert len(fills) == len(set(fills))
        assert k > 0
        _venue_equals_ledger(broker, ledger)


def test_a_lost_submit_response_never_sends_twice(tmp_path: Path) -> None:
    with _world(tmp_path) as (broker, settings, ledger):
        broker.lose_next_response(2)
        _finish(_spec(broker), settings, ledger)
        created = broker.new_order_ids()
        assert created and len(created) == len(set(created))
        _venue_equals_ledger(broker, ledger)


def test_reconcile_shows_then_resolves_a_manual_change(tmp_path: Path) -> None:
    from alphaforge.services.trading import reconcile_run

    with _world(tmp_path) as (broker, settings, ledger):
        spec = _spec(broker)
        _finish(spec, settings, ledger)
        broker.manual_trade("MSFT", -7)
        run_id, diffs = reconcile_run(settings, ledger, None, apply=False)
        assert run_id == "rec"
        assert [(d.kind, d.symbol) for d in diffs] == [("position_adopted", "MSFT")]
        assert ledger.reconcile_events("rec") == []  # shown, not written
        _run, diffs = reconcile_run(settings, ledger, "rec", apply=True)
        assert len(diffs) == 1
        assert [e.kind for e in ledger.reconcile_events("rec")] == ["position_adopted"]
        _venue_equals_ledger(broker, ledger)
        _run, diffs = reconcile_run(settings, ledger, "rec", apply=False)
        assert diffs == []  # in agreement now
