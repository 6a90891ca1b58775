"""What ``alphaforge validate`` looks at: a backtest result, a sweep job or a walk-forward run.

A target is named by a path (a result JSON, a run directory, a sweep or walk-forward directory)
or by an id under the home (``runs/<id>``, ``sweeps/<job id>``, ``walkforward/<id>``). Whatever
it is, it resolves to one :class:`Target`: the result to judge, plus the sweep trials and the
walk-forward folds when there are any, and the run spec that can re-run the result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from alphaforge.config.specs import RunSpec, recorded_spec
from alphaforge.core.errors import ConfigError, DataError
from alphaforge.services.results import load_result
from alphaforge.sim.result import BacktestResult

Kind = Literal["result", "sweep", "walkforward"]

# what every run's research depends on; the rest (dates, broker, schedule, ...) does not
_NOT_RESEARCH = {
    "start", "end", "data", "fine_data", "mode", "broker", "schedule", "runtime", "feed",
    "lookahead_check",
}  # fmt: skip


@dataclass(frozen=True)
class SweepTrials:
    """A sweep's scored trials and their bar returns (rows follow ``ids``)."""

    job_id: str
    table: pd.DataFrame  # one row per trial: params, metrics, objective, feasible
    ids: np.ndarray  # trial ids of the returns rows
    returns: np.ndarray  # trials x bars, per-bar simple returns
    objective: str
    params: list[str]

    @property
    def n_trials(self) -> int:
        return len(self.ids)


@dataclass(frozen=True)
class WalkForwardRun:
    """A walk-forward run's folds (in- and out-of-sample metrics per fold)."""

    run_id: str
    folds: pd.DataFrame


@dataclass
class Target:
    """The result to judge and everything known about how it was made."""

    kind: Kind
    name: str
    result: BacktestResult
    spec: RunSpec | None = None
    trials: SweepTrials | None = None
    walkforward: WalkForwardRun | None = None
    notes: list[str] = field(default_factory=list)
    wf_result: BacktestResult | None = None  # the stitched OOS result of an attached run


def research_hash(spec: RunSpec) -> str:
    """Hash of what decides a strategy's trades: strategy, params, universe, costs, rules.

    Dates, data file, broker, schedule and runtime settings are left out, so a paper config
    that trades the validated strategy forward has the same hash as the validated backtest.
    """
    import hashlib

    body = spec.model_dump(mode="json", exclude=_NOT_RESEARCH)
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _spec_of(data: Any, where: str) -> RunSpec | None:
    if not isinstance(data, dict):
        return None
    try:
        return recorded_spec(data)
    except ValueError as exc:
        raise DataError(f"{where}: recorded run spec is not valid any more ({exc})") from None


def locate(ref: str, home: Path) -> tuple[Kind, Path]:
    """Resolve ``ref`` to (kind, path); a path wins over an id."""
    path = Path(ref).expanduser()
    if not path.exists():
        for sub, kind in (("sweeps", "sweep"), ("walkforward", "walkforward"), ("runs", "result")):
            cand = home / sub / ref
            if cand.exists():
                return kind, cand  # type: ignore[return-value]
        raise ConfigError(
            f"validate: {ref!r} is neither a file nor a run, sweep or walk-forward id "
            f"under {home} (see `alphaforge sweep`, `walkforward` or `backtest`)"
        )
    if path.is_file():
        return "result", path
    if (path / "manifest.json").exists() and (path / "trials").exists():
        return "sweep", path
    if (path / "folds.parquet").exists() and (path / "result.json").exists():
        return "walkforward", path
    if (path / "result.json").exists():
        return "result", path / "result.json"
    raise ConfigError(
        f"validate: {path} holds no result.json, sweep manifest or walk-forward folds"
    )


def load_target(ref: str, home: Path, settings: Any) -> Target:
    """Load what ``ref`` names (see :func:`locate`)."""
    kind, path = locate(ref, home)
    if kind == "sweep":
        return _sweep_target(path, settings)
    if kind == "walkforward":
        result = load_result(path / "result.json")
        spec = None
        if (path / "spec.json").exists():
            spec = _spec_of(json.loads((path / "spec.json").read_text()), str(path))
        folds = pd.read_parquet(path / "folds.parquet")
        return Target(
            "walkforward", path.name, result, spec, None, WalkForwardRun(path.name, folds)
        )
    result = load_result(path)
    spec = _spec_of(result.manifest_extra.get("run_spec") or _manifest_spec(path), str(path))
    return Target("result", str(path), result, spec)


