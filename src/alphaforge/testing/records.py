"""Assertions on the engine's record arrays (structured dtypes with named fields)."""

from __future__ import annotations

import numpy as np


def assert_records_equal(a: np.ndarray, b: np.ndarray) -> None:
    """Record arrays equal field by field, NaN equal to NaN (as for plain float arrays)."""
    assert a.dtype == b.dtype, f"dtypes differ: {a.dtype} != {b.dtype}"
    assert a.shape == b.shape, f"shapes differ: {a.shape} != {b.shape}"
    for name in a.dtype.names or ():
        np.testing.assert_array_equal(a[name], b[name], err_msg=f"field {name!r}")
