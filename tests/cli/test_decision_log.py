"""The decision log holds every order sent with the protective levels it carries, every
protective order placed for a held position, and every fill booked with what it was for (an
entry, a signal's exit, a stop or a target): it held only the orders sent, so a stop-out was
nowhere in it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alphaforge.ledger import Ledger
from tests.cli.conftest import invoke, replay_run
from tests.cli.test_positions_protection import PROTECTED

pytestmark = pytest.mark.integration


def test_decision_log_has_every_fill_with_its_reason(af_home: Path) -> None:
    replay_run(af_home, PROTECTED, "logged")
    lines = [json.loads(x) for x in (af_home / "logs" / "logged.jsonl").read_text().splitlines()]
    fills = json.loads(invoke(af_home, "fills", "--run", "logged", "--json").stdout)
    logged = [x for x in lines if x["event"] == "fill"]
    assert len(fills) > 10
    assert [(x["client_id"], x["qty"]) for x in logged] == [
        (f["client_id"], f["qty"]) for f in fills
    ]
    for x, f in zip(logged, fills, strict=True):
        assert x["price"] == pytest.approx(f["price"], abs=1e-9)
        assert x["fee"] == pytest.approx(f["fee"], abs=1e-9)
    with Ledger.open(f"sqlite:///{af_home / 'ledger.db'}") as ledger:
        trades = ledger.trades("logged")
    exits = {t.exit_client_id: t.exit_reason for t in trades}
    reasons = {x["client_id"]: x["reason"] for x in logged}
    assert {cid: reasons[cid] for cid in exits} == exits  # a stop-out says stop_loss, ...
    assert {"stop_loss", "take_profit"} & set(exits.values())
    assert {reasons[cid] for cid in set(reasons) - set(exits)} == {"entry"}
    orders = [x for x in lines if x["event"] == "order"]
    assert orders and all(x["type"] == "market" and x["client_id"] for x in orders)
    brackets = [x for x in orders if x["reason"] == "entry"]
    assert brackets and all("stop_loss" in x and "take_profit" in x for x in brackets)


def test_decision_log_has_every_protective_order_placed(af_home: Path) -> None:
    """A trailing stop moves with the price: each replacement held at the venue is a line."""
    trailing = PROTECTED.replace("stop_loss: 5%, take_profit: 15%", "trailing_stop: 4%")
    replay_run(af_home, trailing, "trailed")
    lines = [json.loads(x) for x in (af_home / "logs" / "trailed.jsonl").read_text().splitlines()]
    placed = [x for x in lines if x["event"] == "protect"]
    orders = {o["client_id"]: o for o in
              json.loads(invoke(af_home, "orders", "--run", "trailed", "--json").stdout)}  # fmt: skip
    assert len(placed) > 10
    for x in placed:
        o = orders[x["client_id"]]
        assert (o["intent"], o["symbol"], o["side"], o["qty"]) == (
            "stop",
            x["symbol"],
            x["side"],
            x["qty"],
        )
        assert o["stop"] == pytest.approx(x["stop"], abs=1e-9)


def test_an_accounts_log_names_each_lines_strategy(af_home: Path) -> None:
    """Several strategies on one account write one log: each line says whose it is."""
    account = (Path(__file__).parents[2] / "examples" / "paper_account.yaml").read_text()
    replay_run(af_home, account, "acct")
    lines = [json.loads(x) for x in (af_home / "logs" / "acct.jsonl").read_text().splitlines()]
    fills = [x for x in lines if x["event"] == "fill"]
    assert fills and {x["strategy"] for x in lines} == {"trend", "swing"}
    with Ledger.open(f"sqlite:///{af_home / 'ledger.db'}") as ledger:
        booked = [(f.strategy, f.symbol, f.side, float(f.qty)) for f in ledger.fills("acct")]
    assert sorted((x["strategy"], x["symbol"], x["side"], x["qty"]) for x in fills) == sorted(
        booked
    )  # each fill attributed back to its strategy, in the log as in the ledger
