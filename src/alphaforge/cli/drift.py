"""``alphaforge drift [RUN]``: a paper, replay or live run against the backtest of its period.

Exit codes: 0 when the run is within tolerance, 1 when it is not (so CI can gate a paper run on
it), 2 on bad input (unknown run, unreadable config, unwritable output), with a one-line error.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from alphaforge.cli.common import (
    NoRunsError,
    check_output_file,
    console,
    handle_errors,
    refuse_without_ledger,
    settings_from,
)
from alphaforge.core.errors import AlphaforgeError, ConfigError
from alphaforge.core.panel import short_time

if TYPE_CHECKING:
    from alphaforge.services.drift import DriftReport

__all__ = ["register"]


class DriftInputError(AlphaforgeError):
    """Bad input to ``drift``: exit code 2, apart from the verdict's 1."""

    exit_code = 2


@contextmanager
def _input_errors() -> Iterator[None]:
    try:
        yield
    except (DriftInputError, NoRunsError):
        raise
    except AlphaforgeError as exc:
        raise DriftInputError(str(exc)) from exc


def _tolerance(text: str) -> float:
    from alphaforge.core.costs import parse_fraction

    value = parse_fraction(text, "--tolerance")
    if not (value >= 0 and math.isfinite(value)):
        raise ConfigError(f"--tolerance: must be zero or more (got {text!r})")
    return value


def register(app: typer.Typer) -> None:
    """Add ``drift`` to the root app."""

    @app.command("drift")
    def drift_cmd(
        ctx: typer.Context,
        run: str = typer.Argument(None, metavar="RUN", help="Run id (default: the last run)."),
        tolerance: str = typer.Option(None, "--tolerance", help="Allowed total-return difference, relative to the backtest's return (at least 0.5 pp) [default: 5%]."),
        json_path: Path = typer.Option(None, "--json", help="Also write the full report as JSON."),
        csv_path: Path = typer.Option(None, "--csv", help="Also write every trade (matched and unmatched) as CSV."),
        against: str = typer.Option(None, "--against", metavar="RUN", help="Compare RUN (a --shadow run) with this run that trades instead of with the backtest."),
        strategy: str = typer.Option(None, "--strategy", help="For a run of several strategies on one account: the strategy (its id) to compare with its own backtest."),
    ) -> None:  # fmt: skip
        """Compare a run in the ledger with the backtest of the same config and period.

        Trades are matched by symbol, side and entry bar; prices, quantities, exit reasons,
        fees and slippage are compared trade by trade, and equity bar by bar. Exit code 0
        when within tolerance, 1 when not (a CI gate for paper runs) or when there is no run
        yet, 2 on bad input.

        With --against, a shadow run is compared with the run that trades: returns, tracking
        error, trades made by one and not the other, would-be orders and the recorded
        predictions (exit code 0; nothing is judged).
        """
        if against is not None:
            _shadow(ctx, run, against, tolerance, json_path, csv_path)
            raise typer.Exit(0)
        within = _drift(ctx, run, tolerance or "5%", json_path, csv_path, strategy)
        raise typer.Exit(0 if within else 1)


@handle_errors
def _drift(
    ctx: typer.Context,
    run: str | None,
    tolerance: str,
    json_path: Path | None,
    csv_path: Path | None,
    strategy: str | None = None,
) -> bool:
    from alphaforge.services.drift import drift_report
    from alphaforge.services.ledger import open_ledger

    with _input_errors():
        tol = _tolerance(tolerance)
        check_output_file(json_path, "--json")
        check_output_file(csv_path, "--csv")
        if (
            json_path is not None
            and csv_path is not None
            and (json_path.expanduser().resolve() == csv_path.expanduser().resolve())
        ):
            raise ConfigError(f"--csv {csv_path}: the same file as --json; give two paths")
        settings = settings_from(ctx)
        refuse_without_ledger(settings, run, "run")
        ledger = open_ledger(settings)
        try:
            if run is None:
                last = ledger.last_run()
                if last is None:
                    raise NoRunsError()
                run = last.run_id
            report = drift_report(ledger, run, settings, tolerance=tol, strategy=strategy)
        finally:
            ledger.close()
        _write(report, json_path, csv_path)
    _show(report)
    return report.within_tolerance


