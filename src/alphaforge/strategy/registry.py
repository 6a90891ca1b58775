"""Find strategies by name (built-ins) or as ``path/to/file.py:ClassName`` (a user's own)."""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from alphaforge.core.errors import StrategyError, StrategyInputError
from alphaforge.core.suggest import did_you_mean
from alphaforge.core.userfile import ExitOnImport, NotPython, module_from_file
from alphaforge.strategy.base import Strategy

_BUILTIN_MODULES = ("alphaforge.strategy.library",)


def builtin_strategies() -> dict[str, type[Strategy[Any]]]:
    """Name -> class of every built-in strategy."""
    import pkgutil

    from alphaforge.strategy import library

    found: dict[str, type[Strategy[Any]]] = {}
    for mod in pkgutil.iter_modules(library.__path__):
        module = importlib.import_module(f"alphaforge.strategy.library.{mod.name}")
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, Strategy)
                and obj is not Strategy
                and obj.__module__ == module.__name__
                and obj.name
            ):
                found[obj.name] = obj
    return dict(sorted(found.items()))


def load_strategy_class(ref: str) -> type[Strategy[Any]]:
    """Resolve a built-in name or ``file.py:ClassName``."""
    if ":" in ref and ref.split(":", 1)[0].endswith(".py"):
        return _load_from_file(ref)
    direct = _builtin_by_module(ref)
    if direct is not None:
        return direct
    builtins = builtin_strategies()
    if ref not in builtins:
        raise StrategyInputError(
            f"unknown strategy {ref!r}{did_you_mean(ref, builtins) or ';'} built-ins: "
            f"{', '.join(builtins)} "
            "(or give path/to/file.py:ClassName)"
        )
    return builtins[ref]


def _builtin_by_module(name: str) -> type[Strategy[Any]] | None:
    """Built-ins live in a module of their own name: import just that one (fast start-up)."""
    if not name.isidentifier() or name.startswith("_"):
        return None
    try:
        module = importlib.import_module(f"alphaforge.strategy.library.{name}")
    except ModuleNotFoundError:
        return None
    for obj in vars(module).values():
        if inspect.isclass(obj) and issubclass(obj, Strategy) and getattr(obj, "name", "") == name:
            return obj
    return None


def _load_from_file(ref: str) -> type[Strategy[Any]]:
    path_s, cls_name = ref.rsplit(":", 1)
    path = Path(path_s).expanduser()
    if not path.is_file():
        raise StrategyInputError(f"strategy file not found: {path}")
    mod_name = f"alphaforge_user_{path.stem}_{abs(hash(path.resolve())) % 10**8}"
    try:
        module = module_from_file(path, mod_name)
    except NotPython:
        raise StrategyError(f"cannot import strategy file {path}") from None
    except ExitOnImport as exc:  # chained to the file's own exception, if any (--debug shows it)
        raise StrategyInputError(str(exc)) from exc.__cause__
    except Exception as exc:
        raise StrategyError(f"{path}: error while importing: {type(exc).__name__}: {exc}") from exc
    cls = getattr(module, cls_name, None)
    if not (inspect.isclass(cls) and issubclass(cls, Strategy)):
        raise StrategyInputError(f"{path}: no Strategy subclass named {cls_name!r}")
    if not cls.name:
        cls.name = cls_name
    return cls


def make_strategy(
    ref: str | Strategy[Any] | type[Strategy[Any]], params: dict[str, Any] | None = None
) -> Strategy[Any]:
    if params is not None and not isinstance(params, Mapping):
        raise StrategyInputError(
            f"params={params!r}: a mapping of parameter name to value, e.g. "
            "{'fast': 10, 'slow': 50}"
        )
    if isinstance(ref, Strategy):
        return ref if not params else type(ref)({**ref.params.model_dump(), **params})
    if not (inspect.isclass(ref) or isinstance(ref, str)):  # e.g. the data given first
        raise StrategyInputError(
            f"the strategy is a name, a Strategy class or an instance, got a "
            f"{type(ref).__name__} (arguments in the wrong order?)"
        )
    cls = ref if inspect.isclass(ref) else load_strategy_class(ref)
    strategy = cls(params or {})
    checked_warmup(strategy)
    return strategy


def checked_warmup(strategy: Strategy[Any]) -> int:
    """The strategy's ``warmup()``, refused unless it is a whole number of bars >= 0."""
    value = strategy.warmup()
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool) and value >= 0
    if not ok:
        raise StrategyError(
            f"{type(strategy).__name__}.warmup() returned {value!r}: it must be a whole number "
            "of bars >= 0"
        )
    return int(value)


def check_direction(strategy: Strategy[Any] | type[Strategy[Any]], direction: str) -> None:
    """Refuse a run whose ``direction`` the strategy cannot trade (pairs need long_short)."""
    cls = strategy if isinstance(strategy, type) else type(strategy)
    allowed = cls.directions
    if direction not in allowed:
        raise StrategyInputError(
            f"direction: {direction!r} does not suit {cls.name or cls.__name__} "
            f"(it needs {' or '.join(allowed)}); give --direction {allowed[0]}"
        )
