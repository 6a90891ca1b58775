"""Several strategies on one account: a node per strategy, one simulated venue behind a netting
desk, one ledger run (``strategies:`` in the run spec, ``alphaforge.engine.netting``).

The references are independent of the desk: each strategy replayed alone on its own venue with
its allocation of the cash, and the account identities (the strategies' cash and positions add
up to the venue's)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.integration.account_replay import identities, replay_account, solo

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.core.errors import ConfigError
from alphaforge.data.sample import generate_daily
from alphaforge.ledger import Ledger
from alphaforge.services.accounts import (
    AccountSetup,
    build_account_replay,
    run_account_replay,
    sleeve_spec,
)
from alphaforge.services.backtest import run_spec
from alphaforge.services.trading import ReplayRequest, build_replay, run_replay

pytestmark = pytest.mark.integration
SYMBOLS = ["SYN01", "SYN02", "SYN03"]
NOW = ReplayRequest(None, None, None)


@pytest.fixture(scope="module")
def bars_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bars") / "bars.parquet"
    generate_daily(seed=7, n_symbols=3, years=3).to_parquet(path)
    return path


def _spec(data: Path, costs: bool, stops: bool, **extra: Any) -> RunSpec:
    spec: dict[str, Any] = {
        "data": str(data), "symbols": SYMBOLS, "timeframe": "1d", "cash": 100_000,
        "costs": {"commission": "0.1%", "slippage": "5bps"} if costs
        else {"commission": 0, "slippage": 0},
        "sizing": {"method": "fraction", "value": 0.3},
        "strategies": [
            {"id": "fast", "strategy": "sma_cross", "params": {"fast": 5, "slow": 20},
             "symbols": ["SYN01", "SYN02"], "allocation": 0.5},
            {"id": "slow", "strategy": "ema_cross", "params": {"fast": 10, "slow": 40},
             "symbols": ["SYN02", "SYN03"], "allocation": 0.5},
        ],
    }  # fmt: skip
    if stops:
        spec["exits"] = {"stop_loss": "5%"}
        spec["strategies"][1]["exits"] = {"stop_loss": "8%"}
    spec.update(extra)
    return RunSpec.model_validate(spec)


def _trips(ledger: Ledger, run_id: str, strategy: str | None = None) -> list[tuple[Any, ...]]:
    return sorted(
        (t.symbol, t.side, t.entry_ts, t.exit_ts, float(t.qty), round(float(t.pnl), 6))
        for t in ledger.trades(run_id, strategy)
    )


_replay = replay_account


def _solo(spec: RunSpec, k: int, home: Path) -> list[tuple[Any, ...]]:
    return solo(spec, k, home, _trips)


def _identities(setup: AccountSetup, ledger: Ledger) -> None:
    identities(setup, ledger)


@pytest.mark.parametrize("costs", [False, True], ids=["no costs", "costs"])
def test_each_strategy_trades_as_it_would_alone_and_the_account_adds_up(
    bars_file: Path, tmp_path: Path, costs: bool
) -> None:
    spec = _spec(bars_file, costs=costs, stops=True)
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        setup = _replay(spec, tmp_path, ledger)
        _identities(setup, ledger)
        mine = {sid: _trips(ledger, setup.run_id, sid) for sid in setup.ids}
        orders = ledger.orders(setup.run_id)
        run = ledger.run(setup.run_id)
    assert run is not None and list(run.strategies) == ["fast", "slow"]
    # exits of the two strategies on SYN02 at the same open went out as one order
    assert any(o.strategy == "_net" and "fast, slow" in o.reason for o in orders)
    for k, sid in enumerate(setup.ids):
        alone = _solo(spec, k, tmp_path)
        assert len(alone) >= 10
        assert mine[sid] == alone, sid


def test_opposite_orders_cross_inside_the_account_at_the_open_without_costs(
    bars_file: Path, tmp_path: Path
) -> None:
    # no stops: entries are plain market orders, so one strategy's entry can meet the other's
    # exit of the same symbol at the same open
    spec = _spec(bars_file, costs=True, stops=False)
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        setup = _replay(spec, tmp_path, ledger)
        _identities(setup, ledger)
        fills = ledger.fills(setup.run_id)
        mine = {sid: _trips(ledger, setup.run_id, sid) for sid in setup.ids}
    crossed = [f for f in fills if f.fill_id.startswith("x:")]
    assert len(crossed) >= 2
    opens = generate_daily(seed=7, n_symbols=3, years=3)
    opens["timestamp"] = pd.to_datetime(opens["timestamp"], utc=True)
    open_of = {(s, ts.isoformat()): o for s, ts, o in
               zip(opens["symbol"], opens["timestamp"], opens["open"], strict=True)}  # fmt: skip
    for f in crossed:  # at the bar's open, no commission, no slippage
        assert float(f.price) == pytest.approx(open_of[(f.symbol, f.ts)], rel=1e-12)
        assert float(f.fee) == 0.0 and float(f.slippage) == 0.0
    # each crossing has a counterpart of the other strategy: same bar, symbol and quantity
    qty: dict[tuple[str, str, str], float] = {}
    who: dict[tuple[str, str], set[str]] = {}
    for f in crossed:
        qty[(f.ts, f.symbol, f.side)] = qty.get((f.ts, f.symbol, f.side), 0.0) + float(f.qty)
        who.setdefault((f.ts, f.symbol), set()).add(f.strategy)
    for ts, sym, _side in qty:
        bought, sold = qty.get((ts, sym, "buy"), 0.0), qty.get((ts, sym, "sell"), 0.0)
        assert bought == pytest.approx(sold, rel=1e-12)
        assert who[(ts, sym)] == {"fast", "slow"}
    # the decisions are each strategy's own; only prices and fees of crossed fills differ
    for k, sid in enumerate(setup.ids):
        alone = _solo(spec, k, tmp_path)
        assert [t[:4] for t in mine[sid]] == [t[:4] for t in alone], sid
    paid = sum(float(f.fee) for f in fills)
    alone_fees = 0.0
    for k in range(2):
        with Ledger.open(f"sqlite:///{tmp_path / f'solo{k}.db'}") as solo:
            alone_fees += sum(float(f.fee) for f in solo.fills(solo.runs()[-1].run_id))
    assert paid < alone_fees  # netting saved the crossed commissions


def _limited(data: Path, home: Path, **account: float) -> tuple[list[Any], list[Any]]:
    """Risk events and orders of an account under ``account:`` limits."""
    spec = _spec(data, costs=True, stops=False, account=account)
    with Ledger.open(f"sqlite:///{home / 'ledger.db'}") as ledger:
        setup = _replay(spec, home, ledger)
        _identities(setup, ledger)
        return ledger.risk_events(setup.run_id), ledger.orders(setup.run_id)


def test_account_gross_cap_refuses_entries_with_the_reason(bars_file: Path, tmp_path: Path) -> None:
    events, orders = _limited(bars_file, tmp_path, max_gross=0.35)
    gross = [e.value for e in events if e.strategy == "account" and e.rule == "max_gross"]
    assert len(gross) >= 1 and all(g > 0.35 for g in gross)
    refused = [o for o in orders if o.state == "rejected"]
    assert len(refused) == len(gross)
    assert all("gross exposure above 0.35x" in o.state_reason for o in refused)


def test_account_loss_limits_reduce_every_strategy(bars_file: Path, tmp_path: Path) -> None:
    events, orders = _limited(bars_file, tmp_path, daily_loss_limit=0.004, max_drawdown=0.03)
    rules = Counter(e.rule for e in events if e.strategy == "account")
    assert rules["daily_loss_limit"] >= 2
    assert rules["max_drawdown"] == 1  # the breaker fires once and holds for the run
    assert all(e.value >= 0.004 for e in events if e.rule == "daily_loss_limit")
    # no strategy opened anything on a blocked day after its block, nor after the breaker
    fired = min(e.bar for e in events if e.rule == "max_drawdown")
    later = [o for o in orders if o.bar > fired and o.intent == "entry"]
    assert later == []
    for e in events:
        if e.rule == "daily_loss_limit":
            day = e.bar[:10]
            assert not [o for o in orders if o.intent == "entry" and o.bar[:10] == day
                        and o.bar > e.bar]  # fmt: skip


def test_unallocated_cash_is_the_accounts_reserve_in_its_equity_and_limits(
    bars_file: Path, tmp_path: Path
) -> None:
    """Allocations of 0.3 and 0.2 leave half the cash to no strategy. The account's equity was
    the strategies' 50,000: ``pnl`` read a loss of 18% of the account as one of 68%, and the
    account limits measured against half the account."""
    spec = _spec(bars_file, costs=True, stops=False, account={"max_drawdown": 0.01})
    spec.strategies[0].allocation, spec.strategies[1].allocation = 0.3, 0.2  # type: ignore[index]
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        setup = _replay(spec, tmp_path, ledger)
        assert setup.account.reserve == pytest.approx(50_000.0, rel=1e-12)
        _identities(setup, ledger)  # the venue's cash holds the reserve
        whole = ledger.equity_curve(setup.run_id)
        parts = {sid: ledger.equity_curve(setup.run_id, sid)["equity"] for sid in setup.ids}
        events = ledger.risk_events(setup.run_id)
        daily = ledger.daily_pnl(setup.run_id)
    strategies = parts["fast"] + parts["slow"]
    assert len(whole) == len(strategies) > 500
    # the account's equity: the strategies' and 50,000 of cash, at every bar
    assert whole["equity"].to_numpy() == pytest.approx(strategies.to_numpy() + 50_000.0, rel=1e-12)
    assert whole["equity"].iloc[0] == pytest.approx(100_000.0, rel=1e-3)
    assert float(daily["start_equity"].iloc[0]) == pytest.approx(100_000.0, rel=1e-3)
    # the breaker measures the drawdown of that equity: the first close 1% below its peak
    account = whole["equity"].to_numpy()
    drawdown = 1.0 - account / pd.Series(account).cummax().to_numpy()
    first = int((drawdown >= 0.01).argmax())
    (breaker,) = [e for e in events if e.strategy == "account" and e.rule == "max_drawdown"]
    assert breaker.value == pytest.approx(drawdown[first], rel=1e-9)
    assert pd.Timestamp(breaker.bar) == whole.index[first]


def test_a_restarted_account_continues_as_if_never_stopped(bars_file: Path, tmp_path: Path) -> None:
    spec = _spec(bars_file, costs=True, stops=True)
    with Ledger.open(f"sqlite:///{tmp_path / 'whole.db'}") as ledger:
        whole = _replay(spec, tmp_path, ledger)
        expected = {sid: _trips(ledger, whole.run_id, sid) for sid in whole.ids}
    with Ledger.open(f"sqlite:///{tmp_path / 'broken.db'}") as ledger:
        first = build_account_replay(spec, AppSettings(home=tmp_path), ledger, NOW)
        for t in range(300):  # stop after 300 bars, in the middle of a batch
            first.account.step(t)
        first.account.commit()
        for t in range(300, 320):  # these cycles never commit: the process dies
            first.account.step(t)
        again = build_account_replay(
            spec, AppSettings(home=tmp_path), ledger, ReplayRequest(None, None, None,
                                                                    first.run_id),
        )  # fmt: skip
        assert again.start == 300
        run_account_replay(again, None)
        got = {sid: _trips(ledger, first.run_id, sid) for sid in again.ids}
        ids = [o.client_id for o in ledger.orders(first.run_id)]
        _identities(again, ledger)
    assert got == expected
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"strategy": "sma_cross"}, "either strategy: or strategies:"),
        ({"strategies": [{"strategy": "sma_cross", "allocation": 0.7},
                         {"strategy": "ema_cross", "allocation": 0.5}]}, "sum to 1.2"),
        ({"strategies": [{"strategy": "sma_cross", "allocation": 0.3},
                         {"strategy": "sma_cross", "allocation": 0.3}]}, "'sma_cross' is used twice"),
        ({"strategies": [{"strategy": "sma_cross", "allocation": 0.3, "symbols": ["NOPE"]}]},
         "strategies[0].symbols: 'NOPE'"),
        ({"strategies": [{"strategy": "sma_cross", "allocation": 0.3,
                          "exits": {"ambiguity": "target_first"}}]}, "exits.ambiguity"),
        ({"strategies": [{"strategy": "sma_cross", "allocation": 0.3,
                          "sizing": {"method": "nonsense"}}]}, "strategies[0]"),
        ({"broker": {"name": "alpaca"}}, "simulated venue"),
    ],
)  # fmt: skip
def test_bad_account_configs_are_refused_naming_the_key(
    bars_file: Path, tmp_path: Path, change: dict[str, Any], needle: str
) -> None:
    base = _spec(bars_file, costs=False, stops=False).model_dump(exclude_none=True)
    base.update(change)
    with (
        Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger,
        pytest.raises((ConfigError, ValueError)) as err,
    ):
        build_account_replay(RunSpec.model_validate(base), AppSettings(home=tmp_path), ledger, NOW)
    assert needle in str(err.value)


def test_account_keys_alone_and_backtests_of_an_account_are_refused(
    bars_file: Path, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match="account limits go with strategies"):
        RunSpec.model_validate({"strategy": "sma_cross", "account": {"max_gross": 1.0}})
    with pytest.raises(ConfigError, match="paper --replay"):
        run_spec(_spec(bars_file, costs=False, stops=False), AppSettings(home=tmp_path))


def test_drift_compares_each_strategy_of_an_account_with_its_own_backtest(
    bars_file: Path, tmp_path: Path
) -> None:
    from alphaforge.services.drift import drift_report

    spec = _spec(bars_file, costs=True, stops=True)
    settings = AppSettings(home=tmp_path)
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        setup = _replay(spec, tmp_path, ledger)
        reports = {sid: drift_report(ledger, setup.run_id, settings, strategy=sid)
                   for sid in setup.ids}  # fmt: skip
        with pytest.raises(ConfigError, match="name one of them"):
            drift_report(ledger, setup.run_id, settings)
    for sid, rep in reports.items():
        bt = run_spec(sleeve_spec(spec, setup.ids.index(sid)), settings)
        closed = int((bt.trades["exit_reason"] != "end_of_data").sum())
        assert len(rep.matched) == closed >= 5, sid
        assert not rep.run_only and not rep.backtest_only
        assert rep.returns.final_equity_backtest == pytest.approx(float(bt.equity.iloc[-1]))
        assert rep.returns.final_equity_run == pytest.approx(rep.returns.final_equity_backtest)
        assert rep.within_tolerance


def test_reconcile_of_an_account_finds_every_strategy_in_step_with_the_venue(
    bars_file: Path, tmp_path: Path
) -> None:
    from alphaforge.services.trading import reconcile_run

    spec = _spec(bars_file, costs=True, stops=True)
    settings = AppSettings(home=tmp_path)
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        setup = build_account_replay(spec, settings, ledger, NOW)
        for t in range(400):  # a run that stops with positions and protective orders open
            setup.account.step(t)
        setup.account.commit()
        held = [n for n in setup.nodes if any(n.st.qty(j) for j in range(n.st.n))]
        assert held, "the check needs an open position"
        run_id, diffs = reconcile_run(settings, ledger, setup.run_id, apply=False)
    assert run_id == setup.run_id
    assert diffs == []


def test_a_bracket_leg_filled_in_its_entry_bar_is_not_left_working(
    bars_file: Path, tmp_path: Path
) -> None:
    """One strategy alone: a stop that fills in its entry's own bar reaches the order manager
    as filled, so a restart's reconciliation finds nothing to cancel."""
    from alphaforge.services.trading import reconcile_run

    spec = sleeve_spec(_spec(bars_file, costs=True, stops=True), 0)
    settings = AppSettings(home=tmp_path)
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        setup = build_replay(spec, settings, ledger, NOW)
        run_replay(setup, None)
        same_bar = [t for t in ledger.trades(setup.run_id) if t.entry_ts == t.exit_ts]
        assert same_bar, "the check needs a stop hit in its entry bar"
        working = [o for o in setup.node.oms.orders.values() if not o.state.terminal]
        _run, diffs = reconcile_run(settings, ledger, setup.run_id, apply=False)
    assert {o.client_id for o in working} <= {o.client_id for o in setup.node.p.venue.open_orders()}
    assert diffs == []


