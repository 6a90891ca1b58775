"""An account of several strategies: one trading node each, one venue, one ledger transaction.

At bar ``t`` every node runs the first half of its cycle (:meth:`TradingNode.begin`: the kill
switch and its open, whose market orders the :class:`~alphaforge.engine.netting.NettingDesk`
holds); the account refuses held entries that would take its gross exposure above
``account.max_gross``; the desk nets the rest per symbol and sends the differences; the venue
sees the bar; then every node runs its second half (:meth:`TradingNode.finish`: fills, close,
protection, its cycle's rows). The account then evaluates its own limits on its equity (the
strategies' summed and its reserve, below), and all of it (every node's cycle, the netted
orders, the account's risk events and the state a restart continues from) commits in one
transaction per batch of bars.

Account limits (``account:``), over the account's equity: the strategies' summed equity and the
account's **reserve**, the cash no strategy is allocated (``cash`` x (1 - the allocations'
sum)), which the account keeps as cash and records as the equity of ``account`` at every bar
(so ``pnl`` and ``status`` show the whole account):

* ``daily_loss_limit``: a day whose equity fell this far from the last close before it puts
  every strategy in the **reducing** state for the rest of that day (on bars of a day or
  longer, where no bar is left in it, for the next bar);
* ``max_drawdown``: past this drawdown from the peak, reducing for the rest of the run (the
  state is saved with the account and survives a restart; ``alphaforge kill`` and ``resume``
  work as for one strategy);
* ``max_gross``: entries that would take gross exposure above this multiple of equity are
  refused, with the reason recorded, in the order the strategies sent them; the limit / stop
  entries working at the venue count as if filled at their level.

A strategy that may only reduce exposure (these limits, the kill switch) keeps no limit / stop
entry working: the account cancels each before the venue sees the bar, with the reason.

Each is recorded as a risk event of the strategy ``account``.

On a broker with a live feed, :class:`LiveAccount` runs the same parts in the live node's
order: every close first, then the limits, then every open of the next bar, whose netted
orders leave at once (:mod:`alphaforge.engine.broker_desk`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from alphaforge.core.orders import Intent, OrderRequest
from alphaforge.engine.broker_desk import BrokerDesk
from alphaforge.engine.gate import TradingState
from alphaforge.engine.live_node import LiveNode
from alphaforge.engine.netting import NET, NettingDesk
from alphaforge.engine.node import TradingNode
from alphaforge.engine.reconcile import Difference
from alphaforge.ports import BarSet, TradeLedger
from alphaforge.sim import codes as C

ACCOUNT = "account"  # the strategy name of the account's own risk events and state


@dataclass(frozen=True)
class AccountLimits:
    daily_loss_limit: float | None = None
    max_drawdown: float | None = None
    max_gross: float | None = None


@dataclass
class _Risk:
    """The account's limit state: the day's start equity, the peak, and what is blocked."""

    day: int = -1
    day_start: float = 0.0  # 0: not known yet
    peak: float = 0.0
    blocked_day: int = -1  # the day the daily loss limit blocks (BLOCK_NEXT_BAR: the next bar)
    breaker: bool = False  # the drawdown breaker fired (for the rest of the run)


class Account:
    """Runs the nodes of several strategies on one venue (see the module docstring)."""

    def __init__(
        self,
        nodes: list[TradingNode],
        desk: NettingDesk,
        ledger: TradeLedger,
        run_id: str,
        limits: AccountLimits,
        bars: Callable[[int], BarSet],
        day: np.ndarray,
        batch: int = 256,
        batch_seconds: float = 0.25,
        reserve: float = 0.0,
    ) -> None:
        self.nodes, self.desk, self.ledger, self.run_id = nodes, desk, ledger, run_id
        self.reserve = reserve  # the cash no strategy is allocated (see the module docstring)
        self.limits, self.bars, self.day = limits, bars, day
        self.batch, self.batch_seconds = batch, batch_seconds
        self.risk = _Risk()
        self.ids = [n.p.strategy_id for n in nodes]
        self._key = f"{run_id}/{ACCOUNT}"
        self._cm: Any = None
        self._open: Any = None
        self._n = 0
        self._t0 = 0.0
        self._last: Any = None

    @property
    def equity(self) -> float:
        """The strategies' equity at the last close and the reserve."""
        return float(sum(n.st.equity for n in self.nodes)) + self.reserve

    def step(self, t: int, trade: bool = True) -> float:
        """Run bar ``t`` for every strategy; returns the account's equity at its close."""
        if self._cm is None:
            self._begin()
        self._roll_day(int(self.day[t]))
        floor = self._floor(int(self.day[t]))
        for node in self.nodes:
            node.floor = floor
            node.begin(t, trade)
        text = self.nodes[0]._texts[t]
        self._end_entries()
        events = self._gross_check()
        self.desk.flush(text)
        for node in self.nodes:
            node._reference_atr()
        self.desk.on_bar(self.bars(t))
        eq = float(sum(node.finish(t) for node in self.nodes)) + self.reserve
        events += self._limits(int(self.day[t]), eq)
        self._write(text, events)
        return eq

    def _write(self, text: str, events: list[tuple[str, float, float]]) -> None:
        """The account's part of the cycle at bar ``text``: the net orders, their state
        changes and the account's risk events; the batch commits when it is full."""
        w = self._open(text)
        sent, changes = self.desk.records()
        for req in sent:
            w.order(req)
        for u in changes:
            w.order_event(u)
        for rule, value, limit in events:
            w.risk_event(ACCOUNT, rule, value, limit, "block")
        if self.reserve:
            w.equity(ACCOUNT, self.reserve, self.reserve, 0.0, 0.0)
        self._last = w
        self._n += 1
        if self._n >= self.batch or time.monotonic() - self._t0 >= self.batch_seconds:
            self.commit()

    # ---- limits ----------------------------------------------------------------------------
    def _floor(self, day: int) -> TradingState:
        r = self.risk
        if r.breaker or r.blocked_day in (day, C.BLOCK_NEXT_BAR, C.BLOCK_THIS_BAR):
            return TradingState.REDUCING
        return TradingState.ACTIVE

    def _gross_check(self) -> list[tuple[str, float, float]]:
        """Refuse held entries above ``max_gross`` x equity: the positions at the last closes,
        plus every limit / stop entry still working at the venue as if filled at its level,
        plus the held entries in the order they were sent (a market entry at the last close,
        a limit / stop entry at its level)."""
        cap = self.limits.max_gross
        if cap is None:
            return []
        eq = self.equity
        held = self.desk.held()
        gross = float(sum(n.st.exposure[0] for n in self.nodes)) + self._working(held)
        out = []
        for req in held:
            if req.intent is not Intent.ENTRY:
                continue
            add = req.qty * self._level(req)
            if eq > 0 and (gross + add) / eq > cap + 1e-12:
                self.desk.refuse(req.client_id, f"account: gross exposure above {cap:g}x equity")
                out.append(("max_gross", (gross + add) / eq, cap))
                continue
            gross += add
        return out

    def _level(self, req: OrderRequest) -> float:
        """The price an entry would fill at: a limit / stop entry's level, else the last close
        (0 when unknown)."""
        px = req.limit if req.limit is not None else req.stop
        if px is None:
            px = self.desk.last.get(req.symbol, float("nan"))
        return px if px == px else 0.0

    def _working(self, held: list[OrderRequest]) -> float:
        """The gross value of the limit / stop entries working at the venue (sent at an earlier
        open: a gtc entry), the rest of each valued at its level."""
        sent = {r.client_id for r in held}
        total = 0.0
        for node in self.nodes:
            for cid in node.resting.values():
                o = node.oms.orders.get(cid)
                if o is not None and not o.state.terminal and cid not in sent:
                    total += max(o.request.qty - o.filled_qty, 0.0) * self._level(o.request)
        return total

    def _end_entries(self) -> None:
        """A strategy that may only reduce exposure (the account's loss limits, the kill switch)
        keeps no limit / stop entry working: each is cancelled before the venue sees the bar,
        with the reason recorded on the order (its gate refuses new ones)."""
        held = {r.client_id for r in self.desk.held()}
        for node in self.nodes:
            state = node.p.gate.state
            if state is TradingState.ACTIVE:
                continue
            for j, cid in list(node.resting.items()):
                o = node.oms.orders.get(cid)
                if cid in held or o is None or o.state.terminal:
                    continue
                del node.resting[j]
                remember = getattr(node, "_remember_entry", None)
                if remember is not None:  # a broker may fill it before the cancel arrives
                    remember(cid)
                u = node.p.venue.cancel(cid)
                if u is not None:
                    u = replace(u, reason=f"account: {state} (only orders that reduce exposure)")
                    node.oms.apply(u)
                    node._cyc.updates.append(u)

    def _roll_day(self, day: int) -> None:
        """At the first bar of a day the daily limit measures from the last close."""
        r = self.risk
        if day != r.day:
            r.day, r.day_start = day, self.equity
            r.peak = max(r.peak, r.day_start)
            # a daily loss limit that fired on bars of a day or longer: the one bar after it
            if r.blocked_day == C.BLOCK_THIS_BAR:
                r.blocked_day = -1
            elif r.blocked_day == C.BLOCK_NEXT_BAR:
                r.blocked_day = C.BLOCK_THIS_BAR

    def _limits(self, day: int, eq: float) -> list[tuple[str, float, float]]:
        """The daily loss limit and the drawdown breaker at a close with equity ``eq``."""
        r, lim = self.risk, self.limits
        out = []
        loss = 1.0 - eq / r.day_start if r.day_start > 0 else 0.0
        daily = lim.daily_loss_limit
        if daily is not None and r.blocked_day != day and loss >= daily:
            # on bars of a day or longer no bar is left in that day: the next bar is reducing
            r.blocked_day = C.BLOCK_NEXT_BAR if bool(self.nodes[0].st.s["daily_bars"]) else day
            out.append(("daily_loss_limit", loss, daily))
        r.peak = max(r.peak, eq)
        dd = 1.0 - eq / r.peak if r.peak > 0 else 0.0
        if lim.max_drawdown is not None and not r.breaker and dd >= lim.max_drawdown:
            r.breaker = True
            out.append(("max_drawdown", dd, lim.max_drawdown))
        return out

    # ---- ledger ----------------------------------------------------------------------------
    def _begin(self) -> None:
        self._cm = self.ledger.cycles(self.run_id)
        self._open = self._cm.__enter__()
        for node in self.nodes:
            node.share_batch(self._open)
        self._n = 0
        self._t0 = time.monotonic()

    def commit(self) -> None:
        """Commit the open batch with every node's state and the account's."""
        if self._cm is None:
            return
        for node in self.nodes:
            node.write_state()
        if self._last is not None:
            self._last.set_state(self._key, "account", self.snapshot())
        cm, self._cm = self._cm, None
        cm.__exit__(None, None, None)

    def write_reconciliation(self, bar_txt: str, t: int) -> None:
        """Write what the reconciliation of a start resolved, outside the cycles of a run
        (``alphaforge reconcile --apply``): every strategy's differences, order updates and
        state after bar ``t``, the desk's order updates and the account's state (the netting
        desk's book, whose attributed positions the reconciliation changed), as one cycle at
        ``bar_txt``, the run's last bar, in one transaction."""
        with self.ledger.cycles(self.run_id) as new:
            w = new(bar_txt)
            for node in self.nodes:
                diffs, ups = node._reconciled
                for d in diffs:
                    w.reconcile_event(d.kind, d.symbol, d.client_id, d.detail)
                for u in ups:
                    w.order_event(u)
                w.set_state(node._key, "runtime", node.snapshot(t))
            sent, changes = self.desk.records()
            for req in sent:
                w.order(req)
            for u in changes:
                w.order_event(u)
            w.set_state(self._key, ACCOUNT, self.snapshot())
        for node in self.nodes:
            node._reconciled = ([], [])

    def snapshot(self) -> dict[str, Any]:
        r = self.risk
        return {
            "risk": {"day": r.day, "day_start": r.day_start, "peak": r.peak,
                     "blocked_day": r.blocked_day, "breaker": r.breaker},
            "desk": self.desk.snapshot(),
        }  # fmt: skip

    def restore(self, snap: dict[str, Any]) -> None:
        self.risk = _Risk(**snap["risk"])
        self.desk.restore(snap["desk"])


