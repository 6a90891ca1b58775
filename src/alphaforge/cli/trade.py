"""``alphaforge paper`` and ``alphaforge live``: the same run spec as ``backtest``, traded."""

from __future__ import annotations

import time
from functools import partial
from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from alphaforge.cli.common import (
    NoRunsError,
    console,
    fail,
    handle_errors,
    refuse_without_ledger,
    settings_from,
)
from alphaforge.cli.trade_account import (
    already_replayed,
    halt_note,
    print_lines,
    replay_counts,
    replay_end,
    replay_time,
    run_with_view,
)
from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec, load_run_spec
from alphaforge.services.ledger import open_ledger, trading_ledger

SAFETY = (
    "Before real money: 1. run it in paper first and compare with `alphaforge drift`; "
    "2. start small; 3. know the kill switch: `alphaforge kill --flatten` from another terminal; "
    "4. set the limits (risk.max_weight or sizing, risk.daily_loss_limit, risk.max_drawdown)."
)


def _view(node: object, t: int, eq: float, bars: int | None, seconds: float) -> Table:
    """The terminal view: the cycle, equity and today's P&L, positions with their protection
    (its levels, and whether the venue holds it), working orders, and the risk state against
    its limits. ``bars``: the replay's length (None on a live feed)."""
    from alphaforge.engine.node import TradingNode

    assert isinstance(node, TradingNode)
    st = node.st
    panel = node.panel
    r = st.book.risk[0]
    s = st.s
    head = Table.grid(padding=(0, 2))
    if bars is None:  # a live feed: the loop says when the next cycle is due
        cycle, speed = f"[bold]cycle[/] {t + 1:,} {panel.index[t]:%Y-%m-%d %H:%M}", ""
    else:
        nxt = f"{panel.index[t + 1]:%Y-%m-%d %H:%M}" if t + 1 < bars else "end of replay"
        cycle = f"[bold]cycle[/] {t + 1:,}/{bars:,} {panel.index[t]:%Y-%m-%d %H:%M}"
        cycle += f"  [dim]next[/] {nxt}"
        speed = f"{(t + 1) / max(seconds, 1e-9):,.0f} bars/s"
    head.add_row(cycle, speed, f"[bold]state[/] {node.p.gate.state.value}")
    day_pnl = eq - float(r["day_start_eq"])
    head.add_row(
        f"[bold]equity[/] {eq:,.2f}  [bold]cash[/] {st.cash:,.2f}",
        f"[bold]today[/] {day_pnl:+,.2f}",
        f"[bold]gross[/] {st.exposure[0]:,.0f}",
    )
    pos = Table(title="positions", title_justify="left", show_edge=False)
    for col in ("symbol", "qty", "entry", "last", "P&L", "stop", "target", "at venue"):
        pos.add_column(col, justify="right" if col not in ("symbol", "at venue") else "left")
    for j, sym in enumerate(panel.symbols):
        q = st.qty(j)
        if q == 0.0:
            continue
        stop, _r, tp = st.protection(j)
        p = st.book.pos[j]
        last = float(st.book.last_px[j])
        pos.add_row(
            sym, f"{q:,.4g}", f"{p['entry_px']:,.2f}", f"{last:,.2f}",
            f"{q * (last - p['entry_px']):+,.2f}",
            "-" if stop != stop else f"{stop:,.2f}", "-" if tp != tp else f"{tp:,.2f}",
            _HELD.get(node.venue_protection(j), "-"),
        )  # fmt: skip
    working = [o for o in node.oms.orders.values() if o.state.open]
    orders = Table(title=f"working orders ({len(working)})", title_justify="left", show_edge=False)
    for col in ("symbol", "side", "qty", "type", "stop", "state"):
        orders.add_column(col)
    for o in working[-6:]:
        rq = o.request
        orders.add_row(rq.symbol, rq.side.value, f"{rq.qty:,.4g}", rq.type.value,
                       "-" if rq.stop is None else f"{rq.stop:,.2f}", o.state.value)  # fmt: skip
    grid = Table.grid()
    grid.add_row(head)
    grid.add_row(pos)
    grid.add_row(orders)
    grid.add_row(_risk_line(eq, r, s))
    return grid


