"""Arguments of the Python API checked and turned into engine inputs.

Everything that can be checked without the bars (strategy, parameter names, search space,
config keys) is checked by :func:`checked_strategy`, :func:`search_space` and
:func:`run_config` before :func:`bars` touches any data, so a typo fails at once with a
one-line :class:`~alphaforge.core.errors.AlphaforgeError` naming the argument and the value.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError

from alphaforge.config.specs import RunSpec
from alphaforge.core.errors import AlphaforgeError, ConfigError, StrategyError
from alphaforge.core.panel import Panel
from alphaforge.core.rules import BacktestConfig
from alphaforge.data.schema import to_utc, to_utc_end
from alphaforge.optimize.space import (
    Dimension,
    SearchSpace,
    build_space,
    check_grid_values,
    parse_grid,
)
from alphaforge.services.backtest import load_data_file, resolve_config, symbol_args, to_panel
from alphaforge.services.run_checks import check_calendars
from alphaforge.strategy.base import Strategy, StrategyParams
from alphaforge.strategy.registry import check_direction, load_strategy_class

StrategyRef = str | Strategy | type[Strategy]
Grid = Mapping[str, Any] | Sequence[Mapping[str, Any]]


def checked_strategy(strategy: Any) -> tuple[type[Strategy], dict[str, Any], str | type[Strategy]]:
    """Class, parameters fixed by an instance, and the reference workers load it by."""
    if isinstance(strategy, Strategy):
        cls = type(strategy)
        return cls, strategy.params.model_dump(), cls
    if inspect.isclass(strategy) and issubclass(strategy, Strategy):
        return strategy, {}, strategy
    if isinstance(strategy, str) and strategy:
        return load_strategy_class(strategy), {}, strategy
    raise StrategyError(
        f"strategy={strategy!r}: give a built-in name, 'path/file.py:ClassName', a Strategy "
        "subclass or an instance"
    )


def run_config(
    config: BacktestConfig | Mapping[str, Any] | None, timeframe: str | None, **overrides: Any
) -> BacktestConfig:
    """The backtest config with keyword overrides (shortcuts such as ``commission=``)."""
    if config is not None and not isinstance(config, BacktestConfig | Mapping):
        raise ConfigError(
            f"config={type(config).__name__}: give a BacktestConfig or a mapping of config keys"
        )
    return resolve_config(
        config if isinstance(config, BacktestConfig) or config is None else dict(config),
        timeframe=timeframe,
        **overrides,
    )


def bars(
    data: Any,
    symbols: Sequence[str] | str | None = None,
    start: Any = None,
    end: Any = None,
    timeframe: str | None = None,
    adjust: bool = True,
) -> Panel:
    """The panel of ``data`` (anything :func:`~alphaforge.services.backtest.to_panel` takes),
    narrowed to ``symbols`` and ``start``..``end`` (both inclusive)."""
    names = symbol_args(symbols)
    if isinstance(data, str | Path):  # a file is adjusted as the CLI does it
        panel = load_data_file(data, names or None, timeframe, adjust=adjust)
    else:
        panel = to_panel(data, timeframe)
    if names:
        missing = [s for s in names if s not in panel.symbols]
        if missing:
            raise ConfigError(f"symbols={missing!r}: not in the data (has {_few(panel.symbols)})")
        panel = panel.select(names)
    if start is not None or end is not None:
        panel = panel.slice(to_utc(start), to_utc_end(end))
        if len(panel.index) == 0:
            raise ConfigError(f"start={start!r}, end={end!r}: no bars in between")
    return panel


def _few(names: Sequence[str], n: int = 5) -> str:
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def checked_panel(panel: Panel, cls: type[Strategy], cfg: BacktestConfig, what: str) -> None:
    check_direction(cls, cfg.direction)
    check_calendars(panel, cfg.calendar, what)


def run_spec(cfg: BacktestConfig, ref: str | type[Strategy], params: dict[str, Any]) -> RunSpec:
    """A run spec of the config (what the services' walk-forward records and re-runs)."""
    body = {**cfg.model_dump(), "params": params}
    if isinstance(ref, str):
        body["strategy"] = ref
    return RunSpec.model_validate(body)


# The optimizer's messages name command-line flags; the API names its own arguments.
_FLAGS = (("--objective ", "objective="), ("--constraint ", "constraints: "),
          ("--grid ", "grid: "), ("drop --fast", "drop fast=True"),
          ("--fast", "fast=True"), ("--min-trades ", "min_trades="))  # fmt: skip


def check_flags(**flags: Any) -> None:
    """Refuse a ``True`` / ``False`` argument given as anything else (``anchored="no"`` was
    true); ``None`` passes (the argument's default applies)."""
    for name, value in flags.items():
        if value is not None and not isinstance(value, bool | np.bool_):
            raise ConfigError(f"{name}={value!r}: True or False")


def check_counts(**counts: tuple[Any, int]) -> None:
    """Refuse a count argument (``name=(value, least)``) that is not a whole number at least
    ``least`` (``workers=0``, ``n_trials=2.5``); ``None`` passes (its default applies)."""
    for name, (value, least) in counts.items():
        if value is None:
            continue
        whole = isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)
        if not whole or value < least:
            raise ConfigError(f"{name}={value!r}: a whole number >= {least}")


def as_arguments(exc: AlphaforgeError) -> AlphaforgeError:
    """``exc`` with the command-line flags of its message replaced by argument names."""
    text = str(exc)
    for flag, arg in _FLAGS:
        text = text.replace(flag, arg)
    return type(exc)(text)


