"""IndicatorCache: memoisation per (indicator, params, data key), LRU by bytes, counters."""

from __future__ import annotations

from functools import partial

import numpy as np
import pytest

from alphaforge.core.errors import ConfigError
from alphaforge.indicators import IndicatorCache, rsi, sma


def test_hit_returns_the_stored_array_without_recomputing() -> None:
    cache = IndicatorCache()
    x = np.arange(100.0)
    calls: list[tuple[int, ...]] = []

    def compute(p: int) -> np.ndarray:
        calls.append((p,))
        return sma(x, p)

    # a sweep over fast/slow pairs needs SMA(10) three times: computed once
    for fast, slow in [(10, 20), (10, 30), (10, 40)]:
        a = cache.get("sma", (fast,), "AAA:close", partial(compute, fast))
        b = cache.get("sma", (slow,), "AAA:close", partial(compute, slow))
        assert a.shape == b.shape == (100,)
    assert calls == [(10,), (20,), (30,), (40,)]
    assert (cache.hits, cache.misses) == (2, 4)
    first = cache.get("sma", (10,), "AAA:close", lambda: compute(10))
    np.testing.assert_array_equal(first, sma(x, 10))
    assert not first.flags.writeable  # shared entries cannot be modified by a caller


def test_key_includes_name_params_and_data() -> None:
    cache = IndicatorCache()
    x = np.linspace(1, 2, 50)
    cache.get("rsi", (14,), "A", lambda: rsi(x, 14))
    cache.get("rsi", (7,), "A", lambda: rsi(x, 7))
    cache.get("rsi", (14,), "B", lambda: rsi(x, 14))
    cache.get("sma", (14,), "A", lambda: sma(x, 14))
    assert cache.misses == 4 and cache.hits == 0 and len(cache) == 4
    assert ("rsi", (14,), "B") in cache


def test_lru_eviction_by_bytes() -> None:
    one = np.zeros(100)  # 800 bytes
    cache = IndicatorCache(max_bytes=2000)  # room for two
    cache.get("x", (1,), "k", lambda: one.copy())
    cache.get("x", (2,), "k", lambda: one.copy())
    cache.get("x", (1,), "k", lambda: one.copy())  # hit: (1,) becomes most recent
    cache.get("x", (3,), "k", lambda: one.copy())  # evicts (2,), the least recently used
    assert ("x", (1,), "k") in cache and ("x", (3,), "k") in cache
    assert ("x", (2,), "k") not in cache
    assert cache.nbytes == 1600
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.entries, stats.max_bytes) == (1, 3, 2, 2000)


def test_results_larger_than_the_budget_are_returned_but_not_stored() -> None:
    cache = IndicatorCache(max_bytes=100)
    out = cache.get("big", (), "k", lambda: np.ones(1000))
    assert out.shape == (1000,) and len(cache) == 0 and cache.nbytes == 0
    assert out.flags.writeable


def test_tuple_outputs_are_sized_and_frozen() -> None:
    cache = IndicatorCache()
    res = cache.get("pair", (), "k", lambda: (np.ones(10), np.zeros(5)))
    assert cache.nbytes == 120
    assert not res[0].flags.writeable and not res[1].flags.writeable
    cache.clear()
    assert len(cache) == 0 and cache.nbytes == 0 and cache.misses == 1


def test_negative_budget_is_rejected() -> None:
    with pytest.raises(ConfigError, match="max_bytes"):
        IndicatorCache(max_bytes=-1)
