"""The Python API refuses what the command line refuses, naming the argument and the value:
a run that cannot trade (data shorter than the warm-up, an ATR period longer than the data), a
setting no strategy can make act, a period with no bars, a timeframe the bars contradict, a
strategy's rebalance mask of the wrong length; and arguments of the wrong type. Each of these
returned a result (some of them different from run to run) or a raw Python error."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

import alphaforge
from alphaforge.core.errors import AlphaforgeError, BacktestError, StrategyError
from alphaforge.strategy.base import Strategy, StrategyData, StrategyParams, TargetWeights

P = {"fast": 10, "slow": 50}


def _refused(call: Any) -> str:
    with pytest.raises(AlphaforgeError) as err:
        call()
    return str(err.value)


def test_data_shorter_than_the_warm_up_is_refused(one: pd.DataFrame) -> None:
    msg = _refused(lambda: alphaforge.backtest("sma_cross", one.iloc[:30], params=P))
    assert msg.startswith("only 30 bar(s) of data for a warm-up of 50 bar(s)")
    assert "an earlier start" in msg


def test_an_atr_period_longer_than_the_data_is_refused(one: pd.DataFrame) -> None:
    msg = _refused(lambda: alphaforge.backtest(
        "sma_cross", one.iloc[:120], params={"fast": 5, "slow": 10}, stop_loss="2atr",
        config={"exits": {"atr_period": 500}},
    ))  # fmt: skip
    assert msg.startswith("exits.atr_period: 500 bars is not shorter than the 120 bar(s)")


@pytest.mark.parametrize(
    ("config", "key"),
    [({"costs": {"borrow_fee": 0.05}}, "costs.borrow_fee"), ({"costs": {"margin": 2}}, "costs.margin")],
)  # fmt: skip
def test_a_short_only_cost_of_a_long_run_is_refused(
    one: pd.DataFrame, config: dict[str, Any], key: str
) -> None:
    assert _refused(lambda: alphaforge.backtest("sma_cross", one, params=P, config=config)
                    ).startswith(f"{key}: ")  # fmt: skip


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2016-01-01", "2015-01-01", "start='2016-01-01', end='2015-01-01': 0 bar(s) in that "
                                     "period (a backtest needs 2); the data run from "),
        ("notadate", None, "start='notadate': not a date; write YYYY-MM-DD"),
        (5, None, "start=5: a date is text (YYYY-MM-DD), a datetime or a Timestamp, got int"),
        (None, "2030-13-01", "end='2030-13-01': not a date; write YYYY-MM-DD"),
    ],
)  # fmt: skip
def test_a_bad_period_names_its_arguments(
    one: pd.DataFrame, start: Any, end: Any, message: str
) -> None:
    msg = _refused(lambda: alphaforge.backtest("sma_cross", one, params=P, start=start, end=end))
    assert msg.startswith(message)


def test_a_timeframe_the_bars_contradict_is_refused(one: pd.DataFrame) -> None:
    """Daily bars called hourly were annualised with 1,764 bars a year: a Sharpe ratio 2.6
    times too high."""
    msg = _refused(lambda: alphaforge.backtest("sma_cross", one, params=P, timeframe="1h"))
    assert msg == "timeframe='1h': the bars are 1d bars (their timestamps' spacing); give 1d " \
                  "or leave it out"  # fmt: skip
    same = alphaforge.backtest("sma_cross", one, params=P, timeframe="1d")
    assert (
        same.metrics["sharpe"] == alphaforge.backtest("sma_cross", one, params=P).metrics["sharpe"]
    )


def test_a_missing_symbol_in_long_bars_is_refused(bars: pd.DataFrame) -> None:
    broken = bars.copy()
    broken.loc[broken.index[5], "symbol"] = None
    assert _refused(lambda: alphaforge.backtest("sma_cross", broken, params=P)) == (
        "data: row 5: column 'symbol': missing"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"params": "fast=10"}, "params='fast=10': a mapping of parameter name to value"),
        ({"config": "x.yaml"}, "config='x.yaml': a BacktestConfig or a mapping of settings"),
        ({"config": [1]}, "config=[1]: a BacktestConfig or a mapping of settings"),
        ({"symbols": 5}, "symbols=5: a symbol's name or a list of names"),
    ],
)  # fmt: skip
def test_arguments_of_the_wrong_type_are_named(
    bars: pd.DataFrame, kwargs: dict[str, Any], message: str
) -> None:
    assert _refused(lambda: alphaforge.backtest("sma_cross", bars, **kwargs)).startswith(message)


def test_one_symbol_by_name_is_that_symbol(bars: pd.DataFrame) -> None:
    """``symbols="SYN01"`` was split into letters ("unknown symbol 'S'")."""
    name = sorted(bars["symbol"].unique())[0]
    alone = alphaforge.backtest("sma_cross", bars, params=P, symbols=name)
    listed = alphaforge.backtest("sma_cross", bars, params=P, symbols=[name])
    assert alone.symbols == (name,)
    assert alone.metrics["total_return"] == listed.metrics["total_return"]


def _weights_strategy(rebalance: np.ndarray) -> type[Strategy]:
    class Fixed(Strategy):
        name = "fixed_weights"

        class Params(StrategyParams):
            pass

        def signals(self, data: StrategyData) -> TargetWeights:
            return TargetWeights(weights=np.full(data.shape, 0.5), rebalance=rebalance)

    return Fixed


@pytest.mark.parametrize("rebalance", [np.ones(2, bool), np.ones(1000, bool), np.ones((300, 1), bool)],
                         ids=["short", "long", "2-d"])  # fmt: skip
def test_a_rebalance_mask_of_the_wrong_length_is_refused(
    one: pd.DataFrame, rebalance: np.ndarray
) -> None:
    """The kernel read a short mask past its end: the same run gave different results."""
    with pytest.raises(BacktestError) as err:
        alphaforge.backtest(_weights_strategy(rebalance), one.iloc[:300])
    assert str(err.value) == (
        f"strategy output 'rebalance' has shape {rebalance.shape}, expected (300,): one flag "
        "per bar"
    )


def test_a_rebalance_mask_with_nan_is_refused(one: pd.DataFrame) -> None:
    with pytest.raises(StrategyError, match=r"^TargetWeights.rebalance: a mask must be boolean"):
        alphaforge.backtest(_weights_strategy(np.full(300, np.nan)), one.iloc[:300])


@pytest.mark.parametrize(
    ("search", "kwargs", "message"),
    [
        ("sweep", {"per_symbol": "no"}, "per_symbol='no': True or False"),
        ("sweep", {"fast": "no"}, "fast='no': True or False"),
        ("sweep", {"workers": 0}, "workers=0: a whole number >= 1"),
        ("sweep", {"workers": "2"}, "workers='2': a whole number >= 1"),
        ("sweep", {"min_trades": 2.5}, "min_trades=2.5: a whole number >= 0"),
        ("walkforward", {"anchored": "no"}, "anchored='no': True or False"),
        ("walkforward", {"train": 1}, "train=1: a whole number of bars >= 2"),
        ("walkforward", {"test": 2}, "test=2: a whole number of bars >= 3"),
        ("walkforward", {"workers": -1}, "workers=-1: a whole number >= 1"),
    ],
)  # fmt: skip
def test_search_flags_and_counts_are_checked(
    one: pd.DataFrame, search: str, kwargs: dict[str, Any], message: str
) -> None:
    grid = {"fast": [5, 10], "slow": [50]}
    run = getattr(alphaforge, search)
    assert _refused(lambda: run("sma_cross", one, grid, **kwargs)) == message


def test_participation_on_bars_without_volume_is_refused(one: pd.DataFrame) -> None:
    bare = one[["open", "high", "low", "close"]]
    msg = _refused(lambda: alphaforge.backtest("sma_cross", bare, params=P, participation=0.1))
    assert msg.startswith("costs.participation: 0.1 caps each fill at that share of its bar's "
                          "volume, and the data have no volume")  # fmt: skip


def test_masks_given_as_frames_run_as_arrays(one: pd.DataFrame) -> None:
    """A frame's values are read-only under copy-on-write; the kernel refused them with a
    compiler error."""

    class Frames(Strategy):
        name = "frame_masks"

        class Params(StrategyParams):
            pass

        def signals(self, data: StrategyData) -> Any:
            from alphaforge.strategy.base import Signals

            c = pd.DataFrame(data.close)
            return Signals(entries=c > c.shift(1), exits=c < c.shift(1))  # type: ignore[arg-type]

    class Arrays(Frames):
        name = "array_masks"

        def signals(self, data: StrategyData) -> Any:
            from alphaforge.strategy.base import Signals

            out = super().signals(data)
            return Signals(entries=out.entries.to_numpy().copy(), exits=out.exits.to_numpy().copy())

    got, want = alphaforge.backtest(Frames, one), alphaforge.backtest(Arrays, one)
    assert got.metrics["num_trades"] == want.metrics["num_trades"] > 0
    assert got.metrics["total_return"] == want.metrics["total_return"]


def test_frames_of_naive_and_utc_times_are_one_clock(bars: pd.DataFrame) -> None:
    """Naive times are UTC (as everywhere); mixing them raised pandas' "Cannot mix tz-aware
    with tz-naive values"."""
    a, b = (bars[bars["symbol"] == s].set_index("timestamp")[["open", "high", "low", "close"]]
            for s in sorted(bars["symbol"].unique())[:2])  # fmt: skip
    naive = b.set_axis(b.index.tz_convert(None))
    mixed = alphaforge.backtest("sma_cross", {"A": a, "B": naive}, params=P)
    aware = alphaforge.backtest("sma_cross", {"A": a, "B": b}, params=P)
    assert mixed.metrics["total_return"] == aware.metrics["total_return"]


@pytest.mark.parametrize("settle", ["2", float("inf"), -1.0, True])
def test_lookahead_settle_is_a_number(one: pd.DataFrame, settle: Any) -> None:
    assert _refused(lambda: alphaforge.lookahead("sma_cross", one, settle=settle)) == (
        f"settle={settle!r}: a number >= 0"
    )


def test_lookahead_cuts_is_a_count_not_a_flag(one: pd.DataFrame) -> None:
    assert _refused(lambda: alphaforge.lookahead("sma_cross", one, cuts=True)) == (
        "cuts=True: a whole number >= 1"
    )


def test_a_grid_value_given_twice_is_refused(one: pd.DataFrame) -> None:
    """It ran the same trial twice."""
    grid = {"fast": [5, 5, 10], "slow": [50]}
    assert _refused(lambda: alphaforge.sweep("sma_cross", one, grid)) == "grid: fast=5 given twice"


def test_a_constraint_against_nan_is_refused(one: pd.DataFrame) -> None:
    grid = {"fast": [5, 10], "slow": [50]}
    msg = _refused(lambda: alphaforge.sweep("sma_cross", one, grid, constraints=["sharpe>nan"]))
    assert msg == "constraints: 'sharpe>nan': 'nan' is not a number"
