"""Cost and exit specifications as value objects, with their parsers and one canonical text form.

Commission ``0.1%``, ``5bps``, ``0.005/share``, ``0.005/share,min=1,max=1%`` (IB style, also
``ib``), ``1/order``, ``0``; different parts add up with ``+`` (``0.005/share+1/order``).
Slippage ``5bps``, ``0.05%``, ``spread=10bps`` (full bid-ask spread, half paid per fill),
``0.1atr`` (a multiple of the ATR per share), combined with ``+``. A number means the same as
its text: ``0.001`` is a fraction of the traded value, as is ``"0.001"``.

Exits ``5%``, ``2atr``, ``"1.5"`` (an absolute price distance), ``0`` or ``none`` (off).

Every value object has one canonical text (:func:`commission_text`, :func:`slippage_text`,
:func:`level_text`) such that parsing it gives back an equal object: percent and bps are read
as exact decimals (``0.7%`` is the float nearest 0.007), so the text can always be exact.
Each parser returns a value object it is given unchanged.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from typing import Any, Literal, TypeGuard

from alphaforge.core.errors import ConfigError

_NUM = r"[0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?"
_OFF = frozenset({"", "0", "none", "off"})
LevelKind = Literal["pct", "atr", "abs"]


class SpecError(ValueError):
    """A cost or exit spec cannot be read; the message gives the reason, not the key."""


# ---- value objects -----------------------------------------------------------------------------
def _as_float(obj: Any, name: str, low: float, strict: bool) -> None:
    """Store field ``name`` of a frozen dataclass as a float, checking it is finite and
    ``>= low`` (``> low`` when ``strict``)."""
    v = getattr(obj, name)
    ok = _is_number(v) and math.isfinite(v) and (v > low if strict else v >= low)
    if not ok:
        bound = f"> {low:g}" if strict else f">= {low:g}"
        raise ValueError(f"{type(obj).__name__}.{name} must be a finite number {bound}, got {v!r}")
    object.__setattr__(obj, name, float(v))


@dataclass(frozen=True)
class Commission:
    """Commission per fill: ``pct`` of the traded value, ``per_share`` bounded by
    ``min_per_order`` and ``max_pct`` of the traded value, plus ``fixed`` per order."""

    pct: float = 0.0
    per_share: float = 0.0
    min_per_order: float = 0.0
    max_pct: float = 0.0
    fixed: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            _as_float(self, f.name, 0.0, strict=False)

    def __str__(self) -> str:
        return commission_text(self)


@dataclass(frozen=True)
class Slippage:
    """Slippage per fill: ``bps`` (a fraction of price), ``spread`` (the full bid-ask spread as
    a fraction of price, half paid per fill) and ``atr`` (a multiple of the ATR per share)."""

    bps: float = 0.0
    spread: float = 0.0
    atr: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            _as_float(self, f.name, 0.0, strict=False)

    def __str__(self) -> str:
        return slippage_text(self)


@dataclass(frozen=True)
class Level:
    """A protective exit distance: a fraction of price (``pct``), a multiple of ATR (``atr``)
    or an absolute price distance (``abs``)."""

    kind: LevelKind
    value: float

    def __post_init__(self) -> None:
        if self.kind not in ("pct", "atr", "abs"):
            raise ValueError(f"Level.kind must be pct, atr or abs, got {self.kind!r}")
        _as_float(self, "value", 0.0, strict=True)

    def __str__(self) -> str:
        return level_text(self)


# ---- numbers -------------------------------------------------------------------------------------
def _decimal(text: str) -> Decimal:
    if not re.fullmatch(rf"[-+]?{_NUM}", text):
        raise SpecError(f"cannot read {text!r} as a number")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimal numbers
        raise SpecError(f"cannot read {text!r} as a number") from None


def _number(text: str, shift: int = 0) -> float:
    """Text -> float, scaled by ``10**-shift`` exactly before rounding to binary."""
    value = float(_decimal(text).scaleb(-shift))
    if not math.isfinite(value):
        raise SpecError(f"{text!r} is out of range")
    return value


def _text(d: Decimal) -> str:
    """Plain decimal text where it is short, else ``1.5e-20`` (never a ``+``, which joins parts)."""
    d = d.normalize()
    exp = d.as_tuple().exponent
    assert isinstance(exp, int)
    if exp >= -12 and d.adjusted() < 16:
        return format(d, "f")
    return format(d, "e").replace("e+", "e")


def _num_text(x: float, shift: int = 0) -> str:
    """Shortest text ``t`` with ``_number(t, shift) == x``."""
    return _text(Decimal(repr(float(x))).scaleb(shift))


def parse_fraction(text: str | float, key: str) -> float:
    """``'5%'`` -> 0.05, ``'5bps'`` -> 0.0005, ``'0.05'`` -> 0.05 (exact decimal arithmetic)."""
    try:
        return _fraction(str(text))
    except SpecError as exc:
        raise ConfigError(f"{key}: {exc}") from None


def _fraction(text: str) -> float:
    s = text.strip().lower().replace(" ", "")
    m = re.fullmatch(rf"([-+]?{_NUM})(%|bps|bp)?", s)
    if not m:
        raise SpecError(f"cannot read {text!r} as a number, percent or bps")
    return _number(m.group(1), {"%": 2, "bps": 4, "bp": 4}.get(m.group(2) or "", 0))


def _amount(text: str, spec: object) -> float:
    try:
        return _number(text) if text else 1.0
    except SpecError:
        raise SpecError(f"cannot read {spec!r}") from None


def _is_number(spec: object) -> TypeGuard[int | float]:
    return isinstance(spec, int | float) and not isinstance(spec, bool)


def _number_text(spec: int | float) -> str:
    """A number given in place of a spec, as the text that means the same."""
    if not math.isfinite(spec):
        raise SpecError(f"{spec!r} is not a finite number")
    return _num_text(float(spec))


def _parts(spec: str) -> list[str]:
    """The ``+``-separated parts of a spec (the ``+`` of an exponent, ``1e+16``, joins none)."""
    return [p for p in re.split(r"(?<![0-9.]e)\+", spec.strip().lower().replace(" ", "")) if p]


def _spec_text(spec: object, what: str) -> str:
    if not isinstance(spec, str):
        raise SpecError(f"expected a {what} spec as text or a number, got {type(spec).__name__}")
    return spec


_PART_NAMES = {
    "pct": "percent",
    "per_share": "per-share",
    "min_per_order": "min",
    "max_pct": "max",
    "fixed": "per-order",
    "bps": "percent/bps",
    "spread": "spread",
    "atr": "atr",
}


# ---- commission --------------------------------------------------------------------------------
def commission_value(spec: object) -> Commission:
    """Parse a commission spec; raises :class:`SpecError` (the reason, without the key)."""
    if isinstance(spec, Commission):
        return spec
    if spec is None:
        return Commission()
    if _is_number(spec):
        return _commission_parts(_number_text(spec), spec)
    return _commission_parts(_spec_text(spec, "commission"), spec)


def _commission_parts(text: str, spec: object) -> Commission:
    got: dict[str, float] = {}

    def put(name: str, value: float) -> None:
        if name in got:
            raise SpecError(f"{spec!r} gives the {_PART_NAMES[name]} part twice")
        got[name] = value

    for part in _parts(text):
        if part in _OFF:
            continue
        if part == "ib":
            part = "0.005/share,min=1,max=1%"
        m = re.fullmatch(rf"({_NUM})/share((?:,(?:min|max)=[^,]+)*)", part)
        if m:
            put("per_share", _amount(m.group(1), spec))
            for opt in filter(None, m.group(2).split(",")):
                name, _, val = opt.partition("=")
                if name == "min":
                    put("min_per_order", _amount(val, spec))
                else:
                    put("max_pct", _fraction(val))
            continue
        m = re.fullmatch(rf"({_NUM})/order", part)
        if m:
            put("fixed", _amount(m.group(1), spec))
            continue
        if re.fullmatch(rf"[-+]?{_NUM}(%|bps?)?", part):
            put("pct", _fraction(part))
            continue
        raise SpecError(
            f"cannot read {spec!r}; use e.g. 0.1%, 5bps, 0.005/share,min=1,max=1%, 1/order"
        )
    if any(v < 0 for v in got.values()):
        raise SpecError(f"negative commission in {spec!r}")
    return Commission(**got)


def commission_text(c: Commission) -> str:
    """The canonical text: ``0.1%``, ``0.005/share,min=1,max=1%+1/order``, ``0`` when free."""
    parts = []
    if c.pct:
        parts.append(_num_text(c.pct, 2) + "%")
    if c.per_share or c.min_per_order or c.max_pct:
        share = _num_text(c.per_share) + "/share"
        if c.min_per_order:
            share += ",min=" + _num_text(c.min_per_order)
        if c.max_pct:
            share += ",max=" + _num_text(c.max_pct, 2) + "%"
        parts.append(share)
    if c.fixed:
        parts.append(_num_text(c.fixed) + "/order")
    return "+".join(parts) or "0"


def parse_commission(spec: object, key: str = "commission") -> Commission:
    try:
        return commission_value(spec)
    except SpecError as exc:
        raise ConfigError(f"{key}: {exc}") from None


# ---- slippage ----------------------------------------------------------------------------------
def slippage_value(spec: object) -> Slippage:
    """Parse a slippage spec; raises :class:`SpecError` (the reason, without the key)."""
    if isinstance(spec, Slippage):
        return spec
    if spec is None:
        return Slippage()
    text = _number_text(spec) if _is_number(spec) else _spec_text(spec, "slippage")
    got: dict[str, float] = {}
    for part in _parts(text):
        if part in _OFF:
            continue
        if part.startswith("spread="):
            name, value = "spread", _fraction(part[7:])
        elif part.endswith("atr"):
            name, value = "atr", _amount(part[:-3], spec)
        elif re.fullmatch(rf"[-+]?{_NUM}(%|bps?)?", part):
            name, value = "bps", _fraction(part)
        else:
            raise SpecError(f"cannot read {spec!r}; use e.g. 5bps, spread=10bps, 0.1atr")
        if name in got:
            raise SpecError(f"{spec!r} gives the {_PART_NAMES[name]} part twice")
        got[name] = value
    if any(v < 0 for v in got.values()):
        raise SpecError(f"negative slippage in {spec!r}")
    return Slippage(**got)


def slippage_text(s: Slippage) -> str:
    """The canonical text: ``5bps+spread=10bps+0.1atr``, ``0`` when none."""
    parts = []
    if s.bps:
        parts.append(_num_text(s.bps, 4) + "bps")
    if s.spread:
        parts.append("spread=" + _num_text(s.spread, 4) + "bps")
    if s.atr:
        parts.append(_num_text(s.atr) + "atr")
    return "+".join(parts) or "0"


def parse_slippage(spec: object, key: str = "slippage") -> Slippage:
    try:
        return slippage_value(spec)
    except SpecError as exc:
        raise ConfigError(f"{key}: {exc}") from None


# ---- exit levels -------------------------------------------------------------------------------
BARE_NUMBER = (
    "a bare number is ambiguous here; write a percent (5%), an ATR multiple (2atr) or a quoted "
    'price distance ("1.5")'
)


def level_value(spec: object, *, numbers: bool = False) -> Level | None:
    """Parse an exit distance; ``None`` when off. Raises :class:`SpecError`.

    A bare number other than 0 is refused unless ``numbers`` (then it is a fraction of price, the
    meaning the simulator's internal callers rely on): as text, ``"1.5"`` is a price distance.
    """
    if spec is None or isinstance(spec, Level):
        return spec
    if _is_number(spec):
        if spec == 0:
            return None
        if not numbers:
            raise SpecError(BARE_NUMBER)
        value = float(spec)
        if not (math.isfinite(value) and value > 0):
            raise SpecError(f"distance must be positive, got {spec!r}")
        return Level("pct", value)
    s = _spec_text(spec, "distance").strip().lower().replace(" ", "")
    if s in _OFF:
        return None
    if s.endswith("atr"):
        kind: LevelKind = "atr"
        value = _amount(s[:-3], spec)
    elif s.endswith(("%", "bps", "bp")):
        kind, value = "pct", _fraction(s)
    else:
        kind, value = "abs", _amount(s, spec)
    if value <= 0:
        raise SpecError(f"distance must be positive, got {spec!r}")
    return Level(kind, value)


def level_text(level: Level) -> str:
    """The canonical text: ``5%``, ``2atr``, ``1.5`` (a price distance)."""
    if level.kind == "pct":
        return _num_text(level.value, 2) + "%"
    if level.kind == "atr":
        return _num_text(level.value) + "atr"
    return _num_text(level.value)


def parse_level(spec: object, key: str) -> Level | None:
    """Parse a stop-loss / take-profit / trailing-stop distance.

    Numbers other than 0 are read as a fraction of price here, for the simulator's internal
    callers; the backtest config refuses them (``"1.5"`` as text is a price distance).
    """
    try:
        return level_value(spec, numbers=True)
    except SpecError as exc:
        raise ConfigError(f"{key}: {exc}") from None