class LiveAccount(Account):
    """An account on a broker with a live feed: at the close of bar ``t`` every node books
    what the broker did and runs its close; the account's loss limits are evaluated on the
    account's equity; then every node runs the open of bar ``t + 1`` with the account's state of
    that bar's trading day (``next_day(t)``), a strategy that may only reduce exposure has its
    working limit / stop entries cancelled at the broker, the gross cap refuses held entries
    (counting the working ones at their level), and the desk sends each symbol's net order at
    once, for the next open, and each limit / stop entry as its strategy's own order with its
    bracket (:mod:`alphaforge.engine.live_node`, :mod:`alphaforge.engine.broker_desk`)."""

    nodes: list[LiveNode]  # type: ignore[assignment]
    desk: BrokerDesk

    def __init__(
        self,
        nodes: list[LiveNode],
        desk: BrokerDesk,
        ledger: TradeLedger,
        run_id: str,
        limits: AccountLimits,
        bars: Callable[[int], BarSet],
        day: np.ndarray,
        next_day: Callable[[int], int],
        reserve: float = 0.0,
    ) -> None:
        super().__init__(list(nodes), desk, ledger, run_id, limits, bars, day, batch=1,
                         reserve=reserve)  # fmt: skip
        self.next_day = next_day
        desk.brackets = self._brackets

    def _brackets(self) -> dict[str, str]:
        """The strategies' working orders sent with a bracket: client id -> strategy."""
        out = {}
        for node in self.nodes:
            for cid, o in node.oms.orders.items():
                req = o.request
                if not o.state.terminal and (
                    req.stop_loss is not None or req.take_profit is not None
                ):
                    out[cid] = node.p.strategy_id
        return out

    def step(self, t: int, trade: bool = True) -> float:
        """Run the close of bar ``t`` for every strategy and send the next open's orders
        (``trade=False``: a caught-up bar, whose pending orders are dropped). The first bar
        after a restart whose lost cycle had already sent orders to the broker is redone as
        it ran: its orders are decided again, and what the broker has is kept (the same
        client ids), what it has not is not sent late (:attr:`BrokerDesk.lost_cycle`)."""
        if self._cm is None:
            self._begin()
        redo, self.desk.lost_cycle = self.desk.lost_cycle and not trade, False
        texts = self.nodes[0]._texts
        self._roll_day(int(self.day[t]))
        self.desk.settle(self.bars(t), texts[t + 1] if t + 1 < len(texts) else None)
        self._report_unplaced()
        eq = float(sum(node.close_phase(t) for node in self.nodes)) + self.reserve
        events = self._limits(int(self.day[t]), eq)
        nday = self.next_day(t)
        self._roll_day(nday)
        floor = self._floor(nday)
        for node in self.nodes:
            node.floor = floor
            node.open_phase(t, trade or redo)
        self._end_entries()
        events += self._gross_check()
        self.desk.flush(texts[t], only_known=redo)
        for node in self.nodes:
            node.end_cycle(t)
        self._write(texts[t], events)
        return eq

    def _report_unplaced(self) -> None:
        """The broker's fills the desk could not place (no strategy's order made them):
        logged, and recorded as reconciliation events with this cycle; the next
        reconciliation books them (:meth:`BrokerDesk._unplaced`)."""
        found, self.desk.unplaced = self.desk.unplaced, []
        if not found:
            return
        lead = self.nodes[0]
        for f in found:
            lead.p.log("unplaced_fill", client_id=f.client_id, symbol=f.symbol,
                       side=f.side.value, qty=f.qty, price=f.price, ts=f.ts)  # fmt: skip
        lead.note_differences([
            Difference("unplaced_fill", f.symbol, f.client_id,
                       f"broker {f.side.value} {f.qty:g} @ {f.price:.4f} at {f.ts}: no "
                       "strategy's order made it; booked by the next reconciliation")
            for f in found
        ])  # fmt: skip


__all__ = ["ACCOUNT", "NET", "Account", "AccountLimits", "LiveAccount"]
