"""``alphaforge status | positions | orders | fills | pnl | export trades | kill | resume``:
the trading ledger from the command line.

Every command reads the ledger of the settings (``ledger_url``, default ``<home>/ledger.db``)
and the run given by ``--run`` (default: the last run). ``kill`` and ``resume`` work without a
runtime: a running one polls the halt every cycle.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from alphaforge.cli.common import (
    NO_RUNS,
    NoRunsError,
    check_output_file,
    console,
    handle_errors,
    refuse_without_ledger,
    settings_from,
)
from alphaforge.cli.ledger_render import (
    daily_records,
    daily_table,
    fills_table,
    money,
    orders_table,
    position_record,
    positions_table,
    to_json,
)

if TYPE_CHECKING:
    from alphaforge.ledger import Ledger, RunInfo

__all__ = ["NO_RUNS", "register"]


RunOption = typer.Option(None, "--run", help="Run id (default: the last run).")
JsonOption = typer.Option(False, "--json", help="Print JSON instead of a table.")


@contextmanager
def _ledger(ctx: typer.Context, run: str | None = None) -> Iterator[Ledger]:
    """The home's ledger. An absent SQLite ledger is not created: the command has no run to
    show (or no run ``run``)."""
    from alphaforge.services.ledger import open_ledger

    settings = settings_from(ctx)
    refuse_without_ledger(settings, run)
    ledger = open_ledger(settings)
    try:
        yield ledger
    finally:
        ledger.close()


def _has_ledger(ctx: typer.Context) -> bool:
    from alphaforge.services.ledger import ledger_exists

    return ledger_exists(settings_from(ctx))


def _run(ledger: Ledger, run_id: str | None) -> RunInfo:
    """The run asked for, or the last one; a one-line error when there is none."""
    if run_id is None:
        last = ledger.last_run()
        if last is None:
            raise NoRunsError()
        return last
    from alphaforge.services.ledger import run_info

    return run_info(ledger, run_id, "--run")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _status(ledger: Ledger, run: RunInfo) -> dict[str, Any]:
    from alphaforge.ledger.protection import held_protection

    curve = ledger.equity_curve(run.run_id)
    halt = ledger.halted()
    positions = ledger.positions(run.run_id)
    working = ledger.orders(run.run_id, "open")
    held = held_protection(positions, working)
    bare = [f"{s}/{sym}" if len(run.strategies) > 1 else sym
            for (s, sym), h in held.items() if h.stop is None and h.target is None]  # fmt: skip
    last = ledger.last_bar(run.run_id)
    return {
        "run_id": run.run_id, "mode": run.mode, "venue": run.venue, "started": run.started,
        "strategies": list(run.strategies), "last_bar": last,
        "replay_to": _replay_to(run),
        "finished": _finished(run, last),
        "running": ledger.locks.holder(run.run_id),  # the process that runs it, when one does
        "halted": halt is not None,
        "halt": None if halt is None else
        {"reason": halt.reason, "flatten": halt.flatten, "by": halt.by, "ts": halt.ts,
         "reduce_only": halt.reducing},
        "equity": float(curve["equity"].iloc[-1]) if not curve.empty else None,
        "open_positions": len(positions), "unprotected": bare, "open_orders": len(working),
    }  # fmt: skip


def _replay_to(run: RunInfo) -> str | None:
    """The last bar of a replay (None: a paper or live run, which ends when it is stopped)."""
    return run.replay_to if run.mode in ("replay", "shadow") else None


def _finished(run: RunInfo, last: str | None) -> bool | None:
    """Whether a replay has run its last bar (None: a paper or live run)."""
    end = _replay_to(run)
    if end is None:
        return None
    return last is not None and datetime.fromisoformat(last) >= datetime.fromisoformat(end)


def _run_state(s: dict[str, Any]) -> str:
    """What the run does next, for the status table."""
    if s.get("running"):
        return f"running ({s['running']})"
    if s["finished"]:
        return f"finished: replayed to its last bar ({s['replay_to']})"
    if s["finished"] is False:
        return (f"stopped before its last bar ({s['replay_to']}); continue with alphaforge "
                f"paper --replay and the config, --from and --to it started with, "
                f"--run-id {s['run_id']}")  # fmt: skip
    return (
        f"stopped: no process runs it; alphaforge paper (or live) --config with the "
        f"config it started with and --run-id {s['run_id']} continues it"
    )


def _halt_state(s: dict[str, Any]) -> str:
    """The kill switch's state for the status table (a paper or live run without a halt is
    trading; a replay is only 'not halted')."""
    halt = s["halt"]
    if halt is None:
        return "trading" if s["finished"] is None else "not halted"
    kind = "[bold yellow]REDUCE ONLY[/]" if halt.get("reduce_only") else "[bold red]HALTED[/]"
    flatten = " (flatten)" if halt["flatten"] else ""
    return f"{kind} since {halt['ts']} by {halt['by']}: {halt['reason']}{flatten}"


def _status_table(s: dict[str, Any]) -> Table:
    table = Table(title=f"Run {s['run_id']}", title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value")
    trading = _halt_state(s)
    rows = [
        ("mode", s["mode"]), ("venue", s["venue"]), ("strategies", ", ".join(s["strategies"])),
        ("started", s["started"]), ("last bar", s["last_bar"] or "none yet"),
        ("run", _run_state(s)), ("state", trading), ("equity", money(s["equity"]) or "n/a"),
        ("open positions", _positions_note(s["open_positions"], s["unprotected"])),
        ("open orders", str(s["open_orders"])),
    ]  # fmt: skip
    for key, value in rows:
        table.add_row(key, value)
    return table


def _positions_note(n: int, bare: list[str]) -> str:
    """The count of open positions, and those no working order protects at the venue (no stop
    and no target: a position opened without exits, or one whose protection was refused)."""
    if not n:
        return "0"
    if not bare:
        return f"{n} (each with a stop or target held at the venue)"
    shown = ", ".join(bare[:5]) + (" ..." if len(bare) > 5 else "")
    return f"{n} ([yellow]{len(bare)} without a stop or target at the venue: {shown}[/])"


def register(app: typer.Typer) -> None:
    """Add the ledger commands to the root app."""
    _register_reads(app)
    _register_switch(app)
    export_app = typer.Typer(help="Export data of the trading ledger.", no_args_is_help=True)
    app.add_typer(export_app, name="export")

    @export_app.command("trades")
    @handle_errors
    def export_trades_cmd(
        ctx: typer.Context,
        csv_path: str = typer.Option(
            ..., "--csv", metavar="PATH",
            help="CSV file to write (atomically); - for standard output.",
        ),
        run: str = RunOption,
    ) -> None:  # fmt: skip
        """Write the run's round trips per day and symbol as CSV (day, strategy, symbol,
        trades, wins, losses, qty, pnl, fees)."""
        from alphaforge.ledger.summary import export_trades_csv, trades_csv_text

        if csv_path != "-":
            check_output_file(csv_path, "--csv")
        with _ledger(ctx, run) as ledger:
            info = _run(ledger, run)
            if csv_path == "-":
                typer.echo(trades_csv_text(ledger, info.run_id), nl=False)
                return
            path = export_trades_csv(ledger, info.run_id, csv_path)
        console.print(f"trades: {path}")


def _register_reads(app: typer.Typer) -> None:
    @app.command("status")
    @handle_errors
    def status_cmd(ctx: typer.Context, run: str = RunOption, json: bool = JsonOption) -> None:
        """Show the last run (or --run): mode, venue, last bar, halt, equity, open counts.

        Open positions and working orders are counted; `positions` and `orders` list them.
        """
        if run is None and not _has_ledger(ctx):
            console.print(NO_RUNS)
            return
        with _ledger(ctx, run) as ledger:
            if run is None and ledger.last_run() is None:
                halt = ledger.halted()
                console.print(NO_RUNS + (" (trading is halted)" if halt else ""))
                return
            s = _status(ledger, _run(ledger, run))
        _show(json, s, _status_table)

    @app.command("positions")
    @handle_errors
    def positions_cmd(ctx: typer.Context, run: str = RunOption, json: bool = JsonOption) -> None:
        """Show the open positions of a run, derived from its fills, with the stop and target
        that its working protective orders hold at the venue (blank: none)."""
        from alphaforge.ledger.protection import held_protection

        with _ledger(ctx, run) as ledger:
            info = _run(ledger, run)
            rows = ledger.positions(info.run_id)
            held = held_protection(rows, ledger.orders(info.run_id, state="open"))
        if json:
            typer.echo(to_json([position_record(p, held) for p in rows]))
        elif not rows:
            console.print(f"no open positions in {info.run_id}")
        else:
            console.print(positions_table(rows, info.run_id, held))

    @app.command("orders")
    @handle_errors
    def orders_cmd(
        ctx: typer.Context,
        state: str = typer.Option(None, "--state", help="'open' or a state: new, submitted, accepted, partially_filled, filled, cancelled, rejected, expired."),
        run: str = RunOption,
        json: bool = JsonOption,
    ) -> None:  # fmt: skip
        """Show the orders of a run with their current state."""
        _check_state(state)
        with _ledger(ctx, run) as ledger:
            info = _run(ledger, run)
            rows = ledger.orders(info.run_id, state)
        title = f"{'Orders' if state is None else state.capitalize() + ' orders'} of {info.run_id}"
        if not rows and not json:
            console.print(f"no {'' if state is None else state + ' '}orders in {info.run_id}")
            return
        _show(json, rows, lambda r: orders_table(r, title))

    @app.command("fills")
    @handle_errors
    def fills_cmd(ctx: typer.Context, run: str = RunOption, json: bool = JsonOption) -> None:
        """Show the fills of a run, oldest first."""
        with _ledger(ctx, run) as ledger:
            info = _run(ledger, run)
            rows = ledger.fills(info.run_id)
        if not rows and not json:
            console.print(f"no fills in {info.run_id}")
            return
        _show(json, rows, lambda r: fills_table(r, info.run_id))

    @app.command("pnl")
    @handle_errors
    def pnl_cmd(
        ctx: typer.Context,
        day: str = typer.Option(None, "--day", help="One UTC day, YYYY-MM-DD (default: every day)."),
        run: str = RunOption,
        json: bool = JsonOption,
    ) -> None:  # fmt: skip
        """Show the daily P&L of a run: equity, P&L, return, round trips, fees, risk events and
        exposure."""
        from alphaforge.ledger.daily import parse_day

        if day is not None:
            day = parse_day(day)
        with _ledger(ctx, run) as ledger:
            info = _run(ledger, run)
            frame = ledger.daily_pnl(info.run_id, day)
            if day is not None and frame.empty:
                _day_in_run(ledger, info.run_id, day)
        if json:
            typer.echo(to_json(daily_records(frame)))
        elif frame.empty:
            console.print(f"no equity recorded in {info.run_id}" + (f" on {day}" if day else ""))
        else:
            console.print(daily_table(frame, info.run_id))


def _day_in_run(ledger: Ledger, run_id: str, day: str) -> None:
    """Refuse a ``--day`` outside the days the run has equity for (a day inside them without a
    bar, a weekend, is an empty answer, not an error)."""
    from alphaforge.core.errors import ConfigError

    bars = ledger.equity_curve(run_id).index
    if len(bars) == 0:
        return
    first, last = f"{bars[0]:%Y-%m-%d}", f"{bars[-1]:%Y-%m-%d}"
    if not first <= day <= last:
        raise ConfigError(
            f"--day {day}: outside run {run_id}, whose days run from {first} to {last}"
        )


def _show(as_json: bool, data: Any, table: Callable[[Any], Table]) -> None:
    if as_json:
        typer.echo(to_json(data))
    else:
        console.print(table(data))


def _check_state(state: str | None) -> None:
    from alphaforge.core.errors import ConfigError
    from alphaforge.core.orders import OrderState

    allowed = {"open", *(s.value for s in OrderState)}
    if state is not None and state not in allowed:
        raise ConfigError(f"--state {state}: expected one of {', '.join(sorted(allowed))}")


def _register_switch(app: typer.Typer) -> None:
    @app.command("kill")
    @handle_errors
    def kill_cmd(
        ctx: typer.Context,
        flatten: bool = typer.Option(False, "--flatten", help="Also close every position."),
        reduce_only: bool = typer.Option(
            False,
            "--reduce-only",
            help="Only orders that reduce exposure: exits and stops still work, nothing opens "
            "or grows a position.",
        ),
        reason: str = typer.Option("manual kill switch", "--reason", help="Why trading stops."),
    ) -> None:
        """Halt trading now: no new orders until `alphaforge resume` (survives restarts).

        With --reduce-only the runtime keeps closing (signals' exits, stops, targets) but sends
        no order that would open or grow a position."""
        from alphaforge.core.errors import ConfigError

        if flatten and reduce_only:
            raise ConfigError("--flatten and --reduce-only: choose one")
        if not _has_ledger(ctx):
            raise _nothing_to_halt(settings_from(ctx).ledger_url_resolved)
        with _ledger(ctx) as ledger:
            if ledger.last_run() is None:  # a mistyped home: its runtime would go on trading
                raise _nothing_to_halt(ledger.url_display)
            held = ledger.halted()
            if reduce_only and held is not None and not held.reducing:
                raise ConfigError(  # a kill never loosens the switch: resume does, on purpose
                    f"--reduce-only: trading is halted (since {held.ts} by {held.by}: "
                    f"{held.reason}), which reduce-only would loosen; alphaforge resume first, "
                    "then kill --reduce-only"
                )
            if reduce_only:
                ledger.reduce_only(reason=reason, by=_user(), ts=_now())
            else:
                ledger.halt(reason=reason, flatten=flatten, by=_user(), ts=_now())
        if reduce_only:
            console.print("reduce only: a running runtime sends only exits and stops from its "
                          "next cycle")  # fmt: skip
            return
        extra = " and closes every position" if flatten else ""
        console.print(f"halted: a running runtime stops trading{extra} at its next cycle")

    @app.command("resume")
    @handle_errors
    def resume_cmd(ctx: typer.Context) -> None:
        """Lift the halt of `alphaforge kill`: trading resumes at the runtime's next cycle."""
        if not _has_ledger(ctx):
            console.print("not halted: nothing to resume")
            return
        with _ledger(ctx) as ledger:
            if ledger.halted() is None:
                console.print("not halted: nothing to resume")
                return
            ledger.resume(by=_user(), ts=_now())
        console.print("resumed: trading continues at the runtime's next cycle")


def _nothing_to_halt(url: str) -> NoRunsError:
    """The refusal of a halt in a ledger without runs: a mistyped home or ledger would report
    a halt while the runtime it meant goes on trading."""
    from alphaforge.ledger.urls import mask_url

    return NoRunsError(
        f"no runs in the ledger {mask_url(url)}: nothing here to halt, and nothing was "
        "written; check --home, ALPHAFORGE_HOME or ledger_url"
    )


def _user() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"
