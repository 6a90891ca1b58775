"""Saved backtest results: reading one back with every part a report or a comparison needs."""

from __future__ import annotations

import json
from pathlib import Path

from alphaforge.core.errors import DataError
from alphaforge.sim.result import BacktestResult

__all__ = ["RAW_KEYS", "RESULT_KEYS", "SERIES_KEYS", "load_result"]

# What a saved result must hold for a tear sheet or a comparison (written by `backtest --json`).
RESULT_KEYS = ("format", "strategy", "params", "symbols", "metrics", "config", "series", "raw")
SERIES_KEYS = ("index", "equity", "cash", "gross", "net", "benchmark")
RAW_KEYS = ("trades", "orders", "events")


def load_result(path: str | Path) -> BacktestResult:
    """A result saved by ``alphaforge backtest --json`` or :meth:`BacktestResult.to_json`; a file
    that is not one is refused with its name and the missing key."""
    path = Path(path)
    if path.is_dir():
        raise DataError(f"{path}: is a directory, not a result JSON file")
    if not path.exists():
        raise DataError(f"{path}: no such result file")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno}: {exc.msg})" if isinstance(exc, json.JSONDecodeError) else ""
        raise DataError(f"{path}: not valid JSON{where}") from None
    what = "not an alphaforge backtest result"
    if not isinstance(doc, dict):
        raise DataError(f"{path}: {what} (a JSON {type(doc).__name__}, expected an object)")
    for key in RESULT_KEYS:
        if key not in doc:
            raise DataError(f"{path}: {what}: no '{key}'")
    for section, keys in (("series", SERIES_KEYS), ("raw", RAW_KEYS)):
        if not isinstance(doc[section], dict):
            raise DataError(f"{path}: {what}: '{section}' is not an object")
        for key in keys:
            if key not in doc[section]:
                raise DataError(f"{path}: {what}: no '{section}.{key}'")
    for key in ("metrics", "config", "params"):
        if not isinstance(doc[key], dict):
            raise DataError(f"{path}: {what}: '{key}' is not an object")
    try:
        return BacktestResult.from_dict(doc)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise DataError(f"{path}: {what}: {type(exc).__name__}: {exc}") from None
