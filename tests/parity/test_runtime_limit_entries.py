"""Limit, stop and stop-limit entries through the trading runtime (replay on the simulated
venue, SQLite ledger) give the backtest's trades and orders: day and gtc, longs and shorts,
costs on, a stop-loss and a take-profit (a stop inside the entry bar included), on real daily
bars from the shared data and on the project's sample data; the backtest is the reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.data.sample import generate_daily
from alphaforge.data.store import ParquetStore
from alphaforge.ledger import Ledger
from alphaforge.services.backtest import run_spec
from alphaforge.services.trading import ReplayRequest, build_replay, run_replay
from alphaforge.sim import codes as C
from alphaforge.testing import shared_data_file
from alphaforge.testing.ledger_db import scratch_ledger_url

pytestmark = [pytest.mark.parity, pytest.mark.integration]

STRATEGY = f"{Path(__file__).with_name('_level_entries.py')}:LevelEntries"
BASE: dict[str, Any] = {
    "strategy": STRATEGY, "direction": "long_short",
    "costs": {"commission": "0.1%", "slippage": "5bps"},
    "exits": {"stop_loss": "2%", "take_profit": "4%"},
}  # fmt: skip

CASES: dict[str, dict[str, Any]] = {
    # order_type auto: the strategy supplies the limit prices
    "limit_day_auto": {"params": {"kind": "limit", "offset": 0.005}},
    "limit_gtc": {"params": {"kind": "limit", "offset": 0.02}, "order_type": "limit",
                  "time_in_force": "gtc"},
    "stop_day": {"params": {"kind": "stop", "offset": 0.005}, "order_type": "stop"},
    "stop_gtc": {"params": {"kind": "stop", "offset": 0.02}, "time_in_force": "gtc"},
    "stop_limit_day": {"params": {"kind": "stop_limit", "offset": 0.005},
                       "order_type": "stop_limit"},
    "stop_limit_gtc": {"params": {"kind": "stop_limit", "offset": 0.01},
                       "time_in_force": "gtc"},
}  # fmt: skip


def _real(case: dict[str, Any]) -> RunSpec:
    data = shared_data_file("us_equities_daily.parquet")
    return RunSpec.model_validate(
        {**BASE, **case, "data": str(data), "symbols": ["MSFT"], "start": "2012-01-01",
         "end": "2015-12-31", "timeframe": "1d"}
    )  # fmt: skip


def _sample(case: dict[str, Any]) -> RunSpec:
    return RunSpec.model_validate({**BASE, **case, "symbols": ["SYN01"], "timeframe": "1d"})


def sample_store(tmp_path: Path) -> AppSettings:
    """A home whose store holds the project's sample data (three daily symbols, four years)."""
    settings = AppSettings(home=tmp_path)
    bars = generate_daily(seed=7, n_symbols=3, start="2016-01-04", years=4)
    bars["timestamp"] = pd.to_datetime(bars["timestamp"], utc=True)
    ParquetStore(settings.store_dir).write(bars, "1d")
    return settings


def replay(spec: RunSpec, settings: AppSettings, url: str) -> dict[str, Any]:
    """Replay ``spec`` and return the stepper's records and the ledger's orders and trades."""
    ledger = Ledger.open(url)
    try:
        setup = build_replay(spec, settings, ledger, ReplayRequest(None, None, None))
        setup.node.st.keep_records()
        out = run_replay(setup, None)
        trades, orders, _events = setup.node.st.records()
        return {
            "out": out, "trades": trades, "orders": orders,
            "ledger_orders": ledger.orders(setup.run_id),
            "ledger_trades": ledger.trades(setup.run_id),
            "venue": {p.symbol: p.qty for p in setup.node.p.venue.positions()},
            "book": {s: setup.node.st.qty(j) for j, s in enumerate(setup.panel.symbols)
                     if setup.node.st.qty(j) != 0.0},
        }  # fmt: skip
    finally:
        ledger.close()


