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
from alphaforge.optimize.objective import (
    FAST_METRICS,
    OBJECTIVES,
    Objective,
    as_objective,
    load_objective,
)
from alphaforge.optimize.worker import METRIC_COLUMNS, PORTFOLIO

__all__ = ["FAST_METRICS", "OBJECTIVES", "Constraint", "Objective", "parse_constraint"]

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
        return self.mask_values(df[self.metric].to_numpy(dtype=float))

    def mask_values(self, col: np.ndarray) -> np.ndarray:
        """Which of the metric's values ``col`` satisfy the constraint (NaN never does)."""
        col = np.asarray(col, dtype=float)
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
    if value != value:  # NaN: every comparison false, no trial ever feasible
        raise ConfigError(f"--constraint {text!r}: {m.group(3)!r} is not a number")
    return Constraint(metric, m.group(2), value)


MIN_TRADES_DEFAULT = 30
"""Default of ``--min-trades``: with fewer closed trades a Sharpe ratio is mostly noise."""


@dataclass(frozen=True)
class TradeGuard:
    """The minimum-trades guard of a search: ``num_trades >= minimum`` (0: off).

    The default guard (``given`` False) steps aside when the user constrains ``num_trades``
    themselves, and is relaxed when no trial that meets the other constraints reaches it (a
    short sample): the picks then ignore it and the output says so. A guard the user gives
    (``--min-trades N``) is a constraint like any other.
    """

    minimum: int = MIN_TRADES_DEFAULT
    given: bool = False

    @classmethod
    def of(cls, min_trades: int | None, constraints: Sequence[Constraint]) -> TradeGuard:
        if min_trades is not None:
            if min_trades < 0:
                raise ConfigError(f"--min-trades {min_trades}: must be >= 0 (0 turns it off)")
            return cls(int(min_trades), True)
        if any(c.metric == "num_trades" for c in constraints):
            return cls(0, False)
        return cls(MIN_TRADES_DEFAULT, False)

    @property
    def constraint(self) -> Constraint | None:
        return Constraint("num_trades", ">=", float(self.minimum)) if self.minimum else None

    def with_user(self, constraints: Sequence[Constraint]) -> list[Constraint]:
        """The user's constraints plus this guard's."""
        own = self.constraint
        return [*constraints, own] if own is not None else list(constraints)

    def describe(self) -> str:
        """The sweep header's line, e.g. ``trades >= 30 (default; --min-trades 0 to disable)``."""
        if self.given:
            return f"trades >= {self.minimum} (--min-trades)" if self.minimum else "none"
        if not self.minimum:
            return "none by default (a num_trades constraint is given)"
        return f"trades >= {self.minimum} (default; --min-trades 0 to disable)"

    def to_json(self) -> dict[str, Any]:
        return {"min_trades": self.minimum, "min_trades_default": not self.given}


def pickable(table: pd.DataFrame) -> bool:
    """Whether any trial is feasible and has an objective."""
    if not len(table) or "feasible" not in table:
        return False
    feasible = table["feasible"].to_numpy(dtype=bool)
    return bool((feasible & ~np.isnan(table["objective"].to_numpy(dtype=float))).any())


def failed_rows(table: pd.DataFrame) -> np.ndarray:
    """Rows whose run failed (an error message instead of metrics)."""
    if not len(table) or "error" not in table:
        return np.zeros(len(table), dtype=bool)
    return (table["error"].fillna("").astype(str) != "").to_numpy()


def feasible(table: pd.DataFrame, constraints: Sequence[Constraint]) -> np.ndarray:
    """Rows of ``table`` that meet every constraint; never a trial whose run failed (it has no
    metrics to meet anything with)."""
    ok = ~failed_rows(table)
    for c in constraints:
        ok &= c.mask(table)
    return ok


def failures(table: pd.DataFrame) -> str:
    """``N failed (first: message)`` for the trials of ``table`` whose run failed (on any
    symbol), or "". The first message stands for the rest: a setting refused is refused in every
    run it is idle in."""
    failed = failed_rows(table)
    if not failed.any():
        return ""
    first = str(table["error"].to_numpy()[failed][0])
    return f"{int(failed.sum())} failed (first: {first})"


