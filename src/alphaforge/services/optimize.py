"""Sweep use case: build the space and job from a run spec, run and persist trials, analyse.

Example
-------
>>> req = SweepRequest(spec=load_run_spec(None, {"strategy": "sma_cross", "data": "bars.parquet",
...                    "symbols": ["MSFT"]}), grids=["fast=5:50:5", "slow=20:200:10"])
>>> report = run_sweep(req, settings)
>>> report.best["plateau"]["params"]
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import RunSpec
from alphaforge.core.errors import AlphaforgeError, ConfigError, IdleSettingError
from alphaforge.core.panel import Panel
from alphaforge.optimize import analysis, plots
from alphaforge.optimize.objective import Objective
from alphaforge.optimize.runner import Executor, make_executor
from alphaforge.optimize.search import (
    Method,
    SearchClock,
    SearchOutcome,
    SearchPlan,
    Sink,
    run_search,
    trial_rate,
)
from alphaforge.optimize.space import build_space, check_default_grid
from alphaforge.optimize.store import SweepStore, _atomic_bytes
from alphaforge.optimize.worker import METRIC_COLUMNS, SweepContext
from alphaforge.services.backtest import from_source, refusals_named
from alphaforge.sim.manifest import hash_arrays
from alphaforge.strategy.base import Strategy
from alphaforge.strategy.registry import check_direction, load_strategy_class

ProgressHooks = tuple[Callable[[int, int], None], Callable[[int], None]]


@dataclass
class SweepRequest:
    """Everything a sweep needs besides settings."""

    spec: RunSpec
    grids: list[str] = field(default_factory=list)
    method: Method = "grid"
    n_trials: int | None = None
    seed: int = 0
    objective: str = "sharpe"  # a metric name, module:function or path/file.py:function
    constraints: list[str] = field(default_factory=list)
    min_trades: int | None = None  # None: the default guard (analysis.TradeGuard)
    per_symbol: bool | None = None  # None: per-symbol when the universe has several symbols
    workers: int | None = None
    dask: str | None = None
    chunk_size: int | None = None
    batch: int = 16
    max_trials: int | None = None
    fast: bool = False  # batched kernel: fewer metrics, no returns matrix


@dataclass
class SweepReport:
    """What a sweep produced (tables are small: metrics only)."""

    job_id: str
    directory: Path
    table: pd.DataFrame
    params: list[str]
    best: dict[str, dict[str, Any]]
    outcome: SearchOutcome
    invalid: int
    per_symbol_best: pd.DataFrame | None
    elapsed: float  # wall time of the whole call (executor start-up and shutdown included)
    files: dict[str, Path]
    guard: analysis.TradeGuard = field(default_factory=analysis.TradeGuard)
    guard_relaxed: bool = False  # the default guard was set aside: no trial reached it
    search_seconds: float = float("nan")  # from the first trial submitted to the last result

    @property
    def trials_per_second(self) -> float:
        """Trials run by this call (resumed ones not counted) per second of searching: the
        same definition as the progress bar's rate (:func:`~alphaforge.optimize.search.trial_rate`)."""
        return trial_rate(self.outcome.ran, self.search_seconds)


def strategy_fingerprint(ref: str | type[Strategy]) -> str:
    """Name of a built-in, or path plus content hash of a user's strategy file."""
    if isinstance(ref, type):
        return f"{ref.__module__}.{ref.__qualname__}"
    if ":" in ref and ref.split(":", 1)[0].endswith(".py"):
        path = Path(ref.split(":", 1)[0])
        digest = hashlib.blake2b(path.read_bytes(), digest_size=8).hexdigest()
        return f"{ref}@{digest}"
    return ref


def panel_hash(panel: Panel) -> str:
    return hash_arrays(
        panel.index.asi8, panel.open, panel.high, panel.low, panel.close, panel.volume
    )


