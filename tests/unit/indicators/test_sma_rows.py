"""The row-by-row SMA of a window of many symbols gives every column exactly (bit for bit) what
the column-by-column path and TA-Lib's arithmetic give, and steps aside for missing values."""

from __future__ import annotations

import numpy as np
import talib
from hypothesis import given, settings
from hypothesis import strategies as st

from alphaforge.indicators import kernels as k
from alphaforge.indicators import sma


def _by_column(x: np.ndarray, period: int) -> np.ndarray:
    out = np.full(x.shape, np.nan)
    for j in range(x.shape[1]):
        k._ma_column_nb(np.ascontiguousarray(x[:, j]), 0, period, out[:, j])
    return out


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 120), cols=st.integers(2, 12), period=st.integers(1, 130),
    seed=st.integers(0, 2**32 - 1),
)  # fmt: skip
def test_rows_equal_columns_bit_for_bit(rows: int, cols: int, period: int, seed: int) -> None:
    x = np.random.default_rng(seed).lognormal(4.0, 0.5, size=(rows, cols))
    out = np.full(x.shape, np.nan)
    assert k._sma_rows_nb(x, period, out)
    assert np.array_equal(out, _by_column(x, period), equal_nan=True)
    assert np.array_equal(k.ma_nb(x, 0, period), out, equal_nan=True)


def test_rows_match_talib_on_every_column() -> None:
    x = np.random.default_rng(3).lognormal(4.0, 0.3, size=(300, 20))
    got = sma(x, 50)
    for j in range(20):
        np.testing.assert_allclose(got[:, j], talib.SMA(x[:, j], 50), rtol=1e-12, equal_nan=True)


def test_a_missing_value_leaves_the_rows_path_for_the_columns() -> None:
    x = np.random.default_rng(4).lognormal(4.0, 0.3, size=(40, 3))
    x[10, 1] = np.nan
    out = np.full(x.shape, np.nan)
    assert not k._sma_rows_nb(x, 5, out)
    assert np.isnan(out).all()  # nothing written
    got = k.ma_nb(x, 0, 5)
    assert np.array_equal(got, _by_column(x, 5), equal_nan=True)
    assert np.isnan(got[10, 1]) and np.isfinite(got[15, 1])  # the column skips its gap


def test_a_column_slice_takes_the_columns_path() -> None:
    x = np.random.default_rng(5).lognormal(4.0, 0.3, size=(60, 8))[:, ::2]  # strided columns
    assert np.array_equal(k.ma_nb(x, 0, 7), _by_column(x, 7), equal_nan=True)
