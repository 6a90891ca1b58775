"""``backtest --per-symbol`` and the sizing / risk flags, through the real CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from alphaforge.cli.app import app, normalize_argv
from alphaforge.cli.backtest_options import parse_size, per_symbol_path
from alphaforge.core.errors import ConfigError
from alphaforge.sim.result import BacktestResult

pytestmark = pytest.mark.integration
SYMBOLS = ("AAA", "BBB")


@pytest.fixture(scope="module")
def bars(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two symbols of random-walk daily bars; BBB starts 60 sessions later than AAA."""
    frames = []
    for k, sym in enumerate(SYMBOLS):
        rng = np.random.default_rng(11 + k)
        n = 400 - 60 * k
        close = 50 * np.exp(np.cumsum(rng.normal(0.0003, 0.02, n)))
        open_ = close * np.exp(rng.normal(0, 0.004, n))
        frames.append(pd.DataFrame({
            "symbol": sym, "timestamp": pd.bdate_range("2020-01-01", periods=400)[60 * k:],
            "open": open_, "high": np.maximum(open_, close) * 1.01,
            "low": np.minimum(open_, close) * 0.99, "close": close, "volume": 1e6,
        }))  # fmt: skip
    path = tmp_path_factory.mktemp("bars") / "two.csv"
    pd.concat(frames).to_csv(path, index=False)
    return path


def _run(home: Path, *args: str) -> str:
    res = CliRunner().invoke(app, normalize_argv(["--home", str(home), *args]))
    assert res.exit_code == 0, res.output
    return res.output


def _result(home: Path, *args: str) -> BacktestResult:
    out = home.parent / f"{home.name}.json"
    _run(home, *args, "--json", str(out), "-q")
    return BacktestResult.from_json(out)


def test_per_symbol_equals_single_symbol_backtests(bars: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    args = ("backtest", "sma_cross", "--data", str(bars), "-s", *SYMBOLS, "-p", "fast=5",
            "-p", "slow=20")  # fmt: skip
    out = tmp_path / "out.json"
    shown = _run(home, *args, "--per-symbol", "--json", str(out))
    assert "2 independent single-symbol backtests" in shown
    for sym in SYMBOLS:
        got = BacktestResult.from_json(per_symbol_path(out, sym))
        alone = _result(tmp_path / f"alone-{sym}", *args[:4], "-s", sym, *args[-4:])
        # each symbol: its own account with the full cash, on its own bars only
        assert list(got.symbols) == [sym] and got.index.equals(alone.index)
        assert got.final_equity == alone.final_equity and got.num_trades == alone.num_trades
        assert got.equity_values[0] == 100_000.0
        (run,) = (home / "runs").glob(f"*-sma_cross-{sym}")
        assert BacktestResult.from_json(run / "result.json").final_equity == got.final_equity


def test_size_and_risk_flags_set_the_yaml_keys(bars: Path, tmp_path: Path) -> None:
    base = ("backtest", "sma_cross", "--data", str(bars), "-s", *SYMBOLS, "-p", "fast=5",
            "-p", "slow=20")  # fmt: skip
    config = tmp_path / "run.yaml"
    config.write_text(
        "sizing: {method: fraction, value: 0.25}\n"
        "risk: {max_positions: 1, max_drawdown: 0.05, daily_loss_limit: 0.01}\n"
    )
    flags = _result(tmp_path / "flags", *base, "--size", "25%", "--max-positions", "1",
                    "--max-drawdown", "5%", "--daily-loss", "1%")  # fmt: skip
    yaml = _result(tmp_path / "yaml", *base, "-c", str(config))
    default = _result(tmp_path / "default", *base)
    assert flags.config["sizing"] == yaml.config["sizing"]
    assert flags.config["risk"] == yaml.config["risk"]
    assert flags.final_equity == yaml.final_equity and flags.num_trades == yaml.num_trades
    assert flags.final_equity != default.final_equity
    # a quarter of equity per entry: the first entry's value is about 25,000 (whole shares,
    # sized at the signal's close, filled at the next open)
    first = flags.trades.iloc[0]
    assert 24_000 < first["quantity"] * first["entry_price"] < 26_000


def test_size_texts() -> None:
    assert parse_size("10%") == {"method": "fraction", "value": pytest.approx(0.1)}
    assert parse_size("cash:10000") == {"method": "cash", "value": 10_000.0}
    assert parse_size("vol-target:15%") == {"method": "vol_target", "value": pytest.approx(0.15)}
    assert parse_size("all_in") == {"method": "all_in", "value": None}
    assert parse_size("risk") == {"method": "risk", "value": None}
    for bad in ("0.1", "foo:1", "all_in:1", "fraction:abc"):
        with pytest.raises(ConfigError, match="--size"):
            parse_size(bad)
    assert json.dumps(parse_size("shares:100")) == '{"method": "shares", "value": 100.0}'