def job_id_of(fields: dict[str, Any]) -> str:
    """Stable id of a job: the hash of everything that changes its trials."""
    text = json.dumps(fields, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def sweep_context(
    spec: RunSpec,
    panel: Panel,
    per_symbol: bool | None,
    strategy: str | type[Strategy],
    fast: bool = False,
) -> SweepContext:
    """What every worker gets: positions recording off; per-symbol with several symbols."""
    cfg = spec.backtest_config().model_copy(update={"record_positions": False})
    mode = per_symbol if per_symbol is not None else len(panel.symbols) > 1
    return SweepContext(strategy=strategy, panel=panel, config=cfg, per_symbol=mode, fast=fast)


@dataclass(frozen=True)
class _Checked:
    """A request's validated parts (all checked before any data is loaded)."""

    cls: type[Strategy]
    objective: Objective
    constraints: list[analysis.Constraint]  # the user's
    guard: analysis.TradeGuard
    space: Any  # SearchSpace
    ref: str | type[Strategy]

    @property
    def search_constraints(self) -> list[analysis.Constraint]:
        """What the search itself honours (Optuna's constraints): the user's plus the guard."""
        return self.guard.with_user(self.constraints)


def _prepare(request: SweepRequest, strategy: type[Strategy] | None) -> _Checked:
    """Strategy class, objective, constraints, guard, search space and strategy reference."""
    ref: str | type[Strategy] | None = strategy or request.spec.strategy
    if ref is None:
        raise ConfigError("no strategy given (argument or 'strategy:' in the config)")
    try:
        cls = ref if isinstance(ref, type) else load_strategy_class(ref)
    except AlphaforgeError as exc:
        raise from_source(exc, request.spec) from None
    check_direction(cls, request.spec.direction)
    bench, symbols = request.spec.benchmark, request.spec.symbols
    if bench and symbols and bench not in symbols:
        raise ConfigError(
            f"benchmark: {bench} is not one of the symbols searched; a sweep or walk-forward "
            f"measures its benchmark among them (or equal-weight buy and hold when none is "
            f"given); an outside benchmark works in backtest (--benchmark {bench})"
        )
    objective = analysis.check_objective(request.objective, request.fast)
    constraints = [analysis.parse_constraint(c) for c in request.constraints]
    guard = analysis.TradeGuard.of(request.min_trades, constraints)
    if request.fast:
        analysis.check_fast_constraints(guard.with_user(constraints))
    space = build_space(cls, request.grids, request.spec.params)
    if request.method == "grid":
        check_default_grid(space, request.grids)
    return _Checked(cls, objective, constraints, guard, space, ref)


def run_sweep(
    request: SweepRequest,
    settings: AppSettings,
    hooks: ProgressHooks | None = None,
    *,
    panel: Panel | None = None,
    strategy: type[Strategy] | None = None,
) -> SweepReport:
    """Run (or resume) a sweep and write its outputs under ``home/sweeps/<job id>``."""
    from alphaforge.services.backtest import load_spec_panel

    spec = request.spec
    chk = _prepare(request, strategy)
    space, ref = chk.space, chk.ref
    clash = set(space.names) & {*METRIC_COLUMNS, "trial_id", "symbol", "objective", "feasible"}
    if clash:
        raise ConfigError(f"parameter name(s) {', '.join(sorted(clash))} clash with result columns")
    panel = panel if panel is not None else load_spec_panel(spec, settings)
    ctx = sweep_context(spec, panel, request.per_symbol, ref, request.fast)
    plan = SearchPlan(
        request.method, space, request.n_trials, request.seed, request.batch,
        request.chunk_size, (0, len(panel.index)), True, request.max_trials,
    )  # fmt: skip
    job = {
        "strategy": strategy_fingerprint(ref), "data": panel_hash(panel),
        "symbols": list(panel.symbols), "config": ctx.config.model_dump(mode="json"),
        "per_symbol": ctx.per_symbol, "fast": ctx.fast, **plan.job_fields(),
    }  # fmt: skip
    if request.method == "optuna":  # the objective and constraints steer what it proposes
        job["objective"] = chk.objective.fingerprint
        job["constraints"] = [str(c) for c in chk.search_constraints]
    job_id = job_id_of(job)
    new_job = not (settings.home / "sweeps" / job_id).exists()
    store = SweepStore(settings.home / "sweeps" / job_id, {**job, "job_id": job_id})
    store.mark(spec=spec.model_dump(mode="json"))  # what `validate` needs to re-run a trial
    t0, clock = time.perf_counter(), SearchClock()
    executor = make_executor(ctx, request.workers, request.dask)
    try:
        with refusals_named(spec):
            outcome = _search(plan, executor, store, chk, hooks, clock)
    except IdleSettingError:  # refused: a new job leaves nothing behind
        if new_job:
            shutil.rmtree(store.root, ignore_errors=True)
        raise
    finally:
        executor.close()
    report = finish_sweep(store, space.names, chk, outcome, time.perf_counter() - t0, clock)
    if outcome.complete and not analysis.pickable(report.table):
        if new_job:  # nothing worth resuming: leave no job directory behind
            shutil.rmtree(store.root, ignore_errors=True)
        why = analysis.nothing_feasible(
            report.table, report.invalid, outcome.total, chk.search_constraints
        )
        raise from_source(ConfigError(why), spec)
    return report


def _search(
    plan: SearchPlan,
    executor: Executor,
    sink: Sink,
    chk: _Checked,
    hooks: ProgressHooks | None,
    clock: SearchClock,
) -> SearchOutcome:
    on_total, progress = hooks if hooks is not None else (None, None)
    return run_search(
        plan, executor, sink, objective=chk.objective, constraints=chk.search_constraints,
        progress=clock.counting(progress), on_total=clock.starting(on_total),
    )  # fmt: skip


def finish_sweep(
    store: SweepStore,
    params: list[str],
    chk: _Checked,
    outcome: SearchOutcome,
    elapsed: float,
    clock: SearchClock | None = None,
) -> SweepReport:
    """Score the stored trials, add plateau values, write tables, plots and a summary."""
    rows = store.trials()
    objective = chk.objective
    table, used, relaxed = analysis.score(rows, params, objective, chk.constraints, chk.guard)
    table["plateau"] = analysis.plateau(table, params)
    best = analysis.best_rows(table, params)
    per_sym = None
    if not rows.empty and (rows["symbol"] != "*").any():
        per_sym = analysis.per_symbol_best(rows, params, objective, used)
    root = store.root
    files = {"results": root / "results.parquet"}
    _atomic_bytes(files["results"], lambda tmp: table.to_parquet(tmp, index=False))
    if per_sym is not None:
        files["per_symbol_best"] = root / "per_symbol_best.parquet"
        _atomic_bytes(files["per_symbol_best"], lambda tmp: per_sym.to_parquet(tmp, index=False))
    if len(table):
        files["parallel"] = plots.parallel_coordinates(table, params, root / "parallel.html")
        if len(params) >= 2:
            files["heatmap"] = plots.heatmap(table, params[0], params[1], root / "heatmap.html")
    seconds = clock.seconds if clock is not None else elapsed
    summary = {
        "objective": objective.name, "objective_source": objective.fingerprint,
        "constraints": [str(c) for c in used], **chk.guard.to_json(),
        "min_trades_relaxed": relaxed, "best": best,
        "trials": outcome.total, "ran": outcome.ran, "resumed": outcome.resumed,
        "invalid": len(store.manifest["invalid"]), "feasible": int(table["feasible"].sum())
        if len(table) else 0, "elapsed_s": elapsed, "search_s": seconds,
        "trials_per_s": trial_rate(outcome.ran, seconds),
    }  # fmt: skip
    store.mark(complete=outcome.complete, summary=summary)
    return SweepReport(
        job_id=store.manifest["job"]["job_id"], directory=root, table=table, params=params,
        best=best, outcome=outcome, invalid=len(store.manifest["invalid"]),
        per_symbol_best=per_sym, elapsed=elapsed, files=files, guard=chk.guard,
        guard_relaxed=relaxed, search_seconds=seconds,
    )  # fmt: skip


def export_csv(report: SweepReport, path: Path) -> Path:
    """Write the trial table as CSV (atomically)."""
    _atomic_bytes(Path(path), lambda tmp: report.table.to_csv(tmp, index=False))
    return Path(path)


@dataclass
class WalkForwardRequest(SweepRequest):
    """A sweep request plus the fold geometry."""

    train_len: int = 252
    test_len: int = 63
    stride: int | None = None
    anchored: bool = False
    select: str = "raw"  # "raw" best objective or "plateau" best neighbourhood


@dataclass
class WalkForwardReport:
    """Per-fold choices and in/out-of-sample metrics, plus the stitched OOS result."""

    job_id: str
    directory: Path
    folds: pd.DataFrame
    drift: pd.DataFrame
    wfe: float
    result: Any  # BacktestResult
    files: dict[str, Path]
    elapsed: float
    guard: analysis.TradeGuard = field(default_factory=analysis.TradeGuard)


def _choose(
    table: pd.DataFrame, params: list[str], select: str, spec: Any,
    warmup: Callable[[pd.DataFrame], str] | None = None,
) -> tuple[pd.Series, bool]:  # fmt: skip
    if table.empty or "feasible" not in table:
        raise ConfigError(
            "walk-forward: every trial of a train window has parameters the strategy refuses"
        )
    table = table.assign(plateau=analysis.plateau(table, params))
    col = "plateau" if select == "plateau" else "objective"
    pool = table[table["feasible"] & table[col].notna()]
    feasible = not pool.empty
    if not feasible:
        pool = table[table[col].notna()]
    if pool.empty:
        failed = analysis.failures(table)
        why = "walk-forward: no trial of a train window produced a valid objective"
        if not failed and warmup is not None:
            failed = warmup(table)
        raise from_source(ConfigError(why + (f": {failed}" if failed else "")), spec)
    return pool.iloc[int(np.nanargmax(pool[col].to_numpy(dtype=float)))], feasible


def _warmup_note(
    cls: Any, fixed: dict[str, Any], params: list[str], bars: int
) -> Callable[[pd.DataFrame], str]:
    """What a train window of ``bars`` bars leaves after the warm-up of the trials' parameters
    (the likely reason none of them has an objective), for :func:`_choose`."""

    def note(table: pd.DataFrame) -> str:
        sets = table[params].drop_duplicates().to_dict("records")
        warm = sorted(
            cls({**fixed, **{str(k): analysis._py(v) for k, v in p.items()}}).warmup() for p in sets
        )
        if not warm or warm[0] < bars // 2:
            return ""
        span = f"{warm[0]}" if warm[0] == warm[-1] else f"{warm[0]} to {warm[-1]}"
        return (f"the train windows have {bars} bars and the strategy's warm-up takes {span} "
                f"of them (the parameters' longest lookback), which leaves too few to trade; "
                f"give a longer --train-len")  # fmt: skip

    return note


def _fold_row(
    fold: Any, panel: Panel, chosen: pd.Series, params: list[str], oos: dict[str, float]
) -> dict[str, Any]:
    ix = panel.index
    is_cagr, oos_cagr = float(chosen["cagr"]), float(oos["cagr"])
    return {
        "fold": fold.number,
        "train_start": ix[fold.train[0]], "train_end": ix[fold.train[1] - 1],
        "test_start": ix[fold.test[0]], "test_end": ix[fold.test[1] - 1],
        **{p: analysis._py(chosen[p]) for p in params},
        "is_objective": float(chosen["objective"]), "oos_objective": oos["objective"],
        "is_cagr": is_cagr, "oos_cagr": oos_cagr,
        "is_sharpe": float(chosen["sharpe"]), "oos_sharpe": oos["sharpe"],
        "oos_max_drawdown": oos["max_drawdown"], "oos_num_trades": oos["num_trades"],
        "wfe": oos_cagr / is_cagr if is_cagr else float("nan"),
    }  # fmt: skip


def parameter_drift(folds: pd.DataFrame, params: list[str]) -> pd.DataFrame:
    """Per parameter: values across folds, number of changes, spread."""
    out = []
    for p in params:
        v = folds[p]
        numeric = pd.api.types.is_numeric_dtype(v)
        out.append({
            "param": p, "values": ",".join(str(x) for x in v),
            "changes": int((v != v.shift()).iloc[1:].sum()), "distinct": int(v.nunique()),
            "std": float(v.std(ddof=0)) if numeric else float("nan"),
            "range": float(v.max() - v.min()) if numeric else float("nan"),
        })  # fmt: skip
    return pd.DataFrame(out)


def run_walkforward(
    request: WalkForwardRequest,
    settings: AppSettings,
    hooks: ProgressHooks | None = None,
    *,
    panel: Panel | None = None,
    strategy: type[Strategy] | None = None,
) -> WalkForwardReport:
    """Optimize on each train window, trade the choice on its test window, stitch the OOS."""
    from alphaforge.optimize.search import MemorySink
    from alphaforge.optimize.walkforward import make_folds
    from alphaforge.services.backtest import load_spec_panel

    spec = request.spec
    chk = _prepare(request, strategy)
    cls, objective, space, ref = chk.cls, chk.objective, chk.space, chk.ref
    panel = panel if panel is not None else load_spec_panel(spec, settings)
    folds = make_folds(
        len(panel.index), request.train_len, request.test_len, request.stride, request.anchored
    )
    ctx = sweep_context(spec, panel, False, ref, request.fast)
    per_fold = request.n_trials if request.method != "grid" else space.grid_size()
    if hooks:
        hooks[0](int(per_fold or 0) * len(folds), 0)
    t0, cash, rows, parts = time.perf_counter(), ctx.config.cash, [], []
    executor = make_executor(ctx, request.workers, request.dask)
    with refusals_named(spec), closing(executor):
        for fold in folds:
            plan = SearchPlan(
                request.method, space, request.n_trials, request.seed, request.batch,
                request.chunk_size, fold.train, False,
            )  # fmt: skip
            sink = MemorySink()
            progress = hooks[1] if hooks else (lambda n: None)
            run_search(plan, executor, sink, objective=objective,
                       constraints=chk.search_constraints, progress=progress)  # fmt: skip
            table, _used, relaxed = analysis.score(
                sink.trials(), space.names, objective, chk.constraints, chk.guard
            )
            why = _warmup_note(cls, space.fixed, space.names, fold.train[1] - fold.train[0])
            chosen, feasible = _choose(table, space.names, request.select, spec, why)
            strat = cls({**space.fixed, **{p: analysis._py(chosen[p]) for p in space.names}})
            res, first, oos = _trade_fold(strat, panel, ctx.config, fold.test, cash, objective)
            rows.append({**_fold_row(fold, panel, chosen, space.names, oos), "feasible": feasible,
                         "guard_relaxed": relaxed})  # fmt: skip
            parts.append((res, first))
            cash = res.final_equity
    return _finish_walkforward(request, settings, panel, folds, rows, parts, chk, ctx,
                               time.perf_counter() - t0)  # fmt: skip


def _trade_fold(
    strat: Strategy,
    panel: Panel,
    config: Any,
    test: tuple[int, int],
    cash: float,
    objective: Objective,
) -> tuple[Any, int, dict[str, float]]:
    """Trade ``strat`` on the test window; its result, first test bar and OOS metrics."""
    from alphaforge.analytics.metrics import summary_metrics
    from alphaforge.optimize.walkforward import run_test_window

    res, first = run_test_window(strat, panel, config, test, cash)
    ppy = float(res.config["periods_per_year"])
    oos = summary_metrics(res.equity_values[first:], ppy, config.risk_free)
    oos["num_trades"] = float(res.num_trades)
    oos["objective"] = _oos_objective(objective, oos, res)
    return res, first, oos


def _oos_objective(objective: Objective, oos: dict[str, float], res: Any) -> float:
    """The objective on the test window: trade metrics from its trades, the rest from its
    stretch of equity."""
    if objective.custom:
        trades = {k: float(res.metrics.get(k, float("nan"))) for k in METRIC_COLUMNS}
        return objective.of({**trades, **oos})
    if objective.name == "profit_factor":
        return float(res.metrics.get("profit_factor", float("nan")))
    return float(oos.get(objective.name, float("nan")))


def _finish_walkforward(
    request: WalkForwardRequest,
    settings: AppSettings,
    panel: Panel,
    folds: list[Any],
    rows: list[dict[str, Any]],
    parts: list[Any],
    chk: _Checked,
    ctx: SweepContext,
    elapsed: float,
) -> WalkForwardReport:
    from alphaforge.optimize.walkforward import stitch

    params, ref = chk.space.names, chk.ref
    table = pd.DataFrame(rows)
    drift = parameter_drift(table, params)
    test_rows = np.concatenate([np.arange(*f.test) for f in folds])
    mean_is = float(table["is_cagr"].mean())
    extra = {
        "folds": len(folds), "train_len": request.train_len, "test_len": request.test_len,
        "stride": request.stride or request.test_len, "anchored": request.anchored,
        "objective": chk.objective.name, **chk.guard.to_json(), "fold_params": table[params].to_dict("records"),
        "last_params": table[params].iloc[-1].to_dict(),
    }  # fmt: skip
    result = stitch(parts, panel, test_rows, ctx.config, json.loads(json.dumps(extra, default=str)))
    wfe = float(result.metrics["cagr"]) / mean_is if mean_is else float("nan")
    job_id = job_id_of({
        "kind": "walkforward", "strategy": strategy_fingerprint(ref), "data": panel_hash(panel),
        "config": ctx.config.model_dump(mode="json"), **extra, "method": request.method,
        "grids": request.grids, "n": request.n_trials, "seed": request.seed,
        "objective_source": chk.objective.fingerprint,
        "constraints": request.constraints, "select": request.select, "fast": request.fast,
    })  # fmt: skip
    root = settings.home / "walkforward" / job_id
    files = {"folds": root / "folds.parquet", "folds_csv": root / "folds.csv",
             "drift": root / "drift.csv", "result": root / "result.json",
             "spec": root / "spec.json"}  # fmt: skip
    _atomic_bytes(files["folds"], lambda tmp: table.to_parquet(tmp, index=False))
    _atomic_bytes(files["folds_csv"], lambda tmp: table.to_csv(tmp, index=False))
    _atomic_bytes(files["drift"], lambda tmp: drift.to_csv(tmp, index=False))
    result.to_json(files["result"])
    spec_text = json.dumps(request.spec.model_dump(mode="json"), indent=1)
    _atomic_bytes(files["spec"], lambda tmp: Path(tmp).write_text(spec_text))
    return WalkForwardReport(job_id, root, table, drift, wfe, result, files, elapsed, chk.guard)