def order_rows(orders: np.ndarray) -> list[tuple[int, int, int, float, int, int]]:
    return sorted(
        (int(o["bar"]), int(o["symbol"]), int(o["side"]), round(float(o["qty"]), 9),
         int(o["status"]), int(o["reason"]))
        for o in orders
    )  # fmt: skip


def same_trades(run: dict[str, Any], backtest: Any) -> np.ndarray:
    """Assert the run's trades are the backtest's; returns the backtest's closed trades."""
    bt = backtest.trade_records
    closed = bt[bt["exit_reason"] != C.EXIT_END_OF_DATA]
    trades = np.sort(run["trades"], order=["exit_bar", "symbol", "entry_bar"])
    closed = np.sort(closed, order=["exit_bar", "symbol", "entry_bar"])
    assert len(trades) == len(closed)
    for field in ("symbol", "direction", "entry_bar", "exit_bar", "qty", "exit_reason"):
        np.testing.assert_array_equal(trades[field], closed[field], err_msg=field)
    for field in ("entry_price", "exit_price", "fees", "pnl"):
        np.testing.assert_allclose(trades[field], closed[field], rtol=1e-12, err_msg=field)
    assert order_rows(run["orders"]) == order_rows(backtest.order_records)
    assert run["out"].final_equity == pytest.approx(backtest.final_equity, rel=1e-12)
    assert run["venue"] == run["book"]
    return closed


@pytest.mark.parametrize("name", sorted(CASES))
def test_replay_equals_backtest_on_real_bars(name: str, tmp_path: Path) -> None:
    settings = AppSettings(home=tmp_path)
    spec = _real(CASES[name])
    backtest = run_spec(spec, settings)
    with scratch_ledger_url("sqlite", tmp_path) as url:
        run = replay(spec, settings, url)
    closed = same_trades(run, backtest)
    assert len(closed) >= 5, "the case must trade to mean anything"
    assert {int(d) for d in closed["direction"]} == {-1, 1}  # longs and shorts
    reasons = {int(r) for r in closed["exit_reason"]}
    assert {C.EXIT_STOP_LOSS, C.EXIT_TAKE_PROFIT} <= reasons, reasons
    status = backtest.order_records["status"]
    if CASES[name].get("time_in_force") != "gtc":
        assert np.sum(status == C.STATUS_EXPIRED) > 0  # day entries that did not fill
        expired = [o for o in run["ledger_orders"] if o.state == "expired"]
        assert len(expired) == int(np.sum(status == C.STATUS_EXPIRED))
    else:
        assert np.sum(status == C.STATUS_EXPIRED) == 0


def test_sample_data_and_a_stop_inside_the_entry_bar(tmp_path: Path) -> None:
    """The project's sample data, several symbols: a stop hit in the bar its limit entry
    filled in is an exit of that bar, as in the backtest."""
    settings = sample_store(tmp_path)
    spec = RunSpec.model_validate({
        **BASE, "symbols": ["SYN01", "SYN02", "SYN03"], "timeframe": "1d",
        "params": {"kind": "limit", "offset": 0.003}, "exits": {"stop_loss": "1%",
                                                                "take_profit": "2%"},
        "sizing": {"method": "fraction", "value": 0.3},
    })  # fmt: skip
    backtest = run_spec(spec, settings)
    with scratch_ledger_url("sqlite", tmp_path) as url:
        run = replay(spec, settings, url)
    closed = same_trades(run, backtest)
    in_bar = closed[(closed["bars_held"] == 0) & (closed["exit_reason"] == C.EXIT_STOP_LOSS)]
    assert len(in_bar) > 0
    # the entry bar's target waits: no take-profit in the bar of a limit entry
    tp = closed[closed["exit_reason"] == C.EXIT_TAKE_PROFIT]
    assert len(tp) > 0 and np.all(tp["bars_held"] > 0)


def _fills(ledger: Ledger, run_id: str) -> list[tuple[str, str, str, float, float, float]]:
    return [
        (f.ts, f.symbol, f.side, float(f.qty), round(float(f.price), 6), round(float(f.fee), 6))
        for f in ledger.fills(run_id)
    ]


