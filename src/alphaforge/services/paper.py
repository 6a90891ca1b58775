"""Paper (and live) trading on a live feed: one cycle at each bar close of the exchange's
sessions, on the simulated venue or a broker.

The feed is the local store: bars another process writes there (``alphaforge data fetch`` on a
schedule), or a vendor source the runtime fetches into the store at every cycle; with
``feed.stream`` the bars Alpaca's market-data stream delivered come first and the vendor's REST
fetch fills what the stream missed (:mod:`alphaforge.services.feeds`). The strategy
starts with ``feed.history_bars`` stored bars (its warm-up; they are not traded), and the run
keeps that first bar as its origin, so a restart rebuilds the same bars and continues where the
ledger says it stopped. After downtime the missed bars are caught up without trading (what was
pending then is dropped, never sent late) and only the latest fresh close may trade; the
simulated venue still fills the protective orders it held, as a broker would have.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from alphaforge.core.errors import ConfigError, DataError
from alphaforge.core.panel import Panel, utc_time
from alphaforge.core.rules import BacktestConfig
from alphaforge.core.timeframe import parse_timeframe
from alphaforge.engine.live_node import LiveNode, NextPeriod
from alphaforge.engine.node import NodeParts, TradingNode
from alphaforge.engine.schedule import Due, Schedule, ScheduleSpec
from alphaforge.engine.signals import SignalSource
from alphaforge.ledger import Ledger
from alphaforge.ports import BarStore, MarketDataSource
from alphaforge.services.decision_log import make_logger, run_log_file
from alphaforge.services.trading import (
    anchor_data,
    check_run,
    check_run_id,
    make_venue,
    risk_gate,
    strategy_book,
)
from alphaforge.sim.inputs import RunClock, run_clock

if TYPE_CHECKING:
    from alphaforge.services.feeds import StreamFill

RETRY_SECONDS = 30.0  # how often a cycle looks again for a bar that has not arrived


@dataclass
class StoreFeed:
    """Bars of the run's symbols from the store, after fetching new ones from ``source`` (and
    first writing the complete bars ``stream`` delivered, when the feed streams)."""

    store: BarStore
    symbols: list[str]
    timeframe: str
    adjust: bool
    source: MarketDataSource | None = None
    stream: StreamFill | None = None

    def refresh(self, now: pd.Timestamp, since: pd.Timestamp) -> list[str]:
        """Bring the bars completed by ``now`` into the store: streamed ones, then what
        ``source`` has after the stored bars (nothing to do for ``store``). Returns the
        feed's events to log."""
        if self.source is None:
            return []
        if self.stream is not None:
            return self.stream.refresh(self.store, self.source, self.symbols, now, since)
        tf = parse_timeframe(self.timeframe)
        for sym in self.symbols:
            last = self.store.last_timestamp(sym, self.timeframe)
            bars = self.source.fetch(sym, self.timeframe, last if last is not None else since, now)
            if tf.is_intraday:  # a bar still forming is never stored
                bars = bars[bars["timestamp"] < now.floor(tf.pandas_freq)]
            if len(bars):
                self.store.write(bars, self.timeframe)
        return []

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()

    def panel(self, start: pd.Timestamp | None, end: pd.Timestamp) -> Panel:
        from alphaforge.services.store import load_panel

        return load_panel(self.store, self.symbols, self.timeframe, start, end, self.adjust)


@dataclass
class PaperSetup:
    node: TradingNode
    run_id: str
    log_file: Path
    feed: StoreFeed
    schedule: Schedule
    config: BacktestConfig
    origin: pd.Timestamp
    next_t: int
    log: Callable[..., None]
    cycles: int = 0
    skipped: list[str] = field(default_factory=list)
    driver: Any = None  # what runs the cycles: the node, or an account of several strategies

    def close(self) -> None:
        self.node.p.venue.close()
        self.feed.close()
        self.node.p.ledger.end_run(self.run_id)


