"""The account's limits over limit entries on Alpaca with a live feed: alpaca-py's own clients
against the local stand-in, with the market clock of ``test_paper_alpaca_live``.

The account: ``near`` (gtc buy limits 2% under the close of an SMA up-cross, 5/20) on SYN01 /
SYN02 and ``far`` (the same, 10/30, 150 shares) on SYN02 / SYN03, long only, fixed shares,
zero costs, each entry with a stop-loss / take-profit bracket the broker holds. A fixed size
keeps a gtc entry the same order over closes, so entries stay working at the broker.

The references are the bars and the stand-in's own book (its orders, their states and times,
its executions), never the runtime's accounting: the account's equity and gross exposure at
each close are recomputed here from the broker's executions and the closes, and the rules of
docs/concepts/runtime.md (``account:``) decide by hand which entries the gross cap refuses,
with which value, and when the loss limits trip.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any, cast

import pandas as pd
import pytest
from tests.integration.alpaca_account import account_world, summed

pytestmark = pytest.mark.integration

LEVELS = str(Path(__file__).parents[1] / "parity" / "_level_entries.py") + ":LevelEntries"
END = "2018-12-31 22:00"
CASH = 100_000.0
OFFSET = 0.02  # a buy limit 2% under the signal bar's close
IDS = ("near", "far")
SHARES = {"near": 100.0, "far": 150.0}
WINDOWS = {"near": (5, 20), "far": (10, 30)}


def spec(**account: float) -> dict[str, Any]:
    """The account's keys (without its broker), with ``account:`` limits."""
    brackets = {"stop_loss": "3%", "take_profit": "6%"}
    return {
        "symbols": ["SYN01", "SYN02", "SYN03"], "timeframe": "1d", "direction": "long",
        "cash": CASH, "costs": {"commission": 0, "slippage": 0},
        "sizing": {"method": "shares", "value": SHARES["near"]}, "time_in_force": "gtc",
        "strategies": [
            {"id": "near", "strategy": LEVELS, "allocation": 0.5, "symbols": ["SYN01", "SYN02"],
             "params": {"fast": 5, "slow": 20, "kind": "limit", "offset": OFFSET},
             "exits": brackets},
            {"id": "far", "strategy": LEVELS, "allocation": 0.5, "symbols": ["SYN02", "SYN03"],
             "params": {"fast": 10, "slow": 30, "kind": "limit", "offset": OFFSET},
             "sizing": {"method": "shares", "value": SHARES["far"]}, "exits": brackets},
        ],
        "account": account,
    }  # fmt: skip


def run(tmp: Path, **account: float) -> dict[str, Any]:
    """Paper-trade the account on the stand-in until END; what the tests compare."""
    with account_world(tmp, **spec(**account)) as w:
        w.session(END)
        assert w.run_id is not None
        rid = w.run_id
        with w.broker.lock:
            book = w.broker.book
            out: dict[str, Any] = {
                "broker_orders": list(book.orders.values()),
                "executions": [dict(a) for a in book.activities],
                "broker_positions": {s: h.qty for s, h in book.positions.items() if h.qty},
            }
        out.update(bars=w.bars, orders=w.ledger.orders(rid), fills=w.ledger.fills(rid),
                   risk=[e for e in w.ledger.risk_events(rid) if e.strategy == "account"],
                   ledger_positions=summed(w.positions()), created=w.created(),
                   skipped=w.skipped)  # fmt: skip
        out["requests"] = [(r.method, r.path, r.client_order_id) for r in w.broker.requests]
    return out


