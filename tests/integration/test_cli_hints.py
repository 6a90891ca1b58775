"""Errors name the fix: the timeframe a symbol has, the closest strategy or parameter name; and a
wrong parameter is refused before any bar is read."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from alphaforge.cli.app import app, normalize_argv
from alphaforge.config.settings import AppSettings
from alphaforge.core.errors import UnknownSymbolError
from alphaforge.data.store import ParquetStore
from alphaforge.services.store import load_panel

pytestmark = pytest.mark.integration


def _bars(symbol: str, index: pd.DatetimeIndex) -> pd.DataFrame:
    close = 100 + np.sin(np.arange(len(index)) / 5.0) * 10
    return pd.DataFrame(
        {"symbol": symbol, "timestamp": index, "open": close, "high": close + 1,
         "low": close - 1, "close": close, "volume": 1000.0}
    )  # fmt: skip


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home with ETH-USD in 1h bars only and SPY in 1d bars only."""
    home = tmp_path / "home"
    store = ParquetStore(AppSettings(home=home).store_dir)
    store.write(
        _bars("ETH-USD", pd.date_range("2021-01-01", periods=300, freq="h", tz="UTC")), "1h"
    )
    store.write(_bars("SPY", pd.bdate_range("2020-01-01", periods=300, tz="UTC")), "1d")
    return home


def _err(home: Path, *args: str) -> str:
    res = CliRunner().invoke(app, normalize_argv(["--home", str(home), *args]))
    assert res.exit_code != 0, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, res.stderr
    return lines[0]


def test_a_symbol_in_another_timeframe_gets_that_timeframe(home: Path) -> None:
    line = _err(home, "backtest", "sma_cross", "-s", "ETH-USD", "-q")
    assert "no 1d bars for ETH-USD; it has 1h (try --timeframe 1h)" in line
    assert "import" not in line
    store = ParquetStore(AppSettings(home=home).store_dir)
    with pytest.raises(UnknownSymbolError, match=r"try --timeframe 1d"):
        load_panel(store, ["SPY"], "1h")


def test_an_unknown_symbol_gets_the_closest_stored_name(home: Path) -> None:
    line = _err(home, "backtest", "sma_cross", "-s", "SPYY", "-q")
    assert "unknown symbol 'SPYY'" in line and "did you mean 'SPY'?" in line
    assert "data list" in line


def test_misspelt_strategy_and_parameter_get_the_closest_name(home: Path) -> None:
    line = _err(home, "backtest", "sma_cros", "-s", "SPY", "-q")
    assert "unknown strategy 'sma_cros'; did you mean 'sma_cross'?" in line
    line = _err(home, "backtest", "sma_cross", "-s", "SPY", "-p", "fsat=3", "-q")
    assert "parameter fsat: unknown parameter; did you mean 'fast'?" in line
    assert "parameters: fast, slow" in line


def test_a_wrong_parameter_fails_before_any_bar_is_read(home: Path) -> None:
    store_file = next((AppSettings(home=home).store_dir / "bars").rglob("symbol=SPY.parquet"))
    store_file.write_bytes(b"not parquet")  # reading SPY's bars now fails
    line = _err(home, "backtest", "sma_cross", "-s", "SPY", "-q")
    assert "store query failed" in line and "symbol=SPY.parquet" in line  # a good run reads it
    line = _err(home, "backtest", "sma_cross", "-s", "SPY", "-p", "fsat=3", "-q")
    assert "parameter fsat" in line  # a wrong parameter is refused before
    line = _err(home, "backtest", "sma_cros", "-s", "SPY", "-q")
    assert "unknown strategy" in line
    line = _err(home, "lookahead", "sma_cross", "-s", "SPY", "-p", "fsat=3")
    assert "parameter fsat" in line