def _feed(spec: Any, settings: Any) -> StoreFeed:
    from alphaforge.services.store import open_store

    if not spec.symbols:
        raise ConfigError(f"{spec.source}: symbols: paper trading needs its symbols listed")
    source = None
    if spec.feed.source != "store":
        from alphaforge.data.sources import get_source

        source = get_source(spec.feed.source, settings)
    tf = spec.timeframe or "1d"
    stream = None
    if spec.feed.stream:
        from alphaforge.services.feeds import stream_fill

        stream = stream_fill(spec, settings, tf)
    return StoreFeed(open_store(settings), list(spec.symbols), tf, spec.adjust, source, stream)


def _origin(feed: StoreFeed, history: int, now: pd.Timestamp, source: str) -> pd.Timestamp:
    full = feed.panel(None, now)
    if full.shape[0] < 2:
        raise DataError(f"{source}: the store has fewer than 2 bars of the symbols before {now}")
    return full.index[max(0, full.shape[0] - history)]


def known_run(known: Any, spec: Any, run_id: str) -> None:
    """Refuse to continue run ``run_id`` on a live feed with another config than it was
    started with, or a replay's run (what the ledger holds would not be this run's)."""
    if known is None:
        return
    if known.mode == "replay":
        raise ConfigError(
            f"--run-id {run_id}: the run is a replay; paper and live continue their own runs "
            "(choose a new run id)"
        )
    if known.config_hash != spec.canonical_hash():
        raise ConfigError(
            f"--run-id {run_id}: the run was started with another config; restart it with the "
            "same --config, or choose a new run id"
        )


def feed_bars(
    spec: Any, settings: Any, ledger: Ledger, run_id: str | None, now: pd.Timestamp
) -> tuple[StoreFeed, Any, pd.Timestamp, Panel]:
    """The feed of ``spec``, the known run ``run_id`` (or None), the run's first bar (a known
    run keeps its own; a new one starts ``feed.history_bars`` back) and the bars so far."""
    if run_id:
        known_run(ledger.run(run_id), spec, run_id)
    feed = _feed(spec, settings)  # a streaming feed is connected from here on
    try:
        known = ledger.run(run_id) if run_id else None
        if known is not None and known.replay_from:
            origin = pd.Timestamp(known.replay_from)
        else:
            feed.refresh(now, now - pd.Timedelta(days=3650))
            origin = _origin(feed, spec.feed.history_bars, now, spec.source)
        return feed, known, origin, feed.panel(origin, now)
    except BaseException:
        feed.close()
        raise


def next_period_of(clock: RunClock) -> NextPeriod:
    """The trading-day and week ids of the bar after bar ``t`` of a panel: the day of the next
    bar close on the exchange calendar (what the run clock will give that bar)."""
    from alphaforge.core.calendar import week_ids
    from alphaforge.data.clock import ExchangeClock

    bars = Schedule(ScheduleSpec(clock.timeframe, None, 0.0), ExchangeClock(clock.calendar))

    def next_period(panel: Panel, t: int) -> tuple[int, int]:
        close = bars.next_close_after(bars.next_close_after(panel.index[t]))
        inside = pd.DatetimeIndex([close - pd.Timedelta(1, unit="ns")])  # the bar closing then
        day = clock.calendar.day_ids(inside, clock.timeframe)
        return int(day[0]), int(week_ids(day)[0])

    return next_period


