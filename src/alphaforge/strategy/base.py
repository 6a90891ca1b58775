"""What a strategy author writes.

A strategy is one class with a small typed ``Params`` model and a vectorized, causal
``signals`` hook: whole (bars x symbols) arrays in, entry/exit masks (optionally with stop and
target price levels, limit/stop entry prices and a priority) or target weights out. Row ``t`` of
the output may only depend on rows ``<= t`` of the input; the engine acts on it at bar ``t + 1``.

``Strategy`` is generic over its parameter model: ``class SmaCross(Strategy[SmaCrossParams])``
makes ``self.params`` a ``SmaCrossParams`` for a type checker (``self.params.fast`` is an
``int``; a misspelt name is an error). The model named in brackets is also the class's
``Params``, unless the class sets ``Params`` itself.

Example
-------
>>> class SmaCrossParams(StrategyParams):
...     fast: int = param(10, ge=2, le=100, description="fast SMA length")
...     slow: int = param(50, ge=5, le=400, description="slow SMA length")
>>> class SmaCross(Strategy[SmaCrossParams]):
...     '''Long when the fast SMA crosses above the slow SMA, flat when it crosses below.'''
...     name = "my_sma"
...     def signals(self, data: StrategyData) -> Signals:
...         fast = data.sma(self.params.fast)
...         slow = data.sma(self.params.slow)
...         return Signals(entries=crossed_above(fast, slow), exits=crossed_above(slow, fast))
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar, cast, get_args, get_origin

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from alphaforge.core.errors import StrategyError, StrategyInputError
from alphaforge.core.panel import Panel
from alphaforge.core.suggest import did_you_mean


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
    is short, higher priority entries fill first. ``score``: the number behind the masks (a
    model's probability, say); the backtest ignores it, the runtime records it with each bar's
    signals (``p=0.5731``), so a paper, live or shadow run logs its predictions.
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
    score: np.ndarray | None = None

    def __post_init__(self) -> None:
        for name in ("entries", "exits", "short_entries", "short_exits"):
            check_mask(getattr(self, name), name)
        if self.score is not None:
            score = np.asarray(self.score)
            if score.dtype.kind not in "fiu" or score.shape != np.shape(self.entries):
                raise StrategyError(
                    f"Signals.score: expected numbers shaped like entries {np.shape(self.entries)}"
                    f", got {score.dtype} {score.shape}"
                )


def check_mask(mask: Any, name: str, owner: str = "Signals") -> None:
    """Refuse a signal mask that is not boolean: a float mask (NaN is truthy) would be read as
    something the strategy did not mean. Integer masks of 0 and 1 are accepted."""
    if mask is None:
        return
    arr = np.asarray(mask)
    if arr.dtype == np.bool_:
        return
    if arr.dtype.kind in "iu" and bool(np.isin(arr, (0, 1)).all()):
        return
    nan = " with NaN" if arr.dtype.kind == "f" and bool(np.isnan(arr).any()) else ""
    raise StrategyError(
        f"{owner}.{name}: a mask must be boolean, got {arr.dtype}{nan}; compare explicitly, e.g. "
        "`fast > slow` (False where an input is NaN), or `np.nan_to_num(x) > 0`"
    )


@dataclass
class TargetWeights:
    """Target portfolio weights (bars x symbols); NaN leaves a symbol as it is.

    ``rebalance`` (bars,) marks the bars whose weights are acted on; None uses the configured
    schedule. ``priority`` orders buys when cash is short.
    """

    weights: np.ndarray
    rebalance: np.ndarray | None = None
    priority: np.ndarray | None = None

    def __post_init__(self) -> None:
        check_mask(self.rebalance, "rebalance", "TargetWeights")


@dataclass
class SignalBatch:
    """Where :meth:`Strategy.batch_signals` writes: ``(K, bars, symbols)`` masks, one per trial.

    The arrays may be strided views into the caller's buffers; write them in place. The short
    masks are None when the run cannot go short.
    """

    entries: np.ndarray
    exits: np.ndarray
    short_entries: np.ndarray | None = None
    short_exits: np.ndarray | None = None


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

    def average_stack(
        self, kind: str, periods: Sequence[int], field_name: str = "close"
    ) -> np.ndarray:
        """The ``sma`` / ``ema`` series of ``periods`` as one ``(periods, symbols, bars)`` array
        (see :func:`~alphaforge.indicators.averages.moving_average_stack`). Each period's cache
        entry becomes a (bars, symbols) view of it, so :meth:`sma` / :meth:`ema` return it
        without computing again, and an older stack is not kept alive by the cache."""
        from alphaforge.indicators.averages import moving_average_stack

        stack = moving_average_stack(getattr(self, field_name), [int(p) for p in periods], kind)
        for i, p in enumerate(periods):
            self.cache[(kind, field_name, int(p))] = stack[i].T
        return stack

    def atr(self, period: int = 14) -> np.ndarray:
        from alphaforge.indicators import atr

        return self.cached(
            ("atr", int(period)),
            lambda: np.asarray(atr(self.high, self.low, self.close, period)),
        )


P = TypeVar("P", bound=StrategyParams)


def _params_argument(cls: type) -> type[StrategyParams] | None:
    """The parameter model named in ``cls``'s own ``Strategy[...]`` base, if it names one."""
    for base in vars(cls).get("__orig_bases__", ()):
        origin = get_origin(base)
        if isinstance(origin, type) and issubclass(origin, Strategy):
            for arg in get_args(base):
                if isinstance(arg, type) and issubclass(arg, StrategyParams):
                    return arg
    return None


