"""Limit, stop and stop-limit entries on Alpaca with a live feed: alpaca-py's own clients against
the local stand-in, with the market clock of ``test_paper_alpaca_live``.

At the close of bar ``t`` the live node (``alphaforge.engine.live_node``) sizes the strategy's
limit / stop entries for bar ``t + 1`` and sends them at once, each with its stop-loss /
take-profit bracket; the broker fills them inside the next session's range, and the next close
books the fills, ends the day entries Alpaca expired and replaces the gtc entries whose size
changed. The references are independent of the runtime's broker path:

* the round trips (symbol, side, entry bar, exit bar, exit reason) of a replay of the same bars
  on the simulated venue (the backtest's rules), from the live run's first traded bar on;
* each entry's fill price, recomputed here from the bars with the backtest's rule (a buy limit
  fills at ``min(open, limit)``, a buy stop at ``max(open, stop)``, ...), and whether a day
  entry filled or expired in its bar;
* the broker's own positions and the client ids it was sent.

Quantities are left out of the comparison with the replay: a live node sizes at the close of
``t`` (the next open is unknown), a replay at the open of ``t + 1``, so with fraction sizing a
quantity may legitimately differ (a documented difference); the broker's positions are checked
against the ledger's instead.

Two differences between a broker and the backtest in an entry's own bar are documented
(docs/concepts/runtime.md), not hidden:

* Alpaca activates a bracket's legs as soon as its entry fills, so after an entry filled inside
  a bar its take-profit may fill in the same bar (the stand-in does so when the bar's range
  reaches it), while the backtest checks only the stop in the entry bar and the target from the
  next bar on (:func:`test_a_bracket_target_may_fill_in_the_entry_bar_at_the_broker`);
* the bracket is sent before the open, with levels planned from the entry's limit / stop price;
  an open that gaps through that price fills the entry at the open, and until the next close
  the broker's stop stays where it was planned, while the backtest measures it from the fill.

:func:`entry_bar_differences` finds both from the bars; the cases' bars hit neither (asserted),
so their trips must be the replay's. A restart with a working gtc entry, the replacement of a
resized gtc entry and protection cancelled at the broker by hand are checked against the
uninterrupted run, and an entry the broker fills just before its cancel arrives against the
broker's positions.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from tests.integration.test_paper_alpaca_live import START, Market, _world

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.ledger import Ledger
from alphaforge.ports import BarSet
from alphaforge.services.paper import build_paper, run_paper
from alphaforge.services.trading import ReplayRequest, build_replay, run_replay
from alphaforge.testing.alpaca_book import Book
from alphaforge.testing.alpaca_broker import AlpacaBroker

pytestmark = pytest.mark.integration

STRATEGY = str(Path(__file__).parents[1] / "parity" / "_level_entries.py") + ":LevelEntries"
END = pd.Timestamp("2018-12-31 22:00", tz="UTC")
EXITS = {"stop_loss": "3%", "take_profit": "6%"}
CASES: dict[str, dict[str, Any]] = {
    # order_type auto: the strategy gives the limit prices; day entries expire at the close
    "limit_day": {"params": {"kind": "limit", "offset": 0.004}},
    # gtc stop entries stay working over closes, replaced when their size changes
    "stop_gtc": {"params": {"kind": "stop", "offset": 0.01}, "order_type": "stop",
                 "time_in_force": "gtc"},
    "stop_limit_day": {"params": {"kind": "stop_limit", "offset": 0.004},
                       "order_type": "stop_limit"},
}  # fmt: skip
Trip = tuple[str, str, str, str, str]  # symbol, side, entry date, exit date, exit reason


def _spec(case: dict[str, Any], broker: AlpacaBroker | None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "strategy": STRATEGY, "direction": "long_short", "symbols": ["SYN01", "SYN02", "SYN03"],
        "timeframe": "1d", "costs": {"commission": 0, "slippage": 0},  # Alpaca charges none
        "sizing": {"method": "fraction", "value": 0.3}, "exits": EXITS,
        "feed": {"source": "store", "history_bars": 60}, "schedule": {"delay_seconds": 180},
        **case,
    }  # fmt: skip
    if broker is not None:
        spec["broker"] = {"name": "alpaca", "base_url": broker.url, "stream_url": broker.stream_url}
    return spec


def _day(ts: Any) -> str:
    return str(pd.Timestamp(ts).date())


def _trips(ledger: Ledger, run_id: str) -> list[Trip]:
    return sorted(
        (t.symbol, t.side, _day(t.entry_ts), _day(t.exit_ts) if t.exit_ts else "", t.exit_reason)
        for t in ledger.trades(run_id)
    )


def _run_until(
    setup: Any, market: Market, until: pd.Timestamp, views: dict[str, str] | None = None
) -> None:
    """Run the paper loop until ``until``; the market never goes past it, so the broker has
    seen no bar the runtime has not. With ``views``: the terminal view as text, by the day
    of the market's clock, as the loop left it before each sleep (the last of a day is the
    view after that day's cycle)."""

    def sleep(seconds: float) -> None:
        if views is not None:
            views[str(market.now.date())] = _view_text(setup.node)
        market.sleep(min(seconds, max((until - market.now).total_seconds() + 1.0, 1.0)))

    run_paper(setup, lambda: market.now, sleep, lambda: market.now > until)


