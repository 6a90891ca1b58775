"""Memoisation of indicator outputs within one run (parameter sweeps reuse series)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

import numpy as np

from alphaforge.core.errors import ConfigError

CacheKey = tuple[str, tuple[Hashable, ...], str]


@dataclass(frozen=True)
class CacheStats:
    """Counters of an :class:`IndicatorCache`."""

    hits: int
    misses: int
    entries: int
    nbytes: int
    max_bytes: int


def _nbytes(value: Any) -> int:
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if isinstance(value, tuple | list):
        return sum(_nbytes(v) for v in value)
    nb = getattr(value, "nbytes", None)
    return int(nb) if isinstance(nb, int | np.integer) else 0


def _freeze(value: Any) -> None:
    """Make cached numpy arrays read-only so a caller cannot corrupt a shared entry."""
    if isinstance(value, np.ndarray):
        value.setflags(write=False)
    elif isinstance(value, tuple | list):
        for v in value:
            _freeze(v)


class IndicatorCache:
    """LRU cache of indicator outputs keyed by ``(indicator name, params, data key)``.

    Bounded by the total ``nbytes`` of the stored arrays; the least recently used entries are
    evicted first and a result larger than the whole budget is returned without being stored.
    Cached arrays are made read-only. Not thread-safe: one cache per run / worker.

    Parameters
    ----------
    max_bytes : int
        Memory budget of the stored arrays (default 512 MiB).

    Examples
    --------
    >>> cache = IndicatorCache()
    >>> fast = cache.get("sma", (10,), "SPY:close", lambda: sma(close, 10))  # doctest: +SKIP
    """

    def __init__(self, max_bytes: int = 512 * 1024 * 1024) -> None:
        if max_bytes < 0:
            raise ConfigError(f"IndicatorCache: max_bytes must be >= 0, got {max_bytes}")
        self._max_bytes = int(max_bytes)
        self._store: OrderedDict[CacheKey, tuple[Any, int]] = OrderedDict()
        self._nbytes = 0
        self.hits = 0
        self.misses = 0

    def get(
        self, name: str, params: tuple[Hashable, ...], key: str, compute: Callable[[], Any]
    ) -> Any:
        """Return the cached result for ``(name, params, key)`` or compute and store it.

        Parameters
        ----------
        name : str
            Indicator name, e.g. ``"rsi"``.
        params : tuple
            Hashable parameter values, e.g. ``(14,)``.
        key : str
            Identity of the input data (e.g. a data hash plus the field name).
        compute : callable
            Zero-argument function producing the array (or tuple of arrays) on a miss.

        Returns
        -------
        numpy.ndarray or tuple
            The (read-only) result.
        """
        ck: CacheKey = (name, tuple(params), key)
        entry = self._store.get(ck)
        if entry is not None:
            self.hits += 1
            self._store.move_to_end(ck)
            return entry[0]
        self.misses += 1
        value = compute()
        size = _nbytes(value)
        if size <= self._max_bytes:
            _freeze(value)
            self._store[ck] = (value, size)
            self._nbytes += size
            self._evict()
        return value

    def _evict(self) -> None:
        while self._nbytes > self._max_bytes and self._store:
            _, (_, size) = self._store.popitem(last=False)
            self._nbytes -= size

    def __contains__(self, item: object) -> bool:
        return item in self._store

    def __len__(self) -> int:
        return len(self._store)

    @property
    def nbytes(self) -> int:
        """Bytes currently held."""
        return self._nbytes

    def stats(self) -> CacheStats:
        """Hit/miss counters and memory use."""
        return CacheStats(self.hits, self.misses, len(self._store), self._nbytes, self._max_bytes)

    def clear(self) -> None:
        """Drop every entry (counters are kept)."""
        self._store.clear()
        self._nbytes = 0
