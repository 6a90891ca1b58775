"""Protective levels as the kernels read them (sim.inputs.build_levels -> records.Levels): a
setting of the config is one number, an ATR distance or a strategy's prices one array used as
it is, and what is not set a shared (1, 1) NaN; a stop and a target from the strategy's prices
exit where the prices say."""

from __future__ import annotations

import numpy as np
import pandas as pd

import alphaforge
from alphaforge.core.rules import BacktestConfig
from alphaforge.sim.inputs import build_levels
from alphaforge.sim.records import Levels
from alphaforge.strategy.base import Signals, Strategy, StrategyData

SHAPE = (50, 2)


def _signals(**levels: np.ndarray) -> Signals:
    no = np.zeros(SHAPE, dtype=bool)
    return Signals(entries=no, exits=no, **levels)


def test_config_settings_are_numbers_and_strategy_prices_are_not_copied() -> None:
    cfg = BacktestConfig.build({"exits": {"stop_loss": "5%", "take_profit": "2atr"}})
    atr = np.full(SHAPE, 1.5)
    target = np.linspace(100.0, 120.0, SHAPE[0] * SHAPE[1]).reshape(SHAPE)
    lv = build_levels(cfg, _signals(take_profit=target), atr, SHAPE)
    assert isinstance(lv, Levels)
    assert lv.sl_pct.shape == (1, 1) and lv.sl_pct[0, 0] == 0.05
    assert lv.tp_abs.shape == SHAPE and np.all(lv.tp_abs == 3.0)
    assert lv.tp_price is target  # no copy of the strategy's array
    for name in ("sl_abs", "sl_price", "tp_pct", "trail_pct", "trail_abs"):
        a = getattr(lv, name)
        assert a.shape == (1, 1) and np.isnan(a[0, 0]), name


def test_read_only_and_one_column_prices() -> None:
    cfg = BacktestConfig.build({})
    stop = np.full(SHAPE, 90.0)
    stop.setflags(write=False)
    lv = build_levels(cfg, _signals(stop_loss=stop), None, SHAPE)
    assert lv.sl_price.flags.writeable and np.array_equal(lv.sl_price, stop)  # a copy
    one = np.arange(10.0)  # one symbol: a 1-D array is its column, without a copy
    lv = build_levels(cfg, Signals(np.zeros(10, bool), np.zeros(10, bool), stop_loss=one),
                      None, (10, 1))  # fmt: skip
    assert lv.sl_price.shape == (10, 1) and np.shares_memory(lv.sl_price, one)
    assert all(a.shape == (1, 1) for a in build_levels(cfg, None, None, SHAPE))


class _EnterWithLevels(Strategy):
    """Enters on bar 1; stop 2% under and target 3% over the signal close."""

    name = "enter_with_levels"

    def signals(self, data: StrategyData) -> Signals:
        entries = np.zeros(data.shape, dtype=bool)
        entries[1] = True
        return Signals(
            entries=entries,
            exits=np.zeros(data.shape, dtype=bool),
            stop_loss=data.close * 0.98,
            take_profit=data.close * 1.03,
        )


def test_strategy_prices_decide_the_exit() -> None:
    # bar 1 closes at 100 (stop 98, target 103); bar 3 reaches 104: the target fills at 103
    close = np.array([100.0, 100.0, 101.0, 102.0, 102.0])
    high = np.array([100.5, 100.5, 101.5, 104.0, 102.5])
    idx = pd.date_range("2024-01-02", periods=5, freq="D", tz="UTC")
    df = pd.DataFrame(
        {"open": close, "high": high, "low": close - 0.5, "close": close, "volume": 1e6},
        index=idx,
    )
    res = alphaforge.backtest(_EnterWithLevels, df, commission="0", slippage="0")
    trades = res.trades
    assert list(trades["exit_reason"]) == ["take_profit"]
    assert float(trades["exit_price"].iloc[0]) == 103.0
