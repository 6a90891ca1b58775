"""Limit / stop entries on Alpaca across downtime: the broker goes on while the runtime is down.

A gtc entry sent with its bracket at a close stays working at the broker; when the process is
down for a few sessions the broker may fill it, then one of its bracket legs. On restart the
runtime catches the missed bars up without trading (``alphaforge.services.paper``); the
broker's fills are booked in the bars they were made in. What is expected, and derived here
independently of the runtime:

* the entry fills at the backtest rule's price in the first bar whose range triggers it, and
  its bracket's stop-loss / take-profit close the position where the stand-in's documented
  rule for legs says (:func:`bracket_exit`: legs active from the entry's fill on, at their
  level in the entry bar, through a gap at the open afterwards, the stop first when a bar
  reaches both);
* the legs are the position's protection: recorded as its orders, never duplicated by a new
  protective order while they work, their fill booked once, with its exit reason;
* every execution of the broker is in the ledger exactly once, the ledger's positions are the
  broker's, no client id is sent twice and nothing is decided on a caught-up close but the
  protection of a position;
* a gtc entry that did not fill while down is kept where the caught-up closes keep it pending
  (the backtest's gtc entry waits until it fills or a new signal replaces it): the first
  traded close continues it, as the uninterrupted run does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.integration.test_paper_alpaca_limit_entries import (
    CASES,
    _bar_table,
    _day,
    _days,
    _run,
    _run_until,
    _spec,
    _trips,
    check_entry_fills,
    rule_price,
)
from tests.integration.test_paper_alpaca_live import START, Market, _world

from alphaforge.config.specs import RunSpec
from alphaforge.ledger import Ledger
from alphaforge.services.paper import build_paper
from alphaforge.testing.alpaca_broker import AlpacaBroker

pytestmark = pytest.mark.integration

CASE = CASES["stop_gtc"]
AFTER_CLOSE = "21:30"  # a close's cycle is done (close 20:00 UTC + the schedule's delay)


def _at(day: str) -> pd.Timestamp:
    return pd.Timestamp(f"{day} {AFTER_CLOSE}", tz="UTC")


def _run_down(tmp: Path, down: tuple[str, str], end: str) -> dict[str, Any]:
    """Paper-trade the gtc stop case on the stand-in; after the close of ``down[0]`` the
    process stops, the market goes on (the broker fills what works) until after the close of
    ``down[1]``, when the process starts again with the same run id; it runs until after the
    close of ``end``."""
    with AlpacaBroker(now=START - pd.Timedelta(days=120)) as broker:
        settings, store, bars = _world(tmp, broker)
        market = Market(store, bars, broker)
        spec = RunSpec.model_validate(_spec(CASE, broker))
        out: dict[str, Any] = {"bars": bars, "skipped": []}
        with Ledger.open(f"sqlite:///{tmp / 'ledger.db'}") as ledger:
            run_id = None
            for until in (_at(down[0]), _at(end)):
                setup = build_paper(spec, settings, ledger, run_id, market.now)
                if run_id is not None:  # the restart: the entries it found working
                    out["working"] = {setup.node.panel.symbols[j]: cid
                                      for j, cid in setup.node.resting.items()}  # fmt: skip
                    out["reconciled"] = setup.node.pending_reconciliation()
                run_id = setup.run_id
                try:
                    _run_until(setup, market, until)
                    out["skipped"] += [_day(b) for b in setup.skipped]
                    out["venue_positions"] = {
                        p.symbol: p.qty for p in setup.node.p.venue.positions()
                    }
                finally:
                    setup.close()
                if until == _at(down[0]):
                    market.sleep((_at(down[1]) - market.now).total_seconds())  # down
            assert run_id is not None
            out["trips"] = _trips(ledger, run_id)
            out["ledger_positions"] = {p.symbol: float(p.qty) for p in ledger.positions(run_id)}
            out["orders"], out["fills"] = ledger.orders(run_id), ledger.fills(run_id)
        out["created"] = broker.new_order_ids()
        out["executions"] = [str(a["id"]).rsplit("::", 1)[-1] for a in broker.book.activities]
        out["requests"] = [(r.method, r.path, r.client_order_id) for r in broker.requests]
    return out


# ---- the stand-in's rule for bracket legs, from the bars --------------------------------------
def bracket_exit(
    side: str, stop: float, target: float, bars: list[tuple[str, Any]]
) -> tuple[str, str, float]:
    """(day, exit reason, price) of a bracket's legs for an entry of ``side`` filled in the
    first of ``bars`` ((day, bar) in order): in the entry bar a leg fills at its level when
    the bar's range reaches it; afterwards a stop fills at the open when the open is through
    it (else at the stop), a target likewise; the stop first when a bar reaches both."""
    sign = 1.0 if side == "buy" else -1.0  # of the position
    for k, (day, bar) in enumerate(bars):
        o, hi, lo = float(bar["open"]), float(bar["high"]), float(bar["low"])
        worst, best = (lo, hi) if sign > 0 else (hi, lo)
        if sign * worst <= sign * stop:
            gap = k > 0 and sign * o <= sign * stop
            return day, "stop_loss", o if gap else stop
        if sign * best >= sign * target:
            gap = k > 0 and sign * o >= sign * target
            return day, "take_profit", o if gap else target
    raise AssertionError("the bracket never exits in these bars")


def _entry_fill_day(o: Any, table: dict[tuple[str, str], Any], days: list[str]) -> str:
    """The first day after ``o``'s decision whose bar triggers it (the backtest's rule)."""
    lim = float(o.limit) if o.limit is not None else float("nan")
    stp = float(o.stop) if o.stop is not None else float("nan")
    for day in days[days.index(_day(o.bar)) + 1 :]:
        if rule_price(o.side, o.type, lim, stp, table[(o.symbol, day)]) is not None:
            return day
    raise AssertionError(f"{o.symbol} {o.bar}: the entry never triggers")


# ---- choosing the downtime from the uninterrupted run ------------------------------------------
_WHOLE: dict[str, Any] = {}


def _whole(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    if not _WHOLE:
        _WHOLE.update(_run(tmp_path_factory.mktemp("whole"), CASE))
    return _WHOLE


def _bracketed(whole: dict[str, Any]) -> list[tuple[Any, Any]]:
    """(entry, its filled leg) of the uninterrupted run's gtc entries whose bracket leg closed
    the position, the entry first."""
    legs = [o for o in whole["orders"] if o.intent == "stop" and o.state == "filled"]
    out = []
    for e in sorted((o for o in whole["orders"] if o.intent == "entry"), key=lambda o: o.bar):
        if e.state != "filled" or e.stop_loss is None or _day(e.bar) < whole["first"]:
            continue
        leg = [x for x in legs if x.symbol == e.symbol and x.bar == e.bar]
        if leg:
            out.append((e, leg[0]))
    return out


def _checks(run: dict[str, Any]) -> None:
    """What holds after any downtime: each execution booked once, the broker's positions,
    client ids sent once, nothing but protection decided on a caught-up close."""
    fills = [f.fill_id for f in run["fills"]]
    assert sorted(fills) == sorted(run["executions"])  # every execution, once
    assert run["venue_positions"] == run["ledger_positions"]
    assert len(run["created"]) == len(set(run["created"]))
    ids = [o.client_id for o in run["orders"]]
    assert len(ids) == len(set(ids))
    skipped = set(run["skipped"])
    assert skipped, "bars were caught up"
    stale = [o for o in run["orders"] if _day(o.bar) in skipped]
    assert all(o.intent == "stop" for o in stale), stale
    assert run["reconciled"] == [] or all(
        d.kind != "position_adopted" for d in run["reconciled"]
    ), run["reconciled"]  # nothing taken for a trade made by hand
    assert check_entry_fills(run) >= 1


def _legs_exit(run: dict[str, Any], e: Any) -> None:
    """The entry ``e`` sent before the downtime (same order in ``run``) filled where the rule
    says and its bracket legs closed it where their rule says, booked once, as the legs'."""
    table, days = _bar_table(run["bars"]), _days(run["bars"])
    entry = next(o for o in run["orders"]
                 if (o.symbol, o.bar, o.intent) == (e.symbol, e.bar, "entry"))  # fmt: skip
    assert entry.state == "filled"
    f_day = _entry_fill_day(entry, table, days)
    rows = [(d, table[(entry.symbol, d)]) for d in days[days.index(f_day) :]]
    x_day, reason, price = bracket_exit(
        entry.side, float(entry.stop_loss), float(entry.take_profit), rows
    )
    side = "long" if entry.side == "buy" else "short"
    assert (entry.symbol, side, f_day, x_day, reason) in run["trips"]
    legs = [o for o in run["orders"] if o.intent == "stop" and o.bar == entry.bar
            and o.symbol == entry.symbol]  # fmt: skip
    kinds = sorted((o.type, float(o.stop if o.type == "stop" else o.limit)) for o in legs)
    assert kinds == [("limit", float(entry.take_profit)), ("stop", float(entry.stop_loss))]
    filled = [o for o in legs if o.state == "filled"]
    assert [o.type for o in filled] == ["stop" if reason == "stop_loss" else "limit"]
    assert {o.state for o in legs} == {"filled", "cancelled"}
    leg_fills = [f for f in run["fills"] if f.client_id == filled[0].client_id]
    assert len(leg_fills) == 1 and float(leg_fills[0].price) == pytest.approx(price, rel=1e-9)
    # no other protective order for the position while its legs worked
    between = [o for o in run["orders"] if o.symbol == entry.symbol and o.intent == "stop"
               and f_day <= _day(o.bar) < x_day]  # fmt: skip
    assert between == [], between


