"""Machine-learning use cases: train a model version, evaluate it out of sample, list, show.

Only out-of-sample numbers are reported: walk-forward folds (each predicted by a model refitted
on labels that had ended before the fold), purged k-fold folds with embargo, and a backtest of
the ``ml_signal`` strategy on the walk-forward probabilities through the normal engine.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.atomic import atomic_write_text
from alphaforge.config.settings import AppSettings
from alphaforge.core.errors import ConfigError, DataError
from alphaforge.core.panel import Panel
from alphaforge.ml.features import load_cached_features, store_features
from alphaforge.ml.models import scores
from alphaforge.ml.pipeline import (
    PrimarySignals,
    TrainRun,
    check_bars,
    default_start,
    make_labels,
    run_training,
    save_run,
)
from alphaforge.ml.registry import ModelVersion, list_versions, load_version, resolve
from alphaforge.ml.spec import MlSpec, load_ml_spec
from alphaforge.ml.train import importance_stability, top_share
from alphaforge.services.run_checks import slice_dates
from alphaforge.sim.result import BacktestResult

Progress = Callable[[str, int, int], None]
EVALUATION_FILE = "evaluation.json"
TEAR_SHEET = "oos_tearsheet.html"


def models_dir(settings: AppSettings) -> Path:
    return Path(settings.home).expanduser() / "models"


def load_ml_panel(spec: MlSpec, settings: AppSettings) -> Panel:
    """The bars a training asks for: its data file, or the local store."""
    from alphaforge.services.backtest import load_data_file

    if spec.data:
        panel = load_data_file(spec.data, spec.symbols, spec.timeframe)
    else:
        from alphaforge.services.store import load_panel, open_store

        panel = load_panel(open_store(settings), spec.symbols, spec.timeframe)
    if len(panel.index) == 0:
        raise DataError(f"no bars of {', '.join(spec.symbols or [])} in {spec.timeframe}")
    return slice_dates(panel, spec.start, spec.end)


def _primary(spec: MlSpec, panel: Panel) -> PrimarySignals | None:
    if spec.label.kind != "meta" or spec.label.primary is None:
        return None
    from alphaforge.strategy.base import Signals, StrategyData
    from alphaforge.strategy.registry import make_strategy

    strat = make_strategy(spec.label.primary.strategy, spec.label.primary.params)
    out = strat.signals(StrategyData(panel))
    if not isinstance(out, Signals):
        raise ConfigError("label.primary: meta-labels need a strategy that returns entries")
    return PrimarySignals(np.asarray(out.entries, bool), out.short_entries)


@dataclass(frozen=True)
class TrainReport:
    version: ModelVersion
    spec: MlSpec


def train_model(
    config: str | Path, settings: AppSettings, progress: Progress | None = None
) -> TrainReport:
    """Train the model of ``config`` and store it as a new version under HOME/models."""
    spec = load_ml_spec(config)
    try:
        run = _train(spec, config, settings, progress)
    except ConfigError as exc:  # the bars, features and fits are the config's
        raise ConfigError(_in_file(config, str(exc))) from None
    source = {"config": str(Path(config).resolve()), "data": str(Path(spec.data).resolve()) if spec.data else None,
              "symbols": spec.symbols, "start": spec.start, "end": spec.end,
              "timeframe": spec.timeframe}  # fmt: skip
    extra = {"source": source, "strategy": spec.strategy.model_dump(), "backtest": spec.backtest,
             "primary": spec.label.primary.model_dump() if spec.label.primary else None}  # fmt: skip
    version = save_run(models_dir(settings), spec.name, run, extra)
    return TrainReport(version, spec)


def _in_file(config: str | Path, message: str) -> str:
    """``message`` naming the config file (unless it does already)."""
    return message if message.startswith(str(config)) else f"{config}: {message}"


def _train(
    spec: MlSpec, config: str | Path, settings: AppSettings, progress: Progress | None
) -> TrainRun:
    """Features, labels and the walk-forward and purged k-fold fits of ``spec``."""
    features = spec.feature_set(str(config))
    panel = load_ml_panel(spec, settings)
    schedule = spec.walk_forward.spec(default_start(features, spec.walk_forward.train_bars))
    label = spec.label.spec()
    check_bars(label, schedule, panel.shape[0])
    # the feature cache is written only once the training succeeded: a refused run leaves
    # nothing behind
    cache = Path(settings.home).expanduser() / "features"
    matrix = load_cached_features(panel, features, cache)
    computed = matrix is None
    if progress:
        progress("features", 0, 1)
    fm = features.compute(panel) if matrix is None else matrix
    run = run_training(panel, features, label, spec.model.spec(), schedule,
                       spec.cv.spec() if spec.cv else None, _primary(spec, panel), progress,
                       spec.tune.spec() if spec.tune else None, fm)  # fmt: skip
    if computed:
        store_features(panel, features, fm, cache)
    return run


@dataclass(frozen=True)
class Evaluation:
    """What ``ml evaluate`` found, all out of sample."""

    version: ModelVersion
    body: dict[str, Any]
    folds: pd.DataFrame
    importance: pd.DataFrame
    result: BacktestResult
    path: Path
    tear_sheet: Path


def _source_panel(version: ModelVersion, settings: AppSettings) -> Panel:
    src = version.metadata.get("source") or {}
    spec = MlSpec.model_validate({"name": version.metadata["name"], "symbols": src["symbols"],
                                  "data": src.get("data"), "start": src.get("start"),
                                  "end": src.get("end"), "timeframe": src.get("timeframe", "1d"),
                                  "features": version.metadata["features"]})  # fmt: skip
    return load_ml_panel(spec, settings)


def _fold_frame(meta: dict[str, Any]) -> pd.DataFrame:
    rows = [{"scheme": "walk-forward", **r} for r in meta["walk_forward_scores"]]
    rows += [{"scheme": "purged k-fold", **r} for r in meta["cv_scores"]]
    cols = ["scheme", "fold", "start", "stop", "n_train", "n_test", "accuracy", "auc",
            "log_loss", "base_rate"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def _importance_frame(meta: dict[str, Any], top_k: int) -> tuple[pd.DataFrame, float]:
    imp = np.asarray(meta["importance"], dtype=np.float64)
    names = meta["feature_names"]
    if imp.size == 0:
        return pd.DataFrame(columns=["feature", "mean_share", "top_k_share"]), float("nan")
    share = imp / np.maximum(imp.sum(axis=1, keepdims=True), 1e-300)
    frame = pd.DataFrame({"feature": names, "mean_share": share.mean(axis=0),
                          "top_k_share": top_share(imp, top_k)})  # fmt: skip
    return frame.sort_values(
        "mean_share", ascending=False, ignore_index=True
    ), importance_stability(imp, top_k)


def _pooled_oos(version: ModelVersion, panel: Panel, proba: np.ndarray) -> dict[str, Any]:
    from alphaforge.ml.pipeline import LabelSpec

    label = LabelSpec(**version.metadata["label"])
    primary = _primary(_meta_spec(version), panel) if label.kind == "meta" else None
    labels = make_labels(panel, label, primary)
    ok = np.isfinite(labels.values) & np.isfinite(proba)
    s = scores(labels.values[ok], proba[ok])
    return {"rows": int(ok.sum()), "accuracy": s.accuracy, "auc": s.auc, "log_loss": s.log_loss,
            "base_rate": float(np.mean(labels.values[ok])) if ok.any() else None}  # fmt: skip


def _meta_spec(version: ModelVersion) -> MlSpec:
    meta = version.metadata
    return MlSpec.model_validate({"name": meta["name"], "symbols": meta["symbols"],
                                  "features": meta["features"],
                                  "label": {**meta["label"], "primary": meta.get("primary")}})  # fmt: skip


def _oos_backtest(
    version: ModelVersion, settings: AppSettings, panel: Panel | None = None
) -> tuple[Panel, int, Panel, BacktestResult]:
    """The source bars, the first OOS bar, the bars backtested (from the features' warm-up
    before it) and the backtest of ``ml_signal`` on the version's walk-forward models."""
    from alphaforge.services.backtest import backtest

    meta = version.metadata
    panel = _source_panel(version, settings) if panel is None else panel
    first = int(panel.index.searchsorted(version.models[0].valid_from))
    warm = version.features.warmup()
    oos = panel.slice(panel.index[max(first - warm, 0)], None)
    params = {"model": str(version.path), **(meta.get("strategy") or {})}
    result = backtest("ml_signal", oos, params=params, config=meta.get("backtest") or {})
    return panel, first, oos, result


