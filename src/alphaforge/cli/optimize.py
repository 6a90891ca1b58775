"""``alphaforge sweep`` and ``alphaforge walkforward``: parameter search on a run spec."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from alphaforge.cli.backtest import cli_overrides, parse_params, split_symbols
from alphaforge.cli.common import (
    at_least,
    check_output_dir,
    check_output_file,
    console,
    handle_errors,
    settings_from,
)
from alphaforge.core.errors import ConfigError

OBJECTIVE_HELP = (
    "sharpe, sortino, calmar, cagr, profit_factor, total_return, omega, or your own function "
    "of the metrics: module:function or path/file.py:function."
)
MIN_TRADES_HELP = (
    "Trials with fewer closed trades are infeasible (median across symbols per symbol). "
    "Default 30, relaxed when no trial reaches it, and off when a num_trades constraint is "
    "given; 0 disables it."
)
CONSTRAINT_HELP = (
    "METRIC OP VALUE, e.g. 'num_trades>=30'. max_drawdown is negative (-0.25 = 25% drawdown): "
    "'max_drawdown>-0.2' keeps drawdowns smaller than 20%. Repeatable."
)


def rate_text(rate: float) -> str:
    return f"{rate:,.1f} trials/s" if rate == rate else "– trials/s"  # NaN: nothing run yet


class _Rate(ProgressColumn):
    """The summary's trials/s (:func:`~alphaforge.optimize.search.trial_rate`), not rich's
    windowed speed: trials run now (resumed ones excluded) since the total was announced."""

    def render(self, task: Task) -> Text:
        from alphaforge.optimize.search import trial_rate

        f = task.fields
        rate = trial_rate(f.get("ran", 0), f.get("last", 0.0) - f.get("started", 0.0))
        return Text(rate_text(rate), style="cyan")


@contextmanager
def progress_hooks(quiet: bool, get_time: Callable[[], float] | None = None) -> Iterator[Any]:
    """(on_total, advance) callbacks driving a rich progress bar."""
    if quiet:
        yield None
        return
    prog = Progress(
        TextColumn("[bold]trials"), BarColumn(), MofNCompleteColumn(), _Rate(),
        TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), console=console,
        get_time=get_time,
    )  # fmt: skip
    task = prog.add_task("trials", total=None, ran=0)

    def on_total(total: int, done: int) -> None:
        if not prog.live.is_started:  # shown once the trials are known: a refused input
            prog.start()  # prints its error alone, without an empty bar above it
        prog.update(task, total=total, completed=done)
        if "started" not in prog.tasks[0].fields:
            now = prog.get_time()
            prog.update(task, started=now, last=now)

    def advance(n: int) -> None:
        fields = prog.tasks[0].fields
        prog.update(task, advance=n, ran=fields["ran"] + n, last=prog.get_time())

    try:
        yield (on_total, advance)
    finally:
        if prog.live.is_started:
            prog.stop()


def _method(
    random: int | None, optuna: int | None, seed: int | None
) -> tuple[str, int | None, int]:
    """The search method, its number of trials and its seed (0 when not given); a seed is
    refused for a grid, which runs every trial whatever the seed."""
    at_least(random, 1, "--random")
    at_least(optuna, 1, "--optuna")
    if random and optuna:
        raise ConfigError("give either --random N or --optuna N, not both")
    if not (random or optuna) and seed is not None:
        raise ConfigError(
            f"--seed {seed}: acts only with --random or --optuna (a grid runs every trial)"
        )
    seed = 0 if seed is None else seed
    if random:
        return "random", random, seed
    if optuna:
        return "optuna", optuna, seed
    return "grid", None, seed


def _spec(strategy: str | None, symbols: list[str] | None, data: Path | None,
          config: Path | None, param: list[str] | None, start: str | None,
          end: str | None, commission: str | None, slippage: str | None) -> Any:  # fmt: skip
    from alphaforge.config.specs import load_run_spec

    over = cli_overrides(
        strategy=strategy, symbols=split_symbols(symbols), data=str(data) if data else None,
        params=parse_params(param) or None, start=start, end=end, commission=commission,
        slippage=slippage,
    )  # fmt: skip
    return load_run_spec(config, over)


def _executor_opts(
    dask: str | None, scheduler: str | None, workers: int | None = None, chunk: int | None = None
) -> str | None:
    at_least(workers, 1, "--workers")
    at_least(chunk, 1, "--chunk")
    if dask and scheduler:
        raise ConfigError("give either --dask local or --scheduler tcp://HOST:PORT, not both")
    if dask and dask != "local":
        raise ConfigError(f"--dask {dask!r}: only 'local' (use --scheduler for a cluster)")
    return scheduler or dask


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _best_table(report: Any) -> Table:
    t = Table(title=f"best of {len(report.table)} trials ({report.invalid} invalid skipped)")
    for col in ("pick", *report.params, "objective", "plateau", "trial"):
        t.add_column(col, justify="right")
    for key, b in report.best.items():
        t.add_row(key, *(_fmt(b["params"][p]) for p in report.params), _fmt(b["objective"]),
                  _fmt(b["plateau"]), str(b["trial_id"]))  # fmt: skip
    return t


def _top_table(df: Any, cols: list[str], title: str, n: int = 10) -> Table:
    t = Table(title=title)
    for c in cols:
        t.add_column(c, justify="right")
    for _, row in df.head(n).iterrows():
        t.add_row(*(_fmt(row[c]) for c in cols))
    return t


def few_trades_notes(report: Any, objective: str) -> list[str]:
    """A warning for each pick (raw, plateau) that rests on fewer trades than the default
    guard asks for (when the guard was relaxed, turned off or lowered)."""
    from alphaforge.optimize.analysis import MIN_TRADES_DEFAULT as minimum

    if getattr(report, "guard_relaxed", False):
        fix = f"no trial reached {minimum} trades: use more bars or parameters that trade more"
    else:
        fix = f"--min-trades {minimum} keeps such trials out"
    out = []
    table = report.table.set_index("trial_id")
    for key, best in report.best.items():
        n = float(table.loc[best["trial_id"], "num_trades"])
        if n == n and n < minimum:  # NaN-safe
            out.append(
                f"the {key} best {best['params']} rests on {n:.0f} trades (fewer than "
                f"{minimum}), so its {objective} is mostly noise; {fix}"
            )
    return out


def guard_lines(guard: Any, relaxed: bool) -> list[str]:
    """The sweep header: the minimum-trades constraint, and whether it was relaxed."""
    out = [f"constraint: {guard.describe()}"]
    if relaxed:
        out.append(
            f"no trial reached {guard.minimum} trades, so the default guard was relaxed: the "
            "picks below ignore it"
        )
    return out


def _show_sweep(report: Any, objective: str) -> None:
    from alphaforge.optimize.analysis import failures

    for line in guard_lines(report.guard, report.guard_relaxed):
        console.print(line, highlight=False)
    console.print(_best_table(report))
    for line in few_trades_notes(report, objective):
        console.print(f"[yellow]warning:[/] {line}")
    failed = failures(report.table)
    if failed:  # the rest were picked from; these have an error instead of metrics
        console.print(f"[yellow]warning:[/] {failed}; the results file keeps each one's error",
                      highlight=False)  # fmt: skip
    feas = report.table[report.table["feasible"]].sort_values("objective", ascending=False)
    cols = [*report.params, "objective", "plateau", "cagr", "max_drawdown", "num_trades"]
    if "share_positive" in report.table:
        cols += ["objective_mean", "share_positive", "n_symbols"]
        console.print(_top_table(feas, cols, f"top parameter sets by median {objective}"))
        if report.per_symbol_best is not None:
            pcols = ["symbol", *report.params, objective, "num_trades"]
            console.print(_top_table(report.per_symbol_best, pcols, "best per symbol", 50))
    else:
        console.print(_top_table(feas, cols, f"top trials by {objective}"))
    o = report.outcome
    state = "complete" if o.complete else "partial (re-run the same command to resume)"
    console.print(
        f"job {report.job_id}: {o.total} trials, {o.ran} run now, {o.resumed} resumed, "
        f"{rate_text(report.trials_per_second)}, {state}"
    )
    for name, path in report.files.items():
        console.print(f"{name}: {path}")


def register(app: typer.Typer) -> None:
    @app.command("sweep")
    @handle_errors
    def sweep_cmd(
        ctx: typer.Context,
        strategy: str = typer.Argument(None, help="Built-in name or path/file.py:ClassName."),
        symbols: list[str] = typer.Option(None, "--symbols", "-s", help="Symbols (space- or comma-separated)."),
        data: Path = typer.Option(None, "--data", help="CSV/Parquet bars file; default: the local store."),
        config: Path = typer.Option(None, "--config", "-c", help="YAML run config; flags override it."),
        param: list[str] = typer.Option(None, "--param", "-p", help="Fixed parameter NAME=VALUE."),
        grid: list[str] = typer.Option(None, "--grid", "-g", help="NAME=START:STOP[:STEP] or NAME=A,B,C (repeatable); default: the Params bounds."),
        random: int = typer.Option(None, "--random", help="Random search with N trials."),
        optuna: int = typer.Option(None, "--optuna", help="Bayesian search (Optuna TPE) with N trials."),
        seed: int = typer.Option(None, "--seed", help="Seed of random / Optuna search [0]."),
        objective: str = typer.Option("sharpe", "--objective", help=OBJECTIVE_HELP),
        constraint: list[str] = typer.Option(None, "--constraint", help=CONSTRAINT_HELP),
        min_trades: int = typer.Option(None, "--min-trades", help=MIN_TRADES_HELP),
        per_symbol: bool = typer.Option(None, "--per-symbol/--portfolio", help="Run every symbol separately (default with several symbols) or as one portfolio."),
        workers: int = typer.Option(None, "--workers", "-w", help="Local worker processes [cores]."),
        dask: str = typer.Option(None, "--dask", help="'local': run on a fresh Dask LocalCluster."),
        scheduler: str = typer.Option(None, "--scheduler", help="Existing Dask scheduler tcp://HOST:8786."),
        chunk: int = typer.Option(None, "--chunk", help="Trials per task [auto]."),
        fast: bool = typer.Option(False, "--fast", help="Batched kernel: several times faster, fewer metrics (no calmar, omega, ...), no returns matrix."),
        start: str = typer.Option(None, help="First date (inclusive)."),
        end: str = typer.Option(None, help="Last date (inclusive)."),
        commission: str = typer.Option(None, help="Commission spec [0.1%]."),
        slippage: str = typer.Option(None, help="Slippage spec [5bps]."),
        export: Path = typer.Option(None, "--export", help="Also write the trial table as CSV here."),
        out: Path = typer.Option(None, "--out", help="Copy results and plots into this directory."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or tables."),
    ) -> None:  # fmt: skip
        """Search strategy parameters; results persist under HOME/sweeps/<job> and resume."""
        from alphaforge.services.optimize import SweepRequest, export_csv, run_sweep

        check_output_file(export, "--export")
        check_output_dir(out, "--out")
        settings = settings_from(ctx)
        spec = _spec(strategy, symbols, data, config, param, start, end, commission, slippage)
        method, n, seed = _method(random, optuna, seed)
        req = SweepRequest(
            spec=spec, grids=list(grid or []), method=method, n_trials=n,  # type: ignore[arg-type]
            seed=seed, objective=objective, constraints=list(constraint or []),
            min_trades=min_trades, per_symbol=per_symbol, workers=workers, dask=_executor_opts(dask, scheduler, workers, chunk),
            chunk_size=chunk, fast=fast,
        )  # fmt: skip
        with progress_hooks(quiet) as hooks:
            report = run_sweep(req, settings, hooks)
        if export:
            report.files["csv"] = export_csv(report, export)
        if out:
            _copy_outputs(report.files, out)
        if not quiet:
            _show_sweep(report, objective)
        else:
            console.print(f"sweep: {report.directory}")

    @app.command("walkforward")
    @handle_errors
    def walkforward_cmd(
        ctx: typer.Context,
        strategy: str = typer.Argument(None, help="Built-in name or path/file.py:ClassName."),
        symbols: list[str] = typer.Option(None, "--symbols", "-s", help="Symbols (space- or comma-separated)."),
        data: Path = typer.Option(None, "--data", help="CSV/Parquet bars file; default: the local store."),
        config: Path = typer.Option(None, "--config", "-c", help="YAML run config; flags override it."),
        param: list[str] = typer.Option(None, "--param", "-p", help="Fixed parameter NAME=VALUE."),
        train_len: int = typer.Option(252, "--train-len", help="Bars per train window."),
        test_len: int = typer.Option(63, "--test-len", help="Bars per test window."),
        stride: int = typer.Option(None, "--stride", help="Bars between folds [test-len]."),
        anchored: bool = typer.Option(False, "--anchored", help="Every train window starts at the first bar."),
        select: str = typer.Option("raw", "--select", help="raw (best objective) or plateau (best neighbourhood)."),
        grid: list[str] = typer.Option(None, "--grid", "-g", help="NAME=START:STOP[:STEP] or NAME=A,B,C (repeatable)."),
        random: int = typer.Option(None, "--random", help="Random search, N trials per fold."),
        optuna: int = typer.Option(None, "--optuna", help="Optuna TPE, N trials per fold."),
        seed: int = typer.Option(None, "--seed", help="Seed of random / Optuna search [0]."),
        objective: str = typer.Option("sharpe", "--objective", help=OBJECTIVE_HELP),
        constraint: list[str] = typer.Option(None, "--constraint", help=CONSTRAINT_HELP),
        min_trades: int = typer.Option(None, "--min-trades", help=MIN_TRADES_HELP),
        workers: int = typer.Option(None, "--workers", "-w", help="Local worker processes [cores]."),
        dask: str = typer.Option(None, "--dask", help="'local': run on a fresh Dask LocalCluster."),
        scheduler: str = typer.Option(None, "--scheduler", help="Existing Dask scheduler tcp://HOST:8786."),
        fast: bool = typer.Option(False, "--fast", help="Batched kernel for the train sweeps (fewer metrics)."),
        start: str = typer.Option(None, help="First date (inclusive)."),
        end: str = typer.Option(None, help="Last date (inclusive)."),
        commission: str = typer.Option(None, help="Commission spec [0.1%]."),
        slippage: str = typer.Option(None, help="Slippage spec [5bps]."),
        json_out: Path = typer.Option(None, "--json", help="Also write the stitched OOS result JSON here."),
        report: Path = typer.Option(None, "--report", help="Write the HTML tear sheet of the OOS result here."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or tables."),
    ) -> None:  # fmt: skip
        """Walk-forward optimization: optimize on each train window, trade the next window."""
        from alphaforge.services.optimize import WalkForwardRequest, run_walkforward

        if select not in ("raw", "plateau"):
            raise ConfigError(f"--select {select!r}: raw or plateau")
        at_least(train_len, 1, "--train-len")
        at_least(test_len, 1, "--test-len")
        at_least(stride, 1, "--stride")
        check_output_file(json_out, "--json")
        check_output_file(report, "--report")
        settings = settings_from(ctx)
        spec = _spec(strategy, symbols, data, config, param, start, end, commission, slippage)
        method, n, seed = _method(random, optuna, seed)
        req = WalkForwardRequest(
            spec=spec, grids=list(grid or []), method=method, n_trials=n,  # type: ignore[arg-type]
            seed=seed, objective=objective, constraints=list(constraint or []),
            min_trades=min_trades, workers=workers, dask=_executor_opts(dask, scheduler, workers), train_len=train_len,
            test_len=test_len, stride=stride, anchored=anchored, select=select, fast=fast,
        )  # fmt: skip
        with progress_hooks(quiet) as hooks:
            wf = run_walkforward(req, settings, hooks)
        if json_out:
            wf.files["json"] = wf.result.to_json(json_out)
        if report:
            from alphaforge.reports import write_report

            wf.files["report"] = write_report(wf.result, report, title="walk-forward (OOS)")
        if not quiet:
            _show_walkforward(wf, objective)
        else:
            console.print(f"walkforward: {wf.directory}")


def _show_walkforward(wf: Any, objective: str) -> None:
    params = [c for c in wf.folds.columns if c not in _WF_FIXED]
    cols = ["fold", "test_start", *params, "is_objective", "oos_objective", "is_cagr",
            "oos_cagr", "oos_num_trades"]  # fmt: skip
    df = wf.folds.assign(test_start=wf.folds["test_start"].dt.strftime("%Y-%m-%d"))
    console.print(f"constraint: {wf.guard.describe()}", highlight=False)
    console.print(_top_table(df, cols, f"folds ({objective}: in-sample vs out-of-sample)", 500))
    for line in nan_fold_notes(wf.folds, objective):
        console.print(f"[yellow]note:[/] {line}")
    relaxed = wf.folds.get("guard_relaxed")
    if relaxed is not None and relaxed.any():
        console.print(
            f"[yellow]note:[/] {int(relaxed.sum())} of {len(wf.folds)} folds: no train trial "
            "reached the default minimum of trades, so it was relaxed there (--min-trades N "
            "to set your own)",
            highlight=False,
        )
    console.print(_top_table(wf.drift, list(wf.drift.columns), "parameter drift"))
    m = wf.result.metrics
    console.print(
        f"OOS stitched: total return {m['total_return']:.2%}, CAGR {m['cagr']:.2%}, "
        f"sharpe {m['sharpe']:.2f}, max drawdown {m['max_drawdown']:.2%}, "
        f"{int(m['num_trades'])} trades; walk-forward efficiency (OOS CAGR / mean IS CAGR) "
        f"{wf.wfe:.2f}; {wf.elapsed:.1f}s"
    )
    for name, path in wf.files.items():
        console.print(f"{name}: {path}")


def nan_fold_notes(folds: Any, objective: str) -> list[str]:
    """Why some folds have no out-of-sample objective (NaN), in words."""
    nan = folds["oos_objective"].isna().to_numpy()
    if not nan.any():
        return []
    flat = nan & (folds["oos_num_trades"].fillna(0).to_numpy() == 0)
    out = []
    if flat.any():
        out.append(
            f"{int(flat.sum())} of {len(folds)} folds have no out-of-sample {objective}: their "
            "test window had no trade and no position, so the equity never moved"
        )
    if (nan & ~flat).any():
        ids = ", ".join(str(int(f)) for f in folds["fold"].to_numpy()[nan & ~flat][:10])
        out.append(
            f"folds {ids}: {objective} is undefined on their test window (e.g. no losing bar "
            "for sortino, no drawdown for calmar, or too few bars)"
        )
    return out


_WF_FIXED = {
    "fold", "train_start", "train_end", "test_start", "test_end", "is_objective",
    "oos_objective", "is_cagr", "oos_cagr", "is_sharpe", "oos_sharpe", "oos_max_drawdown",
    "oos_num_trades", "wfe", "feasible", "guard_relaxed",
}  # fmt: skip


def _copy_outputs(files: dict[str, Path], out: Path) -> None:
    import shutil

    out.mkdir(parents=True, exist_ok=True)
    for path in files.values():
        if path.exists() and path.parent != out:
            shutil.copy2(path, out / path.name)