# ---- the tests ---------------------------------------------------------------------------------
def test_an_entry_and_its_leg_filled_while_down_are_booked_with_its_bracket(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Down from the close that left a gtc entry working until after the session one of its
    legs filled in: on restart the entry's fill takes the levels it was planned with, its
    legs are its protection (not duplicated) and the leg's fill closes it."""
    whole = _whole(tmp_path_factory)
    days = _days(whole["bars"])
    pick = [(e, leg) for e, leg in _bracketed(whole)
            if days.index(_day(e.updated)) >= days.index(_day(e.bar)) + 2  # worked over a close
            and days.index(_day(e.updated)) < days.index(_day(leg.updated))  # a later leg fill
            and days.index(_day(leg.updated)) <= days.index(_day(e.bar)) + 8]  # fmt: skip
    assert pick, "a gtc entry worked over a close, then filled, then a leg of it"
    e, leg = pick[0]
    back = days[days.index(_day(leg.updated)) + 1]  # the restart's first traded close
    run = _run_down(tmp_path_factory.mktemp("both_down"), (_day(e.bar), back),
                    days[days.index(back) + 5])  # fmt: skip
    assert e.symbol in run["working"], "the entry was working when the process stopped"
    assert _day(e.updated) in run["skipped"] and _day(leg.updated) in run["skipped"]
    _checks(run)
    _legs_exit(run, e)


def test_a_leg_filling_after_the_restart_is_booked_once(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The entry fills while down (after a caught-up close it worked over), its leg after the
    restart: the legs at the broker stay the position's protection over the restart and the
    leg's fill is booked once."""
    whole = _whole(tmp_path_factory)
    days = _days(whole["bars"])
    pick = [(e, leg) for e, leg in _bracketed(whole)
            if days.index(_day(e.updated)) >= days.index(_day(e.bar)) + 2  # worked over a close
            and days.index(_day(leg.updated)) >= days.index(_day(e.updated)) + 2]  # fmt: skip
    assert pick, "a gtc entry worked over a close, its leg filled two sessions later or more"
    e, leg = pick[-1]
    back = days[days.index(_day(e.updated)) + 1]
    run = _run_down(tmp_path_factory.mktemp("entry_down"), (_day(e.bar), back),
                    days[days.index(_day(leg.updated)) + 3])  # fmt: skip
    assert e.symbol in run["working"]
    assert _day(e.updated) in run["skipped"] and _day(leg.updated) not in run["skipped"]
    _checks(run)
    _legs_exit(run, e)


def _resent(whole: dict[str, Any], same: bool) -> tuple[str, Any, Any]:
    """(close c, entry E0 sent at c, the uninterrupted run's entry of its symbol at the next
    close): with ``same``, one of the same side and level (a resized gtc entry: the backtest
    kept it pending) that the close after is sent again too; else one of the other side (a new
    signal replaced it)."""
    days = _days(whole["bars"])
    entries = [o for o in whole["orders"] if o.intent == "entry" and _day(o.bar) >= whole["first"]]
    at = {(o.symbol, _day(o.bar)): o for o in entries}
    for e0 in sorted(entries, key=lambda o: o.bar):
        c = _day(e0.bar)
        if e0.state != "cancelled" or days.index(c) + 2 >= len(days):
            continue
        c1, c2 = days[days.index(c) + 1], days[days.index(c) + 2]
        e1, e2 = at.get((e0.symbol, c1)), at.get((e0.symbol, c2))
        if e1 is None or e2 is None or _day(e0.updated) != c1:
            continue
        level = (e1.side, e1.stop) == (e0.side, e0.stop) == (e2.side, e2.stop)
        if (same and level) or (not same and e1.side != e0.side):
            return c, e0, e2
    raise AssertionError("no such entry in the uninterrupted run")


def test_a_gtc_entry_not_filled_while_down_is_kept_where_the_backtest_keeps_it(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Down over a close at which the uninterrupted run only resized a working gtc entry:
    the caught-up close keeps it working (sending no new order), and the first traded close
    continues it as the uninterrupted run does: sized again, it stays working when its size
    is the same, else it is cancelled, then sent again at that close's level."""
    whole = _whole(tmp_path_factory)
    days = _days(whole["bars"])
    c, e0, e2 = _resent(whole, same=True)
    c1, c2 = days[days.index(c) + 1], days[days.index(c) + 2]
    run = _run_down(tmp_path_factory.mktemp("kept"), (c, c2), days[days.index(c2) + 3])
    assert e0.symbol in run["working"], "the entry was working when the process stopped"
    mine = {_day(o.bar): o for o in run["orders"]
            if o.symbol == e0.symbol and o.intent == "entry"}  # fmt: skip
    assert c1 not in mine  # nothing sent at the caught-up close
    kept = mine[c]
    assert (kept.side, kept.stop) == (e0.side, e0.stop)
    if c2 in mine:  # sized again differently at c2: cancelled there, then sent again
        assert (mine[c2].side, mine[c2].stop) == (e2.side, e2.stop)
        assert kept.state == "cancelled"
        calls = run["requests"]
        cancel = calls.index(("DELETE", f"/v2/orders/{kept.venue_id}", None))
        assert cancel < calls.index(("POST", "/v2/orders", mine[c2].client_id))
    else:  # the same order at c2: it goes on working (ended, if at all, after c2)
        assert kept.state not in ("cancelled", "expired") or _day(kept.updated) > c2, kept
    _checks(run)


def test_a_gtc_entry_a_caught_up_signal_replaces_is_cancelled(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Down over a close whose signal replaced a working gtc entry with one of the other
    side: the caught-up close cancels the working entry at the broker, and the new entry it
    decided is not sent late (a new order of a caught-up close is dropped)."""
    whole = _whole(tmp_path_factory)
    days = _days(whole["bars"])
    c, e0, _e2 = _resent(whole, same=False)
    c1, c2 = days[days.index(c) + 1], days[days.index(c) + 2]
    run = _run_down(tmp_path_factory.mktemp("replaced"), (c, c2), days[days.index(c2) + 3])
    assert e0.symbol in run["working"]
    mine = {_day(o.bar): o for o in run["orders"]
            if o.symbol == e0.symbol and o.intent == "entry"}  # fmt: skip
    assert mine[c].state == "cancelled"
    assert c1 not in mine and c2 not in mine
    _checks(run)
