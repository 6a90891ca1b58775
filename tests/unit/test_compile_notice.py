"""The first-compile notice: the command line says why a first run pauses (Numba compiling the
kernels into its cache), once per process."""

from __future__ import annotations

import time

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


def test_compile_seconds_counts_compiles_not_calls() -> None:
    _jit.configure_cache()

    @njit(cache=False)
    def inner(x: float) -> float:
        return x + 1.0

    @njit(cache=False)
    def outer(x: float) -> float:
        return inner(x) * 2.0  # compiles ``inner`` inside its own compile: counted once

    before = _jit.compile_seconds()
    t0 = time.perf_counter()
    assert outer(1.0) == 4.0
    wall = time.perf_counter() - t0
    compiled = _jit.compile_seconds() - before
    assert 0.0 < compiled <= wall  # nested compiles are not added twice
    again = _jit.compile_seconds()
    assert outer(2.0) == 6.0  # a compiled signature: a call, no compile
    assert _jit.compile_seconds() == again
