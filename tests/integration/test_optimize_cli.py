"""``alphaforge sweep`` / ``walkforward`` on the shared real equities file (10 symbols)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from alphaforge.cli.app import app, normalize_argv
from alphaforge.sim.result import BacktestResult
from alphaforge.testing import shared_data_file

pytestmark = [pytest.mark.integration, pytest.mark.slow]
SYMBOLS = ["AVB", "ADP", "AVY", "ADBE", "AMAT", "AEP", "CERN", "BA", "AMZN", "AXP"]


def _run(home: Path, *args: str) -> str:
    argv = normalize_argv(["--home", str(home), *args])
    res = CliRunner().invoke(app, argv, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def test_sweep_and_walkforward_on_real_data(tmp_path: Path) -> None:
    data = shared_data_file("us_equities_daily.parquet")
    home = tmp_path / "home"
    csv = tmp_path / "trials.csv"
    _run(
        home, "sweep", "sma_cross", "--symbols", *SYMBOLS, "--data", str(data),
        "--start", "2012-01-01", "--grid", "fast=10:30:10", "--grid", "slow=20:60:20",
        "--constraint", "num_trades>=3", "--workers", "1", "--export", str(csv), "--quiet",
    )  # fmt: skip
    (job,) = list((home / "sweeps").iterdir())
    manifest = json.loads((job / "manifest.json").read_text())
    # fast 10,20,30 x slow 20,40,60 = 9 combos; (20,20), (30,20) rejected by fast < slow
    assert manifest["complete"] and manifest["summary"]["invalid"] == 2
    table = pd.read_csv(csv)
    assert len(table) == 7 and (table["n_symbols"] == 10).all()
    rows = pd.read_parquet(job / "trials")
    assert sorted(rows["symbol"].unique()) == sorted(SYMBOLS)
    assert (job / "heatmap.html").exists() and (job / "per_symbol_best.parquet").exists()

    report = tmp_path / "wf.html"
    _run(
        home, "walkforward", "sma_cross", "--symbols", *SYMBOLS, "--data", str(data),
        "--start", "2015-01-01", "--train-len", "252", "--test-len", "63",
        "--grid", "fast=10,20", "--grid", "slow=50,100", "--workers", "1",
        "--report", str(report), "--json", str(tmp_path / "wf.json"), "--quiet",
    )  # fmt: skip
    res = BacktestResult.from_json(tmp_path / "wf.json")
    # 2015-01-02 .. 2019-12-31 is 1,258 sessions: folds while 315 + 63 k <= 1258 -> 15 folds
    assert len(res.index) == 15 * 63
    assert report.exists() and report.stat().st_size > 10_000
