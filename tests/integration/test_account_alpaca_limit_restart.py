"""An account of two strategies with gtc limit entries on the Alpaca stand-in, restarted after
downtime: alpaca-py's own clients against the local stand-in, with the market clock of
``test_paper_alpaca_live``.

The account is ``test_account_alpaca_limit_risk``'s (``near`` on SYN01 / SYN02, ``far`` on
SYN02 / SYN03: gtc buy limits 2% under the close of an SMA up-cross, fixed shares, a 3% / 6%
bracket the broker holds). The process stops after a close, the market goes on (the broker
fills what works, or someone changes an order by hand), and the process starts again with the
same run id. What is expected is derived here from the bars and the rules:

* a limit entry fills in the first bar after its decision whose low reaches its limit, at
  ``min(open, limit)``; its bracket is planned from the limit (stop 3% under, target 6% over)
  and exits where the stand-in's rule for legs says (``bracket_exit``);
* a client id reaches the broker as a new order once, whatever the downtime;
* the fills of an entry and of its legs are its strategy's, never the other's.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from tests.integration.alpaca_account import AccountWorld, account_world, run_until, summed
from tests.integration.test_account_alpaca_limit_risk import SHARES, WINDOWS, spec, up_crosses
from tests.integration.test_paper_alpaca_limit_downtime import bracket_exit
from tests.integration.test_paper_alpaca_limit_entries import _bar_table, _day, _days, rule_price

from alphaforge.services.paper import build_paper
from alphaforge.testing.alpaca_model import BookOrder

pytestmark = pytest.mark.integration

END = "2018-12-31 22:00"
IDS = ("near", "far")
SL, TP = 0.03, 0.06
AFTER_CLOSE = "21:30"  # a close's cycle is done (close 20:00 UTC + the schedule's delay)


def _at(d: str) -> pd.Timestamp:
    return pd.Timestamp(f"{d} {AFTER_CLOSE}", tz="UTC")


def _run(
    tmp: Path,
    down: tuple[str, str] | None = None,
    by_hand: Callable[[AccountWorld], Any] | None = None,
) -> dict[str, Any]:
    """Paper-trade the account until END; with ``down`` the process stops after the close of
    ``down[0]``, ``by_hand`` changes the broker's orders, the market goes on until after the
    close of ``down[1]`` and the process starts again with the same run id."""
    with account_world(tmp, **spec(max_gross=5.0)) as w:
        out: dict[str, Any] = {"bars": w.bars, "restart": None, "hand": None}
        for until in ([_at(down[0])] if down else []) + [pd.Timestamp(END, tz="UTC")]:
            setup = build_paper(w.spec, w.settings, w.ledger, w.run_id, w.market.now)
            if w.run_id is not None:  # the restart: what it found working, and resolved
                nodes = setup.driver.account.nodes
                out["restart"] = {
                    "resting": {
                        sid: set(n.resting.values()) for sid, n in zip(IDS, nodes, strict=True)
                    },
                    "diffs": [d for n in nodes for d in n.pending_reconciliation()],
                }
            w.run_id = setup.run_id
            try:
                run_until(setup, w.market, until)
            finally:
                setup.close()
            w.skipped += setup.skipped
            if down and until == _at(down[0]):
                out["hand"] = by_hand(w) if by_hand else None
                w.market.sleep((_at(down[1]) - w.market.now).total_seconds())
        assert w.run_id is not None
        rid = w.run_id
        out["orders"], out["fills"] = w.ledger.orders(rid), w.ledger.fills(rid)
        out["events"] = [(e.kind, e.symbol, e.client_id, e.detail)
                         for e in w.ledger.reconcile_events(rid)]  # fmt: skip
        out["trips"] = {sid: sorted((t.symbol, t.side, _day(t.entry_ts),
                                     _day(t.exit_ts) if t.exit_ts else "", t.exit_reason,
                                     float(t.qty)) for t in w.ledger.trades(rid, sid))
                        for sid in IDS}  # fmt: skip
        out["ledger_positions"] = summed(w.positions())
        with w.broker.lock:
            book = w.broker.book
            out["broker_orders"] = list(book.orders.values())
            out["broker_positions"] = {s: h.qty for s, h in book.positions.items() if h.qty}
        out["created"] = w.created()
        out["requests"] = [(r.method, r.path, r.client_order_id) for r in w.broker.requests]
        out["skipped"] = [_day(b) for b in w.skipped]
    return out


_WHOLE: dict[str, Any] = {}


def _whole(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The uninterrupted run (once per session): where to stop the others."""
    if not _WHOLE:
        _WHOLE.update(_run(tmp_path_factory.mktemp("whole")))
    return _WHOLE


