"""Scoring trials: objective, constraints, multi-symbol aggregates and plateau analysis.

Constraints read ``METRIC OP VALUE`` with OP one of ``> >= < <= == !=``, e.g.
``num_trades>=30``. Drawdowns are negative fractions in alphaforge (-0.25 is a 25% drawdown),
so "drawdown no worse than 20%" is ``max_drawdown>-0.2``. A trial whose metric is NaN fails
every constraint on that metric.

In multi-symbol (per-symbol) mode each parameter set is run on every symbol separately; the
trial table then holds, per parameter set, the *median* of each metric across symbols (plus
``objective_mean``, ``share_positive`` and ``n_symbols``), and objective and constraints read
those medians.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.core.errors import ConfigError
from alphaforge.optimize.worker import METRIC_COLUMNS, PORTFOLIO

OBJECTIVES = ("sharpe", "sortino", "calmar", "cagr", "profit_factor", "total_return", "omega")
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
    ">": operator.gt, "<": operator.lt,
}  # fmt: skip
_CONSTRAINT = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(>=|<=|==|!=|>|<)\s*(\S+)\s*$")
ALIASES = {"n_trades": "num_trades", "trades": "num_trades"}


@dataclass(frozen=True)
class Constraint:
    """``metric op value`` (see the module docstring)."""

    metric: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.metric}{self.op}{self.value:g}"

    def mask(self, df: pd.DataFrame) -> np.ndarray:
        col = df[self.metric].to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            ok = _OPS[self.op](col, self.value)
        return np.asarray(ok, dtype=bool) & ~np.isnan(col)

    def slack(self, value: float) -> float:
        """Optuna convention: <= 0 when satisfied."""
        if np.isnan(value):
            return 1.0
        if self.op in (">", ">="):
            return self.value - value + (1e-12 if self.op == ">" else 0.0)
        if self.op in ("<", "<="):
            return value - self.value + (1e-12 if self.op == "<" else 0.0)
        return 0.0 if bool(_OPS[self.op](value, self.value)) else 1.0


def parse_constraint(text: str) -> Constraint:
    """Parse ``--constraint "max_drawdown>-0.2"``."""
    m = _CONSTRAINT.match(text)
    if not m:
        raise ConfigError(f"--constraint {text!r}: expected METRIC OP VALUE, e.g. num_trades>=30")
    metric = ALIASES.get(m.group(1), m.group(1))
    if metric not in METRIC_COLUMNS:
        raise ConfigError(
            f"--constraint {text!r}: unknown metric {metric!r} (one of {', '.join(METRIC_COLUMNS)})"
        )
    try:
        value = float(m.group(3))
    except ValueError:
        raise ConfigError(f"--constraint {text!r}: {m.group(3)!r} is not a number") from None
    return Constraint(metric, m.group(2), value)


FAST_METRICS = (
    "final_equity", "total_return", "cagr", "sharpe", "sortino", "max_drawdown", "num_trades",
    "win_rate", "profit_factor",
)  # fmt: skip
"""Metrics the batched kernel (``--fast``) computes; the other metric columns are NaN there."""


def check_objective(name: str, fast: bool = False) -> str:
    """Validate ``--objective`` (and that ``--fast`` computes it)."""
    if name not in OBJECTIVES:
        raise ConfigError(f"--objective {name!r}: one of {', '.join(OBJECTIVES)}")
    if fast and name not in FAST_METRICS:
        raise ConfigError(f"--objective {name!r} is not computed by --fast; drop --fast")
    return name


def check_fast_constraints(constraints: Sequence[Constraint]) -> None:
    for c in constraints:
        if c.metric not in FAST_METRICS:
            raise ConfigError(f"--constraint {c}: {c.metric} is not computed by --fast")


def trial_table(
    rows: pd.DataFrame,
    params: Sequence[str],
    objective: str,
    constraints: Sequence[Constraint] = (),
) -> pd.DataFrame:
    """One row per trial: params, metrics (median across symbols), objective, feasibility."""
    if rows.empty:
        return pd.DataFrame(columns=["trial_id", *params, *METRIC_COLUMNS, "objective", "feasible"])
    if (rows["symbol"] == PORTFOLIO).all():
        table = rows.drop(columns=["symbol"]).copy()
        table["n_symbols"] = 1
    else:
        grouped = rows.groupby("trial_id", sort=True)
        table = grouped[list(METRIC_COLUMNS)].median()
        table[list(params)] = grouped[list(params)].first()
        table["objective_mean"] = grouped[objective].mean()
        table["share_positive"] = grouped[objective].agg(lambda s: float((s > 0).mean()))
        table["n_symbols"] = grouped[objective].count()
        table = table.reset_index()
    table["objective"] = table[objective].astype(float)
    ok = np.ones(len(table), dtype=bool)
    for c in constraints:
        ok &= c.mask(table)
    table["feasible"] = ok
    return table.sort_values("trial_id").reset_index(drop=True)


def plateau(table: pd.DataFrame, params: Sequence[str], col: str = "objective") -> np.ndarray:
    """Mean of ``col`` over each trial's grid neighbours (itself included).

    Neighbours differ by at most one position in the sorted distinct values of every
    parameter (Chebyshev distance 1 on the grid); NaN objectives are left out of the mean.
    """
    if table.empty:
        return np.zeros(0)
    codes = np.column_stack(
        [pd.factorize(table[p].astype(str) if table[p].dtype == object else table[p],
                      sort=True)[0] for p in params]
    )  # fmt: skip
    values = table[col].to_numpy(dtype=float)
    out = np.full(len(table), np.nan)
    for i in range(len(table)):
        near = np.all(np.abs(codes - codes[i]) <= 1, axis=1)
        vals = values[near]
        vals = vals[~np.isnan(vals)]
        out[i] = vals.mean() if len(vals) else np.nan
    return out


def best_rows(table: pd.DataFrame, params: Sequence[str]) -> dict[str, dict[str, object]]:
    """Best feasible trial by raw objective and by plateau objective."""
    out: dict[str, dict[str, object]] = {}
    feas = table[table["feasible"]] if "feasible" in table else table
    for key, col in (("raw", "objective"), ("plateau", "plateau")):
        if col not in feas or feas[col].notna().sum() == 0:
            continue
        row = feas.iloc[int(np.nanargmax(feas[col].to_numpy(dtype=float)))]
        out[key] = {
            "trial_id": int(row["trial_id"]),
            "params": {p: _py(row[p]) for p in params},
            "objective": float(row["objective"]),
            "plateau": float(row.get("plateau", np.nan)),
        }
    return out


def per_symbol_best(
    rows: pd.DataFrame,
    params: Sequence[str],
    objective: str,
    constraints: Sequence[Constraint] = (),
) -> pd.DataFrame:
    """For each symbol, the trial with the highest objective there among those that meet the
    constraints on that symbol (a symbol where none does has no row)."""
    keep = rows[objective].notna().to_numpy(copy=True)
    for c in constraints:
        keep &= c.mask(rows)
    ok = rows[keep]
    if ok.empty:
        return pd.DataFrame(columns=["symbol", *params, objective])
    idx = ok.groupby("symbol")[objective].idxmax()
    cols = ["symbol", "trial_id", *params, objective, "num_trades", "max_drawdown"]
    return ok.loc[idx, cols].reset_index(drop=True)


def _py(v: object) -> object:
    return v.item() if isinstance(v, np.generic) else v
