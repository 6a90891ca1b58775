"""The ``alphaforge`` command."""

from __future__ import annotations

from pathlib import Path

import typer

from alphaforge import __version__
from alphaforge.cli import backtest as backtest_cli
from alphaforge.cli import data as data_cli
from alphaforge.cli import demo as demo_cli
from alphaforge.cli import drift as drift_cli
from alphaforge.cli import ledger as ledger_cli
from alphaforge.cli import optimize as optimize_cli
from alphaforge.cli import report as report_cli
from alphaforge.cli import strategy as strategy_cli
from alphaforge.cli import trade as trade_cli
from alphaforge.cli import validate as validate_cli
from alphaforge.cli.common import HomeOption

app = typer.Typer(
    name="alphaforge",
    help="alphaforge: market data, honest backtests, validation, paper and live trading.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(data_cli.app, name="data")
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


def normalize_argv(argv: list[str]) -> list[str]:
    """Let ``--symbols A B C`` mean ``--symbols A --symbols B --symbols C``."""
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


def main(argv: list[str] | None = None) -> None:
    import sys

    args = normalize_argv(list(sys.argv[1:] if argv is None else argv))
    app(args=args, prog_name="alphaforge")


if __name__ == "__main__":
    main()