def evaluate_model(
    ref: str,
    settings: AppSettings,
    top_k: int = 5,
    progress: Progress | None = None,
    blocks: int = 16,
) -> Evaluation:
    """Out-of-sample metrics per fold, importance and its stability, the OOS backtest, and the
    DSR and PBO of the search (every version stored under the model's name)."""
    from alphaforge.services.ml_search import configurations, gate_facts, search_statistics
    from alphaforge.strategy.base import StrategyData
    from alphaforge.strategy.library.ml_signal import probabilities

    if blocks < 2 or blocks % 2:
        raise ConfigError(f"--blocks: {blocks} must be an even number >= 2")
    step = progress or (lambda *_: None)
    version = load_version(resolve(models_dir(settings), ref))
    meta = version.metadata
    step("loading data", 0, 5)
    panel = _source_panel(version, settings)
    step("out-of-sample probabilities", 1, 5)
    proba = probabilities(version, StrategyData(panel))
    pooled = _pooled_oos(version, panel, proba)
    importance, stability = _importance_frame(meta, top_k)
    step("backtest of ml_signal", 2, 5)
    _, first, oos, result = _oos_backtest(version, settings, panel)
    step("backtests of the other configurations", 3, 5)
    configs = configurations(version, result, lambda v: _oos_backtest(v, settings)[3])
    search = search_statistics(version, result, configs, blocks)
    gate = _oos_gate(result, gate_facts(search))
    held = panel.close[first:]
    with np.errstate(all="ignore"):
        bh = float(np.nanmean(held[-1] / held[0] - 1.0)) if len(held) else float("nan")
    step("writing the report", 4, 5)
    body = {"model": version.ref, "oos_from": panel.index[first].isoformat(),
            "oos_pooled": pooled, "folds": _fold_frame(meta).to_dict("records"),
            "importance": importance.to_dict("records"), "importance_top_k": top_k,
            "importance_stability": stability,
            "backtest": {k: _plain(v) for k, v in result.metrics.items()},
            "buy_and_hold_return": bh, "search": search, "gate": gate,
            "backtest_from": oos.index[0].isoformat()}  # fmt: skip
    path = version.path / EVALUATION_FILE
    tear = version.path / TEAR_SHEET
    from alphaforge.reports import write_report

    write_report(result, tear, title=f"ml_signal {version.ref} (out of sample)")
    atomic_write_text(path, json.dumps(body, indent=1, default=str))
    return Evaluation(version, body, _fold_frame(meta), importance, result, path, tear)