def _view_text(node: Any) -> str:
    """The paper loop's terminal view of ``node`` after its last cycle, as plain text."""
    from rich.console import Console

    from alphaforge.cli.trade import _view

    t = node.panel.shape[0] - 1
    console = Console(record=True, width=160, file=io.StringIO())
    console.print(_view(node, t, node.st.equity, None, 0.0))
    return console.export_text()


class HandMarket(Market):
    """The market, and someone who cancels every protective order at the broker by hand once
    the bar of ``day`` has reached it (before the runtime's cycle of that close)."""

    def __init__(
        self, store: Any, bars: pd.DataFrame, broker: AlpacaBroker, day: str, refuse: bool
    ) -> None:
        self.day, self.done, self.refuse = pd.Timestamp(day, tz="UTC"), False, refuse
        self.cancelled: list[str] = []
        super().__init__(store, bars, broker)

    def deliver(self) -> None:
        super().deliver()
        if self.done or self.pushed <= self.days.index(self.day):
            return
        self.done = True
        with self.broker.lock:
            book = self.broker.book
            for o in list(book.orders.values()):
                exit_leg = o.parent is not None and o.status == "new"
                if o.open and (exit_leg or o.order_class == "oco"):
                    self.broker.emit(book.cancel(o.id))
                    self.cancelled.append(o.client_order_id)
        if self.refuse:  # and the broker refuses the next order: the new protection
            self.broker.reject_next("protective order refused by the stand-in")


def _race_cancels(venue: Any, broker: AlpacaBroker, raced: list[str]) -> None:
    """Let the broker fill the first working entry the runtime cancels just before the cancel
    reaches it (at its level), as it can on intraday bars."""
    cancel = venue.cancel

    def racing(client_id: str) -> Any:
        if not raced and "-ent-" in client_id:
            with broker.lock:
                o = broker.book.by_client_id(client_id)
                if o.open:
                    px = float(o.stop_price or o.limit_price or 0.0)
                    broker.emit(broker.book.fill(o, o.remaining, px, broker.book.now))
                    raced.append(client_id)
        return cancel(client_id)

    venue.cancel = racing