def search_rules(objective: str, constraints: Sequence[str], fast: bool) -> tuple[Any, list[Any]]:
    """The checked objective and constraints (``fast``: both computed by the batched kernel)."""
    from alphaforge.optimize import analysis

    if isinstance(constraints, str):
        constraints = [constraints]
    try:
        goal = analysis.check_objective(objective, fast)
        rules = [analysis.parse_constraint(c) for c in constraints]
        if fast:
            analysis.check_fast_constraints(rules)
    except ConfigError as exc:
        raise as_arguments(exc) from None
    return goal, rules


# ---- search spaces ------------------------------------------------------------------------------


def _names(cls: type[Strategy]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in cls.describe()}


def _check_name(cls: type[Strategy], name: Any, arg: str) -> None:
    fields = _names(cls)
    if name not in fields:
        raise ConfigError(
            f"{arg}: {cls.name or cls.__name__} has no parameter {name!r} (has {', '.join(fields)})"
        )


def _dimension(cls: type[Strategy], name: str, spec: Any, arg: str) -> Dimension | None:
    """One searched parameter from a CLI-style string, a ``(low, high)`` range (``space`` only),
    or any iterable of values; None for a single value (held fixed)."""
    kind = _names(cls)[name]["type"]
    if isinstance(spec, str):
        return parse_grid(f"{name}={spec}", kind)
    if arg == "space" and isinstance(spec, tuple) and len(spec) == 2:
        lo, hi = spec
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in spec) or hi < lo:
            raise ConfigError(
                f"space: {name}={spec!r}: a range is (low, high) numbers, low <= high"
            )
        if isinstance(lo, int) and isinstance(hi, int) and kind == "int":
            return Dimension(name, values=tuple(range(lo, hi + 1)), low=lo, high=hi, is_int=True)
        return Dimension(name, low=float(lo), high=float(hi))
    if isinstance(spec, Iterable) and not isinstance(spec, bytes | Mapping):
        values = tuple(v.item() if isinstance(v, np.generic) else v for v in spec)
        if not values:
            raise ConfigError(f"{arg}: {name}: no values")
        return Dimension(name, values=values, is_int=all(type(v) is int for v in values))
    return None


def search_space(
    cls: type[Strategy],
    grid: Grid | None,
    space: Mapping[str, Any] | None,
    fixed: Mapping[str, Any],
) -> tuple[SearchSpace, list[dict[str, Any]] | None]:
    """The search space, and the explicit trials when ``grid`` is a list of parameter sets."""
    for key in fixed:
        _check_name(cls, key, "params")
    if grid is not None and space is not None:
        raise ConfigError("grid= and space= given: give one (grid: every combination; space: "
                          "sampled with n_trials)")  # fmt: skip
    given, arg = (grid, "grid") if grid is not None else (space, "space")
    if given is None:
        return build_space(cls, None, dict(fixed)), None
    if isinstance(given, Sequence) and not isinstance(given, str):
        return _listed(cls, given, fixed)
    if not isinstance(given, Mapping) or not given:
        raise ConfigError(f"{arg}={given!r}: give a mapping of parameter name to values")
    dims: list[Dimension] = []
    base = dict(fixed)
    for name, spec in given.items():
        _check_name(cls, name, arg)
        dim = _dimension(cls, str(name), spec, arg)
        if dim is None:
            base[str(name)] = spec
        else:
            check_grid_values(cls, arg, dim)
            dims.append(dim)
    if not dims:
        raise ConfigError(f"{arg}: no parameter varies (each has a single value)")
    names = {d.name for d in dims}
    return SearchSpace(tuple(dims), {k: v for k, v in base.items() if k not in names}), None


def _listed(
    cls: type[Strategy], sets: Sequence[Mapping[str, Any]], fixed: Mapping[str, Any]
) -> tuple[SearchSpace, list[dict[str, Any]]]:
    if not sets or not all(isinstance(p, Mapping) for p in sets):
        raise ConfigError("grid: a list of parameter sets must hold mappings (at least one)")
    names: list[str] = []
    for p in sets:
        for name in p:
            if name not in names:
                _check_name(cls, name, "grid")
                names.append(str(name))
    trials = [{**fixed, **p} for p in sets]
    dims = tuple(Dimension(n, values=tuple(dict.fromkeys(p.get(n) for p in sets))) for n in names)
    return SearchSpace(dims, {k: v for k, v in fixed.items() if k not in names}), trials


_ADAPTERS: dict[type[StrategyParams], TypeAdapter[list[StrategyParams]]] = {}


def valid_sets(
    cls: type[Strategy], trials: Sequence[tuple[int, dict[str, Any]]]
) -> tuple[list[tuple[int, dict[str, Any]]], list[int]]:
    """Trials whose parameters the strategy accepts, and the ids of the others (one validation
    call when all are valid)."""
    adapter = _ADAPTERS.get(cls.Params)
    if adapter is None:
        adapter = _ADAPTERS[cls.Params] = TypeAdapter(list[cls.Params])  # type: ignore[name-defined]
    try:
        adapter.validate_python([p for _, p in trials])
        return list(trials), []
    except ValidationError:
        pass
    good, bad = [], []
    for tid, p in trials:
        try:
            cls(p)
            good.append((tid, p))
        except StrategyError:
            bad.append(tid)
    return good, bad
