"""Search spaces: from a strategy's ``Params`` bounds and ``--grid NAME=SPEC`` flags.

Grid specs
----------
``fast=5:50:5``
    start:stop:step, both ends inclusive (5, 10, ..., 50).
``fast=5:50``
    step 1 for integers.
``mode=fast,slow`` / ``k=1,2,3``
    an explicit list of values (YAML scalars).
``k=7``
    a single fixed value.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import yaml

from alphaforge.core.errors import ConfigError
from alphaforge.strategy.base import Strategy

MAX_DEFAULT_GRID = 10_000
"""Largest grid taken from the Params bounds alone; beyond it ask for --grid or --random."""


@dataclass(frozen=True)
class Dimension:
    """One searched parameter.

    ``values`` is the discrete set of candidates (grid); ``low``/``high`` bound a continuous
    float range (random and Optuna search only) when ``values`` is None.
    """

    name: str
    values: tuple[Any, ...] | None = None
    low: float | None = None
    high: float | None = None
    step: float | None = None
    is_int: bool = False

    @property
    def discrete(self) -> bool:
        return self.values is not None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "values": list(self.values) if self.values is not None else None,
            "low": self.low,
            "high": self.high,
        }


@dataclass(frozen=True)
class SearchSpace:
    """Searched dimensions plus fixed base parameters."""

    dims: tuple[Dimension, ...]
    fixed: dict[str, Any]

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dims]

    def grid_size(self) -> int:
        """Number of grid combinations (ValueError-free: continuous dims count as infinite)."""
        size = 1
        for d in self.dims:
            if d.values is None:
                return math.inf  # type: ignore[return-value]
            size *= len(d.values)
        return size

    def grid(self) -> Iterator[dict[str, Any]]:
        """Every combination, in row-major order of the dimensions (the last varies fastest)."""
        for d in self.dims:
            if d.values is None:
                raise ConfigError(
                    f"parameter {d.name!r} is a continuous range; give --grid {d.name}=LOW:HIGH:STEP"
                )
        for combo in itertools.product(*(d.values or () for d in self.dims)):
            yield {**self.fixed, **dict(zip(self.names, combo, strict=True))}

    def sample(self, rng: np.random.Generator) -> dict[str, Any]:
        """One uniformly random point."""
        out = dict(self.fixed)
        for d in self.dims:
            if d.values is not None:
                out[d.name] = _py(d.values[int(rng.integers(len(d.values)))])
            else:
                assert d.low is not None and d.high is not None
                out[d.name] = float(rng.uniform(d.low, d.high))
        return out

    def to_json(self) -> dict[str, Any]:
        return {"dims": [d.to_json() for d in self.dims], "fixed": self.fixed}

    def digest(self) -> str:
        text = json.dumps(self.to_json(), sort_keys=True, default=str)
        return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _py(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def parse_grid(spec: str, kind: str | None = None) -> Dimension:
    """Parse one ``NAME=SPEC`` flag (see the module docstring)."""
    name, sep, body = spec.partition("=")
    name, body = name.strip(), body.strip()
    if not sep or not name or not body:
        raise ConfigError(f"--grid {spec!r}: expected NAME=START:STOP[:STEP] or NAME=A,B,C")
    if ":" in body:
        parts = body.split(":")
        if len(parts) not in (2, 3):
            raise ConfigError(f"--grid {spec!r}: expected START:STOP[:STEP]")
        try:
            nums = [yaml.safe_load(p) for p in parts]
            start, stop = float(nums[0]), float(nums[1])
            step = float(nums[2]) if len(nums) == 3 else 1.0
        except (TypeError, ValueError, yaml.YAMLError):
            raise ConfigError(f"--grid {spec!r}: START, STOP and STEP must be numbers") from None
        if step <= 0 or stop < start:
            raise ConfigError(f"--grid {spec!r}: need STEP > 0 and STOP >= START")
        is_int = kind != "float" and all(isinstance(n, int) for n in nums)
        count = math.floor((stop - start) / step + 1e-9) + 1
        vals = [start + i * step for i in range(count)]
        values = tuple(round(v) for v in vals) if is_int else tuple(round(v, 12) for v in vals)
        return Dimension(name, values=values, low=start, high=stop, step=step, is_int=is_int)
    items = [yaml.safe_load(v.strip()) for v in body.split(",") if v.strip()]
    if not items:
        raise ConfigError(f"--grid {spec!r}: no values")
    return Dimension(name, values=tuple(items), is_int=all(isinstance(v, int) for v in items))


def _from_field(info: dict[str, Any]) -> Dimension | None:
    name, typ = info["name"], info["type"]
    if info["choices"]:
        return Dimension(name, values=tuple(info["choices"]))
    if typ == "bool":
        return Dimension(name, values=(False, True))
    lo, hi = info["min"], info["max"]
    if lo is None or hi is None:
        return None
    if typ == "int":
        step = int(info["step"] or 1)
        values = tuple(range(int(lo), int(hi) + 1, step))
        return Dimension(name, values=values, low=lo, high=hi, step=step, is_int=True)
    if info["step"]:
        n = math.floor((hi - lo) / info["step"] + 1e-9) + 1
        values = tuple(round(lo + i * info["step"], 12) for i in range(n))
        return Dimension(name, values=values, low=lo, high=hi, step=info["step"])
    return Dimension(name, low=float(lo), high=float(hi))


def check_grid_values(strategy_cls: type[Strategy], where: str, dim: Dimension) -> None:
    """Refuse a searched value its parameter cannot take (a type, a bound or a choice of its
    own; not a rule between parameters such as fast below slow, which skips a set instead): a
    typed ``fast=5,abc`` used to run the 5 and count 'abc' among the invalid sets. ``where``
    names the input (``--grid 'fast=5,abc'``, ``grid``); a range is checked at its ends."""
    from pydantic import TypeAdapter, ValidationError

    info = strategy_cls.Params.model_fields[dim.name]
    extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
    choices = extra.get("choices")
    typ: Any = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
    check: TypeAdapter[Any] = TypeAdapter(typ)
    values = list(dim.values or ())
    twice = next((v for k, v in enumerate(values) if v in values[:k]), None)
    if twice is not None:  # (it ran the same trial twice)
        raise ConfigError(f"{where}: {dim.name}={twice!r} given twice")
    ends = tuple(v for v in (dim.low, dim.high) if v is not None)
    for value in dim.values or ends:
        try:
            check.validate_python(value)
        except ValidationError as exc:
            why = exc.errors()[0]["msg"]
            raise ConfigError(f"{where}: {dim.name}={value!r}: {why}") from None
        if isinstance(choices, list) and value not in choices:
            raise ConfigError(f"{where}: {dim.name}={value!r}: one of "
                              f"{', '.join(map(str, choices))}")  # fmt: skip


def build_space(
    strategy_cls: type[Strategy], grids: Sequence[str] | None, base: dict[str, Any] | None = None
) -> SearchSpace:
    """The search space of ``strategy_cls``.

    With ``--grid`` flags only those parameters vary (the others keep ``base`` / their
    defaults); without, every parameter that declares bounds or choices varies over them.
    """
    fields = {f["name"]: f for f in strategy_cls.describe()}
    base = dict(base or {})
    for key in base:
        if key not in fields:
            raise ConfigError(f"params: unknown parameter {key!r} of {strategy_cls.__name__}")
    dims: list[Dimension] = []
    if grids:
        for g in grids:
            name = g.partition("=")[0].strip()
            if name not in fields:
                raise ConfigError(
                    f"--grid {g!r}: {strategy_cls.__name__} has no parameter {name!r} "
                    f"(has {', '.join(fields)})"
                )
            if name in {d.name for d in dims}:
                raise ConfigError(f"--grid {g!r}: parameter {name!r} given twice")
            dim = parse_grid(g, fields[name]["type"])
            check_grid_values(strategy_cls, f"--grid {g!r}", dim)
            dims.append(dim)
    else:
        dims = [d for f in fields.values() if (d := _from_field(f)) is not None]
    if not dims:
        raise ConfigError(f"{strategy_cls.__name__}: no parameter to search; give --grid")
    fixed = {k: v for k, v in base.items() if k not in {d.name for d in dims}}
    return SearchSpace(tuple(dims), fixed)


def check_default_grid(space: SearchSpace, grids: Sequence[str] | None) -> None:
    """Refuse a huge grid that nobody asked for (bounds of every parameter)."""
    size = space.grid_size()
    if not grids and size > MAX_DEFAULT_GRID:
        shown = "continuous" if size == math.inf else f"{size:,}"
        raise ConfigError(
            f"the Params bounds give a {shown} grid; narrow it with --grid (e.g. fast=5:50:5) "
            "or search with --random N / --optuna N"
        )