def _run(
    tmp: Path,
    case: dict[str, Any],
    stop: pd.Timestamp | None = None,
    by_hand: str = "",
    race: bool = False,
    refuse: bool = False,
) -> dict[str, Any]:
    """Paper-trade ``case`` on the stand-in until END; with ``stop`` the process stops then
    and starts again at once with the same run id; with ``by_hand`` the protective orders
    are cancelled at the broker after that day's bar; with ``race`` the first entry the
    runtime cancels fills just before. Returns what the tests compare."""
    with AlpacaBroker(now=START - pd.Timedelta(days=120)) as broker:
        settings, store, bars = _world(tmp, broker)
        market = (
            HandMarket(store, bars, broker, by_hand, refuse)
            if by_hand
            else Market(store, bars, broker)
        )
        spec = RunSpec.model_validate(_spec(case, broker))
        out: dict[str, Any] = {"bars": bars, "restart": None, "home": tmp, "raced": [],
                               "views": {}}  # fmt: skip
        with Ledger.open(f"sqlite:///{tmp / 'ledger.db'}") as ledger:
            run_id = None
            for until in [t for t in (stop, END) if t is not None]:
                setup = build_paper(spec, settings, ledger, run_id, market.now)
                if run_id is None:
                    out["first"] = _day(setup.node.panel.index[-1] + pd.Timedelta(days=1))
                else:  # the restart: what it found working, and what reconciliation found
                    working = dict(setup.node.resting)
                    at_broker = {cid for cid in working.values()
                                 if broker.order(cid).open}  # fmt: skip
                    legs = [o for o in setup.node.p.venue.open_orders()
                            if o.parent_id in working.values()]  # fmt: skip
                    out["restart"] = (working, at_broker, legs,
                                      setup.node.pending_reconciliation())  # fmt: skip
                run_id = setup.run_id
                if race:
                    _race_cancels(setup.node.p.venue, broker, out["raced"])
                try:
                    _run_until(setup, market, until, out["views"] if refuse else None)
                    out["venue_positions"] = {
                        p.symbol: p.qty for p in setup.node.p.venue.positions()
                    }
                finally:
                    setup.close()
            assert run_id is not None
            out["run_id"], out["trips"] = run_id, _trips(ledger, run_id)
            out["ledger_positions"] = {p.symbol: float(p.qty) for p in ledger.positions(run_id)}
            out["orders"], out["fills"] = ledger.orders(run_id), ledger.fills(run_id)
            out["risk_events"] = ledger.risk_events(run_id)
            info = ledger.run(run_id)
            assert info is not None and info.replay_from is not None
            out["origin"] = _day(info.replay_from)
            out["panel_end"] = _day(setup.node.panel.index[-1])
        out["created"] = broker.new_order_ids()
        out["by_hand"] = getattr(market, "cancelled", [])
        out["requests"] = [(r.method, r.path, r.client_order_id) for r in broker.requests]
    return out


def _replay(case: dict[str, Any], live: dict[str, Any]) -> list[Trip]:
    """The round trips of a replay of the live run's stored bars (its warm-up too) on the
    simulated venue."""
    spec = RunSpec.model_validate(
        {**_spec(case, None), "start": live["origin"], "end": live["panel_end"]}
    )
    home = live["home"]
    with Ledger.open(f"sqlite:///{home / 'replay.db'}") as ledger:
        setup = build_replay(spec, AppSettings(home=home), ledger, ReplayRequest(None, None, None))
        run_replay(setup, None)
        return _trips(ledger, setup.run_id)


def _after_warmup(live: list[Trip], replayed: list[Trip], first: str) -> tuple[list[Trip], ...]:
    """The trips to compare: the replay's entered from the live run's first bar on, and the
    live run's but those on a symbol the replay still held then (the live run does not trade
    its warm-up; while a position the replay opened there is held, it ignores the entry signals
    the live run, flat, follows)."""
    busy = {s: x or "9999" for s, _side, e, x, _r in replayed if e < first <= (x or "9999")}
    kept = [t for t in live if t[2] >= busy.get(t[0], "")]
    return kept, [t for t in replayed if t[2] >= first]


# ---- the backtest's rule, from the bars -----------------------------------------------------
def rule_price(side: str, kind: str, limit: float, stop: float, bar: Any) -> float | None:
    """Where a limit / stop / stop-limit entry fills in ``bar`` (None: it does not), by the
    rule of docs/concepts/fills.md: a limit at the open when the open is through it, else at
    the limit; a stop at the open after a gap through it, else at the stop; a stop-limit at its
    stop's trigger price when that is within the limit, or at the limit when the open gapped
    beyond the limit and the bar came back to it."""
    o, h, lo = float(bar["open"]), float(bar["high"]), float(bar["low"])
    buy = side == "buy"
    if kind == "limit":
        if (buy and lo > limit) or (not buy and h < limit):
            return None
        return min(o, limit) if buy else max(o, limit)
    if (buy and h < stop) or (not buy and lo > stop):
        return None
    trig = max(o, stop) if buy else min(o, stop)
    if kind == "stop" or (buy and trig <= limit) or (not buy and trig >= limit):
        return trig
    if trig == o and ((buy and lo <= limit) or (not buy and h >= limit)):
        return limit
    return None