def _oos_gate(result: BacktestResult, search: dict[str, float | None]) -> dict[str, Any]:
    """The go / no-go gate on the out-of-sample backtest, with the DSR and PBO of the search
    (``search``: facts ``dsr`` and ``pbo``, None when not computed). The Sharpe ratio at twice
    the costs is N/A here; ``alphaforge validate`` on a run of ml_signal computes it."""
    from alphaforge.validation.gate import evaluate_gate

    m = result.metrics
    facts = {"sharpe": m.get("sharpe"), "max_drawdown": m.get("max_drawdown"),
             "trades": m.get("num_trades"), "profit_factor": m.get("profit_factor"),
             "wf_oos_return": m.get("total_return"), **search}  # fmt: skip
    clean = {
        k: (None if v is None or not np.isfinite(float(v)) else float(v)) for k, v in facts.items()
    }
    verdict = evaluate_gate(clean)
    return {"verdict": verdict.verdict, "passed": verdict.passed,
            "rows": [{"criterion": r.criterion, "rule": r.rule, "value": r.value,
                      "status": r.status} for r in verdict.rows]}  # fmt: skip


def _plain(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


def model_list(settings: AppSettings) -> pd.DataFrame:
    """One row per stored version: name, version, created, model, label, OOS AUC."""
    from alphaforge.services.ml_search import kind_name

    rows = []
    for m in list_versions(models_dir(settings)):
        wf = [r["auc"] for r in m.get("walk_forward_scores", []) if r.get("auc") is not None]
        rows.append({"model": f"{m['name']}/{m['version']}", "created": m.get("created"),
                     "kind": kind_name(m["model"]), "label": m["label"]["kind"],
                     "symbols": len(m.get("symbols", [])), "features": len(m["feature_names"]),
                     "wf_auc_mean": float(np.nanmean(wf)) if wf else float("nan")})  # fmt: skip
    return pd.DataFrame(rows, columns=["model", "created", "kind", "label", "symbols",
                                       "features", "wf_auc_mean"])  # fmt: skip


def model_show(ref: str, settings: AppSettings) -> ModelVersion:
    """A stored version (refused when its feature list no longer matches the code)."""
    return load_version(resolve(models_dir(settings), ref))
