"""Several strategies on one account (``strategies:``): a node per strategy on its allocation of
the cash, one venue behind a netting desk, one ledger run.

Each entry of ``strategies:`` is the run's spec with that entry's strategy, parameters, symbols
and the keys of ``sizing`` / ``risk`` / ``exits`` it replaces, and ``allocation x cash`` as its
cash: the same rules a backtest of that strategy alone would use. Costs, the venue and the
calendar are the account's.

A replay runs on the simulated venue (:class:`~alphaforge.engine.account.Account`). Paper and
live trading on a live feed run there too, or, with ``broker.name``, on the broker: every node
is a live node, the desk a :class:`~alphaforge.engine.broker_desk.BrokerDesk`, and what a close
decides is netted and sent at once for the next open
(:class:`~alphaforge.engine.account.LiveAccount`). A start or restart on a broker first routes
what the broker filled while the runtime was down and makes the strategies' positions add up to
the broker's, then each strategy reconciles with its share.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from alphaforge.config.specs import RunSpec, SleeveSpec
from alphaforge.core.errors import AlphaforgeError, ConfigError, DataError
from alphaforge.core.panel import Panel
from alphaforge.core.rules import format_validation_error
from alphaforge.engine.account import ACCOUNT, Account, AccountLimits, LiveAccount
from alphaforge.engine.broker_desk import BrokerDesk
from alphaforge.engine.live_node import LiveNode
from alphaforge.engine.netting import NettingDesk
from alphaforge.engine.node import NodeParts, TradingNode
from alphaforge.engine.node_parts import REPLAY_BATCH
from alphaforge.engine.reconcile import Difference
from alphaforge.engine.signals import SignalSource
from alphaforge.ledger import Ledger
from alphaforge.ports import BarSet
from alphaforge.services.decision_log import make_logger, run_log_file
from alphaforge.services.trading import (
    ReplayOutcome,
    ReplayRequest,
    _precompute,
    anchor_data,
    check_run_id,
    make_venue,
    replay_start,
    risk_gate,
    strategy_book,
)
from alphaforge.sim.inputs import run_clock
from alphaforge.sim.venue import SimulatedVenue

_MERGED = ("sizing", "risk", "exits")


def sleeve_id(sl: SleeveSpec) -> str:
    return sl.id or sl.strategy


def sleeve_spec(spec: RunSpec, k: int) -> RunSpec:
    """The run spec of the ``k``-th strategy of ``spec`` (see the module docstring)."""
    assert spec.strategies is not None
    sl = spec.strategies[k]
    where = f"strategies[{k}]"
    if sl.exits and "ambiguity" in sl.exits:
        raise ConfigError(
            f"{spec.source}: {where}.exits.ambiguity: the account's venue decides a bar that "
            "touches both levels one way for every strategy; set exits.ambiguity for the run"
        )
    unknown = sorted(set(sl.symbols or ()) - set(spec.symbols or sl.symbols or ()))
    if unknown:
        raise ConfigError(
            f"{spec.source}: {where}.symbols: {unknown[0]!r} is not in the run's symbols"
        )
    data = spec.model_dump(exclude={"strategies", "account"})
    data["feed"] = spec.feed.model_dump(exclude_unset=True)  # its keys are checked as written
    for key in _MERGED:
        extra = getattr(sl, key)
        if extra:
            data[key] = {**data[key], **extra}
    data.update(strategy=sl.strategy, params=sl.params, cash=spec.cash * sl.allocation,
                symbols=sl.symbols or spec.symbols)  # fmt: skip
    try:
        out = RunSpec.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, f"{spec.source}: {where}")) from None
    out._source = f"{spec.source}: {where}"
    return out


def sub_panel(panel: Panel, symbols: list[str] | None) -> Panel:
    """``panel`` restricted to ``symbols`` (all when None), in the given order."""
    if symbols is None:
        return panel
    cols = [panel.symbols.index(s) for s in symbols]
    return Panel(
        index=panel.index, symbols=tuple(symbols), timeframe=panel.timeframe,
        open=panel.open[:, cols], high=panel.high[:, cols], low=panel.low[:, cols],
        close=panel.close[:, cols], volume=panel.volume[:, cols],
    )  # fmt: skip


def on_broker(spec: RunSpec) -> bool:
    """Whether the run's orders go to a broker (a shadow run never sends any)."""
    return spec.broker.name != "simulated" and not spec.runtime.shadow