def _bar_table(bars: pd.DataFrame) -> dict[tuple[str, str], Any]:
    return {(str(r["symbol"]), _day(r["timestamp"])): r for r in bars.to_dict("records")}


def _days(bars: pd.DataFrame) -> list[str]:
    return sorted({_day(ts) for ts in bars["timestamp"]})


REFUSED = "insufficient qty available for order"


def refused_reversals(live: dict[str, Any]) -> list[Any]:
    """The entries Alpaca refused, each the second half of a reversal: Alpaca takes no position
    through zero in one order, and the entry was sent at the close that also sent the exit of
    the opposite position, while that position was still held (docs/concepts/runtime.md).
    Asserts that every rejected order is such an entry."""
    rejected = [o for o in live["orders"] if o.state == "rejected"]
    for o in rejected:
        assert o.intent == "entry" and REFUSED in o.state_reason, o
        assert any(x.intent == "exit" and x.symbol == o.symbol and x.bar == o.bar
                   and x.side == o.side for x in live["orders"]), o  # fmt: skip
    return rejected


def decision_log(home: Path) -> list[dict[str, Any]]:
    """Every line of the runs' decision logs under ``home``."""
    return [json.loads(line) for p in sorted(Path(home).rglob("*.jsonl"))
            for line in p.read_text().splitlines()]  # fmt: skip


def check_refused_trips(live: dict[str, Any], kept: list[Trip], same: list[Trip]) -> None:
    """The live run's trips are the replay's but those a refused reversal entry would have
    opened: each trip only the replay has is entered on the refused entry's symbol and side,
    after its decision bar."""
    refused = refused_reversals(live)
    assert set(kept) <= set(same), sorted(set(kept) - set(same))
    for sym, side, entry, _x, _r in sorted(set(same) - set(kept)):
        want = "buy" if side == "long" else "sell"
        assert any(o.symbol == sym and o.side == want and _day(o.bar) < entry
                   for o in refused), (sym, side, entry)  # fmt: skip


def check_entry_fills(live: dict[str, Any]) -> int:
    """Every entry fill is at the rule's price in the bar it filled in, and a day entry filled
    exactly when the rule triggers in the bar after its decision (else it expired). Returns the
    number of entry fills checked."""
    table, days = _bar_table(live["bars"]), _days(live["bars"])
    entries = {o.client_id: o for o in live["orders"] if o.intent == "entry"}
    checked = 0
    for f in live["fills"]:
        o = entries.get(f.client_id)
        if o is None:
            continue
        lim = float(o.limit) if o.limit is not None else np.nan
        stp = float(o.stop) if o.stop is not None else np.nan
        bar = table[(f.symbol, _day(f.ts))]
        want = rule_price(o.side, o.type, lim, stp, bar)
        assert want is not None, (o, bar)
        assert float(f.price) == pytest.approx(want, rel=1e-9), (o, f, bar)
        assert _day(f.ts) > _day(o.bar)  # never in the bar that decided it
        checked += 1
    refused = {o.client_id for o in refused_reversals(live)}
    for o in entries.values():
        if o.tif != "day" or _day(o.bar) == days[-1] or o.client_id in refused:
            continue  # (the last one's bar is not in yet; a refused one never worked)
        nxt = days[days.index(_day(o.bar)) + 1]
        lim = float(o.limit) if o.limit is not None else np.nan
        stp = float(o.stop) if o.stop is not None else np.nan
        hit = rule_price(o.side, o.type, lim, stp, table[(o.symbol, nxt)]) is not None
        assert o.state == ("filled" if hit else "expired"), (o, nxt)
    return checked


def planned_level(o: Any) -> float:
    """The price an entry's bracket was planned from: the level it fills at unless the open
    gaps through it (a limit's limit, a stop's or stop-limit's stop; the strategy puts them on
    the far side of the close, so the close the live node plans with never passes them)."""
    return float(o.limit if o.type == "limit" else o.stop)


