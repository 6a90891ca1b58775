"""``alphaforge validate`` end to end: a planted edge passes the gate, pure noise fails it, the
verdict is stored and guards ``paper --require-gate``, bad input is refused in one line."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from alphaforge.cli.app import app, normalize_argv
from alphaforge.config.settings import AppSettings
from alphaforge.config.specs import load_run_spec
from alphaforge.core.errors import ConfigError, DataError
from alphaforge.services.optimize import (
    SweepRequest,
    WalkForwardRequest,
    run_sweep,
    run_walkforward,
)
from alphaforge.services.validate import ValidationRequest, run_validation
from alphaforge.services.validate_store import require_gate

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RANDOM_STRATEGY = '''
import numpy as np
from alphaforge.strategy.base import Signals, Strategy, StrategyData, StrategyParams, param


class RandomParams(StrategyParams):
    seed: int = param(0, ge=0, le=100_000, step=1, description="Seed of the coin flips")


class RandomSignals(Strategy[RandomParams]):
    """Entries and exits by coin flip: no edge by construction; each seed is one trial."""

    name = "random_signals"

    def warmup(self) -> int:
        return 0

    def signals(self, data: StrategyData) -> Signals:
        rng = np.random.default_rng(self.params.seed)
        shape = data.close.shape
        return Signals(entries=rng.random(shape) < 0.05, exits=rng.random(shape) < 0.05)
'''


def _bars(path: Path, symbol: str, returns: np.ndarray) -> Path:
    n = len(returns)
    close = 100.0 * np.exp(np.cumsum(returns))
    opens = np.r_[close[0], close[:-1]]
    pd.DataFrame({
        "symbol": symbol, "timestamp": pd.bdate_range("2010-01-04", periods=n, tz="UTC"),
        "open": opens, "high": np.maximum(opens, close) * 1.002,
        "low": np.minimum(opens, close) * 0.998, "close": close, "volume": 1e6,
    }).to_csv(path, index=False)  # fmt: skip
    return path


def planted_trend_returns(seed: int, n: int = 2520) -> np.ndarray:
    """Daily log returns whose drift (+/-0.3 %) persists for ~40 bars: a real, tradable trend."""
    rng = np.random.default_rng(seed)
    flips = rng.random(n) < 1 / 40
    state = np.where(np.cumsum(flips) % 2 == 0, 1.0, -1.0)
    return 0.003 * state + rng.normal(0.0, 0.008, n)


def _quick(target: str, **kw: object) -> ValidationRequest:
    return ValidationRequest(target=target, sims=300, spa_reps=200, **kw)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    root = tmp_path_factory.mktemp("edge")
    data = _bars(root / "plant.csv", "PLANT", planted_trend_returns(3))
    settings = AppSettings(home=root / "home")
    spec = load_run_spec(
        None,
        {"strategy": "sma_cross", "data": str(data), "symbols": ["PLANT"],
         "direction": "long_short"},
    )  # fmt: skip
    grids = ["fast=3:15:3", "slow=20:60:10"]
    sweep = run_sweep(SweepRequest(spec=spec, grids=grids, per_symbol=False, workers=1), settings)
    wf = run_walkforward(
        WalkForwardRequest(spec=spec, grids=grids, workers=1, train_len=504, test_len=126),
        settings,
    )
    report = run_validation(_quick(sweep.job_id, walkforward=wf.job_id), settings)
    return {"root": root, "settings": settings, "sweep": sweep, "report": report, "spec": spec}


def test_a_planted_edge_passes_every_criterion(edge: dict[str, object]) -> None:
    rep = edge["report"]
    assert rep.gate.passed, rep.gate.to_frame()  # type: ignore[attr-defined]
    statuses = {r.criterion: r.status for r in rep.gate.rows}  # type: ignore[attr-defined]
    assert set(statuses.values()) == {"PASS"}, statuses
    body = rep.body  # type: ignore[attr-defined]
    n_trials = len(edge["sweep"].table)  # type: ignore[attr-defined]
    assert body["significance"]["trials"]["n_trials"] == n_trials
    assert body["overfitting"]["pbo"]["pbo"] < 0.2
    assert body["overfitting"]["spa"]["p_consistent"] < 0.05
    # the reported DSR is the PSR against the expected best Sharpe of n_trials noise trials
    sh = body["significance"]["sharpe"]
    assert sh["sr0"] > 0 and sh["dsr"] <= sh["psr"]
    # the Monte Carlo intervals hold the observed value
    for method in ("trades_resample", "bars_stationary"):
        d = body["montecarlo"][method]["total_return"]
        assert d["ci_low"] <= d["observed"] <= d["ci_high"]
    # robustness re-ran the best parameters: 1x costs is the validated backtest itself
    costs = {r["multiplier"]: r for r in body["robustness"]["costs"]["rows"]}
    assert costs[1.0]["sharpe"] == pytest.approx(body["metrics"]["sharpe"], rel=1e-12)
    assert costs[0.0]["final_equity"] > costs[1.0]["final_equity"] > costs[3.0]["final_equity"]


def test_the_verdict_is_stored_and_guards_paper(edge: dict[str, object]) -> None:
    settings: AppSettings = edge["settings"]  # type: ignore[assignment]
    rep = edge["report"]
    stored = json.loads(Path(rep.path).read_text())  # type: ignore[attr-defined]
    assert stored["gate"]["passed"] and stored["research_hash"]
    params = rep.body["params"]  # type: ignore[attr-defined]
    root: Path = edge["root"]  # type: ignore[assignment]
    config = root / "paper.yaml"
    spec_body = {"strategy": "sma_cross", "symbols": ["PLANT"], "direction": "long_short",
                 "params": params, "broker": {"name": "simulated"}}  # fmt: skip
    config.write_text(json.dumps(spec_body))
    os.utime(config, (time.time() - 3600, time.time() - 3600))  # written before the validation
    assert require_gate(load_run_spec(config), config, settings.home).passed
    os.utime(config, None)  # edited after the validation
    with pytest.raises(ConfigError, match=r"changed .* after its last validation"):
        require_gate(load_run_spec(config), config, settings.home)
    other = dict(spec_body, params={**params, "fast": int(params["fast"]) + 1})
    config.write_text(json.dumps(other))
    with pytest.raises(ConfigError, match="no validation of this strategy"):
        require_gate(load_run_spec(config), config, settings.home)
    res = CliRunner().invoke(
        app, ["--home", str(settings.home), "paper", "-c", str(config), "--require-gate"]
    )
    assert res.exit_code != 0 and "no validation" in res.output


def test_report_has_the_validation_section(edge: dict[str, object]) -> None:
    from alphaforge.reports import write_report

    rep = edge["report"]
    path = write_report(rep.target.result, Path(edge["root"]) / "v.html", validation=rep.body)  # type: ignore[attr-defined,arg-type]
    html = path.read_text()
    for needle in ('id="validation"', 'id="gate-table"', "chart-val-mc", "chart-val-pbo",
                   "chart-val-regimes", "chart-val-robustness", "Deflated Sharpe Ratio"):  # fmt: skip
        assert needle in html, needle


def test_same_seed_same_numbers(edge: dict[str, object]) -> None:
    settings: AppSettings = edge["settings"]  # type: ignore[assignment]
    job = edge["sweep"].job_id  # type: ignore[attr-defined]
    a = run_validation(_quick(job, robustness=False, regimes=False), settings).body
    b = run_validation(_quick(job, robustness=False, regimes=False), settings).body
    c = run_validation(_quick(job, robustness=False, regimes=False, seed=1), settings).body
    for key in ("significance", "montecarlo", "overfitting", "gate"):
        assert a[key] == b[key], key
    assert a["montecarlo"] != c["montecarlo"]


def test_random_signals_fail_the_gate(tmp_path: Path) -> None:
    """Trials of pure noise: PBO near one half, DSR far below 0.95 (the selection is luck)."""
    strat = tmp_path / "randsig.py"
    strat.write_text(RANDOM_STRATEGY)
    settings = AppSettings(home=tmp_path / "home")
    pbos, dsrs = [], []
    for seed in (5, 6, 7):
        rets = np.random.default_rng(seed).normal(0.0, 0.012, 2520)  # no drift: nothing to earn
        data = _bars(tmp_path / f"noise{seed}.csv", "NOISE", rets)
        spec = load_run_spec(
            None, {"strategy": f"{strat}:RandomSignals", "data": str(data), "symbols": ["NOISE"]}
        )
        job = run_sweep(
            SweepRequest(spec=spec, grids=["seed=0:49"], per_symbol=False, workers=1), settings
        ).job_id
        rep = run_validation(_quick(job, robustness=False), settings)
        assert not rep.gate.passed
        pbos.append(rep.body["overfitting"]["pbo"]["pbo"])
        dsrs.append(rep.body["significance"]["sharpe"]["dsr"])
    assert 0.3 <= float(np.mean(pbos)) <= 0.8, pbos
    assert max(dsrs) < 0.95 and float(np.mean(dsrs)) < 0.7, dsrs
    res = CliRunner().invoke(
        app, ["--home", str(settings.home), "validate", job, "--no-robustness", "--sims", "200",
              "--spa-reps", "100", "-q"],
    )  # fmt: skip
    assert res.exit_code == 1 and "NO-GO" in res.output


def _cli(home: Path, *args: str) -> tuple[int, str]:
    res = CliRunner().invoke(app, normalize_argv(["--home", str(home), *args]))
    return res.exit_code, res.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["validate", "no-such-job"], "'no-such-job' is neither a file nor a run"),
        (["validate", "JOB", "--blocks", "3"], "--blocks"),
        (["validate", "JOB", "--sims", "5"], "--sims"),
        (["validate", "JOB", "--hmm-states", "7"], "--hmm-states"),
        (["validate", "JOB", "--gate", "GATE"], "min_sharp"),
        (["validate", "JOB", "--json", "DIR"], "is a directory"),
        (["validate", "ONE"], "sweep at least 2 parameter sets"),
        (["validate", "NOTRADES"], "has no trades"),
        (["paper", "-c", "CFG", "--require-gate"], "no validation"),
    ],
)
def test_bad_input_is_refused_in_one_line(
    edge: dict[str, object], tmp_path: Path, args: list[str], needle: str
) -> None:
    settings: AppSettings = edge["settings"]  # type: ignore[assignment]
    spec = edge["spec"]
    gate = tmp_path / "gate.yaml"
    gate.write_text("min_sharp: 1.0\n")
    cfg = tmp_path / "run.yaml"
    cfg.write_text("strategy: sma_cross\nsymbols: [PLANT]\nparams: {fast: 2, slow: 90}\n")
    subs = {"JOB": edge["sweep"].job_id, "GATE": str(gate), "DIR": str(tmp_path), "CFG": str(cfg)}  # type: ignore[attr-defined]
    if "ONE" in args:
        one = run_sweep(SweepRequest(spec=spec, grids=["fast=5", "slow=30"], per_symbol=False,  # type: ignore[arg-type]
                                     workers=1), settings)  # fmt: skip
        subs["ONE"] = one.job_id
    if "NOTRADES" in args:
        subs["NOTRADES"] = str(_flat_result(spec, settings, tmp_path))
    before = sorted(p.name for p in (settings.home / "validations").glob("*"))
    code, out = _cli(settings.home, *[subs.get(a, a) for a in args])
    assert code not in (0, None), out
    lines = [ln for ln in out.strip().splitlines() if ln.strip()]
    assert lines[-1].startswith("error:") and needle in " ".join(lines), out
    assert "Traceback" not in out
    assert sorted(p.name for p in (settings.home / "validations").glob("*")) == before


def _flat_result(spec: object, settings: AppSettings, tmp_path: Path) -> Path:
    """A result with no trades: constant prices never make the averages cross."""
    from alphaforge.services.backtest import run_spec

    data = _bars(tmp_path / "flat.csv", "PLANT", np.zeros(300))
    flat = spec.model_copy(update={"data": str(data)})  # type: ignore[attr-defined]
    result = run_spec(flat, settings)
    assert result.num_trades == 0
    return result.to_json(tmp_path / "flat.json")


def test_no_trades_is_a_data_error(edge: dict[str, object], tmp_path: Path) -> None:
    settings: AppSettings = edge["settings"]  # type: ignore[assignment]
    path = _flat_result(edge["spec"], settings, tmp_path)
    with pytest.raises(DataError, match="no trades"):
        run_validation(_quick(str(path)), settings)


def test_validate_an_sma_sweep_on_real_data(tmp_path: Path) -> None:
    """MSFT 1999-2019 from ../shared/data: the whole command, its files and exit code."""
    from alphaforge.testing import shared_data_file

    data = shared_data_file("us_equities_daily.parquet")
    home = tmp_path / "home"
    base = ["sma_cross", "-s", "MSFT", "--data", str(data), "-g", "fast=5:25:10",
            "-g", "slow=50:150:50", "-q"]  # fmt: skip
    code, _ = _cli(home, "sweep", *base, "--portfolio")
    assert code == 0
    (job,) = [p.name for p in (home / "sweeps").iterdir()]
    code, _ = _cli(home, "walkforward", *base, "--train-len", "756", "--test-len", "252")
    assert code == 0
    (wf,) = [p.name for p in (home / "walkforward").iterdir()]
    report, out_json = tmp_path / "v.html", tmp_path / "v.json"
    code, out = _cli(home, "validate", job, "--walkforward", wf, "--sims", "300",
                     "--spa-reps", "200", "--report", str(report), "--json", str(out_json))  # fmt: skip
    body = json.loads(out_json.read_text())
    assert code == (0 if body["gate"]["passed"] else 1), out
    assert body["symbols"] == ["MSFT"] and body["significance"]["trials"]["n_trials"] == 9
    assert {r["criterion"] for r in body["gate"]["rows"]} >= {"dsr", "pbo", "wf_oos_return"}
    assert all(r["status"] != "N/A" for r in body["gate"]["rows"]), body["gate"]
    assert 'id="validation"' in report.read_text()
    assert "Gate:" in out and "PBO" in out


def test_a_sweep_whose_bars_changed_is_refused(tmp_path: Path) -> None:
    rets = planted_trend_returns(4, n=600)
    data = _bars(tmp_path / "p.csv", "PLANT", rets)
    settings = AppSettings(home=tmp_path / "home")
    spec = load_run_spec(None, {"strategy": "sma_cross", "data": str(data), "symbols": ["PLANT"]})
    req = SweepRequest(spec=spec, grids=["fast=5,10", "slow=30"], per_symbol=False, workers=1)
    job = run_sweep(req, settings).job_id
    _bars(data, "PLANT", rets * 1.01)  # the file is rewritten with other prices
    with pytest.raises(DataError, match="changed since the sweep"):
        run_validation(_quick(job, robustness=False, regimes=False), settings)
