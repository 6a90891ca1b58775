"""Conversion between user inputs (1-D/2-D arrays, Series, DataFrames) and kernel arrays."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from alphaforge.core.errors import ConfigError, DataError

ArrayLike = np.ndarray | pd.Series | pd.DataFrame
A = TypeVar("A", np.ndarray, pd.Series, pd.DataFrame)


@dataclass(frozen=True)
class Like:
    """How to turn a (bars x symbols) kernel result back into the caller's type."""

    kind: str  # "1d", "2d", "series" or "frame"
    index: Any = None
    columns: Any = None
    name: Any = None

    def restore(self, arr: np.ndarray, name: str | None = None) -> Any:
        """Wrap a 2-D kernel output like the first input of the call."""
        if self.kind == "1d":
            return arr[:, 0]
        if self.kind == "2d":
            return arr
        if self.kind == "series":
            return pd.Series(arr[:, 0], index=self.index, name=name or self.name)
        return pd.DataFrame(arr, index=self.index, columns=self.columns)


def _to_2d(x: Any, what: str, func: str) -> tuple[np.ndarray, Like]:
    if isinstance(x, pd.DataFrame):
        like = Like("frame", index=x.index, columns=x.columns)
        arr = x.to_numpy(dtype=np.float64, na_value=np.nan)
    elif isinstance(x, pd.Series):
        like = Like("series", index=x.index, name=x.name)
        arr = x.to_numpy(dtype=np.float64, na_value=np.nan)[:, None]
    else:
        try:
            arr = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise DataError(f"{func}: input {what!r} is not numeric ({exc})") from None
        if arr.ndim == 1:
            like = Like("1d")
            arr = arr[:, None]
        elif arr.ndim == 2:
            like = Like("2d")
        else:
            raise DataError(f"{func}: input {what!r} must be 1-D or 2-D, got {arr.ndim}-D")
    return np.ascontiguousarray(arr, dtype=np.float64), like


def prepare(func: str, **inputs: Any) -> tuple[list[np.ndarray], Like]:
    """Convert every input to a C-contiguous float64 (bars x symbols) array of one shape.

    The first input decides the return type of the indicator.
    """
    arrays: list[np.ndarray] = []
    like: Like | None = None
    shape: tuple[int, ...] | None = None
    first = ""
    for what, x in inputs.items():
        arr, lk = _to_2d(x, what, func)
        if like is None:
            like, shape, first = lk, arr.shape, what
        elif arr.shape != shape:
            raise DataError(
                f"{func}: input {what!r} has shape {arr.shape}, expected {shape} like {first!r}"
            )
        arrays.append(arr)
    assert like is not None
    return arrays, like


def broadcast_column(x: Any, shape: tuple[int, int], what: str, func: str) -> np.ndarray:
    """A benchmark / session-id series (bars,) repeated for every column, or a full 2-D array."""
    arr = np.asarray(x.to_numpy() if isinstance(x, pd.Series | pd.DataFrame) else x)
    arr = arr.astype(np.float64)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr[:, 0]
    if arr.ndim == 1:
        if arr.shape[0] != shape[0]:
            raise DataError(f"{func}: {what!r} has {arr.shape[0]} rows, expected {shape[0]}")
        return np.ascontiguousarray(np.repeat(arr[:, None], shape[1], axis=1))
    if arr.shape != shape:
        raise DataError(f"{func}: {what!r} has shape {arr.shape}, expected {shape}")
    return np.ascontiguousarray(arr)


def check_period(func: str, name: str, value: int, minimum: int = 1) -> int:
    """Validate an integer window parameter and return it as ``int``."""
    if isinstance(value, bool) or int(value) != value or int(value) < minimum:
        raise ConfigError(
            f"{func}: parameter {name!r} must be an integer >= {minimum}, got {value!r}"
        )
    return int(value)


def check_positive(func: str, name: str, value: float, allow_zero: bool = False) -> float:
    """Validate a real parameter (> 0, or >= 0 with ``allow_zero``)."""
    v = float(value)
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        raise ConfigError(f"{func}: parameter {name!r} must be positive, got {value!r}")
    return v
