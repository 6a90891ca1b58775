"""Reversals in an account on Alpaca: alpaca-py's own clients against the local stand-in, with
the market clock of ``test_paper_alpaca_live``.

Alpaca takes no position through zero in one order. One strategy alone sends a reversal's exit
and entry as two orders: the exit fills, the entry is refused. In an account the desk nets the
strategies' market orders per symbol, so a reversal's exit and entry (200 to buy against a
short of 100) would be one order through zero, and Alpaca would refuse it whole: the exit
would be lost with the entry. The desk instead leaves out the entries that take the account's
position through zero (each refused with the reason), and sends the rest.

The account: ``fast`` (sma_cross 3/12) and ``slow`` (sma_cross 10/40), both long / short on
one symbol with a stop-loss. The references are the ledger's orders and the stand-in's own
positions.
"""

from __future__ import annotations

from typing import Any

import pytest
from tests.integration.alpaca_account import account_world, broker_positions, summed

pytestmark = pytest.mark.integration
END = "2018-12-31 22:00"
STRATEGIES = [
    {"id": "fast", "strategy": "sma_cross", "params": {"fast": 3, "slow": 12},
     "symbols": ["SYN01"], "allocation": 0.5, "exits": {"stop_loss": "2%"}},
    {"id": "slow", "strategy": "sma_cross", "params": {"fast": 10, "slow": 40},
     "symbols": ["SYN01"], "allocation": 0.5, "exits": {"stop_loss": "3%"}},
]  # fmt: skip


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("reversals")
    with account_world(tmp, strategies=STRATEGIES, direction="long_short", symbols=["SYN01"]) as w:
        w.session(END)
        assert w.run_id is not None
        return {"orders": w.ledger.orders(w.run_id), "broker": broker_positions(w.broker),
                "ledger": summed(w.positions())}  # fmt: skip


def test_no_exit_is_lost_with_a_reversal_entry_netted_through_zero(run: dict[str, Any]) -> None:
    orders = run["orders"]
    by_desk = [
        o for o in orders if o.state == "rejected" and "a reversal is two orders" in o.state_reason
    ]
    assert by_desk, "no reversal met the rule: the test lost its teeth"
    assert {o.intent for o in by_desk} == {"entry"}
    exits = [o for o in orders if o.strategy != "_net" and o.intent == "exit"]
    assert exits and all(o.state == "filled" for o in exits), [
        (o.client_id, o.state, o.state_reason) for o in exits if o.state != "filled"
    ]
    for o in orders:  # what was refused is an entry or a protective order, never an exit
        if o.state == "rejected" and o.strategy != "_net":
            assert o.intent in ("entry", "stop"), o
    assert run["broker"] == run["ledger"]
