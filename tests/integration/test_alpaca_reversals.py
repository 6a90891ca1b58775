"""Reversals on Alpaca: the exit first, the opposite entry once the exit has filled.

Alpaca takes no position through zero in one order, and the stand-in applies that rule here
(its default). A ``long_short`` strategy reversing at one open therefore needs two orders; the
node holds the entry until the broker reports the exit filled (``engine/node_reversals.py``):

* in a replay the stand-in gets the bar's open alone first, then the held entries, then the
  whole bar, so both fill at the same open, as in the backtest;
* on a live feed the close's orders go out for the next open, and the entry leaves between
  cycles as soon as the exit's fill arrives; the stand-in fills a market order received after
  a session's open at that open.

The references are independent of the broker path: a replay of the same bars on the simulated
venue, which takes a reversal in one order with the backtest's rules (zero costs on both, and
Alpaca charges no commission), and the bars' own opens.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from pydantic import SecretStr
from tests.integration.test_paper_alpaca_live import _opens, _round_trips, _run, _spec

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.ledger import Ledger
from alphaforge.services.trading import ReplayRequest, build_replay, run_replay
from alphaforge.testing.alpaca_broker import AlpacaBroker

pytestmark = pytest.mark.integration

LONG_SHORT: dict[str, Any] = {
    "direction": "long_short"
}  # a reversal at every crossing (and 4% stops)


def _log(home: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for p in sorted((home / "logs").glob("*.jsonl"))
            for line in p.read_text().splitlines()]  # fmt: skip


def _replay(home: Path, data: Path, broker: AlpacaBroker | None) -> dict[str, Any]:
    """A replay of the sample bars in ``data``, on the stand-in or (None) the simulated venue."""
    spec: dict[str, Any] = {**_spec(None, **LONG_SHORT), "feed": {}, "schedule": {},
                            "data": str(data), "start": "2018-01-02", "end": "2018-12-31"}  # fmt: skip
    settings = AppSettings(home=home)
    if broker is not None:
        spec["broker"] = {"name": "alpaca", "base_url": broker.url,
                          "stream_url": broker.stream_url, "replay_url": broker.url}  # fmt: skip
        settings = AppSettings(home=home, alpaca_api_key=SecretStr(broker.api_key),
                               alpaca_secret_key=SecretStr(broker.secret_key))  # fmt: skip
    with Ledger.open(f"sqlite:///{home / 'ledger.db'}") as ledger:
        setup = build_replay(RunSpec.model_validate(spec), settings, ledger,
                             ReplayRequest(None, None, None))  # fmt: skip
        try:
            run_replay(setup, None)
            venue = {p.symbol: p.qty for p in setup.node.p.venue.positions()}
        finally:
            setup.close()
        return {
            "trips": sorted(_round_trips(ledger, setup.run_id)),
            "trades": ledger.trades(setup.run_id), "orders": ledger.orders(setup.run_id),
            "fills": ledger.fills(setup.run_id), "venue": venue,
            "ledger": {p.symbol: float(p.qty) for p in ledger.positions(setup.run_id)},
        }  # fmt: skip


def _check_held(run: dict[str, Any], log: list[dict[str, Any]]) -> int:
    """Every held entry was sent once its exit filled and filled at the exit's price (the same
    open); nothing was refused. Returns the number of held entries."""
    assert [o for o in run["orders"] if o.state == "rejected"] == []
    fills = {f.client_id: f for f in run["fills"]}
    held = [x for x in log if x["event"] == "held"]
    sent = {x["client_id"] for x in log if x["event"] == "order"}
    for h in held:
        assert h["client_id"] in sent, h
        entry, exit_ = fills[h["client_id"]], fills[h["until"]]
        assert entry.ts == exit_.ts and float(entry.price) == float(exit_.price), (entry, exit_)
        assert entry.side == exit_.side  # (a long's exit and a short entry both sell)
    assert not [x for x in log if x["event"] == "not_sent"]
    return len(held)


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from alphaforge.data.sample import generate_daily

    path = tmp_path_factory.mktemp("bars") / "bars.parquet"
    bars = generate_daily(seed=7, n_symbols=3, start="2017-06-01", years=2)
    bars["timestamp"] = pd.to_datetime(bars["timestamp"], utc=True)
    bars.to_parquet(path)
    return path


def test_a_replay_on_alpaca_reverses_in_two_orders_at_one_open(
    tmp_path: Path, sample_file: Path
) -> None:
    start = pd.Timestamp("2017-12-29 21:00", tz="UTC")
    with AlpacaBroker(cash=100_000.0, now=start) as broker:  # Alpaca's rule: no through zero
        live = _replay(tmp_path / "alpaca", sample_file, broker)
        created = broker.new_order_ids()
    sim = _replay(tmp_path / "sim", sample_file, None)
    n = _check_held(live, _log(tmp_path / "alpaca"))
    assert n >= 3, "the case has reversals"
    assert live["trips"] == sim["trips"]  # the simulated venue reverses in one order

    def key(t: Any) -> tuple[str, str, str]:
        return (t.symbol, t.entry_ts, t.side)

    for a, b in zip(sorted(live["trades"], key=key), sorted(sim["trades"], key=key), strict=True):
        assert (a.entry_price, a.exit_price, a.qty) == (b.entry_price, b.exit_price, b.qty)
    assert live["venue"] == live["ledger"]
    assert len(created) == len(set(created))


def test_paper_on_alpaca_sends_a_reversals_entry_after_its_exit_fills(tmp_path: Path) -> None:
    live = _run(tmp_path, [], **LONG_SHORT)
    home = tmp_path
    n = _check_held(live, _log(home))
    assert n >= 3, "the case has reversals"
    opens = _opens(live["bars"])
    orders = {o.client_id: o for o in live["orders"]}
    days = sorted({ts for _s, ts in opens})
    market = [f for f in live["fills"] if orders[f.client_id].intent in ("entry", "exit")]
    for f in market:  # every market order at the open after its close, the held too
        nxt = days[days.index(orders[f.client_id].bar) + 1]
        assert float(f.price) == pytest.approx(opens[(f.symbol, nxt)], rel=1e-12)
    assert live["venue_positions"] == live["ledger_positions"]
    assert len(live["created"]) == len(set(live["created"]))
    # the round trips of a replay of the same bars on the simulated venue
    with Ledger.open(f"sqlite:///{tmp_path / 'replay.db'}") as ledger:
        origin = str(pd.Timestamp(live["origin"]).date())
        spec = RunSpec.model_validate({**_spec(None, **LONG_SHORT), "start": origin,
                                       "end": live["panel_end"]})  # fmt: skip
        setup = build_replay(spec, AppSettings(home=tmp_path), ledger,
                             ReplayRequest(None, None, None))  # fmt: skip
        run_replay(setup, None)
        replayed = _round_trips(ledger, setup.run_id, live["first"].isoformat())
    assert sorted(live["trades"]) == sorted(replayed)


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """An uninterrupted paper run, and the first close that held a reversal's entry."""
    home = tmp_path_factory.mktemp("whole")
    run = _run(home, [], **LONG_SHORT)
    run["held"] = [x for x in _log(home) if x["event"] == "held"]
    return run


