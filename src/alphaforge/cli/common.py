"""Shared CLI plumbing: settings from the root callback, error reporting, consoles."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console

from alphaforge.config.settings import AppSettings, load_settings
from alphaforge.core.errors import AlphaforgeError

# Piped output (logs, CI) gets a readable fixed width instead of rich's 80 columns.
console = Console(width=None if sys.stdout.isatty() else 120)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 200)

F = TypeVar("F", bound=Callable[..., Any])


def settings_from(ctx: typer.Context) -> AppSettings:
    """The settings built by the root callback (``--home`` / ``ALPHAFORGE_HOME`` / ``.env``)."""
    root = ctx.find_root()
    obj = root.obj if isinstance(root.obj, dict) else {}
    settings = obj.get("settings")
    if settings is None:
        settings = load_settings(obj.get("home"))
        obj["settings"] = settings
        root.obj = obj
    return settings


def fail(message: str, code: int = 1) -> None:
    """Print a one-line error to stderr and exit with ``code``."""
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def handle_errors(func: F) -> F:
    """Turn :class:`AlphaforgeError` into a one-line message and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AlphaforgeError as exc:
            if "--debug" in sys.argv:
                raise
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        return None

    return wrapper  # type: ignore[return-value]


HomeOption = typer.Option(
    None,
    "--home",
    help="alphaforge home directory (default: $ALPHAFORGE_HOME or ~/.alphaforge).",
    envvar="ALPHAFORGE_HOME",
    file_okay=False,
)


def ensure_path(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
