"""The trading node: one strategy's cycle, bar by bar, from the feed to the venue and the ledger.

A cycle of bar ``t`` (see :mod:`alphaforge.sim.stepper` for why the steps are the vectorized
engine's own phases):

1. **open**: the orders pending from the last close are decided by the engine's open phase
   (exits, a pending rebalance, entries sized and capped by the core's rules); each passes the
   risk gate (:mod:`alphaforge.engine.gate`) and the order manager sends it to the venue.
   Before an exit, the position's protective orders at the venue are cancelled.
2. **market**: the venue fills what it can; under replay the node hands it the complete bar.
3. **fills**: every fill is booked with the engine's accounting; a new position takes its
   protective levels.
4. **close**: the strategy's ``signals`` hook runs on the bars so far; the book is marked, the
   loss limits are evaluated and the signals become the orders of the next open.
5. **protection**: each position's stop (stop-loss, trailing or per-trade max loss, the
   tightest) and take-profit are held at the venue as one pair, replaced when they move.
6. **ledger**: everything of the cycle is written in one transaction.

The kill switch is read from the ledger at every cycle: a halt stops new orders; a halt with
flatten closes every position at the next open.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.core.orders import (
    Intent,
    Order,
    OrderRequest,
    OrderState,
    OrderType,
    OrderUpdate,
    Side,
    TimeInForce,
    client_order_id,
    request_dict,
    request_of,
)
from alphaforge.core.panel import Panel
from alphaforge.engine.gate import OrderContext, RiskGate, TradingState
from alphaforge.engine.oms import OrderManager
from alphaforge.engine.reconcile import Difference, Reconciler
from alphaforge.engine.signals import SignalSource
from alphaforge.ports import (
    BarSet,
    CycleLog,
    ExecutionVenue,
    MarkingVenue,
    ReplayVenue,
    TradeLedger,
    VenueOrder,
)
from alphaforge.sim import codes as C
from alphaforge.sim.stepper import BarRow, OpenPlan, RestingOrder, SignalRow, Stepper, Stretch

_REASON_CODE = {name: code for code, name in C.REASON_NAMES.items()}


def reason_name(code: int) -> str:
    return C.REASON_NAMES.get(code, str(code))


@dataclass
class _Protect:
    """A position's protective orders at the venue: client id -> what the order is ("pair":
    one order holding both levels, "stop", "target"), the levels, quantity and stop reason."""

    ids: dict[str, str]
    stop: float
    target: float
    qty: float
    reason: int


def _kind(o: VenueOrder) -> str:
    if o.type is OrderType.LIMIT:
        return "target"
    return "pair" if o.limit is not None else "stop"


@dataclass
class _Cycle:
    """What one cycle has to write."""

    requests: list[OrderRequest] = field(default_factory=list)
    updates: list[OrderUpdate] = field(default_factory=list)
    decisions: list[tuple[str, str, float, str, bool]] = field(default_factory=list)
    signals: list[tuple[str, str]] = field(default_factory=list)
    positions_changed: bool = False


@dataclass
class NodeParts:
    """What a node is built from (the composition root chooses them)."""

    run_id: str
    strategy_id: str
    stepper: Stepper
    signals: SignalSource
    venue: ExecutionVenue
    ledger: TradeLedger
    gate: RiskGate
    day: np.ndarray  # trading-day id of every bar of the panel
    week: np.ndarray
    sleep: Callable[[float], None]
    log: Callable[..., None]
    batch: int = 1  # cycles per ledger transaction (a replay batches; paper and live do not)
    batch_seconds: float = 0.25
    halt_poll_seconds: float = 0.0  # how often the kill switch is read (0: every cycle)


class TradingNode:
    """Runs the cycles of one strategy on one venue (see the module docstring)."""

    def __init__(self, parts: NodeParts, panel: Panel) -> None:
        self.p = parts
        self.panel = panel
        self.st = parts.stepper
        self.oms = OrderManager(parts.venue, parts.gate.sent, parts.sleep)
        self.sig: SignalRow | None = None
        self.protect: dict[int, _Protect] = {}
        self.resting: dict[int, str] = {}  # symbol -> its limit / stop entry at the venue
        self._held: dict[str, tuple[float, float]] = {}  # the positions the ledger last got
        self._events_seen = 0
        self._plan: OpenPlan | None = None
        self._key = f"{parts.run_id}/{parts.strategy_id}"  # client ids are unique per run
        self._booked: dict[str, None] = {}  # fill ids booked, oldest first
        self._reconciled: tuple[list[Difference], list[OrderUpdate]] = ([], [])
        self._batch: Any = None
        self._open_cycle: Any = None
        self._batch_n = 0
        self._batch_t0 = 0.0
        self._last_w: Any = None
        self._halt_checked = -1e18
        self._halt: Any = None  # the kill switch as last read from the ledger
        self._halt_flatten = False
        self._replay_venue = parts.venue if isinstance(parts.venue, ReplayVenue) else None
        self._marking = isinstance(parts.venue, MarkingVenue)  # (a protocol check is slow)
        self._stretch: Stretch | None = None  # built by the first fast_forward
        self._stamps = list(panel.index)  # per-bar lookups without pandas indexing
        self._texts = [ts.isoformat() for ts in self._stamps]
        self._cyc = _Cycle()
        self._shared = False  # the ledger batch belongs to an account of several strategies
        self.floor = TradingState.ACTIVE  # the least an account's own limits impose

    # ---- one bar ------------------------------------------------------------------------
    def extend(self, panel: Panel, day: np.ndarray, week: np.ndarray) -> None:
        """Continue on ``panel``, the bars so far plus new ones (a live feed); its first bars
        must be the node's panel."""
        n0 = len(self._stamps)
        if panel.shape[0] < n0 or (n0 and panel.index[n0 - 1] != self._stamps[-1]):
            raise ValueError("extend: the new panel must start with the bars the node has")
        self.panel = panel
        self.p.day, self.p.week = day, week
        new = list(panel.index[n0:])
        self._stamps += new
        self._texts += [ts.isoformat() for ts in new]

    def step(self, t: int, trade: bool = True) -> float:
        """Run the cycle of bar ``t`` of the panel; returns the equity at its close.

        ``trade=False`` (a bar caught up after downtime): what was pending is dropped, not
        sent late, and the bar sends nothing; the venue still matches the protection it holds,
        as a broker would have while the runtime was down."""
        self.begin(t, trade)
        if self._replay_venue is not None:
            self._reference_atr()
            self._replay_venue.on_bar(self._barset(t))
        return self.finish(t)

    def begin(self, t: int, trade: bool = True) -> None:
        """The first half of bar ``t``'s cycle: the day / week roll, the kill switch and the
        open (or, for a caught-up bar, dropping what was pending). An account of several
        strategies runs every node's first half before its venue sees the bar."""
        self._cyc = _Cycle()
        self._start(t)
        self._open_or_drop(t, trade)

    def finish(self, t: int) -> float:
        """The second half of bar ``t``'s cycle, after the venue saw the bar: fills, close,
        protection and the ledger; returns the equity at the close."""
        eq = self._close(t)
        self._end(t, self._texts[t], self._cyc)
        return eq

    def _start(self, t: int) -> None:
        """At the first bar of a day / week the loss limits measure from the last close."""
        p = self.p
        day, week = int(p.day[t]), int(p.week[t])
        self.st.start_bar(t, t > 0 and day != p.day[t - 1], t > 0 and week != p.week[t - 1])

    def _open_or_drop(self, t: int, trade: bool) -> None:
        """The kill switch, then the open's orders (a caught-up bar drops them instead)."""
        cyc = self._cyc
        self._kill_switch(t, cyc)
        if trade:
            self._open(t, self._texts[t], cyc)
        else:
            self._drop_pending(t, cyc)

    def _close(self, t: int) -> float:
        """The fills of bar ``t``, its close and the positions' protection; the equity."""
        p, pnl, cyc = self.p, self.panel, self._cyc
        self._fills(t, cyc)
        row = BarRow(pnl.open[t], pnl.high[t], pnl.low[t], pnl.close[t], pnl.volume[t])
        if self._plan is not None and self._plan.after_open is not None:
            self.st.settle_resting(t, row, self._plan, self._settled())
        sig, _weights = p.signals.row(pnl, t)
        eq = self.st.close_bar(t, row, sig, int(p.day[t]), int(p.week[t]))
        if self.resting:
            self._end_day_entries(cyc)
        self.sig = sig
        self._note_signals(sig, cyc)
        self._protect_positions(t, self._texts[t], cyc)
        return eq

    def _end(self, t: int, bar_txt: str, cyc: _Cycle) -> None:
        """Write the cycle; forget the orders it finished."""
        self._write(t, bar_txt, cyc)
        if cyc.updates:
            self.oms.prune()

    # ---- quiet bars of a replay ---------------------------------------------------------
    def fast_forward(
        self, t: int, t_end: int, on_bar: Callable[[int, float], None] | None = None
    ) -> int:
        """Run the quiet bars from ``t`` on (before ``t_end``) in one compiled call, and write
        them as cycles that only marked the book; returns the next bar for :meth:`step`.

        Only a replay on a venue in this process, with precomputed signals, a batched ledger
        and trading active, has quiet bars (see :mod:`alphaforge.sim.kernels_replay`); on any
        other node this returns ``t``. The state after it is the state :meth:`step` reaches."""
        held = self._quiet_ready(t)
        if held is None:
            return t
        if self._stretch is None:
            rows = self.p.signals.full(self.panel)
            assert rows is not None
            pnl = self.panel
            bars = BarRow(pnl.open, pnl.high, pnl.low, pnl.close, pnl.volume)
            self._stretch = self.st.stretch(bars, rows, self.p.day, self.p.week)
        room = self.p.batch - (self._batch_n if self._batch is not None else 0)
        stop = self.st.quiet(self._stretch, t, min(t_end, t + room), held)
        if stop > t:
            self._write_marks(t, stop)
            self.sig, _w = self.p.signals.row(self.panel, stop - 1)
            if on_bar is not None:
                for k in range(t, stop):
                    on_bar(k, float(self._stretch.out.equity[k]))
        return stop

    def _quiet_ready(self, t: int) -> np.ndarray | None:
        """The (2, symbols) stop and target held at the venue when bars may be quiet from
        ``t`` on: every working order at the venue is a position's protection, in step with the
        book's levels. None when they may not (see :meth:`fast_forward`)."""
        venue = self.p.venue
        if self.p.batch <= 1 or self.p.signals.full(self.panel) is None:
            return None
        if self.p.signals.scored:
            return None  # a scored strategy records its score at every bar
        pend = self.st.book.pend
        if pend["exit"].any() or pend["entry"].any() or self.st.book.account[0]["pend_rebal"] >= 0:
            return None  # the open of bar t has work
        if not self._marking or self._reconciled != ([], []):
            return None
        self._kill_switch(t, _Cycle())
        if self.p.gate.state is not TradingState.ACTIVE:
            return None
        held = np.full((2, self.st.n), np.nan)
        table = self.st.protections()
        for j in range(self.st.n):
            q, stop, tp = table.qty[j], table.stop[j], table.target[j]
            prot = self.protect.get(j)
            if prot is None:
                if q != 0.0 and (stop == stop or tp == tp):
                    return None  # a position whose protection the venue does not hold
                continue
            if q == 0.0 or not (_same(prot.stop, stop) and _same(prot.target, tp)):
                return None
            if abs(prot.qty - abs(q)) >= 1e-9:
                return None
            held[0, j], held[1, j] = prot.stop, prot.target
        guards = {cid for prot in self.protect.values() for cid in prot.ids}
        assert isinstance(venue, MarkingVenue)
        if not venue.open_ids() <= guards:
            return None
        return held

    def _write_marks(self, t: int, stop: int) -> None:
        """Write the quiet bars ``[t, stop)`` into the open batch, and move the venue past them."""
        assert self._stretch is not None
        out = self._stretch.out
        if self._batch is None:
            self._begin_batch()
        values = {name: getattr(out, name)[t:stop].tolist()
                  for name in ("cash", "equity", "gross", "net")}  # fmt: skip
        marks = self._open_cycle.marks(self.p.strategy_id, self._texts[t:stop], values)
        last = {s: float(p) for s, p in zip(self.panel.symbols, self.st.book.last_px, strict=True)
                if p == p}  # fmt: skip
        venue = self.p.venue
        assert isinstance(venue, MarkingVenue)
        venue.mark(self._texts[stop - 1], last)
        self._batch_n += stop - t
        self._last_w = (marks, stop - 1)
        if (
            self._batch_n >= self.p.batch
            or time.monotonic() - self._batch_t0 >= self.p.batch_seconds
        ):
            self.commit()

    def _barset(self, t: int) -> BarSet:
        pnl = self.panel
        return BarSet(
            self._stamps[t], pnl.symbols, pnl.open[t], pnl.high[t], pnl.low[t], pnl.close[t],
            pnl.volume[t],
        )  # fmt: skip

    def _reference_atr(self) -> None:
        """The simulated venue's slippage may scale with the ATR known before the bar."""
        venue = self.p.venue
        if self.sig is not None and hasattr(venue, "reference_atr"):
            venue.reference_atr = {
                s: float(a) for s, a in zip(self.panel.symbols, self.sig.atr, strict=True)
            }

    # ---- kill switch --------------------------------------------------------------------
    def _kill_switch(self, t: int, cyc: _Cycle) -> None:
        """The trading state of this cycle: the kill switch in the ledger (read at most every
        ``halt_poll_seconds``), at least the account's ``floor``; a halt with flatten closes
        every position at this open."""
        now = time.monotonic()
        if now - self._halt_checked >= self.p.halt_poll_seconds:
            self._halt_checked = now
            self._halt = self.p.ledger.halted()
        halt = self._halt
        self._halt_flatten = bool(halt is not None and halt.flatten)
        state = self.floor
        if halt is not None:
            state = TradingState.REDUCING if halt.reducing else TradingState.HALTED
            if self.floor is TradingState.HALTED:
                state = TradingState.HALTED
        gate = self.p.gate
        if gate.state is not state:
            if halt is not None:
                self.p.log(str(state), reason=halt.reason, flatten=halt.flatten)
            else:
                self.p.log("resumed" if state is TradingState.ACTIVE else str(state),
                           bar=self._texts[t], reason="account limits")  # fmt: skip
            gate.state = state
        if halt is not None and halt.flatten:
            self._flatten(t, cyc)

    def _drop_pending(self, t: int, cyc: _Cycle) -> None:
        """Forget the orders pending from a close whose open has passed unseen (stale)."""
        pend = self.st.book.pend
        for j, sym in enumerate(self.panel.symbols):
            if pend[j]["exit"] or pend[j]["entry"] != 0.0:
                cyc.decisions.append((sym, "skip", 0.0, "stale: the bar was caught up", False))
            pend[j]["exit"] = False
            pend[j]["entry"] = 0.0
            pend[j]["left"] = 0.0
        self.st.book.account[0]["pend_rebal"] = -1
        self._plan = None
        self._cancel_resting(set(), cyc)

    def _flatten(self, t: int, cyc: _Cycle) -> None:
        """Close every position at this open (the kill switch's flatten)."""
        pend = self.st.book.pend
        for j in range(self.st.n):
            if self.st.qty(j) != 0.0:
                pend[j]["exit"] = True
                pend[j]["exit_reason"] = C.EXIT_RISK_LIMIT
            pend[j]["entry"] = 0.0
        self.st.book.account[0]["pend_rebal"] = -1

    # ---- open ---------------------------------------------------------------------------
    def _plan_open(self, t: int) -> OpenPlan:
        """The engine's open phase of bar ``t``, sized with its open."""
        day, week = int(self.p.day[t]), int(self.p.week[t])
        return self.st.plan_open(t, self.panel.open[t], self.sig, day, week)

    def _open(self, t: int, bar_txt: str, cyc: _Cycle) -> None:
        pnl = self.panel
        plan = self._plan_open(t)
        self._plan = plan
        for j, side, reason in plan.rejected:
            sym = pnl.symbols[j]
            act = "buy" if side > 0 else "sell"
            cyc.decisions.append((sym, act, 0.0, reason_name(reason), False))
        for k, po in enumerate(plan.orders):
            j = po.symbol
            sym = pnl.symbols[j]
            exiting = po.reason != C.REASON_ENTRY
            intent = Intent.EXIT if exiting else Intent.ENTRY
            if po.reason == C.EXIT_REBALANCE:
                intent = Intent.REBALANCE
            if self.p.gate.state is TradingState.HALTED and exiting and self._halt_flatten:
                intent = Intent.FLATTEN  # a halt sends nothing but the flatten it asks for
            if exiting or self.st.qty(j) != 0.0:
                self._cancel_protection(j, cyc)
            stop, target = self._bracket(j, po.reason, plan)
            req = OrderRequest(
                client_id=client_order_id(self._key, sym, bar_txt, intent, k),
                strategy=self.p.strategy_id, symbol=sym, side=Side.of(po.delta),
                qty=abs(po.delta), intent=intent, type=OrderType.MARKET, stop_loss=stop,
                take_profit=target, bar=bar_txt, reason=reason_name(po.reason),
                tif=TimeInForce.GTC if stop is not None or target is not None else TimeInForce.DAY,
            )  # fmt: skip
            self._send(req, po.price, j, cyc)
        self._cancel_resting({ro.symbol for ro in plan.resting}, cyc)
        for k, ro in enumerate(plan.resting, start=len(plan.orders)):
            self._rest(ro, k, bar_txt, plan, cyc)

    # ---- limit / stop entries -----------------------------------------------------------
    def _rest(self, ro: RestingOrder, k: int, bar_txt: str, plan: OpenPlan, cyc: _Cycle) -> None:
        """Hold limit / stop entry ``ro`` at the venue for this bar: the working order stays
        when it is the same order, else a new one replaces it (a gtc entry is sized again at
        every open, as the backtest sizes it when it fills)."""
        j, sym = ro.symbol, self.panel.symbols[ro.symbol]
        lim = ro.limit if ro.limit == ro.limit else None
        stp = ro.stop if ro.stop == ro.stop else None
        kind = OrderType.STOP_LIMIT if lim and stp else OrderType.LIMIT if lim else OrderType.STOP
        stop, target = self._bracket(j, C.REASON_ENTRY, plan, resting=True)
        req = OrderRequest(
            client_id=client_order_id(self._key, sym, bar_txt, Intent.ENTRY, k),
            strategy=self.p.strategy_id, symbol=sym, side=Side.of(ro.delta), qty=abs(ro.delta),
            intent=Intent.ENTRY, type=kind, limit=lim, stop=stp, stop_loss=stop,
            take_profit=target, bar=bar_txt, reason=reason_name(C.REASON_ENTRY),
            tif=TimeInForce.GTC if self.st.s["tif_gtc"] else TimeInForce.DAY,
        )  # fmt: skip
        cid = self.resting.get(j)
        if cid is not None:
            o = self.oms.orders.get(cid)
            if o is not None and not o.state.terminal and _same_request(o.request, req):
                return  # the working order is this bar's order
            self._cancel_entry(j, cyc)
        order_atr = getattr(self.p.venue, "order_atr", None)
        if order_atr is not None:
            order_atr[req.client_id] = self.st.entry_atr(j)
        if self._send(req, ro.price, j, cyc):
            self.resting[j] = req.client_id
        else:
            self.st.book.pend[j]["entry"] = 0.0  # refused: dropped like a refused market entry
            if order_atr is not None:
                order_atr.pop(req.client_id, None)

    def _cancel_resting(self, keep: set[int], cyc: _Cycle) -> None:
        """Cancel the working limit / stop entries of the symbols not in ``keep``."""
        for j in [j for j in self.resting if j not in keep]:
            self._cancel_entry(j, cyc)

    def _cancel_entry(self, j: int, cyc: _Cycle) -> None:
        cid = self.resting.pop(j)
        known = self.oms.orders.get(cid)
        if known is not None and known.state.terminal:
            return
        u = self.p.venue.cancel(cid)
        if u is not None:
            self.oms.apply(u)
            cyc.updates.append(u)

    def _end_day_entries(self, cyc: _Cycle) -> None:
        """At the close, a day entry not filled in its bar ends: expired where the close
        expired it (as the backtest records it), cancelled where a new signal replaced it."""
        for j, cid in list(self.resting.items()):
            o = self.oms.orders.get(cid)
            if o is not None and o.request.tif is TimeInForce.GTC and not o.state.terminal:
                continue
            del self.resting[j]
            if o is None or o.state.terminal:
                continue
            venue = self.p.venue
            end = getattr(venue, "expire", venue.cancel) if j in self.st.expired else venue.cancel
            u = end(cid)
            if u is not None:
                self.oms.apply(u)
                cyc.updates.append(u)

    def _settled(self) -> set[int]:
        """The symbols whose limit / stop entry the venue filled in this bar; the finished
        ones are forgotten."""
        filled = set()
        for j, cid in list(self.resting.items()):
            o = self.oms.orders.get(cid)
            if o is None or o.state.terminal:
                del self.resting[j]
            if o is not None and o.filled_qty > 0.0 and o.state.terminal:
                filled.add(j)
        return filled

    def _bracket(
        self, j: int, reason: int, plan: OpenPlan, resting: bool = False
    ) -> tuple[float | None, float | None]:
        """Protective levels sent with an entry when stops act on the entry bar (a limit /
        stop entry: when the position is flat after the open's exits)."""
        if reason != C.REASON_ENTRY or not self.st.s["stop_on_entry"] or plan.levels is None:
            return None, None
        held = self.st.qty(j)
        if resting and plan.after_open is not None:
            held = float(plan.after_open.pos[j]["qty"])
        if held != 0.0:
            return None, None
        from alphaforge.sim.kernels_rules import stop_level_nb

        level, _r = stop_level_nb(plan.levels, j)
        tp = float(plan.levels[j]["tp"])
        return (float(level) if level == level else None), (tp if tp == tp else None)

    def _send(self, req: OrderRequest, price: float, j: int, cyc: _Cycle) -> bool:
        ctx = OrderContext(
            price=price, last_trade=float(self.st.book.last_px[j]), position=self.st.qty(j)
        )
        verdict = self.p.gate.check(req, ctx)
        act = req.side.value
        if not verdict.ok:
            cyc.decisions.append(
                (req.symbol, act, req.qty, f"{verdict.check}: {verdict.reason}", False)
            )
            self.p.log(
                "refused", bar=req.bar, symbol=req.symbol, check=verdict.check,
                reason=verdict.reason,
            )  # fmt: skip
            return False
        cyc.decisions.append((req.symbol, act, req.qty, req.reason, True))
        cyc.requests.append(req)
        _order, updates = self.oms.submit(req, req.bar)
        cyc.updates.extend(updates)
        self.p.log(
            "order", bar=req.bar, symbol=req.symbol, side=act, qty=req.qty, reason=req.reason
        )
        return True

    # ---- fills --------------------------------------------------------------------------
    def _venue_updates(self, t: int) -> list[OrderUpdate]:
        """The venue's updates; a venue in another process is also asked for the fills of
        this bar, so none waits for its stream (a fill is booked once, by its id)."""
        ups = self.p.venue.updates()
        if not getattr(self.p.venue, "synchronous", False):
            streamed = {u.fill.fill_id for u in ups if u.fill is not None}
            until = self._texts[t + 1] if t + 1 < len(self._texts) else None
            for f in self.p.venue.fills(since=self._texts[t]):
                if until is not None and _later(f.ts, until):
                    continue  # a later bar's fill (after a restart): booked with that bar
                if f.fill_id not in streamed and f.fill_id not in self._booked:
                    o = self.oms.orders.get(f.client_id)
                    done = o is not None and o.filled_qty + f.qty >= o.request.qty - 1e-9
                    state = OrderState.FILLED if done else OrderState.PARTIALLY_FILLED
                    ups.append(OrderUpdate(f.client_id, state, f.ts, fill=f))
        return ups

    def _fills(self, t: int, cyc: _Cycle) -> None:
        guards = {cid: j for j, pr in self.protect.items() for cid in pr.ids}
        for u in self._venue_updates(t):
            order, changed = self.oms.apply(u)
            f = u.fill
            if f is not None and f.fill_id in self._booked:
                continue
            if changed or f is not None:
                cyc.updates.append(u)
            if f is None:
                continue
            self._booked[f.fill_id] = None
            if len(self._booked) > 10_000:  # a stream repeats recent fills, not old ones
                del self._booked[next(iter(self._booked))]
            cyc.positions_changed = True
            j = self.panel.symbols.index(f.symbol)
            fill = (f.price, f.fee, f.slippage)
            if order is None:
                order = self._bracket_leg(j, u.client_id, cyc)
                if order is not None:
                    self.oms.apply(u)  # the leg's own update, now that it is tracked
            if u.client_id in guards or (order is not None and order.request.intent is Intent.STOP):
                self._protective_fill(t, j, u, fill)
                continue
            if order is None:
                self.p.log("unknown_fill", client_id=u.client_id, symbol=f.symbol)
                continue
            req = order.request
            code = _REASON_CODE.get(req.reason, C.REASON_ENTRY)
            was_flat = self.st.qty(j) == 0.0
            self.st.book_fill(t, j, f.signed_qty, fill, code, req.qty)
            if code == C.REASON_ENTRY and was_flat and self._plan is not None:
                self.st.adopt_levels(j, self._plan)
                if req.stop_loss is not None or req.take_profit is not None:
                    self._adopt_bracket(j, req, cyc)

    def _bracket_leg(self, j: int, client_id: str, cyc: _Cycle) -> Order | None:
        """A protective leg the venue made for one of this cycle's entries and filled before
        the runtime saw it (a stop hit in the entry's own bar): recorded, then booked."""
        vo = self.p.venue.order(client_id)
        parent = self.oms.orders.get(vo.parent_id) if vo is not None and vo.parent_id else None
        if vo is None or parent is None:
            return None
        _level, reason, _tp = self.st.protection(j)
        self._record_leg(vo, parent.request, reason if reason >= 0 else C.EXIT_STOP_LOSS, cyc)
        return self.oms.orders.get(client_id)

    def _protective_fill(
        self, t: int, j: int, u: OrderUpdate, fill: tuple[float, float, float]
    ) -> None:
        prot = self.protect.get(j)
        if prot is not None and u.client_id in prot.ids:
            kind = prot.ids[u.client_id]
        else:
            vo = self.p.venue.order(u.client_id)
            kind = _kind(vo) if vo is not None else "stop"
        if kind == "target" or (kind == "pair" and u.reason.startswith("target")):
            code = C.EXIT_TAKE_PROFIT
        elif prot is not None:
            code = prot.reason
        else:
            _level, code, _tp = self.st.protection(j)
            code = code if code >= 0 else C.EXIT_STOP_LOSS
        if "ambiguous" in u.reason:
            self.st.mark_ambiguous(j)
        self.st.protective_fill(t, j, fill, code)
        if self.st.qty(j) == 0.0:
            self.protect.pop(j, None)

    def _adopt_bracket(self, j: int, req: OrderRequest, cyc: _Cycle) -> None:
        """The bracket's protective orders at the venue now protect position ``j``; each is
        recorded as an order of its own."""
        legs = [o for o in self.p.venue.open_orders() if o.parent_id == req.client_id]
        if not legs:
            return
        _level, reason, tp = self.st.protection(j)
        stop = next((o.stop for o in legs if o.stop is not None), None)
        self.protect[j] = _Protect(
            {o.client_id: _kind(o) for o in legs}, stop if stop is not None else np.nan, tp,
            legs[0].qty, reason,
        )  # fmt: skip
        for o in legs:
            self._record_leg(o, req, reason, cyc)

    # ---- close --------------------------------------------------------------------------
    def _note_signals(self, sig: SignalRow, cyc: _Cycle) -> None:
        some = sig.entries | sig.exits | sig.short_entries | sig.short_exits
        if sig.rebalance:
            some = some | (sig.weights == sig.weights)
        if sig.score is not None:
            some = some | (sig.score == sig.score)
        symbols = self.panel.symbols
        for j in np.flatnonzero(some).tolist():
            sym = symbols[j]
            names = [
                n
                for n, a in (
                    ("entry", sig.entries), ("exit", sig.exits),
                    ("short_entry", sig.short_entries), ("short_exit", sig.short_exits),
                )
                if a[j]
            ]  # fmt: skip
            if sig.rebalance and sig.weights[j] == sig.weights[j]:
                names.append(f"weight={sig.weights[j]:.6g}")
            if sig.score is not None and sig.score[j] == sig.score[j]:
                names.append(f"p={sig.score[j]:.4f}")  # the prediction behind the masks
            if names:
                cyc.signals.append((sym, ",".join(names)))

    def _cancel_protection(self, j: int, cyc: _Cycle) -> None:
        prot = self.protect.pop(j, None)
        if prot is None:
            return
        for cid in prot.ids:
            known = self.oms.orders.get(cid)
            if known is not None and known.state.terminal:
                continue
            u = self.p.venue.cancel(cid)
            if u is not None:
                self.oms.apply(u)
                cyc.updates.append(u)

    def _protect_positions(self, t: int, bar_txt: str, cyc: _Cycle) -> None:
        """Hold each position's stop / target pair at the venue; replace it when it moved."""
        closing = self._closing()
        table = self.st.protections()
        for j, sym in enumerate(self.panel.symbols):
            q = table.qty[j]
            prot = self.protect.get(j)
            if (q == 0.0 and prot is None) or j in closing:
                continue
            if q == 0.0:
                self._cancel_protection(j, cyc)
                continue
            stop, reason, tp = table.stop[j], table.reason[j], table.target[j]
            if stop != stop and tp != tp:
                if prot is not None:
                    self._cancel_protection(j, cyc)
                continue
            same = prot is not None and _same(prot.stop, stop) and _same(prot.target, tp)
            if same and prot is not None and abs(prot.qty - abs(q)) < 1e-9:
                prot.reason = reason
                continue
            self._cancel_protection(j, cyc)
            req = OrderRequest(
                client_id=client_order_id(self._key, sym, bar_txt, Intent.STOP, j),
                strategy=self.p.strategy_id, symbol=sym, side=Side.SELL if q > 0 else Side.BUY,
                qty=abs(q), intent=Intent.STOP, type=OrderType.STOP, tif=TimeInForce.GTC,
                stop=stop if stop == stop else None,
                take_profit=tp if tp == tp else None, bar=bar_txt, reason=reason_name(reason),
            )  # fmt: skip
            cyc.requests.append(req)
            _o, ups = self.oms.submit(req, bar_txt)
            cyc.updates.extend(ups)
            if not any(u.state is OrderState.REJECTED for u in ups):
                ids = {req.client_id: "pair" if stop == stop and tp == tp else
                       ("stop" if stop == stop else "target")}  # fmt: skip
                for o in self.p.venue.open_orders():
                    if o.client_id == req.client_id:
                        ids[o.client_id] = _kind(o)
                    elif o.parent_id == req.client_id:  # a leg of its own at the venue
                        ids[o.client_id] = _kind(o)
                        self._record_leg(o, req, reason, cyc)
                if ids[req.client_id] == "target":  # the pair's parent is its limit side
                    cyc.requests[cyc.requests.index(req)] = replace(req, reason="take_profit")
                self.protect[j] = _Protect(ids, stop, tp, abs(q), reason)

    def _closing(self) -> set[int]:
        """Positions a working order is already closing (their protection waits for it); in a
        replay every order of an open is done by its close, so there are none."""
        return set()

    def _record_leg(self, o: VenueOrder, parent: OrderRequest, reason: int, cyc: _Cycle) -> None:
        """Record a protective leg the venue made for ``parent`` as an order of its own."""
        leg = OrderRequest(
            client_id=o.client_id, strategy=parent.strategy, symbol=parent.symbol, side=o.side,
            qty=o.qty, intent=Intent.STOP, type=o.type, limit=o.limit, stop=o.stop,
            bar=parent.bar,
            reason="take_profit" if _kind(o) == "target" else reason_name(reason),
        )  # fmt: skip
        cyc.requests.append(leg)
        self.oms.orders[leg.client_id] = Order(leg, OrderState.ACCEPTED, o.venue_id)

    # ---- ledger -------------------------------------------------------------------------
    def _write(self, t: int, bar_txt: str, cyc: _Cycle) -> None:
        """Write the cycle; cycles are committed in batches (``NodeParts.batch``: at most that
        many, and at most ``batch_seconds`` of work), each batch one transaction that ends
        with the state a restart continues from."""
        if self._batch is None:
            self._begin_batch()
        w = self._open_cycle(bar_txt)
        sid = self.p.strategy_id
        for sym, value in cyc.signals:
            w.signal(sid, sym, value)
        for sym, act, qty, reason, ok in cyc.decisions:
            w.decision(sid, sym, act, qty, reason, ok)
        for req in cyc.requests:
            w.order(req)
        for u in cyc.updates:
            w.order_event(u)
        gross, net = self.st.exposure
        w.equity(sid, self.st.cash, self.st.equity, gross, net)
        if cyc.positions_changed:
            w.positions(sid, self._position_rows())
        self._risk_events(w)
        diffs, ups = self._reconciled
        for d in diffs:
            w.reconcile_event(d.kind, d.symbol, d.client_id, d.detail)
        for u in ups:
            w.order_event(u)
        self._reconciled = ([], [])
        self._batch_n += 1
        self._last_w = (w, t)
        if self._shared:
            return  # the account commits
        full = self._batch_n >= self.p.batch
        if full or time.monotonic() - self._batch_t0 >= self.p.batch_seconds:
            self.commit()

    def share_batch(self, batch: Any) -> None:
        """Write the next cycles into ``batch``, an open ledger batch an account of several
        strategies commits (with :meth:`write_state` of each node)."""
        self._shared = True
        self._batch = batch
        self._open_cycle = batch
        self._batch_n = 0

    def write_state(self) -> None:
        """Put the state after the last written cycle into its writer (see :meth:`commit`)."""
        if self._last_w is not None:
            w, t = self._last_w
            w.set_state(self._key, "runtime", self.snapshot(t))

    def _begin_batch(self) -> None:
        self._batch = self.p.ledger.cycles(self.p.run_id)
        self._open_cycle = self._batch.__enter__()
        self._batch_n = 0
        self._batch_t0 = time.monotonic()

    def commit(self) -> None:
        """Commit the open batch of cycles (with the state after its last cycle)."""
        if self._batch is None or self._shared:
            return
        self.write_state()
        batch, self._batch = self._batch, None
        batch.__exit__(None, None, None)

    # ---- restart ------------------------------------------------------------------------
    def snapshot(self, t: int) -> dict[str, Any]:
        """What a restart needs to continue after bar ``t``, written with the cycle."""
        working = [
            {"req": request_dict(o.request), "state": o.state.value, "filled": o.filled_qty,
             "avg": o.avg_price, "venue_id": o.venue_id}
            for o in self.oms.orders.values()
            if not o.state.terminal
        ]  # fmt: skip
        snap: dict[str, Any] = {
            "t": t, "stepper": self.st.snapshot(), "working": working,
            "protect": {str(j): asdict(p) for j, p in self.protect.items()},
            "resting": {str(j): cid for j, cid in self.resting.items()},
        }  # fmt: skip
        venue_snapshot = getattr(self.p.venue, "snapshot", None)
        if venue_snapshot is not None:
            snap["venue"] = venue_snapshot()
        return snap

    def restore(self, snap: dict[str, Any]) -> int:
        """Continue from :meth:`snapshot`; returns the next bar to run."""
        t = int(snap["t"])
        self.st.restore(snap["stepper"])
        self.protect = {int(j): _Protect(**p) for j, p in snap["protect"].items()}
        self.resting = {int(j): str(cid) for j, cid in snap.get("resting", {}).items()}
        for d in snap["working"]:
            o = Order(request_of(d["req"]), OrderState(d["state"]), d["venue_id"], d["filled"],
                      d["avg"])  # fmt: skip
            self.oms.orders[o.client_id] = o
        venue_restore = getattr(self.p.venue, "restore", None)
        if venue_restore is not None and "venue" in snap:
            venue_restore(snap["venue"])
        self._events_seen = 0
        self._held = self._book_positions()
        self.sig, _w = self.p.signals.row(self.panel, t)
        return t + 1

    def reconcile(self, t: int, since: str | None, known_fills: set[str]) -> list[Difference]:
        """Reconcile with the venue before running bar ``t`` (see
        :mod:`alphaforge.engine.reconcile`); the events are written with the next cycle."""
        n = self.panel.shape[0]
        resume_at = self.panel.index[min(t, n - 1)].isoformat()
        if t >= n:
            resume_at = (self.panel.index[-1] + pd.Timedelta(days=3650)).isoformat()
        working: dict[str, object] = {
            cid: o for cid, o in self.oms.orders.items() if not o.state.terminal
        }
        booked = known_fills | set(self._booked)
        rec = Reconciler(self.p.venue, self.st, self.panel.symbols, self.p.strategy_id)
        diffs, updates = rec.run(since, resume_at, t, working, booked)
        for u in updates:
            self.oms.apply(u)
            if u.fill is not None:
                self._booked[u.fill.fill_id] = None
        for d in diffs:
            self.p.log("reconcile", kind=d.kind, symbol=d.symbol, client_id=d.client_id,
                       detail=d.detail)  # fmt: skip
        self._reconciled = (diffs, updates)
        return diffs

    def pending_reconciliation(self) -> list[Difference]:
        """The differences the last :meth:`reconcile` found, not yet written."""
        return list(self._reconciled[0])

    def write_reconciliation(self, bar_txt: str, t: int) -> None:
        """Write what :meth:`reconcile` resolved now, as a cycle of its own at ``bar_txt``
        (the run's last bar), with the state that continues from bar ``t``."""
        diffs, ups = self._reconciled
        with self.p.ledger.cycle(self.p.run_id, bar_txt) as w:
            for d in diffs:
                w.reconcile_event(d.kind, d.symbol, d.client_id, d.detail)
            for u in ups:
                w.order_event(u)
            w.set_state(self._key, "runtime", self.snapshot(t))
        self._reconciled = ([], [])

    def _book_positions(self) -> dict[str, tuple[float, float]]:
        """symbol -> (signed quantity, entry price) of the book's open positions."""
        pos, symbols = self.st.book.pos, self.panel.symbols
        held = np.flatnonzero(pos["qty"])
        return {
            symbols[j]: (q, px)
            for j, q, px in zip(
                held.tolist(),
                pos["qty"][held].tolist(),
                pos["entry_px"][held].tolist(),
                strict=True,
            )
        }

    def _position_rows(self) -> dict[str, tuple[float, float]]:
        """The positions that changed since the rows written last (a closed one as (0, 0))."""
        now = self._book_positions()
        rows = {s: v for s, v in now.items() if self._held.get(s) != v}
        rows.update({s: (0.0, 0.0) for s in self._held if s not in now})
        self._held = now
        return rows

    def _risk_events(self, w: CycleLog) -> None:
        events, self._events_seen = self.st.events_after(self._events_seen)
        if not len(events):
            return
        limits = {
            C.RULE_DAILY_LOSS: float(self.st.s["daily_loss"]),
            C.RULE_WEEKLY_LOSS: float(self.st.s["weekly_loss"]),
            C.RULE_MAX_DD: float(self.st.s["max_dd"]),
            C.RULE_TRADE_MAX_LOSS: float(self.st.s["trade_max_loss"]),
        }
        for e in events:
            rule = int(e["rule"])
            w.risk_event(self.p.strategy_id, C.RULE_NAMES[rule], float(e["value"]),
                         limits[rule], "block" if rule != C.RULE_TRADE_MAX_LOSS else "exit")  # fmt: skip


def _later(ts: str, bound: str) -> bool:
    """Whether ISO time ``ts`` is at or after ``bound``."""
    return pd.Timestamp(ts) >= pd.Timestamp(bound)


def _same_request(a: OrderRequest, b: OrderRequest) -> bool:
    """Whether two entries are the same order at the venue (all but their ids and bar)."""
    keys = ("side", "qty", "type", "limit", "stop", "tif", "stop_loss", "take_profit")
    return all(getattr(a, k) == getattr(b, k) for k in keys)


def _same(a: float, b: float) -> bool:
    return (a != a and b != b) or abs(a - b) <= 1e-9 * max(1.0, abs(b))