# ---- by hand, from the bars --------------------------------------------------------------------
def entry_fill(o: BookOrder, bars: pd.DataFrame) -> tuple[str, float]:
    """(day, price) of buy limit entry ``o``'s fill: the first bar after the close that sent
    it whose range reaches the limit, at ``min(open, limit)``."""
    table, days = _bar_table(bars), _days(bars)
    lim = float(o.limit_price or 0.0)
    for d in days[days.index(_day(o.created_at)) + 1 :]:
        px = rule_price("buy", "limit", lim, float("nan"), table[(o.symbol, d)])
        if px is not None:
            return d, px
    raise AssertionError(f"{o.client_order_id} never fills")


def legs_exit(o: BookOrder, bars: pd.DataFrame) -> tuple[str, str, float]:
    """(day, reason, price) of the exit of entry ``o``'s bracket, planned from its limit."""
    table, days = _bar_table(bars), _days(bars)
    lim = float(o.limit_price or 0.0)
    f_day, _px = entry_fill(o, bars)
    rows = [(d, table[(o.symbol, d)]) for d in days[days.index(f_day) :]]
    return bracket_exit("buy", lim * (1 - SL), lim * (1 + TP), rows)


def hand_exit(o: BookOrder, sid: str, bars: pd.DataFrame) -> tuple[str, str, float]:
    """(day, reason, price) of the exit of the position entry ``o`` of strategy ``sid``
    opened: its legs, unless the strategy's SMAs cross down at a close before they trigger
    (the close cancels the legs and sends an exit, filled at the next open)."""
    x_day, reason, px = legs_exit(o, bars)
    f_day, _px = entry_fill(o, bars)
    downs = sorted(d for d in down_crosses(bars, *WINDOWS[sid])[o.symbol]
                   if f_day <= str(d.date()) < x_day)  # fmt: skip
    if not downs:
        return x_day, reason, px
    nxt = _later(str(downs[0].date()), 1, bars)
    return nxt, "signal", float(_bar_table(bars)[(o.symbol, nxt)]["open"])


def down_crosses(bars: pd.DataFrame, fast: int, slow: int) -> dict[str, set[pd.Timestamp]]:
    """symbol -> the closes at which the fast SMA crossed below the slow one."""
    neg = bars.assign(close=-bars["close"].astype(float))
    return up_crosses(neg, fast, slow)


def _entries(run: dict[str, Any]) -> list[BookOrder]:
    return sorted((o for o in run["broker_orders"] if o.parent is None
                   and "-ent-" in o.client_order_id), key=lambda o: o.created_at)  # fmt: skip


def _owner(run: dict[str, Any], client_id: str) -> str:
    return next(o.strategy for o in run["orders"] if o.client_id == client_id)


def _later(d: str, n: int, bars: pd.DataFrame) -> str:
    days = _days(bars)
    return days[days.index(d) + n]


def _consistent(run: dict[str, Any]) -> None:
    """The broker's positions are the strategies' summed; no client id reached the broker
    twice as a new order; the ledger holds each order and fill once; nothing was taken for a
    trade by hand."""
    assert run["broker_positions"] == run["ledger_positions"]
    assert len(run["created"]) == len(set(run["created"]))
    ids = [o.client_id for o in run["orders"]]
    assert len(ids) == len(set(ids))
    fills = [f.fill_id for f in run["fills"]]
    assert len(fills) == len(set(fills))
    assert not [e for e in run["events"] if e[0] in ("position_adopted", "position_attributed")]


def _check_entry(run: dict[str, Any], e: BookOrder, sid: str) -> BookOrder:
    """Entry ``e`` (the uninterrupted run's) in ``run``: posted once, filled where the rule
    says, booked to ``sid`` only, its bracket's exit booked to ``sid`` where the legs' rule
    says. Returns ``run``'s broker order."""
    bars = run["bars"]
    same = [o for o in _entries(run) if (o.symbol, _day(o.created_at)) == (e.symbol,
            _day(e.created_at))]  # fmt: skip
    assert len(same) == 1
    b = same[0]
    posts = [c for m, p, c in run["requests"] if (m, p) == ("POST", "/v2/orders")]
    assert posts.count(b.client_order_id) == 1
    f_day, f_px = entry_fill(b, bars)
    x_day, reason, x_px = hand_exit(b, sid, bars)
    mine = [f for f in run["fills"] if f.client_id == b.client_order_id]
    assert [(f.strategy, f.symbol, f.side, float(f.qty), _day(f.ts)) for f in mine] == [
        (sid, b.symbol, "buy", SHARES[sid], f_day)
    ]
    assert float(mine[0].price) == pytest.approx(f_px, rel=1e-12)
    trip = (b.symbol, "long", f_day, x_day, reason, SHARES[sid])
    assert trip in run["trips"][sid]
    other = next(s for s in IDS if s != sid)
    assert not [t for t in run["trips"][other] if t[:3] == trip[:3]]
    exit_fills = [f for f in run["fills"] if f.symbol == b.symbol and f.side == "sell"
                  and _day(f.ts) == x_day]  # fmt: skip
    assert [(f.strategy, float(f.qty)) for f in exit_fills] == [(sid, SHARES[sid])]
    assert float(exit_fills[0].price) == pytest.approx(x_px, rel=1e-12)
    return b