@handle_errors
def _shadow(
    ctx: typer.Context,
    run: str | None,
    against: str,
    tolerance: str | None,
    json_path: Path | None,
    csv_path: Path | None,
) -> None:
    import json

    from alphaforge.atomic import atomic_write_text
    from alphaforge.services.ledger import open_ledger
    from alphaforge.services.shadow import shadow_report

    with _input_errors():
        for name, value in (("--tolerance", tolerance), ("--csv", csv_path)):
            if value is not None:
                raise ConfigError(f"{name}: does not go with --against (a shadow comparison)")
        if run is None:
            raise ConfigError(
                "--against: name the shadow run first: drift SHADOW_RUN --against RUN"
            )
        check_output_file(json_path, "--json")
        ledger = open_ledger(settings_from(ctx))
        try:
            report = shadow_report(ledger, run, against)
        finally:
            ledger.close()
        if json_path is not None:
            try:
                atomic_write_text(json_path, json.dumps(report.to_dict(), indent=1))
            except OSError as exc:
                raise ConfigError(f"{json_path}: {exc.strerror}") from None
    t = Table(title=f"Shadow {report.shadow.run_id} against {report.actual.run_id}",
              title_justify="left")  # fmt: skip
    for col in ("", "shadow", "actual"):
        t.add_column(col, justify="left" if not col else "right")
    s, a = report.shadow, report.actual
    t.add_row("mode / strategy", f"{s.mode} / {s.strategy}", f"{a.mode} / {a.strategy}")
    t.add_row("period", f"{report.start[:10]} .. {report.end[:10]}", f"{report.bars:,} bars")
    t.add_row("equity", f"{_num(s.start_equity)} → {_num(s.end_equity)}",
              f"{_num(a.start_equity)} → {_num(a.end_equity)}")  # fmt: skip
    t.add_row("total return", f"{s.total_return:+.2%}", f"{a.total_return:+.2%}")
    t.add_row(
        "closed trades / P&L", f"{s.trades:,} / {_num(s.pnl)}", f"{a.trades:,} / {_num(a.pnl)}"
    )
    t.add_row("entry and exit orders", f"{s.orders:,} (would-be)", f"{a.orders:,}")
    t.add_row("trades in both", f"{report.matched:,}", f"{report.matched:,}")
    t.add_row(
        "trades on one side only", f"{len(report.shadow_only):,}", f"{len(report.actual_only):,}"
    )
    t.add_row("correlation of bar returns", _num(report.correlation, ".3f"), "")
    t.add_row("predictions recorded (mean)",
              f"{report.predictions:,} ({_num(report.mean_prediction, '.4f')})", "")  # fmt: skip
    console.print(t)
    console.print(report.verdict(), highlight=False)


def _write(report: DriftReport, json_path: Path | None, csv_path: Path | None) -> None:
    import json

    from alphaforge.atomic import atomic_write, atomic_write_text

    try:
        if json_path is not None:
            atomic_write_text(json_path, json.dumps(report.to_dict(), indent=1))
        if csv_path is not None:
            frame = report.trades_frame()
            atomic_write(csv_path, lambda tmp: frame.to_csv(tmp, index=False))
    except OSError as exc:
        raise ConfigError(f"{exc.filename or json_path or csv_path}: {exc.strerror}") from None


# ---- rendering --------------------------------------------------------------------------------


def _num(x: float, fmt: str = ",.2f") -> str:
    return "n/a" if x != x else format(x, fmt)


def _show(report: DriftReport) -> None:
    console.print(_summary(report))
    if report.matched:
        console.print(_matched(report))
    if report.run_only or report.backtest_only:
        console.print(_unmatched(report))
    if report.open_positions:
        console.print(_open(report))
    if report.inherent:
        console.print("[bold]Inherent differences[/] (from the run's config):")
        for line in report.inherent:
            console.print(f"  - {line}", highlight=False)
    else:
        console.print(
            f"[bold]Inherent differences:[/] none ({report.venue} venue, no participation cap "
            "or runtime order limits, stored bars): any difference is drift",
            highlight=False,
        )
    for w in report.warnings:
        console.print(f"[yellow]backtest warning:[/] {w}", highlight=False)
    style = "bold green" if report.within_tolerance else "bold red"
    console.print(f"[{style}]{report.verdict()}[/]", highlight=False)


