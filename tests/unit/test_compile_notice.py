"""The first-compile notice: the command line says why a first run pauses (Numba compiling the
kernels into its cache), once per process."""

from __future__ import annotations

import numpy as np
from numba import njit

from alphaforge import _jit


def test_notify_first_compile_calls_once_when_a_kernel_compiles() -> None:
    told: list[int] = []
    _jit.configure_cache()
    _jit.notify_first_compile(lambda: told.append(1))
    assert told == []  # registering compiles nothing

    @njit(cache=False)
    def twice(x: np.ndarray) -> np.ndarray:
        return 2.0 * x

    assert twice(np.ones(3)).tolist() == [2.0, 2.0, 2.0]
    assert told == [1]
    assert twice(np.ones(2, dtype=np.int64)).tolist() == [2.0, 2.0]  # another signature compiles
    assert told == [1]  # but the notice is given once