def _manifest_spec(path: Path) -> Any:
    try:
        return json.loads(path.read_text()).get("manifest", {}).get("run_spec")
    except (OSError, json.JSONDecodeError, AttributeError):
        return None


def load_trials(ref: str, home: Path) -> SweepTrials:
    """The trials of a sweep job (``ref``: job id or directory)."""
    kind, path = locate(ref, home)
    if kind != "sweep":
        raise ConfigError(f"--sweep {ref!r}: not a sweep job directory")
    return _read_trials(path)


def _read_trials(path: Path) -> SweepTrials:
    from alphaforge.optimize.store import SweepStore

    store = SweepStore(path, {})
    summary = store.manifest.get("summary") or {}
    results = path / "results.parquet"
    if not results.exists():
        raise DataError(f"{path}: the sweep has no results.parquet (did it finish?)")
    table = pd.read_parquet(results)
    ids, matrix = store.returns_matrix()
    if len(ids) == 0:
        raise DataError(
            f"{path}: the sweep stored no trial returns (a --fast sweep keeps none; "
            "re-run it without --fast to validate it)"
        )
    dims = ((store.manifest.get("job") or {}).get("space") or {}).get("dims") or []
    params = [d["name"] for d in dims if d.get("name") in table.columns] or _param_columns(table)
    return SweepTrials(
        job_id=path.name, table=table, ids=ids, returns=np.asarray(matrix, dtype=np.float64),
        objective=str(summary.get("objective", "sharpe")), params=params,
    )  # fmt: skip


def _param_columns(table: pd.DataFrame) -> list[str]:
    from alphaforge.optimize.worker import METRIC_COLUMNS

    skip = {*METRIC_COLUMNS, "trial_id", "symbol", "objective", "feasible", "plateau", "error",
            "objective_mean", "share_positive", "n_symbols"}  # fmt: skip
    return [c for c in table.columns if c not in skip]


def best_trial(trials: SweepTrials) -> pd.Series:
    """The feasible trial with the highest objective (the one a user would deploy)."""
    table = trials.table
    pool = table[table["feasible"]] if "feasible" in table else table
    pool = pool[np.isfinite(pool["objective"].to_numpy(dtype=float))]
    if pool.empty:
        raise DataError(
            f"sweep {trials.job_id}: no feasible trial with a finite objective to validate"
        )
    return pool.sort_values(["objective", "trial_id"], ascending=[False, True]).iloc[0]


def _sweep_target(path: Path, settings: Any) -> Target:
    from alphaforge.optimize.analysis import _py
    from alphaforge.services.backtest import run_spec

    trials = _read_trials(path)
    manifest = json.loads((path / "manifest.json").read_text())
    spec = _spec_of(manifest.get("spec"), str(path))
    if spec is None:
        raise DataError(
            f"{path}: this sweep does not record its run spec (made by an older alphaforge); "
            "run the sweep again to validate it"
        )
    best = best_trial(trials)
    params = {**spec.params, **{p: _py(best[p]) for p in trials.params}}
    spec = spec.model_copy(update={"params": params})
    _check_same_data(spec, settings, manifest, path)
    result = run_spec(spec, settings)
    notes = [f"best trial {int(best['trial_id'])} of {trials.n_trials} by {trials.objective}"]
    if (manifest.get("job") or {}).get("per_symbol") and len(result.symbols) > 1:
        notes.append(
            f"the sweep scored each of the {len(result.symbols)} symbols on its own (its trials' "
            "returns are their equal-weight average); the validated backtest trades the chosen "
            "parameters on all of them as one portfolio"
        )
    return Target("sweep", path.name, result, spec, trials, None, notes)


def _check_same_data(spec: RunSpec, settings: Any, manifest: dict[str, Any], path: Path) -> None:
    """Refuse to validate a sweep on bars other than the ones it searched (the store or the
    file changed since): the sweep records the hash of its panel."""
    from alphaforge.services.backtest import load_spec_panel
    from alphaforge.services.optimize import panel_hash

    swept = (manifest.get("job") or {}).get("data")
    if swept and panel_hash(load_spec_panel(spec, settings)) != swept:
        raise DataError(
            f"{path}: the bars of {spec.symbols or 'the sweep'} changed since the sweep "
            "(its data hash differs); run the sweep again on the current data"
        )
