"""Paper and live trading use cases: build a trading node from a run spec and drive it.

The spec is the backtest's (strategy, params, universe, timeframe, costs, sizing, exits, risk)
plus ``broker``, ``schedule`` and ``runtime``. Replay feeds stored history through the node bar
by bar, as if each bar had just closed.
"""

from __future__ import annotations

import gc
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.core.errors import AlphaforgeError, ConfigError, DataError, PeriodError
from alphaforge.core.panel import Panel, utc_time
from alphaforge.core.rules import BacktestConfig
from alphaforge.engine.gate import GateLimits, RiskGate
from alphaforge.engine.node import NodeParts, TradingNode
from alphaforge.engine.node_parts import REPLAY_BATCH
from alphaforge.engine.reconcile import Difference
from alphaforge.engine.signals import SignalSource
from alphaforge.ledger import Ledger
from alphaforge.ports import ExecutionVenue
from alphaforge.services.backtest import load_spec_panel, refusals_named
from alphaforge.services.decision_log import make_logger, run_log_file
from alphaforge.services.ledger import find_run
from alphaforge.services.pacing import EquityWatch, period_seconds, replay_clock, replay_times
from alphaforge.services.run_checks import cannot_trade
from alphaforge.sim.checks import refuse_idle_settings
from alphaforge.sim.inputs import RunClock, order_type_of, run_clock, sector_ids
from alphaforge.sim.settings import settings_from_config
from alphaforge.sim.stepper import Stepper
from alphaforge.sim.venue import SimulatedVenue
from alphaforge.strategy.base import Signals, Strategy, StrategyData, TargetWeights
from alphaforge.strategy.registry import make_strategy


@dataclass(frozen=True)
class ReplayRequest:
    start: str | None
    end: str | None
    speed: float | None  # None: as fast as possible; else bars of the timeframe per second x
    run_id: str | None = None
    live_venue: bool = False  # the venue of a paper / live run on a live feed (reconciliation)


@dataclass
class ReplayOutcome:
    run_id: str
    bars: int
    final_equity: float
    trades: int
    orders: int
    rejected: int
    seconds: float  # the replay's own time: compiling the engine is apart (``compiling``)
    log_file: Path
    refused: int = 0  # orders the risk gate refused (decisions, not order records)
    compiling: float = 0.0  # seconds the run spent compiling kernels (a first run, once)
    warnings: list[str] = field(default_factory=list)  # as a backtest's (bankrupt, say)


def refuse_runtime_settings(cfg: BacktestConfig, source: str) -> None:
    """Settings the runtime does not carry out yet are refused, never ignored (limit, stop and
    stop-limit entries run everywhere: one strategy or an account of several, on the simulated
    venue or a broker)."""
    if cfg.fill == "close":
        raise ConfigError(
            f"{source}: fill: close fills at the signal bar's close, which a live order cannot "
            "do; use next_open for paper and live"
        )
    if cfg.exits.ambiguity == "finer_bars":
        raise ConfigError(
            f"{source}: exits.ambiguity: finer_bars is not supported by the runtime yet "
            "(use stop_first or target_first)"
        )


def check_run(spec: Any) -> None:
    """What a trading run can refuse before anything is read or written: the strategy's name
    and parameters, and the settings the runtime does not carry out (the rest, which needs the
    strategy's output, is refused by :func:`strategy_book`)."""
    if spec.strategies is not None:
        from alphaforge.services.accounts import check_account

        for sleeve in check_account(spec):
            refuse_runtime_settings(sleeve.backtest_config(), sleeve.source)
        return
    if not spec.strategy:
        raise ConfigError(f"{spec.source}: no strategy given ('strategy:' in the config)")
    make_strategy(spec.strategy, spec.params)
    refuse_runtime_settings(spec.backtest_config(), spec.source)  # fill, ambiguity


def _strategy_kind(strategy: Strategy, panel: Panel) -> Signals | TargetWeights:
    """The strategy's output on its first bars (only its type and prices matter here)."""
    n = min(panel.shape[0], max(strategy.warmup() + 2, 2))
    head = Panel(
        index=panel.index[:n], symbols=panel.symbols, timeframe=panel.timeframe,
        open=panel.open[:n], high=panel.high[:n], low=panel.low[:n], close=panel.close[:n],
        volume=panel.volume[:n],
    )  # fmt: skip
    out = strategy.signals(StrategyData(head))
    if not isinstance(out, Signals | TargetWeights):
        raise DataError(f"{strategy.name}: signals() must return Signals or TargetWeights")
    return out


