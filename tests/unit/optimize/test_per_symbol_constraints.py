"""``best per symbol`` shows only trials that meet the constraints on that symbol."""

from __future__ import annotations

import pandas as pd

from alphaforge.optimize.analysis import parse_constraint, per_symbol_best, trial_table


def _rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "trial_id": [0, 0, 1, 1],
            "symbol": ["A", "B", "A", "B"],
            "fast": [5, 5, 10, 10],
            "sharpe": [2.0, 1.5, 1.0, 0.5],
            "num_trades": [2, 40, 30, 3],
            "max_drawdown": [-0.1, -0.2, -0.1, -0.3],
        }
    )


def test_without_constraints_the_best_objective_wins() -> None:
    best = per_symbol_best(_rows(), ["fast"], "sharpe").set_index("symbol")
    assert best.loc["A", "trial_id"] == 0 and best.loc["B", "trial_id"] == 0


def test_rows_breaking_a_constraint_are_not_shown() -> None:
    rule = [parse_constraint("num_trades>=10")]
    best = per_symbol_best(_rows(), ["fast"], "sharpe", rule).set_index("symbol")
    assert best.loc["A", "trial_id"] == 1  # trial 0 has 2 trades on A
    assert best.loc["B", "trial_id"] == 0
    assert (best["num_trades"] >= 10).all()
    none = per_symbol_best(_rows(), ["fast"], "sharpe", [parse_constraint("num_trades>=100")])
    assert none.empty


def test_an_empty_trial_table_has_the_feasible_column() -> None:
    assert "feasible" in trial_table(_rows().iloc[:0], ["fast"], "sharpe").columns