def test_restart_with_a_working_gtc_entry_gives_the_uninterrupted_run(tmp_path: Path) -> None:
    settings = AppSettings(home=tmp_path)
    spec = _real(CASES["limit_gtc"])
    with scratch_ledger_url("sqlite", tmp_path) as url:
        ledger = Ledger.open(url)
        try:
            ref = build_replay(spec, settings, ledger, ReplayRequest(None, None, None, "ref"))
            run_replay(ref, None)
            first = build_replay(spec, settings, ledger, ReplayRequest(None, None, None, "cut"))
            node, t = first.node, first.start
            # stop after a bar that leaves a gtc entry working at the venue, sent bars before
            while not (t > 100 and node.resting and _spans(node, t)):
                node.step(t)
                t += 1
            working = set(node.resting.values())
            node.commit()
            first.close()
            again = build_replay(spec, settings, ledger, ReplayRequest(None, None, None, "cut"))
            assert again.start == t
            assert set(again.node.resting.values()) == working  # carried over the restart
            assert working <= {o.client_id for o in again.node.p.venue.open_orders()}
            assert not again.node.reconcile(again.start, None, set())
            run_replay(again, None)
            assert _fills(ledger, "cut") == _fills(ledger, "ref")
            assert [t.exit_reason for t in ledger.trades("cut")] == [
                t.exit_reason for t in ledger.trades("ref")
            ]
        finally:
            ledger.close()


def _spans(node: Any, t: int) -> bool:
    """Whether a working entry of ``node`` was sent before bar ``t - 1`` (a gtc entry that
    stayed working over a bar)."""
    bar = node._texts[t - 2]
    return any(node.oms.orders[cid].request.bar <= bar for cid in node.resting.values())


def test_gtc_entries_are_resized_at_each_open(tmp_path: Path) -> None:
    """The backtest sizes a gtc entry when it fills: a working entry whose size changes with
    the equity is replaced (the old one cancelled), and the fills are the backtest's."""
    settings = AppSettings(home=tmp_path)
    spec = _real(CASES["limit_gtc"])
    with scratch_ledger_url("sqlite", tmp_path) as url:
        run = replay(spec, settings, url)
    entries = [o for o in run["ledger_orders"] if o.intent == "entry"]
    assert {o.type for o in entries} == {"limit"}
    assert {o.tif for o in entries} == {"gtc"}
    assert any(o.state == "cancelled" for o in entries)  # replaced by a new size


@pytest.mark.parametrize("extra", [{"order_type": "limit"}, {}])  # forced, or prices under auto
def test_limit_entries_are_held_alone_and_in_an_account_on_any_venue(
    extra: dict[str, Any], tmp_path: Path
) -> None:
    """Limit / stop entries are held by a run of one strategy and by an account of several
    strategies, on the simulated venue and on a broker
    (``tests/integration/test_paper_alpaca_limit_entries.py``,
    ``tests/integration/test_account_limit_entries.py``,
    ``tests/integration/test_account_alpaca_limit_entries.py``): nothing refuses them."""
    from alphaforge.services.accounts import sleeve_spec
    from alphaforge.services.backtest import load_spec_panel
    from alphaforge.services.trading import check_run, strategy_book

    settings = sample_store(tmp_path)
    alone = RunSpec.model_validate(
        {**BASE, "symbols": ["SYN01"], "timeframe": "1d", "broker": {"name": "alpaca"}, **extra}
    )
    check_run(alone)  # one strategy on a broker: held
    strategy_book(alone, load_spec_panel(alone, settings))
    account = {"symbols": ["SYN01"], "timeframe": "1d", **extra,
               "strategies": [{"strategy": STRATEGY, "allocation": 0.5}]}  # fmt: skip
    for venue in ({}, {"broker": {"name": "alpaca"}}):  # the simulated venue, a broker
        spec = RunSpec.model_validate({**account, **venue})
        check_run(spec)
        sleeve = sleeve_spec(spec, 0)
        _strategy, cfg, _clock, _book = strategy_book(sleeve, load_spec_panel(sleeve, settings))
        assert cfg.order_type == extra.get("order_type", "auto")