# ---- the account by hand, from the bars and the broker's book ---------------------------------
def day(ts: Any) -> pd.Timestamp:
    t = pd.Timestamp(ts)
    return (t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")).normalize()


def closes(bars: pd.DataFrame) -> dict[pd.Timestamp, dict[str, float]]:
    out: dict[pd.Timestamp, dict[str, float]] = defaultdict(dict)
    for r in bars.itertuples():
        out[day(r.timestamp)][str(r.symbol)] = float(cast(float, r.close))
    return dict(out)


def up_crosses(bars: pd.DataFrame, fast: int, slow: int) -> dict[str, set[pd.Timestamp]]:
    """symbol -> the closes at which the fast SMA crossed above the slow one."""
    out = {}
    for sym, g in bars.sort_values("timestamp").groupby("symbol"):
        c = g["close"].astype(float).reset_index(drop=True)
        f, s = c.rolling(fast).mean(), c.rolling(slow).mean()
        up = (f > s) & (f.shift(1) <= s.shift(1))
        out[str(sym)] = {day(ts) for ts in g["timestamp"].to_numpy()[up.to_numpy()]}
    return out


class HandAccount:
    """The account at a close, from the broker's executions and the bars: equity (the cash the
    spec gives, plus the executions' cash flows, plus the positions at the close), gross
    exposure of the positions, and the entries working at the broker."""

    def __init__(self, live: dict[str, Any]) -> None:
        self.closes = closes(live["bars"])
        self.by_id = {o.id: o for o in live["broker_orders"]}
        self.entries = [o for o in live["broker_orders"]
                        if o.parent is None and "-ent-" in o.client_order_id]  # fmt: skip
        self.execs = [(day(a["transaction_time"]), self.by_id[a["order_id"]], float(a["qty"]),
                       float(a["price"])) for a in live["executions"]]  # fmt: skip

    def book(self, c: pd.Timestamp) -> tuple[float, float]:
        """(equity, gross exposure of the positions) at the close of ``c``: executions of
        bars up to ``c`` are in (the cycle of that close books them)."""
        cash, pos = CASH, defaultdict[str, float](float)
        for ts, o, qty, px in self.execs:
            if ts <= c:
                cash -= o.sign * qty * px
                pos[o.symbol] += o.sign * qty
        marks = self.closes[c]
        held = sum(q * marks[s] for s, q in pos.items())
        return cash + held, sum(abs(q) * marks[s] for s, q in pos.items())

    def working(self, c: pd.Timestamp) -> float:
        """The entries sent at an earlier close still working at the broker after the bar of
        ``c`` (not filled in it, not cancelled at that close: a close cancels before it
        sends), each valued at its limit."""
        total = 0.0
        for o in self.entries:
            ended = [t for t in (o.filled_at, o.canceled_at, o.expired_at) if t is not None]
            if day(o.created_at) < c and not (ended and day(min(ended)) <= c):
                done = sum(q for ts, x, q, _px in self.execs if x is o and ts <= c)
                total += (float(o.qty or 0.0) - done) * float(o.limit_price or 0.0)
        return total


def _sent_order(live: dict[str, Any]) -> dict[pd.Timestamp, list[Any]]:
    """The entries each close decided (sent or refused), in the order the account sends them:
    its strategies in order, each strategy's symbols in order."""
    out: dict[pd.Timestamp, list[Any]] = defaultdict(list)
    rows = [o for o in live["orders"] if o.intent == "entry" and o.strategy in IDS]
    for o in sorted(rows, key=lambda o: (o.bar, IDS.index(o.strategy), o.symbol)):
        out[day(o.bar)].append(o)
    return out


# ---- the tests ----------------------------------------------------------------------------------
CAP = 0.25


def test_the_gross_cap_counts_working_limit_entries_at_their_limit_on_alpaca(
    tmp_path: Path,
) -> None:
    live = run(tmp_path, max_gross=CAP)
    assert live["skipped"] == []
    hand = HandAccount(live)
    crosses = {sid: up_crosses(live["bars"], *WINDOWS[sid]) for sid in IDS}
    marks = closes(live["bars"])
    posted = {c for m, p, c in live["requests"] if (m, p) == ("POST", "/v2/orders")}
    at_broker = {o.client_order_id: o for o in hand.entries}
    refused, values, decisive = [], [], 0
    for c, entries in sorted(_sent_order(live).items()):
        equity, gross = hand.book(c)
        working = hand.working(c)
        for o in entries:
            # the entry is the strategy's: its fixed size, 2% under the close of an up-cross
            assert float(o.qty) == SHARES[o.strategy], o
            sig = [d for d in crosses[o.strategy][o.symbol] if d <= c]
            assert sig and float(o.limit) == pytest.approx(
                marks[max(sig)][o.symbol] * (1 - OFFSET), rel=1e-12), o  # fmt: skip
            add = float(o.qty) * float(o.limit)
            ratio = (gross + working + add) / equity
            if ratio > CAP:
                refused.append(o.client_id)
                values.append((str(c.date()), pytest.approx(ratio, rel=1e-9)))
                decisive += (gross + add) / equity <= CAP  # refused for what works
                # refused before the broker, with the reason
                assert o.state == "rejected", o
                assert f"gross exposure above {CAP:g}x equity" in o.state_reason, o
                assert o.client_id not in posted and not o.venue_id
            else:
                gross += add
                b = at_broker[o.client_id]  # sent at that close, as it is, with its bracket
                assert day(b.created_at) == c and b.order_class == "bracket", b
                assert (b.type, b.time_in_force, float(b.qty)) == ("limit", "gtc", float(o.qty))
                assert float(b.limit_price) == pytest.approx(float(o.limit), rel=1e-12)
    assert refused and decisive >= 1, "a working entry's limit value made the cap refuse"
    assert sorted(o.client_id for o in live["orders"] if o.state == "rejected") == sorted(refused)
    got = [(str(day(e.bar).date()), e.value) for e in live["risk"] if e.rule == "max_gross"]
    assert got == values
    # the broker's account is the strategies' summed, and no client id reached it twice
    assert live["broker_positions"] == live["ledger_positions"]
    assert len(live["created"]) == len(set(live["created"]))


DAILY, DRAWDOWN = 0.005, 0.0135
FIRST = pd.Timestamp("2018-04-03", tz="UTC")  # the run's first close (the market starts after
# the close of 2018-04-02, whose bar is the last of the warm-up)


def hand_limits(hand: HandAccount) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """The account's loss-limit events by the rules, from the equity at each close: the daily
    limit when a close is ``DAILY`` below the close before (the day's start), once a day; the
    drawdown breaker once, when a close is ``DRAWDOWN`` below the peak so far."""
    daily: list[Any] = []
    breaker: list[Any] = []
    start = peak = CASH
    for c in sorted(d for d in hand.closes if FIRST <= d <= day(END)):
        eq, _gross = hand.book(c)
        if 1.0 - eq / start >= DAILY:
            daily.append((str(c.date()), pytest.approx(1.0 - eq / start, rel=1e-9)))
        peak = max(peak, eq)
        if not breaker and 1.0 - eq / peak >= DRAWDOWN:
            breaker.append((str(c.date()), pytest.approx(1.0 - eq / peak, rel=1e-9)))
        start = eq
    return daily, breaker


def test_loss_limits_cancel_working_limit_entries_at_the_broker(tmp_path: Path) -> None:
    live = run(tmp_path, daily_loss_limit=DAILY, max_drawdown=DRAWDOWN)
    assert live["skipped"] == []
    hand = HandAccount(live)
    daily, breaker = hand_limits(hand)
    got = {r: [(str(day(e.bar).date()), e.value) for e in live["risk"] if e.rule == r]
           for r in ("daily_loss_limit", "max_drawdown")}  # fmt: skip
    assert daily and got["daily_loss_limit"] == daily
    assert len(breaker) == 1 and got["max_drawdown"] == breaker
    fired = pd.Timestamp(breaker[0][0], tz="UTC")
    ledger = {o.client_id: o for o in live["orders"]}
    # the entries working at the broker after the bar of the close the breaker fired at
    working = [o for o in hand.entries if day(o.created_at) < fired
               and (o.filled_at is None or day(o.filled_at) > fired)
               and (o.canceled_at is None or day(o.canceled_at) >= fired)]  # fmt: skip
    assert working, "an entry was working at the broker when the breaker fired"
    for b in working:  # cancelled at the broker at that close, with its held legs
        assert (b.status, day(b.canceled_at), b.filled_qty) == ("canceled", fired, 0.0), b
        assert {hand.by_id[leg].status for leg in b.legs} == {"canceled"}
        mine = ledger[b.client_order_id]
        assert mine.state == "cancelled" and "account: reducing" in mine.state_reason, mine
    # no entry reached the broker after that close, and none filled
    assert [o for o in hand.entries if day(o.created_at) >= fired] == []
    assert not [o for o in live["orders"] if o.intent == "entry" and day(o.bar) >= fired
                and o.state not in ("rejected",)]  # fmt: skip
    # on daily bars no bar is left in the day a daily loss fires in: the account reduces for
    # the next bar, so the entries working at a daily trip are cancelled at that close, with
    # their held legs, and no entry leaves then
    cancelled = 0
    for when, _value in daily:
        c = pd.Timestamp(when, tz="UTC")
        if c >= fired:
            continue
        for b in hand.entries:
            if (day(b.created_at) < c and (b.filled_at is None or day(b.filled_at) > c)
                    and (b.canceled_at is None or day(b.canceled_at) >= c)):  # fmt: skip
                assert (b.status, day(b.canceled_at), b.filled_qty) == ("canceled", c, 0.0), b
                assert {hand.by_id[leg].status for leg in b.legs} == {"canceled"}
                assert "account: reducing" in ledger[b.client_order_id].state_reason
                cancelled += 1
        assert [o for o in hand.entries if day(o.created_at) == c] == []
    assert cancelled, "an entry was working at a daily trip before the breaker"
    assert live["broker_positions"] == live["ledger_positions"]
    assert len(live["created"]) == len(set(live["created"]))