# how the positions table shows whether the venue holds a position's stop / target
_HELD = {
    "held": "[green]held[/]",
    "closing": "[dim]closing[/]",
    "NOT HELD": "[bold red]NOT HELD[/]",
}


def _risk_line(eq: float, r: object, s: object) -> str:
    """Each loss limit as used / allowed."""
    rr, ss = r, s  # numpy records
    parts = []
    for name, start, limit in (
        ("day", rr["day_start_eq"], ss["daily_loss"]),  # type: ignore[index]
        ("week", rr["week_start_eq"], ss["weekly_loss"]),  # type: ignore[index]
        ("drawdown", rr["peak_eq"], ss["max_dd"]),  # type: ignore[index]
    ):
        loss = max(0.0, 1.0 - eq / float(start)) if start > 0 else 0.0
        cap = f"{float(limit):.1%}" if limit > 0 else "no limit"
        parts.append(f"{name} {loss:.2%} of {cap}")
    halted = "  [bold red]HALTED by the drawdown breaker[/]" if rr["halted"] else ""  # type: ignore[index]
    return "[dim]risk:[/] " + "  ·  ".join(parts) + halted


SHADOW = typer.Option(
    False, "--shadow", help="Shadow mode: record predictions and would-be orders on the "
    "simulated venue; never send an order to the broker (runtime.shadow).",
)  # fmt: skip