def wash_trade_risks(spec: RunSpec, strategy: str | None = None) -> list[str]:
    """What Alpaca's wash-trade protection refuses in an account on Alpaca, one line per
    strategy whose protection at the broker is a single order and other strategy sharing
    symbols with it (with ``strategy``: the lines that name it).

    Alpaca refuses a simple order while an open simple order of the same symbol on the other
    side could trade against it ("potential wash trade detected"); bracket and OCO orders are
    exceptions. A position protected by its exits' stop and take-profit together is an OCO; one
    protected by only one of them (a stop, a trailing stop or a target) is a simple order, and
    while it works the other strategies' orders on the other side of that symbol are refused.
    Levels a strategy computes itself are not known from the config and are not checked."""
    if spec.strategies is None or spec.broker.name != "alpaca" or spec.runtime.shadow:
        return []
    sleeves = [sleeve_spec(spec, k) for k in range(len(spec.strategies))]
    names = [sleeve_id(sl) for sl in spec.strategies]
    out = []
    for k, s in enumerate(sleeves):
        ex = s.exits
        stop = ex.stop_loss is not None or ex.trailing_stop is not None
        if stop == (ex.take_profit is not None):
            continue  # no protection, or an OCO pair
        mine = set(s.symbols or ())
        others = [(names[i], sorted(mine & set(o.symbols or ()))) for i, o in enumerate(sleeves)
                  if i != k and mine & set(o.symbols or ())]  # fmt: skip
        for other, shared in others:
            if strategy is not None and strategy not in (names[k], other):
                continue
            kind = "stop" if stop else "take-profit"
            out.append(
                f"wash trades at alpaca: {names[k]}'s protective {kind} is a single order, so "
                f"while {names[k]} holds {', '.join(shared)}, an order of {other} on the other "
                f"side of that position is refused (potential wash trade detected); give "
                f"{names[k]} both a stop and a take-profit (an OCO, exempt) or keep the "
                "strategies' symbols apart"
            )
    return out


def refuse_broker_replay(spec: RunSpec) -> None:
    """An account's replay runs on the simulated venue: a broker in its spec is refused."""
    if on_broker(spec):
        raise ConfigError(
            f"{spec.source}: broker.name: {spec.broker.name}: an account of several strategies "
            "is replayed on the simulated venue (broker.name: simulated); on the broker it "
            "trades a live feed (alphaforge paper without --replay)"
        )


@dataclass(frozen=True)
class _Run:
    """The ledger run an account writes: its id, mode, period, log and how it runs."""

    run_id: str
    mode: str
    period: dict[str, str]
    log: Callable[..., None]
    batch: int = 1  # cycles per ledger transaction (a replay at full speed batches)
    replay: bool = False  # stored history: signals may be computed once


@dataclass
class AccountSetup:
    account: Account
    panel: Panel
    run_id: str
    log_file: Path
    start: int = 0
    ids: list[str] = field(default_factory=list)
    feed: Any = None  # the live feed of a paper run opened to reconcile it

    @property
    def nodes(self) -> list[TradingNode]:
        return self.account.nodes

    @property
    def node(self) -> TradingNode:
        return self.account.nodes[0]

    def close(self) -> None:
        self.account.desk.venue.close()
        if hasattr(self.feed, "close"):
            self.feed.close()
        self.account.ledger.end_run(self.run_id)


def build_account_replay(
    spec: RunSpec, settings: Any, ledger: Ledger, req: ReplayRequest
) -> AccountSetup:
    """The nodes of every strategy of ``spec`` on one simulated venue over the stored bars of
    ``[req.start, req.end]``, with the run started (or continued) in the ledger. A known paper
    or live run on a broker is opened as it runs instead, on its live feed's bars (what
    ``alphaforge reconcile`` compares with the broker)."""
    assert spec.strategies is not None
    known = ledger.run(req.run_id) if req.run_id else None
    if known is not None and known.mode in ("paper", "live") and on_broker(spec):
        return _open_broker_run(spec, settings, ledger, known.run_id)
    sleeves = check_account(spec, replay=True)
    begun = replay_start(spec, settings, ledger, req)
    panel, run_id, log = begun.panel, begun.run_id, begun.log
    period = {"replay_from": panel.index[0].isoformat(), "replay_to": panel.index[-1].isoformat()}
    run = _Run(run_id, "replay", period, log, REPLAY_BATCH if req.speed is None else 1, replay=True)
    account = _account(spec, sleeves, panel, ledger, run, None)
    first = _restore(account, ledger, run_id, begun.known is not None, log, 0)
    return AccountSetup(account, panel, run_id, begun.log_file, first, account.ids)


