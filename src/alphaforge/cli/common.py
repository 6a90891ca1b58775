"""Shared CLI plumbing: settings from the root callback, error reporting, consoles."""

from __future__ import annotations

import functools
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from alphaforge.config.settings import AppSettings, load_settings
from alphaforge.core.errors import AlphaforgeError, ConfigError

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


NO_RUNS = "no runs yet: start one with alphaforge paper --config ..."
EXIT_CODES = (
    "Exit codes: 0 done; 1 failed, or nothing to show (no runs yet: pnl, positions, export, "
    "drift, reconcile; status reports it and exits 0); 2 bad input (a config, option or "
    "argument refused)."
)


class NoRunsError(AlphaforgeError):
    """The home's ledger has no run for a command that shows one (exit code 1)."""

    exit_code = 1

    def __init__(self, message: str = NO_RUNS) -> None:
        super().__init__(message)


def refuse_without_ledger(settings: AppSettings, run: str | None, name: str = "--run") -> None:
    """A command that only reads the ledger never creates one: in a home without it there is
    no run (:class:`NoRunsError`), or no run ``run`` (a refused argument, exit 2)."""
    from alphaforge.ledger.urls import mask_url
    from alphaforge.services.ledger import ledger_exists, unknown_run

    if not ledger_exists(settings):
        if run is None:
            raise NoRunsError()
        raise unknown_run(run, mask_url(settings.ledger_url_resolved), name)


def fail(message: str, code: int = 1) -> None:
    """Print a one-line error to stderr and exit with ``code``."""
    line = escape(" ".join(str(message).split()))
    err_console.print(f"[bold red]error:[/] {line}", highlight=False, soft_wrap=True, emoji=False)
    raise typer.Exit(code)


def _debug() -> bool:
    if "--debug" in sys.argv:
        return True
    from typer._click.globals import get_current_context  # typer keeps its own click

    ctx = get_current_context(silent=True)
    obj = ctx.find_root().obj if ctx is not None else None
    return bool(isinstance(obj, dict) and obj.get("debug"))


def os_error_text(exc: OSError) -> str:
    """``path: reason`` for a file system error (``is a directory``, ``permission denied``)."""
    reason = (exc.strerror or type(exc).__name__).lower()
    where = exc.filename2 if isinstance(exc, IsADirectoryError) and exc.filename2 else None
    where = where or exc.filename
    return f"{where}: {reason}" if where else f"{reason}: {exc}"


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def user_frame(exc: BaseException) -> traceback.FrameSummary | None:
    """The innermost frame of ``exc`` in a file outside alphaforge and the installed libraries
    (a user's strategy file), if any. A compiled extension's frame (``pandas/_libs/x.pyx``, a
    name that is no file) is a library's, not the user's."""
    found = None
    for frame in traceback.extract_tb(exc.__traceback__):
        name = os.path.abspath(frame.filename)
        if (
            name.startswith(_PACKAGE_DIR)
            or "site-packages" in name
            or frame.filename.startswith("<")
            or not frame.filename.endswith(".py")
            or not os.path.isfile(frame.filename)
        ):
            continue
        if name.startswith(os.path.dirname(os.__file__)):
            continue
        found = frame
    return found


def unexpected_error_text(exc: BaseException) -> str:
    """One line for an exception that is not an :class:`AlphaforgeError`: where it was raised in
    the user's own code when it was (a strategy file), its type and message."""
    what = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    frame = user_frame(exc)
    if frame is not None:
        return f"{frame.filename}:{frame.lineno} in {frame.name}: {what}"
    return f"unexpected error: {what} (run with --debug for the traceback)"


def _cannot_create_in(directory: Path) -> str | None:
    """Why no file can be created in ``directory`` (``None`` when one can): a probe file is
    created and removed at once, so a read-only or permission-denied place is found before any
    work is done (and before anything is saved under the home)."""
    try:
        fd, probe = tempfile.mkstemp(dir=directory, prefix=".alphaforge-probe-")
    except OSError as exc:
        return (exc.strerror or type(exc).__name__).lower()
    os.close(fd)
    os.unlink(probe)
    return None


def _nearest_existing(path: Path) -> Path:
    for parent in path.parents:
        if parent.exists():
            return parent
    return Path(path.anchor or ".")


