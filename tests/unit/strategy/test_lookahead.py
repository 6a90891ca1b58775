"""The look-ahead detector catches peeking and history-dependent strategies, passes causal ones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alphaforge.strategy.base import (
    Signals,
    Strategy,
    StrategyData,
    StrategyParams,
    TargetWeights,
    param,
    shift,
)
from alphaforge.strategy.lookahead import check_lookahead
from tests.unit.strategy._helpers import make_panel, random_walks


class PeekOneBar(Strategy):
    """Buys when tomorrow's close is higher: uses a series shifted backwards by one bar."""

    name = "peek"

    def signals(self, data: StrategyData) -> Signals:
        tomorrow = np.vstack([data.close[1:], np.full((1, data.shape[1]), np.nan)])
        with np.errstate(invalid="ignore"):
            up = tomorrow > data.close
        return Signals(entries=up, exits=~up)


class FullSeriesZ(Strategy):
    """Normalises with the mean and std of the whole series (future data in every bar)."""

    name = "full_z"

    def signals(self, data: StrategyData) -> Signals:
        c = data.close
        z = (c - np.nanmean(c, axis=0)) / np.nanstd(c, axis=0)
        return Signals(entries=z < -1, exits=z > 0)


class EmaNoWarmup(Strategy):
    """EMA seeded at the first bar with a declared warm-up of 0: history-dependent levels."""

    name = "ema_no_warmup"

    class Params(StrategyParams):
        period: int = param(100, ge=2, le=500)

    def signals(self, data: StrategyData) -> Signals:
        ema = pd.DataFrame(data.close).ewm(span=self.params.period, adjust=False).mean()
        lvl = ema.to_numpy() * 0.9
        entries = np.zeros(data.shape, dtype=bool)
        return Signals(entries=entries, exits=entries, stop_loss=lvl)


class PeekWeights(Strategy):
    """Target weights from next bar's return (peeking), every bar."""

    name = "peek_weights"

    def signals(self, data: StrategyData) -> TargetWeights:
        nxt = np.vstack(
            [data.close[1:] / data.close[:-1] - 1.0, np.full((1, data.shape[1]), np.nan)]
        )
        w = np.where(nxt > 0, 0.5, 0.0)
        return TargetWeights(weights=w)


class Causal(Strategy):
    """Today's close above yesterday's: causal."""

    name = "causal"

    def signals(self, data: StrategyData) -> Signals:
        with np.errstate(invalid="ignore"):
            up = data.close > shift(data.close, 1)
        return Signals(entries=up, exits=~up)


@pytest.fixture(scope="module")
def panel():  # type: ignore[no-untyped-def]
    return make_panel(random_walks(400, 3, seed=3))


def test_peeking_strategy_is_caught_at_the_cut_bar(panel) -> None:  # type: ignore[no-untyped-def]
    report = check_lookahead(PeekOneBar, panel, cuts=10, starts=0)
    assert not report.ok
    found = report.to_frame()
    assert set(found["check"]) == {"lookahead"}
    assert set(found["field"]) <= {"entries", "exits"}
    # the truncated run cannot see bar cut + 1, so the difference sits exactly at the cut bar
    assert (found["time"] == found["at"]).all()
    assert set(found["symbol"]) <= set(panel.symbols)


def test_peeking_weights_are_caught(panel) -> None:  # type: ignore[no-untyped-def]
    report = check_lookahead(PeekWeights, panel, cuts=10, starts=0)
    assert not report.ok
    assert set(report.to_frame()["field"]) == {"weights"}


def test_whole_series_normalisation_is_caught(panel) -> None:  # type: ignore[no-untyped-def]
    report = check_lookahead(FullSeriesZ, panel, cuts=5, starts=2)
    checks = set(report.to_frame()["check"])
    assert checks == {"lookahead", "warmup"}
    # rows long before the cut differ too: the whole series leaks into every bar
    early = report.to_frame().query("check == 'lookahead'")
    assert (early["time"] < early["at"]).any()


def test_recursive_indicator_with_too_short_warmup_is_flagged(panel) -> None:  # type: ignore[no-untyped-def]
    report = check_lookahead(EmaNoWarmup, panel, cuts=5, starts=2)
    found = report.to_frame()
    assert set(found["check"]) == {"warmup"}  # causal, but depends on where history starts
    assert set(found["field"]) == {"stop_loss"}
    # declaring an honest warm-up (10 x period: seed weight ~ exp(-20)) makes it pass
    ok = check_lookahead(EmaNoWarmup, make_panel(random_walks(3000, 2)), params={"period": 20},
                         warmup=200, cuts=5, starts=2)  # fmt: skip
    assert ok.ok, ok.to_frame()


def test_causal_strategy_passes_and_counts_comparisons(panel) -> None:  # type: ignore[no-untyped-def]
    report = check_lookahead(Causal, panel, cuts=12, starts=3)
    assert report.ok
    assert len(report.cuts) == 12 and len(report.starts) == 3
    assert report.compared > 12 * 3 * 2  # at least one row per cut, symbol and field
    assert "no look-ahead found" in report.summary()
