"""A replay of limit, stop and stop-limit entries on Alpaca: ``paper --replay`` with ``broker:
{name: alpaca, replay_url: ...}``, alpaca-py's own clients against the local stand-in, which
follows the replayed bars (``tests/integration/test_runtime_alpaca.py`` does it for market
entries).

In a replay the node plans each open with that bar's open known, so an entry is sized, and its
bracket's levels are set, from the price the backtest's rule fills it at; the stand-in fills
limit / stop entries at that rule's price, with no costs, as Alpaca charges none. The reference
is the backtest of the same bars: each round trip (symbol, side, entry bar, exit bar, exit
reason, prices) is the backtest's, except where the one documented entry-bar difference of a
broker applies (docs/concepts/runtime.md): Alpaca activates a bracket's legs as soon as its
entry fills, so a take-profit that the entry bar reaches while its stop-loss is not reached
fills in that bar, at the target, where the backtest checks only the stop in the entry bar and
the target from the next bar on. Those trades are found from the bars and the backtest's fill
prices (:func:`target_in_entry_bar`) and expected closed at their target in the entry bar; the
gap difference of a live feed does not arise, since each bracket is measured from the fill.
Quantities are the backtest's up to the first such trade (its early profit changes the equity
later entries are sized with). The broker's positions are the ledger's and no client id is
sent twice. The stand-in here takes a reversal (exit and opposite entry at one open) as the
backtest does; Alpaca itself refuses the entry of one, which ``test_paper_alpaca_limit_entries``
checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from pydantic import SecretStr
from tests.integration.test_paper_alpaca_limit_entries import rule_price

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.core.panel import Panel
from alphaforge.ledger import Ledger
from alphaforge.services.backtest import load_spec_panel, run_spec
from alphaforge.services.trading import ReplayRequest, build_replay, run_replay
from alphaforge.sim import codes as C
from alphaforge.testing import shared_data_file
from alphaforge.testing.alpaca_broker import AlpacaBroker

pytestmark = [pytest.mark.integration, pytest.mark.parity]

STRATEGY = str(Path(__file__).parents[1] / "parity" / "_level_entries.py") + ":LevelEntries"
SL, TP = 0.02, 0.04
CASES: dict[str, dict[str, Any]] = {
    # order_type auto: the strategy gives the limit prices; day entries expire at the close
    "limit_day": {"params": {"kind": "limit", "offset": 0.005}},
    "limit_gtc": {"params": {"kind": "limit", "offset": 0.02}, "order_type": "limit",
                  "time_in_force": "gtc"},
    "stop_gtc": {"params": {"kind": "stop", "offset": 0.02}, "order_type": "stop",
                 "time_in_force": "gtc"},
    "stop_limit_day": {"params": {"kind": "stop_limit", "offset": 0.005},
                       "order_type": "stop_limit"},
}  # fmt: skip
Trip = tuple[int, int, int, int, int]  # symbol, direction, entry bar, exit bar, exit reason


def _spec(case: dict[str, Any], broker: dict[str, str] | None) -> RunSpec:
    return RunSpec.model_validate({
        "strategy": STRATEGY, "direction": "long_short", "symbols": ["MSFT", "JPM"],
        "data": str(shared_data_file("us_equities_daily.parquet")),
        "start": "2012-01-01", "end": "2015-12-31", "timeframe": "1d",
        "costs": {"commission": 0, "slippage": 0}, "sizing": {"method": "fraction", "value": 0.4},
        "exits": {"stop_loss": f"{SL:.0%}", "take_profit": f"{TP:.0%}"},
        **case, **({"broker": broker} if broker else {}),
    })  # fmt: skip


def _replay(case: dict[str, Any], tmp: Path) -> dict[str, Any]:
    """Replay ``case`` on the stand-in (its own account of the backtest's cash)."""
    # the broker takes a reversal in one order, as the backtest does; Alpaca refuses it
    # (test_paper_alpaca_limit_entries shows what the runtime does then)
    start = pd.Timestamp("2012-01-02 14:30", tz="UTC")
    with AlpacaBroker(cash=100_000.0, now=start, through_zero=True) as broker:
        settings = AppSettings(
            home=tmp, alpaca_api_key=SecretStr(broker.api_key),
            alpaca_secret_key=SecretStr(broker.secret_key),
        )  # fmt: skip
        spec = _spec(case, {"name": "alpaca", "base_url": broker.url,
                            "stream_url": broker.stream_url, "replay_url": broker.url})  # fmt: skip
        with Ledger.open(f"sqlite:///{tmp / 'ledger.db'}") as ledger:
            setup = build_replay(spec, settings, ledger, ReplayRequest(None, None, None))
            try:
                setup.node.st.keep_records()  # every record, to compare with the backtest's
                out = run_replay(setup, None)
                venue = {p.symbol: p.qty for p in setup.node.p.venue.positions()}
            finally:
                setup.close()
            trades, orders, _events = setup.node.st.records()
            return {
                "out": out, "trades": trades, "records": orders, "venue": venue,
                "held": {p.symbol: float(p.qty) for p in ledger.positions(setup.run_id)},
                "reasons": sorted(t.exit_reason for t in ledger.trades(setup.run_id)),
                "orders": ledger.orders(setup.run_id), "fills": ledger.fills(setup.run_id),
                "created": broker.new_order_ids(),
            }  # fmt: skip


def target_in_entry_bar(trade: Any, panel: Panel) -> float | None:
    """The take-profit a broker fills in ``trade``'s entry bar (None: it does not): the bar
    reaches the target (``TP`` from the entry price) and not the stop-loss (``SL``), and the
    backtest, which waits for the next bar for a target, did not exit in that bar."""
    j, d, e = int(trade["symbol"]), float(trade["direction"]), int(trade["entry_bar"])
    px = float(trade["entry_price"])
    stop, target = px * (1 - d * SL), px * (1 + d * TP)
    hi, lo = float(panel.high[e, j]), float(panel.low[e, j])
    worst, best = (lo, hi) if d > 0 else (hi, lo)
    reached = d * best >= d * target and d * worst > d * stop
    return target if reached and int(trade["exit_bar"]) > e else None


def _trip(t: Any) -> Trip:
    return (int(t["symbol"]), int(t["direction"]), int(t["entry_bar"]), int(t["exit_bar"]),
            int(t["exit_reason"]))  # fmt: skip


def _expected(closed: np.ndarray, panel: Panel) -> tuple[dict[Trip, tuple[float, float]], int]:
    """The trips a broker makes of the backtest's: trip -> (entry, exit price), with the target
    filled in the entry bar where :func:`target_in_entry_bar` says so; and the entry bar of the
    first such trip (-1: none)."""
    out: dict[Trip, tuple[float, float]] = {}
    first = -1
    for t in closed:
        target = target_in_entry_bar(t, panel)
        s, d, e, x, r = _trip(t)
        if target is None:
            out[(s, d, e, x, r)] = (float(t["entry_price"]), float(t["exit_price"]))
            continue
        out[(s, d, e, e, C.EXIT_TAKE_PROFIT)] = (float(t["entry_price"]), target)
        first = e if first < 0 else min(first, e)
    return out, first


def _order_rows(orders: np.ndarray, until: int) -> list[tuple[int, int, int, float, int, int]]:
    """The order records of the bars before ``until``: bar, symbol, side, quantity, status,
    reason."""
    return sorted(
        (int(o["bar"]), int(o["symbol"]), int(o["side"]), round(float(o["qty"]), 9),
         int(o["status"]), int(o["reason"]))
        for o in orders if int(o["bar"]) < until
    )  # fmt: skip


def _expiries(run: dict[str, Any], backtest: Any, panel: Panel, until: int, day: bool) -> None:
    """Before bar ``until``: every day entry the backtest expired is expired at the broker,
    and every entry the broker expired did not trigger in its bar by the backtest's rule
    (Alpaca ends a day order at its session's close; one a new signal replaced ends there
    too, which the backtest does not record)."""
    rec = backtest.order_records
    want = {(int(o["bar"]), panel.symbols[int(o["symbol"])]) for o in rec
            if o["status"] == C.STATUS_EXPIRED and int(o["bar"]) < until}  # fmt: skip
    at = {ts: i for i, ts in enumerate(panel.index)}
    got = {}
    for o in run["orders"]:
        b = at[pd.Timestamp(o.bar)]
        if o.state == "expired" and b < until:
            got[(b, o.symbol)] = o
    assert want <= set(got)
    assert (len(want) > 0) == day
    for (b, sym), o in got.items():
        j = panel.symbols.index(sym)
        bar = {"open": panel.open[b, j], "high": panel.high[b, j], "low": panel.low[b, j]}
        lim = float(o.limit) if o.limit is not None else np.nan
        stp = float(o.stop) if o.stop is not None else np.nan
        assert rule_price(o.side, o.type, lim, stp, bar) is None, (o, bar)


_RUNS: dict[str, tuple[dict[str, Any], Any, Panel]] = {}


def _case(name: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Any, Panel]:
    """The replay on the stand-in, the backtest and the bars of case ``name`` (once)."""
    if name not in _RUNS:
        tmp = tmp_path_factory.mktemp(name)
        run = _replay(CASES[name], tmp)
        settings = AppSettings(home=tmp)
        spec = _spec(CASES[name], None)
        _RUNS[name] = (run, run_spec(spec, settings), load_spec_panel(spec, settings))
    return _RUNS[name]


@pytest.mark.parametrize("name", sorted(CASES))
def test_a_replay_on_alpaca_trades_as_the_backtest_but_for_targets_in_the_entry_bar(
    name: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run, backtest, panel = _case(name, tmp_path_factory)
    bt = backtest.trade_records
    closed = bt[bt["exit_reason"] != C.EXIT_END_OF_DATA]
    assert len(closed) >= 20, "the case must trade to mean anything"
    assert {int(d) for d in closed["direction"]} == {-1, 1}
    assert {C.EXIT_STOP_LOSS, C.EXIT_TAKE_PROFIT} <= {int(r) for r in closed["exit_reason"]}
    want, first = _expected(closed, panel)
    got = {_trip(t): (float(t["entry_price"]), float(t["exit_price"])) for t in run["trades"]}
    assert sorted(got) == sorted(want)
    for trip, (entry, exit_) in want.items():  # the backtest rule's prices, or the target's
        assert got[trip] == pytest.approx((entry, exit_), rel=1e-9), trip
    by_entry = {(int(t["symbol"]), int(t["entry_bar"])): float(t["qty"]) for t in closed}
    for t in run["trades"]:  # sized as the backtest sizes, up to the first early target
        if first < 0 or int(t["entry_bar"]) <= first:
            assert float(t["qty"]) == by_entry[(int(t["symbol"]), int(t["entry_bar"]))]
    if first < 0:  # no difference arose: the run is the backtest's
        assert run["out"].final_equity == pytest.approx(backtest.final_equity, rel=1e-9)
    # the orders (fills, expiries of day entries, refusals) are the backtest's until then
    until = first if first >= 0 else panel.shape[0]
    assert _order_rows(run["records"], until) == _order_rows(backtest.order_records, until)
    _expiries(run, backtest, panel, until, day=name.endswith("_day"))
    # the ledger's round trips carry the exit reasons the broker's orders closed them with
    assert run["reasons"] == sorted(C.EXIT_NAMES[trip[4]] for trip in want)
    # each bracket is measured from its entry's fill: the live feed's gap difference is absent
    entries = {o.client_id: o for o in run["orders"] if o.intent == "entry"}
    bracketed = 0
    for f in run["fills"]:
        o = entries.get(f.client_id)
        if o is None or o.stop_loss is None:
            continue
        sign = 1.0 if o.side == "buy" else -1.0
        assert float(o.stop_loss) == pytest.approx(float(f.price) * (1 - sign * SL), rel=1e-9)
        assert float(o.take_profit) == pytest.approx(float(f.price) * (1 + sign * TP), rel=1e-9)
        bracketed += 1
    assert bracketed >= 20
    assert {o.type for o in entries.values()} == {name.rsplit("_", 1)[0]}
    assert {o.tif for o in entries.values()} == {name.rsplit("_", 1)[1]}
    # the broker's positions are the ledger's; no client id created twice
    assert run["venue"] == run["held"]
    assert len(run["created"]) == len(set(run["created"]))
    ids = [o.client_id for o in run["orders"]]
    assert len(ids) == len(set(ids))


def test_a_target_in_the_entry_bar_is_taken_by_alpacas_legs(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The documented difference arises in the day limit case: those trades close at their
    target in the entry bar on the stand-in, later in the backtest."""
    run, backtest, panel = _case("limit_day", tmp_path_factory)
    bt = backtest.trade_records
    early = [t for t in bt[bt["exit_reason"] != C.EXIT_END_OF_DATA]
             if target_in_entry_bar(t, panel) is not None]  # fmt: skip
    assert early, "a backtest trade whose entry bar reaches its target and not its stop"
    got = {_trip(t): t for t in run["trades"]}
    for t in early:
        s, d, e, x, _r = _trip(t)
        assert x > e  # the backtest held it over its entry bar
        mine = got[(s, d, e, e, C.EXIT_TAKE_PROFIT)]
        assert float(mine["exit_price"]) == pytest.approx(
            float(t["entry_price"]) * (1 + d * TP), rel=1e-9
        )