def nothing_feasible(
    table: pd.DataFrame, invalid: int, total: int, constraints: Sequence[Constraint]
) -> str:
    """Why no trial can be picked: parameters refused, runs failed (the first error), constraints
    broken, no objective."""
    why = []
    if invalid:
        why.append(f"{invalid} with parameters the strategy refuses")
    failed = failures(table)
    if failed:
        why.append(failed)
    if len(table) and "feasible" in table:
        broken = int((~table["feasible"].to_numpy(dtype=bool) & ~failed_rows(table)).sum())
        if broken:
            rules = ", ".join(str(c) for c in constraints)
            why.append(f"{broken} breaking the constraints ({rules})")
        no_obj = int((table["feasible"] & table["objective"].isna()).sum())
        if no_obj:
            why.append(f"{no_obj} without a value of the objective (no trades?)")
    if len(table) and "num_trades" in table and bool((table["num_trades"] == 0).all()):
        why.append(
            "no trial made a trade: is the period shorter than the strategy's warm-up, or "
            "its cash too small for one share?"
        )
    return f"sweep: none of the {total} trials can be picked: " + "; ".join(why or ["no results"])


def score(
    rows: pd.DataFrame,
    params: Sequence[str],
    objective: str | Objective,
    constraints: Sequence[Constraint],
    guard: TradeGuard,
) -> tuple[pd.DataFrame, list[Constraint], bool]:
    """The trial table under the user's constraints and the guard; the constraints used and
    whether the (default) guard was relaxed because no trial reached it."""
    used = guard.with_user(constraints)
    table = trial_table(rows, params, objective, used)
    if guard.given or guard.constraint is None or pickable(table):
        return table, used, False
    relaxed = trial_table(rows, params, objective, constraints)
    if not pickable(relaxed):
        return table, used, False
    return relaxed, list(constraints), True


def check_objective(name: str, fast: bool = False) -> Objective:
    """Validate ``--objective`` (a metric ``--fast`` computes, or a user's function)."""
    return load_objective(name, fast)


def check_fast_constraints(constraints: Sequence[Constraint]) -> None:
    for c in constraints:
        if c.metric not in FAST_METRICS:
            raise ConfigError(f"--constraint {c}: {c.metric} is not computed by --fast")


def _first_error(errors: pd.Series) -> str:
    failed = errors.fillna("").astype(str)
    failed = failed[failed != ""]
    return str(failed.iloc[0]) if len(failed) else ""


def trial_table(
    rows: pd.DataFrame,
    params: Sequence[str],
    objective: str | Objective,
    constraints: Sequence[Constraint] = (),
) -> pd.DataFrame:
    """One row per trial: params, metrics (median across symbols), objective, feasibility (a
    trial whose run failed on any symbol is not feasible)."""
    obj = as_objective(objective)
    if rows.empty:
        return pd.DataFrame(columns=["trial_id", *params, *METRIC_COLUMNS, "objective", "feasible"])
    if (rows["symbol"] == PORTFOLIO).all():
        table = rows.drop(columns=["symbol"]).copy()
        table["n_symbols"] = 1
        table["objective"] = obj.values(table)
    else:
        grouped = rows.assign(_objective=obj.values(rows)).groupby("trial_id", sort=True)
        table = grouped[list(METRIC_COLUMNS)].median()
        table[list(params)] = grouped[list(params)].first()
        scores = grouped["_objective"]
        table["objective"] = scores.median()
        table["objective_mean"] = scores.mean()
        table["share_positive"] = scores.agg(lambda s: float((s > 0).mean()))
        table["n_symbols"] = scores.count()
        if "error" in rows:  # the trial's first failed run, if any
            table["error"] = grouped["error"].agg(_first_error)
        table = table.reset_index()
    table["feasible"] = feasible(table, constraints)
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
    objective: str | Objective,
    constraints: Sequence[Constraint] = (),
) -> pd.DataFrame:
    """For each symbol, the trial with the highest objective there among those that meet the
    constraints on that symbol (a symbol where none does has no row)."""
    obj = as_objective(objective)
    objective = obj.name
    if obj.custom or objective not in rows:
        rows = rows.assign(**{objective: obj.values(rows)})
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
