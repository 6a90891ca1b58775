"""A user's own files: a Python file (a strategy, a sweep objective) imported as a module of its
own, and the error of a file the user named that is not what it must be (bad input, exit 2)."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

from alphaforge.core.errors import DataError

__all__ = ["ExitOnImport", "NotPython", "UserFileError", "module_from_file", "user_file_errors"]


class UserFileError(DataError):
    """A file the user named (a CSV or Parquet file of bars, a saved result) cannot be read as
    what it must be: bad input, exit code 2 (not 1, the code of a run that failed). The message
    names the file and, where known, the line, column or key and the value."""

    exit_code = 2


@contextmanager
def user_file_errors() -> Iterator[None]:
    """While files the user named are read, a :class:`DataError` about them is bad input: it
    is raised again as a :class:`UserFileError` (same message). An error that already has an
    exit code of its own (a file that is not UTF-8 text) passes as it is."""
    try:
        yield
    except DataError as exc:
        if exc.exit_code != DataError.exit_code:
            raise
        raise UserFileError(str(exc)) from exc


class NotPython(ImportError):
    """The file cannot be loaded as a Python module at all."""


class ExitOnImport(ImportError):
    """The file's own code exited (``sys.exit``, ``raise SystemExit``) while it was imported:
    an import that ends the command, silently and with the file's exit code, is refused."""


def module_from_file(path: Path, name: str) -> ModuleType:
    """Run ``path`` as the module ``name``, registered in ``sys.modules`` first (so classes
    and dataclasses defined there resolve their own module). Raises :class:`NotPython` when
    the file cannot be loaded as Python; an exception of the file's own code propagates as
    raised, for the caller to report with the user's ``file:line``; ``SystemExit`` is turned
    into :class:`ExitOnImport` (``KeyboardInterrupt`` propagates). A module whose import
    failed is not left in ``sys.modules``."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise NotPython(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SystemExit as exc:
        sys.modules.pop(name, None)
        line = _exit_line(exc, path)
        raise ExitOnImport(
            f"{path}: the file exits while it is imported (SystemExit({exc.code!r}){line}); "
            "keep sys.exit out of its top level (under if __name__ == '__main__':)"
        ) from None
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _exit_line(exc: SystemExit, path: Path) -> str:
    """`` at line N`` of ``path`` where ``exc`` was raised (its innermost frame in the file)."""
    import traceback

    target = os.path.abspath(path)
    lines = [
        f.lineno
        for f in traceback.extract_tb(exc.__traceback__)
        if os.path.abspath(f.filename) == target
    ]
    return f" at line {lines[-1]}" if lines and lines[-1] is not None else ""
