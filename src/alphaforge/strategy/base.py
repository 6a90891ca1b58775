"""What a strategy author writes.

A strategy is one class with a small typed ``Params`` model and a vectorized, causal
``signals`` hook: whole (bars x symbols) arrays in, entry/exit masks (optionally with stop and
target price levels, limit/stop entry prices and a priority) or target weights out. Row ``t`` of
the output may only depend on rows ``<= t`` of the input; the engine acts on it at bar ``t + 1``.

Example
-------
>>> class SmaCross(Strategy):
...     '''Long when the fast SMA crosses above the slow SMA, flat when it crosses below.'''
...     name = "my_sma"
...     class Params(StrategyParams):
...         fast: int = param(10, ge=2, le=100, description="fast SMA length")
...         slow: int = param(50, ge=5, le=400, description="slow SMA length")
...     def signals(self, data):
...         fast = data.sma(self.params.fast)
...         slow = data.sma(self.params.slow)
...         return Signals(entries=crossed_above(fast, slow), exits=crossed_above(slow, fast))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alphaforge.core.errors import StrategyError
from alphaforge.data.panel import Panel


class StrategyParams(BaseModel):
    """Base of a strategy's parameter model: frozen, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def param(
    default: Any,
    *,
    ge: float | None = None,
    le: float | None = None,
    choices: list[Any] | tuple[Any, ...] | None = None,
    step: float | None = None,
    description: str = "",
) -> Any:
    """Declare a parameter: default, bounds or choices (the optimizer's search space), help."""
    extra: dict[str, Any] = {}
    if choices is not None:
        extra["choices"] = list(choices)
    if step is not None:
        extra["step"] = step
    return Field(default, ge=ge, le=le, description=description, json_schema_extra=extra or None)


@dataclass
class Signals:
    """Per-symbol entry/exit masks (bars x symbols), decided at each bar's close.

    Optional arrays: ``short_entries``/``short_exits``; ``stop_loss``/``take_profit`` absolute
    price levels for the trade entered on the next bar; ``limit_price``/``stop_price`` to enter
    with a limit / stop (stop-limit when both) instead of a market order; ``priority``: when cash
    is short, higher priority entries fill first.
    """

    entries: np.ndarray
    exits: np.ndarray
    short_entries: np.ndarray | None = None
    short_exits: np.ndarray | None = None
    stop_loss: np.ndarray | None = None
    take_profit: np.ndarray | None = None
    limit_price: np.ndarray | None = None
    stop_price: np.ndarray | None = None
    priority: np.ndarray | None = None


@dataclass
class TargetWeights:
    """Target portfolio weights (bars x symbols); NaN leaves a symbol as it is.

    ``rebalance`` (bars,) marks the bars whose weights are acted on; None uses the configured
    schedule. ``priority`` orders buys when cash is short.
    """

    weights: np.ndarray
    rebalance: np.ndarray | None = None
    priority: np.ndarray | None = None


@dataclass
class StrategyData:
    """The data a strategy sees: aligned float64 arrays (bars x symbols) and an indicator cache."""

    panel: Panel
    cache: dict[tuple[Any, ...], np.ndarray] = field(default_factory=dict)

    @property
    def open(self) -> np.ndarray:
        return self.panel.open

    @property
    def high(self) -> np.ndarray:
        return self.panel.high

    @property
    def low(self) -> np.ndarray:
        return self.panel.low

    @property
    def close(self) -> np.ndarray:
        return self.panel.close

    @property
    def volume(self) -> np.ndarray:
        return self.panel.volume

    @property
    def index(self) -> pd.DatetimeIndex:
        return self.panel.index

    @property
    def symbols(self) -> tuple[str, ...]:
        return self.panel.symbols

    @property
    def shape(self) -> tuple[int, int]:
        return self.panel.shape

    def cached(self, key: tuple[Any, ...], compute: Callable[[], np.ndarray]) -> np.ndarray:
        """Memoise an indicator for this data (a sweep computes each series once)."""
        hit = self.cache.get(key)
        if hit is None:
            hit = compute()
            self.cache[key] = hit
        return hit

    def sma(self, period: int, field_name: str = "close") -> np.ndarray:
        from alphaforge.indicators import sma

        src = getattr(self, field_name)
        return self.cached(("sma", field_name, int(period)), lambda: np.asarray(sma(src, period)))

    def ema(self, period: int, field_name: str = "close") -> np.ndarray:
        from alphaforge.indicators import ema

        src = getattr(self, field_name)
        return self.cached(("ema", field_name, int(period)), lambda: np.asarray(ema(src, period)))

    def atr(self, period: int = 14) -> np.ndarray:
        from alphaforge.indicators import atr

        return self.cached(
            ("atr", int(period)),
            lambda: np.asarray(atr(self.high, self.low, self.close, period)),
        )


class Strategy:
    """Base class of every strategy; see the module docstring."""

    name: ClassVar[str] = ""
    Params: ClassVar[type[StrategyParams]] = StrategyParams

    def __init__(self, params: Mapping[str, Any] | StrategyParams | None = None, **kwargs: Any):
        if isinstance(params, StrategyParams):
            values = {**params.model_dump(), **kwargs}
        else:
            values = {**dict(params or {}), **kwargs}
        try:
            self.params = self.Params.model_validate(values)
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"]) or "params"
            msg = "unknown parameter" if err["type"] == "extra_forbidden" else err["msg"]
            raise StrategyError(
                f"{self.name or type(self).__name__}: parameter {loc}: {msg}"
                + (f" (got {err.get('input')!r})" if err["type"] != "extra_forbidden" else "")
            ) from None

    def warmup(self) -> int:
        """Bars of history the signals need before they are meaningful."""
        return 0

    def signals(self, data: StrategyData) -> Signals | TargetWeights:
        raise NotImplementedError

    @classmethod
    def describe(cls) -> list[dict[str, Any]]:
        """Parameters with type, default, bounds, choices and description."""
        out = []
        for pname, info in cls.Params.model_fields.items():
            meta = {type(m).__name__: m for m in info.metadata}
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            ge = getattr(meta.get("Ge"), "ge", None)
            le = getattr(meta.get("Le"), "le", None)
            out.append(
                {
                    "name": pname,
                    "type": getattr(info.annotation, "__name__", str(info.annotation)),
                    "default": info.default,
                    "min": ge,
                    "max": le,
                    "choices": extra.get("choices"),
                    "step": extra.get("step"),
                    "description": info.description or "",
                }
            )
        return out

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.model_dump().items())
        return f"{type(self).__name__}({args})"


def shift(a: np.ndarray, n: int = 1, fill: Any = np.nan) -> np.ndarray:
    """``a`` moved down ``n`` rows (row t holds row t-n): the causal lag."""
    out = np.empty_like(a)
    if n <= 0:
        return a.copy()
    out[:n] = fill
    out[n:] = a[:-n]
    return out


def crossed_above(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True at bar t when ``a[t-1] < b[t-1]`` and ``a[t] > b[t]`` (NaN never crosses)."""
    out = np.zeros(np.shape(a), dtype=bool)
    if len(out) > 1:  # comparisons with NaN are False and do not warn
        np.logical_and(a[1:] > b[1:], a[:-1] < b[:-1], out=out[1:])
    return out
