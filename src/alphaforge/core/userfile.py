"""Import a user's Python file (a strategy, a sweep objective) as a module of its own."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["NotPython", "module_from_file"]


class NotPython(ImportError):
    """The file cannot be loaded as a Python module at all."""


def module_from_file(path: Path, name: str) -> ModuleType:
    """Run ``path`` as the module ``name``, registered in ``sys.modules`` first (so classes
    and dataclasses defined there resolve their own module). Raises :class:`NotPython` when
    the file cannot be loaded as Python; an exception of the file's own code propagates as
    raised, for the caller to report with the user's ``file:line``."""
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise NotPython(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
