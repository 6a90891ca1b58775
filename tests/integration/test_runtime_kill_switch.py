"""The kill switch acting on a running replay: ``kill`` stops every new order, ``kill
--reduce-only`` lets exits and stops through but no entry, ``kill --flatten`` closes every
position at the next open, and ``resume`` lifts each; refusals are recorded with their reason.

The switch is written to the ledger from the replay's own bar callback, as another terminal
would; the node reads it at every cycle here (``halt_poll_seconds = 0``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.ledger import Ledger
from alphaforge.services.trading import ReplayRequest, build_replay, run_replay
from alphaforge.testing import shared_data_file

pytestmark = pytest.mark.integration

CASE = {
    "strategy": "sma_cross", "params": {"fast": 5, "slow": 20}, "symbols": ["MSFT", "JPM"],
    "sizing": {"method": "fraction", "value": 0.4},
    "costs": {"commission": "0.1%", "slippage": "5bps"}, "exits": {"stop_loss": "8%"},
    "start": "2014-01-01", "end": "2016-12-31", "timeframe": "1d",
}  # fmt: skip
TS = "2024-01-01T00:00:00Z"


def _replay(
    tmp_path: Path,
    name: str,
    switch: Callable[[Ledger, int], None] | None = None,
    direction: str = "long",
) -> dict[str, Any]:
    home = tmp_path / name
    home.mkdir()
    spec = RunSpec.model_validate(
        {**CASE, "direction": direction,
         "data": str(shared_data_file("us_equities_daily.parquet"))}
    )  # fmt: skip
    ledger = Ledger.open(f"sqlite:///{home / 'ledger.db'}")
    try:
        setup = build_replay(spec, AppSettings(home=home), ledger, ReplayRequest(None, None, None))
        setup.node.p.halt_poll_seconds = 0.0

        def on_bar(t: int, _eq: float) -> None:
            if switch is not None:
                switch(ledger, t)

        # a speed keeps every bar in its own cycle, so the switch is read at the next bar
        run_replay(setup, 1e12, on_bar)
        rid = setup.run_id
        orders = [(o.bar, o.symbol, o.side, o.intent) for o in ledger.orders(rid)
                  if o.intent in ("entry", "exit", "flatten")]  # fmt: skip
        with ledger.engine.connect() as c:
            refused = c.execute(
                text(
                    "SELECT bar, symbol, reason FROM decisions WHERE run_id = :r AND NOT accepted"
                ),
                {"r": rid},
            ).all()
        held = {p.symbol: float(p.qty) for p in ledger.positions(rid)}
        bars = [ts.isoformat() for ts in setup.panel.index]
    finally:
        ledger.close()
    return {"orders": orders, "refused": refused, "held": held, "bars": bars}


def _bar(out: dict[str, Any], t: int) -> str:
    return str(out["bars"][t])


@pytest.mark.parametrize("direction", ["long", "long_short"])
def test_reduce_only_lets_exits_through_and_refuses_entries(tmp_path: Path, direction: str) -> None:
    """Long and short: a reversal's entry (sent at the open after its exit) is refused too,
    judged against the position the exit leaves, not the one it closes."""
    ref = _replay(tmp_path, "ref", direction=direction)
    opened = sorted({o[0] for o in ref["orders"] if o[3] == "entry"})
    cut = opened[3]  # a bar on which a position was just opened: it is held at the switch
    k = ref["bars"].index(cut)
    assert sum(1 for o in ref["orders"] if o[0] > cut and o[3] == "entry") >= 5

    def switch(ledger: Ledger, t: int) -> None:
        if t == k:
            ledger.reduce_only(reason="test", by="test", ts=TS)

    out = _replay(tmp_path, "reduce", switch, direction)
    if direction == "long_short":  # the reference reverses: an exit and an entry in one bar
        exits = {o[:2] for o in ref["orders"] if o[0] > cut and o[3] == "exit"}
        assert exits & {o[:2] for o in ref["orders"] if o[0] > cut and o[3] == "entry"}
    before = [o for o in out["orders"] if o[0] <= cut]
    assert before == [o for o in ref["orders"] if o[0] <= cut]  # the same run until the switch
    assert [o for o in before if o[0] == cut and o[3] == "entry"]
    after = [o for o in out["orders"] if o[0] > cut]
    assert not [o for o in after if o[3] == "entry"]  # no entry once reducing
    refused = [r for r in out["refused"] if r[0] > cut]
    assert refused and all("reducing" in r[2] for r in refused)
    # the position held at the switch was still closed (by its exit signal or its stop): with
    # no entry after the switch, nothing is held at the end
    assert out["held"] == {}


def test_halt_stops_every_order_and_resume_lifts_it(tmp_path: Path) -> None:
    ref = _replay(tmp_path, "ref")
    k0, k1 = 250, 450

    def switch(ledger: Ledger, t: int) -> None:
        if t == k0:
            ledger.halt(reason="test", flatten=False, by="test", ts=TS)
        if t == k1:
            ledger.resume(by="test", ts=TS)

    out = _replay(tmp_path, "halt", switch)
    a, b = _bar(out, k0), _bar(out, k1)
    assert not [o for o in out["orders"] if a < o[0] <= b]  # nothing sent while halted
    assert [r for r in out["refused"] if a < r[0] <= b and "halted" in r[2]]
    assert [o for o in ref["orders"] if a < o[0] <= b]  # the reference did trade then
    assert [o for o in out["orders"] if o[0] > b and o[3] == "entry"]  # trading resumed


def test_flatten_closes_every_position_at_the_next_open(tmp_path: Path) -> None:
    ref = _replay(tmp_path, "ref")
    opened = sorted({o[0] for o in ref["orders"] if o[3] == "entry"})
    k = ref["bars"].index(opened[3])  # a bar on which a position was just opened

    def switch(ledger: Ledger, t: int) -> None:
        if t == k:
            ledger.halt(reason="test", flatten=True, by="test", ts=TS)

    out = _replay(tmp_path, "flatten", switch)
    flat = [o for o in out["orders"] if o[3] == "flatten"]
    assert flat and {o[0] for o in flat} == {_bar(out, k + 1)}
    assert not [o for o in out["orders"] if o[0] > _bar(out, k + 1)]
    assert out["held"] == {}