def entry_bar_differences(live: dict[str, Any]) -> list[str]:
    """Entries whose entry bar a broker decides otherwise than the backtest (see the module
    docstring): the bracket's take-profit reached while its stop is not (Alpaca's legs are
    active from the fill on; the backtest waits for the next bar), or a gap through the entry's
    level (a fill at the open, a better price than planned) after which the bracket's stop,
    planned from the level, and the backtest's, measured from the fill, disagree on the bar."""
    table = _bar_table(live["bars"])
    entries = {o.client_id: o for o in live["orders"] if o.intent == "entry"}
    sl = float(EXITS["stop_loss"].rstrip("%")) / 100
    out = []
    for f in live["fills"]:
        o = entries.get(f.client_id)
        if o is None or o.take_profit is None or o.stop_loss is None:
            continue
        bar = table[(f.symbol, _day(f.ts))]
        sign = 1.0 if o.side == "buy" else -1.0  # of the position
        worst = float(bar["low"]) if sign > 0 else float(bar["high"])
        best = float(bar["high"]) if sign > 0 else float(bar["low"])
        sent_stop = sign * worst <= sign * float(o.stop_loss)
        if sign * best >= sign * float(o.take_profit) and not sent_stop:
            out.append(f"{o.symbol} {_day(f.ts)}: target in the entry bar")
        fill_stop = sign * worst <= sign * float(f.price) * (1 - sign * sl)
        if sent_stop != fill_stop:
            out.append(f"{o.symbol} {_day(f.ts)}: gap through {planned_level(o):g}")
    return out


# ---- the tests --------------------------------------------------------------------------------
_RUNS: dict[str, dict[str, Any]] = {}


