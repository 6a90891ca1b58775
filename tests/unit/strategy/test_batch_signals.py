"""Every strategy's batch fast path writes exactly what its ``signals`` returns per set."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from alphaforge.core.errors import StrategyError
from alphaforge.core.panel import Panel
from alphaforge.strategy.base import SignalBatch, Signals, Strategy, StrategyData, cross_batch
from alphaforge.strategy.registry import builtin_strategies

BATCHED = sorted(name for name, cls in builtin_strategies().items() if cls.has_batch_signals())


def _panel(n: int, m: int, seed: int) -> Panel:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n, m)), axis=0))
    close[rng.random((n, m)) < 0.03] = np.nan  # holes: NaN never crosses
    close[:5, 0] = 100.0  # flat start: equal lines never cross
    index = pd.date_range("2020-01-01", periods=n, freq="D", tz="UTC", name="timestamp")
    return Panel(index, tuple(f"S{j}" for j in range(m)), close, close, close, close, close)


def _grid(cls: type[Strategy]) -> list[dict[str, Any]]:
    fast = [2, 3, 5, 8]
    slow = [4, 5, 13, 21]
    return [{"fast": f, "slow": s} for f in fast for s in slow if f < s]


def test_the_crossover_strategies_have_a_batch_path() -> None:
    assert {"sma_cross", "ema_cross"} <= set(BATCHED)


@pytest.mark.parametrize("name", BATCHED)
@pytest.mark.parametrize("layout", ["trials_bars_symbols", "trials_symbols_bars"])
def test_batch_equals_per_set_signals(name: str, layout: str) -> None:
    cls = builtin_strategies()[name]
    panel = _panel(300, 3, seed=len(name))
    data = StrategyData(panel)
    grid = _grid(cls)
    k, (n, m) = len(grid), panel.shape

    def buf() -> np.ndarray:
        if layout == "trials_bars_symbols":
            return np.ones((k, n, m), dtype=bool)
        return np.ones((k, m, n), dtype=bool).transpose(0, 2, 1)  # strided view, as run_batch

    out = SignalBatch(buf(), buf(), buf(), buf())
    assert cls.batch_signals(data, [cls(p).params for p in grid], out)
    for i, params in enumerate(grid):
        sig = cls(params).signals(StrategyData(panel))
        assert isinstance(sig, Signals)
        for field in ("entries", "exits", "short_entries", "short_exits"):
            np.testing.assert_array_equal(
                getattr(out, field)[i], getattr(sig, field), err_msg=f"{params} {field}"
            )


def test_cross_batch_by_hand() -> None:
    # line 1 crosses above line 2 at bar 2 and below at bar 4; bar 0 never signals; the NaN at
    # bar 6 blocks a cross at bars 6 and 7
    lines = {
        1: np.array([1.0, 1.0, 3.0, 3.0, 1.0, 1.0, np.nan, 3.0])[:, None],
        2: np.full((8, 1), 2.0),
    }
    index = pd.date_range("2020-01-01", periods=8, freq="D", tz="UTC", name="timestamp")
    one = np.ones((8, 1))
    data = StrategyData(Panel(index, ("X",), one, one, one, one, one))
    out = SignalBatch(*(np.ones((2, 8, 1), dtype=bool) for _ in range(4)))
    cross_batch(data, lines.__getitem__, [(1, 2), (2, 1)], out)
    assert np.flatnonzero(out.entries[0, :, 0]).tolist() == [2]
    assert np.flatnonzero(out.exits[0, :, 0]).tolist() == [4]
    assert np.flatnonzero(out.entries[1, :, 0]).tolist() == [4]  # the pair reversed
    np.testing.assert_array_equal(out.short_entries, out.exits)
    np.testing.assert_array_equal(out.short_exits, out.entries)


def test_a_subclass_with_its_own_signals_does_not_inherit_the_batch_path() -> None:
    cls = builtin_strategies()["sma_cross"]

    class Own(cls):  # type: ignore[valid-type, misc]
        def signals(self, data: StrategyData) -> Signals:
            return Signals(entries=np.zeros(data.shape, bool), exits=np.zeros(data.shape, bool))

    class SameRules(cls):  # type: ignore[valid-type, misc]
        name = "same_rules"

    assert cls.has_batch_signals()
    assert not Own.has_batch_signals()
    assert SameRules.has_batch_signals()
    assert not Strategy.has_batch_signals()


@pytest.mark.parametrize("name", BATCHED)
def test_chunks_after_prepare_equal_one_batch_and_keep_one_stack(name: str) -> None:
    cls = builtin_strategies()[name]
    panel = _panel(200, 2, seed=3)
    grid = _grid(cls)
    k, (n, m) = len(grid), panel.shape
    params = [cls(p).params for p in grid]

    def batch() -> SignalBatch:
        return SignalBatch(*(np.zeros((k, n, m), dtype=bool) for _ in range(4)))

    whole, chunked = batch(), batch()
    assert cls.batch_signals(StrategyData(panel), params, whole)
    data = StrategyData(panel)
    cls.batch_prepare(data, params)
    stacks = [key for key in data.cache if key[0] == "cross_batch"]
    before = [data.cache[key] for key in stacks]
    for lo in range(0, k, 3):  # chunks of 3 sets, written into views of the whole buffers
        part = SignalBatch(*(getattr(chunked, f)[lo : lo + 3] for f in ("entries", "exits",
                                                                          "short_entries",
                                                                          "short_exits")))  # fmt: skip
        assert cls.batch_signals(data, params[lo : lo + 3], part)
    assert len(stacks) == 1 and data.cache[stacks[0]] is before[0]  # never rebuilt
    for f in ("entries", "exits", "short_entries", "short_exits"):
        np.testing.assert_array_equal(getattr(chunked, f), getattr(whole, f), err_msg=f)


def test_a_strategy_takes_validated_parameters_as_they_are() -> None:
    cls = builtin_strategies()["sma_cross"]
    params = cls({"fast": 5, "slow": 20}).params
    assert cls(params).params is params  # a sweep's validated sets are not validated again
    changed = cls(params, slow=30).params  # overrides still go through validation
    assert (changed.fast, changed.slow) == (5, 30)
    with pytest.raises(StrategyError, match="fast"):
        cls(params, fast=40)
