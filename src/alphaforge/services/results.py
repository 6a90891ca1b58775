"""Saved backtest results: reading one back with every part a report or a comparison needs."""

from __future__ import annotations

import json
from pathlib import Path

from alphaforge.core.errors import DataError, UserFileError
from alphaforge.sim.result import BacktestResult

__all__ = ["RAW_KEYS", "RESULT_KEYS", "SERIES_KEYS", "load_result"]

# What a saved result must hold for a tear sheet or a comparison (written by `backtest --json`).
RESULT_KEYS = ("format", "strategy", "params", "symbols", "metrics", "config", "series", "raw")
SERIES_KEYS = ("index", "equity", "cash", "gross", "net", "benchmark")
RAW_KEYS = ("trades", "orders", "events")


def load_result(path: str | Path) -> BacktestResult:
    """A result saved by ``alphaforge backtest --json`` or :meth:`BacktestResult.to_json`; a file
    that is not one is bad input (:class:`UserFileError`, exit code 2), refused with its name and
    the missing key or the wrong value."""
    path = Path(path)
    if path.is_dir():
        raise UserFileError(f"{path}: is a directory, not a result JSON file")
    if not path.exists():
        raise UserFileError(f"{path}: no such result file")
    try:
        doc = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        where = f" (line {exc.lineno}: {exc.msg})" if isinstance(exc, json.JSONDecodeError) else ""
        raise UserFileError(f"{path}: not valid JSON{where}") from None
    what = "not an alphaforge backtest result"
    if not isinstance(doc, dict):
        raise UserFileError(f"{path}: {what} (a JSON {type(doc).__name__}, expected an object)")
    for key in RESULT_KEYS:
        if key not in doc:
            raise UserFileError(f"{path}: {what}: no '{key}'")
    for section, keys in (("series", SERIES_KEYS), ("raw", RAW_KEYS)):
        if not isinstance(doc[section], dict):
            raise UserFileError(f"{path}: {what}: '{section}' is not an object")
        for key in keys:
            if key not in doc[section]:
                raise UserFileError(f"{path}: {what}: no '{section}.{key}'")
    for key in ("metrics", "config", "params"):
        if not isinstance(doc[key], dict):
            raise UserFileError(f"{path}: {what}: '{key}' is not an object")
    try:
        result = BacktestResult.from_dict(doc)
    except DataError as exc:  # another format: the reader's own words, with the file
        raise UserFileError(f"{path}: {exc}") from None
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise UserFileError(f"{path}: {what}: {type(exc).__name__}: {exc}") from None
    _check_values(result, path, what)
    return result


def _check_values(result: BacktestResult, path: Path, what: str) -> None:
    """Refuse a result of the right keys but wrong values, which a report would fail to draw:
    a series not one value per bar of the index, a metric that is not a number."""
    n = len(result.index)
    series = {"equity": result.equity_values, "cash": result.cash_values,
              "gross": result.gross_values, "net": result.net_values,
              "benchmark": result.benchmark_values}  # fmt: skip
    for key, values in series.items():
        if values.ndim != 1 or values.shape[0] != n:
            raise UserFileError(
                f"{path}: {what}: series.{key} has {values.size} values for the {n} bars of "
                "series.index"
            )
    for key, value in result.metrics.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise UserFileError(f"{path}: {what}: metrics.{key} is not a number ({value!r})")