class Strategy(Generic[P]):
    """Base class of every strategy, generic over its parameter model; see the module docstring.

    ``Params`` is the model class itself (what the optimizer and ``describe`` read);
    ``self.params`` is the validated, frozen instance of it.
    """

    name: ClassVar[str] = ""
    Params: ClassVar[type[StrategyParams]] = StrategyParams
    directions: ClassVar[tuple[str, ...]] = ("long", "short", "long_short")
    """The ``direction`` settings the strategy works with; a run with another is refused."""
    params: P

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = vars(cls).get("Params")
        if own is not None and not (isinstance(own, type) and issubclass(own, StrategyParams)):
            raise TypeError(
                f"{cls.__name__}: Params must be a StrategyParams model (class "
                f"{getattr(own, '__name__', own)}(StrategyParams) with fields like "
                "fast: int = param(10, ge=2)), not a plain class or dataclass"
            )
        named = _params_argument(cls)
        if named is not None and "Params" not in vars(cls):
            cls.Params = named
        elif named is not None and not issubclass(cls.Params, named):
            raise TypeError(
                f"{cls.__name__}: Params {cls.Params.__name__} is not the "
                f"{named.__name__} named in its Strategy[...] base"
            )

    def __init__(self, params: Mapping[str, Any] | StrategyParams | None = None, **kwargs: Any):
        if type(params) is self.Params and not kwargs:
            self.params = cast(P, params)  # validated already (and frozen): a sweep's sets, say
            return
        if isinstance(params, StrategyParams):
            values = {**params.model_dump(), **kwargs}
        else:
            values = {**dict(params or {}), **kwargs}
        try:
            self.params = cast(P, self.Params.model_validate(values))
        except ValidationError as exc:
            raise StrategyInputError(self._params_error(exc)) from None

    def _params_error(self, exc: ValidationError) -> str:
        """One line for the first error: ``name: parameter fast: what (got value)``, or for a
        check across parameters ``name: params: what``."""
        err = exc.errors()[0]
        loc = ".".join(str(p) for p in err["loc"])
        msg = err["msg"]
        if err["type"] == "value_error":
            msg = msg.removeprefix("Value error, ")
        where = f"parameter {loc}" if loc else "params"
        got = "" if not loc else f" (got {err.get('input')!r})"
        if err["type"] == "extra_forbidden":
            known = list(self.Params.model_fields)
            hint = did_you_mean(loc, known) or ";"
            msg = f"unknown parameter{hint} parameters: {', '.join(known) or 'none'}"
            got = ""
        return f"{self.name or type(self).__name__}: {where}: {msg}{got}"

    def warmup(self) -> int:
        """Bars of history the signals need before they are meaningful."""
        return 0

    def signals(self, data: StrategyData) -> Signals | TargetWeights:
        raise NotImplementedError

    @classmethod
    def batch_signals(cls, data: StrategyData, params: Sequence[P], out: SignalBatch) -> bool:
        """Optional fast path of a parameter sweep: the signals of many parameter sets at once.

        Write into ``out`` what :meth:`signals` returns for each of the validated ``params``
        (entries, exits and, when given, the short masks; nothing else) and return True. The
        default returns False and the sweep calls :meth:`signals` once per parameter set. An
        override must agree with :meth:`signals` exactly; the library's own are tested so.
        A subclass that overrides :meth:`signals` without its own ``batch_signals`` does not
        inherit this fast path (see :meth:`has_batch_signals`).
        """
        return False

    @classmethod
    def batch_prepare(cls, data: StrategyData, params: Sequence[P]) -> None:
        """Optional companion of :meth:`batch_signals`: compute once, before the first chunk,
        what the chunks of a sweep over ``params`` (all its validated parameter sets) share,
        e.g. the moving averages of every length in the grid, into ``data``'s cache."""

    @classmethod
    def has_batch_signals(cls) -> bool:
        """True when :meth:`batch_signals` may stand in for :meth:`signals`: the class that
        defines the ``batch_signals`` in effect also defines the ``signals`` in effect (a
        subclass with its own rules must not be swept with its parent's masks)."""

        def owner(attr: str) -> type:
            return next(k for k in cls.__mro__ if attr in vars(k))

        where = owner("batch_signals")
        return where is not Strategy and where is owner("signals")

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


