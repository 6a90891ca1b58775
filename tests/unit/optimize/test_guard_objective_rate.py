"""The default minimum-trades guard, custom objectives and the one trials/s definition."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec, load_run_spec
from alphaforge.core.errors import ConfigError
from alphaforge.core.panel import Panel
from alphaforge.optimize.analysis import (
    TradeGuard,
    nothing_feasible,
    parse_constraint,
    trial_table,
)
from alphaforge.optimize.objective import load_objective
from alphaforge.optimize.search import SearchClock, trial_rate
from alphaforge.optimize.worker import METRIC_COLUMNS
from alphaforge.services.backtest import backtest
from alphaforge.services.optimize import SweepRequest, run_sweep

GRID = ["fast=5,10,20", "slow=10,20,40"]
SCORE = """
def score(metrics):
    return metrics["cagr"] + 0.5 * metrics["max_drawdown"]

def two(a, b):
    return 0.0

not_a_function = 3

def broken(metrics):
    return metrics["no_such_metric"]

def text(metrics):
    return "high"
"""


def _spec() -> RunSpec:
    return load_run_spec(None, {"strategy": "sma_cross"})


Brute = dict[tuple[int, int], dict[str, float]]


def _brute(panel: Panel, fast: tuple[int, ...], slow: tuple[int, ...]) -> Brute:
    return {
        (f, s): backtest("sma_cross", panel, params={"fast": f, "slow": s}).metrics
        for f, s in itertools.product(fast, slow)
        if f < s
    }


def _guarded_best(
    brute: Brute, key: Callable[[tuple[int, int]], float]
) -> tuple[tuple[int, int], bool]:
    """The rule by hand: best among combos with >= 30 trades, or among all when none has."""
    ok = {k: m for k, m in brute.items() if m["num_trades"] >= 30}
    pool = ok or brute
    return max(pool, key=key), not ok


def test_default_guard_picks_among_trials_with_30_trades(
    panel1: Panel, settings: AppSettings
) -> None:
    brute = _brute(panel1, (5, 10, 20), (10, 20, 40))
    expect, relaxed = _guarded_best(brute, lambda k: brute[k]["sharpe"])
    rep = run_sweep(SweepRequest(spec=_spec(), grids=GRID, workers=1), settings, panel=panel1)
    assert not relaxed and not rep.guard_relaxed  # some combos trade >= 30 times here
    assert tuple(rep.best["raw"]["params"].values()) == expect
    feasible = {(r.fast, r.slow) for r in rep.table.itertuples() if r.feasible}
    assert feasible == {k for k, m in brute.items() if m["num_trades"] >= 30}
    summary = json.loads((rep.directory / "manifest.json").read_text())["summary"]
    assert summary["min_trades"] == 30 and summary["min_trades_default"]
    assert "num_trades>=30" in summary["constraints"] and not summary["min_trades_relaxed"]
    # --min-trades 0 turns it off: the best by Sharpe over every combo
    off = run_sweep(SweepRequest(spec=_spec(), grids=GRID, workers=1, min_trades=0),
                    AppSettings(home=settings.home / "off"), panel=panel1)  # fmt: skip
    assert tuple(off.best["raw"]["params"].values()) == max(brute, key=lambda k: brute[k]["sharpe"])
    assert off.job_id == rep.job_id  # a grid runs the same trials: only the scoring differs


def test_default_guard_is_relaxed_when_no_trial_reaches_it(
    panel1: Panel, settings: AppSettings
) -> None:
    brute = _brute(panel1, (10, 20), (40, 80))
    expect, relaxed = _guarded_best(brute, lambda k: brute[k]["sharpe"])
    assert relaxed  # 3 years of these slow crosses never reach 30 trades
    req = SweepRequest(spec=_spec(), grids=["fast=10,20", "slow=40,80"], workers=1)
    rep = run_sweep(req, settings, panel=panel1)
    assert rep.guard_relaxed and tuple(rep.best["raw"]["params"].values()) == expect
    # a guard the user gives is not relaxed: nothing can be picked
    given = SweepRequest(spec=_spec(), grids=["fast=10,20", "slow=40,80"], workers=1,
                         min_trades=30)  # fmt: skip
    with pytest.raises(ConfigError, match=r"num_trades>=30"):
        run_sweep(given, AppSettings(home=settings.home / "given"), panel=panel1)


def test_guard_rules() -> None:
    assert TradeGuard.of(None, []).minimum == 30
    assert TradeGuard.of(None, [parse_constraint("num_trades>=5")]).constraint is None
    assert TradeGuard.of(12, [parse_constraint("num_trades>=5")]).minimum == 12
    assert TradeGuard.of(0, []).constraint is None
    assert TradeGuard.of(None, []).describe() == "trades >= 30 (default; --min-trades 0 to disable)"
    with pytest.raises(ConfigError, match=r"--min-trades -1"):
        TradeGuard.of(-1, [])


def test_optuna_search_honours_the_guard(panel1: Panel, settings: AppSettings) -> None:
    req = SweepRequest(spec=_spec(), grids=["fast=2:12", "slow=10:40:5"], method="optuna",
                       n_trials=8, seed=1, workers=1, batch=4)  # fmt: skip
    rep = run_sweep(req, settings, panel=panel1)
    job = json.loads((rep.directory / "manifest.json").read_text())["job"]
    assert job["constraints"] == ["num_trades>=30"]  # in the job id: a resume keeps it
    best = rep.table.set_index("trial_id").loc[rep.best["raw"]["trial_id"]]
    assert rep.guard_relaxed or best["num_trades"] >= 30
    off = run_sweep(SweepRequest(**{**req.__dict__, "min_trades": 0}),
                    AppSettings(home=settings.home / "off"), panel=panel1)  # fmt: skip
    assert off.job_id != rep.job_id


def test_custom_objective_from_a_file(panel1: Panel, settings: AppSettings, tmp_path: Path) -> None:
    path = tmp_path / "objectives.py"
    path.write_text(SCORE)
    brute = _brute(panel1, (5, 10, 20), (10, 20, 40))
    by_hand = {k: m["cagr"] + 0.5 * m["max_drawdown"] for k, m in brute.items()}
    req = SweepRequest(spec=_spec(), grids=GRID, workers=1, objective=f"{path}:score",
                       min_trades=0)  # fmt: skip
    rep = run_sweep(req, settings, panel=panel1)
    assert tuple(rep.best["raw"]["params"].values()) == max(by_hand, key=by_hand.__getitem__)
    for r in rep.table.to_dict("records"):
        assert r["objective"] == pytest.approx(by_hand[(r["fast"], r["slow"])], rel=1e-12)
    summary = json.loads((rep.directory / "manifest.json").read_text())["summary"]
    assert summary["objective"] == f"{path}:score"
    assert summary["objective_source"].startswith(f"{path}:score@")


def test_bad_objectives_are_refused_before_data_loads(
    settings: AppSettings, tmp_path: Path
) -> None:
    path = tmp_path / "objectives.py"
    path.write_text(SCORE)
    cases = {
        "nosuch_module_x:fn": "cannot import nosuch_module_x",
        f"{tmp_path}/missing.py:fn": "no such file",
        f"{path}:absent": "has no function 'absent'",
        f"{path}:not_a_function": "not a function",
        f"{path}:two": "must take one argument",
        "sharp": "one of sharpe",
    }
    spec = load_run_spec(None, {"strategy": "sma_cross", "data": str(tmp_path / "none.csv"),
                                "symbols": ["X"]})  # fmt: skip
    for text, words in cases.items():
        with pytest.raises(ConfigError, match=f"--objective '?{re.escape(text)}'?: .*{words}"):
            run_sweep(SweepRequest(spec=spec, objective=text), settings)
    nan = dict.fromkeys(["cagr", "max_drawdown"], np.nan)
    with pytest.raises(ConfigError, match="broken: raised KeyError"):
        load_objective(f"{path}:broken").of(nan)
    with pytest.raises(ConfigError, match="text: returned str 'high', not a number"):
        load_objective(f"{path}:text").of(nan)
    with pytest.raises(ConfigError, match="not computed by --fast"):
        load_objective("calmar", fast=True)


def test_walkforward_oos_objective_of_a_custom_function(tmp_path: Path) -> None:
    from alphaforge.services.optimize import _oos_objective

    path = tmp_path / "objectives.py"
    path.write_text(SCORE)
    res = SimpleNamespace(metrics={"cagr": 9.0, "max_drawdown": -9.0, "profit_factor": 1.5})
    oos = {"cagr": 0.1, "max_drawdown": -0.04, "num_trades": 3.0}
    # equity metrics of the test window win over the whole backtest's: 0.1 + 0.5 * -0.04
    assert _oos_objective(load_objective(f"{path}:score"), oos, res) == pytest.approx(0.08)
    assert _oos_objective(load_objective("profit_factor"), oos, res) == 1.5


def test_progress_bar_and_summary_share_one_trials_per_second() -> None:
    """Resumed trials and the time before the search starts count in neither."""
    from alphaforge.cli.optimize import console, progress_hooks
    from alphaforge.optimize.search import SearchOutcome
    from alphaforge.services.optimize import SweepReport

    now = [100.0]  # executor start-up happens before the search announces its total
    clock = SearchClock(lambda: now[0])
    console.begin_capture()
    try:
        with progress_hooks(False, get_time=lambda: now[0]) as (on_total, advance):
            start, count = clock.starting(on_total), clock.counting(advance)
            now[0] = 105.0
            start(10, 4)  # 4 trials resumed from the store
            now[0] = 106.5
            count(3)
            now[0] = 108.0
            count(3)
            now[0] = 109.0  # shutting the workers down: not searching
    finally:
        shown = console.end_capture()
    assert clock.seconds == 3.0 and clock.ran == 6
    assert trial_rate(clock.ran, clock.seconds) == 2.0  # 6 trials in 3 s, not 10 in 9 s
    assert "2.0 trials/s" in shown
    report = SweepReport(
        job_id="x", directory=Path("."), table=None, params=[], best={},  # type: ignore[arg-type]
        outcome=SearchOutcome(10, 6, 4, True), invalid=0, per_symbol_best=None, elapsed=9.0,
        files={}, search_seconds=clock.seconds,
    )  # fmt: skip
    assert report.trials_per_second == 2.0


def test_no_pick_says_when_no_trial_traded() -> None:
    """A sweep over a period shorter than the warm-up used to blame only the trade guard."""
    idle = pd.DataFrame({"feasible": [False, False], "objective": [np.nan, np.nan],
                         "num_trades": [0, 0]})  # fmt: skip
    assert "no trial made a trade: is the period shorter than the strategy's warm-up" in (
        nothing_feasible(idle, 0, 2, [])
    )
    some = idle.assign(num_trades=[0, 3])
    assert "no trial made a trade" not in nothing_feasible(some, 0, 2, [])


def test_no_pick_names_the_failed_runs_and_the_first_error() -> None:
    """Trials whose run failed (a setting refused in each) used to be counted only as breaking
    the constraints; the message now says they failed and why."""
    rows = pd.DataFrame({
        "trial_id": [0, 0, 1, 1], "symbol": ["A", "B", "A", "B"], "fast": [5, 5, 10, 10],
        "error": ["", "x: refused", "", ""],
        **{m: [np.nan, np.nan, 1.0, 1.0] for m in METRIC_COLUMNS},
    })  # fmt: skip
    rows.loc[2:, "num_trades"] = 0.0
    table = trial_table(rows, ["fast"], "sharpe", [parse_constraint("num_trades>=30")])
    assert table["error"].tolist() == ["x: refused", ""]
    why = nothing_feasible(table, 0, 2, [parse_constraint("num_trades>=30")])
    assert "1 failed (first: x: refused)" in why
    assert "1 breaking the constraints (num_trades>=30)" in why  # the failed one not twice