def test_a_rotation_and_a_crossover_share_the_account_as_they_trade_alone(
    bars_file: Path, tmp_path: Path
) -> None:
    """Target weights beside signals: the rotation's rebalances are netted with the
    crossover's orders and each strategy still trades as it would alone."""
    spec = _spec(bars_file, costs=False, stops=False)
    data = spec.model_dump(exclude_none=True)
    del data["sizing"]  # sizing rules are the crossover's own; weights size the rotation
    data["strategies"][0]["sizing"] = {"method": "fraction", "value": 0.3}
    data["strategies"][1] = {
        "id": "rotation", "strategy": "momentum_rotation", "allocation": 0.5,
        "params": {"lookback": 40, "top_n": 1},
    }  # fmt: skip
    spec = RunSpec.model_validate(data)
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        setup = _replay(spec, tmp_path, ledger)
        _identities(setup, ledger)
        mine = {sid: _trips(ledger, setup.run_id, sid) for sid in setup.ids}
        nets = [o for o in ledger.orders(setup.run_id) if o.strategy == "_net"]
    assert any("fast, rotation" in o.reason for o in nets)
    for k, sid in enumerate(setup.ids):
        assert mine[sid] == _solo(spec, k, tmp_path), sid


def test_the_kill_switch_flattens_every_strategy_of_the_account(
    bars_file: Path, tmp_path: Path
) -> None:
    spec = _spec(bars_file, costs=True, stops=False)
    with Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}") as ledger:
        setup = build_account_replay(spec, AppSettings(home=tmp_path), ledger, NOW)
        t = 0
        while t < 500 or not all(any(n.st.qty(j) for j in range(n.st.n)) for n in setup.nodes):
            setup.account.step(t)  # until both strategies hold something
            t += 1
        ledger.halt(reason="test", flatten=True, by="test", ts="2020-01-01T00:00:00+00:00")
        for node in setup.nodes:
            node._halt_checked = -1e18  # read the switch at the next cycle
        for k in range(t, t + 3):
            setup.account.step(k)
        setup.account.commit()
        flat = [n.st.qty(j) for n in setup.nodes for j in range(n.st.n)]
        flattens = [o for o in ledger.orders(setup.run_id) if o.intent == "flatten"]
        ledger.resume(by="test", ts="2020-01-01T00:00:00+00:00")
    assert flat == [0.0] * len(flat)
    assert {o.strategy for o in flattens} == {"fast", "slow"}
    assert setup.account.desk.venue.positions() == []
