"""``alphaforge validate``: is the edge real?

One call judges a backtest result, a sweep job or a walk-forward run:

- significance: Probabilistic and Deflated Sharpe Ratio (the number of trials and the variance of
  their Sharpe ratios come from the sweep that chose the parameters), minimum track record
  length, a t-test of the mean trade return;
- Monte Carlo: trade reshuffle and resampling, stationary bootstrap of bar returns;
- overfitting: PBO by CSCV on the sweep's trials x bars returns, Hansen's SPA and White's
  Reality Check of the best trial, in-sample to out-of-sample degradation of a walk-forward;
- regimes: performance in bull / bear / sideways and calm / stressed markets (causal labels);
- robustness: costs 0-3x, parameter neighbours, later starts, symbol subsets;
- the go/no-go gate over all of it.

The outcome is a JSON-ready body (saved under ``HOME/validations``), the gate result and the
tables the CLI prints. Heavy parts skip with a stated reason when their input is missing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alphaforge.core.errors import ConfigError, DataError
from alphaforge.core.jsonvalues import json_safe
from alphaforge.services.results import load_result
from alphaforge.services.validate_targets import (
    SweepTrials,
    Target,
    WalkForwardRun,
    load_target,
    load_trials,
    locate,
    research_hash,
)
from alphaforge.validation import gate as gate_mod
from alphaforge.validation import montecarlo as mc
from alphaforge.validation import overfitting as ovf
from alphaforge.validation import regimes as reg
from alphaforge.validation import significance as sig

FORMAT = "alphaforge.validation/1"
SAMPLE_CAP = 2000  # simulated values kept per metric for the report's histograms
Step = Callable[[str], None]


@dataclass
class ValidationRequest:
    """What to validate and how hard to try."""

    target: str
    sweep: str | None = None
    walkforward: str | None = None
    gate: Path | None = None
    sims: int = 2000
    seed: int = 0
    confidence: float = 0.95
    ruin_loss: float = 0.3
    blocks: int = 16
    spa_reps: int = 1000
    robustness: bool = True
    regimes: bool = True
    hmm_states: int = 2

    def check(self) -> None:
        """Refuse settings that cannot work, naming the option."""
        bad = [
            ("--sims", self.sims, self.sims >= 100),
            ("--confidence", self.confidence, 0.5 < self.confidence < 1.0),
            ("--ruin", self.ruin_loss, 0.0 < self.ruin_loss < 1.0),
            ("--blocks", self.blocks, self.blocks >= 2 and self.blocks % 2 == 0),
            ("--spa-reps", self.spa_reps, self.spa_reps >= 100),
            ("--hmm-states", self.hmm_states, self.hmm_states in (2, 3)),
        ]
        for name, value, ok in bad:
            if not ok:
                raise ConfigError(f"{name}: out of range (got {value!r}); see --help")


@dataclass
class ValidationReport:
    """The body (JSON), the gate's verdict and the tables to print."""

    target: Target
    body: dict[str, Any]
    gate: gate_mod.GateResult
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    path: Path | None = None


def _noop(_: str) -> None:
    return None


def run_validation(
    request: ValidationRequest, settings: Any, step: Step | None = None
) -> ValidationReport:
    """Validate ``request.target``; save the body under ``HOME/validations``."""
    from alphaforge.services.validate_store import save

    request.check()
    spec_gate = gate_mod.load_gate(request.gate) if request.gate else gate_mod.GateSpec()
    say = step or _noop
    say("loading the target")
    target = _attach(load_target(request.target, settings.home, settings), request, settings)
    if target.trials is not None:
        _check_trials(target.trials, request)
    if target.result.num_trades == 0:
        raise DataError(
            f"validate {target.name}: the result has no trades; there is no edge to validate"
        )
    try:
        body, tables, facts = _sections(target, request, settings, say)
    except ValueError as exc:  # the statistics refuse input they cannot judge, in one line
        raise DataError(f"validate {target.name}: {exc}") from None
    say("applying the gate")
    verdict = gate_mod.evaluate_gate(facts, spec_gate)
    created = dt.datetime.now(dt.UTC)
    rhash = research_hash(target.spec) if target.spec is not None else None
    body = {
        "format": FORMAT, "created": created.isoformat(), "research_hash": rhash,
        "target": {"kind": target.kind, "name": target.name, "notes": target.notes},
        **_headline(target), "settings": _settings(request), **body,
        "facts": facts, "gate": verdict.to_dict(), "gate_spec": spec_gate.model_dump(),
    }  # fmt: skip
    body = json_safe(body)
    path = save(settings.home, body, created, rhash)
    return ValidationReport(target, body, verdict, tables, path)


