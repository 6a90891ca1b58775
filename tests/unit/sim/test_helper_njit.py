"""Kernel helpers compiled without reference counting: they work, and cannot allocate."""

from __future__ import annotations

import numpy as np
import pytest
from numba.core.errors import NumbaError

from alphaforge._jit import helper_njit


def test_helper_runs_on_borrowed_arrays_and_views() -> None:
    def add_rows(a: np.ndarray, out: np.ndarray) -> float:
        row = a[1]  # a view: fine without reference counting
        for i in range(row.shape[0]):
            out[i] += row[i]
        return float(out.sum())

    fn = helper_njit(add_rows)
    a = np.arange(6.0).reshape(2, 3)
    out = np.ones(3)
    assert fn(a, out) == 3.0 + 3.0 + 4.0 + 5.0
    np.testing.assert_array_equal(out, [4.0, 5.0, 6.0])


def test_helper_that_allocates_does_not_compile() -> None:
    def alloc(n: int) -> float:
        return float(np.zeros(n).sum())

    with pytest.raises(NumbaError):
        helper_njit(alloc)(3)