def _whole(name: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The uninterrupted run of case ``name`` (run once per session)."""
    if name not in _RUNS:
        _RUNS[name] = _run(tmp_path_factory.mktemp(name), CASES[name])
    return _RUNS[name]


@pytest.mark.parametrize("name", sorted(CASES))
def test_limit_and_stop_entries_on_alpaca_trade_as_the_replay(
    name: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    live = _whole(name, tmp_path_factory)
    trips = live["trips"]
    assert len(trips) >= 5, trips
    assert {t[1] for t in trips} == {"long", "short"}
    reasons = {t[4] for t in trips}
    assert "stop_loss" in reasons, reasons
    assert entry_bar_differences(live) == []  # the documented differences do not arise here
    # (b) every entry at the backtest rule's price; day entries filled or expired as it says
    assert check_entry_fills(live) >= 5
    # (c) the broker's positions are the ledger's; (d) no client id created twice
    assert live["venue_positions"] == live["ledger_positions"]
    assert len(live["created"]) == len(set(live["created"]))
    ids = [o.client_id for o in live["orders"]]
    assert len(ids) == len(set(ids))
    # every entry left at the close of its decision bar with its bracket when flat
    entries = [o for o in live["orders"] if o.intent == "entry"]
    assert {o.type for o in entries} == {name.rsplit("_", 1)[0]}
    assert {o.tif for o in entries} == {name.rsplit("_", 1)[1]}
    bracketed = [o for o in entries if o.stop_loss is not None and o.take_profit is not None]
    assert bracketed
    sl, tp = (float(EXITS[k].rstrip("%")) / 100 for k in ("stop_loss", "take_profit"))
    for o in bracketed:  # the bracket's levels: the exits' distances from the planned level
        sign, level = (1.0 if o.side == "buy" else -1.0), planned_level(o)
        assert float(o.stop_loss) == pytest.approx(level * (1 - sign * sl), rel=1e-9), o
        assert float(o.take_profit) == pytest.approx(level * (1 + sign * tp), rel=1e-9), o
    # (a) the round trips of a replay of the same bars on the simulated venue
    replayed = _replay(CASES[name], live)
    kept, same = _after_warmup(trips, replayed, live["first"])
    assert len(kept) >= len(trips) - 1  # one excused at most
    # but the trips of the reversals Alpaca refuses in one bar (an inherent difference)
    refused = refused_reversals(live)
    assert refused, "the case has a reversal"
    check_refused_trips(live, kept, same)
    # and the decision log says so, with Alpaca's reason
    said = {e["client_id"] for e in decision_log(live["home"])
            if e.get("event") == "rejected" and REFUSED in e.get("reason", "")}  # fmt: skip
    assert said == {o.client_id for o in refused}


def test_gtc_entries_are_replaced_at_the_broker_when_their_size_changes(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A gtc entry stays working over the closes where its size and levels stay; a close that
    sizes it again differently cancels it at the broker and then sends the new one, under the
    client id of that close (a new signal's entry replaces it the same way)."""
    live = _whole("stop_gtc", tmp_path_factory)
    entries = sorted((o for o in live["orders"] if o.intent == "entry"), key=lambda o: o.bar)
    days = _days(live["bars"])
    spans = [o for o in entries if o.state == "filled" and _day(o.updated) > days[
        days.index(_day(o.bar)) + 1]]  # fmt: skip
    assert spans, "a gtc entry working over a close it was not resized at"
    calls = live["requests"]
    resized = 0
    for o in (o for o in entries if o.state == "cancelled"):
        after = [x for x in entries if x.symbol == o.symbol and x.bar > o.bar]
        assert after and _day(after[0].bar) == _day(o.updated), o  # the close that replaced it
        succ = after[0]
        resized += (succ.side, succ.stop) == (o.side, o.stop) and succ.qty != o.qty
        cancel = calls.index(("DELETE", f"/v2/orders/{o.venue_id}", None))
        assert cancel < calls.index(("POST", "/v2/orders", succ.client_id))  # cancel, then new
    assert resized, "a gtc entry resized at a close"


def test_a_restart_with_a_working_gtc_entry_gives_the_uninterrupted_trades(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    whole = _whole("stop_gtc", tmp_path_factory)
    # stop after the close before the bar a gtc entry sent closes earlier filled in: it is
    # working at the broker over the restart, and the restarted run books and settles its fill
    days = _days(whole["bars"])
    spans = [o for o in whole["orders"] if o.intent == "entry" and o.state == "filled"
             and days.index(_day(o.updated)) >= days.index(_day(o.bar)) + 2]  # fmt: skip
    assert spans
    before = days[days.index(_day(spans[0].updated)) - 1]
    stop = pd.Timestamp(f"{before} 21:30", tz="UTC")  # after that close's cycle
    broken = _run(tmp_path_factory.mktemp("restart"), CASES["stop_gtc"], stop)
    working, at_broker, legs, diffs = broken["restart"]
    assert working and set(working.values()) == at_broker  # carried over the restart
    assert legs, "the working entry's bracket legs are known to the restarted run"
    assert diffs == []  # nothing to reconcile: no orphan legs, nothing unknown
    assert broken["trips"] == whole["trips"]
    # and its orders: the entry is settled after the restart as it is without one (it is not
    # left pending, to be sent again while its position is held)
    assert _order_rows(broken) == _order_rows(whole)
    assert len(broken["created"]) == len(set(broken["created"]))
    assert broken["venue_positions"] == broken["ledger_positions"]


def _held_and_protected(whole: dict[str, Any]) -> tuple[Trip, str]:
    """The uninterrupted run's first trip closed by its stop after three bars or more, and the
    day after its entry: a bar over which its position is held and protected at the broker."""
    days = _days(whole["bars"])
    held = [t for t in whole["trips"] if t[4] == "stop_loss" and t[2] >= whole["first"]
            and days.index(t[3]) >= days.index(t[2]) + 3]  # fmt: skip
    assert held
    return held[0], days[days.index(held[0][2]) + 1]


def test_protection_cancelled_at_the_broker_is_placed_again_at_the_close(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """A protective order that ends at the broker unfilled while its position is held (by
    hand here; a day bracket's legs at the end of their session) is placed again at the
    close that learns it, so the run's trades are the uninterrupted run's."""
    whole = _whole("limit_day", tmp_path_factory)
    held, day = _held_and_protected(whole)
    hand = _run(tmp_path_factory.mktemp("by_hand"), CASES["limit_day"], by_hand=day)
    assert hand["by_hand"], "protective orders were working at the broker"
    again = [o for o in hand["orders"] if o.intent == "stop" and _day(o.bar) == day]
    assert {o.symbol for o in again} >= {held[0]}  # placed again at that close
    assert hand["trips"] == whole["trips"]
    assert hand["venue_positions"] == hand["ledger_positions"]


def test_a_refused_protection_is_a_risk_event_and_is_placed_at_the_next_close(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The broker refuses the protective order that replaces one cancelled by hand: the
    position is unprotected at the broker until the next close places it again. The refusal
    is an order ended ``rejected`` with the broker's reason, a ``protection_refused`` risk
    event of that bar naming the symbol, and a ``protection_rejected`` line of the decision
    log; the broker's positions stay the ledger's."""
    whole = _whole("limit_day", tmp_path_factory)
    held, day = _held_and_protected(whole)
    days = _days(whole["bars"])
    out = _run(tmp_path_factory.mktemp("refused"), CASES["limit_day"], by_hand=day, refuse=True)
    refused = [o for o in out["orders"] if o.state == "rejected" and o.intent == "stop"]
    assert [(o.symbol, _day(o.bar)) for o in refused] == [(held[0], day)]
    assert "protective order refused by the stand-in" in refused[0].state_reason
    events = [e for e in out["risk_events"] if e.rule == "protection_refused"]
    assert [(e.action, _day(e.bar)) for e in events] == [(f"unprotected {held[0]}", day)]
    nxt = days[days.index(day) + 1]
    again = [o for o in out["orders"] if o.intent == "stop" and o.symbol == held[0]
             and _day(o.bar) == nxt]  # fmt: skip
    assert again and again[0].state != "rejected"  # placed at the next close
    # the terminal view flags the position the broker holds no protection for, then not
    row = lambda text: next(ln for ln in text.splitlines() if ln.strip().startswith(held[0]))  # noqa: E731
    assert row(out["views"][day]).rstrip().endswith("NOT HELD")
    assert row(out["views"][nxt]).rstrip().endswith("held")
    assert "NOT HELD" not in out["views"][nxt]
    assert "replay" not in out["views"][day] and "bars/s" not in out["views"][day]
    logged = decision_log(out["home"])
    assert [e["client_id"] for e in logged if e.get("event") == "protection_rejected"] == [
        refused[0].client_id
    ]
    assert out["venue_positions"] == out["ledger_positions"]


def test_an_entry_the_broker_fills_before_its_cancel_arrives_is_booked(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """On intraday bars a working entry that a close replaces can fill at the broker before
    the cancel reaches it. Here the broker fills the first gtc entry the runtime cancels just
    before the cancel: the fill is booked on that entry when it arrives, after the node ended
    the entry, so the ledger's positions stay the broker's."""
    raced = _run(tmp_path_factory.mktemp("race"), CASES["stop_gtc"], race=True)
    assert raced["raced"]
    assert raced["raced"][0] in {f.client_id for f in raced["fills"]}
    assert raced["venue_positions"] == raced["ledger_positions"]
    assert len(raced["created"]) == len(set(raced["created"]))


def _order_rows(out: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The run's orders without their client ids (a run id is part of them)."""
    return sorted(
        tuple(str(v) for v in (o.symbol, o.bar, o.intent, o.side, o.type, o.qty, o.limit, o.stop,
                               o.stop_loss, o.take_profit, o.state))
        for o in out["orders"]
    )  # fmt: skip


def _bar(ts: str, o: float, h: float, lo: float, c: float) -> BarSet:
    one = lambda x: np.array([x], dtype="float64")  # noqa: E731
    return BarSet(pd.Timestamp(ts, tz="UTC"), ("X",), one(o), one(h), one(lo), one(c), one(1e6))


def test_a_bracket_target_may_fill_in_the_entry_bar_at_the_broker() -> None:
    """Alpaca activates a bracket's legs once its entry fills: a buy limit filled inside the
    bar whose high then reaches the target is closed at the target in that bar on the
    stand-in, where the backtest (stop from the fill on, target from the next bar) holds it."""
    book = Book(100_000.0, pd.Timestamp("2024-01-02", tz="UTC"))
    book.submit({
        "symbol": "X", "side": "buy", "type": "limit", "limit_price": 99, "qty": 10,
        "time_in_force": "day", "order_class": "bracket", "client_order_id": "e",
        "take_profit": {"limit_price": 101}, "stop_loss": {"stop_price": 97},
    })  # fmt: skip
    events = book.on_bar(_bar("2024-01-03", 100.0, 102.0, 98.5, 100.0))
    fills = [(m["data"]["order"]["type"], float(m["data"]["price"])) for m in events
             if m["data"]["event"] == "fill"]  # fmt: skip
    assert fills == [("limit", 99.0), ("limit", 101.0)]  # the entry, then its target
    assert "X" not in book.positions
