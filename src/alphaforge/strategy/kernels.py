"""Numba kernels of the strategy layer: signals of many parameter sets in one compiled call."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import numba
import numpy as np
from numba import njit, prange

from alphaforge._jit import configure_cache

configure_cache()

T = TypeVar("T")


def thread_map(fn: Callable[[Any], T], items: Sequence[Any]) -> list[T]:
    """``[fn(x) for x in items]`` on Numba's current number of threads.

    For work that releases the GIL (compiled with ``nogil=True``, NumPy copies), such as the
    indicator series a sweep needs before its first chunk.
    """
    n = min(int(numba.get_num_threads()), len(items))
    if n <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(fn, items))


@njit(cache=True, parallel=True)
def cross_grid_nb(
    lines_t: np.ndarray,
    pairs: np.ndarray,
    up_out: np.ndarray,
    down_out: np.ndarray,
) -> None:
    """Crossings of every pair of lines, as :func:`~alphaforge.strategy.base.crossed_above`.

    ``lines_t`` is ``(L, symbols, bars)``; ``pairs`` ``(K, 2)`` indexes its first axis (a, b).
    ``up_out[k, t, j]`` becomes True when line a crosses above line b at bar ``t``
    (``a[t-1] < b[t-1]`` and ``a[t] > b[t]``; NaN never crosses), ``down_out`` when it crosses
    below. Both outputs are ``(K, bars, symbols)`` and may be strided views.
    """
    n_k = pairs.shape[0]
    n_sym = lines_t.shape[1]
    n_bars = lines_t.shape[2]
    for k in prange(n_k):
        a_all = lines_t[pairs[k, 0]]
        b_all = lines_t[pairs[k, 1]]
        for j in range(n_sym):
            a = a_all[j]
            b = b_all[j]
            if n_bars > 0:
                up_out[k, 0, j] = False
                down_out[k, 0, j] = False
            for t in range(1, n_bars):
                up_out[k, t, j] = a[t] > b[t] and a[t - 1] < b[t - 1]
                down_out[k, t, j] = b[t] > a[t] and b[t - 1] < a[t - 1]
