"""``alphaforge strategy list|show|new`` and ``alphaforge lookahead`` through the real CLI app."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from alphaforge.cli.app import app, normalize_argv
from alphaforge.strategy.registry import builtin_strategies
from alphaforge.testing import shared_data_file

pytestmark = pytest.mark.integration

runner = CliRunner()

PEEKING = '''
import numpy as np
from alphaforge.strategy.base import Signals, Strategy


class Peek(Strategy):
    """Buys before tomorrow's up-move: reads the next bar."""

    def signals(self, data):
        nxt = np.vstack([data.close[1:], np.full((1, data.shape[1]), np.nan)])
        with np.errstate(invalid="ignore"):
            up = nxt > data.close
        return Signals(entries=up, exits=~up)
'''


def cli(home: Path, *args: str) -> tuple[int, str]:
    argv = normalize_argv(["--home", str(home), *args])
    result = runner.invoke(app, argv, env={"COLUMNS": "220"})
    return result.exit_code, result.output


def test_strategy_list_shows_every_builtin_and_its_kind(tmp_path: Path) -> None:
    code, out = cli(tmp_path, "strategy", "list")
    assert code == 0, out
    for name in builtin_strategies():
        assert name in out
    line = next(x for x in out.splitlines() if "momentum_rotation" in x)
    assert "weights" in line
    line = next(x for x in out.splitlines() if "donchian_breakout" in x)
    assert "signals" in line


def test_strategy_show_prints_doc_and_params(tmp_path: Path) -> None:
    code, out = cli(tmp_path, "strategy", "show", "pairs_trading")
    assert code == 0, out
    assert "Engle–Granger" in out and "entry_z" in out and "1%, 5%, 10%" in out
    code, out = cli(tmp_path, "strategy", "show", "no_such")
    assert code != 0 and "unknown strategy 'no_such'" in out


def test_strategy_new_writes_a_template_that_backtests(tmp_path: Path) -> None:
    data = shared_data_file("us_equities_daily.parquet")
    code, out = cli(tmp_path, "strategy", "new", "my_trend", "--dir", str(tmp_path / "strats"))
    assert code == 0, out
    path = tmp_path / "strats" / "my_trend.py"
    assert path.is_file()
    code, out = cli(tmp_path, "strategy", "new", "my_trend", "--dir", str(tmp_path / "strats"))
    assert code != 0 and "already exists" in out
    code, out = cli(
        tmp_path, "backtest", f"{path}:MyTrend", "--data", str(data), "--symbols", "MSFT", "JPM",
        "--start", "2005-01-01", "--end", "2015-12-31",
    )  # fmt: skip
    assert code == 0, out
    assert "my_trend" in out
    saved = next((tmp_path / "runs").rglob("result.json"))
    doc = json.loads(saved.read_text())
    assert doc["metrics"]["num_trades"] > 0
    code, out = cli(tmp_path, "lookahead", f"{path}:MyTrend", "--data", str(data),
                    "--symbols", "MSFT", "JPM", "--start", "2005-01-01", "--cuts", "10")  # fmt: skip
    assert code == 0, out
    assert "no look-ahead found" in out


def test_strategy_new_rejects_bad_name(tmp_path: Path) -> None:
    code, out = cli(tmp_path, "strategy", "new", "9lives", "--dir", str(tmp_path))
    assert code != 0 and "9lives" in out
    assert not list(tmp_path.glob("*.py"))


def test_lookahead_flags_a_peeking_strategy_and_exits_non_zero(tmp_path: Path) -> None:
    data = shared_data_file("us_equities_daily.parquet")
    src = tmp_path / "peek.py"
    src.write_text(PEEKING)
    report = tmp_path / "out" / "lookahead.json"
    code, out = cli(tmp_path, "lookahead", f"{src}:Peek", "--data", str(data), "--symbols", "KO",
                    "--start", "2015-01-01", "--cuts", "8", "--json", str(report))  # fmt: skip
    assert code == 1, out
    assert "differing value" in out and "entries" in out
    doc = json.loads(report.read_text())
    assert doc["ok"] is False and doc["issues"]
    assert {i["check"] for i in doc["issues"]} == {"lookahead"}
    assert all(i["symbol"] == "KO" for i in doc["issues"])


def test_lookahead_builtin_with_params_passes(tmp_path: Path) -> None:
    data = shared_data_file("us_equities_daily.parquet")
    code, out = cli(tmp_path, "lookahead", "momentum_rotation", "--data", str(data),
                    "--symbols", "MSFT,JPM,KO,XOM", "--param", "top_n=2", "--param", "lookback=126",
                    "--start", "2010-01-01", "--cuts", "12")  # fmt: skip
    assert code == 0, out
    assert "'top_n': 2" in out and "12 cut(s)" in out
    code, out = cli(tmp_path, "lookahead", "sma_cross", "--data", str(data), "--symbols", "KO",
                    "--param", "fast=80", "--param", "slow=20")  # fmt: skip
    assert code != 0 and "fast (80) must be smaller than slow (20)" in out