def paper(
    ctx: typer.Context,
    config: Path = typer.Option(..., "--config", "-c", help="Run spec (the backtest's YAML)."),
    replay: bool = typer.Option(
        False, "--replay", help="Feed stored history through the runtime bar by bar."
    ),
    start: str | None = typer.Option(None, "--from", help="First bar of the replay (date)."),
    end: str | None = typer.Option(None, "--to", help="Last bar of the replay (date)."),
    speed: str | None = typer.Option(
        None, "--speed", help="With --replay: max (the default), or a multiple of real time: 60x."
    ),
    run_id: str | None = typer.Option(None, "--run-id", help="Name of the run in the ledger."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No live view; the summary only."),
    require_gate: bool = typer.Option(
        False, "--require-gate", help="Refuse to start unless the last `validate` of this "
        "strategy, params, universe and rules passed and is newer than the config.",
    ),
    shadow: bool = SHADOW,
) -> None:  # fmt: skip
    """Paper-trade a strategy: the same YAML as `backtest` plus broker / schedule sections.

    With --replay, stored bars are fed through the live engine as if each had just closed;
    orders go to the simulated venue, which fills them with the backtest's cost rules. The
    ledger (`alphaforge status`, `orders`, `fills`, `pnl`) records every decision. With
    --shadow nothing reaches a broker: predictions and would-be orders are recorded (ledger
    mode shadow); `alphaforge drift SHADOW_RUN --against RUN` compares them with the run that
    trades.
    """
    if require_gate:
        _require_gate(ctx, config)
    _paper(ctx, config, replay, start, end, speed, run_id, quiet, shadow)


@handle_errors
def _require_gate(ctx: typer.Context, config: Path) -> None:
    from alphaforge.services.validate_store import require_gate

    settings = settings_from(ctx)
    last = require_gate(load_run_spec(config), config, settings.home)
    console.print(f"gate: passed on {last.created:%Y-%m-%d %H:%M} UTC ({last.path})")


@handle_errors
def _paper(
    ctx: typer.Context,
    config: Path,
    replay: bool,
    start: str | None,
    end: str | None,
    speed: str | None,
    run_id: str | None,
    quiet: bool,
    shadow: bool = False,
    command: str = "paper",
) -> None:
    check_run_id(run_id)
    settings = settings_from(ctx)
    spec = load_run_spec(config)
    if shadow:
        spec.runtime.shadow = True
    _check_spec(spec)  # before the ledger is opened: bad input leaves the home as it was
    if not replay:
        if start or end:
            fail("--from / --to go with --replay", 2)
        if speed is not None:
            fail(f"--speed {speed}: the pace of a replay goes with --replay (a paper run "
                 "follows the live clock)", 2)  # fmt: skip
        if spec.mode == "live" and not spec.runtime.shadow:
            fail(f"{config}: mode: live trades real money; start it with alphaforge live", 2)
        again = f"alphaforge {command} --config {config}" + (" --shadow" if shadow else "")
        _paper_live(settings, spec, run_id, quiet, again)
        return
    _check_dates(start, end)
    from alphaforge.services.pacing import parse_speed
    from alphaforge.services.trading import ReplayRequest, build_replay, run_replay

    req = ReplayRequest(start, end, parse_speed(speed or "max"), run_id)
    unused = replay_unused(spec)
    if unused:  # (also with -q: it hides the live view, not what the run ignores)
        console.print(f"[yellow]note:[/] {unused}", highlight=False)
    if spec.strategies is not None:
        from alphaforge.cli.trade_account import replay_account

        replay_account(settings, spec, req, quiet)
        return
    with trading_ledger(settings) as run:
        setup = run.setup = build_replay(spec, settings, run.ledger, req)
        bars, node = setup.panel.shape[0], setup.node
        print_lines("note", setup.panel.meta.get("data_notes", ()))
        out = run_with_view(
            partial(run_replay, setup, req.speed), bars,
            lambda t, eq, seconds: _view(node, t, eq, bars, seconds), quiet,
        )  # fmt: skip
        halted = halt_note(run.ledger)
    if already_replayed(out, setup.panel.index[-1]):
        return
    console.print(
        f"replay {out.run_id}: {replay_time(out)}; final equity {out.final_equity:,.2f}; "
        f"{replay_counts(out)}"
    )
    replay_end(out, halted)


def _paper_live(
    settings: AppSettings, spec: RunSpec, run_id: str | None, quiet: bool, again: str
) -> None:
    """Paper trading on the live feed until Ctrl-C (the run continues with ``again`` and
    --run-id)."""
    from alphaforge.engine.schedule import Due, utc_now
    from alphaforge.services.accounts import wash_trade_risks
    from alphaforge.services.paper import PaperSetup, build_paper, run_paper
    from alphaforge.services.trading import check_credentials

    check_credentials(spec, settings)  # before the ledger is opened: the home stays as it was
    with trading_ledger(settings) as run:
        s = run.setup = build_paper(spec, settings, run.ledger, run_id, utc_now())
        kind = "shadow" if spec.runtime.shadow else "live" if spec.mode == "live" else "paper"
        venue = s.node.p.venue.name
        n = len(spec.strategies or ()) or 1
        console.print(
            f"{kind} run {s.run_id} on {venue}: {n} strateg{'ies' if n > 1 else 'y'}, "
            f"{len(s.feed.symbols)} symbol(s), "
            f"{s.feed.timeframe} bars from the {spec.feed.source}; Ctrl-C stops (restart with "
            f"{again} --run-id {s.run_id}); log: {s.log_file}"
        )
        halted = halt_note(run.ledger, ended=False)
        if halted:
            console.print(halted)
        stale = stale_store_note(s.feed, spec.feed.source, utc_now())
        if stale:
            console.print(stale)
        for line in wash_trade_risks(spec):
            console.print(f"[yellow]warning:[/] {line}", highlight=False)

        def show(st: PaperSetup, due: Due) -> None:
            if quiet:
                return
            t = s.next_t - 1
            account = getattr(s.driver, "account", None)
            if account is not None:
                from alphaforge.cli.trade_account import account_view

                console.print(account_view(account, t, account.equity, f"cycle {s.cycles:,}"))
            else:
                console.print(_view(s.node, t, s.node.st.equity, None, 0.0))
            console.print(f"[dim]next cycle at {due.next_at:%Y-%m-%d %H:%M} UTC[/]")

        try:
            run_paper(s, utc_now, time.sleep, lambda: False, show)
        except KeyboardInterrupt:
            s.node.commit()
            console.print(f"stopped; continue with: {again} --run-id {s.run_id}")


def check_run_id(run_id: str | None) -> None:
    """``--run-id`` is a plain name (see :func:`alphaforge.services.trading.check_run_id`)."""
    from alphaforge.services.trading import check_run_id as check

    check(run_id, "--run-id")


def replay_unused(spec: RunSpec) -> str | None:
    """What a replay of ``spec`` does not use, when it is set: the ``feed:`` (a replay feeds
    the stored bars of ``--from`` .. ``--to``), the ``schedule:`` (one cycle per bar) and
    ``mode: live`` (a replay never reaches a live account). The same file drives paper and live,
    so they are not refused; the note says they did nothing here."""
    notes = []
    sections = [name for name in ("feed", "schedule") if name in spec.model_fields_set]
    if sections:
        keys = " and ".join(f"{name}:" for name in sections)
        notes.append(
            f"{keys} {'are' if len(sections) > 1 else 'is'} for paper and live runs; a replay "
            "feeds the stored bars, one cycle per bar, and does not use "
            f"{'them' if len(sections) > 1 else 'it'}"
        )
    if spec.mode == "live" and not spec.runtime.shadow:
        where = "the simulated venue" if spec.broker.name == "simulated" else "the local stand-in"
        notes.append(f"mode: live is for alphaforge live; a replay trades on {where}, as paper")
    return f"{spec.source}: " + "; ".join(notes) if notes else None


def stale_store_note(feed: Any, source: str, now: Any) -> str | None:
    """A note when a paper run on ``feed.source: store`` starts on bars that stopped long ago
    (the SYNTHETIC sample ends in 2023): nothing brings new ones but another process writing
    the store, so the run would wait without a word."""
    import pandas as pd

    from alphaforge.core.timeframe import parse_timeframe

    if source != "store":
        return None
    stamps = [feed.store.last_timestamp(sym, feed.timeframe) for sym in feed.symbols]
    known = [pd.Timestamp(t) for t in stamps if t is not None]
    if not known:
        return None
    last = max(t.tz_localize("UTC") if t.tz is None else t for t in known)
    intraday = parse_timeframe(feed.timeframe).is_intraday
    if now - last <= pd.Timedelta(days=4 if intraday else 7):
        return None
    return (
        f"[yellow]note:[/] the newest stored {feed.timeframe} bar is {last:%Y-%m-%d} "
        f"({(now - last).days:,} days ago) and feed.source is store: the run trades only bars "
        "another process writes into the store (alphaforge data fetch on a schedule), or set "
        "feed.source to a vendor"
    )


def _check_spec(spec: RunSpec) -> None:
    """The strategy, its parameters and the runtime's settings, before anything is opened or
    asked (a wrong name or parameter names the config file)."""
    from alphaforge.services.backtest import spec_strategy
    from alphaforge.services.trading import check_run

    if spec.strategy and spec.strategies is None:
        spec_strategy(spec)
    check_run(spec)


def _check_dates(*values: str | None) -> None:
    from alphaforge.config.specs import utc_stamp
    from alphaforge.core.errors import ConfigError

    stamps = []
    for name, v in zip(("--from", "--to"), values, strict=True):
        if v is None:
            continue
        stamp = utc_stamp(v)
        if stamp is None:
            raise ConfigError(f"{name}: not a date; write YYYY-MM-DD (got {v!r})") from None
        stamps.append(stamp)
    if len(stamps) == 2 and stamps[1] < stamps[0]:
        raise ConfigError(f"--to {values[1]}: before --from {values[0]}")


def live(
    ctx: typer.Context,
    config: Path = typer.Option(..., "--config", "-c", help="Run spec with mode: live."),
    yes: bool = typer.Option(False, "--yes", help="Confirm an unattended start (no prompt)."),
    require_gate: bool = typer.Option(
        False, "--require-gate", help="Refuse to start unless the last `validate` of this "
        "strategy, params, universe and rules passed and is newer than the config.",
    ),
    shadow: bool = SHADOW,
    run_id: str | None = typer.Option(None, "--run-id", help="Name of the run in the ledger."),
) -> None:  # fmt: skip
    """Trade real money (refuses without mode: live, risk limits and a confirmation).

    Prints a safety checklist first. The config must say mode: live and set the position,
    daily-loss and drawdown limits; --yes confirms an unattended start. With --shadow the
    config runs beside live trading on the live feed without sending any order (no
    confirmation needed): its predictions and would-be orders are recorded for `alphaforge
    drift SHADOW_RUN --against RUN`.
    """
    if require_gate:
        _require_gate(ctx, config)
    if shadow:
        _paper(ctx, config, False, None, None, None, run_id, False, True, "live")
        return
    _live(ctx, config, yes, run_id)


@handle_errors
def _live(ctx: typer.Context, config: Path, yes: bool, run_id: str | None) -> None:
    check_run_id(run_id)
    settings = settings_from(ctx)
    spec = load_run_spec(config)
    console.print(f"[bold]safety checklist[/] {SAFETY}", soft_wrap=True)
    if spec.mode != "live":
        fail(f"{config}: mode: live is required to trade real money (got mode: {spec.mode})", 2)
    missing = [
        key
        for key, ok in (
            ("risk.max_weight (or sizing.method other than all_in)",
             spec.risk.max_weight is not None or spec.sizing.method != "all_in"),
            ("risk.daily_loss_limit", spec.risk.daily_loss_limit is not None),
            ("risk.max_drawdown", spec.risk.max_drawdown is not None),
        )
        if not ok
    ]  # fmt: skip
    if missing:
        fail(f"{config}: live trading needs risk limits: set {', '.join(missing)}", 2)
    if spec.broker.name == "simulated":
        fail(f"{config}: broker.name: live trading needs a broker (e.g. alpaca), got simulated", 2)
    _check_spec(spec)  # before the confirmation: a refused config is not confirmed first
    from alphaforge.services.trading import check_credentials

    check_credentials(spec, settings)  # nor one whose broker keys are missing
    if not yes and not typer.confirm("Trade real money with this config?", default=False):
        fail("not confirmed", 1)
    _paper_live(settings, spec, run_id, False, f"alphaforge live --config {config}")


SIMULATED = "simulated"  # the venue of replays and shadow runs: the ledger is its account


def reconcile(
    ctx: typer.Context,
    run: str | None = typer.Option(None, "--run", help="Run to reconcile (default: the last)."),
    apply: bool = typer.Option(
        False, "--apply", help="Write the resolutions (adopt, book, cancel) to the ledger."
    ),
) -> None:
    """Show (and with --apply resolve) a run's differences with its broker.

    Compares the run's positions, working orders and fills in the ledger with the broker's;
    --apply resolves them as a restart would, recorded as reconciliation events.
    """
    _reconcile(ctx, run, apply)


@handle_errors
def _reconcile(ctx: typer.Context, run: str | None, apply: bool) -> None:
    from alphaforge.services.reconcile import reconcile_run

    settings = settings_from(ctx)
    refuse_without_ledger(settings, run)
    ledger = open_ledger(settings)
    try:
        info = ledger.run(run) if run is not None else ledger.last_run()
        if run is None and info is None:
            raise NoRunsError()
        if info is not None and info.venue == SIMULATED:
            console.print(
                f"{info.run_id}: traded on the simulated venue, whose account is the ledger's "
                "own: there is no broker and nothing to reconcile"
            )
            return
        run_id, diffs = reconcile_run(settings, ledger, run, apply)
    finally:
        ledger.close()
    if not diffs:
        console.print(f"{run_id}: the ledger and the broker agree (positions, orders, fills)")
        return
    table = Table(title=f"Differences of {run_id} with its broker", title_justify="left")
    for col in ("kind", "symbol", "client id", "detail"):
        table.add_column(col, overflow="fold" if col == "client id" else "ellipsis")
    for d in diffs:
        table.add_row(d.kind, d.symbol or "-", d.client_id or "-", d.detail)
    console.print(table)
    if apply:
        console.print(f"resolved {len(diffs)} difference(s); recorded as reconciliation events")
    else:
        console.print("not written: --apply resolves them (a restart of the run does too)")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.command("paper")(paper)
    app.command("live")(live)
    app.command("reconcile")(reconcile)
