"""``alphaforge strategy list|show|new`` and ``alphaforge lookahead``."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from alphaforge.cli.backtest import cli_overrides, parse_params, split_symbols
from alphaforge.cli.common import check_output_file, console, fail, handle_errors, settings_from
from alphaforge.core.errors import ConfigError

if TYPE_CHECKING:
    from alphaforge.strategy.base import Strategy

app = typer.Typer(help="List, describe and scaffold strategies.", no_args_is_help=True)


def strategy_kind(cls: type[Strategy]) -> str:
    """``weights`` when ``signals`` is annotated to return TargetWeights, else ``signals``."""
    ret = str(inspect.signature(cls.signals).return_annotation)
    if "TargetWeights" in ret and "Signals" not in ret:
        return "weights"
    if "TargetWeights" in ret:
        return "signals/weights"
    return "signals"


def first_line(doc: str | None) -> str:
    return (inspect.cleandoc(doc).splitlines() or [""])[0].replace("``", "") if doc else ""


def reflow(doc: str | None) -> str:
    """Docstring paragraphs joined into single lines (bullets kept) for the terminal's width."""
    out: list[str] = []
    for para in inspect.cleandoc(doc or "").replace("``", "").split("\n\n"):
        lines = para.splitlines()
        items: list[str] = []
        for line in lines:
            if line.lstrip().startswith("- ") or not items:
                items.append(line.strip())
            else:
                items[-1] += " " + line.strip()
        out.append("\n".join(items))
    return "\n\n".join(out)


def params_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(show_header=True, header_style="bold")
    for col in ("param", "type", "default", "range / choices", "description"):
        table.add_column(col, overflow="fold")
    for r in rows:
        if r["choices"]:
            rng = ", ".join(map(str, r["choices"]))
        elif r["min"] is not None or r["max"] is not None:
            rng = f"{r['min']} … {r['max']}" + (f" step {r['step']}" if r["step"] else "")
        else:
            rng = ""
        table.add_row(r["name"], r["type"], repr(r["default"]), rng, r["description"])
    return table


@app.command("list")
@handle_errors
def list_cmd() -> None:
    """Built-in strategies: name, kind (signals or target weights) and summary."""
    from alphaforge.strategy.registry import builtin_strategies

    table = Table(show_header=True, header_style="bold")
    table.add_column("name")
    table.add_column("kind")
    table.add_column("summary", overflow="fold")
    for name, cls in builtin_strategies().items():
        table.add_row(name, strategy_kind(cls), first_line(cls.__doc__))
    console.print(table)


@app.command("show")
@handle_errors
def show_cmd(
    name: str = typer.Argument(..., help="Built-in name or path/file.py:ClassName."),
) -> None:
    """Describe a strategy: docstring and parameters (defaults, ranges, choices)."""
    from alphaforge.strategy.registry import load_strategy_class

    cls = load_strategy_class(name)
    console.print(f"[bold]{cls.name}[/] ({strategy_kind(cls)})")
    console.print(reflow(cls.__doc__), highlight=False)
    console.print(params_table(cls.describe()))


@app.command("new")
@handle_errors
def new_cmd(
    name: str = typer.Argument(..., help="Strategy name, e.g. my_trend (file my_trend.py)."),
    directory: Path = typer.Option(Path("."), "--dir", "-d", help="Directory to write into."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Write a commented, working strategy template to DIR/NAME.py."""
    from alphaforge.strategy.template import write_template

    if directory.exists() and not directory.is_dir():
        raise ConfigError(f"--dir {directory}: is a file, not a directory")
    path, cls = write_template(name, directory, force)
    console.print(f"wrote {path}")
    console.print(f"run it: alphaforge backtest {path}:{cls} --data BARS --symbols SYMBOL")


def print_report(report: Any, limit: int = 25) -> None:
    console.print(report.summary(), highlight=False)
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    if report.ok:
        return
    table = Table(show_header=True, header_style="bold red")
    for col in ("check", "symbol", "bar time", "field", "full data", "other run", "cut/start"):
        table.add_column(col)
    for i in report.issues[:limit]:
        table.add_row(i.check, i.symbol, str(i.time), i.field, repr(i.full), repr(i.other),
                      str(i.at))  # fmt: skip
    console.print(table)
    if len(report.issues) > limit:
        console.print(f"… {len(report.issues) - limit} more")


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="strategy")

    @root.command("lookahead")
    @handle_errors
    def lookahead_cmd(
        ctx: typer.Context,
        strategy: str = typer.Argument(None, help="Built-in name or path/file.py:ClassName."),
        symbols: list[str] = typer.Option(None, "--symbols", "-s", help="Symbols (space- or comma-separated)."),
        data: Path = typer.Option(None, "--data", help="CSV/Parquet bars file; default: the local store."),
        param: list[str] = typer.Option(None, "--param", "-p", help="Strategy parameter NAME=VALUE (repeatable)."),
        start: str = typer.Option(None, help="First date (inclusive)."),
        end: str = typer.Option(None, help="Last date (inclusive)."),
        timeframe: str = typer.Option(None, help="1d, 1h, 15m, 5m or 1m (default: detected / 1d)."),
        cuts: int = typer.Option(30, "--cuts", min=1, help="Truncation points to test."),
        starts: int = typer.Option(3, "--starts", min=0, help="Later starts for the warm-up check (0: skip)."),
        settle: float = typer.Option(2.0, "--settle", min=0.0, help="Compare this many warm-ups after a later start."),
        warmup: int = typer.Option(None, "--warmup", min=0, help="Override the declared warm-up (bars)."),
        config: Path = typer.Option(None, "--config", "-c", help="YAML run config; flags override it."),
        json_out: Path = typer.Option(None, "--json", help="Write the report as JSON here."),
    ) -> None:  # fmt: skip
        """Find look-ahead bias: signals must not change when later data is cut off.

        Also checks that signals after the declared warm-up do not depend on how much history
        precedes them. Exits with status 1 when a difference is found.
        """
        from alphaforge.config.specs import load_run_spec
        from alphaforge.services.backtest import load_spec_panel, spec_strategy
        from alphaforge.strategy.lookahead import check_lookahead

        over = cli_overrides(
            strategy=strategy, symbols=split_symbols(symbols),
            data=str(data) if data else None, params=parse_params(param) or None,
            start=start, end=end, timeframe=timeframe,
        )  # fmt: skip
        check_output_file(json_out, "--json")
        spec = load_run_spec(config, over)
        if not spec.strategy:
            fail("no strategy given (argument or 'strategy:' in the config)")
        spec_strategy(spec)  # a wrong name or parameter fails before bars are read
        panel = load_spec_panel(spec, settings_from(ctx))
        with console.status("checking for look-ahead…", spinner="dots"):
            report = check_lookahead(
                str(spec.strategy), panel, params=spec.params, cuts=cuts, starts=starts,
                settle=settle, warmup=warmup,
            )  # fmt: skip
        print_report(report)
        if json_out:
            write_json(report, json_out)
            console.print(f"json: {json_out}")
        if not report.ok:
            raise typer.Exit(1)


def write_json(report: Any, path: Path) -> None:
    """The report as JSON (atomically: temp file + rename)."""
    frame = report.to_frame()
    doc = {
        "strategy": report.strategy, "params": report.params, "warmup": report.warmup,
        "ok": report.ok, "compared": report.compared, "notes": report.notes,
        "cuts": [str(c) for c in report.cuts], "starts": [str(s) for s in report.starts],
        "issues": json.loads(frame.to_json(orient="records", date_format="iso")),
    }  # fmt: skip
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(doc, indent=2, default=str))
    tmp.replace(path)