def _summary(r: DriftReport) -> Table:
    ret, c = r.returns, r.costs
    t = Table(title=f"Drift of {r.run_id} ({r.mode}, {r.venue}, {r.strategy})",
              title_justify="left")  # fmt: skip
    for col in ("", "run", "backtest", "difference"):
        t.add_column(col, justify="left" if not col else "right")
    t.add_row("period", r.start[:10], r.end[:10], f"{ret.bars:,} bars compared")
    t.add_row("final equity", _num(ret.final_equity_run), _num(ret.final_equity_backtest),
              _num(ret.final_equity_diff, "+,.2f"))  # fmt: skip
    t.add_row("total return", f"{ret.return_run:+.2%}", f"{ret.return_backtest:+.2%}",
              f"{ret.return_diff * 100:+.2f} pp")  # fmt: skip
    t.add_row("tracking error (ann.)", "", "", _num(ret.tracking_error * 100, ".3f") + " %")
    gap_at = f" at {short_time(ret.max_gap_time)}" if ret.max_gap_time is not None else ""
    t.add_row("max equity gap", "", "", _num(ret.max_equity_gap) + gap_at)
    t.add_row("fees", _num(c.fees_run), _num(c.fees_backtest),
              _num(c.fees_run - c.fees_backtest, "+,.2f"))  # fmt: skip
    t.add_row("slippage", _num(c.slippage_run), _num(c.slippage_backtest),
              _num(c.slippage_run - c.slippage_backtest, "+,.2f"))  # fmt: skip
    t.add_row("costs, bps of traded value", _num(c.cost_bps_run), _num(c.cost_bps_backtest),
              _num(c.cost_bps_run - c.cost_bps_backtest, "+.2f"))  # fmt: skip
    n_run = len(r.matched) + len(r.run_only)
    n_bt = len(r.matched) + len(r.backtest_only)
    t.add_row("closed trades", f"{n_run:,}", f"{n_bt:,}", f"{len(r.matched):,} matched")
    if ret.bars_run_only or ret.bars_backtest_only:
        t.add_row("bars on one side only", f"{ret.bars_run_only:,}", f"{ret.bars_backtest_only:,}",
                  "")  # fmt: skip
    return t


def _matched(r: DriftReport) -> Table:
    t = _table(
        "Matched trades: run (bt: backtest where they differ); Δ in bps of the backtest's price"
    )
    cols = ("symbol", "side", "entry", "exit", "qty", "entry px", "Δ bps", "exit px", "Δ bps",
            "exit reason", "costs", "costs bt", "pnl Δ")  # fmt: skip
    for col in cols:
        t.add_column(col, justify="left" if col in ("symbol", "side", "exit reason") else "right")
    for m in r.matched:
        exit_ = short_time(m.exit_time_run)
        if m.exit_time_run != m.exit_time_backtest:
            exit_ += f" [red](bt {short_time(m.exit_time_backtest)})[/]"
        qty = f"{m.qty_run:,g}" + (f" [red](bt {m.qty_backtest:,g})[/]" if m.qty_diff else "")
        reason = m.exit_reason_run
        if not m.reasons_agree:
            reason = f"[red]{reason} (bt {m.exit_reason_backtest})[/]"
        t.add_row(
            m.symbol, m.side, short_time(m.entry_time), exit_, qty, _num(m.entry_price_run),
            _flag(m.entry_diff_bps, "+.2f"), _num(m.exit_price_run),
            _flag(m.exit_diff_bps, "+.2f"), reason, _num(m.fees_run + m.slippage_run),
            _num(m.fees_backtest + m.slippage_backtest), _flag(m.pnl_diff, "+,.2f"),
        )  # fmt: skip
    return t


def _table(title: str) -> Table:
    from rich import box

    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        collapse_padding=True,
    )


def _flag(x: float, fmt: str) -> str:
    """A difference, in red when it is not zero at the shown precision."""
    if x != x or abs(x) < 5e-3:
        return _num(0.0 if x == x else x, fmt)
    return f"[red]{_num(x, fmt)}[/]"


def _unmatched(r: DriftReport) -> Table:
    t = _table("Unmatched trades")
    for col in ("only in", "symbol", "side", "entry", "exit", "qty", "entry px", "exit px",
                "exit reason", "pnl"):  # fmt: skip
        t.add_column(col)
    for u in (*r.run_only, *r.backtest_only):
        t.add_row(
            u.source, u.symbol, u.side, short_time(u.entry_time), short_time(u.exit_time), f"{u.qty:,g}",
            _num(u.entry_price, ",.4f"), _num(u.exit_price, ",.4f"), u.exit_reason, _num(u.pnl),
        )  # fmt: skip
    return t


def _open(r: DriftReport) -> Table:
    t = _table("Open positions at the end")
    for col in ("symbol", "qty run", "qty backtest", "entry px run", "entry px backtest", ""):
        t.add_column(col)
    for p in r.open_positions:
        t.add_row(
            p.symbol, f"{p.qty_run:,g}", f"{p.qty_backtest:,g}", _num(p.price_run, ",.4f"),
            _num(p.price_backtest, ",.4f"), "" if p.matches else "[red]differs[/]",
        )  # fmt: skip
    return t
