"""Results serialise to JSON and Parquet and load back with the same numbers."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import alphaforge
from alphaforge.core.errors import DataError
from alphaforge.sim.result import BacktestResult
from alphaforge.testing.records import assert_records_equal


def _ohlc(n: int = 400, seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    open_ = close * np.exp(rng.normal(0, 0.004, n))
    idx = pd.bdate_range("2021-01-01", periods=n, tz="UTC")
    return pd.DataFrame(
        {"open": open_, "high": np.maximum(open_, close) * 1.01,
         "low": np.minimum(open_, close) * 0.99, "close": close, "volume": 1e6},
        index=idx,
    )  # fmt: skip


@pytest.fixture(scope="module")
def result() -> BacktestResult:
    return alphaforge.backtest("sma_cross", _ohlc(), params={"fast": 5, "slow": 20}, stop_loss="4%")


def _same(a: BacktestResult, b: BacktestResult) -> None:
    np.testing.assert_array_equal(a.equity_values, b.equity_values)
    assert_records_equal(a.trade_records, b.trade_records)
    assert_records_equal(a.order_records, b.order_records)
    pd.testing.assert_frame_equal(a.trades, b.trades)
    pd.testing.assert_index_equal(a.index, b.index)
    assert a.close_values is not None and b.close_values is not None
    np.testing.assert_array_equal(a.close_values, b.close_values)
    assert a.config == b.config
    assert a.params == b.params
    assert a.manifest["data_hash"] == b.manifest["data_hash"]
    for k, v in a.metrics.items():
        assert b.metrics[k] == pytest.approx(v, nan_ok=True), k


def test_json_round_trip(result: BacktestResult, tmp_path: Path) -> None:
    assert result.num_trades > 3
    path = result.to_json(tmp_path / "r.json")
    doc = json.loads(path.read_text())
    assert doc["num_trades"] == result.num_trades
    assert doc["manifest"]["config_hash"] and doc["manifest"]["data_hash"]
    assert doc["manifest"]["fill_policy"]["fill"] == "next_open"
    _same(result, BacktestResult.from_json(path))


def test_parquet_round_trip(result: BacktestResult, tmp_path: Path) -> None:
    d = result.to_parquet(tmp_path / "r")
    assert (d / "trades.parquet").exists() and (d / "series.parquet").exists()
    _same(result, BacktestResult.from_parquet(d))


def test_manifest_reproduces(result: BacktestResult) -> None:
    again = alphaforge.backtest(
        "sma_cross", _ohlc(), params={"fast": 5, "slow": 20}, stop_loss="4%"
    )
    assert again.manifest["data_hash"] == result.manifest["data_hash"]
    assert again.manifest["config_hash"] == result.manifest["config_hash"]
    np.testing.assert_array_equal(again.equity_values, result.equity_values)
    other = alphaforge.backtest("sma_cross", _ohlc(seed=12), params={"fast": 5, "slow": 20})
    assert other.manifest["data_hash"] != result.manifest["data_hash"]


def test_bad_result_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(DataError, match=r"bad.json: not valid JSON \(line 1"):
        BacktestResult.from_json(bad)
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    with pytest.raises(DataError, match="not an alphaforge backtest result"):
        BacktestResult.from_json(other)
    with pytest.raises(DataError, match="no such result file"):
        BacktestResult.from_json(tmp_path / "missing.json")
