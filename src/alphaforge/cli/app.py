"""The ``alphaforge`` command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from alphaforge import __version__
from alphaforge._jit import notify_first_compile
from alphaforge.cli import backtest as backtest_cli
from alphaforge.cli import data as data_cli
from alphaforge.cli import demo as demo_cli
from alphaforge.cli import drift as drift_cli
from alphaforge.cli import ledger as ledger_cli
from alphaforge.cli import ml as ml_cli
from alphaforge.cli import optimize as optimize_cli
from alphaforge.cli import report as report_cli
from alphaforge.cli import runs as runs_cli
from alphaforge.cli import strategy as strategy_cli
from alphaforge.cli import trade as trade_cli
from alphaforge.cli import validate as validate_cli
from alphaforge.cli.common import EXIT_CODES, HomeOption

app = typer.Typer(
    name="alphaforge",
    help="alphaforge: market data, honest backtests, validation, paper and live trading.",
    epilog=EXIT_CODES,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",  # a docstring's lines are joined into paragraphs
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(data_cli.app, name="data")
app.add_typer(ml_cli.app, name="ml")
app.add_typer(runs_cli.app, name="runs")
backtest_cli.register(app)
report_cli.register(app)
demo_cli.register(app)
strategy_cli.register(app)
optimize_cli.register(app)
validate_cli.register(app)
trade_cli.register(app)
ledger_cli.register(app)
drift_cli.register(app)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"alphaforge {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    home: Path | None = HomeOption,
    debug: bool = typer.Option(
        False, "--debug", help="Show tracebacks instead of one-line errors."
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """alphaforge: market data, honest backtests, validation, paper and live trading."""
    ctx.obj = {"home": home, "debug": debug}


MULTI_VALUE_OPTIONS = ("--symbols", "-s")


ROOT_OPTIONS = ("--home", "--debug")  # options of the root that work on any command


def _root_first(argv: list[str]) -> list[str]:
    """Move ``--home DIR`` / ``--home=DIR`` / ``--debug`` in front of the subcommand."""
    root: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            rest.extend(argv[i:])
            break
        if arg == "--home" and i + 1 < len(argv):
            root += argv[i : i + 2]
            i += 2
            continue
        if arg.startswith("--home=") or arg == "--debug":
            root.append(arg)
        else:
            rest.append(arg)
        i += 1
    return root + rest


def normalize_argv(argv: list[str]) -> list[str]:
    """Let ``--symbols A B C`` mean ``--symbols A --symbols B --symbols C``, and ``--home`` /
    ``--debug`` stand anywhere on the line."""
    argv = _root_first(argv)
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        out.append(arg)
        i += 1
        if arg in MULTI_VALUE_OPTIONS:
            first = True
            while i < len(argv) and not argv[i].startswith("-"):
                if not first:
                    out.append(arg)
                out.append(argv[i])
                first = False
                i += 1
    return out


def _compiling() -> None:
    from alphaforge.cli.common import err_console

    err_console.print(
        "[dim]compiling alphaforge's engine for this machine (the first run only, or the first "
        "after an upgrade; it is cached afterwards) ...[/]",
        highlight=False,
    )


def _named_command(command: Any, args: list[str]) -> str:
    """The command path the words of ``args`` name (``alphaforge export trades``): for a usage
    error raised without its command's context (an option missing its value)."""
    path = ["alphaforge"]
    skip = False
    for arg in args:
        if skip or arg in ROOT_OPTIONS or arg.startswith("--home="):
            skip = arg == "--home"
            continue
        sub = getattr(command, "commands", {}).get(arg)
        if sub is None:
            break
        path.append(arg)
        command = sub
    return " ".join(path)


def main(argv: list[str] | None = None) -> None:
    """The console entry point: usage mistakes are one line on stderr, exit code 2."""
    import sys

    from typer._click import exceptions as click_errors

    from alphaforge.cli.common import err_console

    args = normalize_argv(list(sys.argv[1:] if argv is None else argv))
    if sys.stderr.isatty():  # a person waits: say why the first run pauses
        notify_first_compile(_compiling)
    command = typer.main.get_command(app)
    try:
        code = command.main(args=args, prog_name="alphaforge", standalone_mode=False)
    except click_errors.NoArgsIsHelpError as exc:  # a group alone: its help is printed
        sys.exit(exc.exit_code)
    except click_errors.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx is not None else _named_command(command, args)
        line = " ".join(f"{where}: {exc.format_message()} (see {where} --help)".split())
        err_console.print(f"[bold red]error:[/] {escape(line)}", highlight=False, emoji=False)
        sys.exit(exc.exit_code)
    except click_errors.ClickException as exc:
        err_console.print(f"[bold red]error:[/] {escape(exc.format_message())}", emoji=False)
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("[bold red]error:[/] aborted", highlight=False)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    main()
