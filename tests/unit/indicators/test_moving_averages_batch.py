"""moving_averages: many periods in one parallel call, equal to one call per period."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphaforge.core.errors import ConfigError
from alphaforge.core.panel import Panel
from alphaforge.indicators import averages as av
from alphaforge.strategy.base import StrategyData


@pytest.fixture(scope="module")
def x() -> np.ndarray:
    rng = np.random.default_rng(3)
    a = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (400, 4)), axis=0))
    a[rng.random(a.shape) < 0.05] = np.nan  # gaps: each column warms up on its own bars
    a[:30, 2] = np.nan  # a late starter
    return a


@pytest.mark.parametrize("kind", ["sma", "ema", "wma", "dema", "tema", "hma"])
def test_equal_to_one_call_per_period(x: np.ndarray, kind: str) -> None:
    periods = [2, 5, 13, 50]
    many = av.moving_averages(x, periods, kind)
    one = getattr(av, kind)
    for p, got in zip(periods, many, strict=True):
        np.testing.assert_array_equal(got, one(x, p), err_msg=f"{kind}({p})")


def test_keeps_the_input_kind_and_checks_arguments() -> None:
    s = pd.Series(np.arange(10.0), index=pd.RangeIndex(10), name="c")
    out = av.moving_averages(s, [3], "sma")
    assert isinstance(out[0], pd.Series) and out[0].iloc[2] == 1.0
    assert av.moving_averages(s, [], "sma") == []
    with pytest.raises(ConfigError, match="unknown kind 'vwma'"):
        av.moving_averages(s, [3], "vwma")
    with pytest.raises(ConfigError, match="'period' must be an integer >= 1, got 0"):
        av.moving_averages(s, [3, 0], "sma")


def test_strategy_data_prefetch_fills_the_cache(x: np.ndarray) -> None:
    index = pd.date_range("2020-01-01", periods=x.shape[0], freq="D", tz="UTC", name="timestamp")
    panel = Panel(index, ("A", "B", "C", "D"), x, x, x, x, x)
    data = StrategyData(panel)
    data.average_stack("sma", [20, 5, 20])
    assert {("sma", "close", 5), ("sma", "close", 20)} <= set(data.cache)
    np.testing.assert_array_equal(data.sma(20), av.sma(x, 20))