# ---- the tests ----------------------------------------------------------------------------------
def test_a_working_gtc_limit_entry_is_not_sent_again_after_downtime(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Down over closes a gtc entry worked over without filling: the restart carries it over
    as it is (its client id reaches the broker once) and it fills after the restart, booked
    to its strategy, its bracket its protection."""
    whole = _whole(tmp_path_factory)
    bars = whole["bars"]
    pick = [o for o in _entries(whole) if o.filled_at is not None
            and _days(bars).index(_day(o.filled_at))
            >= _days(bars).index(_day(o.created_at)) + 4]  # fmt: skip
    assert pick, "a gtc entry worked over three closes before it filled"
    e = pick[0]
    f_day, _px = entry_fill(e, bars)
    assert f_day == _day(e.filled_at)
    sent = _day(e.created_at)
    run = _run(tmp_path_factory.mktemp("kept"), (sent, _later(sent, 2, bars)))
    sid = _owner(run, next(o.client_order_id for o in _entries(run)
                           if (o.symbol, _day(o.created_at)) == (e.symbol, sent)))  # fmt: skip
    assert run["restart"] is not None
    b = _check_entry(run, e, sid)
    assert b.client_order_id in run["restart"]["resting"][sid]  # carried over the restart
    assert run["skipped"] == [_later(sent, 1, bars)]  # a caught-up close, then trading
    assert _day(b.filled_at) > _later(sent, 2, bars)  # it filled after the restart
    # no other entry of that strategy and symbol reached the broker while it worked
    assert [o for o in _entries(run) if o.symbol == e.symbol
            and sent < _day(o.created_at) <= f_day
            and _owner(run, o.client_order_id) == sid] == []  # fmt: skip
    _consistent(run)
    assert run["trips"] == whole["trips"]


def test_a_gtc_limit_entry_filled_while_down_is_booked_with_its_bracket(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Down from the close that sent a gtc entry over closes it worked over until after the
    session it filled in: the fill is booked to the strategy that sent it, in its bar, and its
    bracket legs are the position's protection (no other protective order while they work),
    their exit booked to that strategy."""
    whole = _whole(tmp_path_factory)
    bars = whole["bars"]
    days = _days(bars)
    pick = []
    for o in _entries(whole):
        if o.filled_at is None:
            continue
        f_day, px = entry_fill(o, bars)
        x_day, reason, _px = hand_exit(o, _owner(whole, o.client_order_id), bars)
        if (
            days.index(f_day) >= days.index(_day(o.created_at)) + 2  # worked over a close
            and px == float(o.limit_price or 0.0)  # no gap: the bracket is the planned one
            and reason != "signal"
            and x_day > f_day  # its legs held the position over a close
        ):
            pick.append(o)
    assert pick, "a gtc entry worked over a close, filled at its limit, its legs closed it"
    e = pick[0]
    sent, f_day = _day(e.created_at), _day(e.filled_at)
    run = _run(tmp_path_factory.mktemp("filled"), (sent, f_day))
    b = next(o for o in _entries(run) if (o.symbol, _day(o.created_at)) == (e.symbol, sent))
    sid = _owner(run, b.client_order_id)
    assert run["restart"] is not None
    assert b.client_order_id in run["restart"]["resting"][sid], "working when it stopped"
    assert run["skipped"] == days[days.index(sent) + 1 : days.index(f_day)]
    assert _day(b.filled_at) == f_day  # in a session the process was down for
    _check_entry(run, e, sid)
    # the legs are the position's protection: recorded as its orders, with the levels
    # planned from the limit, and no other protective order of the symbol while they work
    lim = float(b.limit_price or 0.0)
    legs = [o for o in run["orders"] if o.intent == "stop" and o.symbol == b.symbol
            and o.bar == next(x.bar for x in run["orders"]
                              if x.client_id == b.client_order_id)]  # fmt: skip
    assert {o.strategy for o in legs} == {sid}
    assert sorted((o.type, float(o.stop if o.type == "stop" else o.limit)) for o in legs) == [
        ("limit", pytest.approx(lim * (1 + TP), rel=1e-12)),
        ("stop", pytest.approx(lim * (1 - SL), rel=1e-12)),
    ]
    assert {o.client_id for o in legs} == {
        x.client_order_id for x in run["broker_orders"] if x.parent == b.id
    }
    x_day, _reason, _px = hand_exit(b, sid, bars)
    between = [o for o in run["orders"] if o.symbol == b.symbol and o.intent == "stop"
               and f_day <= _day(o.bar) < x_day]  # fmt: skip
    assert between == []
    _consistent(run)
    assert run["trips"] == whole["trips"]


def _cancel_stop_leg(symbol: str, sent: str) -> Callable[[AccountWorld], Any]:
    """By hand at the broker: cancel the working stop leg of the bracket of the entry of
    ``symbol`` sent at the close of ``sent``; returns (entry's client id, leg's client id)."""

    def cancel(w: AccountWorld) -> tuple[str, str]:
        with w.broker.lock:
            book = w.broker.book
            parent = next(o for o in book.orders.values() if o.parent is None
                          and o.symbol == symbol and "-ent-" in o.client_order_id
                          and _day(o.created_at) == sent)  # fmt: skip
            leg = next(book.orders[i] for i in parent.legs if book.orders[i].type == "stop")
            assert leg.status == "new", leg  # working: the entry filled, the legs are active
            w.broker.emit(book.cancel(leg.id))
            return parent.client_order_id, leg.client_order_id

    return cancel


def _held_over_two_closes(whole: dict[str, Any]) -> BookOrder:
    """An entry of the uninterrupted run filled at its limit (no gap: its bracket is the
    planned one) whose position was held over two closes at least."""
    bars = whole["bars"]
    days = _days(bars)
    for o in _entries(whole):
        if o.filled_at is None:
            continue
        f_day, px = entry_fill(o, bars)
        x_day, _reason, _px = hand_exit(o, _owner(whole, o.client_order_id), bars)
        if px == float(o.limit_price or 0.0) and days.index(x_day) >= days.index(f_day) + 2:
            return o
    raise AssertionError("an entry filled at its limit whose position was held over two closes")


def _pair_levels(run: dict[str, Any], pair: BookOrder) -> list[tuple[str, float]]:
    """(type, level) of an OCO pair at the broker and of its leg."""
    legs = [pair, *(o for o in run["broker_orders"] if o.parent == pair.id)]
    return sorted((o.type, float(o.limit_price or o.stop_price or 0.0)) for o in legs)


def test_a_stop_leg_cancelled_by_hand_while_down_is_placed_again(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """The process stops after the close a bracketed entry filled at; while it is down the
    bracket's stop leg is cancelled by hand at the broker. The restart records it as a
    reconciliation event and protects the position again at its first close: the remaining
    leg is cancelled and a new stop / target pair (the levels planned from the limit) is
    placed; the position then ends where the uninterrupted run ends it."""
    whole = _whole(tmp_path_factory)
    e = _held_over_two_closes(whole)
    sent, f_day = _day(e.created_at), _day(e.filled_at)
    back = _later(f_day, 1, whole["bars"])
    run = _run(tmp_path_factory.mktemp("by_hand"), (f_day, back), _cancel_stop_leg(e.symbol, sent))
    entry_id, leg_id = run["hand"]
    b = next(o for o in run["broker_orders"] if o.client_order_id == entry_id)
    sid, lim = _owner(run, entry_id), float(b.limit_price or 0.0)
    legs = {o.type: o for o in run["broker_orders"] if o.parent == b.id}
    assert legs["stop"].client_order_id == leg_id and legs["stop"].status == "canceled"
    assert _day(legs["stop"].canceled_at) == f_day  # by hand, while down
    # the restart's first close cancels the remaining leg and places a new pair
    assert (legs["limit"].status, _day(legs["limit"].canceled_at)) == ("canceled", back)
    new = [o for o in run["broker_orders"] if o.symbol == b.symbol and o.parent is None
           and _day(o.created_at) == back and o.client_order_id != entry_id]  # fmt: skip
    assert len(new) == 1, new
    pair = new[0]
    assert (pair.order_class, pair.side, float(pair.qty or 0.0)) == ("oco", "sell", SHARES[sid])
    assert _pair_levels(run, pair) == [("limit", pytest.approx(lim * (1 + TP), rel=1e-9)),
                                       ("stop", pytest.approx(lim * (1 - SL), rel=1e-9))]  # fmt: skip
    mine = {o.client_id: o for o in run["orders"]}
    assert (mine[pair.client_order_id].strategy, mine[pair.client_order_id].intent) == (
        sid, "stop")  # fmt: skip
    # the reconciliation records the leg that ended at the broker
    found = [(k, s) for k, s, c, _d in run["events"] if c == leg_id]
    assert found == [("protection_ended", b.symbol)], run["events"]
    assert mine[leg_id].state == "cancelled"
    _check_entry(run, e, sid)
    _consistent(run)
    assert run["trips"] == whole["trips"]