def _open_broker_run(spec: RunSpec, settings: Any, ledger: Ledger, run_id: str) -> AccountSetup:
    """The paper or live run ``run_id`` of an account on a broker, reconciled, at its last bar."""
    from alphaforge.engine.schedule import utc_now

    paper = build_account_paper(spec, settings, ledger, run_id, utc_now())
    account = paper.driver.account
    return AccountSetup(account, paper.node.panel, run_id, paper.log_file, paper.next_t,
                        account.ids, paper.feed)  # fmt: skip


def build_account_paper(
    spec: RunSpec, settings: Any, ledger: Ledger, run_id: str | None, now: Any
) -> Any:
    """The account of ``spec`` over the stored bars, fed by the schedule like one strategy's
    paper run (:func:`alphaforge.services.paper.build_paper`): on the simulated venue, or on
    the broker of ``broker.name`` with live nodes; a known ``run_id`` continues that run."""

    from alphaforge.services.paper import PaperSetup, feed_bars, first_cycle, paper_schedule

    assert spec.strategies is not None
    check_run_id(run_id)
    anchor_data(spec)
    sleeves = check_account(spec)
    feed, known, origin, panel = feed_bars(spec, settings, ledger, run_id, now)
    kind = "shadow" if spec.runtime.shadow else spec.mode if on_broker(spec) else "paper"
    rid = run_id or f"{kind}-{datetime.now(UTC):%Y%m%d-%H%M%S}-{spec.canonical_hash()[:6]}"
    log_file = run_log_file(settings, rid)
    log = make_logger(log_file)
    run = _Run(rid, kind, {"replay_from": origin.isoformat()}, log)
    account = _account(spec, sleeves, panel, ledger, run, settings)
    sched = paper_schedule(spec, feed, account.nodes[0].p.signals.clock.calendar)
    first = panel.shape[0]
    if known is not None and ledger.state(f"{rid}/{ACCOUNT}", "account") is None:
        first = first_cycle(panel, sched, known, spec.feed.history_bars)  # none recorded
    next_t = _restore(account, ledger, rid, known is not None, log, first)
    cfg = sleeves[0].backtest_config()
    driver = AccountDriver(account, [(s.symbols, s.backtest_config()) for s in sleeves])
    return PaperSetup(account.nodes[0], rid, log_file, feed, sched, cfg, origin, next_t, log,
                      driver=driver)  # fmt: skip


@dataclass
class AccountDriver:
    """Runs the cycles of an account on the bars of a live feed (see
    :class:`alphaforge.services.paper.NodeDriver`)."""

    account: Account
    sleeves: list[tuple[list[str] | None, Any]]  # each strategy's symbols and rules

    def extend(self, panel: Panel) -> None:
        for node, (symbols, cfg) in zip(self.account.nodes, self.sleeves, strict=True):
            sub = sub_panel(panel, symbols)
            clock = run_clock(sub, cfg)
            node.extend(sub, clock.day, clock.week)
            node.p.signals.clock = clock
        self.account.day = clock.day
        self.account.bars = _bars_of(panel)

    def step(self, t: int, trade: bool) -> None:
        self.account.step(t, trade)

    def commit(self) -> None:
        self.account.commit()


def check_account(spec: RunSpec, replay: bool = False) -> list[RunSpec]:
    """Each strategy's spec, checked before anything is read or written: what the account does
    not carry out (a replay on a broker), each strategy's keys, name and parameters (see
    :func:`sleeve_spec`)."""
    from alphaforge.services.backtest import make_strategy

    if replay:
        refuse_broker_replay(spec)
    sleeves = _sleeves(spec)
    for k, s in enumerate(sleeves):
        try:
            make_strategy(str(s.strategy), s.params)
        except AlphaforgeError as exc:  # an unknown name, a wrong parameter
            raise ConfigError(f"{spec.source}: strategies[{k}]: {exc}") from None
    return sleeves