def build_paper(
    spec: Any, settings: Any, ledger: Ledger, run_id: str | None, now: pd.Timestamp
) -> PaperSetup:
    """A trading node over the stored bars, to be fed by the schedule; a known ``run_id``
    continues that run. On the simulated venue a cycle fills the fresh bar's open as a replay
    does; on a broker (``broker.name``) the orders leave at the close that decides them
    (:mod:`alphaforge.engine.live_node`) and the run starts by reconciling with the broker."""
    if spec.strategies is not None:
        from alphaforge.services.accounts import build_account_paper

        return build_account_paper(spec, settings, ledger, run_id, now)
    check_run(spec)
    check_run_id(run_id)
    anchor_data(spec)
    feed, known, origin, panel = feed_bars(spec, settings, ledger, run_id, now)
    strategy, cfg, clock, stepper = strategy_book(spec, panel)
    broker = spec.broker.name != "simulated" and not spec.runtime.shadow
    venue = make_venue(spec, stepper.s, cfg.cash, settings, replay=False)
    kind = "shadow" if spec.runtime.shadow else spec.mode if broker else "paper"
    rid = run_id or f"{kind}-{datetime.now(UTC):%Y%m%d-%H%M%S}-{spec.canonical_hash()[:6]}"
    log_file = run_log_file(settings, rid)
    log = make_logger(log_file)
    ledger.start_run(
        run_id=rid, mode=kind, venue=venue.name, config_hash=spec.canonical_hash(),
        config_text=spec.model_dump_json(), strategies=[strategy.name],
        started=datetime.now(UTC).isoformat(), replay_from=origin.isoformat(),
    )  # fmt: skip
    r = spec.runtime
    parts = NodeParts(
        run_id=rid, strategy_id=strategy.name, stepper=stepper,
        signals=SignalSource(strategy, cfg, clock, r.window), venue=venue, ledger=ledger,
        gate=risk_gate(r, ledger.submitted_ids(rid)),
        day=clock.day, week=clock.week, sleep=time.sleep, log=log,
    )  # fmt: skip
    node = LiveNode(parts, panel, next_period_of(clock)) if broker else TradingNode(parts, panel)
    sched = paper_schedule(spec, feed, clock.calendar)
    snap = ledger.state(f"{rid}/{strategy.name}", "runtime") if known is not None else None
    since = None
    if snap is not None:
        next_t = node.restore(snap)
        since = panel.index[next_t - 1].isoformat()
        log("restarted", run=rid, after_bar=since)
    else:
        next_t = first_cycle(panel, sched, known, spec.feed.history_bars)
        if next_t < panel.shape[0]:
            log("restarted", run=rid, before_first_cycle=panel.index[next_t].isoformat())
    if broker:  # the broker's truth first: fills while down, orders it no longer knows
        node.reconcile(next_t, since, {f.fill_id for f in ledger.fills(rid)})
    return PaperSetup(node, rid, log_file, feed, sched, cfg, origin, next_t, log)


def paper_schedule(spec: Any, feed: StoreFeed, calendar: Any) -> Schedule:
    """When the cycles of ``spec`` run: at each bar close of ``calendar`` (or every
    ``schedule.every_minutes``), ``schedule.delay_seconds`` after it."""
    from alphaforge.data.clock import ExchangeClock

    return Schedule(
        ScheduleSpec(feed.timeframe, spec.schedule.every_minutes, spec.schedule.delay_seconds),
        ExchangeClock(calendar),
    )


def first_cycle(panel: Panel, sched: Schedule, known: Any, history: int) -> int:
    """The first bar a run trades when nothing of it is recorded: after the stored history (a
    new run's warm-up). A known run that recorded no cycle (stopped or killed before its first
    cycle was written) continues: its warm-up was the bars it started with, ``history`` bars
    from its first one (fewer when the store had fewer then: the bars closed by the time it
    started), so the cycles after them are run again (a lost one is redone as it ran, with the
    same client ids)."""
    n = panel.shape[0]
    if known is None:
        return n
    started, warm = utc_time(known.started), n
    while warm > 0 and sched.next_close_after(panel.index[warm - 1]) > started:
        warm -= 1
    return min(history, warm)


@dataclass
class NodeDriver:
    """Runs the cycles of one node on the bars of a live feed."""

    node: TradingNode
    config: BacktestConfig

    def extend(self, panel: Panel) -> None:
        """Continue on ``panel``, the bars so far (the run clock on all of them)."""
        clock = run_clock(panel, self.config)
        self.node.extend(panel, clock.day, clock.week)
        self.node.p.signals.clock = clock

    def step(self, t: int, trade: bool) -> None:
        self.node.step(t, trade=trade)

    def commit(self) -> None:
        self.node.commit()