def check_output_file(path: Path | str | None, option: str) -> None:
    """Refuse an output path that cannot be a file, before any work is done (``path`` may be
    the raw text of a click parameter)."""
    if path is None:
        return
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"{option} {path}: is a directory; give a file name")
    if path.exists() and not path.is_file():  # (a link is followed: its target is written)
        raise ConfigError(f"{option} {path}: is not a regular file (a device or a pipe)")
    parent = _nearest_existing(Path(os.path.realpath(path)))
    if not parent.is_dir():
        raise ConfigError(f"{option} {path}: {parent} is a file, not a directory")
    reason = _cannot_create_in(parent)
    if reason is not None:
        raise ConfigError(f"{option} {path}: cannot write into {parent}: {reason}")


def check_output_dir(path: Path | str | None, option: str) -> None:
    """Refuse an output directory that cannot be made or written into, before any work."""
    if path is None:
        return
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{option} {path}: is a file, not a directory")
    where = path if path.is_dir() else _nearest_existing(path)
    if not where.is_dir():
        raise ConfigError(f"{option} {path}: {where} is a file, not a directory")
    reason = _cannot_create_in(where)
    if reason is not None:
        raise ConfigError(f"{option} {path}: cannot write into {where}: {reason}")


def at_least(value: float | None, minimum: float, option: str) -> None:
    """Refuse an option value below ``minimum`` (``None``, not given, passes)."""
    if value is not None and not value >= minimum:
        raise ConfigError(f"{option} {value!r}: must be >= {minimum:g}")


def handle_errors(func: F) -> F:
    """Turn :class:`AlphaforgeError` into a one-line message and a non-zero exit."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AlphaforgeError as exc:
            if _debug():
                raise
            fail(str(exc), exc.exit_code)
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except (typer.Exit, typer.Abort):
            raise  # a deliberate exit code (a failed check, fail() itself)
        except typer.TyperException:
            raise  # usage errors (a bad parameter): the entry point reports them
        except OSError as exc:
            if _debug():
                raise
            fail(os_error_text(exc), 1)
        except Exception as exc:  # never a traceback without --debug
            if _debug():
                raise
            fail(unexpected_error_text(exc), 1)
        return None

    return wrapper  # type: ignore[return-value]


def _plain_help() -> None:
    """Typer's rich help, shown as written.

    * a flag takes no value, so its type column stays empty (Typer shows ``<bool>``);
    * help texts are plain text: ``[cores]`` or ``[long]`` (defaults in brackets) stay as written
      instead of being read as rich style tags and dropped (which left a stray " ."), and
      ``:name:`` is not turned into an emoji.
    """
    import inspect

    from rich.text import Text
    from typer import core as typer_core

    option = getattr(typer_core, "TyperOption", None)
    shown = getattr(option, "display_type_rich", None)
    if option is not None and shown is not None and not getattr(shown, "_plain", False):

        def display_type_rich(self: Any, ctx: Any) -> str | None:
            return None if getattr(self, "is_flag", False) else shown(self, ctx)

        display_type_rich._plain = True  # type: ignore[attr-defined]
        option.display_type_rich = display_type_rich
    try:
        from typer import rich_utils
    except ImportError:  # pragma: no cover - typer without rich
        return
    make = getattr(rich_utils, "_make_rich_text", None)
    highlighter = getattr(rich_utils, "highlighter", None)
    if make is None or highlighter is None or getattr(make, "_plain", False):
        return

    def make_rich_text(*, text: str, style: str = "", markup_mode: Any) -> Any:
        if markup_mode != "rich" or "\x1b" in text:
            return make(text=text, style=style, markup_mode=markup_mode)
        return highlighter(Text(inspect.cleandoc(text), style=style))

    make_rich_text._plain = True  # type: ignore[attr-defined]
    rich_utils._make_rich_text = make_rich_text


_plain_help()


HomeOption = typer.Option(
    None,
    "--home",
    help="alphaforge home directory (default: $ALPHAFORGE_HOME or ~/.alphaforge).",
    envvar="ALPHAFORGE_HOME",
    file_okay=False,
)


def confirmed(question: str) -> bool:
    """Ask ``question`` (default no); no answer (end of input) is no."""
    try:
        return bool(typer.confirm(question, default=False))
    except typer.Abort:
        return False


def ensure_path(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path