def _sleeves(spec: RunSpec) -> list[RunSpec]:
    """Each strategy's spec; the run's symbols default to all of theirs."""
    assert spec.strategies is not None
    sleeves = [sleeve_spec(spec, k) for k in range(len(spec.strategies))]
    if spec.symbols is None and all(s.symbols for s in sleeves):
        spec.symbols = list(dict.fromkeys(x for s in sleeves for x in s.symbols or ()))
    return sleeves


def _account(
    spec: RunSpec, sleeves: list[RunSpec], panel: Panel, ledger: Ledger, run: _Run,
    settings: Any | None,
) -> Account:  # fmt: skip
    """A node per strategy on its part of ``panel``, one venue behind a netting desk, and the
    run registered in the ledger: the simulated venue, or (``settings`` given and a broker in
    the spec) the broker with a live node per strategy."""
    assert spec.strategies is not None
    ids = [sleeve_id(sl) for sl in spec.strategies]
    subs = [sub_panel(panel, s.symbols) for s in sleeves]
    books = [strategy_book(s, sp, sleeve=True) for s, sp in zip(sleeves, subs, strict=True)]
    live = settings is not None and on_broker(spec)
    desk: NettingDesk
    if live:
        venue = make_venue(
            spec, books[0][3].s, float(spec.cash), settings, replay=False, shared=True
        )
        desk = BrokerDesk(venue, run.run_id, ids,
                          {sid: list(sp.symbols) for sid, sp in zip(ids, subs, strict=True)})  # fmt: skip
    else:
        desk = NettingDesk(
            SimulatedVenue(books[0][3].s, float(spec.cash), shared=True), run.run_id, ids
        )
    sent = ledger.submitted_ids(run.run_id)
    ledger.start_run(
        run_id=run.run_id, mode=run.mode, venue=desk.venue.name,
        config_hash=spec.canonical_hash(), config_text=spec.model_dump_json(), strategies=ids,
        started=datetime.now(UTC).isoformat(), **run.period,
    )  # fmt: skip
    nodes = [
        _node(sid, s, book, sp, desk, ledger, run, sent, live)
        for sid, s, book, sp in zip(ids, sleeves, books, subs, strict=True)
    ]
    lim = spec.account
    limits = AccountLimits(
        lim.daily_loss_limit, lim.max_drawdown, lim.max_gross
    ) if lim else AccountLimits()  # fmt: skip
    day = books[0][2].day
    reserve = reserve_of(spec, sleeves)
    if isinstance(desk, BrokerDesk):
        live_nodes = [n for n in nodes if isinstance(n, LiveNode)]
        first = live_nodes[0]
        return LiveAccount(live_nodes, desk, ledger, run.run_id, limits, _bars_of(panel), day,
                           lambda t: first.next_period(first.panel, t)[0], reserve)  # fmt: skip
    return Account(nodes, desk, ledger, run.run_id, limits, _bars_of(panel), day,
                   batch=run.batch, reserve=reserve)  # fmt: skip


def reserve_of(spec: RunSpec, sleeves: list[RunSpec]) -> float:
    """The cash no strategy is allocated: ``cash`` less the strategies' (0 when the allocations
    sum to 1, up to the float rounding of their shares)."""
    left = float(spec.cash) - sum(float(s.cash) for s in sleeves)
    return left if left > 1e-9 * float(spec.cash) else 0.0


def _node(
    sid: str, s: RunSpec, book: Any, sp: Panel, desk: NettingDesk, ledger: Ledger, run: _Run,
    sent: Any, live: bool,
) -> TradingNode:  # fmt: skip
    """Strategy ``sid``'s node on its view of the desk: a live node on a broker."""
    strategy, cfg, clock, stepper = book
    r = s.runtime
    log = partial(run.log, strategy=sid)  # the account's one log: each line names its strategy
    pre = _precompute(s, strategy, sp, log) if run.replay else False
    parts = NodeParts(
        run_id=run.run_id, strategy_id=sid, stepper=stepper,
        signals=SignalSource(strategy, cfg, clock, r.window, pre), venue=desk.view(sid),
        ledger=ledger, gate=risk_gate(r, sent), day=clock.day, week=clock.week,
        sleep=time.sleep, log=log, halt_poll_seconds=0.0 if live else 0.5,
    )  # fmt: skip
    if live:
        from alphaforge.services.paper import next_period_of

        return LiveNode(parts, sp, next_period_of(clock))
    return TradingNode(parts, sp)


