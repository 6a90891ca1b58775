"""Limit, stop and stop-limit entries in an account of several strategies, on the simulated
venue: never netted, each entry is the venue's own order under its strategy's client id, with its
own bracket, and its fills go back to that strategy only.

The references are independent of the desk: each strategy replayed alone on its own venue with
its allocation of the cash (whose limit / stop entries the parity tests hold to the backtest),
and the account identities (the strategies' cash and positions add up to the venue's)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from tests.integration.account_replay import NOW, identities, replay_account, solo, trips

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.data.sample import generate_daily
from alphaforge.ledger import Ledger
from alphaforge.services.accounts import AccountSetup, build_account_replay, run_account_replay
from alphaforge.services.trading import ReplayRequest

pytestmark = pytest.mark.integration
SYMBOLS = ["SYN01", "SYN02", "SYN03"]
LEVELS = f"{Path(__file__).parents[1] / 'parity' / '_level_entries.py'}:LevelEntries"


@pytest.fixture(scope="module")
def bars_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bars") / "bars.parquet"
    generate_daily(seed=7, n_symbols=3, years=3).to_parquet(path)
    return path


def _spec(data: Path, tif: str = "day", **extra: Any) -> RunSpec:
    """A market-order crossover on SYN01 / SYN02 beside limit entries (stop-loss and
    take-profit brackets) on SYN02 / SYN03, long and short; costs on."""
    spec: dict[str, Any] = {
        "data": str(data), "symbols": SYMBOLS, "timeframe": "1d", "cash": 100_000,
        "costs": {"commission": "0.1%", "slippage": "5bps"},
        "sizing": {"method": "fraction", "value": 0.3},
        "strategies": [
            {"id": "market", "strategy": "sma_cross", "params": {"fast": 5, "slow": 20},
             "symbols": ["SYN01", "SYN02"], "allocation": 0.5,
             "exits": {"stop_loss": "5%"}},
            {"id": "levels", "strategy": LEVELS, "allocation": 0.5,
             "params": {"fast": 5, "slow": 20, "kind": "limit", "offset": 0.004},
             "symbols": ["SYN02", "SYN03"],
             "exits": {"stop_loss": "2%", "take_profit": "4%"}},
        ],
        "direction": "long_short", "time_in_force": tif,
    }  # fmt: skip
    spec.update(extra)
    return RunSpec.model_validate(spec)


def _identities(setup: AccountSetup, ledger: Ledger) -> None:
    identities(setup, ledger, rel=1e-12)


@pytest.mark.parametrize("tif", ["day", "gtc"])
def test_limit_entries_beside_market_orders_trade_as_each_strategy_alone(
    bars_file: Path, tmp_path: Path, tif: str
) -> None:
    spec = _spec(bars_file, tif)
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        setup = replay_account(spec, tmp_path, ledger)
        _identities(setup, ledger)
        mine = {sid: trips(ledger, setup.run_id, sid) for sid in setup.ids}
        orders = ledger.orders(setup.run_id)
        fills = ledger.fills(setup.run_id)
    # every limit entry went to the venue as its strategy's own order, never netted
    entries = [o for o in orders if o.type == "limit" and o.intent == "entry"]
    assert entries and {o.strategy for o in entries} == {"levels"}
    assert {o.tif for o in entries} == {tif}
    assert {o.type for o in orders if o.strategy == "_net"} == {"market"}  # exits, netted
    limit_ids = {o.client_id for o in entries}
    filled = [f for f in fills if f.client_id in limit_ids]
    assert filled and {f.strategy for f in filled} == {"levels"}
    if tif == "day":  # day entries not filled in their bar expired there, as in the backtest
        assert any(o.state == "expired" for o in entries)
    else:  # gtc entries resized at an open were replaced
        assert any(o.state == "cancelled" for o in entries)
    # the two strategies traded SYN02 at overlapping times: each still trades as alone
    spans = {sid: [(t[2], t[3]) for t in mine[sid] if t[0] == "SYN02"] for sid in setup.ids}
    assert any(a0 <= b1 and b0 <= a1 for a0, a1 in spans["market"] for b0, b1 in spans["levels"])
    reasons = {t[-1] for t in mine["levels"]}
    assert {"stop_loss", "take_profit"} <= reasons, reasons
    for k, sid in enumerate(setup.ids):
        alone = solo(spec, k, tmp_path)
        assert len(alone) >= 10
        assert mine[sid] == alone, sid


def test_the_gross_cap_counts_limit_entries_and_refuses_them_with_the_reason(
    bars_file: Path, tmp_path: Path
) -> None:
    spec = _spec(bars_file, "gtc", account={"max_gross": 0.35})
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        setup = replay_account(spec, tmp_path, ledger)
        _identities(setup, ledger)
        events = ledger.risk_events(setup.run_id)
        orders = ledger.orders(setup.run_id)
    gross = [e.value for e in events if e.strategy == "account" and e.rule == "max_gross"]
    refused = [o for o in orders if o.state == "rejected"]
    assert len(refused) == len(gross) >= 1 and all(g > 0.35 for g in gross)
    assert all("gross exposure above 0.35x" in o.state_reason for o in refused)
    limits = [o for o in refused if o.type == "limit"]
    assert limits and {o.strategy for o in limits} == {"levels"}
    # a refused limit entry never reached the venue: no venue id, no fill
    assert all(not o.venue_id and float(o.filled_qty) == 0.0 for o in limits)


def test_loss_limits_cancel_working_entries_and_refuse_new_ones(
    bars_file: Path, tmp_path: Path
) -> None:
    """A gtc entry of a fixed size stays the same order over bars: when the account's loss
    limits put it in reducing, the account cancels it before the venue sees the next bar, with
    the reason, and after the drawdown breaker the strategy sends no new one."""
    spec = _spec(bars_file, "gtc", account={"daily_loss_limit": 0.004, "max_drawdown": 0.03})
    data = spec.model_dump(exclude_none=True)
    data["strategies"][1]["sizing"] = {"method": "shares", "value": 40}
    spec = RunSpec.model_validate(data)
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        setup = replay_account(spec, tmp_path, ledger)
        _identities(setup, ledger)
        events = ledger.risk_events(setup.run_id)
        orders = ledger.orders(setup.run_id)
        fills = ledger.fills(setup.run_id)
    fired = min(e.bar for e in events if e.rule == "max_drawdown")
    mine = {o.client_id: o for o in orders if o.intent == "entry" and o.strategy == "levels"}
    assert not [o for o in mine.values() if o.bar > fired]  # none sent after the breaker
    assert not [f for f in fills if f.client_id in mine and f.ts > fired]  # nor filled
    ended = [o for o in mine.values() if "account: reducing" in o.state_reason]
    assert ended and all(o.type == "limit" and o.state == "cancelled" for o in ended)
    assert all(o.bar <= fired for o in ended)  # sent before the block, working when it came


def _spans(node: Any, t: int) -> bool:
    """Whether a working entry of ``node`` was sent before bar ``t - 1``."""
    bar = node._texts[t - 2]
    return any(node.oms.orders[cid].request.bar <= bar for cid in node.resting.values())


def test_a_restart_with_a_working_gtc_entry_continues_as_if_never_stopped(
    bars_file: Path, tmp_path: Path
) -> None:
    spec = _spec(bars_file, "gtc")
    with Ledger.open(f"sqlite:///{tmp_path / 'whole.db'}") as ledger:
        whole = replay_account(spec, tmp_path, ledger)
        expected = {sid: trips(ledger, whole.run_id, sid) for sid in whole.ids}
    with Ledger.open(f"sqlite:///{tmp_path / 'broken.db'}") as ledger:
        first = build_account_replay(spec, AppSettings(home=tmp_path), ledger, NOW)
        node, t = first.nodes[1], 0
        while not (t > 100 and node.resting and _spans(node, t)):
            first.account.step(t)
            t += 1
        working = set(node.resting.values())
        first.account.commit()
        for k in range(t, t + 5):  # these cycles never commit: the process dies
            first.account.step(k)
        again = build_account_replay(
            spec, AppSettings(home=tmp_path), ledger, ReplayRequest(None, None, None,
                                                                    first.run_id),
        )  # fmt: skip
        assert again.start == t
        assert set(again.nodes[1].resting.values()) == working  # carried over the restart
        assert working <= {o.client_id for o in again.account.desk.venue.open_orders()}
        run_account_replay(again, None)
        got = {sid: trips(ledger, first.run_id, sid) for sid in again.ids}
        ids = [o.client_id for o in ledger.orders(first.run_id)]
        _identities(again, ledger)
    assert got == expected
    assert len(ids) == len(set(ids))
