"""Suggestions for misspelt names: the closest known name, the way a shell suggests a command."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, choices: Iterable[str], cutoff: float = 0.6) -> str | None:
    """The choice most like ``word`` (case-insensitive), or ``None`` when none is close."""
    names = list(dict.fromkeys(str(c) for c in choices))
    by_lower: dict[str, str] = {}
    for name in names:
        by_lower.setdefault(name.lower(), name)
    found = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=cutoff)
    return by_lower[found[0]] if found else None


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """``"; did you mean 'fast'?"`` for the closest choice, ``""`` when none is close."""
    best = closest(word, choices)
    return f"; did you mean {best!r}?" if best is not None and best != word else ""
