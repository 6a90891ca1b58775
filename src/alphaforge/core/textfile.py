"""Read a user's text file (a config, a CSV of bars) as UTF-8; a file that is not UTF-8 is one
line naming the file, the line and the first byte that is not (:class:`NotTextError`)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from alphaforge.core.errors import NotTextError

__all__ = ["not_utf8", "read_text"]


def read_text(path: str | Path) -> str:
    """The text of ``path`` decoded as UTF-8.

    Raises
    ------
    NotTextError
        ``path: not UTF-8 text (line N: byte 0xNN); save it as UTF-8``.
    OSError
        The file cannot be read (the caller names what is missing: a config, a gate).
    """
    data = Path(path).read_bytes()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _error(path, line, data[exc.start]) from None


def not_utf8(path: str | Path, lines: Iterable[bytes]) -> NotTextError:
    """The error for ``path``, whose raw ``lines`` (a binary file, decompressed if need be) were
    found not to be UTF-8 by a reader that does not say where: the first line that is not is
    searched for (line by line: no UTF-8 character holds a newline byte)."""
    for number, raw in enumerate(lines, 1):
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            return _error(path, number, raw[exc.start])
    return NotTextError(f"{path}: not UTF-8 text; save it as UTF-8")


def _error(path: str | Path, line: int, byte: int) -> NotTextError:
    return NotTextError(
        f"{path}: not UTF-8 text (line {line}: byte 0x{byte:02x}); save it as UTF-8"
    )
