"""DSR and PBO of an ML search (the versions stored under one name), against hand-computed
PSR, expected maximum Sharpe ratio and a by-hand CSCV."""

from __future__ import annotations

import math
from itertools import combinations
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from alphaforge.services.ml_search import (
    Configuration,
    describe,
    gate_facts,
    optuna_trials,
    search_statistics,
)

PPY = 252.0


def _equity(rets: pd.Series) -> Any:
    """A stand-in backtest: ``equity`` whose bar returns are ``rets`` (after the first bar)."""
    eq = 100.0 * np.cumprod(np.r_[1.0, 1.0 + rets.to_numpy()])
    index = rets.index.insert(0, rets.index[0] - pd.Timedelta(days=1))
    return SimpleNamespace(equity=pd.Series(eq, index=index), config={"periods_per_year": PPY})


def _series(seed: int, n: int, start: str, drift: float) -> pd.Series:
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=n, freq="D", tz="UTC")
    return pd.Series(rng.normal(drift, 0.01, n), index=index)


def _psr(r: np.ndarray, sr0: float) -> float:
    """Bailey & Lopez de Prado's PSR, written out with scipy's moments."""
    sr = r.mean() / r.std(ddof=1)
    g3 = stats.skew(r)
    g4 = stats.kurtosis(r, fisher=False)
    z = (sr - sr0) * math.sqrt(len(r) - 1) / math.sqrt(1 - g3 * sr + (g4 - 1) / 4 * sr**2)
    return float(stats.norm.cdf(z))


def _chosen(meta: dict[str, Any] | None = None) -> Any:
    return SimpleNamespace(metadata=meta or {})


def test_one_configuration_is_said_and_the_dsr_is_the_psr() -> None:
    rets = _series(1, 400, "2015-01-01", 0.001)
    res = _equity(rets)
    cfg = [Configuration("m/v1", "lightgbm", "fixed", 5, rets)]
    out = search_statistics(_chosen(), res, cfg)
    assert out["n_configurations"] == 1 and out["pbo"] is None
    assert out["dsr"]["n_trials"] == 1
    assert out["dsr"]["dsr"] == pytest.approx(_psr(rets.to_numpy(), 0.0), rel=1e-9)
    assert out["dsr"]["dsr"] == pytest.approx(out["dsr"]["psr"])
    assert any("one configuration tried" in n for n in out["notes"])
    assert gate_facts(out) == {"dsr": out["dsr"]["dsr"], "pbo": None}
    assert describe(out).startswith("1 configuration tried; DSR")


def test_several_configurations_deflate_on_shared_bars_and_give_the_pbo() -> None:
    a = _series(2, 400, "2015-01-01", 0.0015)
    b = _series(3, 380, "2015-01-11", 0.0)  # starts 10 bars later
    c = _series(4, 400, "2015-01-01", -0.0005)
    res = _equity(a)
    cfg = [Configuration(f"m/v{i + 1}", "logistic", "fixed", 3, s) for i, s in enumerate((a, b, c))]
    out = search_statistics(_chosen(), res, cfg, n_blocks=4)
    shared = pd.DataFrame({"a": a, "b": b, "c": c}).dropna()
    assert len(shared) == 380 and all(r["shared_bars"] == 380 for r in out["configurations"])
    srs = (shared.mean() / shared.std(ddof=1)).to_numpy()
    var = srs.var(ddof=1)
    n, g = 3, 0.5772156649015329
    sr0 = math.sqrt(var) * (
        (1 - g) * stats.norm.ppf(1 - 1 / n) + g * stats.norm.ppf(1 - 1 / (n * math.e))
    )
    assert out["dsr"]["n_trials"] == 3
    assert out["dsr"]["var_trials"] == pytest.approx(var, rel=1e-9)
    assert out["dsr"]["sr0"] == pytest.approx(sr0, rel=1e-9)
    assert out["dsr"]["dsr"] == pytest.approx(_psr(a.to_numpy(), sr0), rel=1e-9)
    assert out["configurations"][0]["oos_sharpe"] == pytest.approx(srs[0] * math.sqrt(PPY))
    # CSCV by hand: 4 blocks of 95 bars, 6 ways to pick 2 in-sample blocks
    m = shared.to_numpy()
    blocks = np.array_split(np.arange(len(m)), 4)
    logits = []
    for ins in combinations(range(4), 2):
        is_rows = np.concatenate([blocks[i] for i in ins])
        oos_rows = np.concatenate([blocks[i] for i in range(4) if i not in ins])
        sr_is = m[is_rows].mean(0) / m[is_rows].std(0, ddof=1)
        sr_oos = m[oos_rows].mean(0) / m[oos_rows].std(0, ddof=1)
        best = int(np.argmax(sr_is))
        w = (np.sum(sr_oos < sr_oos[best]) + 1) / (3 + 1)  # rank of 1..N over N + 1
        logits.append(math.log(w / (1 - w)))
    assert out["pbo"]["pbo"] == pytest.approx(np.mean(np.array(logits) <= 0))
    assert out["pbo"]["n_combinations"] == 6


def test_a_configuration_that_could_not_run_is_counted_and_named() -> None:
    a = _series(5, 300, "2015-01-01", 0.001)
    cfg = [Configuration("m/v1", "logistic", "fixed", 3, a),
           Configuration("m/v2", "?", "?", 0, None, "not run: features changed")]  # fmt: skip
    out = search_statistics(_chosen(), _equity(a), cfg, n_blocks=4)
    assert out["n_configurations"] == 2
    assert out["pbo"] is None and out["dsr"]["n_trials"] == 1
    assert any("fewer than two configurations" in n for n in out["notes"])
    assert out["configurations"][1]["note"] == "not run: features changed"


def test_optuna_trials_are_counted_apart() -> None:
    meta = {"tuning": {"trials": 5}, "models_valid_from": ["a"] * 4, "cv_scores": [{}] * 3}
    assert optuna_trials(meta) == 35
    assert optuna_trials({"tuning": None}) == 0
    a = _series(6, 200, "2015-01-01", 0.001)
    out = search_statistics(_chosen(meta), _equity(a), [Configuration("m/v1", "x", "y", 1, a)])
    assert out["optuna_trials"] == 35 and out["dsr"]["n_trials"] == 1
    assert any("35 Optuna trials" in n for n in out["notes"])