def _run_id(spec: Any, req: ReplayRequest, ledger: Ledger) -> str:
    if req.run_id:
        return req.run_id
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    base = f"replay-{stamp}-{spec.canonical_hash()[:6]}"
    rid, k = base, 1
    while ledger.run(rid) is not None:
        k += 1
        rid = f"{base}-{k}"
    return rid


@dataclass
class ReplayStart:
    """What every replay starts from: its bars, run id, the run as the ledger knows it (None
    for a new one) and its decision log."""

    panel: Panel
    run_id: str
    known: Any
    log_file: Path
    log: Callable[..., None]


def replay_start(spec: Any, settings: Any, ledger: Ledger, req: ReplayRequest) -> ReplayStart:
    """The bars of ``[req.start, req.end]``, the run id (a known run must have been started
    with the same config and period) and the run's log."""
    check_run_id(req.run_id)
    anchor_data(spec)
    if req.start is not None:
        spec.start = req.start
    if req.end is not None:
        spec.end = req.end
    panel = load_spec_panel(spec, settings)
    if panel.shape[0] < 3:  # (the look-ahead check runs the strategy on 3 bars or more)
        span = (
            f"{panel.index[0]:%Y-%m-%d} .. {panel.index[-1]:%Y-%m-%d}" if len(panel.index) else ""
        )
        raise PeriodError(
            f"{spec.source}: need at least 3 bars to replay, got {panel.shape[0]} ({span}); "
            "widen --from / --to"
        )
    short = period_note(panel, req.start, req.end)
    if short:  # (printed with the data's notes)
        panel.meta["data_notes"] = [*panel.meta.get("data_notes", ()), short]
    run_id = _run_id(spec, req, ledger)
    known = ledger.run(run_id)
    if known is not None and known.config_hash != spec.canonical_hash():
        raise ConfigError(
            f"--run-id {run_id}: the run was started with another config or period; restart "
            "it with the same --config, --from and --to, or choose a new run id"
        )
    log_file = run_log_file(settings, run_id)
    return ReplayStart(panel, run_id, known, log_file, make_logger(log_file))


def period_note(panel: Panel, start: str | None, end: str | None) -> str | None:
    """A note when the data begin well after ``--from`` or end well before ``--to`` (more than
    a long weekend): the replay runs over the bars there are, and says so."""
    gap = pd.Timedelta(days=4)
    notes = []
    first, last = panel.index[0], panel.index[-1]
    if start is not None and first - utc_time(start) > gap:
        notes.append(f"--from {start}: the data begin at {first:%Y-%m-%d}")
    if end is not None and utc_time(end) - last > gap:
        notes.append(f"--to {end}: the data end at {last:%Y-%m-%d}")
    if not notes:
        return None
    return "; ".join(notes) + "; the replay runs over the bars there are"


RUN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


# the settings holding the credentials each feed vendor needs (store / yahoo / ccxt need none)
_FEED_KEYS = {"alpaca": ("alpaca_api_key", "alpaca_secret_key"),
              "polygon": ("polygon_api_key",), "alphavantage": ("alphavantage_api_key",)}  # fmt: skip


def check_credentials(spec: Any, settings: Any) -> None:
    """The credentials a paper or live run needs (its broker's, its feed vendor's), checked
    before anything is opened: a one-line :class:`ConfigError` naming the key and the variable.

    Raises
    ------
    ConfigError
        When one is not set in the environment or ``.env``.
    """
    if spec.broker.name == "alpaca" and not spec.runtime.shadow:
        _require_keys(spec, settings, "broker.name: alpaca", _FEED_KEYS["alpaca"])
    source = spec.feed.source
    _require_keys(spec, settings, f"feed.source: {source}", _FEED_KEYS.get(source, ()))


def _require_keys(spec: Any, settings: Any, key: str, fields: tuple[str, ...]) -> None:
    """Refuse ``key`` of ``spec`` while a setting of ``fields`` (a credential) is not set."""
    for name in fields:
        value = getattr(settings, name, None)
        if value is None or not value.get_secret_value():
            raise ConfigError(
                f"{spec.source}: {key} needs ALPHAFORGE_{name.upper()} (environment or .env)"
            )