def _attach(target: Target, request: ValidationRequest, settings: Any) -> Target:
    if request.sweep:
        if target.trials is not None:
            raise ConfigError("--sweep: the target is a sweep already")
        target.trials = load_trials(request.sweep, settings.home)
    if request.walkforward:
        if target.walkforward is not None:
            raise ConfigError("--walkforward: the target is a walk-forward run already")
        kind, path = locate(request.walkforward, settings.home)
        if kind != "walkforward":
            raise ConfigError(f"--walkforward {request.walkforward!r}: not a walk-forward run")
        target.walkforward = WalkForwardRun(path.name, pd.read_parquet(path / "folds.parquet"))
        target.notes.append(f"walk-forward {path.name}")
        target.wf_result = load_result(path / "result.json")
    return target


def _headline(target: Target) -> dict[str, Any]:
    r = target.result
    return {
        "strategy": r.strategy,
        "params": r.params,
        "symbols": list(r.symbols),
        "period": [r.index[0].isoformat(), r.index[-1].isoformat()],
        "bars": len(r.index),
        "timeframe": r.config.get("timeframe"),
        "metrics": {k: r.metrics.get(k) for k in _HEADLINE_KEYS},
    }


_HEADLINE_KEYS = ("total_return", "cagr", "sharpe", "max_drawdown", "num_trades", "profit_factor")


def _settings(request: ValidationRequest) -> dict[str, Any]:
    return {
        "sims": request.sims, "seed": request.seed, "confidence": request.confidence,
        "ruin_loss": request.ruin_loss, "blocks": request.blocks, "spa_reps": request.spa_reps,
        "robustness": request.robustness, "regimes": request.regimes,
        "hmm_states": request.hmm_states,
    }  # fmt: skip


# ------------------------------------------------------------------------------ sections


def _sections(
    target: Target, request: ValidationRequest, settings: Any, say: Step
) -> tuple[dict[str, Any], dict[str, pd.DataFrame], dict[str, float | None]]:
    r = target.result
    ppy = float(r.config["periods_per_year"])
    rets = _bar_returns(r.equity_values)
    body: dict[str, Any] = {}
    tables: dict[str, pd.DataFrame] = {}
    say("significance")
    body["significance"], facts = _significance(target, rets, ppy, request)
    say("Monte Carlo")
    body["montecarlo"], tables["montecarlo"] = _montecarlo(r, rets, ppy, request)
    say("overfitting")
    body["overfitting"], extra = _overfitting(target, request)
    facts.update(extra)
    if "walkforward" in body["overfitting"]:
        tables["walkforward"] = pd.DataFrame(body["overfitting"]["walkforward"]["folds"])
    say("regimes")
    body["regimes"] = _regimes(r, rets, ppy, request)
    for name, rows in (body["regimes"].get("tables") or {}).items():
        tables[f"regimes_{name}"] = pd.DataFrame(rows)
    say("robustness (re-running backtests)")
    body["robustness"], rob_tables, sharpe_2x = _robustness(target, request, settings)
    tables.update(rob_tables)
    facts.update(_result_facts(r, sharpe_2x))
    return body, tables, facts


def _bar_returns(equity: np.ndarray) -> np.ndarray:
    eq = np.asarray(equity, dtype=np.float64)
    return eq[1:] / eq[:-1] - 1.0 if len(eq) > 1 else np.zeros(0)


def _skipped(reason: str) -> dict[str, Any]:
    return {"skipped": reason}


def _significance(
    target: Target, rets: np.ndarray, ppy: float, request: ValidationRequest
) -> tuple[dict[str, Any], dict[str, float | None]]:
    out: dict[str, Any] = {}
    facts: dict[str, float | None] = {"dsr": None}
    trials = target.trials
    if len(rets) < 3 or float(np.std(rets)) == 0.0:
        return _skipped("the equity never moves: no Sharpe ratio to test"), facts
    n_trials, var_trials = 1, 0.0
    if trials is not None:
        stats = sig.trials_sharpe_stats(trials.returns)
        n_trials, var_trials = stats.n_trials, stats.var
        out["trials"] = {"n_trials": stats.n_trials, "n_valid": stats.n_valid,
                         "mean_sharpe": stats.mean, "var_sharpe": stats.var}  # fmt: skip
    s = sig.sharpe_significance(
        rets, ppy, n_trials=n_trials, var_trials=var_trials, confidence=request.confidence
    )
    out["sharpe"] = s.to_dict()
    if trials is not None:
        facts["dsr"] = s.dsr
    else:
        out["dsr_note"] = (
            "DSR needs the sweep that chose the parameters (validate the sweep, or add --sweep)"
        )
    pnl = target.result.trades["return"].to_numpy(dtype=float)
    if len(pnl) >= 2 and float(np.std(pnl)) > 0:
        out["trade_ttest"] = sig.mean_return_ttest(pnl).to_dict()
    else:
        out["trade_ttest"] = _skipped("needs at least two trades with different returns")
    return out, facts


