"""Alpaca's wash-trade protection in an account on Alpaca: alpaca-py's own clients against the
local stand-in, with the market clock of ``test_paper_alpaca_live``.

Alpaca refuses a simple order while an open simple order of the same symbol on the other side
could trade against it; bracket and OCO orders are exceptions (docs/concepts/runtime.md, and
``tests/unit/test_alpaca_wash_trades.py`` for the rule itself). The account: ``trend``
(sma_cross 5/20 with a 4% stop, so each position it holds is protected by a single stop order
at the broker) and ``revert`` (zscore_reversion without exits) on the same three symbols.

The references are the stand-in's own book (which protective orders worked when) and the
account's spec, never the desk's accounting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.integration.alpaca_account import account_spec, account_world, broker_positions, summed

from alphaforge.config.specs import RunSpec
from alphaforge.services.accounts import wash_trade_risks

pytestmark = pytest.mark.integration
END = "2018-12-31 22:00"
SYMBOLS = ["SYN01", "SYN02", "SYN03"]
WASH = "potential wash trade detected"


def strategies(trend_exits: dict[str, str]) -> list[dict[str, Any]]:
    out = account_spec(None)["strategies"]
    for s in out:
        s["symbols"] = SYMBOLS
        s.pop("exits", None)
    out[0]["exits"] = trend_exits
    return out


def run(tmp: Path, trend_exits: dict[str, str]) -> dict[str, Any]:
    with account_world(tmp, strategies=strategies(trend_exits)) as w:
        w.session(END)
        assert w.run_id is not None
        with w.broker.lock:
            book = list(w.broker.book.orders.values())
        return {
            "orders": w.ledger.orders(w.run_id), "book": book, "spec": w.spec,
            "broker": broker_positions(w.broker), "ledger": summed(w.positions()),
        }  # fmt: skip


def _working_at(o: Any, at: pd.Timestamp) -> bool:
    """Whether the stand-in's order ``o`` was open at the market time ``at``."""
    ended = o.canceled_at or o.filled_at or o.expired_at or o.replaced_at
    return bool(o.created_at <= at and (ended is None or ended > at))


def test_a_single_stop_at_the_broker_refuses_the_other_strategys_opposite_orders(
    tmp_path: Path,
) -> None:
    out = run(tmp_path, {"stop_loss": "4%"})
    rejected = [o for o in out["orders"] if o.state == "rejected"]
    assert rejected, "the account never met the rule: the test lost its teeth"
    stops = {o.client_id for o in out["orders"] if o.strategy == "trend" and o.intent == "stop"}
    guards = [b for b in out["book"] if b.client_order_id in stops and b.order_class == "simple"]
    for o in rejected:
        assert WASH in o.state_reason, o
        assert o.strategy in ("revert", "_net") and o.side == "buy", o
        at = pd.Timestamp(o.updated)  # the market's time when it was refused
        working = [g for g in guards if g.symbol == o.symbol and g.side == "sell"
                   and _working_at(g, at)]  # fmt: skip
        assert working, f"{o.client_id}: refused with no single stop of trend's working"
    assert out["broker"] == out["ledger"]
    lines = wash_trade_risks(out["spec"])
    assert len(lines) == 1 and "trend's protective stop" in lines[0]
    assert "revert" in lines[0] and "SYN01, SYN02, SYN03" in lines[0]


def test_a_stop_and_target_pair_is_an_oco_the_rule_exempts(tmp_path: Path) -> None:
    out = run(tmp_path, {"stop_loss": "4%", "take_profit": "30%"})
    assert not [o for o in out["orders"] if o.state == "rejected"]
    pairs = [b for b in out["book"] if b.order_class == "oco"]
    assert pairs, "no protective pair was placed"
    assert out["broker"] == out["ledger"]
    assert wash_trade_risks(out["spec"]) == []


def test_the_risk_is_named_only_for_an_account_on_alpaca() -> None:
    spec = {**account_spec(None), "strategies": strategies({"take_profit": "10%"})}
    assert wash_trade_risks(RunSpec.model_validate(spec)) == []  # the simulated venue
    on_alpaca = {**spec, "broker": {"name": "alpaca"}}
    (line,) = wash_trade_risks(RunSpec.model_validate(on_alpaca))
    assert "trend's protective take-profit is a single order" in line
    assert wash_trade_risks(RunSpec.model_validate(on_alpaca), "revert") == [line]
    apart = strategies({"stop_loss": "4%"})
    apart[1]["symbols"] = ["SYN03"]
    apart[0]["symbols"] = ["SYN01", "SYN02"]
    assert wash_trade_risks(RunSpec.model_validate({**on_alpaca, "strategies": apart})) == []
