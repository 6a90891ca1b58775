"""An account of several strategies on the Alpaca stand-in, when the broker's account is not what
the runtime left: trades made by hand while the runtime was down, positions held before the run
started, a net order the broker rejects, and ``alphaforge reconcile --apply``.

The references are the broker's own book (its orders, fills and positions, read from the
stand-in) and an uninterrupted run of the same account on the same bars.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.integration.alpaca_account import (
    AccountWorld,
    account_world,
    broker_positions,
    summed,
)
from typer.testing import CliRunner

from alphaforge.services.reconcile import reconcile_run

pytestmark = pytest.mark.integration
REJECTED = "asset is not tradable at this time"  # Alpaca's message, as the stand-in answers it


def _consistent(w: AccountWorld) -> None:
    """What must hold after every session: the broker's positions are the strategies' summed,
    no client id reached the broker twice as a new order, and the ledger holds each order and
    each fill once."""
    assert w.run_id is not None
    assert summed(w.positions()) == broker_positions(w.broker)
    created = w.created()
    assert len(created) == len(set(created))
    ids = [o.client_id for o in w.ledger.orders(w.run_id)]
    assert len(ids) == len(set(ids))
    fills = [f.fill_id for f in w.ledger.fills(w.run_id)]
    assert len(fills) == len(set(fills))


def _events(w: AccountWorld, since: int = 0) -> list[tuple[str, str, str]]:
    assert w.run_id is not None
    return [(e.kind, e.symbol, e.detail) for e in w.ledger.reconcile_events(w.run_id)][since:]


def _hand_fills(w: AccountWorld, cid: str) -> Counter[tuple[str, str, str, float, float]]:
    """The ledger's fills of the broker order ``cid`` (a trade by hand): strategy, symbol,
    side, quantity, price."""
    assert w.run_id is not None
    return Counter((f.strategy, f.symbol, f.side, float(f.qty), float(f.price))
                   for f in w.ledger.fills(w.run_id) if f.client_id == cid)  # fmt: skip


def test_trades_by_hand_while_down_are_adopted_and_the_run_goes_on(tmp_path: Path) -> None:
    with account_world(tmp_path / "whole") as ref:
        ref.session("2018-06-15 22:00")
        expected = ref.positions()
    with account_world(tmp_path / "hand") as w:
        w.session("2018-05-08 21:30", down_days=1)
        _consistent(w)
        assert w.positions() == {"trend": {"SYN02": 100.0}, "revert": {"SYN03": 150.0}}
        # by hand, while the runtime is down: a buy nobody holds, a close of revert's SYN03
        bought = w.broker.manual_trade("SYN01", 30)
        closed = w.broker.manual_close("SYN03")
        assert closed is not None
        w.session("2018-05-25 21:30", down_days=1)
        _consistent(w)
        px = {c: w.broker.order(c).filled_avg_price for c in (bought, closed)}
        assert _hand_fills(w, bought) == {("trend", "SYN01", "buy", 30.0, px[bought]): 1}
        assert _hand_fills(w, closed) == {("revert", "SYN03", "sell", 150.0, px[closed]): 1}
        found = _events(w)
        assert any(k == "position_attributed" and s == "SYN01" and "buy 30" in d
                   and "trend" in d for k, s, d in found), found  # fmt: skip
        assert any(k == "position_attributed" and s == "SYN03" and "sell 150" in d
                   and "revert" in d for k, s, d in found), found  # fmt: skip
        # revert alone holds SYN02 (the crossing of 05-17); a close by hand leaves it flat,
        # not the trend short against it
        assert w.positions()["revert"].get("SYN02") == 150.0
        assert "SYN02" not in w.positions()["trend"]
        n = len(found)
        closed = w.broker.manual_close("SYN02")
        assert closed is not None
        w.session("2018-06-15 22:00")
        _consistent(w)
        px = {closed: w.broker.order(closed).filled_avg_price}
        assert _hand_fills(w, closed) == {("revert", "SYN02", "sell", 150.0, px[closed]): 1}
        assert [(k, s) for k, s, d in _events(w, n) if k == "position_attributed"] == [
            ("position_attributed", "SYN02")
        ]
        # every change by hand was one the strategies would have unwound: they end where the
        # uninterrupted run ends
        assert w.positions() == expected
        assert any(o.bar > "2018-05-26" for o in w.ledger.orders(str(w.run_id)))


def test_positions_held_before_the_start_are_adopted_and_reported(tmp_path: Path) -> None:
    """As one strategy on a broker adopts what the account holds in its symbols, the account's
    strategies adopt it (the first that trades the symbol) and report it; a symbol no strategy
    trades is reported and left alone."""
    with account_world(tmp_path) as w:
        held = {"SYN01": 40.0, "SYN03": -20.0, "ZZZZ": 10.0}
        cids = {s: w.broker.manual_trade(s, q) for s, q in held.items()}
        w.session("2018-04-04 21:30")
        found = _events(w)
        assert ("position_not_traded", "ZZZZ") in {(k, s) for k, s, _d in found}
        for sym, who in (("SYN01", "trend"), ("SYN03", "revert")):
            assert any(k == "position_attributed" and s == sym and f"{abs(held[sym]):g}" in d
                       and who in d for k, s, d in found), found  # fmt: skip
            fills = _hand_fills(w, cids[sym])
            assert [(s, sym_, float(q)) for s, sym_, _side, q, _px in fills] == [
                (who, sym, abs(held[sym]))
            ]
        at_broker = broker_positions(w.broker)
        assert at_broker.pop("ZZZZ") == 10.0
        assert summed(w.positions()) == at_broker
        w.session("2018-05-10 21:30")
        at_broker = broker_positions(w.broker)
        assert at_broker.pop("ZZZZ") == 10.0  # never touched
        assert summed(w.positions()) == at_broker
        created = w.created()
        assert len(created) == len(set(created))
        assert len(_events(w)) == len(found)  # nothing new to resolve


class _Refusals:
    """The broker rejects the next plain market order (a net order: the desk sends no other
    orders without a bracket) of each symbol :meth:`arm` names: ``http`` answers 403 with
    :data:`REJECTED`, ``event`` accepts it and sends a ``rejected`` trade update (which carries
    no reason: the adapter's is ``rejected by alpaca``)."""

    def __init__(self, w: AccountWorld, mode: str) -> None:
        self.broker, self.mode, self.real = w.broker, mode, w.broker.submit
        self.armed: set[str] = set()
        self.rejected: list[str] = []
        self.reason = REJECTED if mode == "http" else "rejected by alpaca"
        w.broker.submit = self._submit  # type: ignore[method-assign]

    def arm(self, symbol: str) -> None:
        self.armed.add(symbol)

    def _submit(self, body: dict[str, Any], rec: Any = None) -> Any:
        sym = body.get("symbol")
        plain = body.get("type") == "market" and body.get("order_class") in (None, "simple")
        if plain and sym in self.armed:
            self.armed.discard(sym)
            self.rejected.append(str(body.get("client_order_id")))
            self.broker.reject_next(REJECTED, mode=self.mode)
        return self.real(body, rec)


@pytest.mark.parametrize("mode", ["http", "event"])
def test_a_net_order_the_broker_rejects_is_each_strategy_s_rejection(
    tmp_path: Path, mode: str
) -> None:
    with account_world(tmp_path) as w:
        refusals = _Refusals(w, mode)
        w.session("2018-05-15 21:30")
        assert w.positions() == {"trend": {"SYN02": 100.0}, "revert": {"SYN03": 150.0}}
        # at the close of 05-16 the trend sells 100 SYN02 and revert buys 150: 100 cross inside
        # the account, the broker is asked for the other 50 and rejects them
        refusals.arm("SYN02")
        w.session("2018-05-18 21:30")
        assert len(refusals.rejected) == 1
        _consistent(w)
        assert w.run_id is not None
        orders = {o.client_id: o for o in w.ledger.orders(w.run_id)}
        net = orders[refusals.rejected[0]]
        assert (net.strategy, net.symbol, net.side, float(net.qty)) == ("_net", "SYN02", "buy", 50)
        assert net.state == "rejected" and refusals.reason in net.state_reason
        kids = {o.strategy: o for o in orders.values()
                if o.bar == net.bar and o.symbol == "SYN02" and o.strategy != "_net"}  # fmt: skip
        assert kids["trend"].state == "filled" and float(kids["trend"].filled_qty) == 100
        # revert's order filled its crossed part; the rest, rejected, ends it (a rejected
        # order has filled nothing, so it ends cancelled, with the broker's reason)
        revert = kids["revert"]
        assert revert.state == "cancelled" and refusals.reason in revert.state_reason
        assert float(revert.filled_qty) == 100.0
        assert w.positions()["revert"]["SYN02"] == 100.0
        assert "SYN02" not in w.positions()["trend"]
        # revert's entry of SYN03 at the close of 05-24: nothing crosses, all of it rejected
        refusals.arm("SYN03")
        w.session("2018-06-15 22:00")
        _consistent(w)
        assert len(refusals.rejected) == 2
        orders = {o.client_id: o for o in w.ledger.orders(w.run_id)}
        net = orders[refusals.rejected[1]]
        assert (net.symbol, net.side, float(net.qty)) == ("SYN03", "buy", 150)
        assert net.state == "rejected" and refusals.reason in net.state_reason
        kid = [o for o in orders.values() if o.bar == net.bar and o.symbol == "SYN03"
               and o.strategy == "revert"]  # fmt: skip
        assert len(kid) == 1 and kid[0].state == "rejected"
        assert refusals.reason in kid[0].state_reason and float(kid[0].filled_qty) == 0.0
        assert [f for f in w.ledger.fills(w.run_id) if f.client_id == kid[0].client_id] == []
        # each rejected order was posted once, never again; the next bars went on trading
        with w.broker.lock:
            posts = Counter(r.client_order_id for r in w.broker.requests
                            if r.method == "POST" and r.path == "/v2/orders")  # fmt: skip
        assert [posts[c] for c in refusals.rejected] == [1, 1]
        assert any(o.bar > net.bar for o in orders.values() if o.intent != "stop")


def test_reconcile_apply_on_an_account_leaves_nothing_for_the_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from alphaforge.cli.app import app

    with account_world(tmp_path) as w:
        w.session("2018-05-08 21:30")
        bought = w.broker.manual_trade("SYN01", 30)
        closed = w.broker.manual_close("SYN03")
        assert closed is not None
        assert w.run_id is not None
        _run, shown = reconcile_run(w.settings, w.ledger, w.run_id, apply=False)
        assert {(d.kind, d.symbol) for d in shown} >= {
            ("position_attributed", "SYN01"),
            ("position_attributed", "SYN03"),
        }
        assert _events(w) == []  # shown, not written
        monkeypatch.setenv("ALPHAFORGE_ALPACA_API_KEY", w.broker.api_key)
        monkeypatch.setenv("ALPHAFORGE_ALPACA_SECRET_KEY", w.broker.secret_key)
        home = str(tmp_path)
        res = CliRunner().invoke(app, ["--home", home, "reconcile", "--run", w.run_id, "--apply"])
        assert res.exit_code == 0, res.stdout + res.stderr
        applied = _events(w)
        assert {(k, s) for k, s, _d in applied} == {(d.kind, d.symbol) for d in shown}
        # the ledger, the desk's saved state and the broker agree
        per_strategy = w.positions()
        assert summed(per_strategy) == broker_positions(w.broker)
        snap = w.ledger.state(f"{w.run_id}/account", "account")
        assert snap is not None
        desk = {s: {sym: q for sym, (q, _avg) in pos.items() if q}
                for s, pos in snap["desk"]["pos"].items()}  # fmt: skip
        assert desk == per_strategy
        assert _hand_fills(w, bought) and _hand_fills(w, closed)
        res = CliRunner().invoke(app, ["--home", home, "reconcile", "--run", w.run_id])
        assert res.exit_code == 0, res.stdout + res.stderr  # nothing left to show
        # a restart of the account finds nothing left to resolve and goes on
        w.reopen()
        w.session("2018-06-15 22:00")
        assert _events(w) == applied
        _consistent(w)
        fills = Counter(f.client_id for f in w.ledger.fills(w.run_id))
        assert fills[bought] == 1 and fills[closed] == 1


def test_trading_reconcile_run_on_an_account_saves_the_desk_too(tmp_path: Path) -> None:
    """``services.trading.reconcile_run`` on an account goes where the command goes: the
    desk's state is saved with the strategies' resolutions, so nothing is left to resolve."""
    from alphaforge.services import trading

    with account_world(tmp_path) as w:
        w.session("2018-05-08 21:30")
        w.broker.manual_trade("SYN01", 30)
        assert w.broker.manual_close("SYN03") is not None
        assert w.run_id is not None
        _run, applied = trading.reconcile_run(w.settings, w.ledger, w.run_id, apply=True)
        assert {("position_attributed", "SYN01"), ("position_attributed", "SYN03")} <= {
            (d.kind, d.symbol) for d in applied
        }
        written = _events(w)
        assert len(written) == len(applied)
        _run, again = trading.reconcile_run(w.settings, w.ledger, w.run_id, apply=False)
        assert again == []
        w.reopen()
        w.session("2018-06-15 22:00")  # the restart resolves nothing a second time
        assert _events(w) == written
        _consistent(w)


def test_a_fill_of_a_runtime_order_no_strategy_owns_is_reported_then_reconciled(
    tmp_path: Path,
) -> None:
    """While the account runs, the broker fills an order with the runtime's form of client id
    that no strategy owns (an order the desk does not know): the fill is not booked on a
    strategy that never sent it, but logged (client id, symbol, quantity) and recorded as a
    reconciliation event of the next cycle; the next reconciliation books it, so the ledger's
    positions equal the broker's again."""
    from tests.integration.alpaca_account import run_until

    from alphaforge.services.paper import build_paper

    stray = "af-SYN01-ent-0123456789abcdef01234567"
    with account_world(tmp_path) as w:
        setup = build_paper(w.spec, w.settings, w.ledger, None, w.market.now)
        w.run_id = setup.run_id
        try:
            run_until(setup, w.market, pd.Timestamp("2018-05-08 21:30", tz="UTC"))
            before = summed(w.positions())
            w.broker.manual_trade("SYN01", 25, client_id=stray)  # not the desk's
            run_until(setup, w.market, pd.Timestamp("2018-05-11 21:30", tz="UTC"))
        finally:
            setup.close()
        events = [(e.kind, e.symbol, e.client_id) for e in w.ledger.reconcile_events(w.run_id)]
        assert events.count(("unplaced_fill", "SYN01", stray)) == 1
        lines = [json.loads(x) for x in setup.log_file.read_text().splitlines() if stray in x]
        assert [(x["event"], x["symbol"], float(x["qty"])) for x in lines] == [
            ("unplaced_fill", "SYN01", 25.0)
        ]
        at_broker = broker_positions(w.broker)
        held = summed(w.positions())
        # not booked yet: the ledger is 25 short of the broker (whatever the strategies did)
        assert at_broker.get("SYN01", 0.0) - held.get("SYN01", 0.0) == 25.0, (before, held)
        _run, found = reconcile_run(w.settings, w.ledger, w.run_id, apply=True)
        assert [d.symbol for d in found if d.kind == "position_attributed"] == ["SYN01"]
        assert summed(w.positions()) == broker_positions(w.broker)
        w.reopen()
        w.session("2018-05-25 22:00")  # a restart finds nothing more to resolve
        _consistent(w)
