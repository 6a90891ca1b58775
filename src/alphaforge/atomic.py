"""Atomic file writes: a temp file in the target's directory, then a rename.

A reader sees either the old file or the new one, never half of it, and a failure leaves the
old file as it was. New files get the usual permissions (0666 less the umask), not the 0600 of a
bare temporary file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write(path: str | Path, write: Callable[[str], Any]) -> Path:
    """Call ``write(tmp_path)`` to fill a temp file, then rename it onto ``path``.

    A symbolic link is written through (its target gets the new file, the link stays), and a
    path that is something other than a file (a device such as ``/dev/full``, a pipe, a
    directory) is refused with :class:`IsADirectoryError` / :class:`OSError` before anything
    is written: the rename would replace it."""
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file():
        if target.is_dir():
            raise IsADirectoryError(f"{path}: is a directory, not a file")
        raise OSError(f"{path}: is not a regular file (a device or a pipe); give a file name")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