def paper_cycle(setup: PaperSetup, now: pd.Timestamp, due: Due, wait: bool) -> int | None:
    """Bring in the bars that closed up to ``now`` and run their cycles: the bar of a fresh
    close trades, caught-up bars do not. Returns the number of bars run, or None when the
    fresh close's bar has not arrived yet and ``wait`` says to try again shortly."""
    for event in setup.feed.refresh(now, setup.origin):
        setup.log("feed", detail=event)
    panel = setup.feed.panel(setup.origin, now)
    node = setup.node
    if panel.shape[0] <= setup.next_t:
        return None if wait and due.current is not None else 0
    newest = setup.schedule.next_close_after(panel.index[-1])
    if wait and due.current is not None and newest < due.current:
        return None
    drive = setup.driver or NodeDriver(node, setup.config)
    drive.extend(panel)
    last = panel.shape[0] - 1
    fresh = due.current is not None and (
        setup.schedule.next_close_after(panel.index[last]) >= due.current
    )
    for t in range(setup.next_t, panel.shape[0]):
        trade = t == last and fresh
        if not trade:
            setup.skipped.append(panel.index[t].isoformat())
            setup.log("caught_up", bar=panel.index[t].isoformat(), traded=False)
        drive.step(t, trade)
    drive.commit()
    n = panel.shape[0] - setup.next_t
    setup.next_t = panel.shape[0]
    setup.cycles += 1
    return n


HELD_POLL_SECONDS = 5.0
"""How often a paper / live run looks for the fill of a reversal's exit between cycles."""


def run_paper(
    setup: PaperSetup,
    now_fn: Callable[[], pd.Timestamp],
    sleep_fn: Callable[[float], None],
    stop: Callable[[], bool],
    on_cycle: Callable[[PaperSetup, Due], None] | None = None,
) -> None:
    """Wake at each due close, run its cycle, sleep until the next; ends when ``stop()``."""
    last_done: pd.Timestamp | None = None
    if setup.next_t > 0:
        last_done = setup.schedule.next_close_after(setup.node.panel.index[setup.next_t - 1])
    tolerance = setup.schedule.spec.tolerance
    while not stop():
        now = now_fn()
        due = setup.schedule.due(last_done, now)
        wake = due.next_at
        if due.catch_up or due.current is not None:
            if due.skipped:
                setup.log("schedule", detail=due.describe())
            late = due.current is not None and now - due.current > tolerance
            ran = paper_cycle(setup, now, due, wait=not late)
            if ran is None:  # the fresh bar is not in yet: look again shortly
                setup.log("waiting_for_bar", close=str(due.current))
                wake = now + pd.Timedelta(seconds=RETRY_SECONDS)
            else:
                last_done = _last_close(setup, due)
                if on_cycle is not None and ran:
                    on_cycle(setup, due)
        if stop():
            break
        _sleep_until(setup, wake, now_fn, sleep_fn, stop)


def _sleep_until(
    setup: PaperSetup,
    wake: pd.Timestamp,
    now_fn: Callable[[], pd.Timestamp],
    sleep_fn: Callable[[float], None],
    stop: Callable[[], bool],
) -> None:
    """Sleep until ``wake``; while the node holds a reversal's entry for its exit's fill, in
    steps of :data:`HELD_POLL_SECONDS` while the market is open, sending it once the exit has
    filled (:mod:`alphaforge.engine.node_reversals`)."""
    node, clock = setup.node, setup.schedule.clock
    while True:
        now = now_fn()
        wait = (wake - now).total_seconds()
        if wait <= 0:
            return
        holding = getattr(node, "holding", False)
        if not holding:
            sleep_fn(wait)
            return
        step = HELD_POLL_SECONDS  # (no exit fills before the market opens)
        if not clock.is_open(now):
            step = max(step, (clock.next_open(now) - now).total_seconds())
        sleep_fn(min(wait, step))
        if stop():
            return
        node.send_after_exits(now_fn())


def _last_close(setup: PaperSetup, due: Due) -> pd.Timestamp | None:
    """The latest close handled after a cycle: the schedule's, or the close of the last bar
    run when that is later (a restart that caught up may trade a bar that had arrived before
    its due time; its cycle is done, the loop sleeps until the next bar's)."""
    done = due.last
    if setup.next_t > 0:
        ran = setup.schedule.next_close_after(setup.node.panel.index[setup.next_t - 1])
        done = ran if done is None else max(done, ran)
    return done
