"""Saved backtest runs under ``HOME/runs``: list them, read one, remove some.

A run is a directory ``runs/<id>`` that ``alphaforge backtest`` made (``<UTC timestamp>-<strategy>``,
see :func:`alphaforge.cli.backtest.new_run_dir`) holding ``result.json`` and whatever was written
beside it. Removal renames the directory to a hidden name first (one atomic step: the run is
listed whole or not at all), then deletes it.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alphaforge.core.errors import ConfigError, DataError
from alphaforge.core.suggest import did_you_mean

__all__ = ["RunInfo", "find_run", "list_runs", "read_run", "remove_runs", "section"]

_TRASH = ".trash-"


@dataclass(frozen=True)
class RunInfo:
    """What ``runs list`` shows of one run (``problem`` says why the rest is missing)."""

    id: str
    path: Path
    created: dt.datetime
    strategy: str | None = None
    symbols: tuple[str, ...] = ()
    start: str | None = None
    end: str | None = None
    total_return: float | None = None
    sharpe: float | None = None
    problem: str | None = None
    files: tuple[Path, ...] = field(default=())


def _created(path: Path) -> dt.datetime:
    """The UTC time in the directory's name (``20240102-153000-...``), else its result's
    modification time."""
    try:
        return dt.datetime.strptime(path.name[:15], "%Y%m%d-%H%M%S").replace(tzinfo=dt.UTC)
    except ValueError:
        probe = path / "result.json"
        stamp = (probe if probe.exists() else path).stat().st_mtime
        return dt.datetime.fromtimestamp(stamp, dt.UTC)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def read_run(path: Path) -> dict[str, Any]:
    """The parsed ``result.json`` of a run directory; errors name the file."""
    file = path / "result.json"
    if not file.is_file():
        raise DataError(f"{path}: no result.json")
    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataError(f"{file}: not a readable result JSON ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("metrics"), dict):
        raise DataError(f"{file}: not an alphaforge result (no 'metrics')")
    return doc


def _info(path: Path) -> RunInfo:
    files = tuple(sorted(p for p in path.rglob("*") if p.is_file()))
    created = _created(path)
    try:
        doc = read_run(path)
    except DataError as exc:
        return RunInfo(path.name, path, created, problem=str(exc), files=files)
    manifest = section(doc, "manifest")
    metrics = section(doc, "metrics")
    symbols = doc.get("symbols")
    symbols = symbols if isinstance(symbols, list) else []
    return RunInfo(
        id=path.name,
        path=path,
        created=created,
        strategy=str(doc.get("strategy")) if doc.get("strategy") is not None else None,
        symbols=tuple(str(s) for s in symbols),
        start=_day(manifest.get("data_start")),
        end=_day(manifest.get("data_end")),
        total_return=_number(metrics.get("total_return")),
        sharpe=_number(metrics.get("sharpe")),
        files=files,
    )


def section(doc: dict[str, Any], key: str) -> dict[str, Any]:
    """``doc[key]`` when it is a mapping, else an empty one."""
    value = doc.get(key)
    return value if isinstance(value, dict) else {}


def _day(value: Any) -> str | None:
    return str(value)[:10] if value else None


def _run_dirs(runs_dir: Path) -> list[Path]:
    if not runs_dir.is_dir():
        return []
    return [p for p in runs_dir.iterdir() if p.is_dir() and not p.name.startswith(".")]


def list_runs(runs_dir: Path) -> list[RunInfo]:
    """Every run under ``runs_dir``, oldest first."""
    return sorted((_info(p) for p in _run_dirs(runs_dir)), key=lambda r: (r.created, r.id))


def find_run(runs_dir: Path, run_id: str) -> RunInfo:
    """The run named ``run_id`` (its directory name).

    Raises
    ------
    ConfigError
        When there is no such run (bad input, exit code 2); the message names the closest id.
    """
    names = sorted(p.name for p in _run_dirs(runs_dir))
    if run_id not in names:
        raise ConfigError(
            f"unknown run {run_id!r}{did_you_mean(run_id, names) or ';'} "
            f"`alphaforge runs list` shows the {len(names)} run(s) in {runs_dir}"
        )
    return _info(runs_dir / run_id)


def remove_runs(runs_dir: Path, runs: Sequence[RunInfo]) -> None:
    """Remove runs: each directory is renamed to a hidden name (atomically: no reader sees half a
    run), then deleted. Leftovers of an interrupted removal are deleted too."""
    for leftover in runs_dir.glob(f"{_TRASH}*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for run in runs:
        trash = runs_dir / f"{_TRASH}{run.id}-{uuid.uuid4().hex[:8]}"
        os.replace(run.path, trash)
        shutil.rmtree(trash)