def _years(result: Any) -> float:
    span = (result.index[-1] - result.index[0]).total_seconds() / (365.25 * 86400)
    return max(span, 1e-9)


def _montecarlo(
    result: Any, rets: np.ndarray, ppy: float, request: ValidationRequest
) -> tuple[dict[str, Any], pd.DataFrame]:
    runs: dict[str, mc.MonteCarloResult] = {}
    out: dict[str, Any] = {}
    pnl = result.trades["pnl"].to_numpy(dtype=float)
    if len(pnl) >= 2:
        tpy = len(pnl) / _years(result)
        start = float(result.equity_values[0])
        for method in ("reshuffle", "resample"):
            runs[f"trades_{method}"] = mc.trade_monte_carlo(
                pnl,
                tpy,
                method=method,
                pnl=True,
                start_equity=start,
                n_sims=request.sims,
                seed=request.seed,
                confidence=request.confidence,
                ruin_loss=request.ruin_loss,
            )
    else:
        out["trades"] = _skipped("needs at least two closed trades")
    if len(rets) >= 10 and float(np.std(rets)) > 0:
        runs["bars_stationary"] = mc.bootstrap_returns(
            rets, ppy, method="stationary", n_sims=request.sims, seed=request.seed,
            confidence=request.confidence, ruin_loss=request.ruin_loss,
        )  # fmt: skip
    else:
        out["bars"] = _skipped("needs at least ten bars of moving equity")
    frames = []
    for name, res in runs.items():
        out[name] = {**res.to_dict(), "samples": _samples(res)}
        frames.append(res.to_frame().assign(method=name).reset_index(names="metric"))
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return out, table


def _samples(res: mc.MonteCarloResult) -> dict[str, list[float]]:
    out = {}
    for d in res.metrics:
        s = np.asarray(d.samples, dtype=float)
        out[d.name] = s[:SAMPLE_CAP].tolist()
    return out


def _overfitting(
    target: Target, request: ValidationRequest
) -> tuple[dict[str, Any], dict[str, float | None]]:
    out: dict[str, Any] = {}
    facts: dict[str, float | None] = {"pbo": None, "wf_oos_return": None}
    if target.trials is not None:
        out.update(_trials_overfitting(target.trials, target.result, request))
        facts["pbo"] = (out.get("pbo") or {}).get("pbo")
    else:
        out["pbo"] = _skipped("PBO and SPA need a sweep's trials (validate a sweep, or --sweep)")
    if target.walkforward is not None:
        out["walkforward"] = _walkforward(target.walkforward)
        wf = target.result if target.kind == "walkforward" else target.wf_result
        if wf is not None:
            facts["wf_oos_return"] = float(wf.metrics.get("total_return", np.nan))
            out["walkforward"]["oos_total_return"] = facts["wf_oos_return"]
    else:
        out["walkforward_note"] = "walk-forward checks need a walk-forward run (--walkforward)"
    return out, facts


