"""``alphaforge data``: fetch, import, list, show, remove, check and sample market data."""

from __future__ import annotations

import typer

from alphaforge.cli import data_fetch, data_quality, data_remove, data_store

app = typer.Typer(help="Download, import, inspect and check market data.", no_args_is_help=True)
data_store.register(app)
data_quality.register(app)
data_fetch.register(app)
data_remove.register(app)
