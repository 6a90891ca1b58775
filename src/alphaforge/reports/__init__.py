"""HTML reports of backtest results: the tear sheet, comparisons and PNG export of charts."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_report(
    result: Any,
    path: str | Path,
    title: str | None = None,
    validation: dict[str, Any] | None = None,
) -> Path:
    """Write the tear sheet of ``result`` to ``path`` (a self-contained HTML file).

    Parameters
    ----------
    result:
        A :class:`~alphaforge.sim.result.BacktestResult`.
    path:
        Output file; parent directories are created; written atomically.
    title:
        Page title (default: the strategy name).
    validation:
        A validation body (``alphaforge validate --json``); adds the Validation section.

    Returns
    -------
    pathlib.Path
        The written path.
    """
    from alphaforge.reports.tearsheet import write_tearsheet

    return write_tearsheet(result, path, title, validation=validation)


__all__ = ["write_report"]
