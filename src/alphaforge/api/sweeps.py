"""``alphaforge.sweep``: a parameter search from a notebook, as a table of trials.

Grids of signal strategies run through the batched kernel (:func:`alphaforge.sim.batch.run_batch`,
one compiled call per chunk of trials) and the table is assembled with numpy; other strategies,
metrics the batched kernel does not compute, and Optuna searches go through the same workers as
``alphaforge sweep`` (:mod:`alphaforge.optimize`). Either way trials are scored by the same
objective, constraints and plateau rules as the command line, and nothing is written to disk.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from alphaforge.api import inputs
from alphaforge.api.sweep_tables import batch_table, finish_table, long_rows
from alphaforge.api.sweep_tables import plateau_of as plateau_of
from alphaforge.core.errors import BacktestError, ConfigError, IdleSettingError
from alphaforge.core.panel import Panel
from alphaforge.core.rules import BacktestConfig
from alphaforge.optimize import analysis
from alphaforge.optimize.search import (
    MemorySink,
    SearchPlan,
    chunk_size_for,
    grid_trials,
    random_trials,
    run_search,
)
from alphaforge.optimize.space import MAX_DEFAULT_GRID, SearchSpace
from alphaforge.optimize.worker import METRIC_COLUMNS, PORTFOLIO, SweepContext, Task
from alphaforge.sim.result import BacktestResult
from alphaforge.strategy.base import Strategy

Engine = Literal["batch", "full"]


@dataclass
class SweepResult:
    """The trials of a sweep and how to get back to any of them.

    ``trials`` is the table (one row per parameter set that ran): ``trial_id``, the searched
    parameters, the metrics (with several symbols in per-symbol mode: the median across
    symbols, plus ``objective_mean``, ``share_positive`` and ``n_symbols``), ``objective``,
    ``feasible`` (meets every constraint) and ``plateau`` (mean objective of the trial and its
    grid neighbours). ``best`` is the feasible row with the highest objective.
    ``constraints`` are those the table was scored with, the minimum-trades guard included
    unless it was set aside (``guard_relaxed``).
    """

    trials: pd.DataFrame
    params: list[str]
    objective: str
    constraints: list[str]
    engine: Engine
    invalid: list[int]
    per_symbol: bool
    strategy: type[Strategy]
    fixed: dict[str, Any]
    panel: Panel = field(repr=False)
    config: BacktestConfig = field(repr=False)
    _rows: Any = field(default=None, repr=False)
    guard_relaxed: bool = False  # the default minimum-trades guard was set aside
    # what the caller should know: trials whose run failed (``N failed (first: ...)``, a run
    # setting refused for them as their backtest would refuse it); they have no metrics
    warnings: list[str] = field(default_factory=list)

    # ---- the best trial ---------------------------------------------------------------------
    def _best_row(self, col: str) -> pd.Series:
        pool = self.trials[self.trials["feasible"] & self.trials[col].notna()]
        if pool.empty:
            raise ConfigError(f"sweep: no feasible trial has a value of {col}")
        return pool.iloc[int(np.argmax(pool[col].to_numpy(dtype=float)))]

    @property
    def best(self) -> pd.Series:
        """The feasible trial with the highest objective (a row of :attr:`trials`)."""
        return self._best_row("objective")

    @property
    def plateau_best(self) -> pd.Series:
        """The feasible trial whose grid neighbourhood has the highest mean objective (less
        likely to be a lucky spike than :attr:`best`)."""
        return self._best_row("plateau")

    @property
    def best_params(self) -> dict[str, Any]:
        """Every parameter of :attr:`best`, fixed ones included (``backtest(params=...)``)."""
        return self.params_of(int(self.best["trial_id"]))

    def params_of(self, trial_id: int) -> dict[str, Any]:
        """All parameters of trial ``trial_id``."""
        hit = self.trials[self.trials["trial_id"] == trial_id]
        if hit.empty:
            raise ConfigError(f"trial_id={trial_id!r}: no such trial in this sweep")
        row = hit.iloc[0]
        return {**self.fixed, **{p: analysis._py(row[p]) for p in self.params}}

    # ---- per symbol -------------------------------------------------------------------------
    @cached_property
    def symbol_trials(self) -> pd.DataFrame:
        """One row per trial and symbol (``symbol`` is ``"*"`` for portfolio trials)."""
        if isinstance(self._rows, pd.DataFrame):
            return self._rows
        return long_rows(*self._rows)

    # ---- going back to a trial --------------------------------------------------------------
    def backtest(self, trial_id: int | None = None, symbol: str | None = None) -> BacktestResult:
        """The full backtest of :attr:`best` (or of ``trial_id``) on the sweep's bars and
        config: equity, trades, every metric; ``.plot()`` and ``.report(path)`` work on it.
        A per-symbol sweep over several symbols needs ``symbol``: the one to run."""
        from alphaforge.sim.vectorized import run_backtest

        tid = int(self.best["trial_id"]) if trial_id is None else int(trial_id)
        strat = self.strategy(self.params_of(tid))
        cfg = self.config.model_copy(update={"record_positions": True})
        panel = self.panel
        if symbol is not None:
            if symbol not in panel.symbols:
                raise ConfigError(f"symbol={symbol!r}: not swept (symbols: "
                                  f"{', '.join(panel.symbols[:8])})")  # fmt: skip
            panel = panel.select([symbol])
        elif self.per_symbol and len(panel.symbols) > 1:
            raise ConfigError(
                "symbol=None: this sweep ran each symbol on its own; give symbol= (one of "
                f"{', '.join(panel.symbols[:8])}), or sweep with per_symbol=False"
            )
        return run_backtest(strat, panel, cfg)

    def plot(self) -> Any:
        """A Plotly heatmap of the objective over the first two searched parameters (the best
        over any others), or the objective against the one parameter."""
        from alphaforge.api.views import sweep_figure

        return sweep_figure(self)

    def report(
        self, path: str | Path, trial_id: int | None = None, symbol: str | None = None
    ) -> Path:
        """Write the tear sheet of :meth:`backtest` (the best trial by default) to ``path``."""
        return self.backtest(trial_id, symbol).report(path)

    def _repr_html_(self) -> str:
        return str(self.trials._repr_html_())  # type: ignore[operator]


def sweep(
    strategy: inputs.StrategyRef,
    data: Any,
    grid: inputs.Grid | None = None,
    *,
    space: Mapping[str, Any] | None = None,
    method: Literal["grid", "random", "optuna"] | None = None,
    n_trials: int | None = None,
    seed: int = 0,
    objective: str = "sharpe",
    constraints: Sequence[str] = (),
    min_trades: int | None = None,
    per_symbol: bool | None = None,
    fast: bool | None = None,
    workers: int | None = None,
    params: Mapping[str, Any] | None = None,
    config: BacktestConfig | Mapping[str, Any] | None = None,
    symbols: Sequence[str] | str | None = None,
    start: Any = None,
    end: Any = None,
    timeframe: str | None = None,
    **overrides: Any,
) -> SweepResult:
    """Backtest ``strategy`` once per parameter set and return the table of trials.

    Parameters
    ----------
    strategy:
        Built-in name, ``path/file.py:ClassName``, a Strategy subclass or an instance (its
        parameters are the fixed ones).
    data:
        Bars in any form :func:`alphaforge.backtest` takes (frames, a Panel, a file).
    grid:
        Every combination is run. A mapping of parameter name to values (a list, a range, or a
        CLI spec such as ``"5:50:5"``; a single value holds it fixed), or a list of parameter
        mappings (exactly those sets). Default: the bounds the strategy declares.
    space:
        Instead of ``grid``: a space sampled ``n_trials`` times (``method="random"`` unless
        ``"optuna"``); a ``(low, high)`` tuple is a range (integers inclusive, else floats).
    method, n_trials, seed:
        ``"grid"``, ``"random"`` or ``"optuna"`` (TPE), number of sampled trials, sampler seed.
    objective, constraints:
        Metric to maximise (or ``"module:function"`` / ``"file.py:function"`` of the metrics);
        ``"METRIC OP VALUE"`` rules a feasible trial meets (e.g. ``"max_drawdown>-0.2"``).
    min_trades:
        The minimum-trades guard of ``alphaforge sweep --min-trades``: None is the default
        guard (``num_trades >= 30``, set aside when no trial reaches it or a ``num_trades``
        constraint is given), 0 turns it off, N makes ``num_trades >= N`` a constraint.
    per_symbol:
        Run every symbol as its own backtest and score the median across symbols (default: when
        the data has several symbols); False: one portfolio over all symbols.
    fast:
        None: the batched kernel when the strategy gives entry/exit signals and the objective and
        constraints are among its metrics (:data:`alphaforge.optimize.analysis.FAST_METRICS`;
        the table then holds only those), else every metric through the workers. True: require
        the batched kernel. False: always every metric.
    workers:
        Threads of the batched kernel, or worker processes otherwise (default: every core).
    params, config, symbols, start, end, timeframe, **overrides:
        Fixed parameters and run settings, as in :func:`alphaforge.backtest`.

    Returns
    -------
    SweepResult
        ``.trials`` (DataFrame), ``.best``, ``.best_params``, ``.backtest()``, ``.plot()``.

    Raises
    ------
    ConfigError, StrategyError
        Before any data is read: an unknown parameter, objective, constraint or config key
        (the message names it); after: no trial can be picked.

    Examples
    --------
    >>> s = alphaforge.sweep("sma_cross", bars, grid={"fast": range(5, 55, 5),
    ...                      "slow": range(20, 220, 10)}, commission="0.1%")
    >>> s.trials.sort_values("objective").tail(), s.best_params
    """
    inputs.check_flags(per_symbol=per_symbol, fast=fast)
    inputs.check_counts(workers=(workers, 1), n_trials=(n_trials, 1), min_trades=(min_trades, 0))
    cls, fixed0, ref = inputs.checked_strategy(strategy)
    space_, listed = inputs.search_space(cls, grid, space, {**fixed0, **dict(params or {})})
    how = method or ("random" if space is not None else "grid")
    _check_method(how, n_trials, listed, grid, space_)
    if how == "grid" and seed != 0:
        raise ConfigError(f"seed={seed!r}: a grid is not sampled; give space= and n_trials")
    wants_all = fast is False or how == "optuna"
    goal, rules = inputs.search_rules(objective, constraints, fast is True)
    try:
        guard = analysis.TradeGuard.of(min_trades, rules)
    except ConfigError as exc:
        raise inputs.as_arguments(exc) from None
    used = guard.with_user(rules)  # the user's constraints and the guard's
    batchable = (
        not wants_all
        and not getattr(goal, "custom", False)  # a function of the metrics: the workers' path
        and str(goal) in analysis.FAST_METRICS
        and all(c.metric in analysis.FAST_METRICS for c in used)
    )
    cfg = inputs.run_config(config, timeframe, **overrides)
    cfg = cfg.model_copy(update={"record_positions": False})
    trials = _trials(how, space_, listed, n_trials, seed)
    valid, invalid = inputs.valid_sets(cls, trials) if how != "optuna" else (trials, [])
    if how != "optuna" and not valid:
        raise ConfigError(f"sweep: the strategy refuses every one of the {len(trials)} parameter "
                          "sets (e.g. fast must be below slow)")  # fmt: skip
    panel = inputs.bars(data, symbols, start, end, timeframe, cfg.adjust)
    inputs.checked_panel(panel, cls, cfg, "sweep")
    mode = per_symbol if per_symbol is not None else len(panel.symbols) > 1
    run = _Run(cls, ref, panel, cfg, mode, space_.names, goal, used, workers)
    table = None
    if batchable:
        table = run.batched(valid, strict=fast is True)
    if table is None:
        table = run.full(how, space_, valid, n_trials, seed)
        engine: Engine = "full"
    else:
        engine = "batch"
    relaxed = not guard.given and guard.constraint is not None and not analysis.pickable(table)
    if relaxed:  # as the command line: the default guard steps aside when no trial reaches it
        table["feasible"] = analysis.feasible(table, rules)
        relaxed = analysis.pickable(table)
        if not relaxed:
            table["feasible"] = analysis.feasible(table, used)
    rules = rules if relaxed else used
    failed = analysis.failures(table)  # trials whose run failed: "N failed (first: ...)"
    if not analysis.pickable(table):
        rules_text = ", ".join(str(c) for c in rules) or "none"
        raise ConfigError(f"sweep: none of the {len(table)} trials can be picked (constraints: "
                          f"{rules_text}; a trial without trades has no {goal})"
                          + (f"; {failed}" if failed else ""))  # fmt: skip
    return SweepResult(
        table, space_.names, str(goal), [str(c) for c in rules], engine, invalid + run.invalid, mode,
        cls, dict(space_.fixed), panel, cfg, run.rows, guard_relaxed=relaxed,
        warnings=([failed] if failed else []) + list(panel.meta.get("data_notes", ())),
    )  # fmt: skip


def _check_method(how: str, n: int | None, listed: Any, grid: Any, space: SearchSpace) -> None:
    if how not in ("grid", "random", "optuna"):
        raise ConfigError(f"method={how!r}: one of grid, random, optuna")
    if how != "grid" and (n is None or n < 1):
        raise ConfigError(f"n_trials={n!r}: method={how!r} needs a positive number of trials")
    if how == "grid" and n is not None:
        raise ConfigError(f"n_trials={n!r}: a grid runs every combination; give space= to sample")
    if listed is not None and how != "grid":
        raise ConfigError(f"method={how!r}: a list of parameter sets is run as given (grid)")
    size = space.grid_size()
    if how == "grid" and listed is None and grid is None and size > MAX_DEFAULT_GRID:
        shown = "a continuous" if size == math.inf else f"a {size:,}-trial"
        raise ConfigError(
            f"grid: none given, and the bounds of the strategy's parameters make {shown} grid; "
            "give grid={name: values} or space= with n_trials"
        )


def _trials(
    how: str, space: SearchSpace, listed: list[dict[str, Any]] | None, n: int | None, seed: int
) -> list[tuple[int, dict[str, Any]]]:
    if listed is not None:
        return list(enumerate(listed))
    if how == "grid":
        return grid_trials(space)
    if how == "random":
        return random_trials(space, int(n or 0), seed)
    return []  # optuna asks for its trials as it goes


@dataclass
class _Run:
    """One sweep's inputs and the two ways of running its trials."""

    cls: type[Strategy]
    ref: str | type[Strategy]
    panel: Panel
    config: BacktestConfig
    per_symbol: bool
    names: list[str]
    objective: Any  # a metric name (or the optimizer's objective object)
    rules: list[analysis.Constraint]
    workers: int | None
    rows: Any = None
    invalid: list[int] = field(default_factory=list)

    def batched(self, valid: list[tuple[int, dict[str, Any]]], strict: bool) -> pd.DataFrame | None:
        """The table from :func:`run_batch`; None when the strategy needs the full engine."""
        from alphaforge.sim.batch import run_batch

        try:
            out, names = run_batch(
                self.cls, [p for _, p in valid], self.panel, self.config,
                per_symbol=self.per_symbol, n_workers=self.workers,
            )  # fmt: skip
        except IdleSettingError:
            raise
        except BacktestError as exc:
            if strict:
                raise ConfigError(f"fast=True: {exc}") from None
            return None
        ids = np.asarray([t for t, _ in valid], dtype=np.int64)
        sets = [p for _, p in valid]
        symbols = self.panel.symbols if self.per_symbol else (PORTFOLIO,)
        metrics = out if self.per_symbol else out[:, None, :]
        keep = _units(self.panel) if self.per_symbol else np.ones(1, dtype=bool)
        self.rows = (ids, sets, self.names, np.asarray(symbols)[keep], metrics[:, keep], names)
        return batch_table(ids, sets, self.names, metrics[:, keep], names, str(self.objective),
                           self.rules, self.per_symbol)  # fmt: skip

    def full(
        self,
        how: str,
        space: SearchSpace,
        valid: list[tuple[int, dict[str, Any]]],
        n: int | None,
        seed: int,
    ) -> pd.DataFrame:
        """The table from the sweep workers (every metric; any strategy; Optuna)."""
        from alphaforge.optimize.runner import make_executor

        ctx = SweepContext(self.ref, self.panel, self.config, self.per_symbol)
        window = (0, len(self.panel.index))
        sink = MemorySink()
        executor = make_executor(ctx, self.workers)
        try:
            if how == "optuna":
                plan = SearchPlan("optuna", space, n, seed, window=window, want_returns=False)
                run_search(plan, executor, sink, objective=self.objective, constraints=self.rules)
            else:
                size = chunk_size_for(len(valid), executor.workers, None)
                tasks = (Task(tuple(valid[i : i + size]), window, False)
                         for i in range(0, len(valid), size))  # fmt: skip
                for chunk in executor.run(tasks):
                    sink.append(chunk)
                    self.invalid.extend(chunk.invalid)
        finally:
            executor.close()
        rows = sink.trials()
        self.rows = rows.drop(columns=["error"], errors="ignore")
        table = analysis.trial_table(rows, self.names, self.objective, self.rules)
        return finish_table(table, self.names, list(METRIC_COLUMNS))


def _units(panel: Panel) -> np.ndarray:
    """Symbols a per-symbol sweep runs: those with at least two bars (as the workers do)."""
    return np.asarray((~np.isnan(panel.close)).sum(axis=0) >= 2)
