"""Features: hand-computed microstructure cases, causality, the feature list and its hash."""

from __future__ import annotations

import math

import numpy as np
import pytest

from alphaforge.core.errors import ConfigError
from alphaforge.ml import microstructure as ms
from alphaforge.ml.features import parse_features
from tests.unit.ml._helpers import ohlcv_panel, random_panel

CLOSE = np.array([100.0, 102.0, 101.0, 103.0, 102.0])
VOLUME = np.array([10.0, 20.0, 40.0, 50.0, 25.0])


def test_amihud_by_hand() -> None:
    # |r_t| / (close_t * volume_t) for bars 1..4, mean of the last 2
    r = [abs(102 / 100 - 1) / (102 * 20), abs(101 / 102 - 1) / (101 * 40),
         abs(103 / 101 - 1) / (103 * 50), abs(102 / 103 - 1) / (102 * 25)]  # fmt: skip
    out = ms.amihud(CLOSE, VOLUME, 2)
    assert np.isnan(out[:2]).all()
    assert out[2] == pytest.approx((r[0] + r[1]) / 2, rel=1e-12)
    assert out[4] == pytest.approx((r[2] + r[3]) / 2, rel=1e-12)


def test_roll_spread_by_hand() -> None:
    # bid-ask bounce: log price changes alternate +d, -d: cov(dp_t, dp_{t-1}) = -d^2 * n/(n-1)
    close = np.array([100.0, 101.0, 100.0, 101.0, 100.0, 101.0, 100.0])
    dp = np.diff(np.log(close))
    out = ms.roll_spread(close, 4)
    pairs_now, pairs_prev = dp[-4:], dp[-5:-1]  # the 4 pairs ending at the last bar
    cov = np.sum((pairs_now - pairs_now.mean()) * (pairs_prev - pairs_prev.mean())) / 3
    assert cov < 0
    assert out[-1] == pytest.approx(2 * math.sqrt(-cov), rel=1e-12)
    trend = 100 * np.exp(np.cumsum(np.arange(10) * 0.001))  # growing changes: covariance > 0
    assert ms.roll_spread(trend, 4)[-1] == 0.0


def test_kyle_lambda_by_hand() -> None:
    r = np.diff(np.log(CLOSE))
    signed = np.sign(r) * CLOSE[1:] * VOLUME[1:]
    slope = np.polyfit(signed[-3:], r[-3:], 1)[0]  # OLS of return on signed dollar volume
    out = ms.kyle_lambda(CLOSE, VOLUME, 3)
    assert np.isnan(out[:3]).all()
    assert out[-1] == pytest.approx(slope, rel=1e-9)


def test_returns_volatility_calendar_by_hand() -> None:
    panel = ohlcv_panel(CLOSE)
    fm = parse_features([{"returns": {"windows": [1, 2]}}, {"volatility": {"windows": [3]}},
                         "calendar"]).compute(panel)  # fmt: skip
    col = {n: fm.values[:, 0, i] for i, n in enumerate(fm.names)}
    assert col["ret_2"][4] == pytest.approx(math.log(102 / 101))
    lr = np.diff(np.log(CLOSE))
    assert col["vol_3"][4] == pytest.approx(np.std(lr[-3:], ddof=1))
    assert np.isnan(col["vol_3"][2])
    assert col["day_of_week"][0] == panel.index[0].day_of_week
    assert col["month"][0] == 1


def test_beta_and_correlation_to_a_benchmark_symbol() -> None:
    rng = np.random.default_rng(3)
    rb = rng.normal(0, 0.01, 200)
    ri = 1.5 * rb + rng.normal(0, 0.002, 200)
    close = 100 * np.cumprod(1 + np.c_[ri, rb], axis=0)
    fm = parse_features([{"beta": {"window": 50, "benchmark": "S1"}},
                         {"correlation": {"window": 50, "benchmark": "S1"}}]).compute(ohlcv_panel(close))  # fmt: skip
    x, y = rb[-50:], ri[-50:]
    beta = np.cov(y, x, ddof=1)[0, 1] / np.var(x, ddof=1)
    assert fm.values[-1, 0, 0] == pytest.approx(beta, rel=1e-9)
    assert fm.values[-1, 0, 1] == pytest.approx(np.corrcoef(x, y)[0, 1], rel=1e-9)
    assert fm.values[-1, 1, 0] == pytest.approx(1.0)


def test_features_are_causal() -> None:
    """Every feature at bar t is the same whether the data ends at t or later."""
    panel = random_panel(400, 3, seed=1)
    fs = parse_features([{"returns": {"windows": [1, 5]}}, {"volatility": {"windows": [10]}},
                         {"indicator": {"name": "rsi", "period": 14}},
                         {"indicator": {"name": "sma", "period": 10, "relative": True}},
                         {"beta": {"window": 30}}, {"vol_regime": {"window": 10, "lookback": 50}},
                         {"hmm": {"min_train": 150, "refit_every": 100}}, "calendar",
                         {"amihud": {"window": 5}}, {"roll_spread": {"window": 10}},
                         {"kyle_lambda": {"window": 10}}])  # fmt: skip
    full = fs.compute(panel).values
    for cut in (200, 320):
        part = fs.compute(panel.slice(None, panel.index[cut - 1])).values
        np.testing.assert_allclose(part, full[:cut], rtol=1e-9, equal_nan=True)
    assert np.isfinite(full[-1]).all()


def test_feature_list_hash_and_errors() -> None:
    a = parse_features([{"returns": {"windows": [1, 5]}}, "calendar"])
    same = parse_features([{"returns": {"windows": [1, 5]}}, {"calendar": None}])
    other = parse_features([{"returns": {"windows": [1, 6]}}, "calendar"])
    assert a.hash == same.hash != other.hash
    with pytest.raises(ConfigError, match="unknown feature 'moon_phase'"):
        parse_features(["calendar", "moon_phase"])
    with pytest.raises(ConfigError, match=r"features\[0\]: returns: unknown parameter 'window'"):
        parse_features([{"returns": {"window": 5}}])
    with pytest.raises(ConfigError, match="unknown indicator 'nope'"):
        parse_features([{"indicator": {"name": "nope"}}])
    with pytest.raises(ConfigError, match="benchmark 'SPY'"):
        parse_features([{"beta": {"benchmark": "SPY"}}]).compute(random_panel(100, 2))


def test_feature_cache_is_keyed_by_feature_hash_and_data(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from alphaforge.ml import features as feat

    panel = random_panel(120, 2, seed=9)
    fs = parse_features([{"returns": {"windows": [1, 5]}}, "calendar"])
    first = feat.cached_features(panel, fs, tmp_path)
    files = list(tmp_path.iterdir())
    assert len(files) == 1 and files[0].name.startswith(fs.hash + "-")

    def boom(*_):  # type: ignore[no-untyped-def]
        raise AssertionError("computed again")

    monkeypatch.setattr(feat, "compute_features", boom)
    again = feat.cached_features(panel, fs, tmp_path)
    assert again.names == first.names
    np.testing.assert_array_equal(again.values, first.values)
    other = random_panel(120, 2, seed=10)  # other bars: another file
    with pytest.raises(AssertionError, match="computed again"):
        feat.cached_features(other, fs, tmp_path)