def _trials_overfitting(
    trials: SweepTrials, result: Any, request: ValidationRequest
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    mat = np.nan_to_num(trials.returns.T.astype(np.float64))  # time x trials
    ppy = float(result.config["periods_per_year"])
    pbo = ovf.probability_of_backtest_overfitting(mat, request.blocks, periods_per_year=ppy)
    out["pbo"] = pbo.to_dict(include_arrays=True)
    bench = _bar_returns(result.benchmark_values)
    use = bench if len(bench) == mat.shape[0] - 1 else None
    spa = ovf.spa_test(mat[1:], use, reps=request.spa_reps, seed=request.seed)
    out["spa"] = {**spa.to_dict(), "benchmark": "buy & hold" if use is not None else "cash"}
    return out


def _check_trials(trials: SweepTrials, request: ValidationRequest) -> None:
    if trials.n_trials < 2:
        raise DataError(
            f"sweep {trials.job_id}: {trials.n_trials} trial; PBO (CSCV) and SPA compare trials, "
            "so sweep at least 2 parameter sets (a grid or --random N)"
        )
    bars = trials.returns.shape[1]
    if bars < 4 * request.blocks:
        raise DataError(
            f"sweep {trials.job_id}: {bars} bars are too few for CSCV with --blocks "
            f"{request.blocks} (needs {4 * request.blocks}); lower --blocks"
        )


def _walkforward(wf: WalkForwardRun) -> dict[str, Any]:
    f = wf.folds
    deg = ovf.performance_degradation(
        f["is_objective"].to_numpy(float), f["oos_objective"].to_numpy(float)
    ) if len(f) >= 3 else None  # fmt: skip
    cols = [c for c in ("fold", "test_start", "is_objective", "oos_objective", "is_cagr",
                        "oos_cagr", "oos_sharpe", "oos_num_trades") if c in f]  # fmt: skip
    rows = f[cols].assign(**({"test_start": f["test_start"].astype(str)} if "test_start" in f
                             else {}))  # fmt: skip
    mean_is = float(f["is_cagr"].mean()) if "is_cagr" in f else float("nan")
    oos = float(f["oos_cagr"].mean()) if "oos_cagr" in f else float("nan")
    return {
        "folds": rows.to_dict("records"),
        "efficiency": oos / mean_is if mean_is > 0 else None,
        "share_oos_positive": float((f["oos_cagr"] > 0).mean()) if "oos_cagr" in f else None,
        "degradation": deg.to_dict() if deg is not None else _skipped("needs 3 folds"),
    }


def _regimes(
    result: Any, rets: np.ndarray, ppy: float, request: ValidationRequest
) -> dict[str, Any]:
    if not request.regimes:
        return _skipped("--no-regimes")
    close = pd.Series(np.asarray(result.benchmark_values, float), index=result.index)
    strat = pd.Series(np.r_[0.0, rets], index=result.index)
    bench = close.pct_change().fillna(0.0)
    tables: dict[str, Any] = {}
    out: dict[str, Any] = {"benchmark": "buy & hold of the traded symbols"}
    window = min(200, max(20, len(close) // 5))
    rules = reg.rule_regimes(close, window=window, vol_min_history=min(60, window))
    for name, labels in (("trend", rules.trend), ("volatility", rules.volatility)):
        tables[name] = _records(reg.performance_by_regime(strat, labels, ppy, bench))
    out["rule_window"] = window
    if len(close) >= 2 * 252:
        hmm = reg.hmm_regimes(close, request.hmm_states, random_state=request.seed)
        tables["hmm"] = _records(reg.performance_by_regime(strat, hmm.labels, ppy, bench))
        out["hmm"] = {"states": list(hmm.states), "fits": len(hmm.fit_bars)}
    else:
        out["hmm"] = _skipped("the causal HMM needs at least 504 bars (252 to fit, then trade)")
    out["tables"] = tables
    out["labels"] = {"trend": rules.trend.astype(str).tolist()}
    return out


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    return [
        {str(k): v for k, v in row.items()}
        for row in df.reset_index(names="regime").to_dict("records")
    ]


def _robustness(
    target: Target, request: ValidationRequest, settings: Any
) -> tuple[dict[str, Any], dict[str, pd.DataFrame], float | None]:
    if not request.robustness:
        return _skipped("--no-robustness"), {}, None
    if target.spec is None:
        return _skipped("the result does not record its run spec; re-run it"), {}, None
    if target.kind == "walkforward":
        return (
            _skipped("parameters change per fold: validate the chosen parameters' backtest"),
            {},
            None,
        )
    from alphaforge.services.backtest import load_spec_panel
    from alphaforge.services.robustness import RobustnessCase, run_robustness

    spec = target.spec
    case = RobustnessCase(spec.strategy or "", spec.params, spec.backtest_config(),
                          load_spec_panel(spec, settings))  # fmt: skip
    rep = run_robustness(case, seed=request.seed)
    out: dict[str, Any] = {}
    tables: dict[str, pd.DataFrame] = {}
    for name, t in rep.tables.items():
        tables[f"robustness_{name}"] = t.table
        out[name] = {"verdict": t.verdict, "share_positive": t.share_positive,
                     "worst_variant": t.worst_variant, "worst_sharpe": t.worst_sharpe,
                     "rows": t.table.to_dict("records")}  # fmt: skip
    return out, tables, rep.sharpe_at_costs(2.0)


def _result_facts(result: Any, sharpe_2x: float | None) -> dict[str, float | None]:
    m = result.metrics
    return {
        "sharpe": _num(m.get("sharpe")),
        "max_drawdown": _num(m.get("max_drawdown")),
        "trades": float(result.num_trades),
        "profit_factor": _num(m.get("profit_factor")),
        "sharpe_2x_costs": sharpe_2x,
    }


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else f
