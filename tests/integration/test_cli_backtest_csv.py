"""``backtest --trades-csv / --equity-csv``: the trades and the equity curve as CSV files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from alphaforge.cli.app import app, normalize_argv
from alphaforge.cli.result_csv import check_csv_options
from alphaforge.core.errors import ConfigError

pytestmark = pytest.mark.integration


def test_trades_and_equity_csv(tmp_path: Path) -> None:
    index = pd.bdate_range("2020-01-01", periods=300)
    close = 100 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.02, len(index))))
    pd.DataFrame(
        {"symbol": "AAA", "timestamp": index.strftime("%Y-%m-%d"), "open": close,
         "high": close * 1.01, "low": close * 0.99, "close": close, "volume": 1e6}
    ).to_csv(tmp_path / "bars.csv", index=False)  # fmt: skip
    out = tmp_path / "out"
    out.mkdir()
    (out / "trades.csv").write_text("an older file, replaced whole\n")
    args = [
        "--home", str(tmp_path / "home"), "backtest", "sma_cross", "--data",
        str(tmp_path / "bars.csv"), "-p", "fast=5", "-p", "slow=20", "-q",
        "--json", str(out / "r.json"), "--trades-csv", str(out / "trades.csv"),
        "--equity-csv", str(out / "equity.csv"),
    ]  # fmt: skip
    res = CliRunner().invoke(app, normalize_argv(args))
    assert res.exit_code == 0, res.output
    assert f"trades: {out / 'trades.csv'}" in res.stdout
    assert f"equity: {out / 'equity.csv'}" in res.stdout
    assert sorted(p.name for p in out.iterdir()) == ["equity.csv", "r.json", "trades.csv"]

    doc = json.loads((out / "r.json").read_text())
    cash = doc["config"]["cash"]
    trades = pd.read_csv(out / "trades.csv")
    assert len(trades) == doc["num_trades"] > 0
    assert list(trades.columns[:4]) == ["symbol", "direction", "entry_time", "exit_time"]
    assert (trades["symbol"] == "AAA").all()
    # every position is closed by the end (the last trade exits at the end of the data), so the
    # trades' P&L adds up to the change in equity
    assert trades["pnl"].sum() == pytest.approx(doc["final_equity"] - cash, rel=1e-9)
    entry = pd.to_datetime(trades["entry_time"])
    assert (entry >= pd.Timestamp("2020-01-01", tz="UTC")).all()

    equity = pd.read_csv(out / "equity.csv", parse_dates=["timestamp"])
    assert list(equity.columns) == ["timestamp", "equity", "cash", "exposure", "benchmark"]
    assert len(equity) == len(index)
    assert equity["timestamp"].dt.strftime("%Y-%m-%d").tolist() == list(index.strftime("%Y-%m-%d"))
    assert equity["equity"].iloc[0] == cash and equity["benchmark"].iloc[0] == cash
    assert equity["equity"].iloc[-1] == pytest.approx(doc["final_equity"], rel=1e-12)
    before_first_entry = equity["timestamp"] < entry.min()
    assert (equity.loc[before_first_entry, "exposure"] == 0).all()
    assert (equity.loc[before_first_entry, "cash"] == cash).all()


def test_csv_options_are_refused_where_they_would_write_nothing(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"--trades-csv: not with --per-symbol"):
        check_csv_options({"trades_csv": tmp_path / "t.csv", "per_symbol": True})
    with pytest.raises(ConfigError, match=r"--equity-csv .*: is a directory"):
        check_csv_options({"equity_csv": tmp_path, "per_symbol": False})
    check_csv_options({"trades_csv": None, "equity_csv": None, "per_symbol": True})
