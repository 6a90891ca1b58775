"""How much searching stands behind an ML model: the Deflated Sharpe Ratio and the PBO of the
configurations tried.

The configurations of a search are the versions stored under one model name (each a model,
label, feature list or parameter variant someone trained and could pick from). Each version's
out-of-sample strategy is the backtest of ``ml_signal`` on its walk-forward probabilities
(from its first refit on). With ``N`` versions:

* the Deflated Sharpe Ratio of the evaluated version's OOS returns deflates by the expected
  maximum Sharpe ratio of ``N`` trials whose per-bar Sharpe ratios vary as the versions' do
  over the bars they share; with ``N = 1`` nothing was selected and the DSR is the PSR
  against 0;
* the PBO (CSCV) is computed on the ``bars x N`` matrix of those shared OOS returns; it needs
  ``N >= 2``.

Optuna trials are counted and reported but are not configurations here: they are chosen on
inner folds of each training window and never see the out-of-sample bars, so the OOS
result is not selected on them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.core.errors import AlphaforgeError
from alphaforge.ml.registry import ModelVersion, load_version
from alphaforge.sim.result import BacktestResult
from alphaforge.validation import overfitting as ovf
from alphaforge.validation import significance as sig

OosBacktest = Callable[[ModelVersion], BacktestResult]


@dataclass(frozen=True)
class Configuration:
    """One version of the search and its OOS strategy returns (None: it could not be run)."""

    ref: str
    kind: str
    label: str
    n_features: int
    returns: pd.Series | None
    note: str = ""


def bar_returns(result: BacktestResult) -> pd.Series:
    """Per-bar returns of a backtest's equity (the first bar has none)."""
    eq = result.equity
    return (eq / eq.shift(1) - 1.0).iloc[1:]


def optuna_trials(meta: dict[str, Any]) -> int:
    """Optuna trials run while training a version: trials x fits (walk-forward, final, CV)."""
    tuning = meta.get("tuning")
    if not tuning:
        return 0
    fits = len(meta.get("models_valid_from") or []) + len(meta.get("cv_scores") or [])
    return int(tuning["trials"]) * fits


def kind_name(model: dict[str, Any]) -> str:
    """``lightgbm``, or ``stacking(logistic+lightgbm)`` for an ensemble."""
    members = model.get("members") or []
    if members:
        return f"{model['kind']}({'+'.join(m['kind'] for m in members)})"
    return str(model["kind"])


def configurations(
    chosen: ModelVersion, result: BacktestResult, oos_backtest: OosBacktest
) -> list[Configuration]:
    """Every version stored beside ``chosen`` (same name), with its OOS returns; ``chosen``
    uses ``result``, the others are backtested by ``oos_backtest``."""
    out = []
    found = [p for p in chosen.path.parent.glob("v*") if p.is_dir() and p.name[1:].isdigit()]
    for path in sorted(found, key=lambda p: int(p.name[1:])):
        try:
            version = chosen if path == chosen.path else load_version(path)
            res = result if version is chosen else oos_backtest(version)
            rets, note = bar_returns(res), ""
        except (AlphaforgeError, OSError, KeyError, ValueError) as exc:
            out.append(Configuration(f"{chosen.metadata['name']}/{path.name}", "?", "?", 0, None,
                                     f"not run: {exc}"))  # fmt: skip
            continue
        meta = version.metadata
        out.append(Configuration(version.ref, kind_name(meta["model"]), meta["label"]["kind"],
                                 len(meta["feature_names"]), rets, note))  # fmt: skip
    return out


def _shared(configs: list[Configuration]) -> pd.DataFrame:
    series = {c.ref: c.returns for c in configs if c.returns is not None}
    return pd.DataFrame(series).dropna(how="any")


