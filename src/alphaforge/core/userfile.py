"""A user's own files: a Python file (a strategy, a sweep objective) imported as a module of its
own, and the error of a file the user named that is not what it must be (bad input, exit 2)."""

from __future__ import annotations

import importlib.util
import os
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from alphaforge.core.errors import DataError, UserFileError

__all__ = [
    "ErrorOnImport",
    "ExitOnImport",
    "NotPython",
    "module_from_file",
    "user_file_errors",
]


@contextmanager
def user_file_errors(path: Path | str | None = None) -> Iterator[None]:
    """While files the user named are read, a :class:`DataError` about them is bad input: it
    is raised again as a :class:`UserFileError`, its message prefixed with ``path`` when it
    does not name it. An error that already has an exit code of its own (a file that is not
    UTF-8 text) passes as it is."""
    try:
        yield
    except DataError as exc:
        if exc.exit_code != DataError.exit_code:
            raise
        message = str(exc)
        if path is not None and str(path) not in message:
            message = f"{path}: {message}"
        raise UserFileError(message) from exc


class NotPython(ImportError):
    """The file cannot be loaded as a Python module at all."""


class ExitOnImport(ImportError):
    """The file's own code ended its import: it exited (``sys.exit``, ``raise SystemExit``), or
    raised (:class:`ErrorOnImport`). An import that ends the command, silently with the file's
    exit code or with a traceback, is refused naming the file and the line."""


class ErrorOnImport(ExitOnImport):
    """The file's own code raised an exception (a ``SyntaxError`` included) while it was
    imported; the message names the file, the line and the exception."""


def module_from_file(path: Path, name: str) -> ModuleType:
    """Run ``path`` as the module ``name``, registered in ``sys.modules`` first (so classes
    and dataclasses defined there resolve their own module). Raises :class:`NotPython` when
    the file cannot be loaded as Python; an exception of the file's own code (or of what it
    imports) is raised as :class:`ErrorOnImport` naming ``path``, the line and the exception
    (chained to it); ``SystemExit`` is turned into :class:`ExitOnImport`
    (``KeyboardInterrupt`` propagates). A module whose import failed is not left in
    ``sys.modules``.

    The file's folder is added to the end of ``sys.path`` (once), so the file can import the
    modules beside it (``from mylib import signal``), as ``python file.py`` could; at the end,
    so a file there named like an installed package never replaces that package."""
    folder = os.path.abspath(os.path.dirname(path))
    if folder not in sys.path:
        sys.path.append(folder)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise NotPython(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SystemExit as exc:
        sys.modules.pop(name, None)
        line = _line_in(exc, path)
        at = f" at line {line}" if line is not None else ""
        raise ExitOnImport(
            f"{path}: the file exits while it is imported (SystemExit({exc.code!r}){at}); "
            "keep sys.exit out of its top level (under if __name__ == '__main__':)"
        ) from None
    except Exception as exc:
        sys.modules.pop(name, None)
        raise ErrorOnImport(_error_text(exc, path)) from exc
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _error_text(exc: Exception, path: Path) -> str:
    """``path: line N: Type: message (raised while the file is imported)``."""
    if isinstance(exc, SyntaxError) and exc.filename and _same(exc.filename, path):
        line, what = exc.lineno, f"{type(exc).__name__}: {exc.msg}"
    else:
        line, what = _line_in(exc, path), type(exc).__name__
        what = f"{what}: {exc}" if str(exc) else what
    at = f" line {line}:" if line is not None else ""
    return f"{path}:{at} {what} (raised while the file is imported)"


def _line_in(exc: BaseException, path: Path) -> int | None:
    """The line of ``path`` where ``exc`` was raised (its innermost frame in the file)."""
    lines = [f.lineno for f in traceback.extract_tb(exc.__traceback__) if _same(f.filename, path)]
    return lines[-1] if lines else None


def _same(filename: str, path: Path) -> bool:
    return os.path.abspath(filename) == os.path.abspath(path)
