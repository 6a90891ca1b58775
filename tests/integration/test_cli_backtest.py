"""``alphaforge backtest`` end to end through the real CLI entry point."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from alphaforge.cli.app import app, normalize_argv
from alphaforge.testing import shared_data_file

pytestmark = pytest.mark.integration
runner = CliRunner()


def invoke(args: list[str]):  # type: ignore[no-untyped-def]
    return runner.invoke(app, normalize_argv(args))


def _bars_csv(path: Path, n: int = 300, seed: int = 3) -> Path:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    open_ = close * np.exp(rng.normal(0, 0.005, n))
    high = np.maximum(open_, close) * 1.01
    low = np.minimum(open_, close) * 0.99
    dates = pd.bdate_range("2020-01-01", periods=n)
    pd.DataFrame(
        {"Date": dates.strftime("%Y-%m-%d"), "Open": open_, "High": high, "Low": low,
         "Close": close, "Volume": 1e6}
    ).to_csv(path, index=False)  # fmt: skip
    return path


def test_normalize_argv_expands_symbols() -> None:
    assert normalize_argv(["backtest", "x", "--symbols", "A", "B", "--param", "f=1"]) == [
        "backtest", "x", "--symbols", "A", "--symbols", "B", "--param", "f=1",
    ]  # fmt: skip


def test_acceptance_command_on_shared_data(tmp_path: Path) -> None:
    data = shared_data_file("us_equities_daily.parquet")
    out = tmp_path / "out.json"
    res = invoke(
        ["--home", str(tmp_path / "home"), "backtest", "sma_cross", "--symbols", "MSFT", "JPM",
         "--param", "fast=10", "--param", "slow=50", "--data", str(data), "--json", str(out)]
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    for key in ("final_equity", "total_return", "num_trades", "sharpe", "max_drawdown", "config"):
        assert key in doc
    assert doc["num_trades"] == len(doc["trades"]) > 10
    assert set(doc["trades"][0]) >= {
        "symbol", "entry_time", "exit_time", "entry_price", "exit_price", "quantity", "pnl",
        "exit_reason",
    }  # fmt: skip
    assert doc["config"]["costs"]["commission"] == "0.1%"
    assert {t["symbol"] for t in doc["trades"]} == {"MSFT", "JPM"}
    # the run is also kept under the home
    assert list((tmp_path / "home" / "runs").glob("*/result.json"))
    # final equity = start cash + sum of trade P&L (open trades valued at the last close)
    assert doc["final_equity"] == pytest.approx(
        100_000 + sum(t["pnl"] for t in doc["trades"]), rel=1e-9
    )


def test_csv_file_with_flags_and_report(tmp_path: Path) -> None:
    csv = _bars_csv(tmp_path / "asset.csv")
    out, rep = tmp_path / "r.json", tmp_path / "r.html"
    res = invoke(
        ["--home", str(tmp_path / "h"), "backtest", "sma_cross", "--data", str(csv), "-p", "fast=5",
         "-p", "slow=20", "--commission", "0.005/share,min=1", "--slippage", "2bps",
         "--stop-loss", "5%", "--take-profit", "2atr", "--json", str(out), "--report", str(rep)]
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    doc = json.loads(out.read_text())
    assert doc["config"]["exits"]["stop_loss"] == "5%"
    assert doc["config"]["costs"]["commission"] == "0.005/share,min=1"
    assert rep.read_text().lstrip().lower().startswith(("<!doctype html", "<html"))


def test_lookahead_check_is_recorded(tmp_path: Path) -> None:
    csv = _bars_csv(tmp_path / "asset.csv")
    out = tmp_path / "r.json"
    res = invoke(
        ["--home", str(tmp_path / "h"), "backtest", "sma_cross", "--data", str(csv),
         "-p", "fast=5", "-p", "slow=20", "--lookahead-check", "--json", str(out)]
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    verdict = json.loads(out.read_text())["manifest"]["lookahead"]
    assert verdict["ok"] is True and verdict["issues"] == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backtest", "nope", "--data", "{csv}"], "unknown strategy 'nope'"),
        (
            ["backtest", "sma_cross", "--data", "{csv}", "-p", "fast=60"],
            "fast (60) must be smaller than slow",
        ),
        (
            ["backtest", "sma_cross", "--data", "{csv}", "-p", "speed=3"],
            "parameter speed: unknown parameter",
        ),
        (["backtest", "sma_cross", "--data", "{csv}", "--commission", "lots"], "costs.commission"),
        (["backtest", "sma_cross", "--data", "{missing}"], "no such data file"),
        (["backtest", "sma_cross", "--data", "{csv}", "--symbols", "ZZZ"], "ZZZ"),
    ],
)
def test_bad_input_one_line_error(tmp_path: Path, args: list[str], message: str) -> None:
    csv = _bars_csv(tmp_path / "asset.csv")
    args = [a.format(csv=csv, missing=tmp_path / "missing.csv") for a in args]
    res = invoke(["--home", str(tmp_path / "h"), *args])
    assert res.exit_code == 2  # bad input (1 is a run that failed)
    text = " ".join(res.output.split())
    assert message in text, res.output
    assert not (tmp_path / "h" / "runs").exists()


def test_setting_the_strategy_would_ignore_is_a_one_line_error(tmp_path: Path) -> None:
    csv = _bars_csv(tmp_path / "asset.csv")
    cfg = tmp_path / "run.yaml"
    cfg.write_text("rebalance: weekly\n")  # a schedule for target weights, given to sma_cross
    res = invoke(
        ["--home", str(tmp_path / "h"), "backtest", "sma_cross", "--data", str(csv), "-p", "fast=5",
         "-p", "slow=20", "--config", str(cfg)]
    )  # fmt: skip
    assert res.exit_code != 0
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1, res.output
    assert lines[0].startswith(f"error: {cfg}: rebalance:"), lines[0]  # the file and the key
    assert res.exit_code == 2  # a configuration error
    assert "apply to TargetWeights strategies, not Signals (got 'weekly')" in lines[0]
    assert not (tmp_path / "h" / "runs").exists()
