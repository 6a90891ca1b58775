"""HTML reports of backtest results."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def write_report(result: Any, path: str | Path, title: str | None = None) -> Path:
    """Write the tear sheet of ``result`` to ``path`` (a self-contained HTML file)."""
    from alphaforge.reports.plain import write_plain_report

    return write_plain_report(result, Path(path), title)
