"""Panels, NaN handling, input kinds, warm-up formulas and argument errors of every indicator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _indicator_testkit import call, first_valid, random_bars, rows

from alphaforge.core.errors import ConfigError, DataError
from alphaforge.indicators import INDICATORS, get_indicator, rsi, sma

NAMES = sorted(INDICATORS)


@pytest.mark.parametrize("name", NAMES)
def test_panel_columns_equal_1d_on_their_own_valid_segment(name: str) -> None:
    # columns "listed" at rows 0, 7, 60 and 255: leading NaNs must be skipped, so each column
    # equals the 1-D result of its own bars, and rows before its first bar stay NaN
    starts = (0, 7, 60, 255)
    bars = random_bars(300, 4, seed=11, start_rows=starts)
    spec = INDICATORS[name]
    panel_out = call(spec, bars)
    for j, s in enumerate(starts):
        single = call(spec, rows(bars, slice(s, None), col=j))
        for p, o in zip(panel_out, single, strict=True):
            assert np.isnan(p[:s, j]).all()
            np.testing.assert_array_equal(p[s:, j], o)


@pytest.mark.parametrize("name", NAMES)
def test_interior_gap_is_skipped(name: str) -> None:
    # a bar missing in the middle (NaN) gets NaN output; the recursion carries on as if the
    # bar did not exist, i.e. equals the result on the series with that row removed
    bars = random_bars(260, 1, seed=5)
    gap = np.arange(120, 124)
    gapped = {k: v.copy() for k, v in bars.items()}
    for f in ("open", "high", "low", "close", "volume"):
        gapped[f][gap, 0] = np.nan
    keep = np.setdiff1d(np.arange(260), gap)
    spec = INDICATORS[name]
    full = call(spec, gapped)
    dense = call(spec, rows(bars, keep))
    for f_out, d_out in zip(full, dense, strict=True):
        assert np.isnan(f_out[gap, 0]).all()
        np.testing.assert_array_equal(f_out[keep, 0], d_out[:, 0])


@pytest.mark.parametrize("name", NAMES)
def test_default_warmup_matches_first_valid_bar(name: str) -> None:
    spec = INDICATORS[name]
    bars = rows(random_bars(400, 1, seed=3), slice(None), col=0)
    outs = call(spec, bars)
    assert first_valid(outs) == spec.warmup()


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("n", [0, 1, 3])
def test_short_inputs_give_nan_not_errors(name: str, n: int) -> None:
    spec = INDICATORS[name]
    bars = rows(random_bars(max(n, 1), 1, seed=1), slice(0, n), col=0)
    for out in call(spec, bars):
        assert out.shape == (n,)
        if n <= spec.warmup():
            assert np.isnan(out).all()


@pytest.mark.parametrize("name", NAMES)
def test_series_and_frames_round_trip(name: str) -> None:
    spec = INDICATORS[name]
    bars = random_bars(150, 3, seed=8)
    idx = pd.date_range("2020-01-01", periods=150, freq="D")
    cols = ["A", "B", "C"]
    frames = {
        k: (pd.DataFrame(v, index=idx, columns=cols) if v.ndim == 2 else v) for k, v in bars.items()
    }
    series = {
        k: (pd.Series(v[:, 1], index=idx, name=k) if v.ndim == 2 else v) for k, v in bars.items()
    }
    plain = call(spec, bars)
    for p, fr, se in zip(plain, call(spec, frames), call(spec, series), strict=True):
        assert isinstance(fr, pd.DataFrame) and list(fr.columns) == cols
        assert fr.index.equals(idx)
        np.testing.assert_array_equal(fr.to_numpy(), p)
        assert isinstance(se, pd.Series) and se.index.equals(idx)
        np.testing.assert_array_equal(se.to_numpy(), p[:, 1])


def test_registry_lists_at_least_45_documented_indicators() -> None:
    assert len(INDICATORS) >= 45
    for name, spec in INDICATORS.items():
        assert spec.name == name
        assert "Warm-up" in (spec.function.__doc__ or "")
        assert spec.outputs and spec.inputs
        assert spec.description


def test_bad_arguments_raise_one_line_errors() -> None:
    x = np.arange(50.0)
    with pytest.raises(ConfigError, match="rsi: parameter 'period' must be an integer >= 1"):
        rsi(x, 0)
    with pytest.raises(ConfigError, match="period"):
        sma(x, 2.5)  # type: ignore[arg-type]
    with pytest.raises(DataError, match="3-D"):
        sma(np.zeros((2, 2, 2)), 2)
    with pytest.raises(DataError, match="'low' has shape"):
        INDICATORS["atr"].function(np.ones((5, 2)), np.ones((5, 3)), np.ones((5, 2)))
    with pytest.raises(DataError, match="'benchmark' has 4 rows"):
        INDICATORS["rolling_beta"].function(np.ones(5), np.ones(4))
    with pytest.raises(ConfigError, match="unknown parameter"):
        INDICATORS["rsi"].warmup(length=3)
    with pytest.raises(ConfigError, match="unknown indicator 'nope'"):
        get_indicator("nope")