def _night_after(bar: str) -> str:
    """23:00 UTC of ``bar``'s day: after its close's cycle, before the next open."""
    return f"{bar[:10]} 23:00"


def _same_as_whole(broken: dict[str, Any], whole: dict[str, Any], home: Path) -> None:
    _check_held(broken, _log(home))
    assert sorted(broken["trades"]) == sorted(whole["trades"])
    assert broken["venue_positions"] == broken["ledger_positions"]
    assert len(broken["created"]) == len(set(broken["created"]))


def test_a_restart_at_the_open_sends_the_held_entry_at_that_open(
    tmp_path: Path, whole: dict[str, Any]
) -> None:
    """The process stops when the exit has filled at the open, before it sends the entry; the
    restart finds the exit filled while its bar is still open and sends the entry. The restart
    also finds another symbol's bracket entry filled at this open: that fill belongs to the bar
    still to come, whose cycle books it with its order (its legs become the position's
    protection), not to the restart as a fill made while down."""
    first = whole["held"][0]
    broken = _run(tmp_path, [(_night_after(first["bar"]), 0)], **LONG_SHORT)
    log = _log(tmp_path)
    assert any(x["event"] == "restarted" for x in log)
    assert not [x for x in log if x["event"] in ("reconcile", "unplaced_fill")], [
        x for x in log if x["event"] in ("reconcile", "unplaced_fill")
    ]
    held = [x for x in log if x["event"] == "held"]
    assert (held[0]["symbol"], held[0]["bar"]) == (first["symbol"], first["bar"])
    _same_as_whole(broken, whole, tmp_path)


