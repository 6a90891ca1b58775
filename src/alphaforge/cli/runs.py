"""``alphaforge runs list | show | rm``: the backtest results saved under ``HOME/runs``."""

from __future__ import annotations

import typer
from rich.table import Table

from alphaforge.analytics.metric_info import format_metric
from alphaforge.cli.common import confirmed, console, fail, handle_errors, settings_from
from alphaforge.services.runs import (
    RunInfo,
    find_run,
    list_runs,
    read_run,
    remove_runs,
    section,
)

app = typer.Typer(
    help="List, show and remove saved backtest runs (HOME/runs).", no_args_is_help=True
)


def _symbols(run: RunInfo, n: int = 4) -> str:
    head = ", ".join(run.symbols[:n])
    return head + (f" +{len(run.symbols) - n}" if len(run.symbols) > n else "")


def _period(run: RunInfo) -> str:
    return f"{run.start} → {run.end}" if run.start and run.end else "–"


@app.command("list")
@handle_errors
def list_cmd(ctx: typer.Context) -> None:
    """List saved runs, oldest first: id, strategy, symbols, period, return, Sharpe, created."""
    runs_dir = settings_from(ctx).runs_dir
    runs = list_runs(runs_dir)
    if not runs:
        console.print(f"no saved runs in {runs_dir} (`alphaforge backtest` saves one per run)")
        return
    table = Table(title=f"{len(runs)} run(s) in {runs_dir}", title_justify="left")
    for col in ("id", "strategy", "symbols", "period", "return", "sharpe", "created"):
        right = col in {"return", "sharpe"}
        table.add_column(
            col, justify="right" if right else "left", no_wrap=col not in {"strategy", "symbols"}
        )
    for r in runs:
        table.add_row(
            r.id,
            r.strategy or "?",
            _symbols(r),
            _period(r),
            format_metric("total_return", r.total_return),
            format_metric("sharpe", r.sharpe),
            f"{r.created:%Y-%m-%d %H:%M:%S}",
        )
    console.print(table)
    for r in runs:
        if r.problem:
            console.print(f"[yellow]note:[/] {r.id}: {r.problem}", highlight=False, soft_wrap=True)


@app.command("show")
@handle_errors
def show_cmd(
    ctx: typer.Context,
    run_id: str = typer.Argument(..., metavar="RUN", help="Run id (see `alphaforge runs list`)."),
) -> None:
    """Show a run: strategy, parameters, symbols, period, costs, summary metrics and files."""
    from alphaforge.cli.backtest import HEADLINE
    from alphaforge.cli.render import metrics_table

    run = find_run(settings_from(ctx).runs_dir, run_id)
    doc = read_run(run.path)
    cfg = section(doc, "config")
    costs = section(cfg, "costs")
    console.print(
        f"[bold]{run.id}[/]: {run.strategy} {doc.get('params', {})} on "
        f"{', '.join(run.symbols) or '–'}, {_period(run)} ({cfg.get('timeframe', '?')}); "
        f"commission={costs.get('commission', '?')}, slippage={costs.get('slippage', '?')}; "
        f"created {run.created:%Y-%m-%d %H:%M:%S} UTC",
        highlight=False,
        soft_wrap=True,
    )
    metrics = doc["metrics"]
    console.print(metrics_table({"strategy": metrics}, [k for k in HEADLINE if k in metrics]))
    for warning in doc.get("warnings") or []:
        console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    files = Table(title="files", title_justify="left")
    files.add_column("path")
    files.add_column("bytes", justify="right")
    for path in run.files:
        files.add_row(str(path), f"{path.stat().st_size:,}")
    console.print(files)


@app.command("rm")
@handle_errors
def rm_cmd(
    ctx: typer.Context,
    run_ids: list[str] = typer.Argument(..., metavar="RUN...", help="Run ids to remove."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Remove without asking."),
) -> None:
    """Remove saved runs. Every id must exist (an unknown one is refused and nothing is
    removed); each run directory is removed whole."""
    runs_dir = settings_from(ctx).runs_dir
    runs = {r.id: r for r in (find_run(runs_dir, i) for i in run_ids)}.values()
    for r in runs:
        console.print(f"{r.id}: {r.strategy or '?'} on {_symbols(r) or '–'}", highlight=False)
    if not yes and not confirmed(f"remove these {len(runs)} run(s)?"):
        fail("not confirmed; nothing removed (--yes removes without asking)")
    remove_runs(runs_dir, list(runs))
    console.print(f"removed {len(runs)} run(s)", highlight=False)