def _bars_of(panel: Panel) -> Callable[[int], BarSet]:
    stamps = list(panel.index)

    def bars(t: int) -> BarSet:
        return BarSet(stamps[t], panel.symbols, panel.open[t], panel.high[t], panel.low[t],
                      panel.close[t], panel.volume[t])  # fmt: skip

    return bars


def _restore(
    account: Account, ledger: Ledger, run_id: str, known: bool, log: Callable[..., None],
    first: int,
) -> int:  # fmt: skip
    """Continue a known run after its last committed bar (else start at ``first``: a known run
    that recorded no cycle continues after the bar before ``first``); every node reconciles
    with its view of the venue. Returns the next bar to run."""
    start, since = first, None
    snap = ledger.state(f"{run_id}/{ACCOUNT}", "account") if known else None
    if snap is not None:
        account.restore(snap)
        for sid, node in zip(account.ids, account.nodes, strict=True):
            state = ledger.state(f"{run_id}/{sid}", "runtime")
            if state is None:
                raise DataError(f"run {run_id}: no saved state of strategy {sid!r}")
            start = node.restore(state)
        since = account.nodes[0].panel.index[start - 1].isoformat()
        log("restarted", run=run_id, after_bar=since)
    elif known and 0 < start < account.nodes[0].panel.shape[0]:  # no cycle recorded yet
        index = account.nodes[0].panel.index  # (a lost first cycle is redone as it ran)
        since = index[start - 1].isoformat()
        log("restarted", run=run_id, before_first_cycle=index[start].isoformat())
    fills = [f.fill_id for f in ledger.fills(run_id)]
    found = _catch_up(account, start, since, fills, log) if isinstance(account, LiveAccount) else []
    for node in account.nodes:
        node.reconcile(start, since, set(fills))
    lead = account.nodes[0]
    if found and isinstance(lead, LiveNode):
        lead.note_differences(found)
    return start


def _catch_up(
    account: LiveAccount, start: int, since: str | None, fills: list[str],
    log: Callable[..., None],
) -> list[Difference]:  # fmt: skip
    """Before the strategies reconcile: the broker's fills while the runtime was down (before
    bar ``start``) routed through the desk, its net orders the broker ended resolved, and the
    strategies' positions made to add up to the broker's (trades by hand, or positions held
    before a first start, adopted at the time of the last bar before ``start``)."""
    desk = account.desk
    desk.remember(fills)
    index = account.nodes[0].panel.index
    resume = index[start] if start < len(index) else index[-1] + pd.Timedelta(days=3650)
    until = resume.isoformat()
    found = desk.catch_up(since, until) if since is not None else []
    found += desk.reconcile(since, until, index[max(min(start, len(index)) - 1, 0)].isoformat())
    for d in found:
        log("reconcile", kind=d.kind, symbol=d.symbol, client_id=d.client_id, detail=d.detail)
    return found


def run_account_replay(
    setup: AccountSetup, speed: float | None, on_bar: Callable[[int, float], None] | None = None
) -> ReplayOutcome:
    """Feed every bar through the account; ``speed`` x real time (None: as fast as possible)."""
    from alphaforge.services.pacing import (
        EquityWatch,
        period_seconds,
        replay_clock,
        replay_times,
    )

    start = replay_clock()
    period = period_seconds(setup.panel)
    acct = setup.account
    eq = acct.equity
    n = setup.panel.shape[0]
    watch = EquityWatch(setup.panel.index)
    for t in range(setup.start, n):
        eq = acct.step(t)
        watch.bar(t, eq)
        if on_bar is not None:
            on_bar(t, eq)
        if speed is not None and period > 0:
            time.sleep(period / speed)
    acct.commit()
    counts = [node.st.counts() for node in acct.nodes]  # the records are the ledger's
    trades, orders = sum(c.trades for c in counts), sum(c.orders for c in counts)
    rejected = sum(c.rejected for c in counts)
    return ReplayOutcome(
        run_id=setup.run_id, bars=n - setup.start, final_equity=eq, trades=trades,
        orders=orders, rejected=rejected, log_file=setup.log_file,
        refused=sum(node.p.gate.refused for node in acct.nodes), **replay_times(start),
        warnings=watch.warnings(),
    )  # fmt: skip
