"""Built-in strategies on small synthetic panels with hand-checked expectations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

from alphaforge.core.errors import StrategyError
from alphaforge.strategy.base import Signals, Strategy, StrategyData, TargetWeights
from alphaforge.strategy.library._common import period_start_mask, top_n_weights
from alphaforge.strategy.library.donchian_breakout import DonchianBreakout
from alphaforge.strategy.library.ensemble import Ensemble
from alphaforge.strategy.library.momentum_rotation import MomentumRotation
from alphaforge.strategy.library.mtf_momentum import daily_trend
from alphaforge.strategy.library.regime_filter import RegimeFilter
from alphaforge.strategy.registry import builtin_strategies, make_strategy
from tests.unit.strategy._helpers import make_panel, random_walks

BUILTINS = sorted(builtin_strategies())


@pytest.mark.parametrize("name", BUILTINS)
def test_builtin_is_documented_and_validates(name: str) -> None:
    cls = builtin_strategies()[name]
    doc = cls.__doc__ or ""
    assert "Warm-up" in doc, f"{name}: docstring must state the warm-up"
    rows = cls.describe()
    assert all(r["description"] for r in rows), f"{name}: every parameter needs a description"
    strat = cls()
    assert strat.warmup() >= 0
    first = rows[0]
    if first["min"] is not None:
        with pytest.raises(StrategyError, match=first["name"]):
            cls({first["name"]: first["min"] - 1})
    with pytest.raises(StrategyError, match="unknown parameter"):
        cls({"no_such_param": 1})


def test_eleven_plus_builtins_registered() -> None:
    expected = {
        "sma_cross", "ema_cross", "rsi_macd", "bollinger_rsi", "zscore_reversion",
        "donchian_breakout", "mtf_momentum", "momentum_rotation", "pairs_trading",
        "multi_factor", "regime_filter", "ensemble", "allocation",
    }  # fmt: skip
    assert expected <= set(BUILTINS)


def test_period_start_mask_marks_first_bar_of_each_month() -> None:
    idx = pd.DatetimeIndex(["2020-01-30", "2020-01-31", "2020-02-03", "2020-02-04", "2020-03-02"],
                           tz="UTC")  # fmt: skip
    assert period_start_mask(idx, "1d", "monthly").tolist() == [False, False, True, False, True]
    # 2020-02-03 is a Monday: a new week; 2020-03-02 too
    assert period_start_mask(idx, "1d", "weekly").tolist() == [False, False, True, False, True]


def test_top_n_weights_picks_highest_scores_on_selected_rows() -> None:
    score = np.array([[1.0, 3.0, 2.0], [np.nan, 1.0, 5.0]])
    w = top_n_weights(score, 2, np.array([True, True]))
    assert w[0].tolist() == [0.0, 0.5, 0.5]
    assert w[1].tolist() == [0.0, 0.5, 0.5]  # NaN score is not held
    assert np.isnan(top_n_weights(score, 1, np.array([False, True]))[0]).all()


def test_donchian_entry_and_atr_stop_level() -> None:
    # flat at 100 for 300 bars, then a jump to 110: a 55-bar breakout on bar 300
    close = np.r_[np.full(300, 100.0) + np.sin(np.arange(300)) * 0.1, np.full(20, 110.0)]
    panel = make_panel(close)
    sig = DonchianBreakout().signals(StrategyData(panel))
    assert isinstance(sig, Signals)
    first = int(np.argmax(sig.entries[:, 0]))
    assert first == 300
    atr = talib.ATR(panel.high[:, 0], panel.low[:, 0], panel.close[:, 0], 20)  # reference
    assert sig.stop_loss is not None
    assert sig.stop_loss[first, 0] == pytest.approx(110.0 - 2.0 * atr[first], rel=1e-9)
    assert np.isnan(sig.stop_loss[first - 1, 0])  # levels only on entry bars


def test_daily_trend_uses_previous_sessions_only() -> None:
    # 4 sessions of 3 bars; session closes 10, 11, 9, 12
    close = np.array([[9.0], [9.5], [10.0], [10.5], [10.8], [11.0], [9.0], [9.1], [9.0],
                      [13.0], [12.5], [12.0]])  # fmt: skip
    day = np.repeat(np.arange(4), 3)
    trend = daily_trend(close, day, 2)
    # session 0: no completed session; session 1: SMA needs 2 closes -> NaN
    assert np.isnan(trend[:6, 0]).all()
    # session 2 sees sessions 0-1: close 11 > mean(10, 11) = 10.5 -> up, whatever happens today
    assert (trend[6:9, 0] == 1.0).all()
    # session 3 sees sessions 1-2: close 9 < mean(11, 9) = 10 -> down (its own 13 is unseen)
    assert (trend[9:, 0] == -1.0).all()


def test_momentum_rotation_holds_the_strongest_symbols() -> None:
    n = 400
    t = np.arange(n)[:, None]
    close = 100.0 * np.exp(t * np.array([[0.001, 0.003, -0.001, 0.002]]))
    panel = make_panel(close)
    out = MomentumRotation(lookback=100, skip=0, top_n=2).signals(StrategyData(panel))
    assert isinstance(out, TargetWeights)
    assert out.rebalance is not None
    rows = np.flatnonzero(out.rebalance)
    late = [r for r in rows if r > 100]
    assert late
    for r in late:  # S1 and S3 have the highest drift: 0.5 each, others 0
        assert out.weights[r].tolist() == [0.0, 0.5, 0.0, 0.5]
    off = np.flatnonzero(~out.rebalance)
    assert np.isnan(out.weights[off]).all()


class _Fixed(Strategy):
    """A member with fixed masks (test stand-in)."""

    name = "fixed"

    def __init__(self, entries: np.ndarray, exits: np.ndarray) -> None:
        super().__init__()
        self._e, self._x = entries, exits

    def signals(self, data: StrategyData) -> Signals:
        return Signals(entries=self._e, exits=self._x)


def test_ensemble_weighted_k_of_n_vote() -> None:
    panel = make_panel(random_walks(6, 1))
    e = [np.array([[1], [0], [1], [0], [0], [0]], bool),
         np.array([[1], [1], [0], [0], [0], [0]], bool),
         np.array([[0], [1], [1], [0], [0], [0]], bool)]  # fmt: skip
    none = np.zeros((6, 1), bool)
    ens = Ensemble(members=["sma_cross", "ema_cross", "rsi_macd"], threshold=2 / 3, window=1)
    ens.members = [_Fixed(m, none) for m in e]
    out = ens.signals(StrategyData(panel))
    # 2 of 3 members agree on bars 0, 1 and 2
    assert out.entries[:, 0].tolist() == [True, True, True, False, False, False]
    ens = Ensemble(members=["sma_cross", "ema_cross", "rsi_macd"], weights=[3, 1, 1],
                   threshold=0.6, window=1)  # fmt: skip
    ens.members = [_Fixed(m, none) for m in e]
    out = ens.signals(StrategyData(panel))
    # member 0 alone holds 3/5 = 0.6 of the vote: bars 0 and 2; bar 1 has 2/5
    assert out.entries[:, 0].tolist() == [True, False, True, False, False, False]


def test_regime_filter_blocks_entries_outside_low_vol_regime() -> None:
    rng = np.random.default_rng(5)
    r = np.r_[rng.normal(0, 0.005, 300), rng.normal(0, 0.04, 100)]
    panel = make_panel(100 * np.exp(np.cumsum(r)))
    strat = RegimeFilter(regime="low_vol", vol_window=20, vol_lookback=100, vol_quantile=0.5)
    everything = np.ones((400, 1), bool)
    strat.inner = _Fixed(everything, everything)
    out = strat.signals(StrategyData(panel))
    assert isinstance(out, Signals)
    # volatility jumps 8x at bar 300: from bar 325 (the 20-bar window mostly after the jump)
    # until the 100-bar median itself catches up (~bar 350) it is above its median
    assert not out.entries[325:345, 0].any()
    assert out.entries[150:300, 0].any()
    assert out.exits.all()  # exits always pass


def test_wrappers_reject_themselves() -> None:
    with pytest.raises(StrategyError, match="itself"):
        make_strategy("regime_filter", {"inner": "regime_filter"})
    with pytest.raises(StrategyError, match="itself"):
        make_strategy("ensemble", {"members": ["ensemble"]})
