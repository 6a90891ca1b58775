"""The ``alphaforge`` command."""

from __future__ import annotations

from pathlib import Path

import typer

from alphaforge import __version__
from alphaforge.cli import data as data_cli
from alphaforge.cli.common import HomeOption

app = typer.Typer(
    name="alphaforge",
    help="alphaforge: market data, honest backtests, validation, paper and live trading.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(data_cli.app, name="data")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"alphaforge {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    home: Path | None = HomeOption,
    debug: bool = typer.Option(False, "--debug", help="Show tracebacks instead of one-line errors."),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """alphaforge: market data, honest backtests, validation, paper and live trading."""
    ctx.obj = {"home": home, "debug": debug}


def main() -> None:
    app()


if __name__ == "__main__":
    main()