def _serial(fn: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
    return [fn(x) for x in items]


def line_stack(
    data: StrategyData,
    line: Callable[[int], np.ndarray],
    lengths: Sequence[int],
    compute: Callable[[Sequence[int]], np.ndarray] | None = None,
) -> tuple[tuple[int, ...], np.ndarray]:
    """The lines of ``lengths`` as one contiguous ``(lines, symbols, bars)`` array, kept in the
    data's cache with the lengths it holds: a sweep in chunks asks for the same lines again,
    and a chunk that needs a line not yet held rebuilds the stack with the union (one stack
    alive at a time). ``compute(lengths)``, when given, returns the whole stack at once."""
    from alphaforge.strategy.kernels import thread_map

    fn = getattr(line, "__func__", line)  # a bound method is a new object at every access
    key, len_key = ("cross_batch", fn), ("cross_batch_lengths", fn)
    held = data.cache.get(len_key)
    have: tuple[int, ...] = tuple(held.tolist()) if held is not None else ()
    if held is not None and set(lengths) <= set(have):
        return have, data.cache[key]
    union = tuple(sorted(set(lengths) | set(have)))
    data.cache.pop(key, None)  # release the old stack before the new one is filled
    data.cache.pop(len_key, None)
    n_bars, n_sym = data.shape
    if compute is not None:
        stack = compute(union)
    else:
        stack = np.empty((len(union), n_sym, n_bars))

        def fill(i: int) -> None:  # (bars, symbols) -> (symbols, bars)
            stack[i] = np.asarray(line(union[i]), dtype=np.float64).T

        # many lines are filled on several threads (indicators and copies release the GIL)
        big = len(union) * n_bars * n_sym >= 2_000_000
        (thread_map if big else _serial)(fill, range(len(union)))
    data.cache[key] = stack
    data.cache[len_key] = np.array(union, dtype=np.int64)
    return union, stack


def cross_batch(
    data: StrategyData,
    line: Callable[[int], np.ndarray],
    pairs: Sequence[tuple[int, int]],
    out: SignalBatch,
    compute: Callable[[Sequence[int]], np.ndarray] | None = None,
) -> None:
    """Batch form of the two-line crossover: entries when ``line(a)`` crosses above ``line(b)``,
    exits (and short entries) when it crosses below, short exits on the cross above.

    ``line(n)`` returns a (bars x symbols) series (e.g. ``data.sma``); each distinct length is
    computed once (``compute(lengths)``, when given, returns the ``(lengths, symbols, bars)``
    stack of them in one call). Writes ``out`` for every ``(a, b)`` of ``pairs``.
    """
    from alphaforge.strategy.kernels import cross_grid_nb

    if not pairs:
        return
    lengths = sorted({n for pair in pairs for n in pair})
    stack = line_stack(data, line, lengths, compute)
    where = {n: i for i, n in enumerate(stack[0])}
    idx = np.array([[where[a], where[b]] for a, b in pairs], dtype=np.int64).reshape(-1, 2)
    cross_grid_nb(stack[1], idx, out.entries, out.exits)
    if out.short_entries is not None:
        out.short_entries[...] = out.exits
    if out.short_exits is not None:
        out.short_exits[...] = out.entries


def crossed_above(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """True at bar t when ``a[t-1] < b[t-1]`` and ``a[t] > b[t]`` (NaN never crosses)."""
    out = np.zeros(np.shape(a), dtype=bool)
    if len(out) > 1:  # comparisons with NaN are False and do not warn
        np.logical_and(a[1:] > b[1:], a[:-1] < b[:-1], out=out[1:])
    return out
