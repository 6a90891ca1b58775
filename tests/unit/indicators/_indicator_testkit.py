"""Shared helpers of the indicator tests: seeded OHLCV panels and a generic registry caller."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from alphaforge.indicators import IndicatorSpec

FIELDS = ("open", "high", "low", "close", "volume")


def random_bars(
    n: int, m: int, seed: int, start_rows: Sequence[int] | None = None
) -> dict[str, np.ndarray]:
    """Seeded random-walk OHLCV (bars x symbols, prices rounded to cents) + benchmark/session.

    ``start_rows[j]`` blanks column ``j`` (all fields) before that row, like a late listing.
    """
    rng = np.random.default_rng(seed)
    close = np.round(50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.015, (n, m)), axis=0)), 2)
    open_ = np.round(close * np.exp(rng.normal(0.0, 0.006, (n, m))), 2)
    high = np.round(np.maximum(open_, close) * (1 + np.abs(rng.normal(0.0, 0.006, (n, m)))), 2)
    low = np.round(np.minimum(open_, close) * (1 - np.abs(rng.normal(0.0, 0.006, (n, m)))), 2)
    volume = rng.integers(1_000, 100_000, (n, m)).astype(np.float64)
    bars = {"open": open_, "high": high, "low": low, "close": close, "volume": volume}
    if start_rows is not None:
        for j, s in enumerate(start_rows):
            for f in FIELDS:
                bars[f][:s, j] = np.nan
    bars["benchmark"] = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.01, n)))
    bars["session"] = (np.arange(n) // 7).astype(np.float64)
    return bars


def call(spec: IndicatorSpec, bars: Mapping[str, np.ndarray], **params: Any) -> tuple[Any, ...]:
    """Run ``spec`` on ``bars`` (inputs by name) and return its outputs as a tuple."""
    res = spec.function(*(bars[name] for name in spec.inputs), **params)
    return tuple(res) if isinstance(res, tuple) else (res,)


def rows(bars: Mapping[str, np.ndarray], sel: Any, col: int | None = None) -> dict[str, np.ndarray]:
    """Row selection of every field (and column ``col`` of the 2-D fields)."""
    out = {}
    for k, v in bars.items():
        a = v[sel]
        if a.ndim == 2 and col is not None:
            a = a[:, col]
        out[k] = np.ascontiguousarray(a)
    return out


def first_valid(outputs: Sequence[np.ndarray]) -> int:
    """First row where every output is non-NaN (len if none)."""
    ok = np.all([~np.isnan(np.asarray(o, dtype=float)) for o in outputs], axis=0)
    return int(np.argmax(ok)) if ok.any() else len(ok)
