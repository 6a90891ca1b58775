"""What a search maximises: a metric by name, or a user's function of the metrics.

``--objective sharpe`` names one of :data:`OBJECTIVES`. ``--objective module:function`` (an
importable module) or ``--objective path/to/file.py:function`` names a function that takes one
argument, the trial's metrics as a mapping (``metrics["sharpe"]``, ``metrics["num_trades"]``,
every name of :data:`~alphaforge.optimize.worker.METRIC_COLUMNS`), and returns a number::

    def score(metrics):
        return metrics["cagr"] / max(0.05, -metrics["max_drawdown"])

The function is imported and its signature checked before any data is loaded, runs in the
main process only (workers compute metrics, never the objective), and a NaN return makes the
trial unpickable, like a metric that is undefined. In a per-symbol sweep it is applied to each
symbol's metrics and the median across symbols is the trial's objective, as for a named metric.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.core.errors import ConfigError
from alphaforge.core.userfile import module_from_file
from alphaforge.optimize.worker import METRIC_COLUMNS

OBJECTIVES = ("sharpe", "sortino", "calmar", "cagr", "profit_factor", "total_return", "omega")
FAST_METRICS = (
    "final_equity", "total_return", "cagr", "sharpe", "sortino", "max_drawdown", "num_trades",
    "win_rate", "profit_factor",
)  # fmt: skip
"""Metrics the batched kernel (``--fast``) computes; the other metric columns are NaN there."""

ObjectiveFn = Callable[[Mapping[str, float]], Any]


@dataclass(frozen=True)
class Objective:
    """A metric name (``fn`` None) or a user function ``fn(metrics) -> float`` named ``name``."""

    name: str
    fn: ObjectiveFn | None = field(default=None, compare=False)
    fingerprint: str = ""  # name plus a digest of the function's source file (job ids)

    def __str__(self) -> str:
        return self.name

    @property
    def custom(self) -> bool:
        return self.fn is not None

    def of(self, metrics: Mapping[str, float]) -> float:
        """The objective of one set of metrics."""
        if self.fn is None:
            return float(metrics.get(self.name, float("nan")))
        try:
            value = self.fn(metrics)
        except Exception as exc:
            raise ConfigError(
                f"--objective {self.name}: raised {type(exc).__name__}: {exc}"
            ) from None
        if isinstance(value, bool) or not isinstance(value, int | float | np.number):
            raise ConfigError(
                f"--objective {self.name}: returned {type(value).__name__} {value!r}, not a number"
            )
        return float(value)

    def values(self, rows: pd.DataFrame) -> np.ndarray:
        """The objective of every row of a metrics table."""
        if self.fn is None:
            if self.name not in rows:
                return np.full(len(rows), np.nan)
            return rows[self.name].to_numpy(dtype=float)
        cols = [c for c in METRIC_COLUMNS if c in rows]
        block = rows[cols].to_numpy(dtype=float)
        return np.array(
            [self.of(dict(zip(cols, r.tolist(), strict=True))) for r in block], dtype=float
        )


def as_objective(objective: str | Objective) -> Objective:
    return objective if isinstance(objective, Objective) else Objective(objective)


def load_objective(text: str, fast: bool = False) -> Objective:
    """Validate ``--objective``: a metric name, ``module:function`` or ``file.py:function``."""
    if text in OBJECTIVES:
        if fast and text not in FAST_METRICS:
            raise ConfigError(f"--objective {text!r} is not computed by --fast; drop --fast")
        return Objective(text, fingerprint=text)
    if ":" not in text:
        raise ConfigError(
            f"--objective {text!r}: one of {', '.join(OBJECTIVES)}, or module:function / "
            "path/to/file.py:function"
        )
    where, name = text.rsplit(":", 1)
    module = _import(text, where)
    fn = getattr(module, name, None)
    if fn is None:
        raise ConfigError(f"--objective {text}: {where} has no function {name!r}")
    if not callable(fn):
        raise ConfigError(f"--objective {text}: {name!r} is a {type(fn).__name__}, not a function")
    _check_signature(text, fn)
    source = getattr(module, "__file__", None)
    digest = _digest(Path(source)) if source else ""
    return Objective(text, fn, f"{text}@{digest}" if digest else text)


def _import(text: str, where: str) -> Any:
    try:
        if not where.endswith(".py"):
            return importlib.import_module(where)
        path = Path(where).expanduser()
        if not path.is_file():
            raise ConfigError(f"--objective {text}: no such file {path}")
        return module_from_file(path, f"alphaforge_objective_{path.stem}_{_digest(path)}")
    except ConfigError:
        raise
    except Exception as exc:
        raise ConfigError(
            f"--objective {text}: cannot import {where} ({type(exc).__name__}: {exc})"
        ) from None


def _check_signature(text: str, fn: Callable[..., Any]) -> None:
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: let the first call tell
        return
    try:
        sig.bind({})
    except TypeError:
        raise ConfigError(
            f"--objective {text}: its signature is {sig}; it must take one argument, the "
            "metrics mapping"
        ) from None


def _digest(path: Path) -> str:
    try:
        return hashlib.blake2b(path.read_bytes(), digest_size=8).hexdigest()
    except OSError:
        return ""