def check_run_id(run_id: str | None, what: str = "run id") -> None:
    """Refuse a run id that is not a plain name (``what`` names where it came from): it names
    the run's log file under the home (``../x`` would write outside it), and an empty one
    would be silently replaced by a new id."""
    if run_id is not None and not RUN_ID.fullmatch(run_id):
        raise ConfigError(
            f"{what} {run_id!r}: a run id is 1 to 100 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )


def anchor_data(spec: Any) -> None:
    """Make a relative ``data:`` file absolute (from the current directory) before a run is
    registered: the run's stored config then names the same file for ``drift`` and
    ``reconcile`` from any directory, and a restart from the same directory hashes the same. A
    file that is not there is left as given, so its error names the path the user wrote."""
    data = getattr(spec, "data", None)
    if data and not Path(data).is_absolute() and Path(data).exists():
        spec.data = str(Path(data).resolve())


def risk_gate(runtime: Any, sent: Any) -> RiskGate:
    """The pre-trade gate with the run's ``runtime`` limits and the client ids already sent."""
    return RiskGate(GateLimits(runtime.max_order_value, runtime.max_order_qty,
                               runtime.price_band), sent)  # fmt: skip


def strategy_book(
    spec: Any, panel: Panel, sleeve: bool = False
) -> tuple[Strategy, BacktestConfig, RunClock, Stepper]:
    """The strategy of ``spec``, its backtest rules (refusing what the runtime cannot carry
    out or would ignore), the run's clock on ``panel`` and an empty book on those rules.

    ``sleeve``: a strategy of an account, whose rules are the account's with its own on top;
    an entry or exit rule its orders give nothing to act on (a time in force without limit
    entries, the ambiguity rule without a target) is then not refused: it may be set for the
    account's other strategies."""
    strategy = make_strategy(spec.strategy, spec.params)
    window, warm = spec.runtime.window, strategy.warmup()
    if window is not None and window <= warm:
        raise ConfigError(
            f"{spec.source}: runtime.window: {window} bars do not cover {strategy.name}'s "
            f"warm-up of {warm} bars, so its signals would never be ready and it would never "
            f"trade; give at least {warm + 1}, or leave it out (every bar so far)"
        )
    cfg = spec.backtest_config()
    out = _strategy_kind(strategy, panel)
    weights = isinstance(out, TargetWeights)
    refuse_runtime_settings(cfg, spec.source)
    if isinstance(out, Signals) and cfg.order_type != "auto":
        try:  # a forced order type whose prices the strategy does not give
            order_type_of(cfg, out)
        except AlphaforgeError as exc:
            raise ConfigError(f"{spec.source}: {exc}") from None
    own = isinstance(out, TargetWeights) and out.rebalance is not None
    signals = out if isinstance(out, Signals) and not sleeve else None
    with refusals_named(spec):
        refuse_idle_settings(cfg, weights_mode=weights, has_fine=False, own_schedule=own,
                             signals=signals)  # fmt: skip
    clock = run_clock(panel, cfg)
    s = settings_from_config(cfg, clock.periods_per_year, weights_mode=weights,
                             timeframe=clock.timeframe)  # fmt: skip
    return strategy, cfg, clock, Stepper(panel.symbols, s, sector_ids(panel, cfg))


@dataclass
class ReplaySetup:
    node: TradingNode
    panel: Panel
    run_id: str
    log_file: Path
    start: int = 0  # the first bar to run (after the last committed one on a restart)

    def close(self) -> None:
        """Disconnect from the venue and let the run go (another process may run it)."""
        self.node.p.venue.close()
        self.node.p.ledger.end_run(self.run_id)


def build_replay(spec: Any, settings: Any, ledger: Ledger, req: ReplayRequest) -> ReplaySetup:
    """A trading node on the simulated (or a replay-capable) venue over the stored bars of
    ``[req.start, req.end]``, with its run started in the ledger."""
    if spec.strategies is not None:
        raise ConfigError(
            f"{spec.source}: strategies: an account of several strategies is replayed by "
            "alphaforge paper --replay, not as one strategy"
        )
    check_run(spec)
    begun = replay_start(spec, settings, ledger, req)
    panel, run_id, known, log = begun.panel, begun.run_id, begun.known, begun.log
    strategy, cfg, clock, stepper = strategy_book(spec, panel)
    short = cannot_trade(strategy.warmup(), cfg, panel, "--from")
    if short:  # as the backtest of the same period refuses it
        raise PeriodError(f"{spec.source}: {short}")
    venue = make_venue(spec, stepper.s, cfg.cash, settings, replay=not req.live_venue)
    sent = ledger.submitted_ids(run_id) if known is not None else set()  # a new run: none
    ledger.start_run(
        run_id=run_id, mode="shadow" if spec.runtime.shadow else "replay", venue=venue.name, config_hash=spec.canonical_hash(),
        config_text=spec.model_dump_json(), strategies=[strategy.name],
        started=datetime.now(UTC).isoformat(), replay_from=panel.index[0].isoformat(),
        replay_to=panel.index[-1].isoformat(),
    )  # fmt: skip
    r = spec.runtime
    precomputed = _precompute(spec, strategy, panel, log)
    parts = NodeParts(
        run_id=run_id, strategy_id=strategy.name, stepper=stepper,
        signals=SignalSource(strategy, cfg, clock, r.window, precomputed), venue=venue,
        ledger=ledger,
        gate=risk_gate(r, sent), day=clock.day, week=clock.week, sleep=time.sleep, log=log,
        # cycles share a transaction only when all their effects live in it (the simulated
        # venue's book is in the ledger); a broker's orders are committed cycle by cycle
        batch=REPLAY_BATCH if req.speed is None and getattr(venue, "synchronous", False) else 1,
        halt_poll_seconds=0.5,
    )  # fmt: skip
    node = TradingNode(parts, panel)
    start = 0
    since = None
    if known is not None:
        snap = ledger.state(f"{run_id}/{strategy.name}", "runtime")
        if snap is not None:
            start = node.restore(snap)
            since = panel.index[start - 1].isoformat()
            parts.log("restarted", run=run_id, after_bar=since)
    recorded = {f.fill_id for f in ledger.fills(run_id)} if known is not None else set()
    node.reconcile(start, since, recorded)
    return ReplaySetup(node, panel, run_id, begun.log_file, start)


def _precompute(spec: Any, strategy: Strategy, panel: Panel, log: Callable[..., None]) -> bool:
    """Whether a replay evaluates the strategy once on the stored history (see
    ``runtime.signals``): only a strategy the look-ahead detector passes on these bars."""
    mode = spec.runtime.signals
    if mode == "per_bar" or spec.runtime.window is not None:
        return False
    from alphaforge.strategy.lookahead import check_lookahead

    report = check_lookahead(strategy, panel, cuts=30, starts=0)
    if report.ok:
        log("signals", mode="precomputed", check="look-ahead detector passed")
        return True
    if mode == "precomputed":
        raise ConfigError(
            f"{spec.source}: runtime.signals: precomputed needs a strategy without look-ahead; "
            f"the detector found: {report.summary()}"
        )
    log("signals", mode="per_bar", check=report.summary())
    return False


def make_venue(
    spec: Any,
    settings_record: np.void,
    cash: float,
    settings: Any,
    replay: bool = True,
    shared: bool = False,
) -> ExecutionVenue:
    """The venue of ``broker:``. Alpaca's credentials come from the environment or ``.env``
    (``ALPHAFORGE_ALPACA_API_KEY``, ``ALPHAFORGE_ALPACA_SECRET_KEY``); its paper endpoint
    unless ``mode: live``. A replay needs a venue that can follow a replayed feed. ``shared``:
    the strategies of an account trade on it (see :class:`SimulatedVenue`)."""
    b = spec.broker
    if b.name == "simulated" or spec.runtime.shadow:  # a shadow run never reaches a broker
        return SimulatedVenue(settings_record, cash, shared=shared)
    from alphaforge.adapters.brokers.alpaca import AlpacaVenue

    _require_keys(spec, settings, "broker.name: alpaca", _FEED_KEYS["alpaca"])
    key, secret = settings.alpaca_api_key, settings.alpaca_secret_key
    if replay:  # old bars: every order must go to a stand-in, never to Alpaca's servers
        _refuse_replay_off_loopback(spec)
    venue = AlpacaVenue(
        key, secret, live=spec.mode == "live", url=b.base_url, stream_url=b.stream_url,
        replay_url=b.replay_url if replay else None,
    )  # fmt: skip
    venue.connect()
    return venue


def _refuse_replay_off_loopback(spec: Any) -> None:
    """A replay on Alpaca runs against a local stand-in: its REST, stream and control URLs on
    loopback. A missing ``base_url`` would send the replayed bars' orders to Alpaca's own
    paper endpoint, or with ``mode: live`` to real money."""
    from alphaforge.adapters.brokers.alpaca_wire import off_loopback

    b = spec.broker
    far = off_loopback(b.base_url, b.stream_url, b.replay_url)
    if far is None:
        return
    key, value = far
    got = "not set" if value is None else f"got {value!r}"
    endpoint = "live (real-money)" if spec.mode == "live" else "paper"
    raise ConfigError(
        f"{spec.source}: broker.{key}: a replay on Alpaca needs a local stand-in on 127.0.0.1 "
        f"or localhost that follows the replayed bars ({got}); its orders must not "
        f"reach Alpaca's {endpoint} servers, which trade live prices only"
    )


def run_replay(
    setup: ReplaySetup,
    speed: float | None,
    on_bar: Callable[[int, float], None] | None = None,
) -> ReplayOutcome:
    """Feed every bar through the node; ``speed`` x real time (None: as fast as possible).

    The objects that exist before the first bar (the bars, the node, the libraries) are kept
    out of the garbage collector's full passes while it runs (``gc.freeze``): a full pass
    over them cost a replay of a month of minute bars about 5%."""
    gc.freeze()
    try:
        return _replay_bars(setup, speed, on_bar)
    finally:
        gc.unfreeze()


def _replay_bars(
    setup: ReplaySetup, speed: float | None, on_bar: Callable[[int, float], None] | None
) -> ReplayOutcome:
    node, panel = setup.node, setup.panel
    start = replay_clock()
    period = period_seconds(panel)
    eq = node.st.equity
    t, n = setup.start, panel.shape[0]
    watch = EquityWatch(panel.index)
    while t < n:
        if speed is None:  # quiet bars in one compiled call (a replay at full speed)
            t_next = node.fast_forward(t, n, on_bar)
            if t_next > t:
                watch.bars(t, node.marked_equity(t, t_next))
                t, eq = t_next, node.st.equity
                continue
        eq = node.step(t)
        watch.bar(t, eq)
        if on_bar is not None:
            on_bar(t, eq)
        if speed is not None and period > 0:
            time.sleep(period / speed)
        t += 1
    node.commit()
    counts = node.st.counts()  # the records themselves are the ledger's
    return ReplayOutcome(
        run_id=setup.run_id, bars=panel.shape[0] - setup.start, final_equity=eq,
        trades=counts.trades, orders=counts.orders, rejected=counts.rejected,
        log_file=setup.log_file, refused=node.p.gate.refused, **replay_times(start),
        warnings=watch.warnings(),
    )  # fmt: skip


def reconcile_run(
    settings: Any, ledger: Ledger, run_id: str | None, apply: bool
) -> tuple[str, list[Difference]]:
    """Compare a run's state in the ledger with its venue; with ``apply`` the resolutions are
    written (one transaction, at the run's last bar). Returns the run id and the differences.
    An account of several strategies is reconciled by
    :func:`alphaforge.services.reconcile.reconcile_run`."""
    import json

    from alphaforge.config.specs import recorded_spec

    run = find_run(ledger, run_id)
    spec = recorded_spec(json.loads(run.config_text))
    if spec.strategies is not None:  # an account: its desk's state is saved there too
        from alphaforge.services import reconcile

        return reconcile.reconcile_run(settings, ledger, run.run_id, apply)
    spec._source = f"run {run.run_id}"
    live = run.mode in ("paper", "live")  # on a live feed: the broker's own endpoint
    setup = build_replay(spec, settings, ledger, ReplayRequest(None, None, None, run.run_id, live))
    nodes = [setup.node]
    try:
        diffs = [d for node in nodes for d in node.pending_reconciliation()]
        last = ledger.last_bar(run.run_id)
        if apply and diffs and last is not None:
            for node in nodes:
                if node.pending_reconciliation():
                    node.write_reconciliation(last, setup.start - 1)
    finally:
        setup.close()
    return run.run_id, diffs
