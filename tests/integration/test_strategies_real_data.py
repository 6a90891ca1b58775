"""Every built-in strategy on real S&P 500 daily bars: it trades, and it does not peek."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphaforge.core.panel import Panel
from alphaforge.services.backtest import backtest, load_data_file
from alphaforge.strategy.lookahead import check_lookahead
from alphaforge.strategy.registry import builtin_strategies
from alphaforge.testing import shared_data_file

pytestmark = pytest.mark.integration

SYMBOLS = ["MSFT", "JPM", "XOM", "KO", "PG", "WMT", "PEP", "JNJ"]
BUILTINS = sorted(builtin_strategies())
LONG_SHORT = {"pairs_trading"}  # target weights with a short leg need direction long_short


@pytest.fixture(scope="module")
def panel() -> Panel:
    return load_data_file(shared_data_file("us_equities_daily.parquet"), SYMBOLS)


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_trades_on_real_data(panel: Panel, name: str) -> None:
    direction = "long_short" if name in LONG_SHORT else "long"
    result = backtest(name, panel, direction=direction)
    assert result.num_trades > 0, f"{name} made no trades on {len(SYMBOLS)} symbols, 2000-2019"
    assert np.isfinite(result.equity_values).all()
    assert result.manifest_extra["warmup_bars"] == builtin_strategies()[name]().warmup()


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_has_no_lookahead_on_real_data(panel: Panel, name: str) -> None:
    recent = panel.slice(pd.Timestamp("2009-01-01", tz="UTC"), None).select(SYMBOLS[:6])
    report = check_lookahead(name, recent, cuts=20, starts=3)
    assert report.ok, f"{report.summary()}\n{report.to_frame().head(20)}"
    assert len(report.cuts) == 20
    assert report.compared > 0


def test_mtf_momentum_on_real_intraday_bars() -> None:
    path = shared_data_file("us_equities_intraday_1h.parquet")
    bars = load_data_file(path, ["AMZN"], timeframe="1h")
    params = {"trend_days": 5, "fast": 5, "slow": 20, "session_bars": 14}
    result = backtest("mtf_momentum", bars, params=params, timeframe="1h")
    assert result.num_trades > 0
    report = check_lookahead("mtf_momentum", bars, params=params, cuts=25, starts=3)
    assert report.ok, report.to_frame().head(20)
    assert len(report.starts) >= 1  # the warm-up check ran on the intraday data