def test_an_entry_sent_just_before_a_crash_is_taken_as_sent(
    tmp_path: Path, whole: dict[str, Any]
) -> None:
    """The entry reached the broker, then the process died before the ledger had it: the
    restart's send finds the broker's order (same client id) and books its fill."""
    first = whole["held"][0]
    sent: list[str] = []

    def crash_after_send(broker: AlpacaBroker, home: Path) -> None:
        h = [x for x in _log(home) if x["event"] == "held"][-1]
        broker.submit({"symbol": h["symbol"], "qty": str(h["qty"]), "side": h["side"],
                       "type": "market", "time_in_force": "day",
                       "client_order_id": h["client_id"]})  # fmt: skip
        sent.append(h["client_id"])

    broken = _run(
        tmp_path, [(_night_after(first["bar"]), 0)], on_stop=crash_after_send, **LONG_SHORT
    )
    assert sent and sent[0] in {o.client_id for o in broken["orders"]}
    _same_as_whole(broken, whole, tmp_path)


def test_an_exit_filled_in_a_bar_that_closed_while_down_leaves_its_entry_unsent(
    tmp_path: Path, whole: dict[str, Any]
) -> None:
    first = whole["held"][0]
    broken = _run(tmp_path, [(_night_after(first["bar"]), 1)], **LONG_SHORT)
    log = _log(tmp_path)
    dropped = [x for x in log if x["event"] == "not_sent"]
    assert [(x["symbol"], x["bar"]) for x in dropped] == [(first["symbol"], first["bar"])]
    assert "in a bar that has closed since" in dropped[0]["reason"]
    cid = dropped[0]["client_id"]
    assert cid not in {o.client_id for o in broken["orders"]}  # never sent
    assert cid not in broken["created"]
    assert broken["venue_positions"] == broken["ledger_positions"]
    assert [o for o in broken["orders"] if o.state == "rejected"] == []


def test_a_halt_set_while_an_entry_is_held_stops_it(tmp_path: Path, whole: dict[str, Any]) -> None:
    """``alphaforge kill`` between the close that held the entry and its exit's fill: the exit
    still fills (it was sent), the entry is not sent."""
    first = whole["held"][0]

    def kill(_broker: AlpacaBroker, home: Path) -> None:
        with Ledger.open(f"sqlite:///{home / 'ledger.db'}") as ledger:
            ledger.halt(reason="by hand", flatten=False, by="test", ts="2018-01-01T00:00:00Z")

    broken = _run(tmp_path, [(_night_after(first["bar"]), 0)], on_stop=kill, **LONG_SHORT)
    log = _log(tmp_path)
    dropped = [x for x in log if x["event"] == "not_sent"]
    assert [(x["symbol"], x["bar"]) for x in dropped] == [(first["symbol"], first["bar"])]
    assert dropped[0]["reason"] == "trading is halted"
    assert dropped[0]["client_id"] not in {o.client_id for o in broken["orders"]}
    assert not [o for o in broken["orders"] if o.intent == "entry" and o.bar > first["bar"]]
    assert broken["venue_positions"] == broken["ledger_positions"]