def search_statistics(
    chosen: ModelVersion,
    result: BacktestResult,
    configs: list[Configuration],
    n_blocks: int = 16,
) -> dict[str, Any]:
    """DSR and PBO of ``chosen`` among ``configs`` (see the module docstring), JSON-ready."""
    ppy = float(result.config.get("periods_per_year") or 252.0)
    n = len(configs)
    out: dict[str, Any] = {"n_configurations": n, "optuna_trials": optuna_trials(chosen.metadata),
                           "n_blocks": n_blocks, "dsr": None, "pbo": None, "notes": []}  # fmt: skip
    notes: list[str] = out["notes"]
    if out["optuna_trials"]:
        notes.append(f"{out['optuna_trials']} Optuna trials ran inside training windows; they "
                     "never saw the OOS bars, so they are not counted as configurations")  # fmt: skip
    shared = _shared(configs)
    n_trials, var = 1, 0.0
    rows = []
    for c in configs:
        col = shared.get(c.ref)
        sr = _sharpe(col) * np.sqrt(ppy) if col is not None else float("nan")
        rows.append({"model": c.ref, "kind": c.kind, "label": c.label, "features": c.n_features,
                     "shared_bars": len(shared) if col is not None else 0,
                     "oos_sharpe": sr if np.isfinite(sr) else None, "note": c.note})  # fmt: skip
    out["configurations"] = rows
    if n == 1:
        notes.append("one configuration tried: the DSR is the PSR against 0 (N = 1); PBO needs "
                     "two or more versions under this name")  # fmt: skip
    elif shared.shape[1] >= 2 and len(shared) >= 2:
        try:
            stats = sig.trials_sharpe_stats(shared.to_numpy().T)
            n_trials, var = n, stats.var
        except ValueError as exc:
            notes.append(f"Sharpe variance of the configurations: {exc}")
        out["pbo"] = _pbo(shared, n_blocks, ppy, notes)
    else:
        notes.append("fewer than two configurations have OOS returns on shared bars")
    rets = bar_returns(result).to_numpy()
    try:
        out["dsr"] = sig.sharpe_significance(rets, ppy, n_trials=n_trials, var_trials=var).to_dict()
    except ValueError as exc:
        notes.append(f"DSR: {exc}")
    return out


def _sharpe(s: pd.Series) -> float:
    sd = float(s.std(ddof=1)) if len(s) > 1 else 0.0
    return float(s.mean()) / sd if sd > 0 else float("nan")


def _pbo(shared: pd.DataFrame, n_blocks: int, ppy: float, notes: list[str]) -> Any:
    if len(shared) < 4 * n_blocks:
        notes.append(f"PBO: {len(shared)} shared bars are too few for {n_blocks} CSCV blocks "
                     f"(needs {4 * n_blocks})")  # fmt: skip
        return None
    res = ovf.probability_of_backtest_overfitting(shared.to_numpy(), n_blocks, periods_per_year=ppy)
    return res.to_dict()


def gate_facts(search: dict[str, Any]) -> dict[str, float | None]:
    """The gate's ``dsr`` and ``pbo`` facts from :func:`search_statistics`."""
    dsr = search.get("dsr") or {}
    pbo = search.get("pbo") or {}
    return {"dsr": dsr.get("dsr"), "pbo": pbo.get("pbo")}


def describe(search: dict[str, Any]) -> str:
    """One line for the terminal."""
    n = search["n_configurations"]
    dsr = search.get("dsr") or {}
    pbo = search.get("pbo") or {}
    parts = [f"{n} configuration{'s' if n != 1 else ''} tried"]
    if dsr:
        parts.append(f"DSR {_fmt(dsr.get('dsr'))} (PSR {_fmt(dsr.get('psr'))}, N = "
                     f"{dsr.get('n_trials')}, SR0 {_fmt(dsr.get('sr0_annual'))} a year)")  # fmt: skip
    parts.append(f"PBO {_fmt(pbo.get('pbo'))}" if pbo else "PBO N/A")
    return "; ".join(parts)


def _fmt(v: Any) -> str:
    return "—" if v is None else f"{float(v):.4f}"
